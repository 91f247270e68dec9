//! Storage drivers: where layer contents live on disk and how a stack of
//! layers becomes one root filesystem.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::digest::Digest;
use crate::error::{LayerError, Result};

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
    /// Applies an uncompressed tar stream into the created layer `id`.
    fn apply_diff(
        &self,
        id: &str,
        parent: Option<&str>,
        tar: &mut dyn Read,
        split: Option<&mut dyn crate::tar::SplitSink>,
    ) -> Result<ApplyOutcome>;
    /// Removes layer `id` and its data (unmounting it first if needed).
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
    /// Every layer id present on disk.
    fn list(&self) -> Result<Vec<String>>;
    /// Unmounts everything (daemon shutdown).
    fn cleanup(&self) -> Result<()>;
}

/// Opens driver `name` with its data under `home`, checking prerequisites.
pub fn probe(name: &str, home: &Path) -> Result<Arc<dyn StorageDriver>> {
    let _ = home;
    Err(LayerError::DriverUnsupported {
        driver: name.to_string(),
        reason: "not implemented yet".to_string(),
    })
}
