//! Names of backing filesystems, as `docker info` shows them.

use std::path::Path;

use crate::sys;

/// The filesystem type of `path` (statfs `f_type`).
pub fn fs_type(path: &Path) -> std::io::Result<i64> {
    let c = sys::path_cstring(path)?;
    let mut buf = std::mem::MaybeUninit::<libc::statfs>::uninit();
    if unsafe { libc::statfs(c.as_ptr(), buf.as_mut_ptr()) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // `f_type`'s width differs between architectures.
    #[allow(clippy::useless_conversion)]
    Ok(i64::from(unsafe { buf.assume_init() }.f_type))
}

/// Docker's name for a filesystem magic number.
pub fn name(magic: i64) -> String {
    match magic {
        0xEF53 => "extfs".into(),
        0x5846_5342 => "xfs".into(),
        0x9123_683E => "btrfs".into(),
        0x0102_1994 => "tmpfs".into(),
        0x2FC1_2FC1 => "zfs".into(),
        0x6969 => "nfs".into(),
        0xF2F5_2010 => "f2fs".into(),
        0x794C_7630 => "overlayfs".into(),
        0x6165_6673 => "aufs".into(),
        0xF15F => "ecryptfs".into(),
        0x5346_544E => "ntfs".into(),
        0x6573_5546 => "fuse".into(),
        0x858458F6 => "ramfs".into(),
        other => format!("<unknown 0x{other:x}>"),
    }
}
