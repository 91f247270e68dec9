//! `berth attach`: the terminal to a running container's stdio, with
//! detach keys and signal forwarding; exits with the container's status.

use berth_client::{AttachOptions, WaitCondition};
use clap::ArgAction;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::goparse::bool_flag;
use crate::session::resize::{self, Target, tty_size};
use crate::session::{self, StreamConfig, StreamEnd, signals};
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", value_parser = bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", action = ArgAction::Set)]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Docker's `inspectContainerAndCheckState`.
async fn inspect_running(ctx: &Ctx, id: &str) -> CliResult<super::Inspected> {
    let c = super::inspect(ctx, id).await?;
    let problem = if !c.state.running {
        "You cannot attach to a stopped container, start it first"
    } else if c.state.paused {
        "You cannot attach to a paused container, unpause it first"
    } else if c.state.restarting {
        "You cannot attach to a restarting container, wait until it is running"
    } else {
        return Ok(c);
    };
    Err(CliError::Plain(problem.into()))
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let waiter = ctx
        .client
        .container_wait(&args.container, WaitCondition::Default)
        .await;
    let c = inspect_running(ctx, &args.container).await?;
    session::check_tty(!args.no_stdin, c.config.tty)?;
    let stdin = !args.no_stdin && c.config.open_stdin;
    let signals = (args.sig_proxy && !c.config.tty)
        .then(|| signals::spawn(ctx.client.clone(), Some(c.id.clone())));
    let conn = ctx
        .client
        .container_attach(
            &args.container,
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
    // It may have stopped between the check and the attach.
    inspect_running(ctx, &args.container).await?;
    let resize = (c.config.tty && term::stdout_is_terminal()).then(|| {
        let target = Target::Container(c.id.clone());
        let client = ctx.client.clone();
        tokio::spawn(async move {
            // A size change makes the shell redraw its prompt on a
            // second attach; the monitor then sets the real size.
            let (h, w) = tty_size();
            let _ = resize::resize_to(&client, &target, h + 1, w + 1).await;
            let _ = resize::monitor(client, target).await;
        })
    });
    let cfg = StreamConfig {
        stdin,
        stdout: true,
        stderr: true,
        tty: c.config.tty,
        detach_keys: args.detach_keys,
    };
    let result = match session::stream(conn, &cfg).await {
        Ok(StreamEnd::Detached) => Err(CliError::Plain("read escape sequence".into())),
        Ok(StreamEnd::Finished) => match waiter {
            Err(e) => Err(e.into()),
            Ok(w) => match w.result().await {
                Ok(r) => match r.error {
                    Some(e) => Err(CliError::Plain(e.message)),
                    None if r.status_code != 0 => Err(CliError::Exit(r.status_code as i32)),
                    None => Ok(()),
                },
                Err(e) => Err(e.into()),
            },
        },
        Err(e) => Err(CliError::msg(e.to_string())),
    };
    for task in [resize, signals].into_iter().flatten() {
        task.abort();
    }
    result
}
