//! Moving bytes: process output to the log and to attached clients (never
//! waiting for either), client input to process stdin (bounded; the
//! feeding clients are paused while it is full).

use std::os::fd::AsRawFd;

use berth_shim::logfile::Stream;
use berth_shim::protocol;
use berth_shim::timefmt::now_unix_nanos;
use nix::sys::epoll::EpollFlags;

use super::conn::Mode;
use super::procio::{ERR, IN, OUT, STDIN_LIMIT};
use super::server::{READ_BUF, Shim, proc_token};
use super::sys;

/// Reads per wake-up before giving others a turn.
const READS_PER_EVENT: usize = 16;

impl Shim {
    /// Reads what a process wrote on `which` (OUT or ERR).
    pub fn pump(&mut self, id: u32, which: u64) {
        if self.buf.capacity() < READ_BUF {
            // Not zero-filled: pages are only touched by the data read into them.
            self.buf = Vec::with_capacity(READ_BUF);
        }
        let mut buf = std::mem::take(&mut self.buf);
        for _ in 0..READS_PER_EVENT {
            if self.output_held_up(id) {
                self.pause_outputs(id);
                break;
            }
            let Some(fd) = self
                .proc_io(id)
                .and_then(|io| io.fd(which))
                .map(|f| f.as_raw_fd())
            else {
                break;
            };
            match sys::read_uninit(fd, buf.spare_capacity_mut()) {
                Ok(0) => {
                    self.output_closed(id, which);
                    break;
                }
                Ok(n) => {
                    // SAFETY: `read` initialised the first `n` bytes.
                    unsafe { buf.set_len(n) };
                    self.deliver(id, which, &buf);
                    buf.clear();
                    if n < READ_BUF {
                        break;
                    }
                }
                Err(e) if sys::would_block(&e) => break,
                Err(e) => {
                    // EIO: the pty's last slave holder is gone.
                    if e.raw_os_error() != Some(libc::EIO) {
                        self.warn(&format!("read output of process {id}: {e}"));
                    }
                    self.output_closed(id, which);
                    break;
                }
            }
        }
        self.buf = buf;
    }

    /// Whether a lossless client of process `id`'s output is too far behind.
    fn output_held_up(&self, id: u32) -> bool {
        if id == 0 {
            self.conns
                .values()
                .any(|c| matches!(c.mode, Mode::Attach { .. }) && c.holds_up_output())
        } else {
            self.execs
                .iter()
                .find(|e| e.id == id)
                .and_then(|e| e.conn)
                .and_then(|k| self.conns.get(&k))
                .is_some_and(|c| c.holds_up_output())
        }
    }

    /// Stops reading process `id`'s output until its clients catch up.
    fn pause_outputs(&mut self, id: u32) {
        if self.paused_outputs.contains(&id) {
            return;
        }
        if let Some(io) = self.proc_io_ref(id) {
            self.unregister_outputs(io);
            self.paused_outputs.push(id);
        }
    }

    /// Reads paused outputs again once their clients caught up (or left).
    pub fn resume_outputs(&mut self) {
        if self.paused_outputs.is_empty() {
            return;
        }
        let ready: Vec<u32> = self
            .paused_outputs
            .iter()
            .copied()
            .filter(|id| !self.output_held_up(*id))
            .collect();
        for id in ready {
            self.paused_outputs.retain(|p| *p != id);
            if let Some(io) = self.proc_io_ref(id) {
                self.register_outputs(id, io);
            }
        }
    }

    fn deliver(&mut self, id: u32, which: u64, data: &[u8]) {
        let (stream, kind) = if which == ERR {
            (Stream::Stderr, protocol::STDERR)
        } else {
            (Stream::Stdout, protocol::STDOUT)
        };
        if id == 0 {
            if let Some(log) = &mut self.log
                && let Err(e) = log.write(stream, data, now_unix_nanos())
                && !self.log_failed
            {
                self.log_failed = true;
                self.warn(&format!("write log: {e}"));
            }
            let mut touched = Vec::new();
            for (&key, c) in self.conns.iter_mut() {
                if let Mode::Attach { stdout, stderr, .. } = c.mode
                    && ((which == ERR && stderr) || (which != ERR && stdout))
                {
                    c.send_data(kind, data);
                    touched.push(key);
                }
            }
            for key in touched {
                self.sync_conn(key);
            }
        } else if let Some(key) = self.execs.iter().find(|e| e.id == id).and_then(|e| e.conn) {
            if let Some(c) = self.conns.get_mut(&key) {
                c.send_data(kind, data);
            }
            self.sync_conn(key);
        }
    }

