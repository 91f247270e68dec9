//! The shim's state and its event loop: one epoll set over the signalfd
//! (SIGCHLD), the control socket, every client connection and the stdio of
//! every process the shim owns. Nothing blocks in the loop except the
//! runtime's `delete` once the container has exited.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_shim::config::ShimConfig;
use berth_shim::exit::ExitInfo;
use berth_shim::logfile::LogSink;
use nix::sys::epoll::{Epoll, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::signalfd::SignalFd;

use super::conn::Conn;
use super::console::ConsoleSocket;
use super::procio::ProcIo;
use super::runtime::Runtime;
use super::sys;

pub const TOKEN_SIGNAL: u64 = 0;
pub const TOKEN_LISTENER: u64 = 1;
const PROC_BIT: u64 = 1 << 62;
const CONN_BIT: u64 = 1 << 61;

pub fn proc_token(id: u32, which: u64) -> u64 {
    PROC_BIT | (u64::from(id) << 2) | which
}

pub fn conn_token(key: u64) -> u64 {
    CONN_BIT | key
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Exited,
}

/// Where the shim is in its wind-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Live,
    /// Init reaped and recorded: reading the rest of its output.
    Draining(Instant),
    /// Exit reported: flushing clients and exec exits before leaving.
    Finishing(Instant),
}

/// An exec process.
pub struct Exec {
    pub id: u32,
    /// 0 until the runtime has started it.
    pub pid: i32,
    pub io: ProcIo,
    pub conn: Option<u64>,
    pub exit_code: Option<i32>,
    pub drain_until: Option<Instant>,
    pub console: Option<ConsoleSocket>,
    pub stdin_wanted: bool,
}

/// A runtime command running in the background.
pub struct Job {
    pub pid: i32,
    pub log_mark: u64,
    pub kind: JobKind,
}

pub enum JobKind {
    KillAll { conn: u64 },
    Start { conn: u64 },
    Exec { exec_id: u32, conn: u64 },
}

pub struct Shim {
    pub cfg: ShimConfig,
    pub rt: Runtime,
    pub epoll: Epoll,
    pub sigfd: SignalFd,
    pub listener: Option<UnixListener>,
    pub status: Status,
    pub init_pid: i32,
    pub init: ProcIo,
    pub exit: Option<ExitInfo>,
    pub exit_reported: bool,
    pub phase: Phase,
    pub execs: Vec<Exec>,
    pub next_exec: u32,
    pub conns: BTreeMap<u64, Conn>,
    pub next_conn: u64,
    pub jobs: Vec<Job>,
    /// Children reaped before the shim knew whose they were.
    pub unclaimed: Vec<(i32, i32)>,
    pub log: Option<LogSink>,
    pub log_failed: bool,
    pub oom_file: Option<PathBuf>,
    pub buf: Vec<u8>,
    pub to_close: Vec<u64>,
    pub done: bool,
    /// The runtime's state of the exited container was deleted.
    pub runtime_deleted: bool,
    /// Start mode `run-held`: the init's output is not read (and its exit
    /// not reported) until `start`, or until this deadline if the daemon
    /// never sends it.
    pub held_until: Option<Instant>,
    /// Processes whose output is not read while a lossless client of it
    /// is behind (their descriptors are out of the epoll set).
    pub paused_outputs: Vec<u32>,
}

/// How long a held container's output waits for the daemon's `start`.
pub const HOLD_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait for a dead process's output to reach EOF.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long to wait for EOF before `runtime delete --force` kills what is
/// left (processes outside the container's pid namespace keep the output
/// open; with a private pid namespace EOF comes at once).
pub const QUICK_DRAIN: Duration = Duration::from_millis(100);
/// How long to let slow clients take their last frames.
pub const FINISH_TIMEOUT: Duration = Duration::from_secs(5);
pub const READ_BUF: usize = 64 << 10;

impl Shim {
    pub fn ep_add(&self, fd: &impl AsFd, token: u64, events: EpollFlags) {
        if let Err(e) = self.epoll.add(fd, EpollEvent::new(events, token)) {
            self.warn(&format!("epoll add: {e}"));
        }
    }

    pub fn ep_del(&self, fd: &impl AsFd) {
        let _ = self.epoll.delete(fd);
    }

    /// [`Self::ep_add`] for a descriptor owned elsewhere in `self`.
    pub fn ep_add_raw(&self, fd: RawFd, token: u64, events: EpollFlags) {
        // SAFETY: callers pass a descriptor that stays open for the call.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        self.ep_add(&fd, token, events);
    }

    pub fn ep_del_raw(&self, fd: RawFd) {
        // SAFETY: as for `ep_add_raw`.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        self.ep_del(&fd);
    }

