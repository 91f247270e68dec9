//! `berth image inspect`.

use crate::commands::inspect::{Inspector, finish};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let mut inspector = Inspector::new(args.format.as_deref())?;
    let mut errors: Vec<CliError> = Vec::new();
    for name in &args.images {
        match ctx.client.image_inspect_raw(name).await {
            Ok(raw) => {
                if let Err(e) = inspector.add(&raw) {
                    errors.push(e);
                }
            }
            Err(e) => errors.push(e.into()),
        }
    }
    finish(inspector, errors)
}
