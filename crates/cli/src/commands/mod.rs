//! The command tree: one module per command or group.

pub mod container;
pub mod image;
pub mod info;
pub mod inspect;
pub mod network;
pub mod system;
pub mod version;
pub mod volume;

use berth_api::filters::Filters;
use clap::Subcommand;
use serde_json::Value;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(container::run::Args),
    /// Execute a command in a running container
    Exec(container::exec::Args),
    /// List containers
    Ps(container::ps::Args),
    /// Attach local standard input, output, and error streams to a running container
    Attach(container::attach::Args),
    /// Copy files/folders between a container and the local filesystem
    Cp(container::cp::Args),
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(container::create::Args),
    /// Get real time events from the server
    Events(system::events::Args),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(container::files::DiffArgs),
    /// Export a container's filesystem as a tar archive
    Export(container::files::ExportArgs),
    /// Kill one or more running containers
    Kill(container::lifecycle::KillArgs),
    /// Fetch the logs of a container
    Logs(container::logs::Args),
    /// Pause all processes within one or more containers
    Pause(container::lifecycle::ContainersArgs),
    /// List port mappings or a specific mapping for the container
    Port(container::top::PortArgs),
    /// Rename a container
    Rename(container::lifecycle::RenameArgs),
    /// Restart one or more containers
    Restart(container::lifecycle::StopArgs),
    /// Remove one or more containers
    Rm(container::lifecycle::RmArgs),
    /// Start one or more stopped containers
    Start(container::start::Args),
    /// Display a live stream of container(s) resource usage statistics
    Stats(container::stats::Args),
    /// Stop one or more running containers
    Stop(container::lifecycle::StopArgs),
    /// Display the running processes of a container
    Top(container::top::TopArgs),
    /// Unpause all processes within one or more containers
    Unpause(container::lifecycle::ContainersArgs),
    /// Update configuration of one or more containers
    Update(container::update::Args),
    /// Block until one or more containers stop, then print their exit codes
    Wait(container::lifecycle::ContainersArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// Show the Berth version information
    Version(version::Args),
    /// Display system-wide information
    Info(info::Args),
    /// List images
    Images(image::ls::Args),
    /// Manage images
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Return low-level information on Berth objects
    Inspect(inspect::Args),
    /// Import the contents from a tarball to create a filesystem image
    Import(image::import::Args),
    /// Load an image from a tar archive or STDIN
    Load(image::load::Args),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(image::save::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(image::tag::Args),
    /// Remove one or more images
    Rmi(image::rm::Args),
    /// Show the history of an image
    History(image::history::Args),
    /// Manage Berth
    #[command(subcommand)]
    System(system::SystemCommand),
}

impl Command {
    pub async fn run(self, ctx: &Ctx) -> CliResult {
        use container::ContainerCommand as C;
        match self {
            Command::Run(a) => C::Run(a).run(ctx).await,
            Command::Exec(a) => C::Exec(a).run(ctx).await,
            Command::Ps(a) => C::Ls(a).run(ctx).await,
            Command::Attach(a) => C::Attach(a).run(ctx).await,
            Command::Cp(a) => C::Cp(a).run(ctx).await,
            Command::Create(a) => C::Create(a).run(ctx).await,
            Command::Events(a) => system::events::run(ctx, a).await,
            Command::Diff(a) => C::Diff(a).run(ctx).await,
            Command::Export(a) => C::Export(a).run(ctx).await,
            Command::Kill(a) => C::Kill(a).run(ctx).await,
            Command::Logs(a) => C::Logs(a).run(ctx).await,
            Command::Pause(a) => C::Pause(a).run(ctx).await,
            Command::Port(a) => C::Port(a).run(ctx).await,
            Command::Rename(a) => C::Rename(a).run(ctx).await,
            Command::Restart(a) => C::Restart(a).run(ctx).await,
            Command::Rm(a) => C::Rm(a).run(ctx).await,
            Command::Start(a) => C::Start(a).run(ctx).await,
            Command::Stats(a) => C::Stats(a).run(ctx).await,
            Command::Stop(a) => C::Stop(a).run(ctx).await,
            Command::Top(a) => C::Top(a).run(ctx).await,
            Command::Unpause(a) => C::Unpause(a).run(ctx).await,
            Command::Update(a) => C::Update(a).run(ctx).await,
            Command::Wait(a) => C::Wait(a).run(ctx).await,
            Command::Container(c) => c.run(ctx).await,
            Command::Network(c) => c.run(ctx).await,
            Command::Volume(c) => c.run(ctx).await,
            Command::Version(a) => version::run(ctx, a).await,
            Command::Info(a) => info::run(ctx, a).await,
            Command::Images(a) => image::ls::run(ctx, a, true).await,
            Command::Image(c) => c.run(ctx).await,
            Command::Inspect(a) => inspect::run(ctx, a).await,
            Command::Import(a) => image::import::run(ctx, a).await,
            Command::Load(a) => image::load::run(ctx, a).await,
            Command::Save(a) => image::save::run(ctx, a).await,
            Command::Tag(a) => image::tag::run(ctx, a).await,
            Command::Rmi(a) => image::rm::run(ctx, a).await,
            Command::History(a) => image::history::run(ctx, a).await,
            Command::System(c) => c.run(ctx).await,
        }
    }
}

/// `-f key=value` flags into filters (docker's `FilterOpt`).
/// Docker's prune report: the heading and one deleted item per line (when
/// any), then the space reclaimed (counted only when something went).
pub fn prune_report(heading: &str, deleted: Vec<String>, reclaimed: u64) -> String {
    let mut out = String::new();
    let mut total = 0;
    if !deleted.is_empty() {
        out.push_str(heading);
        out.push('\n');
        for item in deleted {
            out.push_str(&item);
            out.push('\n');
        }
        out.push('\n');
        total = reclaimed;
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        crate::format::units::human_size(total as f64)
    ));
    out
}

