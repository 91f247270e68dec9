//! Keeping contents that a later entry of the same layer replaces, so that
//! the tar-split can still rebuild the exact stream.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

use tracing::warn;

use super::{Applier, cname, lossy};
use crate::error::{LayerError, Result};
use crate::sys;

impl Applier {
    /// Before `rel` (and everything below it) is removed, keeps the
    /// contents the tar-split refers to in the stash, so that the exact
    /// stream can still be rebuilt (archives may hold a path twice).
    pub(super) fn preserve_refs(&mut self, rel: &[u8]) -> Result<()> {
        if self.refs.is_empty() {
            return Ok(());
        }
        let mut doomed = Vec::new();
        if let Some(record) = self.refs.remove(rel) {
            doomed.push((rel.to_vec(), record));
        }
        let (mut lo, mut hi) = (rel.to_vec(), rel.to_vec());
        lo.push(b'/');
        hi.push(b'/' + 1);
        let below: Vec<Vec<u8>> = self.refs.range(lo..hi).map(|(k, _)| k.clone()).collect();
        for key in below {
            if let Some(record) = self.refs.remove(&key) {
                doomed.push((key, record));
            }
        }
        for (path, record) in doomed {
            self.stash_file(&path, record)?;
        }
        Ok(())
    }

    fn stash_file(&mut self, path: &[u8], record: u64) -> Result<()> {
        let Some(dir) = &self.stash else {
            warn!(path = %lossy(path), "content replaced within the layer; its tar cannot be rebuilt exactly");
            return Ok(());
        };
        if self.stash_fd.is_none() {
            berth_fsutil::create_dir_all_mode(dir, 0o700)
                .map_err(|e| LayerError::io(format!("create {}", dir.display()), e))?;
            let fd = sys::open_dir_path(dir)
                .map_err(|e| LayerError::io(format!("open {}", dir.display()), e))?;
            self.stash_fd = Some(fd);
        }
        let Some(stash) = &self.stash_fd else {
            return Ok(());
        };
        let src = match sys::open_in_root(
            self.root.as_fd(),
            path,
            libc::O_RDONLY | libc::O_NOFOLLOW,
            0,
        ) {
            Ok(fd) => fd,
            Err(e) => {
                warn!(path = %lossy(path), error = %e, "cannot keep replaced content");
                return Ok(());
            }
        };
        let name = cname(record.to_string().as_bytes())?;
        let stash_err = |e| LayerError::io(format!("keep replaced content of {}", lossy(path)), e);
        if sys::link_fd(src.as_fd(), stash.as_fd(), &name).is_ok() {
            return Ok(());
        }
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let mut dst =
            File::from(sys::openat(stash.as_fd(), &name, flags, 0o600).map_err(stash_err)?);
        io::copy(&mut File::from(src), &mut dst).map_err(stash_err)?;
        Ok(())
    }
}
