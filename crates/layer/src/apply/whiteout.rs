//! OCI whiteouts: `.wh.<name>` and opaque directories (`.wh..wh..opq`),
//! in overlay form or applied to a full copy.

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd};

use super::{Applier, WhiteoutMode, cname, entry_err, host_err, is_errno, path};
use crate::error::Result;
use crate::sys;

impl Applier {
    /// `.wh.<target>` in directory `parent`.
    pub(super) fn whiteout(&mut self, parent: &[u8], target: &[u8]) -> Result<()> {
        let rel = path::join(parent, target);
        let c = cname(target)?;
        match self.mode {
            WhiteoutMode::Overlay => {
                let pfd = self.parent(parent)?;
                self.create(pfd.as_fd(), &c, &rel, "create whiteout", || {
                    sys::mknodat(pfd.as_fd(), &c, libc::S_IFCHR, 0, 0)
                })
            }
            WhiteoutMode::Naive => {
                // OCI: a whiteout hides only what lower layers hold.
                if self.written.contains(&rel) {
                    return Ok(());
                }
                let pfd = match sys::open_in_root(
                    self.root.as_fd(),
                    parent,
                    libc::O_PATH | libc::O_DIRECTORY,
                    0,
                ) {
                    Ok(fd) => fd,
                    Err(e) if is_errno(&e, libc::ENOENT) || is_errno(&e, libc::ENOTDIR) => {
                        return Ok(());
                    }
                    Err(e) => return Err(entry_err("open directory", parent, e)),
                };
                self.remove_entry(pfd.as_fd(), &c, &rel)
            }
        }
    }

    /// `.wh..wh..opq` in directory `dir`.
    pub(super) fn opaque(&mut self, dir: &[u8]) -> Result<()> {
        let pfd = self.parent(dir)?;
        let fd = sys::openat(pfd.as_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)
            .map_err(|e| entry_err("open directory", dir, e))?;
        match self.mode {
            WhiteoutMode::Overlay => sys::fsetxattr(fd.as_fd(), c"trusted.overlay.opaque", b"y")
                .map_err(|e| host_err("mark opaque", dir, e)),
            WhiteoutMode::Naive => {
                self.cache = None;
                let mut rel = dir.to_vec();
                purge_unwritten(fd.as_fd(), &mut rel, &self.written)
            }
        }
    }
}

/// Removes every entry below `dir` (at `rel`) that this layer did not write;
/// directories this layer wrote are kept and searched in turn.
fn purge_unwritten(
    dir: BorrowedFd<'_>,
    rel: &mut Vec<u8>,
    written: &HashSet<Vec<u8>>,
) -> Result<()> {
    let entries = sys::read_dir(dir).map_err(|e| host_err("read directory", rel, e))?;
    for entry in entries {
        let saved = rel.len();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(entry.name.to_bytes());
        let result = if !written.contains(rel.as_slice()) {
            sys::remove_all_at(dir, &entry.name).map_err(|e| host_err("remove", rel, e))
        } else {
            match sys::openat(
                dir,
                &entry.name,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                0,
            ) {
                Ok(child) => purge_unwritten(child.as_fd(), rel, written),
                // Not a directory (or a symlink): kept as it is.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => Ok(()),
                Err(e) => Err(host_err("open directory", rel, e)),
            }
        };
        rel.truncate(saved);
        result?;
    }
    Ok(())
}
