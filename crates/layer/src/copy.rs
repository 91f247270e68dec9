//! Full copy of a directory tree preserving owners, modes, xattrs, times,
//! hard links, symlinks and FIFOs; symlinks are never followed. Used by the
//! vfs driver to start a layer from its parent.

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crate::sys;
use crate::tar::Timestamp;

struct Copier {
    dst_root: OwnedFd,
    /// Inodes with several links already copied: (dev, ino) → path in dst.
    links: HashMap<(u64, u64), Vec<u8>>,
}

fn times(st: &libc::stat) -> (Timestamp, Timestamp) {
    (
        Timestamp {
            secs: st.st_atime,
            nanos: st.st_atime_nsec as u32,
        },
        Timestamp {
            secs: st.st_mtime,
            nanos: st.st_mtime_nsec as u32,
        },
    )
}

fn with_path(e: io::Error, rel: &[u8]) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", String::from_utf8_lossy(rel)))
}

/// Copies the contents of directory `src` into the existing, empty
/// directory `dst`, and `src`'s own metadata onto `dst`.
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let src_fd = sys::open_dir_path(src)?;
    let dst_fd = sys::open_dir_path(dst)?;
    let mut copier = Copier {
        dst_root: sys::open_dir_path(dst)?,
        links: HashMap::new(),
    };
    let mut rel = Vec::new();
    copier.copy_dir(src_fd.as_fd(), dst_fd.as_fd(), &mut rel)?;
    let st = sys::fstat(src_fd.as_fd())?;
    copy_meta_fd(src_fd.as_fd(), c".", dst_fd.as_fd(), &st)?;
    let (a, m) = times(&st);
    sys::futimens(dst_fd.as_fd(), a, m)
}

impl Copier {
    fn copy_dir(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        rel: &mut Vec<u8>,
    ) -> io::Result<()> {
        for entry in sys::read_dir(src)? {
            let saved = rel.len();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(entry.name.to_bytes());
            let result = self
                .copy_entry(src, dst, &entry.name, rel)
                .map_err(|e| with_path(e, rel));
            rel.truncate(saved);
            result?;
        }
        Ok(())
    }

    fn copy_entry(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &CStr,
        rel: &mut Vec<u8>,
    ) -> io::Result<()> {
        let st = sys::fstatat_nofollow(src, name)?;
        let (atime, mtime) = times(&st);
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                sys::mkdirat(dst, name, 0o700)?;
                let s = sys::openat(
                    src,
                    name,
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                    0,
                )?;
                let d = sys::openat(
                    dst,
                    name,
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                    0,
                )?;
                self.copy_dir(s.as_fd(), d.as_fd(), rel)?;
                copy_meta_fd(src, name, d.as_fd(), &st)?;
                sys::futimens(d.as_fd(), atime, mtime)
            }
            libc::S_IFREG => {
                let key = (st.st_dev, st.st_ino);
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&key) {
                        return self.link_to(first.clone(), dst, name);
                    }
                    self.links.insert(key, rel.clone());
                }
                let s = File::from(sys::openat(
                    src,
                    name,
                    libc::O_RDONLY | libc::O_NOFOLLOW,
                    0,
                )?);
                let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
                let d = File::from(sys::openat(dst, name, flags, 0o600)?);
                copy_data(&s, &d, st.st_size as u64)?;
                copy_meta_fd(src, name, d.as_fd(), &st)?;
                sys::futimens(d.as_fd(), atime, mtime)
            }
            libc::S_IFLNK => {
                let target = sys::readlinkat(src, name)?;
                sys::symlinkat(&sys::cstring(&target)?, dst, name)?;
                sys::fchownat_nofollow(dst, name, st.st_uid, st.st_gid)?;
                copy_xattrs(src, name, dst, name)?;
                sys::utimensat_nofollow(dst, name, atime, mtime)
            }
            libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK => {
                let fmt = st.st_mode & libc::S_IFMT;
                let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
                sys::mknodat(dst, name, fmt | 0o600, major, minor)?;
                sys::fchownat_nofollow(dst, name, st.st_uid, st.st_gid)?;
                if unsafe { libc::fchmodat(dst.as_raw_fd(), name.as_ptr(), st.st_mode & 0o7777, 0) }
                    < 0
                {
                    return Err(io::Error::last_os_error());
                }
                copy_xattrs(src, name, dst, name)?;
                sys::utimensat_nofollow(dst, name, atime, mtime)
            }
            // Sockets are not copied: they are meaningless without their
            // listener.
            _ => Ok(()),
        }
    }

    fn link_to(&self, first: Vec<u8>, dst: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
        let (parent, last) = match first.iter().rposition(|&b| b == b'/') {
            Some(n) => (&first[..n], &first[n + 1..]),
            None => (&[][..], &first[..]),
        };
        let pfd = sys::open_in_root(
            self.dst_root.as_fd(),
            parent,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
        )?;
        sys::linkat(pfd.as_fd(), &sys::cstring(last)?, dst, name)
    }
}

