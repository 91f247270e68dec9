//! `berth container prune`: removes stopped containers after confirmation.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
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
    term::out(&crate::commands::prune_report(
        "Deleted Containers:",
        report.containers_deleted.unwrap_or_default(),
        report.space_reclaimed,
    ))?;
    Ok(())
}
