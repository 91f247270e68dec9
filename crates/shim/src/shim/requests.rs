//! Handling the frames clients send: requests in request mode, stdin in
//! streams (see the protocol's module documentation).

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};

use berth_shim::jsonstr::push_json_string;
use berth_shim::protocol::{self, ErrorCode, KillRequest, ResizeRequest, parse_frame};

use super::conn::Mode;
use super::runtime::spawn_error;
use super::server::{Job, JobKind, Shim, Status};
use super::sys;

impl Shim {
    /// Handles the complete frames a connection has sent.
    pub fn process_frames(&mut self, key: u64) {
        let inbuf = match self.conns.get_mut(&key) {
            Some(c) if !c.busy && !c.inbuf.is_empty() => std::mem::take(&mut c.inbuf),
            _ => return,
        };
        let mut pos = 0;
        while self.conns.get(&key).is_some_and(|c| !c.busy && !c.broken) {
            match parse_frame(&inbuf[pos..]) {
                Ok(Some(f)) => {
                    let (kind, start, end) = (f.kind, pos + f.start, pos + f.end);
                    pos = end;
                    self.handle_frame(key, kind, &inbuf[start..end]);
                }
                Ok(None) => break,
                Err(msg) => {
                    pos = inbuf.len();
                    if let Some(c) = self.conns.get_mut(&key) {
                        c.send_error(ErrorCode::Invalid, &msg);
                        c.close_when_flushed = true;
                        c.read_eof = true;
                    }
                    break;
                }
            }
        }
        if let Some(c) = self.conns.get_mut(&key) {
            let mut rest = inbuf;
            rest.drain(..pos);
            rest.extend_from_slice(&c.inbuf);
            c.inbuf = rest;
        }
        self.sync_conn(key);
    }

    fn handle_frame(&mut self, key: u64, kind: u8, payload: &[u8]) {
        let Some(mode) = self.conns.get(&key).map(|c| c.mode) else {
            return;
        };
        match (kind, mode) {
            (protocol::KILL, _) => self.req_kill(key, payload),
            (protocol::RESIZE, _) => self.req_resize(key, payload),
            (protocol::CLOSE_STDIN, _) => self.req_close_stdin(key, payload),
            (protocol::STATE, Mode::Request) => {
                let json = self.state_json();
                self.reply(key, protocol::OK, &json);
            }
            (protocol::WAIT, Mode::Request) => {
                if self.exit_reported {
                    let json = self.exit.as_ref().map(|e| e.to_json()).unwrap_or_default();
                    self.reply(key, protocol::EXIT, &json);
                } else if let Some(c) = self.conns.get_mut(&key) {
                    c.mode = Mode::Waiting;
                }
            }
            (protocol::START, Mode::Request) => self.req_start(key),
            (protocol::ATTACH, Mode::Request) => self.req_attach(key, payload),
            (protocol::EXEC, Mode::Request) => self.req_exec(key, payload),
            (protocol::STDIN, Mode::Attach { stdin, .. }) => {
                if stdin && !self.init.stdin_close {
                    self.queue_stdin(0, payload, key);
                }
            }
            (
                protocol::STDIN_EOF,
                Mode::Attach {
                    stdin, stdin_ended, ..
                },
            ) => {
                if stdin && !stdin_ended {
                    if let Some(c) = self.conns.get_mut(&key)
                        && let Mode::Attach { stdin_ended, .. } = &mut c.mode
                    {
                        *stdin_ended = true;
                    }
                    self.attach_stdin_ended();
                }
            }
            (
                protocol::STDIN,
                Mode::Exec {
                    exec_id,
                    stdin: true,
                },
            ) => {
                self.queue_stdin(exec_id, payload, key);
            }
            (protocol::STDIN_EOF, Mode::Exec { exec_id, .. }) => self.close_stdin(exec_id),
            (protocol::STDIN | protocol::STDIN_EOF, _) => {}
            _ => {
                if let Some(c) = self.conns.get_mut(&key) {
                    c.send_error(
                        ErrorCode::Invalid,
                        &format!("unexpected request {:?}", char::from(kind)),
                    );
                    c.close_when_flushed = true;
                    c.read_eof = true;
                }
            }
        }
    }

