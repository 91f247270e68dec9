//! Copying between the terminal and an attached connection (docker's
//! `hijackedIOStreamer`): stdin goes to the connection (through the
//! detach-key detector, with a half-close at its end), the connection's
//! output comes back demultiplexed to stdout and stderr (or raw with a
//! TTY). The terminal is raw while stdin feeds a TTY.

use std::io;

use berth_client::Upgraded;
use berth_client::stdcopy::{copy_demuxed, copy_raw};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::escape::{DEFAULT_KEYS, EscapeDetector, Scan, parse_keys};
use super::rawterm;

/// What is attached.
#[derive(Debug, Clone, Default)]
pub struct StreamConfig {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    /// `--detach-keys` as given; the default sequence when unset.
    pub detach_keys: Option<String>,
}

/// How the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The output ended (or there was nothing to stream).
    Finished,
    /// The user typed the detach keys.
    Detached,
}

enum InputEnd {
    Eof,
    Detached,
}

impl StreamConfig {
    fn detector(&self) -> EscapeDetector {
        if !self.tty {
            // Without a TTY the daemon watches for the keys itself.
            return EscapeDetector::new(Vec::new());
        }
        let keys = match self.detach_keys.as_deref().filter(|k| !k.is_empty()) {
            Some(k) => parse_keys(k).unwrap_or_else(|e| {
                crate::term::err_line(&format!(
                    "WARN invalid detach escape keys, using default: {e}"
                ));
                DEFAULT_KEYS.to_vec()
            }),
            None => DEFAULT_KEYS.to_vec(),
        };
        EscapeDetector::new(keys)
    }
}

/// Streams the process's stdio over `conn` with the real standard
/// streams until the output ends or the user detaches.
pub async fn stream(conn: Upgraded, cfg: &StreamConfig) -> io::Result<StreamEnd> {
    let _raw = if cfg.stdin && cfg.tty {
        rawterm::enable().map_err(|e| {
            io::Error::other(format!(
                "unable to setup input stream: unable to set IO streams as raw terminal: {e}"
            ))
        })?
    } else {
        None
    };
    let mut stdout = tokio::io::stdout();
    let mut stderr = tokio::io::stderr();
    let mut stdin = tokio::io::stdin();
    let input: Option<&mut (dyn AsyncRead + Unpin)> =
        if cfg.stdin { Some(&mut stdin) } else { None };
    let io = Stdio {
        input,
        out: &mut stdout,
        err: &mut stderr,
        restore: &rawterm::restore,
    };
    stream_with(conn, cfg, io).await
}

/// The local side of a session.
pub struct Stdio<'a, O, E> {
    pub input: Option<&'a mut (dyn AsyncRead + Unpin)>,
    pub out: &'a mut O,
    pub err: &'a mut E,
    /// Leaves raw mode (as soon as input or output ends).
    pub restore: &'a dyn Fn(),
}

