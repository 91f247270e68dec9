//! What every command gets: the client for the daemon chosen by `-H` /
//! `BERTH_HOST` / `DOCKER_HOST` and the TLS flags, and the debug switch.

use std::path::{Path, PathBuf};

use berth_client::client::parse_api_version;
use berth_client::host::DEFAULT_HOST;
use berth_client::{Client, TlsOptions};
use clap::Args;

use crate::error::{CliError, CliResult};

/// The global options (given before the command, as with docker).
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalOptions {
    /// Daemon socket to connect to
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    pub host: Option<String>,

    /// Use TLS; implied by --tlsverify
    #[arg(long)]
    pub tls: bool,

    /// Use TLS and verify the remote
    #[arg(long)]
    pub tlsverify: bool,

    /// Trust certs signed only by this CA (default "~/.docker/ca.pem")
    #[arg(long, value_name = "PATH")]
    pub tlscacert: Option<PathBuf>,

    /// Path to TLS certificate file (default "~/.docker/cert.pem")
    #[arg(long, value_name = "PATH")]
    pub tlscert: Option<PathBuf>,

    /// Path to TLS key file (default "~/.docker/key.pem")
    #[arg(long, value_name = "PATH")]
    pub tlskey: Option<PathBuf>,

    /// Enable debug mode
    #[arg(short = 'D', long)]
    pub debug: bool,

    /// Set the logging level
    #[arg(
        short = 'l',
        long = "log-level",
        value_name = "string",
        default_value = "info",
        value_parser = ["debug", "info", "warn", "error", "fatal"]
    )]
    pub log_level: String,
}

/// The environment a command runs in.
pub struct Ctx {
    pub client: Client,
    pub debug: bool,
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl GlobalOptions {
    /// The daemon address: `-H`, else `BERTH_HOST`, else `DOCKER_HOST`.
    pub fn resolved_host(&self) -> String {
        self.host
            .clone()
            .or_else(|| env(&["BERTH_HOST", "DOCKER_HOST"]))
            .unwrap_or_else(|| DEFAULT_HOST.to_string())
    }

    /// TLS settings with docker's defaults: `--tlsverify` or
    /// `DOCKER_TLS_VERIFY` verify against `ca.pem`; certificate files come
    /// from `DOCKER_CERT_PATH` (else `~/.docker`) unless given.
    pub fn tls_options(&self) -> Option<TlsOptions> {
        let verify = self.tlsverify || env(&["DOCKER_TLS_VERIFY"]).is_some();
        if !(self.tls || verify) {
            return None;
        }
        let dir = env(&["DOCKER_CERT_PATH"])
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")))
            .unwrap_or_default();
        let default_if_exists = |given: &Option<PathBuf>, file: &str| {
            given.clone().or_else(|| {
                let p = dir.join(file);
                p.exists().then_some(p)
            })
        };
        Some(TlsOptions {
            verify,
            ca_file: Some(self.tlscacert.clone().unwrap_or_else(|| dir.join("ca.pem"))),
            cert_file: default_if_exists(&self.tlscert, "cert.pem"),
            key_file: default_if_exists(&self.tlskey, "key.pem"),
        })
    }

    pub fn context(&self) -> CliResult<Ctx> {
        let mut builder = Client::builder().host(self.resolved_host());
        if let Some(tls) = self.tls_options() {
            builder = builder.tls(tls);
        }
        if let Some(v) = env(&["BERTH_API_VERSION", "DOCKER_API_VERSION"]) {
            builder = builder.api_version(parse_api_version(&v).map_err(CliError::Client)?);
        }
        Ok(Ctx {
            client: builder.build()?,
            debug: self.debug || self.log_level == "debug",
        })
    }
}
