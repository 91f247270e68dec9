//! The shim process: parse `start`'s flags, detach from the daemon, bring
//! the container up, report `ready <pid> <shim pid>` (or `error <action>
//! <message>`) on stdout, then serve until the container has exited.

mod conn;
mod console;
mod detach;
mod exec;
mod lifecycle;
mod oom;
mod output;
mod procio;
mod requests;
mod runtime;
mod server;
mod start;
mod sys;

use std::ffi::OsString;
use std::path::PathBuf;

use berth_shim::config::ShimConfig;

pub fn main() -> i32 {
    let mut args = std::env::args_os().skip(1);
    match args.next().as_ref().and_then(|a| a.to_str()) {
        Some("start") => run_start(args.collect()),
        Some("--version") => {
            report(concat!("berth-shim ", env!("CARGO_PKG_VERSION"), "\n"));
            0
        }
        _ => {
            report(
                "usage: berth-shim start --id <id> --bundle <dir> --runtime <path> --runtime-root <dir> --state-dir <dir> --socket <path> [...]\n",
            );
            2
        }
    }
}

fn run_start(args: Vec<OsString>) -> i32 {
    let mut cfg = match ShimConfig::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            report_error("shim", &e);
            return 2;
        }
    };
    if let Err(e) = absolutize(&mut cfg) {
        report_error("shim", &format!("resolve paths: {e}"));
        return 2;
    }
    match detach::detach() {
        Ok(detach::Role::Launcher(code)) => return code,
        Ok(detach::Role::Shim) => {}
        Err(e) => {
            report_error("shim", &format!("cannot detach: {e}"));
            return 1;
        }
    }
    if let Err(e) = detach::prepare() {
        report_error("shim", &format!("prepare: {e}"));
        return 1;
    }
    let mut shim = match start::start(cfg) {
        Ok(s) => s,
        Err(e) => {
            report_error(e.action, &e.message);
            return 1;
        }
    };
    report(&format!("ready {} {}\n", shim.init_pid, std::process::id()));
    detach::release_stdio();
    // SAFETY: returns freed heap memory to the kernel; no other threads.
    unsafe { libc::malloc_trim(0) };
    detach::drop_startup_pages();
    shim.run();
    0
}

/// The shim changes its working directory to `/`.
fn absolutize(cfg: &mut ShimConfig) -> std::io::Result<()> {
    fn abs(p: &mut PathBuf) -> std::io::Result<()> {
        if p.is_relative() {
            *p = std::path::absolute(&*p)?;
        }
        Ok(())
    }
    abs(&mut cfg.bundle)?;
    abs(&mut cfg.runtime_root)?;
    abs(&mut cfg.state_dir)?;
    abs(&mut cfg.socket)?;
    if cfg.runtime.components().count() > 1 {
        abs(&mut cfg.runtime)?;
    }
    if let Some(l) = &mut cfg.log {
        abs(&mut l.path)?;
    }
    Ok(())
}

/// `error <action> <message>` on stdout, on one line.
pub fn report_error(action: &str, message: &str) {
    let msg = message.replace('\n', " ");
    report(&format!("error {action} {msg}\n"));
}

fn report(line: &str) {
    let mut b = line.as_bytes();
    while !b.is_empty() {
        match sys::write(1, b) {
            Ok(0) | Err(_) => return,
            Ok(n) => b = &b[n..],
        }
    }
}
