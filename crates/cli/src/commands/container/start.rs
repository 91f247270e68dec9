//! `berth start`: starts containers, or with `-a`/`-i` one container
//! attached, exiting with its status as docker does.

use berth_client::{AttachOptions, WaitCondition};

use super::wait_status;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::session::resize::{self, Target};
use crate::session::{self, StreamConfig, StreamEnd, signals};
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    if !(args.attach || args.interactive) {
        return start_all(ctx, &args.containers).await;
    }
    if args.containers.len() > 1 {
        return Err(CliError::Plain(
            "you cannot start and attach multiple containers at once".into(),
        ));
    }
    let c = super::inspect(ctx, &args.containers[0]).await?;
    let signals = (!c.config.tty).then(|| signals::spawn(ctx.client.clone(), Some(c.id.clone())));
    let stdin = args.interactive && c.config.open_stdin;
    let cfg = StreamConfig {
        stdin,
        stdout: true,
        stderr: true,
        tty: c.config.tty,
        detach_keys: args.detach_keys.clone(),
    };
    let conn = ctx
        .client
        .container_attach(
            &c.id,
            &AttachOptions {
                stream: true,
                stdin,
                stdout: true,
                stderr: true,
                logs: false,
                detach_keys: args.detach_keys.clone(),
            },
        )
        .await?;
    let streaming = session::stream(conn, &cfg);
    tokio::pin!(streaming);
    let condition = if c.host_config.auto_remove {
        WaitCondition::Removed
    } else {
        WaitCondition::NextExit
    };
    let waiter = ctx.client.container_wait(&c.id, condition).await;
    if let Err(e) = ctx.client.container_start(&c.id).await {
        if c.host_config.auto_remove
            && let Ok(w) = waiter
        {
            let _ = w.result().await;
        }
        session::rawterm::restore();
        return Err(e.into());
    }
    let resize = (c.config.tty && term::stdout_is_terminal())
        .then(|| resize::monitor(ctx.client.clone(), Target::Container(c.id.clone())));
    let result = match streaming.await {
        Ok(StreamEnd::Detached) => Ok(()),
        Ok(StreamEnd::Finished) => match wait_status(waiter).await {
            0 => Ok(()),
            code => Err(CliError::Exit(code)),
        },
        Err(e) => Err(CliError::msg(e.to_string())),
    };
    for task in [resize, signals].into_iter().flatten() {
        task.abort();
    }
    result
}

/// Starts each container in turn: names on stdout, errors on stderr.
async fn start_all(ctx: &Ctx, containers: &[String]) -> CliResult {
    let mut failed = Vec::new();
    for c in containers {
        match ctx.client.container_start(c).await {
            Ok(()) => term::out(&format!("{c}\n"))?,
            Err(e) => {
                term::err_line(&e.to_string());
                failed.push(c.as_str());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Plain(format!(
            "Error: failed to start containers: {}",
            failed.join(", ")
        )))
    }
}
