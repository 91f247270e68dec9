//! Writing json-file logs: entry encoding, buffered appends with one write
//! per batch, and rotation on `max-size` / `max-file` as Docker does (the
//! size is checked before each entry, so a file may exceed `max-size` by
//! one entry).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;

use super::splitter::LineSplitter;
use super::{LogConfig, Stream, rotated_path};
use crate::jsonstr::push_json_string;
use crate::timefmt;

/// Appends one json-file line (with its trailing newline). `time_json` is
/// the quoted RFC 3339 timestamp.
pub fn encode_entry(out: &mut Vec<u8>, stream: Stream, line: &[u8], time_json: &[u8]) {
    out.extend_from_slice(b"{\"log\":");
    push_json_string(out, line);
    out.extend_from_slice(match stream {
        Stream::Stdout => b",\"stream\":\"stdout\",\"time\":",
        Stream::Stderr => b",\"stream\":\"stderr\",\"time\":",
    });
    out.extend_from_slice(time_json);
    out.extend_from_slice(b"}\n");
}

/// One container's log file set.
#[derive(Debug)]
pub struct JsonFileWriter {
    cfg: LogConfig,
    file: File,
    /// Bytes in the current file, including what is buffered.
    size: u64,
    buf: Vec<u8>,
}

fn open_log(cfg: &LogConfig, truncate: bool) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .truncate(false)
        .mode(0o640)
        .custom_flags(if truncate { libc::O_TRUNC } else { 0 })
        .open(&cfg.path)
}

impl JsonFileWriter {
    /// Opens (appending to) the log file.
    pub fn open(cfg: LogConfig) -> io::Result<Self> {
        let file = open_log(&cfg, false)?;
        let size = file.metadata()?.len();
        Ok(JsonFileWriter {
            cfg,
            file,
            size,
            buf: Vec::new(),
        })
    }

    /// Buffers one entry, rotating first when the file is full.
    pub fn append(&mut self, stream: Stream, line: &[u8], time_json: &[u8]) -> io::Result<()> {
        if self.cfg.max_size.is_some_and(|max| self.size >= max) {
            self.rotate()?;
        }
        let before = self.buf.len();
        encode_entry(&mut self.buf, stream, line, time_json);
        self.size += (self.buf.len() - before) as u64;
        Ok(())
    }

    /// Writes what is buffered. On failure the buffered entries are lost
    /// (as with Docker, a full disk drops log lines, never blocks).
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let res = self.file.write_all(&self.buf);
        if res.is_err() {
            self.size = self.file.metadata().map(|m| m.len()).unwrap_or(self.size);
        }
        self.buf.clear();
        if self.buf.capacity() > 1 << 20 {
            self.buf.shrink_to(64 << 10);
        }
        res
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.flush()?;
        if self.cfg.max_files < 2 {
            self.file = open_log(&self.cfg, true)?;
        } else {
            for n in (2..self.cfg.max_files).rev() {
                match fs::rename(
                    rotated_path(&self.cfg.path, n - 1),
                    rotated_path(&self.cfg.path, n),
                ) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            fs::rename(&self.cfg.path, rotated_path(&self.cfg.path, 1))?;
            self.file = open_log(&self.cfg, true)?;
        }
        self.size = 0;
        Ok(())
    }
}

/// A container's stdout and stderr going to its log: line splitting per
/// stream plus the writer. One timestamp per chunk read.
#[derive(Debug)]
pub struct LogSink {
    writer: JsonFileWriter,
    split: [LineSplitter; 2],
    time_json: Vec<u8>,
}

impl LogSink {
    pub fn open(cfg: LogConfig) -> io::Result<Self> {
        Ok(LogSink {
            writer: JsonFileWriter::open(cfg)?,
            split: [LineSplitter::default(), LineSplitter::default()],
            time_json: Vec::with_capacity(40),
        })
    }

    fn stamp(&mut self, now: i64) {
        self.time_json.clear();
        self.time_json.push(b'"');
        timefmt::push_rfc3339_nano(&mut self.time_json, now);
        self.time_json.push(b'"');
    }

