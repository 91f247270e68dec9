//! The container's end: record the exit durably first, drain the output
//! into the log, tell waiters and attached clients, then delete the
//! runtime state and wind down.

use std::time::Instant;

use berth_shim::exit::{ExitInfo, exit_code_from_wait_status, write_exit};
use berth_shim::protocol;
use berth_shim::timefmt;

use super::conn::Mode;
use super::oom;
use super::procio::{ERR, OUT};
use super::server::{FINISH_TIMEOUT, Phase, QUICK_DRAIN, Shim, Status};

impl Shim {
    /// The container's init was reaped.
    pub fn init_exited(&mut self, status: i32) {
        let info = ExitInfo {
            exit_code: exit_code_from_wait_status(status),
            oom_killed: self.oom_file.as_deref().is_some_and(oom::oom_killed),
            finished_at: timefmt::format_rfc3339_nano(timefmt::now_unix_nanos()),
        };
        if let Err(e) = write_exit(&self.cfg.state_dir, &info) {
            self.warn(&format!("write exit record: {e}"));
        }
        self.exit = Some(info);
        self.status = Status::Exited;
        self.close_stdin(0);
        if self.held_until.is_some() {
            // Drained and reported once the output is released.
            return;
        }
        // The runtime's state is deleted after the exit is reported (or
        // sooner, when output does not reach EOF: see QUICK_DRAIN), so
        // that waiters hear of the exit without waiting for the runtime.
        self.phase = Phase::Draining(Instant::now() + QUICK_DRAIN);
    }

    /// Start mode `run-held`: starts reading the init's output; an init
    /// that already exited goes on to drain and report.
    pub fn release_output(&mut self) {
        if self.held_until.take().is_none() {
            return;
        }
        self.register_outputs(0, &self.init);
        if self.exit.is_some() {
            self.phase = Phase::Draining(Instant::now() + QUICK_DRAIN);
        }
    }

    /// Output drained (or given up on): log the last partial lines, answer
    /// waiters, stop accepting connections.
    pub fn report_exit(&mut self) {
        for which in [OUT, ERR] {
            self.pump(0, which);
            if self.init.fd(which).is_some() {
                self.output_closed(0, which);
            }
        }
        // No new clients, before anyone hears of the exit: a daemon that
        // starts the container again at once must find the socket free.
        if let Some(l) = self.listener.take() {
            self.ep_del(&l);
            let _ = std::fs::remove_file(&self.cfg.socket);
        }
        let json = self.exit.as_ref().map(|e| e.to_json()).unwrap_or_default();
        let keys: Vec<u64> = self.conns.keys().copied().collect();
        for key in keys {
            if let Some(c) = self.conns.get_mut(&key)
                && matches!(c.mode, Mode::Waiting | Mode::Attach { .. })
            {
                c.send(protocol::EXIT, &json);
                c.close_when_flushed = true;
            }
            self.sync_conn(key);
        }
        self.exit_reported = true;
        self.phase = Phase::Finishing(Instant::now() + FINISH_TIMEOUT);
    }
}
