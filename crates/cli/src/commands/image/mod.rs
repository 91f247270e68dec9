//! `berth image …` and the top-level shortcuts (`images`, `rmi`, `load`,
//! …), one module per command.

pub mod history;
pub mod import;
pub mod inspect;
pub mod load;
pub mod ls;
pub mod prune;
pub mod rm;
pub mod save;
pub mod tag;

use clap::Subcommand;

use crate::context::Ctx;
use crate::error::CliResult;

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Show the history of an image
    History(history::Args),
    /// Import the contents from a tarball to create a filesystem image
    Import(import::Args),
    /// Display detailed information on one or more images
    Inspect(inspect::Args),
    /// Load an image from a tar archive or STDIN
    Load(load::Args),
    /// List images
    #[command(visible_alias = "list")]
    Ls(ls::Args),
    /// Remove unused images
    Prune(prune::Args),
    /// Remove one or more images
    #[command(visible_aliases = ["rmi", "remove"])]
    Rm(rm::Args),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::Args),
}

impl ImageCommand {
    pub async fn run(self, ctx: &Ctx) -> CliResult {
        match self {
            ImageCommand::History(a) => history::run(ctx, a).await,
            ImageCommand::Import(a) => import::run(ctx, a).await,
            ImageCommand::Inspect(a) => inspect::run(ctx, a).await,
            ImageCommand::Load(a) => load::run(ctx, a).await,
            ImageCommand::Ls(a) => ls::run(ctx, a, false).await,
            ImageCommand::Prune(a) => prune::run(ctx, a).await,
            ImageCommand::Rm(a) => rm::run(ctx, a).await,
            ImageCommand::Save(a) => save::run(ctx, a).await,
            ImageCommand::Tag(a) => tag::run(ctx, a).await,
        }
    }
}
