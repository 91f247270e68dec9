//! Reading `/proc/self/mountinfo` to learn what is mounted where.

use std::path::{Path, PathBuf};

/// Mount points listed in mountinfo text (field 5, octal escapes decoded).
pub fn parse_mount_points(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .collect()
}

fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points of this process's mount namespace.
pub fn mount_points() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mount_points(&t))
        .unwrap_or_default()
}

/// Whether `path` is a mount point: `statx` says so directly (Linux 5.8+),
/// without reading mountinfo, whose size grows with every container.
pub fn is_mounted(path: &Path) -> bool {
    match mount_root_attr(path) {
        Some(root) => root,
        None => mount_points().iter().any(|p| p == path),
    }
}

/// `STATX_ATTR_MOUNT_ROOT` of `path` (not following a final symlink);
/// `None` when the kernel does not report it or `statx` fails.
fn mount_root_attr(path: &Path) -> Option<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statx fills the zeroed struct we own; `c` is a valid C string.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT,
            0,
            &mut stx,
        )
    };
    if rc != 0 {
        // What does not exist is not a mount point; other errors: ask mountinfo.
        let e = std::io::Error::last_os_error().raw_os_error();
        return matches!(e, Some(libc::ENOENT) | Some(libc::ENOTDIR)).then_some(false);
    }
    let mask = libc::STATX_ATTR_MOUNT_ROOT as u64;
    if stx.stx_attributes_mask & mask == 0 {
        return None;
    }
    Some(stx.stx_attributes & mask != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_mount_roots() {
        assert!(is_mounted(Path::new("/")));
        assert!(is_mounted(Path::new("/proc")));
        assert!(!is_mounted(Path::new("/proc/self")));
        assert!(!is_mounted(Path::new("/nonexistent-berth-path")));
    }

    #[test]
    fn parses_and_unescapes() {
        let text = "36 35 98:0 /mnt1 /mnt/with\\040space rw - ext3 /dev/root rw\n\
                    37 35 0:1 / /var/lib/x/merged rw - overlay overlay rw,lowerdir=a\n";
        assert_eq!(
            parse_mount_points(text),
            vec![
                PathBuf::from("/mnt/with space"),
                PathBuf::from("/var/lib/x/merged")
            ]
        );
    }
}
