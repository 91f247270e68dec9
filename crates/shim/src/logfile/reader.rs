//! Reading a json-file log set (blocking): rotated files oldest first, then
//! the current one; `tail` located from the end; `since`/`until` filters;
//! and, when following, new lines as they are written, across rotation
//! (the current file renamed to `.1`) and truncation (`max-file` 1).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::fastparse::{Fast, TimeCache, parse_entry};
use super::tail::tail_start;
use super::{LogEntry, Stream, rotated_path};
use crate::bytescan::find_byte;
use crate::timefmt::parse_rfc3339;

const READ_SIZE: usize = 1 << 20;
/// Rotated files looked for beyond `<log>.1`.
const MAX_ROTATED: u32 = 10_000;
/// Longer "lines" are corrupt data and are skipped.
const MAX_LINE_BYTES: usize = 16 << 20;

/// What to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Skip entries older than this (ns since the epoch).
    pub since: Option<i64>,
    /// Stop at the first entry newer than this.
    pub until: Option<i64>,
    /// Only the last N lines (counted before the time filters, as Docker).
    pub tail: Option<usize>,
    /// Keep reading new lines once the end is reached.
    pub follow: bool,
}

/// Outcome of [`LogReader::next_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// The batch is full; call again.
    More,
    /// The end of the current file was reached while following; call again
    /// later for new lines.
    CaughtUp,
    /// Nothing more will come.
    End,
}

#[derive(Debug)]
struct Source {
    file: File,
    pos: u64,
    live: bool,
    ino: u64,
}

/// A positioned reader over one container's log files.
#[derive(Debug)]
pub struct LogReader {
    path: PathBuf,
    opts: ReadOptions,
    queue: VecDeque<Source>,
    cur: Option<Source>,
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
    ended: bool,
    times: TimeCache,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(borrow, default)]
    log: Cow<'a, str>,
    #[serde(borrow, default)]
    stream: Cow<'a, str>,
    #[serde(borrow, default)]
    time: Cow<'a, str>,
}

