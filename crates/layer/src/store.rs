//! The layer store: layers by chain ID on top of a storage driver, with
//! tar-split records, pins, garbage collection and container rw layers.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::digest::Digest;
use crate::driver::StorageDriver;
use crate::error::{LayerError, Result};

/// The OCI ChainID of `diff_id` on top of the layer with chain ID `parent`.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => Digest::of(format!("{p} {diff_id}").as_bytes()),
    }
}

/// One stored layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    pub chain_id: Digest,
    pub diff_id: Digest,
    pub parent: Option<Digest>,
    /// Bytes of this layer's own files.
    pub size: u64,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
    pub cache_id: String,
}

/// A pinned layer: while alive, gc removes neither it nor its ancestors.
pub struct LayerRef {
    info: LayerInfo,
}

impl LayerRef {
    pub fn info(&self) -> &LayerInfo {
        &self.info
    }
}

pub struct LayerStore {
    root: PathBuf,
    driver: Arc<dyn StorageDriver>,
}

fn todo_err() -> LayerError {
    LayerError::Conflict("layer store: not implemented yet".into())
}

impl LayerStore {
    pub fn open(root: &Path, driver: Arc<dyn StorageDriver>) -> Result<Self> {
        Ok(Self {
            root: root.to_path_buf(),
            driver,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn driver(&self) -> &Arc<dyn StorageDriver> {
        &self.driver
    }

    pub fn register(
        &self,
        _input: &mut dyn Read,
        _parent: Option<&Digest>,
        _progress: &mut dyn FnMut(u64),
    ) -> Result<LayerRef> {
        Err(todo_err())
    }

    pub fn get(&self, chain_id: &Digest) -> Result<LayerInfo> {
        Err(LayerError::NotFound(chain_id.to_string()))
    }

    pub fn exists(&self, _chain_id: &Digest) -> bool {
        false
    }

    pub fn all(&self) -> Vec<LayerInfo> {
        Vec::new()
    }

    pub fn pin(&self, chain_id: &Digest) -> Result<LayerRef> {
        Err(LayerError::NotFound(chain_id.to_string()))
    }

    pub fn write_diff_tar(&self, chain_id: &Digest, _out: &mut dyn Write) -> Result<u64> {
        Err(LayerError::NotFound(chain_id.to_string()))
    }

    pub fn gc(&self, _live: &[Digest]) -> Result<Vec<Digest>> {
        Ok(Vec::new())
    }

    pub fn total_size(&self) -> u64 {
        0
    }

    pub fn create_rw(
        &self,
        _container_id: &str,
        _parent: Option<&Digest>,
        _init: &dyn Fn(&Path) -> std::io::Result<()>,
    ) -> Result<()> {
        Err(todo_err())
    }

    pub fn mount_rw(&self, _container_id: &str) -> Result<PathBuf> {
        Err(todo_err())
    }

    pub fn unmount_rw(&self, _container_id: &str) -> Result<()> {
        Err(todo_err())
    }

    pub fn remove_rw(&self, _container_id: &str) -> Result<()> {
        Err(todo_err())
    }

    pub fn rw_size(&self, _container_id: &str) -> Result<u64> {
        Err(todo_err())
    }

    pub fn rw_ids(&self) -> Vec<String> {
        Vec::new()
    }
}
