//! A container's filesystem as its processes see it, for `docker cp`: the
//! root filesystem with the container's bind mounts, volumes and network
//! files (`/etc/hosts`, ...) attached at their destinations, in a private
//! mount namespace of the calling thread, as Docker's `openContainerFS`.
//!
//! Nothing of it is visible outside that thread: the namespace is made a
//! slave of the daemon's first, so attaching propagates nowhere, and it
//! disappears with the thread. Each source is cloned with `open_tree` and
//! attached with `move_mount` onto a descriptor of its destination, which
//! was resolved inside the root (no symlink can redirect it); read-only
//! mounts are made read-only (recursively) before they are attached.
//! tmpfs mounts are not attached (as in Docker): their content lives only
//! in the running container's memory.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use berth_layer::inroot;

/// Something to attach in the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMount {
    /// The host path (a directory, or a file for file mounts).
    pub source: PathBuf,
    /// The absolute path inside the container.
    pub destination: String,
    pub rw: bool,
}

/// A mount as attached: where it ended up inside the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The destination with its symlinks resolved (`/x/y`).
    pub path: Vec<u8>,
    pub rw: bool,
}

/// The container's root with its mounts attached.
pub struct View {
    pub root: OwnedFd,
    /// The host path of the root (in this thread's namespace, with the
    /// mounts attached below it).
    pub root_path: PathBuf,
    pub mounts: Vec<Attached>,
}

// The new mount API (Linux 5.2, `mount_setattr` 5.12).
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
const MOUNT_ATTR_RDONLY: u64 = 0x1;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn cvt(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in a path"))
}

/// A detached copy of the mount tree at `source` (recursive, like
/// `rbind`).
fn clone_tree(source: &Path) -> io::Result<OwnedFd> {
    let c = cpath(source)?;
    let flags =
        OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_RECURSIVE as libc::c_uint;
    // SAFETY: open_tree with a valid C string; the result is a new fd.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) })?;
    // SAFETY: the kernel returned a new descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Makes the detached tree `tree` read-only, every submount included.
fn make_read_only(tree: BorrowedFd<'_>) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint;
    // SAFETY: mount_setattr on our descriptor with a valid struct.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// Attaches the detached tree `tree` on the file or directory `target`.
fn attach(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: move_mount between two descriptors we own.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// Moves the calling thread into a new mount namespace that receives
/// nothing back: every mount becomes a slave of the daemon's.
fn private_namespace() -> io::Result<()> {
    // SAFETY: unshare of this thread's mount namespace (and, implied,
    // its filesystem attributes); no memory is involved.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: mount(2) with static C strings and null data.
    let ret = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        )
    };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl View {
    /// Opens the root at `rootfs` with `mounts` attached, in order. With
    /// mounts, the calling thread moves to a private mount namespace for
    /// good: call this only on a thread of its own, which ends when the
    /// work is done.
    pub fn enter(rootfs: &Path, mounts: &[ViewMount]) -> io::Result<View> {
        if !mounts.is_empty() {
            private_namespace().map_err(|e| {
                io::Error::new(e.kind(), format!("cannot create a mount namespace: {e}"))
            })?;
        }
        // Opened in the new namespace, so lookups from it see the mounts.
        let root = inroot::open_root(rootfs)
            .map_err(|e| io::Error::new(e.kind(), format!("open {}: {e}", rootfs.display())))?;
        let mut attached = Vec::with_capacity(mounts.len());
        for m in mounts {
            let what = |e: io::Error| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot mount {} at {}: {e}",
                        m.source.display(),
                        m.destination
                    ),
                )
            };
            let is_dir = std::fs::metadata(&m.source).map_err(what)?.is_dir();
            let tree = clone_tree(&m.source).map_err(what)?;
            if !m.rw {
                make_read_only(tree.as_fd()).map_err(what)?;
            }
            let target = inroot::mount_point(root.as_fd(), m.destination.as_bytes(), is_dir)
                .map_err(what)?;
            attach(tree.as_fd(), target.as_fd()).map_err(what)?;
            let path =
                inroot::follow_in_scope(root.as_fd(), m.destination.as_bytes()).map_err(what)?;
            attached.push(Attached { path, rw: m.rw });
        }
        Ok(View {
            root,
            root_path: rootfs.to_path_buf(),
            mounts: attached,
        })
    }

    /// The mount that holds the resolved container path `path`, if any
    /// (the deepest one).
    pub fn mount_of(&self, path: &[u8]) -> Option<&Attached> {
        self.mounts
            .iter()
            .filter(|m| within(path, &m.path))
            .max_by_key(|m| m.path.len())
    }
}

/// Whether `path` is `dir` or below it (both absolute and clean).
pub fn within(path: &[u8], dir: &[u8]) -> bool {
    if dir == b"/" {
        return true;
    }
    path == dir || (path.starts_with(dir) && path.get(dir.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_is_by_component() {
        assert!(within(b"/data", b"/data"));
        assert!(within(b"/data/x/y", b"/data"));
        assert!(!within(b"/database", b"/data"));
        assert!(within(b"/anything", b"/"));
        assert!(!within(b"/", b"/data"));
    }

    /// Mounts, attached in a private namespace on a thread of its own,
    /// are visible through the view and nowhere else.
    #[test]
    fn binds_are_attached_privately() {
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: skipping the mount namespace test");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs");
        let src = dir.path().join("src");
        let ro = dir.path().join("ro");
        std::fs::create_dir_all(rootfs.join("var")).unwrap();
        std::os::unix::fs::symlink("/run", rootfs.join("var/run")).unwrap();
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&ro).unwrap();
        std::fs::write(src.join("hello"), b"from the host").unwrap();
        std::fs::write(ro.join("file"), b"ro").unwrap();
        let mounts = vec![
            ViewMount {
                source: src.clone(),
                destination: "/var/run/data".into(),
                rw: true,
            },
            ViewMount {
                source: ro.clone(),
                destination: "/ro".into(),
                rw: false,
            },
        ];
        let r2 = rootfs.clone();
        let seen = std::thread::spawn(move || {
            let view = View::enter(&r2, &mounts).unwrap();
            assert_eq!(view.mounts[0].path, b"/run/data");
            assert_eq!(view.mount_of(b"/run/data/x").map(|m| m.rw), Some(true));
            assert_eq!(view.mount_of(b"/ro").map(|m| m.rw), Some(false));
            assert!(view.mount_of(b"/etc").is_none());
            let fd = inroot::open(view.root.as_fd(), b"/var/run/data/hello", true, false).unwrap();
            let text =
                std::fs::read(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default();
            let ro_write = std::fs::write(r2.join("ro/new"), b"x");
            (text, ro_write.map_err(|e| e.raw_os_error()))
        })
        .join()
        .unwrap();
        assert_eq!(seen.0, b"from the host");
        assert_eq!(seen.1, Err(Some(libc::EROFS)));
        // The mount point was created in the root, the mounts are gone.
        assert!(rootfs.join("run/data").is_dir());
        assert!(!rootfs.join("run/data/hello").exists());
        assert!(!ro.join("new").exists());
    }
}
