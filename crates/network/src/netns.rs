//! Network namespaces held open by a bind mount on a file (as `ip netns`
//! does), so that a container's network outlives any one process and can
//! be joined by path. A new namespace gets its loopback interface up.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_api::Error;

/// Namespace files under one directory (`<exec-root>/netns`).
pub struct NetnsManager {
    dir: PathBuf,
}

fn sys(what: String, e: io::Error) -> Error {
    Error::system(format!("{what}: {e}"))
}

impl NetnsManager {
    pub fn new(dir: &Path) -> Result<Self, Error> {
        berth_fsutil::create_dir_all_mode(dir, 0o700)
            .map_err(|e| sys(format!("cannot create {}", dir.display()), e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Creates namespace `name` with loopback up and returns its path. An
    /// existing one (after a crash) is replaced.
    pub fn create(&self, name: &str) -> Result<PathBuf, Error> {
        let path = self.path(name);
        if path.exists() {
            self.remove(name)?;
        }
        fs::File::create(&path).map_err(|e| sys(format!("cannot create {}", path.display()), e))?;
        let target = path.clone();
        // unshare(CLONE_NEWNET) changes only the calling thread, so a
        // short-lived thread does the work and the daemon stays put.
        let result = std::thread::spawn(move || -> io::Result<()> {
            // SAFETY: unshare affects only this thread's namespaces.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            loopback_up()?;
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::syscall(libc::SYS_gettid) };
            let source = format!("/proc/self/task/{tid}/ns/net");
            bind_mount(Path::new(&source), &target)
        })
        .join()
        .map_err(|_| Error::system("network namespace thread panicked"))?;
        if let Err(e) = result {
            let _ = fs::remove_file(&path);
            return Err(sys(format!("cannot create network namespace {name}"), e));
        }
        Ok(path)
    }

    /// Unmounts and removes namespace `name`; missing is fine.
    pub fn remove(&self, name: &str) -> Result<(), Error> {
        let path = self.path(name);
        if let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) {
            // SAFETY: umount2 on a valid C string; errors are checked below.
            let rc = unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            if rc != 0 {
                let e = io::Error::last_os_error();
                if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) {
                    return Err(sys(format!("cannot unmount {}", path.display()), e));
                }
            }
        }
        berth_fsutil::remove_file_if_exists(&path)
            .map_err(|e| sys(format!("cannot remove {}", path.display()), e))
    }

    /// Names of every namespace file present (for clean-up after a crash).
    pub fn list(&self) -> Vec<String> {
        fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Moves the calling thread into the network namespace at `path`. Only
/// for threads that exist for this purpose (see [`run_in`]).
pub fn enter(path: &Path) -> Result<(), Error> {
    let file = fs::File::open(path).map_err(|e| {
        sys(
            format!("cannot open network namespace {}", path.display()),
            e,
        )
    })?;
    // SAFETY: setns(2) on a descriptor we hold; it changes only this thread.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(sys(
            format!("cannot enter network namespace {}", path.display()),
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Runs `f` on a short-lived thread inside the network namespace at
/// `path` (sockets it creates stay in that namespace).
pub fn run_in<T: Send>(
    path: &Path,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<T, Error> {
    std::thread::scope(|s| {
        s.spawn(|| {
            enter(path)?;
            f()
        })
        .join()
        .map_err(|_| Error::system("network namespace thread panicked"))?
    })
}

fn bind_mount(source: &Path, target: &Path) -> io::Result<()> {
    let src = CString::new(source.as_os_str().as_encoded_bytes())?;
    let dst = CString::new(target.as_os_str().as_encoded_bytes())?;
    // SAFETY: mount(2) with valid C strings and no data.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets `lo` up in the current thread's network namespace.
fn loopback_up() -> io::Result<()> {
    // SAFETY: socket(2) with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS fills req.ifr_ifru.ifru_flags.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: reading and writing the flags member of the union.
    unsafe {
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    // SAFETY: SIOCSIFFLAGS reads req.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let mgr = NetnsManager::new(&dir.path().join("netns")).unwrap();
        let path = mgr.create("t1").unwrap();
        // The file is now a namespace: its inode differs from ours.
        let ours = fs::metadata("/proc/self/ns/net").unwrap();
        let theirs = fs::metadata(&path).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_ne!(ours.ino(), theirs.ino());
        assert_eq!(mgr.list(), vec!["t1".to_string()]);
        mgr.remove("t1").unwrap();
        assert!(!path.exists());
        assert!(mgr.list().is_empty());
        mgr.remove("t1").unwrap();
    }
}
