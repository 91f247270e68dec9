//! Storage drivers: where layer contents live on disk and how a stack of
//! layers becomes one root filesystem.

mod fsmagic;
mod mountinfo;
pub mod overlay;
#[cfg(test)]
mod tests;
pub mod vfs;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::digest::Digest;
use crate::error::{LayerError, Result};
use crate::tar::SplitSink;

pub use overlay::OverlayDriver;
pub use vfs::VfsDriver;

/// What applying one layer tar stream produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// sha256 of the uncompressed tar stream.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar stream.
    pub tar_size: u64,
    /// Bytes of regular-file content written (the layer's own size).
    pub written: u64,
}

/// A storage driver. Implementations are shared between threads.
pub trait StorageDriver: Send + Sync {
    /// The driver's name as `docker info` shows it (`overlay2`, `vfs`).
    fn name(&self) -> &'static str;
    /// Key/value lines for `docker info` under "Storage Driver".
    fn status(&self) -> Vec<(String, String)>;
    /// Creates an empty layer `id` on top of `parent`.
    fn create(&self, id: &str, parent: Option<&str>) -> Result<()>;
    /// Applies an uncompressed tar stream into the created layer `id`, and
    /// syncs it to disk. `split` receives the stream's tar-split records.
    fn apply_diff(
        &self,
        id: &str,
        parent: Option<&str>,
        tar: &mut dyn Read,
        split: Option<&mut dyn SplitSink>,
    ) -> Result<ApplyOutcome>;
    /// Removes layer `id` and its data (unmounting it first if needed).
    /// Removing a layer that does not exist is not an error.
    fn remove(&self, id: &str) -> Result<()>;
    /// The root filesystem of layer `id` (mounted if needed); counted.
    fn get(&self, id: &str) -> Result<PathBuf>;
    /// Releases one [`StorageDriver::get`]; unmounts after the last one.
    fn put(&self, id: &str) -> Result<()>;
    fn exists(&self, id: &str) -> bool;
    /// The directory holding the files this layer itself wrote.
    fn diff_dir(&self, id: &str) -> PathBuf;
    /// Bytes of the files layer `id` changed relative to `parent`.
    fn diff_size(&self, id: &str, parent: Option<&str>) -> Result<u64>;
    /// Flushes layer `id`'s data to disk.
    fn sync(&self, id: &str) -> Result<()>;
    /// Every layer id present on disk.
    fn list(&self) -> Result<Vec<String>>;
    /// Unmounts everything (daemon shutdown).
    fn cleanup(&self) -> Result<()>;
}

/// Opens driver `name` with its data under `home` (the daemon's data root:
/// overlay2 keeps `<home>/overlay2`, vfs `<home>/vfs/dir`), checking its
/// prerequisites; `DriverUnsupported` says which one failed.
pub fn probe(name: &str, home: &Path) -> Result<Arc<dyn StorageDriver>> {
    if matches!(name, "overlay2" | "vfs") {
        check_openat2(name, home)?;
    }
    match name {
        "overlay2" => Ok(Arc::new(OverlayDriver::new(&home.join("overlay2"))?)),
        "vfs" => Ok(Arc::new(VfsDriver::new(&home.join("vfs").join("dir"))?)),
        other => Err(LayerError::DriverUnsupported {
            driver: other.to_string(),
            reason: "unknown storage driver (known: overlay2, vfs)".to_string(),
        }),
    }
}

/// Layers are applied with `openat2(RESOLVE_IN_ROOT)` (Linux 5.6+); without
/// it no driver can apply layers safely.
fn check_openat2(driver: &str, home: &Path) -> Result<()> {
    berth_fsutil::create_dir_all_mode(home, 0o711)
        .map_err(io_err(format!("create {}", home.display())))?;
    let fd = crate::sys::open_dir_path(home).map_err(io_err(format!("open {}", home.display())))?;
    match crate::sys::open_in_root(
        std::os::fd::AsFd::as_fd(&fd),
        b".",
        libc::O_PATH | libc::O_DIRECTORY,
        0,
    ) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Err(LayerError::DriverUnsupported {
            driver: driver.to_string(),
            reason:
                "the kernel lacks openat2(2), needed to apply layers safely (Linux 5.6 or later)"
                    .to_string(),
        }),
        Err(e) => Err(LayerError::io(format!("open {}", home.display()), e)),
    }
}

/// Driver ids name directories: keep them to safe, simple names.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id != "l"
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(LayerError::InvalidParameter(format!(
            "invalid layer id {id:?}"
        )))
    }
}

/// A random 64-hex id for a driver directory (never derived from content).
pub fn random_id() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LayerError {
    let context = context.into();
    move |e| LayerError::io(context, e)
}
