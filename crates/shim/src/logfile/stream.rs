//! The async face of [`LogReader`]: a task reads batches on tokio's
//! blocking pool and hands them over a small channel, so a large `logs`
//! is parsed while the daemon is already sending, and a follower holds no
//! thread while it waits (it polls, backing off from 10 ms to 250 ms).

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::LogEntry;
use super::reader::{LogReader, ReadOptions, ReadStatus};

const BATCH: usize = 4096;
const MIN_POLL: Duration = Duration::from_millis(10);
const MAX_POLL: Duration = Duration::from_millis(250);

/// Tells a following [`LogStream`] to read what is left and end (the
/// daemon calls it when the container exits).
#[derive(Debug, Clone, Default)]
pub struct FollowStop(Arc<StopInner>);

#[derive(Debug, Default)]
struct StopInner {
    stopped: AtomicBool,
    notify: Notify,
}

impl FollowStop {
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.notify.notify_one();
    }

    fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }
}

/// Log entries, oldest first. Also a [`futures_util::Stream`].
#[derive(Debug)]
pub struct LogStream {
    rx: mpsc::Receiver<io::Result<Vec<LogEntry>>>,
    batch: std::vec::IntoIter<LogEntry>,
    stop: FollowStop,
}

/// Starts reading the log set at `path`. Must be called inside a tokio
/// runtime.
pub fn read_log(path: impl Into<PathBuf>, opts: ReadOptions) -> LogStream {
    let (tx, rx) = mpsc::channel(4);
    let stop = FollowStop::default();
    tokio::spawn(drive(path.into(), opts, tx, stop.clone()));
    LogStream {
        rx,
        batch: Vec::new().into_iter(),
        stop,
    }
}

impl LogStream {
    /// The next entry; `None` at the end.
    pub async fn next(&mut self) -> Option<io::Result<LogEntry>> {
        loop {
            if let Some(e) = self.batch.next() {
                return Some(Ok(e));
            }
            match self.rx.recv().await? {
                Ok(v) => self.batch = v.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The next entries in bulk (cheaper per entry than [`Self::next`]).
    pub async fn next_batch(&mut self) -> Option<io::Result<Vec<LogEntry>>> {
        let rest: Vec<LogEntry> = self.batch.by_ref().collect();
        if !rest.is_empty() {
            return Some(Ok(rest));
        }
        self.rx.recv().await
    }

    /// A handle that ends following.
    pub fn follow_stop(&self) -> FollowStop {
        self.stop.clone()
    }
}

impl futures_util::Stream for LogStream {
    type Item = io::Result<LogEntry>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(e) = self.batch.next() {
                return Poll::Ready(Some(Ok(e)));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(v))) => self.batch = v.into_iter(),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

fn join_error(e: tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("log reader task failed: {e}"))
}

async fn drive(
    path: PathBuf,
    opts: ReadOptions,
    tx: mpsc::Sender<io::Result<Vec<LogEntry>>>,
    stop: FollowStop,
) {
    let follow = opts.follow;
    let opened = tokio::task::spawn_blocking(move || LogReader::open(&path, opts)).await;
    let mut reader = match opened.map_err(join_error).and_then(|r| r) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    };
    let mut idle = MIN_POLL;
    let mut last_pass = false;
    loop {
        let sender = tx.clone();
        let step = tokio::task::spawn_blocking(move || {
            let status = pump(&mut reader, &sender);
            (reader, status)
        })
        .await;
        let (r, status) = match step {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Err(join_error(e))).await;
                return;
            }
        };
        reader = r;
        match status {
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
            Ok(Pumped::Data) => idle = MIN_POLL,
            Ok(Pumped::End) => return,
            Ok(Pumped::Idle) => {
                if !follow || last_pass {
                    return;
                }
                if stop.is_stopped() {
                    last_pass = true;
                    continue;
                }
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = stop.0.notify.notified() => {}
                    _ = tx.closed() => return,
                }
                idle = (idle * 2).min(MAX_POLL);
            }
        }
    }
}

enum Pumped {
    /// Caught up after sending something.
    Data,
    /// Caught up with nothing new.
    Idle,
    /// Finished, or the receiver is gone.
    End,
}

/// Reads and sends batches (on a blocking thread) until caught up.
fn pump(
    reader: &mut LogReader,
    tx: &mpsc::Sender<io::Result<Vec<LogEntry>>>,
) -> io::Result<Pumped> {
    let mut sent = false;
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let status = reader.next_batch(&mut batch, BATCH)?;
        if !batch.is_empty() {
            sent = true;
            if tx.blocking_send(Ok(batch)).is_err() {
                return Ok(Pumped::End);
            }
        }
        match status {
            ReadStatus::More => {}
            ReadStatus::End => return Ok(Pumped::End),
            ReadStatus::CaughtUp if sent => return Ok(Pumped::Data),
            ReadStatus::CaughtUp => return Ok(Pumped::Idle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{JsonFileWriter, LogConfig, Stream};
    use super::*;

    #[tokio::test]
    async fn streams_and_follows_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s-json.log");
        let mut w = JsonFileWriter::open(LogConfig {
            path: path.clone(),
            max_size: None,
            max_files: 1,
        })
        .unwrap();
        for i in 0..10_000 {
            w.append(
                Stream::Stdout,
                format!("{i}\n").as_bytes(),
                b"\"2024-01-01T00:00:00Z\"",
            )
            .unwrap();
        }
        w.flush().unwrap();
        let mut s = read_log(
            &path,
            ReadOptions {
                follow: true,
                ..Default::default()
            },
        );
        for i in 0..10_000 {
            let e = s.next().await.unwrap().unwrap();
            assert_eq!(e.line, format!("{i}\n").into_bytes());
        }
        w.append(Stream::Stderr, b"late\n", b"\"2024-01-01T00:00:01Z\"")
            .unwrap();
        w.flush().unwrap();
        let e = s.next().await.unwrap().unwrap();
        assert_eq!(
            (e.stream, e.line.as_slice()),
            (Stream::Stderr, &b"late\n"[..])
        );
        w.append(Stream::Stdout, b"last\n", b"\"2024-01-01T00:00:02Z\"")
            .unwrap();
        w.flush().unwrap();
        s.follow_stop().stop();
        assert_eq!(s.next().await.unwrap().unwrap().line, b"last\n");
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn hundred_thousand_lines_are_fast() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big-json.log");
        let mut w = JsonFileWriter::open(LogConfig {
            path: path.clone(),
            max_size: None,
            max_files: 1,
        })
        .unwrap();
        for i in 0..100_000 {
            w.append(
                Stream::Stdout,
                format!("this is log line number {i}\n").as_bytes(),
                b"\"2024-01-01T00:00:00.123456789Z\"",
            )
            .unwrap();
        }
        w.flush().unwrap();
        let start = std::time::Instant::now();
        let mut s = read_log(&path, ReadOptions::default());
        let mut n = 0;
        while let Some(b) = s.next_batch().await {
            n += b.unwrap().len();
        }
        let took = start.elapsed();
        assert_eq!(n, 100_000);
        eprintln!("read 100000 lines in {took:?}");
    }
}
