//! Exec processes: `runtime exec --detach` in the background, then the
//! process's stdio streamed over the requesting connection until it exits.

use std::process::Stdio;
use std::time::Instant;

use berth_shim::exit::{ExitInfo, exit_code_from_wait_status};
use berth_shim::protocol::{self, ErrorCode, FLAG_STDERR, FLAG_STDIN, FLAG_STDOUT, FLAG_TTY};
use berth_shim::timefmt;

use super::conn::Mode;
use super::console::ConsoleSocket;
use super::procio::{ERR, IN, OUT, ProcIo};
use super::runtime::read_pid_file;
use super::server::{DRAIN_TIMEOUT, Exec, JobKind, Shim, Status};

impl Shim {
    fn exec_files(&self, id: u32) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = &self.cfg.state_dir;
        (
            dir.join(format!("exec-{id}.json")),
            dir.join(format!("exec-{id}.pid")),
        )
    }

    pub fn req_exec(&mut self, key: u64, p: &[u8]) {
        if self.status != Status::Running || self.exit.is_some() {
            return self.reply_error(key, ErrorCode::NotRunning, "container is not running");
        }
        let Some((&flags, json)) = p.split_first() else {
            return self.reply_error(key, ErrorCode::Invalid, "malformed exec request");
        };
        if let Err(msg) = self.spawn_exec(key, flags, json) {
            self.reply_error(key, ErrorCode::Runtime, &format!("exec\n{msg}"));
        }
    }

    fn spawn_exec(&mut self, key: u64, flags: u8, json: &[u8]) -> Result<(), String> {
        let id = self.next_exec;
        self.next_exec += 1;
        let (process, pid_file) = self.exec_files(id);
        std::fs::write(&process, json).map_err(|e| format!("write {}: {e}", process.display()))?;
        let _ = std::fs::remove_file(&pid_file);
        let stdin = flags & FLAG_STDIN != 0;
        let mut cmd = self.rt.command("exec");
        cmd.arg("--detach")
            .arg("--process")
            .arg(&process)
            .arg("--pid-file")
            .arg(&pid_file);
        let setup = if flags & FLAG_TTY != 0 {
            ConsoleSocket::bind(self.cfg.state_dir.join(format!("exec-{id}.sock"))).map(|console| {
                cmd.arg("--console-socket")
                    .arg(console.path())
                    .stderr(Stdio::null());
                (ProcIo::default(), Some(console))
            })
        } else {
            ProcIo::pipes(stdin, flags & FLAG_STDOUT != 0, flags & FLAG_STDERR != 0).map(
                |(io, child)| {
                    cmd.stdin(child.stdin)
                        .stdout(child.stdout)
                        .stderr(child.stderr);
                    (io, None)
                },
            )
        };
        let (io, console) = match setup {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_file(&process);
                return Err(format!("set up stdio: {e}"));
            }
        };
        cmd.arg(&self.rt.id);
        let spawned = self.spawn_job(
            &mut cmd,
            key,
            JobKind::Exec {
                exec_id: id,
                conn: key,
            },
        );
        // Closes the process's ends of the pipes in the shim.
        drop(cmd);
        if let Err(msg) = spawned {
            let _ = std::fs::remove_file(&process);
            return Err(msg);
        }
        self.execs.push(Exec {
            id,
            pid: 0,
            io,
            conn: Some(key),
            exit_code: None,
            drain_until: None,
            console,
            stdin_wanted: stdin,
        });
        Ok(())
    }

    /// `runtime exec` finished: answer the client and start streaming, or
    /// report the runtime's error.
    pub fn exec_started(&mut self, id: u32, key: u64, err: Option<String>) {
        let result = match err {
            Some(m) => Err(m),
            None => self.adopt_exec(id),
        };
        let (process, pid_file) = self.exec_files(id);
        let _ = std::fs::remove_file(process);
        let _ = std::fs::remove_file(pid_file);
        match result {
            Ok(pid) => {
                let stdin = self.exec_mut(id).is_some_and(|e| e.stdin_wanted);
                let json = format!("{{\"exec_id\":{id},\"pid\":{pid}}}");
                if let Some(c) = self.conns.get_mut(&key) {
                    c.send(protocol::OK, json.as_bytes());
                    c.mode = Mode::Exec { exec_id: id, stdin };
                    c.lossless = true;
                    c.make_stream();
                } else if let Some(e) = self.exec_mut(id) {
                    e.conn = None;
                }
                if let Some(i) = self.unclaimed.iter().position(|&(p, _)| p == pid) {
                    let (_, status) = self.unclaimed.swap_remove(i);
                    self.child_exited(pid, status);
                }
            }
            Err(msg) => {
                if let Some(i) = self.execs.iter().position(|e| e.id == id) {
                    let exec = self.execs.swap_remove(i);
                    if exec.pid > 0 {
                        let _ = super::sys::kill(exec.pid, libc::SIGKILL);
                    }
                }
                self.reply_error(key, ErrorCode::Runtime, &format!("exec\n{msg}"));
            }
        }
    }

    /// Reads the exec's pid, takes its pty, registers its output.
    fn adopt_exec(&mut self, id: u32) -> Result<i32, String> {
        let (_, pid_file) = self.exec_files(id);
        let pid = read_pid_file(&pid_file)?;
        let exec = self.exec_mut(id).ok_or("exec vanished")?;
        exec.pid = pid;
        if let Some(console) = exec.console.take() {
            let master = console
                .receive()
                .map_err(|e| format!("receive console: {e}"))?;
            exec.io =
                ProcIo::tty(master, exec.stdin_wanted).map_err(|e| format!("console: {e}"))?;
        }
        if let Some(exec) = self.execs.iter().find(|e| e.id == id) {
            self.register_outputs(id, &exec.io);
        }
        Ok(pid)
    }

    pub fn exec_exited(&mut self, id: u32, status: i32) {
        if let Some(e) = self.exec_mut(id) {
            e.exit_code = Some(exit_code_from_wait_status(status));
            e.drain_until = Some(Instant::now() + DRAIN_TIMEOUT);
        }
        self.close_stdin(id);
    }

    /// Output drained after the exit: send the exit and forget the exec.
    pub fn exec_finished(&mut self, id: u32) {
        self.pump(id, OUT);
        self.pump(id, ERR);
        for which in [OUT, ERR, IN] {
            self.close_proc_fd(id, which);
        }
        let Some(i) = self.execs.iter().position(|e| e.id == id) else {
            return;
        };
        let exec = self.execs.swap_remove(i);
        let info = ExitInfo {
            exit_code: exec.exit_code.unwrap_or(255),
            oom_killed: false,
            finished_at: timefmt::format_rfc3339_nano(timefmt::now_unix_nanos()),
        };
        if let Some(key) = exec.conn {
            if let Some(c) = self.conns.get_mut(&key) {
                c.send(protocol::EXIT, &info.to_json());
                c.close_when_flushed = true;
            }
            self.sync_conn(key);
        }
    }
}
