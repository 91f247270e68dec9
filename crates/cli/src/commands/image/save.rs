//! `berth save`: one or more images as an archive, streamed to a file
//! (written atomically) or to stdout when it is not a terminal.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use berth_client::ResponseBody;

use crate::context::Ctx;
use crate::error::{CliError, CliResult, os_error_text};
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long, value_name = "string")]
    pub output: Option<String>,
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    match args.output.as_deref() {
        None | Some("") => {
            if term::stdout_is_terminal() {
                return Err(CliError::msg(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let mut body = ctx.client.image_save(&args.images).await?;
            while let Some(chunk) = body.chunk().await {
                term::out_bytes(&chunk?)?;
            }
            Ok(())
        }
        Some(output) => {
            let target = Path::new(output);
            let (tmp_path, file) = create_temp(target)
                .map_err(|e| CliError::msg(format!("failed to save image: {e}")))?;
            let result = async {
                let body = ctx.client.image_save(&args.images).await?;
                write_all(body, file, &tmp_path, target).await
            }
            .await;
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp_path);
            }
            result
        }
    }
}

/// A temporary file beside `target`, so that the final rename is atomic.
fn create_temp(target: &Path) -> Result<(PathBuf, File), String> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "invalid output path: {} is not a directory",
                dir.display()
            ));
        }
        Err(_) => {
            return Err(format!(
                "invalid output path: directory {:?} does not exist",
                dir.display().to_string()
            ));
        }
    }
    if target.is_dir() {
        return Err(format!(
            "invalid output path: {:?} is a directory",
            target.display().to_string()
        ));
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image.tar".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let file = opts
        .open(&tmp)
        .map_err(|e| format!("open {}: {}", tmp.display(), os_error_text(&e)))?;
    Ok((tmp, file))
}

async fn write_all(mut body: ResponseBody, mut file: File, tmp: &Path, target: &Path) -> CliResult {
    while let Some(chunk) = body.chunk().await {
        file.write_all(&chunk?)?;
    }
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, target).map_err(|e| {
        CliError::msg(format!(
            "failed to save image: rename {}: {}",
            target.display(),
            os_error_text(&e)
        ))
    })
}
