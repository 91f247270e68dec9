//! The shim's control protocol (version 1), spoken on its unix socket.
//!
//! Every message, both ways, is a frame: one kind byte, a 4-byte big-endian
//! payload length, then the payload (at most [`MAX_PAYLOAD`] bytes).
//! Integers inside payloads are big-endian. Kind bytes are ASCII so a
//! capture is readable.
//!
//! A connection starts in *request mode*: the client sends a request, the
//! shim answers with `O` (ok, optional JSON payload) or `E` (error), and the
//! client may send another request. Target `0` means the container's init
//! process; other targets are exec ids handed out by `exec`.
//!
//! | kind | request       | payload                                  | answer |
//! |------|---------------|------------------------------------------|--------|
//! | `s`  | state         | —                                        | `O` + [`StateReply`] JSON |
//! | `w`  | wait          | —                                        | `X` + [`ExitInfo`] JSON once the container has exited and its output is drained |
//! | `k`  | kill          | target u32, signal u32, all u8           | `O` (all = every process, through `runtime kill --all`) |
//! | `r`  | resize        | target u32, rows u16, cols u16           | `O` (`TIOCSWINSZ` on the pty master) |
//! | `c`  | close stdin   | target u32                               | `O` (after buffered input is written) |
//! | `g`  | start         | —                                        | `O` (only with start mode `create-only`) |
//! | `a`  | attach        | flags u8 (1 stdin, 2 stdout, 4 stderr)   | `O`, then the connection is a stream |
//! | `e`  | exec          | flags u8 (1 stdin, 2 stdout, 4 stderr, 8 tty), then the OCI process JSON | `O` + [`ExecStarted`] JSON, then a stream |
//!
//! In a *stream* the shim sends `1` (stdout bytes) and `2` (stderr bytes;
//! with a TTY everything is stdout) and finally `X` (exit JSON: the
//! container's for attach, the process's for exec) before closing. The
//! client sends `0` (stdin bytes) and `z` (stdin ended). For attach, the
//! end of a client's stdin (`z`, or a half-close) closes the container's
//! stdin when the container was started with stdin-once; for exec it closes
//! the process's stdin. Requests `k`, `r`, `c` are also accepted inside a
//! stream. A client that does not keep up loses whole output frames (the
//! shim buffers at most [`CLIENT_BUFFER`] bytes per connection); it never
//! slows the container, the log or other clients. Closing the connection
//! detaches; an exec process keeps running without it.
//!
//! `E` payloads are one [`ErrorCode`] byte then a UTF-8 message; for
//! [`ErrorCode::Runtime`] the message is `<runtime command>\n<runtime's error>`.
//!
//! Lifetime: the socket path is stable for the container's life, so a
//! restarted daemon simply connects again. When the container exits, the
//! shim records the exit (`exit.json` in its state directory), deletes the
//! runtime state, drains the output into the log, removes the socket, and
//! only then sends `X` to waiters and attached clients; it exits once they
//! have their frames (at most a few seconds). A client that finds the
//! socket gone reads `exit.json` instead. Pause and resume are not here:
//! the daemon runs `runtime pause|resume` itself.

use serde::{Deserialize, Serialize};

use crate::exit::ExitInfo;

pub const VERSION: u32 = 1;
/// The largest payload either side accepts.
pub const MAX_PAYLOAD: usize = 1 << 20;
/// Output the shim holds for one slow client before dropping frames.
pub const CLIENT_BUFFER: usize = 4 << 20;
/// The largest output frame the shim sends.
pub const MAX_DATA_FRAME: usize = 64 << 10;
pub const HEADER_LEN: usize = 5;

pub const STATE: u8 = b's';
pub const WAIT: u8 = b'w';
pub const KILL: u8 = b'k';
pub const RESIZE: u8 = b'r';
pub const CLOSE_STDIN: u8 = b'c';
pub const START: u8 = b'g';
pub const ATTACH: u8 = b'a';
pub const EXEC: u8 = b'e';
pub const STDIN: u8 = b'0';
pub const STDIN_EOF: u8 = b'z';
pub const OK: u8 = b'O';
pub const ERROR: u8 = b'E';
pub const STDOUT: u8 = b'1';
pub const STDERR: u8 = b'2';
pub const EXIT: u8 = b'X';

/// Stream flags of `attach` and `exec`.
pub const FLAG_STDIN: u8 = 1;
pub const FLAG_STDOUT: u8 = 2;
pub const FLAG_STDERR: u8 = 4;
pub const FLAG_TTY: u8 = 8;
/// `attach`: the client must get every byte (the client that started the
/// container, as `docker run` without `-d`): while it is more than
/// [`CLIENT_BUFFER`] behind, the shim stops reading the container's output
/// (the container blocks, as with Docker) instead of dropping. Exec
/// connections always are.
pub const FLAG_LOSSLESS: u8 = 16;

/// The error classes an `E` frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// The target process is not running (or never existed).
    NotRunning = 1,
    /// Malformed or inapplicable request (no TTY to resize, bad signal…).
    Invalid = 2,
    /// The OCI runtime failed; the message names the command.
    Runtime = 3,
    /// The shim could not do it (I/O error…).
    Internal = 4,
}

