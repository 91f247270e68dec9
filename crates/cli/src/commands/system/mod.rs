//! `berth system …`.

pub mod df;
pub mod events;

use clap::Subcommand;

use crate::context::Ctx;
use crate::error::CliResult;

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show berth disk usage
    Df(df::Args),
    /// Get real time events from the server
    Events(events::Args),
    /// Display system-wide information
    Info(super::info::Args),
}

impl SystemCommand {
    pub async fn run(self, ctx: &Ctx) -> CliResult {
        match self {
            SystemCommand::Df(a) => df::run(ctx, a).await,
            SystemCommand::Events(a) => events::run(ctx, a).await,
            SystemCommand::Info(a) => super::info::run(ctx, a).await,
        }
    }
}
