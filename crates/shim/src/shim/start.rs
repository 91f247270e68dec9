//! Bringing the container up: control socket, log, stdio (pipes, or a pty
//! received over the console socket), then `runtime run --detach` or
//! `runtime create` (+ `start`). Any failure removes the runtime's state
//! and the socket before it is reported.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use berth_shim::config::{ShimConfig, StartMode};
use berth_shim::logfile::LogSink;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollFlags};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::console::ConsoleSocket;
use super::procio::ProcIo;
use super::runtime::{Runtime, read_pid_file, spawn_error};
use super::server::{HOLD_TIMEOUT, Phase, Shim, Status, TOKEN_LISTENER, TOKEN_SIGNAL};
use super::{detach, oom, sys};

pub const PID_FILE: &str = "init.pid";
const CONSOLE_SOCKET: &str = "console.sock";

/// What went wrong, and in which step (`shim`, or the runtime command).
pub struct StartError {
    pub action: &'static str,
    pub message: String,
}

fn shim_error(message: String) -> StartError {
    StartError {
        action: "shim",
        message,
    }
}

pub fn start(cfg: ShimConfig) -> Result<Shim, StartError> {
    berth_fsutil::create_dir_all_mode(&cfg.state_dir, 0o700)
        .map_err(|e| shim_error(format!("create state dir {}: {e}", cfg.state_dir.display())))?;
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)
        .map_err(|e| shim_error(format!("epoll: {e}")))?;
    let sigfd = SignalFd::with_flags(
        &detach::loop_signals(),
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )
    .map_err(|e| shim_error(format!("signalfd: {e}")))?;
    let listener = bind_control(&cfg.socket)
        .map_err(|e| shim_error(format!("control socket {}: {e}", cfg.socket.display())))?;
    let rt = Runtime::new(&cfg);
    let launched = match launch(&cfg, &rt) {
        Ok(l) => l,
        Err(e) => {
            drop(listener);
            let _ = std::fs::remove_file(&cfg.socket);
            return Err(e);
        }
    };
    let held_until =
        (cfg.start_mode == StartMode::RunHeld).then(|| std::time::Instant::now() + HOLD_TIMEOUT);
    let shim = Shim {
        held_until,
        paused_outputs: Vec::new(),
        oom_file: cfg.cgroup_path.as_deref().and_then(oom::counter_file),
        status: if cfg.start_mode == StartMode::CreateOnly {
            Status::Created
        } else {
            Status::Running
        },
        cfg,
        rt,
        epoll,
        sigfd,
        listener: Some(listener),
        init_pid: launched.pid,
        init: launched.io,
        exit: None,
        exit_reported: false,
        phase: Phase::Live,
        execs: Vec::new(),
        next_exec: 1,
        conns: Default::default(),
        next_conn: 0,
        jobs: Vec::new(),
        unclaimed: Vec::new(),
        log: launched.log,
        log_failed: false,
        buf: Vec::new(),
        to_close: Vec::new(),
        done: false,
        runtime_deleted: false,
    };
    shim.ep_add(&shim.sigfd, TOKEN_SIGNAL, EpollFlags::EPOLLIN);
    if let Some(l) = &shim.listener {
        shim.ep_add(l, TOKEN_LISTENER, EpollFlags::EPOLLIN);
    }
    if shim.held_until.is_none() {
        shim.register_outputs(0, &shim.init);
    }
    Ok(shim)
}

/// Binds the control socket (mode 0600), replacing a stale one but never
/// a live shim's.
fn bind_control(path: &Path) -> io::Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another shim is serving this socket",
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    // SAFETY: umask only changes this process's file-creation mask; the
    // process is single-threaded.
    let old = unsafe { libc::umask(0o077) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A previous shim of the same container deletes the runtime's state just
/// after it reports the exit; a start that follows at once waits briefly
/// for that, then deletes the leftover itself.
fn await_previous_run(cfg: &ShimConfig, rt: &Runtime) {
    let state = cfg.runtime_root.join(&cfg.id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while state.exists() {
        if std::time::Instant::now() >= deadline {
            rt.force_delete();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

struct Launched {
    pid: i32,
    io: ProcIo,
    log: Option<LogSink>,
}

fn launch(cfg: &ShimConfig, rt: &Runtime) -> Result<Launched, StartError> {
    let log = match &cfg.log {
        Some(l) => Some(
            LogSink::open(l.clone())
                .map_err(|e| shim_error(format!("open log {}: {e}", l.path.display())))?,
        ),
        None => None,
    };
    let pid_file = cfg.state_dir.join(PID_FILE);
    let _ = std::fs::remove_file(&pid_file);
    await_previous_run(cfg, rt);
    let action = match cfg.start_mode {
        StartMode::Run | StartMode::RunHeld => "run",
        StartMode::CreateStart | StartMode::CreateOnly => "create",
    };
    let mut cmd = rt.command(action);
    if matches!(cfg.start_mode, StartMode::Run | StartMode::RunHeld) {
        cmd.arg("--detach");
    }
    cmd.arg("--bundle")
        .arg(&cfg.bundle)
        .arg("--pid-file")
        .arg(&pid_file);
    let (mut io, console, outcome) = if cfg.tty {
        let console = ConsoleSocket::bind(cfg.state_dir.join(CONSOLE_SOCKET))
            .map_err(|e| shim_error(format!("console socket: {e}")))?;
        cmd.arg("--console-socket").arg(console.path()).arg(&cfg.id);
        let outcome = rt.run(&mut cmd);
        (ProcIo::default(), Some(console), outcome)
    } else {
        let (io, child) =
            ProcIo::pipes(cfg.stdin, true, true).map_err(|e| shim_error(format!("pipes: {e}")))?;
        cmd.stdin(child.stdin)
            .stdout(child.stdout)
            .stderr(child.stderr)
            .arg(&cfg.id);
        let mark = rt.log_mark();
        let status = cmd.status();
        // The container's ends of the pipes now live only in the container.
        drop(cmd);
        let outcome = match status {
            Ok(s) if s.success() => Ok(()),
            // The runtime's own stderr went into the container's stderr pipe.
            Ok(s) => Err(rt.failure(mark, &read_available(io.err.as_ref()), s)),
            Err(e) => Err(spawn_error(&cfg.runtime, &e)),
        };
        (io, None, outcome)
    };
    let fail = |action: &'static str, message: String| {
        rt.force_delete();
        StartError { action, message }
    };
    outcome.map_err(|m| fail(action, m))?;
    let pid = read_pid_file(&pid_file).map_err(|m| fail("shim", m))?;
    if let Some(console) = console {
        let master = console
            .receive()
            .map_err(|e| fail("shim", format!("receive console: {e}")))?;
        io = ProcIo::tty(master, cfg.stdin).map_err(|e| fail("shim", format!("console: {e}")))?;
    }
    if cfg.start_mode == StartMode::CreateStart {
        let mut c = rt.command("start");
        c.arg(&cfg.id);
        rt.run(&mut c).map_err(|m| fail("start", m))?;
    }
    Ok(Launched { pid, io, log })
}

/// What can be read from a non-blocking descriptor right now (≤ 64 KiB).
fn read_available(fd: Option<&std::os::fd::OwnedFd>) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(fd) = fd else {
        return out;
    };
    let mut chunk = [0u8; 4096];
    while out.len() < 64 << 10 {
        match sys::read(fd.as_raw_fd(), &mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    out
}
