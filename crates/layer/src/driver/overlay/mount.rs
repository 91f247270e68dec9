//! Mounting and unmounting overlays.

use std::ffi::CString;
use std::io;
use std::path::Path;

use tracing::warn;

use crate::sys;

pub fn page_size() -> usize {
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

/// Mounts an overlay on `target` with `data`, where relative paths in both
/// are resolved from `cwd`. The mount runs in a short-lived thread that has
/// its own working directory (`unshare(CLONE_FS)`), so the daemon's other
/// threads are not affected.
pub fn mount_from(cwd: &Path, data: &str, target: &str) -> io::Result<()> {
    let cwd = sys::path_cstring(cwd)?;
    let data = CString::new(data)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in mount data"))?;
    let target = CString::new(target)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in mount target"))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            if unsafe { libc::unshare(libc::CLONE_FS) } != 0
                || unsafe { libc::chdir(cwd.as_ptr()) } != 0
            {
                return Err(io::Error::last_os_error());
            }
            let ret = unsafe {
                libc::mount(
                    c"overlay".as_ptr(),
                    target.as_ptr(),
                    c"overlay".as_ptr(),
                    0,
                    data.as_ptr().cast(),
                )
            };
            if ret != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("mount thread panicked")))
    })
}

pub fn unmount(path: &Path) -> io::Result<()> {
    let c = sys::path_cstring(path)?;
    if unsafe { libc::umount2(c.as_ptr(), 0) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOENT) => Ok(()),
        Some(libc::EBUSY) => {
            warn!(path = %path.display(), "mount busy, detaching it");
            if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }
        _ => Err(err),
    }
}
