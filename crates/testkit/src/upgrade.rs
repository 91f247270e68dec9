//! Upgraded connections (`Upgrade: tcp`, 101) for attach and exec tests:
//! the raw stream both ways, half-close, and reading with a deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A connection after the daemon's answer to an upgrade request.
pub struct Upgraded {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// What follows the headers: the stream, or an error body.
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Upgraded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sends bytes to the other side (stdin).
    pub fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(data)
    }

    /// Half-closes: the daemon sees the end of stdin.
    pub fn close_write(&self) -> std::io::Result<()> {
        self.writer.shutdown(Shutdown::Write)
    }

    /// Reads until the daemon closes the connection or `timeout` passes.
    pub fn read_to_end(&mut self, timeout: Duration) -> std::io::Result<Vec<u8>> {
        self.read_until(timeout, |_| false)
    }

    /// Reads until `done(bytes so far)`, the end of the stream, or
    /// `timeout` (an error).
    pub fn read_until(
        &mut self,
        timeout: Duration,
        done: impl Fn(&[u8]) -> bool,
    ) -> std::io::Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            if done(&out) {
                return Ok(out);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "stream did not end in time; got {:?}",
                        String::from_utf8_lossy(&out)
                    ),
                ));
            }
            self.reader.get_ref().set_read_timeout(Some(left))?;
            match self.reader.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Sends `method path` with `Upgrade: tcp` and a JSON `body`, and reads
/// the status line and headers.
pub fn request(socket: &Path, method: &str, path: &str, body: &[u8]) -> std::io::Result<Upgraded> {
    let stream = UnixStream::connect(socket)?;
    let mut writer = stream.try_clone()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    writer.write_all(head.as_bytes())?;
    writer.write_all(body)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad status line {line:?}"),
            )
        })?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Upgraded {
        status,
        headers,
        reader,
        writer,
    })
}
