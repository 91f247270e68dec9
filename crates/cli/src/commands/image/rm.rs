//! `berth rmi` / `berth image rm`: every image is tried; each failure is
//! reported and the exit status is 1 if any failed.

use berth_api::types::image::ImageDeleteItem;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Force removal of the image
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let mut errors = Vec::new();
    let mut fatal = false;
    for image in &args.images {
        match ctx
            .client
            .image_remove(image, args.force, args.no_prune)
            .await
        {
            Ok(items) => {
                let mut out = String::new();
                for item in items {
                    match item {
                        ImageDeleteItem::Deleted(id) => out.push_str(&format!("Deleted: {id}\n")),
                        ImageDeleteItem::Untagged(r) => out.push_str(&format!("Untagged: {r}\n")),
                    }
                }
                term::out(&out)?;
            }
            Err(e) => {
                fatal |= !e.is_not_found();
                errors.push(CliError::from(e));
            }
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let all = CliError::Many(errors);
    // With --force, images that do not exist are reported but not fatal.
    if args.force && !fatal {
        for line in all.render(ctx.debug) {
            term::err_line(&line);
        }
        return Ok(());
    }
    Err(all)
}
