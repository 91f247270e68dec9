//! `berth logs`: the container's log, demultiplexed to stdout and stderr
//! unless it has a TTY, optionally followed.

use berth_client::LogsOptions;
use berth_client::api::streams::is_multiplexed;
use berth_client::stdcopy::{copy_demuxed, copy_raw};

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::goparse::get_timestamp;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string")]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, value_name = "string", default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string")]
    pub until: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `since`/`until` as the API takes them.
pub fn timestamp(name: &str, value: &Option<String>) -> CliResult<Option<String>> {
    match value.as_deref().filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => get_timestamp(v, chrono::Local::now())
            .map(Some)
            .map_err(|e| CliError::Plain(format!("invalid value for {name:?}: {e}"))),
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let c = super::inspect(ctx, &args.container).await?;
    let opts = LogsOptions {
        stdout: true,
        stderr: true,
        follow: args.follow,
        since: timestamp("since", &args.since)?,
        until: timestamp("until", &args.until)?,
        timestamps: args.timestamps,
        tail: Some(args.tail.clone()),
        details: args.details,
    };
    let resp = ctx.client.container_logs(&c.id, &opts).await?;
    // The content type says the framing; old daemons only tell it by TTY.
    let framed = is_multiplexed(&resp) || !c.config.tty;
    let mut body = resp.into_body().into_reader();
    let mut out = tokio::io::stdout();
    let mut err = tokio::io::stderr();
    let r = if framed {
        copy_demuxed(&mut body, Some(&mut out), Some(&mut err)).await
    } else {
        copy_raw(&mut body, &mut out).await
    };
    r.map_err(|e| CliError::msg(e.to_string()))
}