    pub fn reply(&mut self, key: u64, kind: u8, payload: &[u8]) {
        if let Some(c) = self.conns.get_mut(&key) {
            c.send(kind, payload);
        }
    }

    pub fn reply_error(&mut self, key: u64, code: ErrorCode, msg: &str) {
        if let Some(c) = self.conns.get_mut(&key) {
            c.send_error(code, msg);
        }
    }

    fn state_json(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(160);
        v.extend_from_slice(b"{\"version\":");
        v.extend_from_slice(protocol::VERSION.to_string().as_bytes());
        v.extend_from_slice(b",\"id\":");
        push_json_string(&mut v, self.cfg.id.as_bytes());
        v.extend_from_slice(
            format!(
                ",\"pid\":{},\"shim_pid\":{}",
                self.init_pid,
                std::process::id()
            )
            .as_bytes(),
        );
        v.extend_from_slice(b",\"state_dir\":");
        push_json_string(&mut v, self.cfg.state_dir.as_os_str().as_encoded_bytes());
        v.extend_from_slice(match self.status {
            Status::Created => b",\"status\":\"created\"",
            Status::Running => b",\"status\":\"running\"",
            Status::Exited => b",\"status\":\"exited\"",
        });
        v.extend_from_slice(b",\"exit\":");
        match &self.exit {
            Some(e) => v.extend_from_slice(&e.to_json()),
            None => v.extend_from_slice(b"null"),
        }
        v.push(b'}');
        v
    }

    /// Starts a runtime command in the background on behalf of `key`.
    pub fn spawn_job(
        &mut self,
        cmd: &mut std::process::Command,
        key: u64,
        kind: JobKind,
    ) -> Result<(), String> {
        let log_mark = self.rt.log_mark();
        let child = cmd
            .spawn()
            .map_err(|e| spawn_error(std::path::Path::new(cmd.get_program()), &e))?;
        self.jobs.push(Job {
            pid: child.id() as i32,
            log_mark,
            kind,
        });
        if let Some(c) = self.conns.get_mut(&key) {
            c.busy = true;
        }
        Ok(())
    }

    /// A background runtime command finished.
    pub fn job_done(&mut self, job: Job, status: i32) {
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        let failure = |s: &Shim| {
            s.rt.failure(job.log_mark, b"", ExitStatus::from_raw(status))
        };
        let key = match job.kind {
            JobKind::KillAll { conn } => {
                if ok {
                    self.reply(conn, protocol::OK, &[]);
                } else {
                    let msg = format!("kill\n{}", failure(self));
                    self.reply_error(conn, ErrorCode::Runtime, &msg);
                }
                conn
            }
            JobKind::Start { conn } => {
                if ok {
                    self.status = Status::Running;
                    self.reply(conn, protocol::OK, &[]);
                } else {
                    let msg = format!("start\n{}", failure(self));
                    self.reply_error(conn, ErrorCode::Runtime, &msg);
                }
                conn
            }
            JobKind::Exec { exec_id, conn } => {
                let err = (!ok).then(|| failure(self));
                self.exec_started(exec_id, conn, err);
                conn
            }
        };
        if let Some(c) = self.conns.get_mut(&key) {
            c.busy = false;
        }
        self.process_frames(key);
        self.sync_conn(key);
    }

