//! One client connection on the control socket: what it is doing, what it
//! sent that is not processed yet, and what the shim could not write to it
//! yet (bounded: output frames beyond the bound are dropped).

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use berth_shim::protocol::{self, CLIENT_BUFFER, ErrorCode};

use super::sys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Request,
    Waiting,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
        stdin_ended: bool,
    },
    Exec {
        exec_id: u32,
        stdin: bool,
    },
}

pub struct Conn {
    pub sock: UnixStream,
    pub inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    pub mode: Mode,
    pub read_eof: bool,
    /// A runtime command runs on this connection's behalf; its later
    /// frames wait.
    pub busy: bool,
    /// Not read while the process's stdin buffer is full.
    pub paused: bool,
    pub close_when_flushed: bool,
    /// Writing failed: the client is gone.
    pub broken: bool,
    /// Current epoll interest.
    pub interest: u32,
    pub dropped: u64,
    /// Never dropped to: see `protocol::FLAG_LOSSLESS`.
    pub lossless: bool,
}

/// Most a connection may have buffered in unprocessed input.
const INBUF_LIMIT: usize = protocol::MAX_PAYLOAD + protocol::HEADER_LEN + (64 << 10);

impl Conn {
    pub fn new(sock: UnixStream) -> Conn {
        Conn {
            sock,
            inbuf: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            mode: Mode::Request,
            read_eof: false,
            busy: false,
            paused: false,
            close_when_flushed: false,
            broken: false,
            interest: 0,
            dropped: 0,
            lossless: false,
        }
    }

    pub fn has_output(&self) -> bool {
        self.out_pos < self.out.len()
    }

    /// A lossless client this far behind holds up the output it reads.
    pub fn holds_up_output(&self) -> bool {
        self.lossless && !self.broken && self.out.len() - self.out_pos > CLIENT_BUFFER
    }

    /// Reads what is available into `inbuf`.
    pub fn fill(&mut self) {
        let mut chunk = [0u8; 16 << 10];
        while self.inbuf.len() < INBUF_LIMIT {
            match self.sock.read(&mut chunk) {
                Ok(0) => {
                    self.read_eof = true;
                    return;
                }
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if sys::would_block(&e) => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.broken = true;
                    return;
                }
            }
        }
    }

    /// Queues a control frame (never dropped).
    pub fn send(&mut self, kind: u8, payload: &[u8]) {
        self.push(kind, payload);
    }

    pub fn send_error(&mut self, code: ErrorCode, msg: &str) {
        let mut p = Vec::with_capacity(msg.len() + 1);
        p.push(code as u8);
        p.extend_from_slice(msg.as_bytes());
        self.push(protocol::ERROR, &p);
    }

    /// Queues an output frame, or drops it when the client is too far
    /// behind.
    pub fn send_data(&mut self, kind: u8, data: &[u8]) {
        if self.has_output() {
            // Give the client what its socket takes now before queueing.
            self.flush();
        }
        if !self.lossless && self.out.len() - self.out_pos + data.len() > CLIENT_BUFFER {
            self.dropped += data.len() as u64;
            return;
        }
        self.push(kind, data);
    }

    fn push(&mut self, kind: u8, payload: &[u8]) {
        if self.broken {
            return;
        }
        let header = protocol::header(kind, payload.len());
        let mut written = 0;
        if !self.has_output() {
            match sys::writev2(self.sock.as_raw_fd(), &header, payload) {
                Ok(n) => written = n,
                Err(e) if sys::would_block(&e) => {}
                Err(_) => {
                    self.broken = true;
                    return;
                }
            }
            self.out.clear();
            self.out_pos = 0;
        }
        if written < header.len() {
            self.out.extend_from_slice(&header[written..]);
            self.out.extend_from_slice(payload);
        } else {
            self.out
                .extend_from_slice(&payload[written - header.len()..]);
        }
    }

    /// Writes buffered output; called when the socket is writable.
    pub fn flush(&mut self) {
        while self.has_output() {
            match sys::write(self.sock.as_raw_fd(), &self.out[self.out_pos..]) {
                Ok(n) => self.out_pos += n,
                Err(e) if sys::would_block(&e) => break,
                Err(_) => {
                    self.broken = true;
                    break;
                }
            }
        }
        if !self.has_output() {
            self.out.clear();
            self.out_pos = 0;
            if self.out.capacity() > 256 << 10 {
                self.out = Vec::new();
            }
        }
    }

    /// Becomes a stream: a larger socket buffer means fewer wake-ups per
    /// megabyte (best effort; forced past the system limit when allowed).
    pub fn make_stream(&mut self) {
        let size: libc::c_int = 1 << 20;
        for opt in [libc::SO_SNDBUFFORCE, libc::SO_SNDBUF] {
            // SAFETY: setsockopt with a valid int option value.
            let r = unsafe {
                libc::setsockopt(
                    self.sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&size as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r == 0 {
                break;
            }
        }
    }

    /// The epoll interest this connection needs now.
    pub fn wanted_interest(&self) -> u32 {
        let mut ev = 0;
        if !self.read_eof && !self.paused && !self.busy && !self.broken {
            ev |= libc::EPOLLIN as u32;
        }
        if self.has_output() {
            ev |= libc::EPOLLOUT as u32;
        }
        ev
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_stuck_client_loses_whole_frames_but_never_control_frames() {
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut c = Conn::new(a);
        let chunk = vec![b'x'; 60_000];
        for _ in 0..200 {
            c.send_data(protocol::STDOUT, &chunk);
        }
        assert!(c.dropped > 0);
        assert!(c.has_output());
        c.send(protocol::EXIT, b"{}");
        assert!(!c.broken);
        // The client catches up: every frame it gets is whole, the exit last.
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            b.read_to_end(&mut all).unwrap();
            all
        });
        while c.has_output() {
            c.flush();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(c);
        let all = reader.join().unwrap();
        let mut pos = 0;
        let mut frames = Vec::new();
        while let Some(f) = protocol::parse_frame(&all[pos..]).unwrap() {
            frames.push((f.kind, f.end - f.start));
            pos += f.end;
        }
        assert_eq!(pos, all.len());
        assert_eq!(frames.pop(), Some((protocol::EXIT, 2)));
        assert!(frames.len() < 200);
        assert!(frames.iter().all(|&f| f == (protocol::STDOUT, 60_000)));
    }
}
