//! `berth load`: an image archive from a file or stdin, streamed to the
//! daemon, with its progress.

use std::path::Path;

use berth_client::Body;

use crate::context::Ctx;
use crate::error::{CliError, CliResult, path_error};
use crate::progress;
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long, value_name = "string")]
    pub input: Option<String>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let body = match args.input.as_deref() {
        None | Some("") => {
            if term::stdin_is_terminal() {
                return Err(CliError::msg(
                    "requested load from stdin, but stdin is empty",
                ));
            }
            Body::reader(tokio::io::stdin())
        }
        Some(input) => {
            let path = Path::new(input);
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| path_error("open", path, &e))?;
            Body::reader(file)
        }
    };
    let terminal = term::stdout_is_terminal();
    let quiet = args.quiet || !terminal;
    let resp = ctx.client.image_load(body, quiet).await?;
    if resp.is_json() {
        let mut stream = resp.json_stream();
        return progress::show(&mut stream, terminal).await;
    }
    let mut body = resp.into_body();
    while let Some(chunk) = body.chunk().await {
        term::out_bytes(&chunk?)?;
    }
    Ok(())
}