pub fn parse_filters(flags: &[String]) -> CliResult<Filters> {
    let mut filters = Filters::default();
    for flag in flags {
        let Some((key, value)) = flag.split_once('=') else {
            return Err(CliError::msg(format!(
                "bad format of filter (expected name=value): {flag}"
            )));
        };
        filters.add(&key.trim().to_lowercase(), value.trim());
    }
    Ok(filters)
}

/// Lenient readers of daemon JSON: a missing or null field reads as empty.
pub mod json {
    use super::Value;

    pub fn str(v: &Value, key: &str) -> String {
        match v.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => crate::format::gofmt::value(other),
        }
    }

    pub fn int(v: &Value, key: &str) -> i64 {
        v.get(key)
            .and_then(|x| x.as_i64().or_else(|| x.as_f64().map(|f| f as i64)))
            .unwrap_or(0)
    }

    /// Like [`int`], with `default` when the field is absent or null.
    pub fn int_or(v: &Value, key: &str, default: i64) -> i64 {
        match v.get(key) {
            Some(x) if !x.is_null() => int(v, key),
            _ => default,
        }
    }

    pub fn bool(v: &Value, key: &str) -> bool {
        v.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn strings(v: &Value, key: &str) -> Vec<String> {
        match v.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => crate::format::gofmt::value(other),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
        match v.get(key) {
            Some(Value::Array(items)) => items,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_from_flags() {
        let f = parse_filters(&["dangling=true".into(), " Label = a=b ".into()]).unwrap();
        assert_eq!(f.get("dangling"), ["true"]);
        assert_eq!(f.get("label"), ["a=b"]);
        let err = parse_filters(&["nope".into()]).unwrap_err();
        assert_eq!(
            err.render(false),
            vec!["berth: bad format of filter (expected name=value): nope"]
        );
    }

    #[test]
    fn lenient_json() {
        let v = serde_json::json!({"a": null, "n": 3, "l": ["x", 1], "s": "t"});
        assert_eq!(json::str(&v, "a"), "");
        assert_eq!(json::str(&v, "s"), "t");
        assert_eq!(json::int(&v, "n"), 3);
        assert_eq!(json::int_or(&v, "a", -1), -1);
        assert_eq!(json::strings(&v, "l"), ["x", "1"]);
        assert!(json::strings(&v, "a").is_empty());
    }
}
