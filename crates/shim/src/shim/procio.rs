//! The stdio of one process the shim owns (the container's init or an
//! exec): the shim's ends of its pipes, or its pty master, plus input
//! waiting to be written.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::process::Stdio;

use super::sys;

/// Output stream slots, also used in epoll tokens.
pub const OUT: u64 = 0;
pub const ERR: u64 = 1;
pub const IN: u64 = 2;

/// Pending stdin beyond which the clients feeding it are paused.
pub const STDIN_LIMIT: usize = 1 << 20;

#[derive(Default)]
pub struct ProcIo {
    pub tty: bool,
    /// Stdout pipe, or the pty master.
    pub out: Option<OwnedFd>,
    pub err: Option<OwnedFd>,
    /// Stdin pipe, or a duplicate of the pty master (a separate descriptor
    /// so it can be registered and closed on its own).
    pub stdin: Option<OwnedFd>,
    pub stdin_buf: Vec<u8>,
    pub stdin_close: bool,
    pub stdin_armed: bool,
    /// Connections paused because `stdin_buf` is full.
    pub paused: Vec<u64>,
}

/// The process's ends, handed to the runtime.
pub struct ChildStdio {
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
}

fn child_end(fd: Option<OwnedFd>) -> io::Result<Stdio> {
    Ok(match fd {
        Some(fd) => Stdio::from(fd),
        None => Stdio::from(sys::dev_null()?),
    })
}

impl ProcIo {
    /// Pipes for the requested streams; the others are /dev/null.
    pub fn pipes(stdin: bool, stdout: bool, stderr: bool) -> io::Result<(ProcIo, ChildStdio)> {
        let mut io = ProcIo::default();
        let mut child_in = None;
        if stdin {
            let (r, w) = sys::pipe()?;
            sys::set_nonblocking(w.as_fd())?;
            io.stdin = Some(w);
            child_in = Some(r);
        }
        let output = |on: bool| -> io::Result<(Option<OwnedFd>, Option<OwnedFd>)> {
            if !on {
                return Ok((None, None));
            }
            let (r, w) = sys::pipe()?;
            sys::set_nonblocking(r.as_fd())?;
            sys::grow_pipe(&r);
            Ok((Some(r), Some(w)))
        };
        let (out_r, out_w) = output(stdout)?;
        let (err_r, err_w) = output(stderr)?;
        io.out = out_r;
        io.err = err_r;
        let child = ChildStdio {
            stdin: child_end(child_in)?,
            stdout: child_end(out_w)?,
            stderr: child_end(err_w)?,
        };
        Ok((io, child))
    }

    /// Stdio through a pty master (already non-blocking).
    pub fn tty(master: OwnedFd, stdin: bool) -> io::Result<ProcIo> {
        let stdin = if stdin {
            Some(master.try_clone()?)
        } else {
            None
        };
        Ok(ProcIo {
            tty: true,
            out: Some(master),
            stdin,
            ..ProcIo::default()
        })
    }

    pub fn fd(&self, which: u64) -> Option<&OwnedFd> {
        match which {
            OUT => self.out.as_ref(),
            ERR => self.err.as_ref(),
            _ => self.stdin.as_ref(),
        }
    }

    pub fn take(&mut self, which: u64) -> Option<OwnedFd> {
        match which {
            OUT => self.out.take(),
            ERR => self.err.take(),
            _ => self.stdin.take(),
        }
    }

    pub fn outputs_closed(&self) -> bool {
        self.out.is_none() && self.err.is_none()
    }
}
