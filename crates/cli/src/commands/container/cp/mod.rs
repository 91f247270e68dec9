//! `berth cp`: files between a container and the local filesystem, both
//! ways, with `-` for a tar stream on stdin or stdout, docker's path
//! rules (`dir/` and `dir/.`), `-a` (keep owners) and `-L` (follow a
//! symbolic link at the source).

mod paths;
mod tarball;
mod untar;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use berth_api::types::archive::mode;
use berth_client::{Body, CopyToOptions};
use tokio::io::AsyncWriteExt;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::units::human_size_with_precision;
use crate::term;

use paths::{join, rebase_name, resolve_local, split_cp_arg, split_dir_entry};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[arg(value_name = "SRC_PATH|CONTAINER:SRC_PATH")]
    pub source: String,
    #[arg(value_name = "DEST_PATH|CONTAINER:DEST_PATH")]
    pub destination: String,
}

fn msg(e: impl std::fmt::Display) -> CliError {
    CliError::Plain(e.to_string())
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    if args.source.is_empty() {
        return Err(msg("source can not be empty"));
    }
    if args.destination.is_empty() {
        return Err(msg("destination can not be empty"));
    }
    let quiet = args.quiet || !term::stdout_is_terminal();
    let (src_ctr, src_path) = split_cp_arg(&args.source);
    let (dst_ctr, dst_path) = split_cp_arg(&args.destination);
    match (src_ctr, dst_ctr) {
        (Some(c), None) => from_container(ctx, &args, quiet, c, src_path, dst_path).await,
        (None, Some(c)) => to_container(ctx, &args, quiet, c, src_path, dst_path).await,
        (Some(_), Some(_)) => Err(msg("copying between containers is not supported")),
        (None, None) => Err(msg("must specify at least one container source")),
    }
}

/// Docker's `ValidateOutputPath`.
fn validate_output_path(path: &str) -> CliResult {
    let dir = split_dir_entry(path.trim_end_matches('/')).0;
    if !dir.is_empty() && dir != "." && std::fs::metadata(&dir).is_err() {
        return Err(msg(format!(
            "invalid output path: directory {dir:?} does not exist"
        )));
    }
    Ok(())
}

async fn from_container(
    ctx: &Ctx,
    args: &Args,
    quiet: bool,
    container: &str,
    src: &str,
    dst: &str,
) -> CliResult {
    let dst = if dst == "-" {
        dst.to_string()
    } else {
        let d = resolve_local(dst)?;
        validate_output_path(&d)?;
        d
    };
    let mut src = src.to_string();
    let mut rebase = None;
    if args.follow_link
        && let Ok(stat) = ctx.client.container_stat_path(container, &src).await
        && stat.is_symlink()
    {
        let mut target = stat.link_target.clone();
        if !target.starts_with('/') {
            target = join(&split_dir_entry(&src).0, &target);
        }
        let (resolved, name) = rebase_name(&src, &target);
        src = resolved;
        rebase = name;
    }
    let (mut body, stat) = ctx.client.copy_from_container(container, &src).await?;
    if dst == "-" {
        let mut out = tokio::io::stdout();
        while let Some(chunk) = body.chunk().await {
            out.write_all(&chunk?).await?;
        }
        out.flush().await?;
        return Ok(());
    }
    let dst_for_task = dst.clone();
    let is_dir = stat.is_dir();
    let copied = Arc::new(AtomicU64::new(0));
    let counter = copied.clone();
    let reader = tokio_util::io::SyncIoBridge::new(body.into_reader());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let reader = CountingReader {
            inner: reader,
            count: counter,
        };
        let info = untar::dest_info(&dst_for_task)?;
        let (to, mut renames) = untar::prepare(&src, is_dir, None, &info)?;
        if let Some(name) = rebase {
            // The link's name replaces the target's in the archive.
            let (_, target_base) = split_dir_entry(&src);
            let dst_base = renames.as_ref().map_or(name.clone(), |(_, d)| d.clone());
            renames = Some((target_base, dst_base));
        }
        untar::untar(reader, &to, renames.as_ref())
    })
    .await
    .map_err(|e| msg(e.to_string()))?
    .map_err(msg)?;
    if !quiet {
        term::err_line(&format!(
            "Successfully copied {} to {dst}",
            human_size_with_precision(copied.load(Ordering::Relaxed) as f64, 3)
        ));
    }
    Ok(())
}

struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: std::io::Read> std::io::Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

async fn to_container(
    ctx: &Ctx,
    args: &Args,
    quiet: bool,
    container: &str,
    src: &str,
    dst: &str,
) -> CliResult {
    let src = if src == "-" {
        src.to_string()
    } else {
        resolve_local(src)?
    };
    let mut dst_info = untar::DestInfo {
        path: dst.to_string(),
        exists: false,
        is_dir: false,
    };
    let mut stat = ctx.client.container_stat_path(container, dst).await;
    if let Ok(s) = &stat
        && s.is_symlink()
    {
        let mut target = s.link_target.clone();
        if !target.starts_with('/') {
            target = join(&split_dir_entry(dst).0, &target);
        }
        dst_info.path = target.clone();
        stat = ctx.client.container_stat_path(container, &target).await;
    }
    if let Ok(s) = &stat {
        let problem = if s.mode & mode::DEVICE != 0 {
            Some("got a device")
        } else if s.mode & mode::IRREGULAR != 0 {
            Some("got an irregular file")
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(msg(format!(
                "destination \"{container}:{dst}\" must be a directory or a regular file: {p}"
            )));
        }
        dst_info.exists = true;
        dst_info.is_dir = s.is_dir();
    }
    let copied = Arc::new(AtomicU64::new(0));
    let (body, path) = if src == "-" {
        if !dst_info.is_dir {
            return Err(msg(format!(
                "destination \"{container}:{dst}\" must be a directory"
            )));
        }
        (Body::reader(tokio::io::stdin()), dst_info.path.clone())
    } else {
        let info = tarball::source_info(&src, args.follow_link)
            .map_err(|e| msg(format!("lstat {src}: {}", crate::error::os_error_text(&e))))?;
        let (dir, renames) =
            untar::prepare(&info.path, info.is_dir, info.rebase.as_deref(), &dst_info)
                .map_err(msg)?;
        (tarball::tar_body(info, renames, copied.clone()), dir)
    };
    let opts = CopyToOptions {
        allow_overwrite_dir_with_file: false,
        copy_uid_gid: args.archive,
    };
    ctx.client
        .copy_to_container(container, &path, body, opts)
        .await?;
    if !quiet && src != "-" {
        term::err_line(&format!(
            "Successfully copied {} to {container}:{}",
            human_size_with_precision(copied.load(Ordering::Relaxed) as f64, 3),
            dst_info.path
        ));
    }
    Ok(())
}