    /// Logs a chunk read from `stream` at time `now` (ns since the epoch).
    pub fn write(&mut self, stream: Stream, data: &[u8], now: i64) -> io::Result<()> {
        self.stamp(now);
        let LogSink {
            writer,
            split,
            time_json,
        } = self;
        let mut err = None;
        split[stream as usize].push(data, |line, _| {
            if let Err(e) = writer.append(stream, line, time_json) {
                err.get_or_insert(e);
            }
        });
        let flushed = writer.flush();
        match err {
            Some(e) => Err(e),
            None => flushed,
        }
    }

    /// `stream` ended: logs its unfinished line.
    pub fn finish(&mut self, stream: Stream, now: i64) -> io::Result<()> {
        if !self.split[stream as usize].has_pending() {
            return Ok(());
        }
        self.stamp(now);
        let LogSink {
            writer,
            split,
            time_json,
        } = self;
        let mut err = None;
        split[stream as usize].finish(|line, _| {
            if let Err(e) = writer.append(stream, line, time_json) {
                err.get_or_insert(e);
            }
        });
        let flushed = writer.flush();
        match err {
            Some(e) => Err(e),
            None => flushed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &std::path::Path, max_size: Option<u64>, max_files: u32) -> LogConfig {
        LogConfig {
            path: dir.join("c-json.log"),
            max_size,
            max_files,
        }
    }

    #[test]
    fn entry_format_matches_docker() {
        let mut v = Vec::new();
        encode_entry(
            &mut v,
            Stream::Stderr,
            b"a<b\n",
            b"\"2024-01-01T00:00:00.1Z\"",
        );
        assert_eq!(
            std::str::from_utf8(&v).unwrap(),
            "{\"log\":\"a\\u003cb\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-01T00:00:00.1Z\"}\n"
        );
    }

    #[test]
    fn sink_writes_lines_and_partials() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(dir.path(), None, 1);
        let mut sink = LogSink::open(c.clone()).unwrap();
        sink.write(Stream::Stdout, b"one\ntw", 1_704_067_200_000_000_000)
            .unwrap();
        sink.write(Stream::Stderr, b"err\n", 1_704_067_200_500_000_000)
            .unwrap();
        sink.write(Stream::Stdout, b"o\n", 1_704_067_201_000_000_000)
            .unwrap();
        sink.write(Stream::Stdout, b"tail", 1_704_067_201_000_000_000)
            .unwrap();
        sink.finish(Stream::Stdout, 1_704_067_202_000_000_000)
            .unwrap();
        let text = fs::read_to_string(&c.path).unwrap();
        let want = concat!(
            "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}\n",
            "{\"log\":\"err\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-01T00:00:00.5Z\"}\n",
            "{\"log\":\"two\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:01Z\"}\n",
            "{\"log\":\"tail\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:02Z\"}\n",
        );
        assert_eq!(text, want);
    }

    #[test]
    fn rotates_like_docker() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(dir.path(), Some(200), 3);
        let mut w = JsonFileWriter::open(c.clone()).unwrap();
        for i in 0..20 {
            w.append(
                Stream::Stdout,
                format!("line {i:02}\n").as_bytes(),
                b"\"t\"",
            )
            .unwrap();
            w.flush().unwrap();
        }
        let read = |n| fs::read_to_string(rotated_path(&c.path, n)).unwrap_or_default();
        assert!(!rotated_path(&c.path, 3).exists());
        let (cur, one, two) = (read(0), read(1), read(2));
        assert!(cur.contains("line 19"));
        // Every file but the current one reached the limit, by at most one entry.
        for f in [&one, &two] {
            assert!(f.len() >= 200 && f.len() < 200 + 50, "{}", f.len());
        }
        let all = format!("{two}{one}{cur}");
        let nums: Vec<_> = all.lines().map(|l| l[13..15].to_string()).collect();
        let first: usize = nums[0].parse().unwrap();
        assert!(first > 0);
        let want: Vec<_> = (first..20).map(|i| format!("{i:02}")).collect();
        assert_eq!(nums, want);
    }

    #[test]
    fn max_file_one_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(dir.path(), Some(100), 1);
        let mut w = JsonFileWriter::open(c.clone()).unwrap();
        for i in 0..10 {
            w.append(Stream::Stdout, format!("line {i}\n").as_bytes(), b"\"t\"")
                .unwrap();
            w.flush().unwrap();
        }
        assert!(!rotated_path(&c.path, 1).exists());
        let text = fs::read_to_string(&c.path).unwrap();
        assert!(text.len() < 150);
        assert!(text.contains("line 9"));
    }
}