fn open_source(path: &Path, live: bool) -> io::Result<Option<(Source, u64)>> {
    match File::open(path) {
        Ok(file) => {
            let meta = file.metadata()?;
            let src = Source {
                file,
                pos: 0,
                live,
                ino: meta.ino(),
            };
            Ok(Some((src, meta.len())))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl LogReader {
    /// Opens the log set at `path` (`<path>.N` … `<path>.1`, `<path>`). A
    /// missing log reads as empty (and is waited for when following).
    pub fn open(path: &Path, opts: ReadOptions) -> io::Result<LogReader> {
        // Newest first while locating the tail.
        let mut files: Vec<(Source, u64)> = Vec::new();
        if let Some(live) = open_source(path, true)? {
            files.push(live);
        }
        for n in 1..=MAX_ROTATED {
            match open_source(&rotated_path(path, n), false)? {
                Some(s) => files.push(s),
                None => break,
            }
        }
        if let Some(n) = opts.tail {
            let mut need = n;
            let mut keep = files.len();
            for (i, (src, len)) in files.iter_mut().enumerate() {
                let (off, found) = tail_start(&src.file, *len, need)?;
                src.pos = off;
                if found >= need {
                    keep = i + 1;
                    break;
                }
                need -= found;
            }
            files.truncate(keep);
        }
        let mut queue: VecDeque<Source> = files.into_iter().rev().map(|(s, _)| s).collect();
        let cur = queue.pop_front();
        Ok(LogReader {
            path: path.to_path_buf(),
            opts,
            queue,
            cur,
            buf: Vec::new(),
            lo: 0,
            hi: 0,
            ended: false,
            times: TimeCache::default(),
        })
    }

    /// Appends up to `max` entries to `out`.
    pub fn next_batch(&mut self, out: &mut Vec<LogEntry>, max: usize) -> io::Result<ReadStatus> {
        if self.ended {
            return Ok(ReadStatus::End);
        }
        loop {
            while self.lo < self.hi {
                let (taken, next) = match parse_entry(&self.buf[self.lo..self.hi], &mut self.times)
                {
                    Fast::Entry {
                        stream,
                        time,
                        line,
                        next,
                    } => (self.accept(time, stream, line, out), self.lo + next),
                    Fast::Incomplete => break,
                    Fast::Other => {
                        let Some(nl) = find_byte(&self.buf[self.lo..self.hi], b'\n') else {
                            break;
                        };
                        let end = self.lo + nl;
                        (self.take_line(self.lo, end, out), end + 1)
                    }
                };
                self.lo = next;
                if !taken {
                    self.ended = true;
                    return Ok(ReadStatus::End);
                }
                if out.len() >= max {
                    return Ok(ReadStatus::More);
                }
            }
            if self.fill()? {
                continue;
            }
            // End of the current file.
            let live = match &self.cur {
                Some(c) => c.live,
                None => {
                    if !self.opts.follow {
                        self.ended = true;
                        return Ok(ReadStatus::End);
                    }
                    // No live file yet: wait for it to be created.
                    match open_source(&self.path, true)? {
                        Some((s, _)) => {
                            self.cur = Some(s);
                            continue;
                        }
                        None => return Ok(ReadStatus::CaughtUp),
                    }
                }
            };
            if !live {
                self.lo = self.hi;
                self.cur = self.queue.pop_front();
                if self.cur.is_none() && !self.opts.follow {
                    self.ended = true;
                    return Ok(ReadStatus::End);
                }
                continue;
            }
            if !self.opts.follow {
                self.ended = true;
                return Ok(ReadStatus::End);
            }
            if self.check_rotation()? {
                continue;
            }
            return Ok(ReadStatus::CaughtUp);
        }
    }

    /// Reads more of the current file into the buffer; false at its end.
    fn fill(&mut self) -> io::Result<bool> {
        let Some(cur) = self.cur.as_mut() else {
            return Ok(false);
        };
        if self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
        }
        if self.hi > MAX_LINE_BYTES {
            // No newline in sight: not a json-file line; drop it.
            self.hi = 0;
        }
        if self.buf.len() < self.hi + READ_SIZE {
            self.buf.resize(self.hi + READ_SIZE, 0);
        }
        let n = cur.file.read_at(&mut self.buf[self.hi..], cur.pos)?;
        cur.pos += n as u64;
        self.hi += n;
        Ok(n > 0)
    }

    /// At the end of the live file while following: switches to a new file
    /// after rotation or rewinds after truncation. True when there is
    /// something new to read.
    fn check_rotation(&mut self) -> io::Result<bool> {
        let Some(cur) = self.cur.as_mut() else {
            return Ok(false);
        };
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        if meta.ino() != cur.ino {
            // Rotated: the writer no longer appends to our file, but it may
            // have just before the rename.
            let our_ino = cur.ino;
            if self.fill()? {
                return Ok(true);
            }
            self.lo = self.hi;
            self.cur = None;
            self.queue_newer_than(our_ino)?;
            self.cur = self.queue.pop_front();
            return Ok(self.cur.is_some());
        }
        if meta.len() < cur.pos {
            cur.pos = 0;
            self.lo = 0;
            self.hi = 0;
            return Ok(meta.len() > 0);
        }
        Ok(false)
    }

    /// Queues the files written after the one with inode `ino` (several when
    /// the log rotated more than once between two reads): rotated ones
    /// oldest first, then the live one.
    fn queue_newer_than(&mut self, ino: u64) -> io::Result<()> {
        let mut rotated = Vec::new();
        for n in 1..=MAX_ROTATED {
            match open_source(&rotated_path(&self.path, n), false)? {
                Some((s, _)) if s.ino == ino => break,
                Some((s, _)) => rotated.push(s),
                None => break,
            }
        }
        self.queue.extend(rotated.into_iter().rev());
        if let Some((live, _)) = open_source(&self.path, true)? {
            self.queue.push_back(live);
        }
        Ok(())
    }

    /// Parses one line in another shape with the general JSON parser.
    fn take_line(&mut self, start: usize, end: usize, out: &mut Vec<LogEntry>) -> bool {
        let Ok(raw) = serde_json::from_slice::<RawEntry<'_>>(&self.buf[start..end]) else {
            return true;
        };
        let time = parse_rfc3339(&raw.time);
        let stream = if raw.stream == "stderr" {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        let line = raw.log.into_owned().into_bytes();
        self.accept(time, stream, line, out)
    }

    /// Applies the time filters; false when `until` has been passed.
    fn accept(
        &self,
        time: Option<i64>,
        stream: Stream,
        line: Vec<u8>,
        out: &mut Vec<LogEntry>,
    ) -> bool {
        let Some(time) = time else {
            return true;
        };
        if self.opts.until.is_some_and(|until| time > until) {
            return false;
        }
        if self.opts.since.is_some_and(|since| time < since) {
            return true;
        }
        out.push(LogEntry { stream, time, line });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::{JsonFileWriter, LogConfig};
    use super::*;
    use crate::timefmt::format_rfc3339_nano;

    const T0: i64 = 1_704_067_200_000_000_000;

    fn write_lines(w: &mut JsonFileWriter, from: usize, to: usize) {
        for i in from..to {
            let ts = format!("\"{}\"", format_rfc3339_nano(T0 + i as i64 * 1_000_000));
            let stream = if i % 2 == 0 {
                Stream::Stdout
            } else {
                Stream::Stderr
            };
            w.append(stream, format!("line {i}\n").as_bytes(), ts.as_bytes())
                .unwrap();
            w.flush().unwrap();
        }
    }

    fn read_all(path: &Path, opts: ReadOptions) -> Vec<LogEntry> {
        let mut r = LogReader::open(path, opts).unwrap();
        let mut out = Vec::new();
        while r.next_batch(&mut out, 7).unwrap() == ReadStatus::More {}
        out
    }

    fn numbers(entries: &[LogEntry]) -> Vec<usize> {
        entries
            .iter()
            .map(|e| {
                std::str::from_utf8(&e.line).unwrap()[5..]
                    .trim()
                    .parse()
                    .unwrap()
            })
            .collect()
    }

    fn setup(max_size: Option<u64>, max_files: u32, n: usize) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x-json.log");
        let mut w = JsonFileWriter::open(LogConfig {
            path: path.clone(),
            max_size,
            max_files,
        })
        .unwrap();
        write_lines(&mut w, 0, n);
        (dir, path)
    }

    #[test]
    fn reads_everything_in_order_across_rotation() {
        let (_d, path) = setup(Some(1000), 50, 200);
        assert!(rotated_path(&path, 3).exists());
        let all = read_all(&path, ReadOptions::default());
        assert_eq!(numbers(&all), (0..200).collect::<Vec<_>>());
        assert_eq!(all[1].stream, Stream::Stderr);
        assert_eq!(all[1].time, T0 + 1_000_000);
        assert_eq!(all[1].line, b"line 1\n");
    }

    #[test]
    fn tail_since_until() {
        let (_d, path) = setup(Some(1000), 50, 200);
        let tail = |n| {
            numbers(&read_all(
                &path,
                ReadOptions {
                    tail: Some(n),
                    ..Default::default()
                },
            ))
        };
        assert_eq!(tail(3), vec![197, 198, 199]);
        assert_eq!(tail(50), (150..200).collect::<Vec<_>>());
        assert_eq!(tail(0), Vec::<usize>::new());
        assert_eq!(tail(1000), (0..200).collect::<Vec<_>>());
        let ranged = read_all(
            &path,
            ReadOptions {
                since: Some(T0 + 10_000_000),
                until: Some(T0 + 20_000_000),
                ..Default::default()
            },
        );
        assert_eq!(numbers(&ranged), (10..=20).collect::<Vec<_>>());
    }

    #[test]
    fn missing_log_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_all(&dir.path().join("nope"), ReadOptions::default()).is_empty());
    }

    #[test]
    fn follow_survives_rotation_and_truncation() {
        // (max-file, lines written between two reads): several rotations
        // between reads must not lose the files in between.
        for (max_files, step) in [(1, 1), (3, 1), (30, 13)] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f-json.log");
            let mut w = JsonFileWriter::open(LogConfig {
                path: path.clone(),
                max_size: Some(300),
                max_files,
            })
            .unwrap();
            write_lines(&mut w, 0, 3);
            let mut r = LogReader::open(
                &path,
                ReadOptions {
                    follow: true,
                    ..Default::default()
                },
            )
            .unwrap();
            let mut out = Vec::new();
            assert_eq!(r.next_batch(&mut out, 100).unwrap(), ReadStatus::CaughtUp);
            let mut seen = numbers(&out);
            let mut i = 3;
            while i < 120 {
                write_lines(&mut w, i, i + step);
                i += step;
                out.clear();
                while r.next_batch(&mut out, 100).unwrap() == ReadStatus::More {}
                seen.extend(numbers(&out));
            }
            assert_eq!(seen, (0..i).collect::<Vec<_>>(), "max_files {max_files}");
        }
    }

    #[test]
    fn tail_on_big_file_reads_little() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big-json.log");
        let f = File::create(&path).unwrap();
        // A sparse 1 GiB prefix of zeros, then real lines.
        let gib = 1u64 << 30;
        f.set_len(gib).unwrap();
        drop(f);
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"\n").unwrap();
            for i in 0..100 {
                let ts = format_rfc3339_nano(T0 + i);
                writeln!(
                    f,
                    "{{\"log\":\"line {i}\\n\",\"stream\":\"stdout\",\"time\":\"{ts}\"}}"
                )
                .unwrap();
            }
        }
        let start = std::time::Instant::now();
        let out = read_all(
            &path,
            ReadOptions {
                tail: Some(10),
                ..Default::default()
            },
        );
        assert_eq!(numbers(&out), (90..100).collect::<Vec<_>>());
        assert!(start.elapsed() < std::time::Duration::from_millis(100));
    }
}
