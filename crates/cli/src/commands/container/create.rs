//! `berth create`, and the creation step `run` shares: the image pulled
//! when create answers 404 (or always, or never, as `--pull` says), the
//! `--cidfile`, and the daemon's warnings.

use std::path::{Path, PathBuf};

use berth_client::reference::Reference;
use clap::ArgAction;

use super::common::usage_error;
use super::opts::{self, ContainerFlags, CreateConfig};
use crate::context::Ctx;
use crate::error::{CliError, CliResult, os_error_text};
use crate::progress;
use crate::session::resize::tty_size;
use crate::term;

pub const USAGE: &str = "[OPTIONS] IMAGE [COMMAND] [ARG...]";

// The options of `create` that are not container configuration (a plain
// comment, as above).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CreateOptions {
    /// Assign a name to the container
    #[arg(long, value_name = "string")]
    pub name: Option<String>,
    /// Pull image before creating ("always", "missing", "never")
    #[arg(long, value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Suppress the pull output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string", env = "DOCKER_DEFAULT_PLATFORM")]
    pub platform: Option<String>,
    /// Skip image verification
    #[arg(long = "disable-content-trust", value_parser = crate::goparse::bool_flag, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", action = ArgAction::Set, hide = true)]
    pub disable_content_trust: bool,
    /// Print usage
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub create: CreateOptions,
    #[command(flatten)]
    pub flags: ContainerFlags,
    /// The image, then the command and its arguments: options end at the
    /// image, as docker parses them.
    #[arg(
        value_name = "IMAGE [COMMAND] [ARG...]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

/// The image and the command from the trailing arguments. A leading
/// `-x` there is a flag clap did not know.
pub fn split_image<'a>(
    cmd: &str,
    usage: &str,
    args: &'a [String],
) -> CliResult<(&'a str, &'a [String])> {
    let Some((first, rest)) = args.split_first() else {
        return Err(CliError::Plain(format!(
            "berth: 'berth {cmd}' requires at least 1 argument\n\nUsage:  berth {cmd} {usage}\n\nSee 'berth {cmd} --help' for more information"
        )));
    };
    if first.starts_with('-') && first.len() > 1 {
        let what = match first.strip_prefix("--") {
            Some(_) => format!("unknown flag: {}", first.split('=').next().unwrap_or(first)),
            None => format!(
                "unknown shorthand flag: '{}' in {first}",
                first.chars().nth(1).unwrap_or('-')
            ),
        };
        return Err(CliError::Plain(format!(
            "{what}\n\nUsage:  berth {cmd} {usage}\n\nRun 'berth {cmd} --help' for more information"
        ))
        .with_status(crate::error::USAGE_EXIT));
    }
    Ok((first, rest))
}

/// `--pull` values.
pub fn validate_pull(cmd: &str, pull: &str) -> CliResult {
    match pull {
        "always" | "missing" | "never" | "" => Ok(()),
        other => Err(usage_error(
            cmd,
            USAGE,
            opts::OptsError::Invalid(format!(
                "invalid pull option: '{other}': must be one of \"always\", \"missing\" or \"never\""
            )),
        )),
    }
}

/// The working directory, for `./relative` bind sources.
pub fn cwd() -> Option<String> {
    std::env::current_dir()
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    validate_pull("create", &args.create.pull)?;
    let (image, command) = split_image("create", USAGE, &args.args)?;
    let cfg = opts::parse(&args.flags, image, command, cwd().as_deref())
        .map_err(|e| usage_error("create", USAGE, e))?;
    let id = create_container(ctx, cfg, &args.create).await?;
    term::out(&format!("{id}\n"))?;
    Ok(())
}

/// The `--cidfile`: created before the container, removed when no ID was
/// written to it.
struct CidFile {
    path: Option<PathBuf>,
    written: bool,
}

impl CidFile {
    fn create(path: &str) -> CliResult<Self> {
        if path.is_empty() {
            return Ok(Self {
                path: None,
                written: false,
            });
        }
        let p = Path::new(path);
        if p.exists() {
            return Err(CliError::Plain(format!(
                "container ID file found, make sure the other container isn't running or delete {path}"
            )));
        }
        std::fs::File::create(p).map_err(|e| {
            CliError::Plain(format!(
                "failed to create the container ID file: open {path}: {}",
                os_error_text(&e)
            ))
        })?;
        Ok(Self {
            path: Some(p.to_path_buf()),
            written: false,
        })
    }

    fn write(&mut self, id: &str) -> CliResult {
        if let Some(p) = &self.path {
            std::fs::write(p, id).map_err(|e| {
                CliError::Plain(format!(
                    "failed to write the container ID to the file: {}",
                    os_error_text(&e)
                ))
            })?;
            self.written = true;
        }
        Ok(())
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if let Some(p) = &self.path
            && !self.written
        {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Pulls `image` with its progress on stderr (nothing with `quiet`).
pub async fn pull_image(ctx: &Ctx, image: &str, platform: Option<&str>, quiet: bool) -> CliResult {
    let resp = ctx.client.image_pull(image, platform, None).await?;
    let mut stream = resp.json_stream();
    let write = if quiet { term::discard } else { term::err };
    progress::show_with(&mut stream, term::stderr_is_terminal(), write).await
}

/// Creates the container as docker's `createContainer` does and returns
/// its ID.
pub async fn create_container(
    ctx: &Ctx,
    mut cfg: CreateConfig,
    opts: &CreateOptions,
) -> CliResult<String> {
    let mut cid = CidFile::create(&cfg.host_config().container_id_file)?;
    let image = cfg.config().image.clone();
    // IDs (64 hex digits) are never pulled.
    let named = Reference::parse_normalized(&image)
        .ok()
        .map(Reference::with_default_tag);
    if named.is_none() && !(image.len() == 64 && image.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(CliError::Plain("invalid reference format".into()));
    }
    let platform = opts.platform.as_deref().filter(|p| !p.is_empty());
    if opts.pull == "always" {
        pull_image(ctx, &image, platform, opts.quiet).await?;
    }
    if let Some(hc) = cfg.body.host_config.as_mut() {
        let (h, w) = tty_size();
        hc.console_size = [h as u32, w as u32];
    }
    let body = cfg.to_json(ctx.client.api_version().await?);
    let name = opts.name.as_deref();
    let resp = match ctx.client.container_create_as(&body, name, platform).await {
        Ok(r) => r,
        Err(e) if e.is_not_found() && named.is_some() && opts.pull == "missing" => {
            if !opts.quiet
                && let Some(r) = &named
            {
                term::err_line(&format!(
                    "Unable to find image '{}' locally",
                    r.familiar_string()
                ));
            }
            pull_image(ctx, &image, platform, opts.quiet).await?;
            ctx.client
                .container_create_as(&body, name, platform)
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    let mut warnings = resp.warnings.clone();
    for dns in cfg.host_config().dns.iter().flatten() {
        if let Ok(ip) = dns.parse::<std::net::IpAddr>()
            && ip.is_loopback()
        {
            warnings.push(format!("Localhost DNS ({ip}) may fail in containers."));
            break;
        }
    }
    for w in warnings {
        term::err_line(&format!("WARNING: {w}"));
    }
    cid.write(&resp.id)?;
    Ok(resp.id)
}
