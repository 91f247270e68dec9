//! Prerequisites of the overlay2 driver: the kernel module, d_type support
//! of the backing filesystem, and a test mount that picks mount options.

use std::io;
use std::os::fd::AsFd;
use std::path::Path;

use tracing::debug;

use super::mount::{mount_from, unmount};
use crate::sys;

/// Mount options tried in order; the first the kernel accepts is used.
/// `redirect_dir` and `metacopy` off keep every upper dir an exact diff.
const OPTION_CANDIDATES: [&str; 3] = [",index=off,redirect_dir=off,metacopy=off", ",index=off", ""];

pub fn overlay_listed() -> bool {
    std::fs::read_to_string("/proc/filesystems")
        .map(|t| {
            t.lines()
                .any(|l| l.split_whitespace().last() == Some("overlay"))
        })
        .unwrap_or(false)
}

/// Whether readdir on `dir`'s filesystem reports file types.
pub fn supports_d_type(dir: &Path) -> io::Result<bool> {
    let probe = dir.join(format!(".dtype-{}", crate::driver::random_id()));
    std::fs::create_dir(&probe)?;
    let result = (|| {
        std::fs::write(probe.join("f"), b"")?;
        let fd = sys::open_dir_path(&probe)?;
        Ok(sys::read_dir(fd.as_fd())?
            .iter()
            .all(|e| e.d_type != libc::DT_UNKNOWN))
    })();
    let _ = std::fs::remove_dir_all(&probe);
    result
}

/// Mounts a small overlay inside `root` with each option set in turn and
/// returns the first set that works.
pub fn test_mount(root: &Path) -> io::Result<String> {
    let name = format!(".probe-{}", crate::driver::random_id());
    let dir = root.join(&name);
    std::fs::create_dir(&dir)?;
    let result = (|| {
        for sub in ["lower1", "lower2", "upper", "work", "merged"] {
            std::fs::create_dir(dir.join(sub))?;
        }
        std::fs::write(dir.join("lower1/f"), b"lower")?;
        let mut last = io::Error::other("no mount option set worked");
        for options in OPTION_CANDIDATES {
            let data = format!(
                "lowerdir={name}/lower2:{name}/lower1,upperdir={name}/upper,workdir={name}/work{options}"
            );
            match mount_from(root, &data, &format!("{name}/merged")) {
                Ok(()) => {
                    let merged = dir.join("merged");
                    let check = std::fs::read(merged.join("f"))
                        .and_then(|_| std::fs::write(merged.join("new"), b"upper"));
                    unmount(&merged)?;
                    check?;
                    return Ok(options.to_string());
                }
                Err(e) => {
                    debug!(options, error = %e, "overlay test mount failed");
                    last = e;
                }
            }
        }
        Err(last)
    })();
    let _ = unmount(&dir.join("merged"));
    let _ = std::fs::remove_dir_all(&dir);
    result
}