impl ErrorCode {
    pub fn from_u8(b: u8) -> ErrorCode {
        match b {
            1 => ErrorCode::NotRunning,
            2 => ErrorCode::Invalid,
            3 => ErrorCode::Runtime,
            _ => ErrorCode::Internal,
        }
    }
}

/// A frame header.
pub fn header(kind: u8, len: usize) -> [u8; HEADER_LEN] {
    let n = (len as u32).to_be_bytes();
    [kind, n[0], n[1], n[2], n[3]]
}

/// Appends a whole frame.
pub fn push_frame(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    out.extend_from_slice(&header(kind, payload.len()));
    out.extend_from_slice(payload);
}

/// A frame found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame {
    pub kind: u8,
    /// Payload range inside the buffer.
    pub start: usize,
    pub end: usize,
}

/// Parses the frame at the start of `buf`: `Ok(None)` when incomplete,
/// `Err` when the length is over [`MAX_PAYLOAD`].
pub fn parse_frame(buf: &[u8]) -> Result<Option<RawFrame>, String> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(format!("frame of {len} bytes is over the limit"));
    }
    if buf.len() < HEADER_LEN + len {
        return Ok(None);
    }
    Ok(Some(RawFrame {
        kind: buf[0],
        start: HEADER_LEN,
        end: HEADER_LEN + len,
    }))
}

fn u32_at(p: &[u8], at: usize) -> Option<u32> {
    let b = p.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn u16_at(p: &[u8], at: usize) -> Option<u16> {
    let b = p.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Payload of `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillRequest {
    pub target: u32,
    pub signal: u32,
    pub all: bool,
}

impl KillRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(9);
        v.extend_from_slice(&self.target.to_be_bytes());
        v.extend_from_slice(&self.signal.to_be_bytes());
        v.push(u8::from(self.all));
        v
    }

    pub fn decode(p: &[u8]) -> Option<Self> {
        (p.len() == 9).then_some(())?;
        Some(KillRequest {
            target: u32_at(p, 0)?,
            signal: u32_at(p, 4)?,
            all: p[8] != 0,
        })
    }
}

/// Payload of `r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizeRequest {
    pub target: u32,
    pub rows: u16,
    pub cols: u16,
}

impl ResizeRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(8);
        v.extend_from_slice(&self.target.to_be_bytes());
        v.extend_from_slice(&self.rows.to_be_bytes());
        v.extend_from_slice(&self.cols.to_be_bytes());
        v
    }

    pub fn decode(p: &[u8]) -> Option<Self> {
        (p.len() == 8).then_some(())?;
        Some(ResizeRequest {
            target: u32_at(p, 0)?,
            rows: u16_at(p, 4)?,
            cols: u16_at(p, 6)?,
        })
    }
}

/// Payload of `c`.
pub fn decode_target(p: &[u8]) -> Option<u32> {
    (p.len() == 4).then_some(())?;
    u32_at(p, 0)
}

/// Payload of `e`: flags, then the OCI process JSON.
pub fn encode_exec(flags: u8, process_json: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + process_json.len());
    v.push(flags);
    v.extend_from_slice(process_json);
    v
}

/// Answer to `s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReply {
    pub version: u32,
    pub id: String,
    /// The container's init pid (0 before it exists).
    pub pid: i32,
    pub shim_pid: i32,
    /// Where the exit record is written.
    pub state_dir: String,
    /// `created`, `running` or `exited`.
    pub status: String,
    pub exit: Option<ExitInfo>,
}

/// Answer to `e`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecStarted {
    pub exec_id: u32,
    pub pid: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_incrementally() {
        let mut buf = Vec::new();
        push_frame(&mut buf, STDOUT, b"hello");
        push_frame(&mut buf, EXIT, b"{}");
        for cut in 0..HEADER_LEN + 5 {
            assert_eq!(parse_frame(&buf[..cut]).unwrap(), None);
        }
        let f = parse_frame(&buf).unwrap().unwrap();
        assert_eq!((f.kind, &buf[f.start..f.end]), (STDOUT, &b"hello"[..]));
        let g = parse_frame(&buf[f.end..]).unwrap().unwrap();
        assert_eq!(g.kind, EXIT);
        assert_eq!(g.end, 7);
        let mut huge = header(STDIN, MAX_PAYLOAD + 1).to_vec();
        huge.push(0);
        assert!(parse_frame(&huge).is_err());
    }

    #[test]
    fn payloads_round_trip() {
        let k = KillRequest {
            target: 7,
            signal: 15,
            all: true,
        };
        assert_eq!(KillRequest::decode(&k.encode()), Some(k));
        assert_eq!(KillRequest::decode(&[0; 8]), None);
        let r = ResizeRequest {
            target: 0,
            rows: 40,
            cols: 132,
        };
        assert_eq!(ResizeRequest::decode(&r.encode()), Some(r));
        assert_eq!(decode_target(&9u32.to_be_bytes()), Some(9));
        assert_eq!(encode_exec(FLAG_TTY, b"{}"), b"\x08{}");
    }
}
