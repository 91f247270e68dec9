//! `berth diff` (changes to the container's filesystem) and `berth
//! export` (its filesystem as a tar archive).

use std::path::Path;

use tokio::io::AsyncWriteExt;

use crate::context::Ctx;
use crate::error::{CliError, CliResult, path_error};
use crate::term;

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `C /etc`, `A /new`, `D /gone`, in the daemon's order.
pub async fn diff(ctx: &Ctx, args: DiffArgs) -> CliResult {
    let changes = ctx.client.container_changes(&args.container).await?;
    let mut out = String::new();
    for c in changes {
        let kind = match c.kind {
            0 => "C",
            1 => "A",
            2 => "D",
            _ => "?",
        };
        out.push_str(&format!("{kind} {}\n", c.path));
    }
    term::out(&out)?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long, value_name = "string")]
    pub output: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Docker's `ValidateOutputPath`: the directory exists and the target is
/// not one.
fn validate_output_path(path: &Path) -> CliResult {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let fail = |why: String| {
        CliError::msg(format!(
            "failed to export container: invalid output path: {why}"
        ))
    };
    if !dir.is_dir() {
        return Err(fail(format!(
            "directory {:?} does not exist",
            dir.display().to_string()
        )));
    }
    if path.is_dir() {
        return Err(fail(format!(
            "{:?} is a directory",
            path.display().to_string()
        )));
    }
    Ok(())
}

pub async fn export(ctx: &Ctx, args: ExportArgs) -> CliResult {
    let out_path = args.output.as_deref().filter(|o| !o.is_empty());
    if out_path.is_none() && term::stdout_is_terminal() {
        return Err(CliError::msg(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    if let Some(p) = out_path {
        validate_output_path(Path::new(p))?;
    }
    let mut body = ctx.client.container_export(&args.container).await?;
    match out_path {
        Some(p) => {
            let path = Path::new(p);
            let mut file = tokio::fs::File::create(path)
                .await
                .map_err(|e| path_error("failed to export container: open", path, &e))?;
            while let Some(chunk) = body.chunk().await {
                file.write_all(&chunk?).await?;
            }
            file.flush().await?;
        }
        None => {
            let mut stdout = tokio::io::stdout();
            while let Some(chunk) = body.chunk().await {
                stdout.write_all(&chunk?).await?;
            }
            stdout.flush().await?;
        }
    }
    Ok(())
}
