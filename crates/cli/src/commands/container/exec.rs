//! `berth exec`: a command in a running container, detached or with its
//! stdio attached; the exit status is the process's.

use berth_api::types::exec::{ExecCreateBody, ExecStartBody};
use clap::ArgAction;

use super::common::usage_error;
use super::opts::{OptsError, flag_err, values};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::goparse::bool_flag;
use crate::session::resize::{self, Target, tty_size};
use crate::session::{self, StreamConfig, StreamEnd};
use crate::term;

const USAGE: &str = "[OPTIONS] CONTAINER COMMAND [ARG...]";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long = "detach", value_parser = bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(
        short = 'e',
        long = "env",
        value_name = "list",
        allow_hyphen_values = true
    )]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive", value_parser = bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long = "privileged", value_parser = bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty", value_parser = bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// The container, then the command: options end at the container.
    #[arg(value_name = "CONTAINER COMMAND [ARG...]", required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Docker's `parseExec`.
pub fn exec_body(args: &Args, command: &[String]) -> Result<ExecCreateBody, OptsError> {
    let mut env = values::read_kv_files(&args.env_file, true).map_err(OptsError::Invalid)?;
    for e in &args.env {
        env.push(values::validate_env(e).map_err(flag_err("-e, --env", e))?);
    }
    let attached = !args.detach;
    Ok(ExecCreateBody {
        user: args.user.clone().unwrap_or_default(),
        privileged: args.privileged,
        tty: args.tty,
        console_size: None,
        attach_stdin: attached && args.interactive,
        attach_stdout: attached,
        attach_stderr: attached,
        detach: args.detach,
        detach_keys: args.detach_keys.clone().unwrap_or_default(),
        env: (!env.is_empty()).then_some(env),
        working_dir: args.workdir.clone().unwrap_or_default(),
        cmd: Some(command.to_vec()),
    })
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let (container, command) = super::create::split_image("exec", USAGE, &args.args)?;
    let mut body = exec_body(&args, command).map_err(|e| usage_error("exec", USAGE, e))?;
    // Errors about the container come before any exec is created.
    super::inspect(ctx, container).await?;
    if !body.detach {
        session::check_tty(body.attach_stdin, body.tty)?;
    }
    if body.tty {
        let (h, w) = tty_size();
        body.console_size = Some([h as u32, w as u32]);
    }
    let id = ctx.client.exec_create(container, &body).await?;
    let start = ExecStartBody {
        detach: body.detach,
        tty: body.tty,
        console_size: body.console_size,
    };
    if body.detach {
        ctx.client.exec_start_detached(&id, &start).await?;
        return Ok(());
    }
    let conn = ctx.client.exec_start_attached(&id, &start).await?;
    let resize = (body.tty && term::stdin_is_terminal())
        .then(|| resize::monitor(ctx.client.clone(), Target::Exec(id.clone())));
    let cfg = StreamConfig {
        stdin: body.attach_stdin,
        stdout: body.attach_stdout,
        stderr: body.attach_stderr,
        tty: body.tty,
        detach_keys: args.detach_keys.clone(),
    };
    let streamed = session::stream(conn, &cfg).await;
    if let Some(r) = resize {
        r.abort();
    }
    match streamed {
        Ok(StreamEnd::Detached) => return Ok(()),
        Ok(StreamEnd::Finished) => {}
        Err(e) => return Err(CliError::msg(e.to_string())),
    }
    match ctx.client.exec_inspect(&id).await {
        Ok(i) => match i.exit_code.unwrap_or(0) {
            0 => Ok(()),
            code => Err(CliError::Exit(code as i32)),
        },
        // The daemon went away: docker exits -1 (255).
        Err(e) if e.is_connection_failure() => Err(CliError::Exit(-1)),
        Err(e) => Err(e.into()),
    }
}
