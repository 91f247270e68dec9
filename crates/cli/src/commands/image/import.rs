//! `berth import`: a root filesystem tarball (file, URL or stdin) to an
//! image, streamed to the daemon without being read into memory.

use std::path::Path;

use berth_client::{Body, ImportOptions, ImportSource};

use crate::context::Ctx;
use crate::error::{CliError, CliResult, path_error};
use crate::progress;
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "list")]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long, value_name = "string")]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    pub platform: Option<String>,
    #[arg(value_name = "file|URL|-")]
    pub source: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let source = if args.source == "-" {
        ImportSource::Body(Body::reader(tokio::io::stdin()))
    } else if args.source.starts_with("http://") || args.source.starts_with("https://") {
        ImportSource::Url(args.source.clone())
    } else {
        let path = Path::new(&args.source);
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| path_error("open", path, &e))?;
        ImportSource::Body(Body::reader(file))
    };
    let opts = ImportOptions {
        message: args.message.clone(),
        changes: args.change.clone(),
        platform: args.platform.clone(),
    };
    let resp = ctx
        .client
        .image_import(source, args.reference.as_deref(), &opts)
        .await
        .map_err(|e| match e {
            berth_client::Error::InvalidArgument(m) => CliError::Msg(m),
            other => other.into(),
        })?;
    let mut stream = resp.json_stream();
    progress::show(&mut stream, term::stdout_is_terminal()).await
}
