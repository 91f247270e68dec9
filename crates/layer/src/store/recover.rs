//! Start-up recovery: loading the records and sweeping what an interrupted
//! run left behind.

use std::collections::HashSet;

use tracing::{error, info, warn};

use super::LayerStore;
use super::disk::{self, io_err};
use crate::error::Result;

impl LayerStore {
    pub(super) fn recover(&self) -> Result<()> {
        let tmp = self.layout.tmp();
        for entry in std::fs::read_dir(&tmp).map_err(io_err(format!("read {}", tmp.display())))? {
            let entry = entry.map_err(io_err(format!("read {}", tmp.display())))?;
            info!(path = %entry.path().display(), "removing unfinished layer store entry");
            disk::remove_tree(&entry.path())?;
        }
        let mut referenced = HashSet::new();
        let mut state = self.shared.lock();
        let layers_dir = self.layout.layers();
        for entry in std::fs::read_dir(&layers_dir)
            .map_err(io_err(format!("read {}", layers_dir.display())))?
        {
            let entry = entry.map_err(io_err(format!("read {}", layers_dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !disk::is_layer_dir_name(&name) {
                warn!(name, "ignoring unexpected entry in layerdb");
                continue;
            }
            match disk::read_layer(&entry.path(), &name) {
                Ok(info) => {
                    referenced.insert(info.cache_id.clone());
                    state.layers.insert(info.chain_id.clone(), info);
                }
                Err(e) => {
                    error!(layer = name, error = %e, "damaged layer record, ignoring it");
                    if let Some(id) = disk::read_cache_id(&entry.path()) {
                        referenced.insert(id);
                    }
                }
            }
        }
        let mounts_dir = self.layout.mounts();
        for entry in std::fs::read_dir(&mounts_dir)
            .map_err(io_err(format!("read {}", mounts_dir.display())))?
        {
            let entry = entry.map_err(io_err(format!("read {}", mounts_dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            match disk::read_mount(&entry.path()) {
                Ok(rec) => {
                    referenced.insert(rec.mount_id.clone());
                    referenced.insert(rec.init_id.clone());
                    state.mounts.insert(name, rec);
                }
                Err(e) => {
                    error!(container = name, error = %e, "damaged container layer record, ignoring it")
                }
            }
        }
        for info in state.layers.values() {
            if let Some(p) = &info.parent
                && !state.layers.contains_key(p)
            {
                error!(layer = %info.chain_id, parent = %p, "layer's parent is missing");
            }
            if !self.driver.exists(&info.cache_id) {
                error!(layer = %info.chain_id, cache_id = info.cache_id, "layer data is missing");
            }
        }
        drop(state);
        for id in self.driver.list()? {
            if !referenced.contains(&id) {
                info!(
                    id,
                    driver = self.driver.name(),
                    "removing unreferenced layer data"
                );
                self.driver.remove(&id)?;
            }
        }
        Ok(())
    }
}
