//! A directory tree seen as a container sees its root filesystem: every
//! path is resolved with `openat2(RESOLVE_IN_ROOT)` from a descriptor of
//! the root, so `..` and symlinks (absolute or relative) are interpreted
//! inside the root and never lead out of it. Used to stat, archive and
//! extract paths of a container (`/containers/{id}/archive`).

mod tarball;
#[cfg(test)]
mod tests;

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub use tarball::{TarSummary, write_tar};

use crate::sys;

/// Symlinks followed before a resolution gives up, as Docker's
/// `FollowSymlinkInScope`.
const MAX_SYMLINKS: usize = 255;

/// The type bits and metadata of a file, from `fstat`.
pub type Stat = libc::stat;

pub fn is_dir(st: &Stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

pub fn is_symlink(st: &Stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

/// Opens the directory `path` (a host path, trusted) as the root of a tree.
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    sys::open_dir_path(path)
}

/// The components of `path` (absolute or relative to the root), without
/// empty and `.` components; `..` is kept for the resolver.
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

/// `path` cleaned lexically the way Go's `filepath.Clean` does relative to
/// `/`, without the leading slash: `a/./b/../c` → `a/c`, `../x` → `x`.
pub fn clean(path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in components(path) {
        if c == b".." {
            parts.pop();
        } else {
            parts.push(c);
        }
    }
    parts.join(&b'/')
}

/// Opens `path` inside `root` as an `O_PATH` descriptor. Every component
/// but the last is followed when it is a symlink (inside the root); the
/// last one too when `follow_last`. `dir` requires a directory (`ENOTDIR`
/// otherwise).
pub fn open(
    root: BorrowedFd<'_>,
    path: &[u8],
    follow_last: bool,
    dir: bool,
) -> io::Result<OwnedFd> {
    let mut flags = libc::O_PATH;
    if !follow_last {
        flags |= libc::O_NOFOLLOW;
    }
    if dir {
        flags |= libc::O_DIRECTORY;
    }
    // A trailing slash would make the kernel follow the last component.
    sys::open_in_root(root, &clean(path), flags, 0)
}

pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    sys::fstat(fd)
}

/// The target of the symlink opened (`O_PATH | O_NOFOLLOW`) as `fd`.
pub fn readlink(fd: BorrowedFd<'_>) -> io::Result<Vec<u8>> {
    sys::readlinkat(fd, c"")
}

/// Docker's `FollowSymlinkInScope(path, "/")`: `path` with every symlink
/// resolved inside the root, as an absolute path. Components that do not
/// exist are kept as they are, so a dangling link resolves as far as it
/// can. More than 255 links is `ELOOP`.
pub fn follow_in_scope(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<Vec<u8>> {
    let mut resolved: Vec<Vec<u8>> = Vec::new();
    // Components still to walk, the next one last.
    let mut pending: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
    let mut links = 0;
    while let Some(comp) = pending.pop() {
        if comp == b".." {
            resolved.pop();
            continue;
        }
        let mut candidate = resolved.join(&b'/');
        if !candidate.is_empty() {
            candidate.push(b'/');
        }
        candidate.extend_from_slice(&comp);
        let fd = match sys::open_in_root(root, &candidate, libc::O_PATH | libc::O_NOFOLLOW, 0) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                resolved.push(comp);
                continue;
            }
            Err(e) => return Err(e),
        };
        if !is_symlink(&sys::fstat(fd.as_fd())?) {
            resolved.push(comp);
            continue;
        }
        links += 1;
        if links > MAX_SYMLINKS {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        let target = readlink(fd.as_fd())?;
        if target.starts_with(b"/") {
            resolved.clear();
        }
        pending.extend(components(&target).rev().map(<[u8]>::to_vec));
    }
    let mut out = b"/".to_vec();
    out.extend_from_slice(&resolved.join(&b'/'));
    Ok(out)
}

/// The path of the open file `fd` relative to `root` (`/` for the root
/// itself), from the kernel's name of both; `None` when `fd` is not below
/// `root` (or was deleted).
pub fn path_in_root(root: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<Option<Vec<u8>>> {
    let name = |fd: BorrowedFd<'_>| -> io::Result<Vec<u8>> {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        Ok(link.as_os_str().as_bytes().to_vec())
    };
    let base = name(root)?;
    let full = name(fd)?;
    if base == b"/" {
        return Ok(full.starts_with(b"/").then_some(full));
    }
    if full == base {
        return Ok(Some(b"/".to_vec()));
    }
    Ok(full
        .strip_prefix(base.as_slice())
        .filter(|rest| rest.starts_with(b"/"))
        .map(<[u8]>::to_vec))
}

/// Makes sure `path` exists inside `root` to mount something on, as the
/// runtime does: symlinks on the way are resolved inside the root (a
/// dangling one towards its target), missing directories are created
/// (mode 0755), and the last component as a directory (`dir`) or an empty
/// file. Returns an `O_PATH` descriptor of it.
pub fn mount_point(root: BorrowedFd<'_>, path: &[u8], dir: bool) -> io::Result<OwnedFd> {
    let canonical = follow_in_scope(root, path)?;
    let parts: Vec<&[u8]> = components(&canonical).collect();
    let mut cur = sys::open_in_root(root, b"", libc::O_PATH | libc::O_DIRECTORY, 0)?;
    for (i, comp) in parts.iter().enumerate() {
        let want_dir = i + 1 < parts.len() || dir;
        let c = sys::cstring(comp)?;
        // The canonical path has no symlinks left: one appearing now is a
        // race, and is refused rather than followed.
        let flags = libc::O_PATH | libc::O_NOFOLLOW | if want_dir { libc::O_DIRECTORY } else { 0 };
        match sys::openat(cur.as_fd(), &c, flags, 0) {
            Ok(fd) => {
                cur = fd;
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        if want_dir {
            match sys::mkdirat(cur.as_fd(), &c, 0o755) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        } else {
            let create = libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW;
            drop(sys::openat(cur.as_fd(), &c, create, 0o755)?);
        }
        cur = sys::openat(cur.as_fd(), &c, flags, 0)?;
    }
    Ok(cur)
}
