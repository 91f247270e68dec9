//! `POST /containers/{id}/attach`: the upgraded connection carries the
//! container's output (8-byte frames without a TTY, raw with one) and the
//! client's stdin; detach keys (default ctrl-p ctrl-q) end the session
//! without stopping the container. An attach made before the container
//! starts is connected before its process runs, so nothing is missed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use berth_api::Error;
use berth_server::backend::{AttachOptions, AttachSession, Duplex};
use berth_shim::client::{self, Output, ShimClient};
use berth_shim::logfile::{ReadOptions, Stream, read_log};
use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use super::logs::frame_entry;
use super::start::AttachHandoff;
use super::{Container, ContainerService};

/// Parses Docker's detach keys (`ctrl-p,ctrl-q`, `a`, `ctrl-@`…).
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for key in spec.split(',') {
        let k = key.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b] if b.is_ascii_lowercase() => b - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return Err(Error::invalid(format!("Unknown character: '{k}'"))),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(Error::invalid(format!("Unknown character: '{k}'")));
        }
    }
    Ok(out)
}

enum Source {
    Running(ShimClient),
    Waiting(oneshot::Receiver<AttachHandoff>),
    Stopped,
}

pub struct Session {
    svc: Arc<ContainerService>,
    c: Arc<Container>,
    opts: AttachOptions,
    tty: bool,
    stdin_once: bool,
    detach_keys: Vec<u8>,
    source: Source,
}

impl ContainerService {
    pub fn attach(
        self: &Arc<Self>,
        name: &str,
        opts: AttachOptions,
    ) -> Result<Box<dyn AttachSession>, Error> {
        let c = self.get(name)?;
        let detach_keys = match opts.detach_keys.as_deref() {
            Some(k) if !k.is_empty() => parse_detach_keys(k)?,
            _ => vec![0x10, 0x11],
        };
        let (tty, stdin_once, status) = {
            let rec = c.lock();
            (rec.config.tty, rec.config.stdin_once, rec.state.status)
        };
        if status == super::state::Status::Paused {
            return Err(Error::conflict(
                "You cannot attach to a paused container, unpause it first".to_string(),
            ));
        }
        let source = match c.shim() {
            Some(client) if status.has_process() => Source::Running(client),
            _ if opts.stream
                && !matches!(
                    status,
                    super::state::Status::Removing | super::state::Status::Dead
                ) =>
            {
                let (tx, rx) = oneshot::channel();
                match c.pending_attaches.lock() {
                    Ok(mut g) => g.push(tx),
                    Err(p) => p.into_inner().push(tx),
                }
                Source::Waiting(rx)
            }
            _ => Source::Stopped,
        };
        Ok(Box::new(Session {
            svc: self.clone(),
            c,
            opts,
            tty,
            stdin_once,
            detach_keys,
            source,
        }))
    }
}

impl AttachSession for Session {
    fn tty(&self) -> bool {
        self.tty
    }

    fn run(self: Box<Self>, io: Box<dyn Duplex>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let Session {
                svc,
                c,
                opts,
                tty,
                stdin_once,
                detach_keys,
                source,
            } = *self;
            let (mut rd, mut wr) = tokio::io::split(io);
            if opts.logs && (opts.stdout || opts.stderr) {
                let mut entries = read_log(svc.ctx.log_path(&c.id), ReadOptions::default());
                while let Some(Ok(batch)) = entries.next_batch().await {
                    let mut buf = BytesMut::new();
                    for e in &batch {
                        if (e.stream == Stream::Stdout && opts.stdout)
                            || (e.stream == Stream::Stderr && opts.stderr)
                        {
                            frame_entry(&mut buf, e, tty, false);
                        }
                    }
                    if wr.write_all(&buf).await.is_err() {
                        return;
                    }
                }
            }
            if !opts.stream {
                let _ = wr.shutdown().await;
                return;
            }
            let (client, ack) = match source {
                Source::Running(client) => (client, None),
                Source::Waiting(rx) => match rx.await {
                    Ok(h) => (h.client, Some(h.attached)),
                    Err(_) => {
                        let _ = wr.shutdown().await;
                        return;
                    }
                },
                Source::Stopped => {
                    let _ = wr.shutdown().await;
                    return;
                }
            };
            // A client attached before the start (`docker run` without
            // `-d`, `start -a`) gets every byte, as its output is the
            // container's; later ones are dropped to when far behind.
            let lossless = ack.is_some();
            let streams = client
                .attach(client::AttachOptions {
                    stdin: opts.stdin,
                    stdout: opts.stdout,
                    stderr: opts.stderr,
                    lossless,
                })
                .await;
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
            let streams = match streams {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(container = %c.id, error = %e, "attach to the shim failed");
                    let _ = wr.shutdown().await;
                    return;
                }
            };
            svc.event(&c, "attach", &[]);
            let mut output = streams.output;
            let input = streams.input;
            let stdin_task = async move {
                let Some(mut input) = input else {
                    std::future::pending::<()>().await;
                    return false;
                };
                let mut buf = vec![0u8; 32 * 1024];
                let mut matched = 0usize;
                loop {
                    let n = match rd.read(&mut buf).await {
                        Ok(0) | Err(_) => {
                            // As Docker: a client's end of input ends the
                            // container's only without a TTY.
                            if stdin_once && !tty {
                                let _ = input.close_stdin().await;
                            }
                            // Keep streaming output after stdin ends.
                            std::future::pending::<()>().await;
                            return false;
                        }
                        Ok(n) => n,
                    };
                    let mut forward = Vec::with_capacity(n);
                    for &b in &buf[..n] {
                        if !detach_keys.is_empty() && b == detach_keys[matched] {
                            matched += 1;
                            if matched == detach_keys.len() {
                                if !forward.is_empty() {
                                    let _ = input.send(&forward).await;
                                }
                                return true;
                            }
                            continue;
                        }
                        if matched > 0 {
                            forward.extend_from_slice(&detach_keys[..matched]);
                            matched = 0;
                        }
                        forward.push(b);
                    }
                    if !forward.is_empty() && input.send(&forward).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            };
            let output_task = async {
                loop {
                    match output.next().await {
                        Ok(Some(Output::Stdout(data))) => {
                            if write_frame(&mut wr, 1, &data, tty).await.is_err() {
                                return;
                            }
                        }
                        Ok(Some(Output::Stderr(data))) => {
                            if write_frame(&mut wr, 2, &data, tty).await.is_err() {
                                return;
                            }
                        }
                        Ok(Some(Output::Exit(_))) | Ok(None) | Err(_) => return,
                    }
                }
            };
            tokio::select! {
                detached = stdin_task => {
                    if detached {
                        svc.event(&c, "detach", &[]);
                    }
                }
                _ = output_task => {}
            }
            let _ = wr.flush().await;
            let _ = wr.shutdown().await;
        })
    }
}

/// Writes one chunk: raw with a TTY, else in Docker's 8-byte frame (also
/// for exec streams).
pub(crate) async fn write_frame<W: tokio::io::AsyncWrite + Unpin>(
    wr: &mut W,
    stream: u8,
    data: &[u8],
    tty: bool,
) -> std::io::Result<()> {
    if tty {
        return wr.write_all(data).await;
    }
    let mut buf = BytesMut::with_capacity(8 + data.len());
    buf.put_u8(stream);
    buf.put_bytes(0, 3);
    buf.put_u32(data.len() as u32);
    buf.put_slice(data);
    wr.write_all(&buf).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("a,ctrl-@").unwrap(), vec![b'a', 0]);
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("abc").is_err());
    }
}
