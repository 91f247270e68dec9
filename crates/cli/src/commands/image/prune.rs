//! `berth image prune`: removes dangling (or, with `-a`, all unused)
//! images after confirmation.

use crate::commands::parse_filters;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::units::human_size;
use crate::prompt;
use crate::term;
use berth_api::types::image::ImageDeleteItem;

const ALL_WARNING: &str = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?";
const DANGLING_WARNING: &str =
    "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let mut filters = parse_filters(&args.filter)?;
    filters.add("dangling", if args.all { "false" } else { "true" });
    if !args.force {
        let warning = if args.all {
            ALL_WARNING
        } else {
            DANGLING_WARNING
        };
        if !prompt::confirm(warning)? {
            return Err(CliError::Exit(0));
        }
    }
    let report = ctx.client.images_prune(&filters).await?;
    let mut out = String::new();
    let deleted = report.images_deleted.unwrap_or_default();
    let mut reclaimed = 0;
    if !deleted.is_empty() {
        out.push_str("Deleted Images:\n");
        for item in deleted {
            match item {
                ImageDeleteItem::Untagged(r) => out.push_str(&format!("untagged: {r}\n")),
                ImageDeleteItem::Deleted(id) => out.push_str(&format!("deleted: {id}\n")),
            }
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
