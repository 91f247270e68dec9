//! State changes on one or more containers: `stop`, `kill`, `restart`,
//! `pause`, `unpause`, `rm`, `wait`, `rename`. Names that succeeded are
//! printed; every failure is reported.

use berth_client::{RemoveOptions, StopOptions, WaitCondition};

use super::common::{parallel, report, usage_error};
use super::opts::flag_err;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::goparse;
use crate::term;

#[derive(clap::Args, Debug)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", value_name = "string")]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "timeout",
        visible_alias = "time",
        value_name = "int",
        allow_hyphen_values = true
    )]
    pub timeout: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

impl StopArgs {
    fn options(&self, cmd: &str) -> CliResult<StopOptions> {
        let timeout = match &self.timeout {
            Some(t) => Some(goparse::parse_int(t).map_err(|e| {
                usage_error(
                    cmd,
                    "[OPTIONS] CONTAINER [CONTAINER...]",
                    flag_err("-t, --timeout", t)(e),
                )
            })?),
            None => None,
        };
        Ok(StopOptions {
            signal: self.signal.clone(),
            timeout,
        })
    }
}

pub async fn stop(ctx: &Ctx, args: StopArgs) -> CliResult {
    let opts = args.options("stop")?;
    let results = parallel(&args.containers, |id| {
        let opts = &opts;
        async move { Ok(ctx.client.container_stop(id, opts).await?) }
    })
    .await;
    report(&args.containers, results)
}

/// Docker restarts one container after the other.
pub async fn restart(ctx: &Ctx, args: StopArgs) -> CliResult {
    let opts = args.options("restart")?;
    let mut results = Vec::new();
    for id in &args.containers {
        results.push(
            ctx.client
                .container_restart(id, &opts)
                .await
                .map_err(CliError::from),
        );
    }
    report(&args.containers, results)
}

#[derive(clap::Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", value_name = "string")]
    pub signal: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub async fn kill(ctx: &Ctx, args: KillArgs) -> CliResult {
    let signal = args.signal.clone().unwrap_or_default();
    let results = parallel(&args.containers, |id| {
        let signal = &signal;
        async move { Ok(ctx.client.container_kill(id, signal).await?) }
    })
    .await;
    report(&args.containers, results)
}

#[derive(clap::Args, Debug)]
pub struct ContainersArgs {
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub async fn pause(ctx: &Ctx, args: ContainersArgs) -> CliResult {
    let results = parallel(&args.containers, |id| async move {
        Ok(ctx.client.container_pause(id).await?)
    })
    .await;
    report(&args.containers, results)
}

pub async fn unpause(ctx: &Ctx, args: ContainersArgs) -> CliResult {
    let results = parallel(&args.containers, |id| async move {
        Ok(ctx.client.container_unpause(id).await?)
    })
    .await;
    report(&args.containers, results)
}

#[derive(clap::Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove the specified link
    #[arg(short = 'l', long)]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub async fn rm(ctx: &Ctx, args: RmArgs) -> CliResult {
    let opts = RemoveOptions {
        force: args.force,
        volumes: args.volumes,
        link: args.link,
    };
    let results = parallel(&args.containers, |id| async move {
        let id = id.trim_matches('/');
        if id.is_empty() {
            return Err(CliError::Plain("container name cannot be empty".into()));
        }
        match ctx.client.container_remove(id, opts).await {
            // With -f a missing container is only mentioned.
            Err(e) if args.force && e.is_not_found() => {
                term::err_line(&e.to_string());
                Err(CliError::Exit(0))
            }
            r => Ok(r?),
        }
    })
    .await;
    let mut names = Vec::new();
    let mut kept = Vec::new();
    for (name, r) in args.containers.iter().zip(results) {
        if matches!(r, Err(CliError::Exit(0))) {
            continue;
        }
        names.push(name.clone());
        kept.push(r);
    }
    report(&names, kept)
}

pub async fn wait(ctx: &Ctx, args: ContainersArgs) -> CliResult {
    let mut errors = Vec::new();
    for id in &args.containers {
        let result = match ctx.client.container_wait(id, WaitCondition::Default).await {
            Ok(w) => w.result().await,
            Err(e) => Err(e),
        };
        match result {
            Ok(r) => term::out(&format!("{}\n", r.status_code))?,
            Err(e) => errors.push(e.into()),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Many(errors))
    }
}

#[derive(clap::Args, Debug)]
pub struct RenameArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

pub async fn rename(ctx: &Ctx, args: RenameArgs) -> CliResult {
    let (old, new) = (args.container.trim(), args.new_name.trim());
    if old.is_empty() || new.is_empty() {
        return Err(CliError::Plain(
            "Error: Neither old nor new names may be empty".into(),
        ));
    }
    if let Err(e) = ctx.client.container_rename(old, new).await {
        term::err_line(&e.to_string());
        return Err(CliError::Plain(format!(
            "Error: failed to rename container named {old}"
        )));
    }
    Ok(())
}
