//! Leaving the daemon: fork, new session, fork again (so the shim is
//! nobody's child but init's and never a session leader), then become a
//! child subreaper, drop inherited descriptors and block the signals the
//! event loop reads from a signalfd.

use std::io;
use std::os::fd::AsRawFd;

use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::unistd::{ForkResult, fork, setsid};

/// Which process returns from [`detach`].
pub enum Role {
    /// The process the daemon started: exit with this code now.
    Launcher(i32),
    /// The detached shim.
    Shim,
}

/// Double-forks. Must be called while the process has a single thread.
pub fn detach() -> io::Result<Role> {
    // SAFETY: the process is single-threaded here (no threads are ever
    // started), so the child may run arbitrary code after fork.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => {
            let code = match nix::sys::wait::waitpid(child, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => c,
                _ => 1,
            };
            Ok(Role::Launcher(code))
        }
        ForkResult::Child => {
            let result = setsid().map_err(io::Error::from).and_then(|_| {
                // SAFETY: as above, still single-threaded.
                unsafe { fork() }.map_err(io::Error::from)
            });
            match result {
                Ok(ForkResult::Child) => Ok(Role::Shim),
                Ok(ForkResult::Parent { .. }) => {
                    // SAFETY: leaving the middle process without running
                    // destructors or atexit handlers shared with the shim.
                    unsafe { libc::_exit(0) }
                }
                Err(e) => {
                    crate::shim::report_error("shim", &format!("cannot detach: {e}"));
                    // SAFETY: as above.
                    unsafe { libc::_exit(1) }
                }
            }
        }
    }
}

/// The signals the event loop takes from its signalfd; they are blocked
/// (children get an empty mask back: std's spawn resets it).
pub fn loop_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    // Blocked rather than ignored: an ignored disposition would be
    // inherited by the runtime and the container.
    set.add(Signal::SIGHUP);
    set
}

/// Subreaper, closed inherited descriptors (except stdout, which carries
/// the start report, and stderr), stdin from /dev/null, `/` as working
/// directory, blocked loop signals.
pub fn prepare() -> io::Result<()> {
    // SAFETY: plain prctl.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    close_inherited();
    let null = super::sys::dev_null()?;
    nix::unistd::dup2_stdin(&null)?;
    drop(null);
    std::env::set_current_dir("/")?;
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&loop_signals()), None)?;
    Ok(())
}

fn close_inherited() {
    // SAFETY: closes descriptors 3 and up; nothing in this process owns
    // them yet.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if r == 0 {
        return;
    }
    let fds: Vec<i32> = match std::fs::read_dir("/proc/self/fd") {
        Ok(d) => d
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd > 2)
            .collect(),
        Err(_) => (3..1024).collect(),
    };
    for fd in fds {
        // SAFETY: as above.
        unsafe { libc::close(fd) };
    }
}

/// Points stdout and stderr at /dev/null once the start report is sent.
pub fn release_stdio() {
    if let Ok(null) = super::sys::dev_null() {
        for target in [1, 2] {
            // SAFETY: dup2 onto the standard descriptors.
            unsafe { libc::dup2(null.as_raw_fd(), target) };
        }
    }
}

/// Drops the pages of clean, read-only file mappings (program and library
/// code and constants) from this process's page tables. Start-up code is
/// then no longer counted against the shim; what the event loop needs
/// faults back in from the page cache. Mappings with dirty pages (RELRO
/// data holding relocations) are left alone.
pub fn drop_startup_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut candidate: Option<(usize, usize)> = None;
    let mut dirty = false;
    let flush = |c: Option<(usize, usize)>, dirty: bool| {
        if let (Some((a, b)), false) = (c, dirty) {
            // SAFETY: a clean, read-only, file-backed mapping of this
            // process: MADV_DONTNEED only drops page-table entries and the
            // next access reloads the same bytes from the file.
            unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
        }
    };
    for line in smaps.lines() {
        let mut it = line.split_whitespace();
        let Some(first) = it.next() else {
            continue;
        };
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            flush(candidate.take(), dirty);
            dirty = false;
            let perms = it.next().unwrap_or("");
            let path = it.nth(3).unwrap_or("");
            if path.starts_with('/') && perms.starts_with("r-") && perms.ends_with('p') {
                candidate = Some((a, b));
            }
            continue;
        }
        if matches!(first, "Private_Dirty:" | "Shared_Dirty:" | "Anonymous:")
            && it.next().is_some_and(|v| v != "0")
        {
            dirty = true;
        }
    }
    flush(candidate, dirty);
}
