//! `GET /containers/{id}/logs`: the json-file log read back with `since`,
//! `until`, `tail`, `timestamps` and `follow`, framed as Docker frames it
//! (8-byte headers without a TTY, raw with one).

use std::sync::Arc;

use berth_api::Error;
use berth_server::backend::{ByteStream, LogsOptions};
use berth_shim::logfile::{LogEntry, ReadOptions, Stream, read_log};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;

use super::ContainerService;

/// Appends one entry in the API's framing.
pub fn frame_entry(out: &mut BytesMut, e: &LogEntry, tty: bool, timestamps: bool) {
    let ts = timestamps.then(|| {
        let secs = e.time.div_euclid(1_000_000_000);
        let nanos = e.time.rem_euclid(1_000_000_000) as u32;
        chrono::DateTime::from_timestamp(secs, nanos)
            .map(|t| format!("{} ", t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)))
            .unwrap_or_default()
    });
    let len = e.line.len() + ts.as_ref().map_or(0, String::len);
    if !tty {
        out.put_u8(match e.stream {
            Stream::Stdout => 1,
            Stream::Stderr => 2,
        });
        out.put_bytes(0, 3);
        out.put_u32(len as u32);
    }
    if let Some(ts) = ts {
        out.put_slice(ts.as_bytes());
    }
    out.put_slice(&e.line);
}

impl ContainerService {
    pub async fn logs(
        self: &Arc<Self>,
        name: &str,
        opts: LogsOptions,
    ) -> Result<(ByteStream, bool), Error> {
        let c = self.get(name)?;
        let (tty, driver, running) = {
            let rec = c.lock();
            (
                rec.config.tty,
                rec.host_config.log_config.kind.clone(),
                rec.state.status.running_flag(),
            )
        };
        if driver == "none" {
            return Err(Error::invalid(
                "configured logging driver does not support reading",
            ));
        }
        let to_ns = |s: f64| (s * 1e9) as i64;
        let read_opts = ReadOptions {
            since: opts.since.map(to_ns),
            until: opts.until.map(to_ns),
            tail: opts.tail.map(|t| t as usize),
            follow: opts.follow && running,
        };
        let mut entries = read_log(self.ctx.log_path(&c.id), read_opts.clone());
        if read_opts.follow {
            let stop = entries.follow_stop();
            let mut rx = c.subscribe();
            tokio::spawn(async move {
                let _ = rx.wait_for(|n| n.removed || !n.status.running_flag()).await;
                stop.stop();
            });
        }
        let (want_out, want_err, timestamps) = (opts.stdout, opts.stderr, opts.timestamps);
        let stream = async_stream(move |tx| async move {
            while let Some(batch) = entries.next_batch().await {
                let batch = match batch {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        break;
                    }
                };
                let mut buf = BytesMut::new();
                for e in &batch {
                    let wanted = match e.stream {
                        Stream::Stdout => want_out,
                        Stream::Stderr => want_err,
                    };
                    if wanted {
                        frame_entry(&mut buf, e, tty, timestamps);
                    }
                }
                if !buf.is_empty() && tx.send(Ok(buf.freeze())).await.is_err() {
                    break;
                }
            }
        });
        Ok((stream, tty))
    }
}

/// A byte stream fed by an async producer through a small channel.
pub fn async_stream<F, Fut>(producer: F) -> ByteStream
where
    F: FnOnce(tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(producer(tx));
    Box::pin(tokio_stream_from(rx))
}

fn tokio_stream_from(
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_like_docker() {
        let e = LogEntry {
            stream: Stream::Stderr,
            time: 1_700_000_000_123_456_789,
            line: b"hi\n".to_vec(),
        };
        let mut out = BytesMut::new();
        frame_entry(&mut out, &e, false, false);
        assert_eq!(&out[..], &[2, 0, 0, 0, 0, 0, 0, 3, b'h', b'i', b'\n']);
        let mut out = BytesMut::new();
        frame_entry(&mut out, &e, true, true);
        assert_eq!(&out[..], b"2023-11-14T22:13:20.123456789Z hi\n");
    }
}
