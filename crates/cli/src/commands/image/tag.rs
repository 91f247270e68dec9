//! `berth tag SOURCE TARGET`.

use crate::context::Ctx;
use crate::error::{CliError, CliResult};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    ctx.client
        .image_tag(&args.source, &args.target)
        .await
        .map_err(|e| match e {
            berth_client::Error::InvalidArgument(m) => CliError::Msg(m),
            other => other.into(),
        })
}
