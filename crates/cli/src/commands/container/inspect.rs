//! `berth container inspect`: inspect documents of containers (with `-s`,
//! their sizes), printed as indented JSON, `json`, or a template.

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
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let mut inspector = Inspector::new(args.format.as_deref())?;
    let mut errors = Vec::new();
    for name in &args.containers {
        match ctx.client.container_inspect_raw(name, args.size).await {
            Ok(raw) => {
                if let Err(e) = inspector.add(&raw) {
                    errors.push(e);
                }
            }
            Err(e) => errors.push(CliError::from(e)),
        }
    }
    finish(inspector, errors)
}
