//! Tar-split records: every byte of a tar stream that is not file content,
//! plus references to file contents, so that the exact stream can be
//! rebuilt from the unpacked layer. The format is vbatts/tar-split's
//! JSON lines (type 1 = file, type 2 = raw segment), gzip-compressed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{SplitSink, b64};
use crate::error::{LayerError, Result};

const FILE: u8 = 1;
const SEGMENT: u8 = 2;
/// Raw bytes are coalesced into segments of at most this size.
const MAX_SEGMENT: usize = 1 << 20;

#[derive(Serialize, Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    name_raw: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    size: Option<u64>,
    #[serde(default)]
    payload: Option<String>,
    position: u64,
}

/// Writes tar-split lines (gzip-compressed) to `out`.
pub struct SplitWriter<W: Write> {
    out: flate2::write::GzEncoder<W>,
    pending: Vec<u8>,
    position: u64,
    context: String,
    stash: Option<PathBuf>,
}

impl<W: Write> SplitWriter<W> {
    /// `context` names the file being written, for error messages.
    pub fn new(out: W, context: impl Into<String>) -> Self {
        Self {
            out: flate2::write::GzEncoder::new(out, flate2::Compression::fast()),
            pending: Vec::new(),
            position: 0,
            context: context.into(),
            stash: None,
        }
    }

    /// Keeps contents that later entries overwrite in `dir` (created when
    /// first needed), so that the stream can still be rebuilt.
    pub fn with_stash(mut self, dir: PathBuf) -> Self {
        self.stash = Some(dir);
        self
    }

    fn write_line(&mut self, line: &Line) -> Result<()> {
        let io_err = |e| LayerError::io(format!("write {}", self.context), e);
        let mut data = serde_json::to_vec(line).map_err(|e| io_err(e.into()))?;
        data.push(b'\n');
        self.out.write_all(&data).map_err(io_err)?;
        self.position += 1;
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let payload = b64::encode(&self.pending);
        self.pending.clear();
        self.write_line(&Line {
            kind: SEGMENT,
            name: None,
            name_raw: None,
            size: None,
            payload: Some(payload),
            position: self.position,
        })
    }

    /// Flushes everything and returns the underlying writer.
    pub fn finish(mut self) -> Result<W> {
        self.flush_pending()?;
        let context = self.context.clone();
        self.out
            .finish()
            .map_err(|e| LayerError::io(format!("write {context}"), e))
    }
}

impl<W: Write> SplitSink for SplitWriter<W> {
    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = MAX_SEGMENT - self.pending.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() >= MAX_SEGMENT {
                self.flush_pending()?;
            }
        }
        Ok(())
    }

    fn file(&mut self, path: &[u8], size: u64) -> Result<u64> {
        self.flush_pending()?;
        let position = self.position;
        let (name, name_raw) = match std::str::from_utf8(path) {
            Ok(s) => (Some(s.to_string()), None),
            Err(_) => (None, Some(b64::encode(path))),
        };
        self.write_line(&Line {
            kind: FILE,
            name,
            name_raw,
            size: Some(size),
            payload: None,
            position,
        })?;
        Ok(position)
    }

    fn stash_dir(&self) -> Option<&Path> {
        self.stash.as_deref()
    }
}

/// One record read back from a tar-split stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Record {
    Raw(Vec<u8>),
    File {
        path: Vec<u8>,
        size: u64,
        position: u64,
    },
}

/// Reads tar-split records from a gzip-compressed stream.
pub struct SplitReader<R: Read> {
    lines: BufReader<flate2::read::MultiGzDecoder<R>>,
    buf: Vec<u8>,
}

fn corrupt(what: impl std::fmt::Display) -> LayerError {
    LayerError::Corrupt(format!("tar-split data: {what}"))
}

impl<R: Read> SplitReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            lines: BufReader::with_capacity(256 * 1024, flate2::read::MultiGzDecoder::new(input)),
            buf: Vec::new(),
        }
    }

    pub fn next_record(&mut self) -> Result<Option<Record>> {
        self.buf.clear();
        let n = self
            .lines
            .read_until(b'\n', &mut self.buf)
            .map_err(corrupt)?;
        if n == 0 {
            return Ok(None);
        }
        let line: Line = serde_json::from_slice(&self.buf).map_err(corrupt)?;
        match line.kind {
            SEGMENT => {
                let payload = line.payload.unwrap_or_default();
                let bytes = b64::decode(&payload).ok_or_else(|| corrupt("bad base64 payload"))?;
                Ok(Some(Record::Raw(bytes)))
            }
            FILE => {
                let path = match (line.name, line.name_raw) {
                    (_, Some(raw)) => {
                        b64::decode(&raw).ok_or_else(|| corrupt("bad base64 name"))?
                    }
                    (Some(name), None) => name.into_bytes(),
                    (None, None) => return Err(corrupt("file record without a name")),
                };
                Ok(Some(Record::File {
                    path,
                    size: line.size.unwrap_or(0),
                    position: line.position,
                }))
            }
            other => Err(corrupt(format!("unknown record type {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_coalesces_raw() {
        let mut w = SplitWriter::new(Vec::new(), "test");
        w.raw(b"head").unwrap();
        w.raw(b"er").unwrap();
        w.file(b"a/b", 3).unwrap();
        w.file(&[0xff, b'x'], 1).unwrap();
        w.raw(b"tail").unwrap();
        let data = w.finish().unwrap();
        let mut r = SplitReader::new(&data[..]);
        let mut got = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            got.push(rec);
        }
        assert_eq!(
            got,
            vec![
                Record::Raw(b"header".to_vec()),
                Record::File {
                    path: b"a/b".to_vec(),
                    size: 3,
                    position: 1
                },
                Record::File {
                    path: vec![0xff, b'x'],
                    size: 1,
                    position: 2
                },
                Record::Raw(b"tail".to_vec()),
            ]
        );
    }
}
