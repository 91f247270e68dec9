//! `berth run`: docker's flow — create (pulling on 404), attach before
//! start unless detached, wait (`next-exit`, or `removed` with `--rm`),
//! start, stream, and exit with the container's status.

use berth_client::{AttachOptions, WaitCondition};
use clap::ArgAction;

use super::common::{status_error, usage_error};
use super::create::{self, CreateOptions, USAGE};
use super::opts::{self, ContainerFlags};
use super::wait_status;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::goparse::bool_flag;
use crate::session::resize::{self, Target};
use crate::session::{self, StreamConfig, StreamEnd, signals};
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run container in background and print container ID
    #[arg(short = 'd', long = "detach", value_parser = bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", value_parser = bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", action = ArgAction::Set)]
    pub sig_proxy: bool,
    #[command(flatten)]
    pub create: CreateOptions,
    #[command(flatten)]
    pub flags: ContainerFlags,
    /// The image, then the command and its arguments: options end at the
    /// image, as docker parses them.
    #[arg(
        value_name = "IMAGE [COMMAND] [ARG...]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    create::validate_pull("run", &args.create.pull)?;
    let (image, command) = create::split_image("run", USAGE, &args.args)?;
    let mut cfg = opts::parse(&args.flags, image, command, create::cwd().as_deref())
        .map_err(|e| usage_error("run", USAGE, e))?;
    cfg.body.config.args_escaped = false;
    if args.detach {
        if !args.flags.attach.is_empty() {
            return Err(CliError::Plain(
                "conflicting options: cannot specify both --attach and --detach".into(),
            ));
        }
        let c = &mut cfg.body.config;
        c.attach_stdin = false;
        c.attach_stdout = false;
        c.attach_stderr = false;
        c.stdin_once = false;
    } else {
        session::check_tty(cfg.config().attach_stdin, cfg.config().tty)?;
    }
    let config = cfg.config().clone();
    let auto_remove = cfg.host_config().auto_remove;
    let id = create::create_container(ctx, cfg, &args.create)
        .await
        .map_err(|e| status_error("run", e))?;

    if args.detach {
        // Docker prints the ID without waiting for the start.
        term::out(&format!("{id}\n"))?;
        return ctx
            .client
            .container_start(&id)
            .await
            .map_err(|e| status_error("run", e.into()));
    }

    let signals = args
        .sig_proxy
        .then(|| signals::spawn(ctx.client.clone(), Some(id.clone())));
    let result = attached(ctx, &id, &config, auto_remove, args.detach_keys).await;
    if let Some(s) = signals {
        s.abort();
    }
    result
}

/// Attach, wait, start and stream, for a container created attached.
async fn attached(
    ctx: &Ctx,
    id: &str,
    config: &berth_api::types::config::ContainerConfig,
    auto_remove: bool,
    detach_keys: Option<String>,
) -> CliResult {
    let stream_cfg = StreamConfig {
        stdin: config.attach_stdin,
        stdout: config.attach_stdout,
        stderr: config.attach_stderr,
        tty: config.tty,
        detach_keys: detach_keys.clone(),
    };
    let attach_opts = AttachOptions {
        stream: true,
        stdin: config.attach_stdin,
        stdout: config.attach_stdout,
        stderr: config.attach_stderr,
        logs: false,
        detach_keys,
    };
    let condition = if auto_remove {
        WaitCondition::Removed
    } else {
        WaitCondition::NextExit
    };
    // Docker's order (attach, wait, start), with attach and wait sent
    // together: both must be in place before the start, neither needs
    // the other.
    let (conn, waiter) = tokio::join!(
        ctx.client.container_attach(id, &attach_opts),
        ctx.client.container_wait(id, condition)
    );
    let conn = conn?;
    if let Err(e) = ctx.client.container_start(id).await {
        drop(conn);
        if auto_remove && let Ok(w) = waiter {
            let _ = w.result().await;
        }
        return Err(status_error("run", e.into()));
    }
    let resize = (config.tty && term::stdout_is_terminal())
        .then(|| resize::monitor(ctx.client.clone(), Target::Container(id.to_string())));

    let streaming = session::stream(conn, &stream_cfg);
    let waiting = wait_status(waiter);
    tokio::pin!(streaming);
    tokio::pin!(waiting);
    let result = tokio::select! {
        r = &mut streaming => match r {
            Ok(StreamEnd::Detached) => Ok(()),
            Ok(StreamEnd::Finished) => exit_with(waiting.await),
            Err(e) => Err(CliError::msg(e.to_string())),
        },
        status = &mut waiting => {
            // The output may still be coming; without stdout and stderr
            // there is nothing to wait for.
            if config.attach_stdout || config.attach_stderr {
                let _ = streaming.await;
            }
            exit_with(status)
        }
    };
    if let Some(r) = resize {
        r.abort();
    }
    session::rawterm::restore();
    result
}

fn exit_with(status: i32) -> CliResult {
    if status == 0 {
        Ok(())
    } else {
        Err(CliError::Exit(status))
    }
}