/// [`stream`] over any reader and writers (tests use buffers).
pub async fn stream_with<C, O, E>(
    conn: C,
    cfg: &StreamConfig,
    io: Stdio<'_, O, E>,
) -> io::Result<StreamEnd>
where
    C: AsyncRead + AsyncWrite + Unpin,
    O: AsyncWrite + Unpin,
    E: AsyncWrite + Unpin,
{
    let Stdio {
        input,
        out,
        err,
        restore,
    } = io;
    let (mut rd, mut wr) = tokio::io::split(conn);
    let has_output = cfg.stdout || cfg.stderr;
    let tty = cfg.tty;
    let (want_out, want_err) = (cfg.stdout, cfg.stderr);
    let output = async {
        if tty {
            let r = copy_raw(&mut rd, out).await;
            // Restore as soon as the output ends, so that what is printed
            // next looks normal.
            restore();
            r
        } else {
            copy_demuxed(
                &mut rd,
                want_out.then_some(&mut *out),
                want_err.then_some(&mut *err),
            )
            .await
        }
    };
    let mut detector = cfg.detector();
    let input = async move {
        let mut end = InputEnd::Eof;
        if let Some(input) = input {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = match input.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        let held = detector.flush();
                        if !held.is_empty() {
                            let _ = wr.write_all(&held).await;
                        }
                        break;
                    }
                    Ok(n) => n,
                };
                let (data, detach) = match detector.scan(&buf[..n]) {
                    Scan::Forward(d) => (d, false),
                    Scan::Detach(d) => (d, true),
                };
                if !data.is_empty() && wr.write_all(&data).await.is_err() {
                    break;
                }
                if detach {
                    end = InputEnd::Detached;
                    break;
                }
            }
            restore();
        }
        if let InputEnd::Eof = end {
            // The container sees the end of its stdin.
            let _ = wr.shutdown().await;
        }
        end
    };
    tokio::pin!(output);
    tokio::pin!(input);
    let mut input_done = false;
    loop {
        tokio::select! {
            r = &mut output, if has_output => {
                r?;
                return Ok(StreamEnd::Finished);
            }
            end = &mut input, if !input_done => match end {
                InputEnd::Detached => return Ok(StreamEnd::Detached),
                InputEnd::Eof => {
                    input_done = true;
                    if !has_output {
                        return Ok(StreamEnd::Finished);
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_client::stdcopy::{StdStream, frame};

    fn stdio<'a>(
        input: Option<&'a mut &[u8]>,
        out: &'a mut Vec<u8>,
        err: &'a mut Vec<u8>,
    ) -> Stdio<'a, Vec<u8>, Vec<u8>> {
        Stdio {
            input: input.map(|i| i as &mut (dyn AsyncRead + Unpin)),
            out,
            err,
            restore: &|| {},
        }
    }

    /// A fake daemon end: what it received, and what it sends back after
    /// stdin ends.
    async fn daemon(mut end: tokio::io::DuplexStream, reply: Vec<u8>) -> Vec<u8> {
        let mut got = Vec::new();
        end.read_to_end(&mut got).await.unwrap();
        end.write_all(&reply).await.unwrap();
        got
    }

    #[tokio::test]
    async fn stdin_half_closes_and_output_is_demultiplexed() {
        let (ours, theirs) = tokio::io::duplex(1024);
        let mut reply = frame(StdStream::Stdout, b"hi\n");
        reply.extend(frame(StdStream::Stderr, b"warn\n"));
        let fake = tokio::spawn(daemon(theirs, reply));
        let cfg = StreamConfig {
            stdin: true,
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let mut input: &[u8] = b"hi\n";
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let end = stream_with(ours, &cfg, stdio(Some(&mut input), &mut out, &mut err))
            .await
            .unwrap();
        assert_eq!(end, StreamEnd::Finished);
        assert_eq!(fake.await.unwrap(), b"hi\n");
        assert_eq!(out, b"hi\n");
        assert_eq!(err, b"warn\n");
    }

    #[tokio::test]
    async fn tty_detach_keys_end_the_session() {
        let (ours, mut theirs) = tokio::io::duplex(1024);
        let cfg = StreamConfig {
            stdin: true,
            stdout: true,
            tty: true,
            ..Default::default()
        };
        let mut input: &[u8] = &[b'l', b's', 16, 17, b'x'];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let end = stream_with(ours, &cfg, stdio(Some(&mut input), &mut out, &mut err))
            .await
            .unwrap();
        assert_eq!(end, StreamEnd::Detached);
        let mut got = vec![0u8; 2];
        theirs.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"ls");
    }

    #[tokio::test]
    async fn custom_keys_and_raw_output() {
        let (ours, theirs) = tokio::io::duplex(1024);
        let fake = tokio::spawn(daemon(theirs, b"raw tty output".to_vec()));
        let cfg = StreamConfig {
            stdin: true,
            stdout: true,
            stderr: true,
            tty: true,
            detach_keys: Some("a,b".into()),
        };
        // ctrl-p ctrl-q are plain input with other keys; "a" then EOF
        // is flushed to the container.
        let mut input: &[u8] = &[16, 17, b'a'];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let end = stream_with(ours, &cfg, stdio(Some(&mut input), &mut out, &mut err))
            .await
            .unwrap();
        assert_eq!(end, StreamEnd::Finished);
        assert_eq!(fake.await.unwrap(), [16, 17, b'a']);
        assert_eq!(out, b"raw tty output");
    }

    #[tokio::test]
    async fn without_stdin_the_write_side_closes_at_once() {
        let (ours, theirs) = tokio::io::duplex(1024);
        let fake = tokio::spawn(daemon(theirs, frame(StdStream::Stdout, b"done")));
        let cfg = StreamConfig {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        stream_with(ours, &cfg, stdio(None, &mut out, &mut err))
            .await
            .unwrap();
        assert!(fake.await.unwrap().is_empty());
        assert_eq!(out, b"done");
    }
}