    /// A process's output stream reached its end.
    pub fn output_closed(&mut self, id: u32, which: u64) {
        self.close_proc_fd(id, which);
        if id == 0 {
            let stream = if which == ERR {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            if let Some(log) = &mut self.log {
                let _ = log.finish(stream, now_unix_nanos());
            }
        }
        let tty = self.proc_io(id).is_some_and(|io| io.tty);
        if tty && which == OUT {
            // The pty is hung up: input can go nowhere.
            self.drop_stdin(id);
        }
    }

    /// Queues input for process `id` from connection `key`.
    pub fn queue_stdin(&mut self, id: u32, data: &[u8], key: u64) {
        let Some(io) = self.proc_io(id) else {
            return;
        };
        let Some(fd) = io.stdin.as_ref() else {
            return;
        };
        if io.stdin_close {
            return;
        }
        let mut rest = data;
        if io.stdin_buf.is_empty() {
            match sys::write(fd.as_raw_fd(), data) {
                Ok(n) => rest = &data[n..],
                Err(e) if sys::would_block(&e) => {}
                Err(_) => {
                    // The process closed its stdin or is gone.
                    self.drop_stdin(id);
                    return;
                }
            }
        }
        if rest.is_empty() {
            return;
        }
        io.stdin_buf.extend_from_slice(rest);
        let full = io.stdin_buf.len() >= STDIN_LIMIT;
        if full {
            io.paused.push(key);
        }
        self.arm_stdin(id);
        if full {
            if let Some(c) = self.conns.get_mut(&key) {
                c.paused = true;
            }
            self.sync_conn(key);
        }
    }

    fn arm_stdin(&mut self, id: u32) {
        let Some(io) = self.proc_io(id) else {
            return;
        };
        if io.stdin_armed {
            return;
        }
        let Some(raw) = io.stdin.as_ref().map(|f| f.as_raw_fd()) else {
            return;
        };
        io.stdin_armed = true;
        self.ep_add_raw(raw, proc_token(id, IN), EpollFlags::EPOLLOUT);
    }

    /// The process's stdin is writable again.
    pub fn write_stdin(&mut self, id: u32) {
        let Some(io) = self.proc_io(id) else {
            return;
        };
        let Some(fd) = io.stdin.as_ref() else {
            return;
        };
        let raw = fd.as_raw_fd();
        while !io.stdin_buf.is_empty() {
            match sys::write(raw, &io.stdin_buf) {
                Ok(n) => {
                    io.stdin_buf.drain(..n);
                }
                Err(e) if sys::would_block(&e) => break,
                Err(_) => {
                    self.drop_stdin(id);
                    return;
                }
            }
        }
        let drained = io.stdin_buf.is_empty();
        let resume: Vec<u64> = if io.stdin_buf.len() < STDIN_LIMIT / 2 {
            std::mem::take(&mut io.paused)
        } else {
            Vec::new()
        };
        let close = drained && io.stdin_close;
        if drained {
            io.stdin_buf = Vec::new();
            self.disarm_stdin(id);
        }
        for key in resume {
            if let Some(c) = self.conns.get_mut(&key) {
                c.paused = false;
            }
            self.sync_conn(key);
            self.process_frames(key);
        }
        if close {
            self.drop_stdin(id);
        }
    }

    fn disarm_stdin(&mut self, id: u32) {
        let Some(io) = self.proc_io(id) else {
            return;
        };
        if !io.stdin_armed {
            return;
        }
        io.stdin_armed = false;
        if let Some(raw) = io.stdin.as_ref().map(|f| f.as_raw_fd()) {
            self.ep_del_raw(raw);
        }
    }

    /// Closes stdin once what is queued has been written.
    pub fn close_stdin(&mut self, id: u32) {
        let Some(io) = self.proc_io(id) else {
            return;
        };
        io.stdin_close = true;
        if io.stdin_buf.is_empty() {
            self.drop_stdin(id);
        }
    }

    /// Closes stdin now, discarding queued input.
    fn drop_stdin(&mut self, id: u32) {
        self.disarm_stdin(id);
        let Some(io) = self.proc_io(id) else {
            return;
        };
        io.stdin = None;
        io.stdin_buf = Vec::new();
        io.stdin_close = true;
        let resume = std::mem::take(&mut io.paused);
        for key in resume {
            if let Some(c) = self.conns.get_mut(&key) {
                c.paused = false;
            }
            self.sync_conn(key);
        }
    }
}
