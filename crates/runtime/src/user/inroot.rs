//! Opening paths inside a root filesystem without ever leaving it:
//! `openat2(RESOLVE_IN_ROOT)`, or a careful component-by-component walk on
//! kernels without it (before 5.6). Symlinks, absolute or with `..`,
//! resolve as if the rootfs were `/`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, open, openat, openat2, readlinkat};
use nix::sys::stat::{Mode, SFlag, fstat};

/// The kernel lacks openat2 (remembered after the first ENOSYS).
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// The most symlinks followed in one resolution (the kernel's limit).
const MAX_SYMLINKS: usize = 40;

/// Opens the root filesystem directory itself (the daemon's path: trusted).
pub(crate) fn open_root(rootfs: &Path) -> Result<OwnedFd, Errno> {
    open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Opens `path` (relative to the rootfs; a leading `/` is ignored) with
/// `flags`, resolving every component inside `root`. Magic links
/// (`/proc/self/…`) are refused.
pub(crate) fn open_in_root(root: &OwnedFd, path: &str, flags: OFlag) -> Result<OwnedFd, Errno> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        match openat2(root.as_fd(), rel, how) {
            Err(Errno::ENOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
            // Concurrent renames make openat2 fail with EAGAIN; retry once
            // and then walk by hand.
            Err(Errno::EAGAIN) => {}
            other => return other,
        }
    }
    open_in_root_walk(root, rel, flags)
}

/// The fallback resolver: one component at a time with `O_NOFOLLOW`,
/// reading symlinks ourselves and clamping `..` at the root.
pub(crate) fn open_in_root_walk(
    root: &OwnedFd,
    path: &str,
    flags: OFlag,
) -> Result<OwnedFd, Errno> {
    let dup = |fd: &OwnedFd| {
        fd.try_clone()
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF)))
    };
    let mut stack: Vec<OwnedFd> = vec![dup(root)?];
    let mut queue: VecDeque<OsString> = split(path.as_bytes());
    let mut links = 0usize;
    while let Some(comp) = queue.pop_front() {
        let bytes = comp.as_bytes();
        if bytes.is_empty() || bytes == b"." {
            continue;
        }
        if bytes == b".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let parent = stack.last().ok_or(Errno::EINVAL)?;
        let fd = openat(
            parent.as_fd(),
            comp.as_os_str(),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let st = fstat(fd.as_fd())?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if kind == SFlag::S_IFLNK {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            let target = readlinkat(parent.as_fd(), comp.as_os_str())?;
            let tb = target.as_bytes();
            if tb.starts_with(b"/") {
                stack.truncate(1);
            }
            let mut parts = split(tb);
            parts.extend(queue.drain(..));
            queue = parts;
            continue;
        }
        if queue.iter().any(|c| !c.is_empty() && c.as_bytes() != b".") && kind != SFlag::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        stack.push(fd);
    }
    // Reopen the final object with the requested flags through its
    // O_PATH descriptor (no path lookup, so no race with a swapped name).
    let last = stack.pop().ok_or(Errno::EINVAL)?;
    let st = fstat(last.as_fd())?;
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    if flags.contains(OFlag::O_DIRECTORY) && kind != SFlag::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    if flags.contains(OFlag::O_PATH) {
        return Ok(last);
    }
    let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&last));
    open(proc_path.as_str(), flags | OFlag::O_CLOEXEC, Mode::empty())
}

fn split(b: &[u8]) -> VecDeque<OsString> {
    b.split(|c| *c == b'/')
        .filter(|c| !c.is_empty())
        .map(|c| std::ffi::OsStr::from_bytes(c).to_os_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    fn read(fd: OwnedFd) -> String {
        let mut s = String::new();
        fs::File::from(fd).read_to_string(&mut s).unwrap();
        s
    }

    fn check(opener: fn(&OwnedFd, &str, OFlag) -> Result<OwnedFd, Errno>) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("rootfs");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        fs::write(tmp.path().join("outside"), "secret").unwrap();
        symlink("/etc/passwd", root.join("abs")).unwrap();
        symlink("../../../../../outside", root.join("a/b/up")).unwrap();
        symlink("../../etc/passwd", root.join("a/b/rel")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        symlink("/a", root.join("dirlink")).unwrap();
        let r = open_root(&root).unwrap();
        let ro = OFlag::O_RDONLY;
        assert!(read(opener(&r, "/etc/passwd", ro).unwrap()).starts_with("root:"));
        assert!(read(opener(&r, "abs", ro).unwrap()).starts_with("root:"));
        assert!(read(opener(&r, "a/b/rel", ro).unwrap()).starts_with("root:"));
        assert!(read(opener(&r, "a/b/../../etc/./passwd", ro).unwrap()).starts_with("root:"));
        // `..` past the root stays in the root: "outside" is not there.
        assert_eq!(opener(&r, "a/b/up", ro).unwrap_err(), Errno::ENOENT);
        assert_eq!(opener(&r, "../../outside", ro).unwrap_err(), Errno::ENOENT);
        assert_eq!(opener(&r, "loop1", ro).unwrap_err(), Errno::ELOOP);
        assert_eq!(opener(&r, "etc/passwd/x", ro).unwrap_err(), Errno::ENOTDIR);
        assert!(opener(&r, "dirlink/b", OFlag::O_PATH | OFlag::O_DIRECTORY).is_ok());
        assert!(opener(&r, "/", OFlag::O_PATH | OFlag::O_DIRECTORY).is_ok());
        assert_eq!(
            opener(&r, "etc/passwd", OFlag::O_PATH | OFlag::O_DIRECTORY).unwrap_err(),
            Errno::ENOTDIR
        );
    }

    #[test]
    fn openat2_stays_inside() {
        check(open_in_root);
    }

    #[test]
    fn walk_stays_inside() {
        check(open_in_root_walk);
    }
}
