//! Rebuilding a layer's exact tar stream from its tar-split record and the
//! files in its driver directory, verified against the diff ID.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use super::{LayerStore, disk};
use crate::digest::{Digest, Hasher};
use crate::error::{LayerError, Result};
use crate::sys;
use crate::tar::{Record, SplitReader};

/// Hashes and counts what is written through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl LayerStore {
    /// Writes the layer's uncompressed tar, byte for byte the stream it was
    /// registered from, and checks its sha256 against the diff ID
    /// (`Corrupt` otherwise; the output is then incomplete or wrong and
    /// must be discarded). Returns the bytes written.
    pub fn write_diff_tar(&self, chain_id: &Digest, out: &mut dyn Write) -> Result<u64> {
        let layer = self.pin(chain_id)?;
        let info = layer.info();
        let split_path = self.layout.layer(chain_id).join(disk::TAR_SPLIT);
        let split_file = File::open(&split_path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                LayerError::Corrupt(format!("tar-split data of layer {chain_id} is missing"))
            }
            _ => LayerError::io(format!("open {}", split_path.display()), e),
        })?;
        let diff_dir = self.driver.diff_dir(&info.cache_id);
        let root = sys::open_dir_path(&diff_dir).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                LayerError::Corrupt(format!("data of layer {chain_id} is missing"))
            }
            _ => LayerError::io(format!("open {}", diff_dir.display()), e),
        })?;
        let stash_dir = self.layout.layer(chain_id).join(disk::TAR_SPLIT_STASH);
        let stashed: HashSet<u64> = match std::fs::read_dir(&stash_dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect(),
            Err(_) => HashSet::new(),
        };
        let mut records = SplitReader::new(BufReader::new(split_file));
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(256 * 1024, out),
            hasher: Hasher::new(),
        };
        let write_err = |e| LayerError::io(format!("write tar of layer {chain_id}"), e);
        let mut buf = vec![0u8; 256 * 1024];
        while let Some(record) = records.next_record()? {
            match record {
                Record::Raw(bytes) => w.write_all(&bytes).map_err(write_err)?,
                Record::File {
                    path,
                    size,
                    position,
                } => {
                    let name = String::from_utf8_lossy(&path).into_owned();
                    let corrupt = |what: String| {
                        LayerError::Corrupt(format!("layer {chain_id}: file {name:?} {what}"))
                    };
                    let opened = if stashed.contains(&position) {
                        // Content that a later entry of the layer replaced.
                        File::open(stash_dir.join(position.to_string())).map(OwnedFd::from)
                    } else {
                        // Resolved inside the layer directory: never leaves it.
                        sys::open_in_root(root.as_fd(), &path, libc::O_RDONLY | libc::O_NOFOLLOW, 0)
                    };
                    let fd = opened.map_err(|e| corrupt(format!("cannot be opened: {e}")))?;
                    let st = sys::fstat(fd.as_fd())
                        .map_err(|e| corrupt(format!("cannot be read: {e}")))?;
                    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_size as u64 != size {
                        return Err(corrupt(format!("is not a regular file of {size} bytes")));
                    }
                    let mut file = File::from(fd);
                    let mut left = size;
                    while left > 0 {
                        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                        let n = match file.read(&mut buf[..want]) {
                            Ok(0) => return Err(corrupt(format!("is shorter than {size} bytes"))),
                            Ok(n) => n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(corrupt(format!("cannot be read: {e}"))),
                        };
                        w.write_all(&buf[..n]).map_err(write_err)?;
                        left -= n as u64;
                    }
                }
            }
        }
        w.flush().map_err(write_err)?;
        let written = w.hasher.len();
        let digest = w.hasher.finish();
        if digest != info.diff_id {
            return Err(LayerError::Corrupt(format!(
                "layer {chain_id}: rebuilt tar has digest {digest}, expected diff ID {}",
                info.diff_id
            )));
        }
        Ok(written)
    }
}
