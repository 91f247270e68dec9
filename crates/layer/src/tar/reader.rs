//! The streaming tar reader: 512-byte framing, GNU long names, PAX headers,
//! hashing of every byte consumed, and a split of the stream into raw
//! (non-content) bytes and file contents.

use std::io::{self, Read, Write};

use super::SplitSink;
use super::hash_pipe::HashPipe;
use super::header::{self, BLOCK, MAX_ENTRY_SIZE, invalid, is_zero_block};
use super::pax::{PaxExt, Timestamp};
use crate::decompress::input_error;
use crate::digest::Digest;
use crate::error::{LayerError, Result};

/// Largest PAX header or GNU long name accepted.
const MAX_SPECIAL_SIZE: u64 = 1 << 20;
const BUFFER_SIZE: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Regular,
    Dir,
    Symlink,
    HardLink,
    Char,
    Block,
    Fifo,
    /// A type this reader passes through but that has no file meaning
    /// (e.g. `V` volume labels) or that is unknown; the typeflag byte.
    Other(u8),
}

/// One archive member, with its metadata merged from PAX and GNU headers.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: Vec<u8>,
    pub link: Vec<u8>,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: Timestamp,
    pub atime: Timestamp,
    /// Bytes of content that follow the header.
    pub size: u64,
    pub devmajor: u32,
    pub devminor: u32,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// What [`TarReader::copy_content`] copied.
#[derive(Debug, Clone, Copy)]
pub struct Copied {
    pub bytes: u64,
    /// The tar-split record that refers to this content, if recording.
    pub record: Option<u64>,
}

pub struct TarReader<'s, R> {
    input: R,
    /// Bytes `..end` of `buf` were read from the input; `..pos` consumed.
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    eof: bool,
    hash: HashPipe,
    consumed: u64,
    split: Option<&'s mut dyn SplitSink>,
    global: PaxExt,
    /// Content bytes of the current entry not consumed yet.
    remaining: u64,
    /// Padding bytes after the current entry's content.
    padding: u64,
    finished: bool,
}

