//! Garbage collection of layers no image, container or pin needs.

use std::collections::HashSet;

use tracing::warn;

use super::LayerStore;
use super::disk::{self, io_err};
use crate::digest::Digest;
use crate::error::Result;

impl LayerStore {
    /// Mark and sweep: removes every layer not reachable from `live` (chain
    /// IDs of image top layers and of container rw parents), not pinned and
    /// not under a container rw layer of this store; returns the removed
    /// chain IDs.
    pub fn gc(&self, live: &[Digest]) -> Result<Vec<Digest>> {
        let mut doomed = Vec::new();
        {
            let mut state = self.shared.lock();
            let mut stack: Vec<Digest> = live.to_vec();
            stack.extend(state.pins.keys().cloned());
            stack.extend(state.mounts.values().filter_map(|m| m.parent.clone()));
            let mut keep = HashSet::new();
            while let Some(d) = stack.pop() {
                if let Some(info) = state.layers.get(&d)
                    && keep.insert(d)
                    && let Some(p) = &info.parent
                {
                    stack.push(p.clone());
                }
            }
            let victims: Vec<Digest> = state
                .layers
                .keys()
                .filter(|d| !keep.contains(*d))
                .cloned()
                .collect();
            for chain in victims {
                // Out of layerdb first, so a crash never leaves a record
                // whose data is half gone.
                let junk = self.layout.new_tmp("remove");
                std::fs::rename(self.layout.layer(&chain), &junk)
                    .map_err(io_err(format!("remove layer {chain}")))?;
                if let Some(info) = state.layers.remove(&chain) {
                    doomed.push((info, junk));
                }
            }
            if !doomed.is_empty() {
                let dir = self.layout.layers();
                berth_fsutil::fsync_dir(&dir).map_err(io_err(format!("sync {}", dir.display())))?;
            }
        }
        let mut removed = Vec::new();
        for (info, junk) in doomed {
            if let Err(e) = self.driver.remove(&info.cache_id) {
                // Swept at the next open.
                warn!(layer = %info.chain_id, error = %e, "cannot remove layer data");
            }
            disk::remove_tree(&junk)?;
            removed.push(info.chain_id);
        }
        removed.sort();
        Ok(removed)
    }
}
