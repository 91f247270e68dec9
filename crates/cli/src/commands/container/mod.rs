//! `berth container …` and the top-level shortcuts (`run`, `ps`, `exec`,
//! …), one module per command or family of commands.

pub mod attach;
pub mod common;
pub mod cp;
pub mod create;
pub mod exec;
pub mod files;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod opts;
pub mod prune;
pub mod ps;
pub mod run;
pub mod start;
pub mod stats;
pub mod top;
pub mod update;

use berth_client::Waiter;
use clap::Subcommand;
use serde::Deserialize;

use crate::context::Ctx;
use crate::error::CliResult;
use crate::term;

#[derive(Subcommand, Debug)]
pub enum ContainerCommand {
    /// Attach local standard input, output, and error streams to a running container
    Attach(attach::Args),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::Args),
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(create::Args),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(files::DiffArgs),
    /// Execute a command in a running container
    Exec(exec::Args),
    /// Export a container's filesystem as a tar archive
    Export(files::ExportArgs),
    /// Display detailed information on one or more containers
    Inspect(inspect::Args),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Fetch the logs of a container
    Logs(logs::Args),
    /// List containers
    #[command(visible_aliases = ["ps", "list"])]
    Ls(ps::Args),
    /// Pause all processes within one or more containers
    Pause(lifecycle::ContainersArgs),
    /// List port mappings or a specific mapping for the container
    Port(top::PortArgs),
    /// Remove all stopped containers
    Prune(prune::Args),
    /// Rename a container
    Rename(lifecycle::RenameArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(lifecycle::RmArgs),
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(run::Args),
    /// Start one or more stopped containers
    Start(start::Args),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::Args),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Display the running processes of a container
    Top(top::TopArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::ContainersArgs),
    /// Update configuration of one or more containers
    Update(update::Args),
    /// Block until one or more containers stop, then print their exit codes
    Wait(lifecycle::ContainersArgs),
}

impl ContainerCommand {
    pub async fn run(self, ctx: &Ctx) -> CliResult {
        match self {
            ContainerCommand::Attach(a) => attach::run(ctx, a).await,
            ContainerCommand::Cp(a) => cp::run(ctx, a).await,
            ContainerCommand::Create(a) => create::run(ctx, a).await,
            ContainerCommand::Diff(a) => files::diff(ctx, a).await,
            ContainerCommand::Exec(a) => exec::run(ctx, a).await,
            ContainerCommand::Export(a) => files::export(ctx, a).await,
            ContainerCommand::Inspect(a) => inspect::run(ctx, a).await,
            ContainerCommand::Kill(a) => lifecycle::kill(ctx, a).await,
            ContainerCommand::Logs(a) => logs::run(ctx, a).await,
            ContainerCommand::Ls(a) => ps::run(ctx, a).await,
            ContainerCommand::Pause(a) => lifecycle::pause(ctx, a).await,
            ContainerCommand::Port(a) => top::port(ctx, a).await,
            ContainerCommand::Prune(a) => prune::run(ctx, a).await,
            ContainerCommand::Rename(a) => lifecycle::rename(ctx, a).await,
            ContainerCommand::Restart(a) => lifecycle::restart(ctx, a).await,
            ContainerCommand::Rm(a) => lifecycle::rm(ctx, a).await,
            ContainerCommand::Run(a) => run::run(ctx, a).await,
            ContainerCommand::Start(a) => start::run(ctx, a).await,
            ContainerCommand::Stats(a) => stats::run(ctx, a).await,
            ContainerCommand::Stop(a) => lifecycle::stop(ctx, a).await,
            ContainerCommand::Top(a) => top::top(ctx, a).await,
            ContainerCommand::Unpause(a) => lifecycle::unpause(ctx, a).await,
            ContainerCommand::Update(a) => update::run(ctx, a).await,
            ContainerCommand::Wait(a) => lifecycle::wait(ctx, a).await,
        }
    }
}

/// The parts of a container's inspect document the commands use, read
/// leniently (a daemon may leave fields out).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Inspected {
    pub id: String,
    pub config: InspectedConfig,
    pub state: InspectedState,
    pub host_config: InspectedHost,
    pub network_settings: InspectedNetwork,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InspectedConfig {
    pub tty: bool,
    pub open_stdin: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InspectedState {
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InspectedHost {
    pub auto_remove: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InspectedNetwork {
    pub ports: Option<
        std::collections::BTreeMap<String, Option<Vec<berth_api::types::container::PortBinding>>>,
    >,
}

/// `GET /containers/{id}/json`, read as [`Inspected`].
pub async fn inspect(ctx: &Ctx, id: &str) -> CliResult<Inspected> {
    let raw = ctx.client.container_inspect_raw(id, false).await?;
    serde_json::from_slice(&raw)
        .map_err(|e| crate::error::CliError::Client(berth_client::Error::Decode(e)))
}

/// Docker's `waitExitOrRemoved` result: the exit status, or 125 when the
/// wait failed.
pub async fn wait_status(waiter: berth_client::Result<Waiter>) -> i32 {
    let result = match waiter {
        Ok(w) => w.result().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => match r.error {
            Some(e) => {
                term::err_line(&format!(
                    "berth: error waiting for container: {}",
                    e.message
                ));
                125
            }
            None => r.status_code as i32,
        },
        Err(e) => {
            term::err_line(&format!("berth: error waiting for container: {e}"));
            125
        }
    }
}
