//! `berthd`: reads its configuration, checks the host, opens the stores
//! and listeners, serves the Engine API, and shuts down cleanly on
//! SIGTERM/SIGINT (SIGHUP reloads `debug` and `log-level`).

mod config;
mod flags;
mod hosts;
mod listen;
mod logging;
mod pidfile;

use std::process::ExitCode;
use std::sync::Arc;

use berth_daemon::Daemon;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Settings;
use crate::flags::Flags;
use crate::logging::Logging;
use crate::pidfile::PidFile;

fn main() -> ExitCode {
    let matches = Flags::command().get_matches();
    let flags = match Flags::from_arg_matches(&matches) {
        Ok(f) => f,
        Err(e) => e.exit(),
    };
    let explicit_file = matches.value_source("config_file") == Some(ValueSource::CommandLine);
    let settings = match config::read_file(&flags.config_file, explicit_file)
        .and_then(|file| config::resolve(flags, &matches, file))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("berthd: {e}");
            return ExitCode::from(1);
        }
    };
    let logging = Logging::init(&settings.daemon.log_level, settings.daemon.debug);
    if let Err(e) = preflight() {
        tracing::error!("{e}");
        eprintln!("berthd: {e}");
        return ExitCode::from(1);
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .thread_name("berthd")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berthd: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(settings, logging)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("berthd: {e}");
            ExitCode::from(1)
        }
    }
}

/// Refuses to run where Berth cannot work, saying why.
fn preflight() -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err(
            "berthd runs only on Linux: containers need Linux namespaces and cgroups".to_string(),
        );
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(
            "berthd needs to be started with root privileges: it mounts filesystems, creates namespaces and manages cgroups"
                .to_string(),
        );
    }
    Ok(())
}

async fn run(mut settings: Settings, logging: Logging) -> Result<(), String> {
    let pidfile = PidFile::acquire(&settings.pidfile)?;
    let result = serve(&mut settings, &logging).await;
    pidfile.release();
    result
}

async fn serve(settings: &mut Settings, logging: &Logging) -> Result<(), String> {
    let (listeners, warnings) = listen::open(settings)?;
    settings.daemon.warnings.extend(warnings);
    let config = settings.daemon.clone();
    let daemon: Arc<Daemon> = tokio::task::spawn_blocking(move || Daemon::start(config))
        .await
        .map_err(|e| format!("start-up failed: {e}"))?
        .map_err(|e| e.chain())?;
    daemon.restore().await.map_err(|e| e.chain())?;
    let app = berth_server::app(daemon.clone());
    notify_systemd("READY=1");
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "berthd started");
    // Handlers are installed before the first request can be served, so a
    // SIGTERM right after start-up is never the default (fatal) action.
    let signals = Signals::install()?;
    let shutdown = wait_for_shutdown(signals, settings.clone(), logging, daemon.clone());
    berth_server::listener::serve(listeners, app, shutdown).await;
    notify_systemd("STOPPING=1");
    tracing::info!("shutting down");
    daemon.shutdown().await;
    tracing::info!("berthd stopped");
    Ok(())
}

struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Self, String> {
        let err = |e: std::io::Error| format!("cannot install signal handlers: {e}");
        Ok(Self {
            term: signal(SignalKind::terminate()).map_err(err)?,
            int: signal(SignalKind::interrupt()).map_err(err)?,
            hup: signal(SignalKind::hangup()).map_err(err)?,
        })
    }
}

/// Resolves on SIGTERM or SIGINT; reloads the reloadable options on SIGHUP.
async fn wait_for_shutdown(
    signals: Signals,
    settings: Settings,
    logging: &Logging,
    daemon: Arc<Daemon>,
) {
    let Signals {
        mut term,
        mut int,
        mut hup,
    } = signals;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM received"); return; }
            _ = int.recv() => { tracing::info!("SIGINT received"); return; }
            _ = hup.recv() => reload(&settings, logging, &daemon),
        }
    }
}

/// Re-reads the configuration file and applies `debug` and `log-level`.
fn reload(settings: &Settings, logging: &Logging, daemon: &Daemon) {
    let file = match config::read_file(&settings.config_file, false) {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => {
            tracing::error!("reload refused, keeping the current configuration: {e}");
            return;
        }
    };
    let debug_on = file.debug.unwrap_or(settings.daemon.debug);
    let level = file
        .log_level
        .unwrap_or_else(|| settings.daemon.log_level.clone());
    if !config::LOG_LEVELS.contains(&level.as_str()) {
        tracing::error!(level, "reload refused: invalid log level");
        return;
    }
    logging.set(&level, debug_on);
    daemon.system.set_debug(debug_on);
    tracing::info!(debug = debug_on, level = %level, "configuration reloaded");
}

/// Tells systemd about our state when started with `Type=notify`.
fn notify_systemd(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let result = if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)
            .and_then(|addr| sock.send_to_addr(state.as_bytes(), &addr))
    } else {
        sock.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "systemd notification failed");
    }
}
