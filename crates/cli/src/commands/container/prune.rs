//! `berth container prune`: removes stopped containers after confirmation.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::units::human_size;
use crate::prompt;
use crate::term;

const WARNING: &str =
    "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let filters = super::common::filters("container prune", "[OPTIONS]", "--filter", &args.filter)?;
    if !args.force && !prompt::confirm(WARNING)? {
        return Err(CliError::Exit(0));
    }
    let report = ctx.client.containers_prune(&filters).await?;
    let mut out = String::new();
    let mut reclaimed = 0;
    let deleted = report.containers_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in deleted {
            out.push_str(&id);
            out.push('\n');
        }
        out.push('\n');
        reclaimed = report.space_reclaimed;
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(reclaimed as f64)
    ));
    term::out(&out)?;
    Ok(())
}