    /// Appends a line to `<state dir>/shim.log` (opened only when needed).
    pub fn warn(&self, msg: &str) {
        use std::io::Write;
        let path = self.cfg.state_dir.join("shim.log");
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let now =
                berth_shim::timefmt::format_rfc3339_nano(berth_shim::timefmt::now_unix_nanos());
            let _ = writeln!(f, "{now} {msg}");
        }
    }

    pub fn proc_io_ref(&self, id: u32) -> Option<&ProcIo> {
        if id == 0 {
            return Some(&self.init);
        }
        self.execs.iter().find(|e| e.id == id).map(|e| &e.io)
    }

    pub fn proc_io(&mut self, id: u32) -> Option<&mut ProcIo> {
        if id == 0 {
            return Some(&mut self.init);
        }
        self.execs
            .iter_mut()
            .find(|e| e.id == id)
            .map(|e| &mut e.io)
    }

    pub fn exec_mut(&mut self, id: u32) -> Option<&mut Exec> {
        self.execs.iter_mut().find(|e| e.id == id)
    }

    /// Registers a process's output descriptors.
    pub fn register_outputs(&self, id: u32, io: &ProcIo) {
        for which in [super::procio::OUT, super::procio::ERR] {
            if let Some(fd) = io.fd(which) {
                self.ep_add(fd, proc_token(id, which), EpollFlags::EPOLLIN);
            }
        }
    }

    /// Takes a process's output descriptors out of the loop (kept open).
    pub fn unregister_outputs(&self, io: &ProcIo) {
        for which in [super::procio::OUT, super::procio::ERR] {
            if let Some(fd) = io.fd(which) {
                self.ep_del(fd);
            }
        }
    }

    /// Removes one of a process's descriptors from the loop and closes it.
    pub fn close_proc_fd(&mut self, id: u32, which: u64) -> Option<()> {
        let fd: OwnedFd = self.proc_io(id)?.take(which)?;
        self.ep_del(&fd);
        Some(())
    }

    pub fn run(&mut self) {
        let mut events = [EpollEvent::empty(); 32];
        while !self.done {
            let timeout = self.timeout();
            let n = match self.epoll.wait(&mut events, timeout) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => 0,
                Err(e) => {
                    self.warn(&format!("epoll wait: {e}"));
                    break;
                }
            };
            for ev in &events[..n] {
                self.dispatch(ev.data(), ev.events());
            }
            self.resume_outputs();
            loop {
                self.close_pending();
                if self.done || !self.tick() {
                    break;
                }
            }
        }
        self.shutdown();
    }

    fn timeout(&self) -> EpollTimeout {
        let mut next: Option<Instant> = match self.phase {
            Phase::Live => self.held_until,
            Phase::Draining(t) | Phase::Finishing(t) => Some(t),
        };
        for e in &self.execs {
            if let Some(t) = e.drain_until {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        match next {
            None => EpollTimeout::NONE,
            Some(t) => {
                let ms = t.saturating_duration_since(Instant::now()).as_millis() + 1;
                EpollTimeout::from(ms.min(10_000) as u16)
            }
        }
    }

    fn dispatch(&mut self, token: u64, events: EpollFlags) {
        if token == TOKEN_SIGNAL {
            self.on_signal();
        } else if token == TOKEN_LISTENER {
            self.accept();
        } else if token & PROC_BIT != 0 {
            let id = ((token & !PROC_BIT) >> 2) as u32;
            let which = token & 3;
            if which == super::procio::IN {
                self.write_stdin(id);
            } else {
                self.pump(id, which);
            }
        } else if token & CONN_BIT != 0 {
            self.on_conn_event(token & !CONN_BIT, events);
        }
    }

    fn on_signal(&mut self) {
        while let Ok(Some(_)) = self.sigfd.read_signal() {}
        let mut reaped = Vec::new();
        while let Some(r) = sys::reap_any() {
            reaped.push(r);
        }
        // Runtime commands first: an exec's pid becomes known when its
        // `runtime exec` finishes, possibly in the same batch as its exit.
        let mut rest = Vec::with_capacity(reaped.len());
        for (pid, status) in reaped {
            if let Some(i) = self.jobs.iter().position(|j| j.pid == pid) {
                let job = self.jobs.swap_remove(i);
                self.job_done(job, status);
            } else {
                rest.push((pid, status));
            }
        }
        for (pid, status) in rest {
            self.child_exited(pid, status);
        }
    }

    /// A reaped process that is not a runtime command.
    pub fn child_exited(&mut self, pid: i32, status: i32) {
        if pid == self.init_pid && self.exit.is_none() {
            self.init_exited(status);
        } else if let Some(id) = self
            .execs
            .iter()
            .find(|e| e.pid == pid && e.exit_code.is_none())
            .map(|e| e.id)
        {
            self.exec_exited(id, status);
        } else {
            if self.unclaimed.len() >= 64 {
                self.unclaimed.remove(0);
            }
            self.unclaimed.push((pid, status));
        }
    }

    fn accept(&mut self) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((sock, _)) => {
                    if sock.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let key = self.next_conn;
                    self.next_conn += 1;
                    let mut conn = Conn::new(sock);
                    conn.interest = libc::EPOLLIN as u32;
                    self.ep_add(&conn.sock, conn_token(key), EpollFlags::EPOLLIN);
                    self.conns.insert(key, conn);
                }
                Err(e) if sys::would_block(&e) => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.warn(&format!("accept: {e}"));
                    return;
                }
            }
        }
    }

    fn on_conn_event(&mut self, key: u64, events: EpollFlags) {
        let readable =
            events.intersects(EpollFlags::EPOLLIN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR);
        if events.contains(EpollFlags::EPOLLOUT)
            && let Some(c) = self.conns.get_mut(&key)
        {
            c.flush();
        }
        if readable {
            if let Some(c) = self.conns.get_mut(&key)
                && !c.busy
                && !c.paused
            {
                c.fill();
            }
            self.process_frames(key);
            if self.conns.get(&key).is_some_and(|c| c.read_eof) {
                self.conn_read_eof(key);
            }
        }
        if events.intersects(EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR) {
            let mut gone = true;
            if let Some(c) = self.conns.get_mut(&key) {
                // Still owed an answer to a running runtime command?
                gone = !c.busy;
            }
            if gone {
                self.to_close.push(key);
            }
        }
        self.sync_conn(key);
    }

    /// Brings a connection's epoll interest up to date, or schedules its
    /// closing.
    pub fn sync_conn(&mut self, key: u64) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        if c.broken || (c.close_when_flushed && !c.has_output() && !c.busy) {
            self.to_close.push(key);
            return;
        }
        let want = c.wanted_interest();
        if want != c.interest {
            c.interest = want;
            let flags = EpollFlags::from_bits_truncate(want as i32);
            let mut ev = EpollEvent::new(flags, conn_token(key));
            let _ = self.epoll.modify(&c.sock, &mut ev);
        }
    }

    fn close_pending(&mut self) {
        while let Some(key) = self.to_close.pop() {
            self.close_conn(key);
        }
    }

    fn close_conn(&mut self, key: u64) {
        let Some(c) = self.conns.remove(&key) else {
            return;
        };
        self.ep_del(&c.sock);
        match c.mode {
            super::conn::Mode::Attach {
                stdin: true,
                stdin_ended: false,
                ..
            } => self.attach_stdin_ended(),
            super::conn::Mode::Exec { exec_id, .. } => {
                if let Some(e) = self.exec_mut(exec_id) {
                    e.conn = None;
                }
            }
            _ => {}
        }
    }

    /// Deadlines and wind-down steps, checked after every wake-up; true
    /// when something moved on (so the checks run again).
    fn tick(&mut self) -> bool {
        let now = Instant::now();
        let finished: Vec<u32> = self
            .execs
            .iter()
            .filter(|e| {
                e.exit_code.is_some()
                    && (e.io.outputs_closed()
                        || (e.drain_until.is_some_and(|t| now >= t)
                            && !self.paused_outputs.contains(&e.id)))
            })
            .map(|e| e.id)
            .collect();
        let mut moved = !finished.is_empty();
        for id in finished {
            self.exec_finished(id);
        }
        match self.phase {
            Phase::Live => {
                if self.held_until.is_some_and(|t| now >= t) {
                    self.warn("no start request: releasing the container's output");
                    self.release_output();
                    moved = true;
                }
            }
            Phase::Draining(until) => {
                if self.init.outputs_closed() {
                    self.report_exit();
                    moved = true;
                } else if self.paused_outputs.contains(&0) {
                    // A lossless client is still reading: no deadline.
                } else if now >= until && !self.runtime_deleted {
                    self.delete_runtime_state();
                    self.phase = Phase::Draining(now + DRAIN_TIMEOUT);
                    moved = true;
                } else if now >= until {
                    self.report_exit();
                    moved = true;
                }
            }
            Phase::Finishing(until) => {
                let flushed = self.conns.values().all(|c| !c.has_output());
                if (flushed && self.execs.is_empty() && self.jobs.is_empty()) || now >= until {
                    self.done = true;
                    moved = true;
                }
            }
        }
        moved
    }

    /// `runtime delete --force`, once.
    pub fn delete_runtime_state(&mut self) {
        if !self.runtime_deleted {
            self.runtime_deleted = true;
            self.rt.force_delete();
        }
    }

    fn shutdown(&mut self) {
        // After the exit was reported: waiters do not wait for it.
        if self.exit.is_some() {
            self.delete_runtime_state();
        }
        if self.listener.take().is_some() {
            let _ = std::fs::remove_file(&self.cfg.socket);
        }
        for key in self.conns.keys().copied().collect::<Vec<_>>() {
            self.close_conn(key);
        }
        let _ = std::fs::remove_file(self.cfg.state_dir.join(super::start::PID_FILE));
    }
}