    fn req_kill(&mut self, key: u64, p: &[u8]) {
        let Some(req) = KillRequest::decode(p) else {
            return self.reply_error(key, ErrorCode::Invalid, "malformed kill request");
        };
        let sig = req.signal as i32;
        if !(1..=64).contains(&sig) {
            return self.reply_error(
                key,
                ErrorCode::Invalid,
                &format!("invalid signal {}", req.signal),
            );
        }
        let pid = if req.target == 0 {
            if self.exit.is_some() || self.init_pid <= 0 {
                0
            } else {
                self.init_pid
            }
        } else {
            self.execs
                .iter()
                .find(|e| e.id == req.target && e.pid > 0 && e.exit_code.is_none())
                .map_or(0, |e| e.pid)
        };
        if pid == 0 {
            return self.reply_error(key, ErrorCode::NotRunning, "not running");
        }
        if req.all && req.target == 0 {
            let mut cmd = self.rt.command("kill");
            cmd.arg("--all")
                .arg(&self.rt.id)
                .arg(sig.to_string())
                .stderr(Stdio::null());
            if let Err(msg) = self.spawn_job(&mut cmd, key, JobKind::KillAll { conn: key }) {
                self.reply_error(key, ErrorCode::Runtime, &format!("kill\n{msg}"));
            }
            return;
        }
        // The shim is the parent (or subreaper) of `pid` and has not reaped
        // it, so the pid cannot have been reused.
        match sys::kill(pid, sig) {
            Ok(()) => self.reply(key, protocol::OK, &[]),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                self.reply_error(key, ErrorCode::NotRunning, "not running")
            }
            Err(e) => self.reply_error(key, ErrorCode::Internal, &format!("kill: {e}")),
        }
    }

    fn req_resize(&mut self, key: u64, p: &[u8]) {
        let Some(req) = ResizeRequest::decode(p) else {
            return self.reply_error(key, ErrorCode::Invalid, "malformed resize request");
        };
        let result = match self.proc_io(req.target) {
            None => Err((ErrorCode::NotRunning, "not running".to_string())),
            Some(io) if !io.tty => Err((ErrorCode::Invalid, "the process has no TTY".to_string())),
            Some(io) => match &io.out {
                None => Err((ErrorCode::NotRunning, "not running".to_string())),
                Some(master) => sys::set_winsize(master, req.rows, req.cols)
                    .map_err(|e| (ErrorCode::Internal, format!("resize: {e}"))),
            },
        };
        match result {
            Ok(()) => self.reply(key, protocol::OK, &[]),
            Err((code, msg)) => self.reply_error(key, code, &msg),
        }
    }

    fn req_close_stdin(&mut self, key: u64, p: &[u8]) {
        let Some(target) = protocol::decode_target(p) else {
            return self.reply_error(key, ErrorCode::Invalid, "malformed close-stdin request");
        };
        if self.proc_io(target).is_none() {
            return self.reply_error(key, ErrorCode::NotRunning, "not running");
        }
        self.close_stdin(target);
        self.reply(key, protocol::OK, &[]);
    }

    fn req_start(&mut self, key: u64) {
        if self.held_until.is_some() {
            self.release_output();
            return self.reply(key, protocol::OK, &[]);
        }
        if self.status != Status::Created {
            return self.reply_error(
                key,
                ErrorCode::Invalid,
                "container is not in the created state",
            );
        }
        let mut cmd = self.rt.command("start");
        cmd.arg(&self.rt.id).stderr(Stdio::null());
        if let Err(msg) = self.spawn_job(&mut cmd, key, JobKind::Start { conn: key }) {
            self.reply_error(key, ErrorCode::Runtime, &format!("start\n{msg}"));
        }
    }

    fn req_attach(&mut self, key: u64, p: &[u8]) {
        let flags = p.first().copied().unwrap_or(0);
        let reported = self.exit_reported;
        let exit = self.exit.as_ref().map(|e| e.to_json());
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        c.make_stream();
        c.lossless = flags & protocol::FLAG_LOSSLESS != 0;
        c.mode = Mode::Attach {
            stdin: flags & protocol::FLAG_STDIN != 0,
            stdout: flags & protocol::FLAG_STDOUT != 0,
            stderr: flags & protocol::FLAG_STDERR != 0,
            stdin_ended: false,
        };
        c.send(protocol::OK, &[]);
        if reported {
            c.send(protocol::EXIT, &exit.unwrap_or_default());
            c.close_when_flushed = true;
        }
    }

    /// A client half-closed its connection.
    pub fn conn_read_eof(&mut self, key: u64) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        let idle = !c.busy && !c.has_output();
        match &mut c.mode {
            Mode::Attach {
                stdin: true,
                stdin_ended,
                ..
            } if !*stdin_ended => {
                *stdin_ended = true;
                self.attach_stdin_ended();
            }
            Mode::Exec {
                exec_id,
                stdin: true,
            } => {
                let id = *exec_id;
                self.close_stdin(id);
            }
            Mode::Request if idle => self.to_close.push(key),
            Mode::Request => c.close_when_flushed = true,
            _ => {}
        }
    }

    /// An attached client's stdin ended: with stdin-once, so does the
    /// container's.
    pub fn attach_stdin_ended(&mut self) {
        if self.cfg.stdin_once {
            self.close_stdin(0);
        }
    }
}