fn padding_for(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn truncated(what: &str) -> LayerError {
    invalid(format!("unexpected end of tar stream ({what})"))
}

impl<'s, R: Read> TarReader<'s, R> {
    /// A reader over an uncompressed tar stream. When `split` is given it
    /// receives every byte, in order, as raw bytes or file references.
    pub fn new(input: R, split: Option<&'s mut dyn SplitSink>) -> Self {
        Self {
            input,
            buf: vec![0u8; BUFFER_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
            eof: false,
            hash: HashPipe::new(BUFFER_SIZE),
            consumed: 0,
            split,
            global: PaxExt::default(),
            remaining: 0,
            padding: 0,
            finished: false,
        }
    }

    /// Makes buffered bytes available; false at the end of the input.
    fn fill(&mut self) -> Result<bool> {
        if self.pos < self.end {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        // Everything read so far is consumed: hand the buffer to the hasher.
        let used = std::mem::take(&mut self.buf);
        self.buf = self.hash.swap(used, self.end)?;
        self.pos = 0;
        self.end = 0;
        loop {
            match self.input.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.pos = 0;
                    self.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(input_error(e)),
            }
        }
    }

    /// Consumes up to `n` bytes as raw stream bytes, appending them to
    /// `out` if given. Returns how many were available.
    fn take_raw(&mut self, mut n: u64, mut out: Option<&mut Vec<u8>>) -> Result<u64> {
        let mut taken = 0;
        while n > 0 && self.fill()? {
            let k = (self.end - self.pos).min(usize::try_from(n).unwrap_or(usize::MAX));
            let chunk = &self.buf[self.pos..self.pos + k];
            if let Some(split) = self.split.as_deref_mut() {
                split.raw(chunk)?;
            }
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(chunk);
            }
            self.pos += k;
            self.consumed += k as u64;
            n -= k as u64;
            taken += k as u64;
        }
        Ok(taken)
    }

    /// Reads one header block; `None` at a clean end of input.
    fn read_block(&mut self) -> Result<Option<[u8; BLOCK]>> {
        let mut data = Vec::with_capacity(BLOCK);
        match self.take_raw(BLOCK as u64, Some(&mut data))? {
            0 => Ok(None),
            n if n == BLOCK as u64 => {
                let mut block = [0u8; BLOCK];
                block.copy_from_slice(&data);
                Ok(Some(block))
            }
            _ => Err(truncated("partial header block")),
        }
    }

    /// Reads the data of a PAX header or GNU long name, and its padding.
    fn read_special(&mut self, size: u64, what: &str) -> Result<Vec<u8>> {
        if size > MAX_SPECIAL_SIZE {
            return Err(invalid(format!("{what} is too large ({size} bytes)")));
        }
        let mut data = Vec::with_capacity(size as usize);
        if self.take_raw(size, Some(&mut data))? != size {
            return Err(truncated(what));
        }
        if self.take_raw(padding_for(size), None)? != padding_for(size) {
            return Err(truncated(what));
        }
        Ok(data)
    }

    /// Consumes what is left of the current entry (content as raw bytes,
    /// then padding).
    fn skip_current(&mut self) -> Result<()> {
        if self.remaining > 0 {
            let want = self.remaining;
            self.remaining = 0;
            if self.take_raw(want, None)? != want {
                return Err(truncated("file content"));
            }
        }
        self.consume_padding()
    }

    fn consume_padding(&mut self) -> Result<()> {
        let want = std::mem::take(&mut self.padding);
        match self.take_raw(want, None)? {
            // Like Go's archive/tar: an input that stops exactly after the
            // last content byte ends the archive.
            0 if want > 0 => {
                self.finished = true;
                Ok(())
            }
            n if n == want => Ok(()),
            _ => Err(truncated("padding")),
        }
    }

    /// Everything after the end-of-archive marker is kept as raw bytes so
    /// that the digest and tar-split cover the whole stream.
    fn drain_trailing(&mut self) -> Result<()> {
        while self.take_raw(u64::MAX, None)? > 0 {}
        Ok(())
    }

    /// The next entry, or `None` after the end of the archive.
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        self.skip_current()?;
        if self.finished {
            return Ok(None);
        }
        let mut local = PaxExt::default();
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pending = false;
        loop {
            let Some(block) = self.read_block()? else {
                if pending {
                    return Err(truncated("extended header without an entry"));
                }
                self.finished = true;
                return Ok(None);
            };
            if is_zero_block(&block) {
                if pending {
                    return Err(invalid("extended header without an entry"));
                }
                if let Some(second) = self.read_block()?
                    && !is_zero_block(&second)
                {
                    return Err(invalid("a single zero block in the middle of the archive"));
                }
                self.drain_trailing()?;
                self.finished = true;
                return Ok(None);
            }
            let h = header::parse(&block)?;
            match h.typeflag {
                b'x' => {
                    let data = self.read_special(h.size, "PAX header")?;
                    local.merge_records(&data)?;
                    pending = true;
                }
                b'g' => {
                    let data = self.read_special(h.size, "PAX global header")?;
                    self.global.merge_records(&data)?;
                }
                b'L' => {
                    long_name = Some(gnu_string(self.read_special(h.size, "GNU long name")?)?);
                    pending = true;
                }
                b'K' => {
                    long_link = Some(gnu_string(
                        self.read_special(h.size, "GNU long link name")?,
                    )?);
                    pending = true;
                }
                b'S' => return Err(invalid("sparse files are not supported")),
                b'M' => return Err(invalid("multi-volume archives are not supported")),
                b'N' => return Err(invalid("old GNU long names (type N) are not supported")),
                _ => return self.make_entry(h, local, long_name, long_link).map(Some),
            }
        }
    }

    fn make_entry(
        &mut self,
        h: header::RawHeader,
        local: PaxExt,
        long_name: Option<Vec<u8>>,
        long_link: Option<Vec<u8>>,
    ) -> Result<Entry> {
        // Global records apply to metadata only: a global path or size
        // would make every later entry the same file or break the framing.
        let global = PaxExt {
            path: None,
            linkpath: None,
            size: None,
            ..self.global.clone()
        };
        let pax = global.overlay(local);
        let path = pax.path.or(long_name).unwrap_or(h.name);
        let link = pax.linkpath.or(long_link).unwrap_or(h.linkname);
        let size = pax.size.unwrap_or(h.size);
        if size > MAX_ENTRY_SIZE {
            return Err(invalid(format!("entry size {size} is too large")));
        }
        let kind = match h.typeflag {
            b'0' | b'7' => EntryKind::Regular,
            0 if path.ends_with(b"/") => EntryKind::Dir,
            0 => EntryKind::Regular,
            b'1' => EntryKind::HardLink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::Char,
            b'4' => EntryKind::Block,
            b'5' | b'D' => EntryKind::Dir,
            b'6' => EntryKind::Fifo,
            other => EntryKind::Other(other),
        };
        // As in Go's archive/tar, these types never carry data, whatever the
        // size field says.
        let header_only = matches!(h.typeflag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6');
        let data = if header_only { 0 } else { size };
        self.remaining = data;
        self.padding = padding_for(data);
        let mtime = pax.mtime.unwrap_or(Timestamp {
            secs: h.mtime,
            nanos: 0,
        });
        let atime = pax
            .atime
            .or(h.atime.map(|secs| Timestamp { secs, nanos: 0 }))
            .unwrap_or(mtime);
        Ok(Entry {
            path,
            link,
            kind,
            mode: h.mode,
            uid: pax.uid.unwrap_or(h.uid),
            gid: pax.gid.unwrap_or(h.gid),
            mtime,
            atime,
            size: data,
            devmajor: h.devmajor,
            devminor: h.devminor,
            xattrs: pax.xattrs,
        })
    }

    /// Copies the current entry's content to `out`, recording it in the
    /// split as the content of `split_path`. Write failures are host
    /// errors (`Io`); read failures are input errors.
    pub fn copy_content(&mut self, out: &mut dyn Write, split_path: &[u8]) -> Result<Copied> {
        let total = self.remaining;
        if total == 0 {
            self.consume_padding()?;
            return Ok(Copied {
                bytes: 0,
                record: None,
            });
        }
        let record = match self.split.as_deref_mut() {
            Some(split) => Some(split.file(split_path, total)?),
            None => None,
        };
        while self.remaining > 0 {
            if !self.fill()? {
                return Err(truncated("file content"));
            }
            let k =
                (self.end - self.pos).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
            let chunk = &self.buf[self.pos..self.pos + k];
            out.write_all(chunk).map_err(|e| {
                LayerError::io(format!("write {}", String::from_utf8_lossy(split_path)), e)
            })?;
            self.pos += k;
            self.consumed += k as u64;
            self.remaining -= k as u64;
        }
        self.consume_padding()?;
        Ok(Copied {
            bytes: total,
            record,
        })
    }

    /// Where the split keeps contents that later entries overwrite.
    pub fn stash_dir(&self) -> Option<&std::path::Path> {
        self.split.as_deref().and_then(|s| s.stash_dir())
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.consumed
    }

    /// The digest and size of the whole stream; call after `next_entry`
    /// returned `None`.
    pub fn finish(mut self) -> Result<(Digest, u64)> {
        while !self.finished {
            if self.next_entry()?.is_none() {
                break;
            }
        }
        let digest = self.hash.finish(self.buf, self.end)?;
        Ok((digest, self.consumed))
    }
}

/// A GNU long name: trailing NULs trimmed, no NUL inside.
fn gnu_string(mut data: Vec<u8>) -> Result<Vec<u8>> {
    while data.last() == Some(&0) {
        data.pop();
    }
    if data.contains(&0) {
        return Err(invalid("NUL byte in a GNU long name"));
    }
    Ok(data)
}
