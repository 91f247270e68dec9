//! `berth system …`.

pub mod df;

use clap::Subcommand;

use crate::context::Ctx;
use crate::error::CliResult;

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show berth disk usage
    Df(df::Args),
    /// Display system-wide information
    Info(super::info::Args),
}

impl SystemCommand {
    pub async fn run(self, ctx: &Ctx) -> CliResult {
        match self {
            SystemCommand::Df(a) => df::run(ctx, a).await,
            SystemCommand::Info(a) => super::info::run(ctx, a).await,
        }
    }
}
