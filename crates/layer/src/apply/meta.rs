//! Owner, mode and extended attributes of applied entries.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use tracing::debug;

use super::{host_err, invalid, lossy};
use crate::error::Result;
use crate::sys;

/// Owner first: `chown` clears setuid/setgid bits, so the mode comes after.
pub fn set_owner_mode_fd(
    fd: BorrowedFd<'_>,
    uid: u32,
    gid: u32,
    mode: u32,
    rel: &[u8],
) -> Result<()> {
    sys::fchown(fd, uid, gid).map_err(|e| host_err("chown", rel, e))?;
    sys::fchmod(fd, mode & 0o7777).map_err(|e| host_err("chmod", rel, e))
}

/// `chmod` of an entry that has no descriptor of its own (a FIFO, which
/// cannot be opened without blocking). The entry was just created by us
/// and is not a symlink.
pub fn chmod_at(dir: BorrowedFd<'_>, name: &CStr, mode: u32, rel: &[u8]) -> Result<()> {
    let ret = unsafe { libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode & 0o7777, 0) };
    if ret < 0 {
        return Err(host_err("chmod", rel, io::Error::last_os_error()));
    }
    Ok(())
}

pub enum Target<'a> {
    Fd(BorrowedFd<'a>),
    /// An entry (possibly a symlink) named in a directory.
    At(BorrowedFd<'a>, &'a CStr),
}

/// Attributes an archive must not set: overlayfs interprets its own
/// `trusted.overlay.*` / `user.overlay.*` keys (redirects, metacopy), which
/// would let a layer reach into other paths of the stack.
fn forbidden(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

pub fn set_xattrs(target: Target<'_>, xattrs: &[(Vec<u8>, Vec<u8>)], rel: &[u8]) -> Result<()> {
    for (name, value) in xattrs {
        if forbidden(name) {
            debug!(path = %lossy(rel), xattr = %lossy(name), "ignoring overlay xattr from the archive");
            continue;
        }
        let Ok(cname) = sys::cstring(name) else {
            return Err(invalid(format!(
                "NUL byte in an xattr name of {:?}",
                lossy(rel)
            )));
        };
        let result = match target {
            Target::Fd(fd) => sys::fsetxattr(fd, &cname, value),
            Target::At(dir, entry) => sys::lsetxattr_at(dir, entry, &cname, value),
        };
        match result {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOTSUP)) => {
                debug!(path = %lossy(rel), xattr = %lossy(name), error = %e, "xattr not set");
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINVAL | libc::ERANGE | libc::E2BIG)
                ) =>
            {
                return Err(invalid(format!(
                    "cannot set xattr {:?} on {:?}: {e}",
                    lossy(name),
                    lossy(rel)
                )));
            }
            Err(e) => return Err(host_err("set xattr on", rel, e)),
        }
    }
    Ok(())
}