/// Owner, then mode (chown clears setuid), then xattrs.
fn copy_meta_fd(
    src_dir: BorrowedFd<'_>,
    name: &CStr,
    dst: BorrowedFd<'_>,
    st: &libc::stat,
) -> io::Result<()> {
    sys::fchown(dst, st.st_uid, st.st_gid)?;
    sys::fchmod(dst, st.st_mode & 0o7777)?;
    for xname in sys::llistxattr_at(src_dir, name)? {
        let value = sys::lgetxattr_at(src_dir, name, &xname)?;
        ignore_unsupported(sys::fsetxattr(dst, &xname, &value))?;
    }
    Ok(())
}

fn copy_xattrs(
    src_dir: BorrowedFd<'_>,
    name: &CStr,
    dst_dir: BorrowedFd<'_>,
    dst_name: &CStr,
) -> io::Result<()> {
    for xname in sys::llistxattr_at(src_dir, name)? {
        let value = sys::lgetxattr_at(src_dir, name, &xname)?;
        ignore_unsupported(sys::lsetxattr_at(dst_dir, dst_name, &xname, &value))?;
    }
    Ok(())
}

fn ignore_unsupported(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOTSUP)) => Ok(()),
        other => other,
    }
}

/// Copies file data: a reflink where the filesystem can, else an in-kernel
/// copy, else read/write.
fn copy_data(src: &File, dst: &File, len: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    if unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) } == 0 {
        return Ok(());
    }
    let mut left = len;
    while left > 0 {
        let chunk = left.min(1 << 30) as usize;
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                std::ptr::null_mut(),
                dst.as_raw_fd(),
                std::ptr::null_mut(),
                chunk,
                0,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP | libc::EINVAL) => {
                    return std::io::copy(&mut &*src, &mut &*dst).map(drop);
                }
                _ => return Err(err),
            }
        }
        if n == 0 {
            break;
        }
        left -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink};

    #[test]
    fn copies_everything_faithfully() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let s = src.path();
        fs::create_dir_all(s.join("a/b")).unwrap();
        fs::write(s.join("a/b/f"), vec![5u8; 100_000]).unwrap();
        std::os::unix::fs::chown(s.join("a/b/f"), Some(12), Some(34)).unwrap();
        fs::set_permissions(s.join("a/b/f"), fs::Permissions::from_mode(0o4750)).unwrap();
        fs::hard_link(s.join("a/b/f"), s.join("a/hard")).unwrap();
        symlink("/etc/passwd", s.join("a/sym")).unwrap();
        unsafe {
            let p = sys::path_cstring(&s.join("fifo")).unwrap();
            assert_eq!(libc::mkfifo(p.as_ptr(), 0o640), 0);
            let p = sys::path_cstring(&s.join("a/b/f")).unwrap();
            assert_eq!(
                libc::setxattr(p.as_ptr(), c"user.k".as_ptr(), b"v".as_ptr().cast(), 1, 0),
                0
            );
        }
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::options()
            .write(true)
            .open(s.join("a/b/f"))
            .unwrap()
            .set_modified(when)
            .unwrap();
        fs::File::open(s.join("a"))
            .unwrap()
            .set_modified(when)
            .unwrap();

        copy_tree(s, dst.path()).unwrap();
        let d = dst.path();
        let m = fs::metadata(d.join("a/b/f")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o4750);
        assert_eq!(
            (m.uid(), m.gid(), m.len(), m.mtime()),
            (12, 34, 100_000, 1_000_000)
        );
        assert_eq!(m.ino(), fs::metadata(d.join("a/hard")).unwrap().ino());
        assert_eq!(
            fs::read_link(d.join("a/sym")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert!(
            fs::symlink_metadata(d.join("fifo"))
                .unwrap()
                .file_type()
                .is_fifo()
        );
        assert_eq!(fs::metadata(d.join("a")).unwrap().mtime(), 1_000_000);
        let p = sys::path_cstring(&d.join("a/b/f")).unwrap();
        let mut buf = [0u8; 8];
        let n =
            unsafe { libc::getxattr(p.as_ptr(), c"user.k".as_ptr(), buf.as_mut_ptr().cast(), 8) };
        assert_eq!(&buf[..n as usize], b"v");
        assert_eq!(fs::read(d.join("a/hard")).unwrap(), vec![5u8; 100_000]);
    }
}
