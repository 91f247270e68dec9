//! Container read-write layers: an `<id>-init` layer filled by the caller,
//! and the rw layer on top, persisted in `layerdb/mounts/<container>`.

use std::path::{Path, PathBuf};

use super::disk::{self, RwRecord, io_err};
use super::{LayerStore, Pending};
use crate::digest::Digest;
use crate::driver::{check_id, random_id};
use crate::error::{LayerError, Result};

impl LayerStore {
    fn rw_record(&self, container_id: &str) -> Result<RwRecord> {
        self.shared
            .lock()
            .mounts
            .get(container_id)
            .cloned()
            .ok_or_else(|| {
                LayerError::NotFound(format!("read-write layer of container {container_id}"))
            })
    }

    /// Creates a container's init layer on top of `parent` (filled by `init`
    /// through its mounted root) and the rw layer on top of that.
    pub fn create_rw(
        &self,
        container_id: &str,
        parent: Option<&Digest>,
        init: &dyn Fn(&Path) -> std::io::Result<()>,
    ) -> Result<()> {
        check_id(container_id)?;
        if self.shared.lock().mounts.contains_key(container_id) {
            return Err(LayerError::Conflict(format!(
                "read-write layer of container {container_id} already exists"
            )));
        }
        let parent_ref = parent.map(|p| self.pin(p)).transpose()?;
        let parent_cache = parent_ref.as_ref().map(|r| r.info().cache_id.clone());
        let mount_id = random_id();
        let rec = RwRecord {
            // Named as Docker names it.
            init_id: format!("{mount_id}-init"),
            mount_id,
            parent: parent.cloned(),
        };
        let tmp = self.layout.new_tmp("mount");
        let mut pending = Pending {
            driver: self.driver.as_ref(),
            cache_ids: Vec::new(),
            tmp: Some(tmp.clone()),
            armed: true,
        };
        std::fs::create_dir(&tmp).map_err(io_err(format!("create {}", tmp.display())))?;

        self.driver.create(&rec.init_id, parent_cache.as_deref())?;
        pending.cache_ids.push(rec.init_id.clone());
        let root = self.driver.get(&rec.init_id)?;
        let filled = init(&root);
        self.driver.put(&rec.init_id)?;
        filled.map_err(io_err(format!(
            "initialize the layer of container {container_id}"
        )))?;
        // One syncfs covers the init layer and the record below when they
        // share a filesystem (the usual case): each syncfs waits for every
        // dirty page of it, other containers' logs included.
        let same_fs = {
            use std::os::unix::fs::MetadataExt;
            let dev = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).ok();
            dev(&self.driver.diff_dir(&rec.init_id)).is_some_and(|d| Some(d) == dev(&tmp))
        };
        if !same_fs {
            self.driver.sync(&rec.init_id)?;
        }
        self.driver.create(&rec.mount_id, Some(&rec.init_id))?;
        pending.cache_ids.push(rec.mount_id.clone());

        disk::write_mount(&tmp, &rec)?;
        disk::sync_fs(&tmp)?;
        let mut state = self.shared.lock();
        if state.mounts.contains_key(container_id) {
            return Err(LayerError::Conflict(format!(
                "read-write layer of container {container_id} already exists"
            )));
        }
        disk::commit_rename(&tmp, &self.layout.mount(container_id))?;
        pending.armed = false;
        state.mounts.insert(container_id.to_string(), rec);
        Ok(())
    }

    /// Mounts the container's root filesystem and returns its path; counted.
    pub fn mount_rw(&self, container_id: &str) -> Result<PathBuf> {
        let rec = self.rw_record(container_id)?;
        self.driver.get(&rec.mount_id)
    }

    /// Releases one [`LayerStore::mount_rw`].
    pub fn unmount_rw(&self, container_id: &str) -> Result<()> {
        let rec = self.rw_record(container_id)?;
        self.driver.put(&rec.mount_id)
    }

    /// Removes the container's rw and init layers (unmounting them).
    pub fn remove_rw(&self, container_id: &str) -> Result<()> {
        self.detach_rw(container_id)?.purge()
    }

    /// Takes the container's layers out of the store durably (its record
    /// moved into `tmp/`); their data is deleted by [`DetachedRw::purge`],
    /// which may run later, in the background: unpurged data is
    /// unreferenced and swept at the next open.
    pub fn detach_rw(&self, container_id: &str) -> Result<DetachedRw> {
        let mut state = self.shared.lock();
        let rec = state.mounts.get(container_id).cloned().ok_or_else(|| {
            LayerError::NotFound(format!("read-write layer of container {container_id}"))
        })?;
        let junk = self.layout.new_tmp("remove-mount");
        disk::commit_rename(&self.layout.mount(container_id), &junk)?;
        state.mounts.remove(container_id);
        Ok(DetachedRw {
            driver: self.driver.clone(),
            rec,
            junk,
        })
    }

    /// Bytes the container changed (its rw layer's own files).
    pub fn rw_size(&self, container_id: &str) -> Result<u64> {
        let rec = self.rw_record(container_id)?;
        self.driver.diff_size(&rec.mount_id, Some(&rec.init_id))
    }

    /// Where the container's rw layer keeps the files it changed.
    pub fn rw_diff_dir(&self, container_id: &str) -> Result<PathBuf> {
        let rec = self.rw_record(container_id)?;
        Ok(self.driver.diff_dir(&rec.mount_id))
    }

    /// The chain ID of the image layer under the container's layers.
    pub fn rw_parent(&self, container_id: &str) -> Result<Option<Digest>> {
        Ok(self.rw_record(container_id)?.parent)
    }

    /// IDs of the containers that have an rw layer, sorted.
    pub fn rw_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.shared.lock().mounts.keys().cloned().collect();
        ids.sort();
        ids
    }
}

/// A container's layers detached by [`LayerStore::detach_rw`], still to be
/// deleted.
pub struct DetachedRw {
    driver: std::sync::Arc<dyn crate::driver::StorageDriver>,
    rec: RwRecord,
    junk: PathBuf,
}

impl DetachedRw {
    /// Deletes the layers' data.
    pub fn purge(self) -> Result<()> {
        let first = self.driver.remove(&self.rec.mount_id);
        let second = self.driver.remove(&self.rec.init_id);
        disk::remove_tree(&self.junk)?;
        first.and(second)
    }
}
