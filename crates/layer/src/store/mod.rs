//! The layer store: layers by chain ID on top of a storage driver, with
//! tar-split records, pins, garbage collection and container rw layers.
//!
//! On disk, under the root the daemon gives (`<data-root>/image/<driver>`):
//! `layerdb/sha256/<chain-hex>/{diff,size,tar-size,cache-id,parent,tar-split.json.gz}`,
//! `layerdb/mounts/<container>/{mount-id,init-id,parent}` and
//! `layerdb/tmp/` for entries being written or removed. An entry is built
//! in `tmp/` and renamed into place only once its data is synced, so a
//! crash leaves it whole or absent; `open` sweeps what a crash left.

mod diff_tar;
mod disk;
mod gc;
mod recover;
mod rw;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing::warn;

use crate::decompress::decompress;
use crate::digest::Digest;
use crate::driver::{StorageDriver, random_id};
use crate::error::{LayerError, Result};
use crate::tar::SplitWriter;
use disk::{Layout, RwRecord, io_err};

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
    /// The storage driver's directory for this layer.
    pub cache_id: String,
}

#[derive(Default)]
struct State {
    layers: HashMap<Digest, LayerInfo>,
    pins: HashMap<Digest, usize>,
    mounts: HashMap<String, RwRecord>,
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pin_locked(self: &Arc<Self>, state: &mut State, chain: &Digest) -> Result<LayerRef> {
        let info = state
            .layers
            .get(chain)
            .cloned()
            .ok_or_else(|| LayerError::NotFound(chain.to_string()))?;
        *state.pins.entry(chain.clone()).or_insert(0) += 1;
        Ok(LayerRef {
            info,
            shared: self.clone(),
        })
    }
}

/// A pinned layer: while alive, gc removes neither it nor its ancestors.
pub struct LayerRef {
    info: LayerInfo,
    shared: Arc<Shared>,
}

impl LayerRef {
    pub fn info(&self) -> &LayerInfo {
        &self.info
    }

    pub fn chain_id(&self) -> &Digest {
        &self.info.chain_id
    }
}

impl Clone for LayerRef {
    fn clone(&self) -> Self {
        let mut state = self.shared.lock();
        *state.pins.entry(self.info.chain_id.clone()).or_insert(0) += 1;
        Self {
            info: self.info.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl Drop for LayerRef {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if let Some(n) = state.pins.get_mut(&self.info.chain_id) {
            *n -= 1;
            if *n == 0 {
                state.pins.remove(&self.info.chain_id);
            }
        }
    }
}

impl fmt::Debug for LayerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LayerRef").field(&self.info).finish()
    }
}

/// Layers by chain ID and container rw layers, on top of a storage driver.
/// Shared between threads; locks are never held while data is applied.
pub struct LayerStore {
    layout: Layout,
    driver: Arc<dyn StorageDriver>,
    shared: Arc<Shared>,
}

/// Removes a half-built layer (driver directory and temporary entry) unless
/// disarmed once the layer is committed.
struct Pending<'a> {
    driver: &'a dyn StorageDriver,
    cache_ids: Vec<String>,
    tmp: Option<PathBuf>,
    armed: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.armed || crash_simulated() {
            return;
        }
        for id in &self.cache_ids {
            if let Err(e) = self.driver.remove(id) {
                warn!(id, error = %e, "cannot remove unfinished layer data");
            }
        }
        if let Some(tmp) = &self.tmp
            && let Err(e) = disk::remove_tree(tmp)
        {
            warn!(error = %e, "cannot remove unfinished layer entry");
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Tests set this to leave behind what a crash would.
    static SIMULATE_CRASH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn crash_simulated() -> bool {
    SIMULATE_CRASH.with(|c| c.get())
}

#[cfg(not(test))]
fn crash_simulated() -> bool {
    false
}

/// Counts compressed bytes read and reports them.
struct Counting<'a> {
    inner: &'a mut dyn Read,
    count: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.count += n as u64;
            (self.progress)(self.count);
        }
        Ok(n)
    }
}

impl LayerStore {
    /// Opens (creating if needed) the store under `root`, sweeping what an
    /// interrupted run left: temporary entries and driver directories that
    /// no layer or container layer references.
    pub fn open(root: &Path, driver: Arc<dyn StorageDriver>) -> Result<Self> {
        let layout = Layout::new(root);
        for dir in [layout.layers(), layout.tmp(), layout.mounts()] {
            berth_fsutil::create_dir_all_mode(&dir, 0o700)
                .map_err(io_err(format!("create {}", dir.display())))?;
        }
        let store = Self {
            layout,
            driver,
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
            }),
        };
        store.recover()?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        self.layout.layerdb.parent().unwrap_or(&self.layout.layerdb)
    }

    pub fn driver(&self) -> &Arc<dyn StorageDriver> {
        &self.driver
    }

    /// Decompresses (detected), applies safely on top of `parent`, records
    /// tar-split. Dedupes: if the resulting chain ID exists, the new copy is
    /// discarded and the existing layer returned. `progress` gets compressed
    /// bytes consumed so far.
    pub fn register(
        &self,
        input: &mut dyn Read,
        parent: Option<&Digest>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<LayerRef> {
        let parent_ref = parent.map(|p| self.pin(p)).transpose()?;
        let parent_cache = parent_ref.as_ref().map(|r| r.info().cache_id.clone());
        let cache_id = random_id();
        let tmp = self.layout.new_tmp("register");
        let mut pending = Pending {
            driver: self.driver.as_ref(),
            cache_ids: Vec::new(),
            tmp: Some(tmp.clone()),
            armed: true,
        };
        std::fs::create_dir(&tmp).map_err(io_err(format!("create {}", tmp.display())))?;
        self.driver.create(&cache_id, parent_cache.as_deref())?;
        pending.cache_ids.push(cache_id.clone());

        let split_path = tmp.join(disk::TAR_SPLIT);
        let split_file = File::create(&split_path)
            .map_err(io_err(format!("create {}", split_path.display())))?;
        let mut split = SplitWriter::new(
            BufWriter::with_capacity(256 * 1024, split_file),
            split_path.display().to_string(),
        )
        .with_stash(tmp.join(disk::TAR_SPLIT_STASH));
        let mut counting = Counting {
            inner: input,
            count: 0,
            progress,
        };
        let outcome = {
            let (mut tar, _) = decompress(&mut counting)?;
            self.driver.apply_diff(
                &cache_id,
                parent_cache.as_deref(),
                &mut tar,
                Some(&mut split),
            )?
        };
        split.finish()?.into_inner().map_err(|e| {
            LayerError::io(format!("write {}", split_path.display()), e.into_error())
        })?;

        let info = LayerInfo {
            chain_id: chain_id(parent, &outcome.diff_id),
            diff_id: outcome.diff_id,
            parent: parent.cloned(),
            size: outcome.written,
            tar_size: outcome.tar_size,
            cache_id,
        };
        disk::write_layer(&tmp, &info)?;
        disk::sync_fs(&tmp)?;

        let mut state = self.shared.lock();
        if state.layers.contains_key(&info.chain_id) {
            // Someone registered the same layer meanwhile; `pending`
            // discards this copy.
            return self.shared.pin_locked(&mut state, &info.chain_id);
        }
        let dest = self.layout.layer(&info.chain_id);
        if dest.exists() {
            // A damaged record ignored at open: move it out of the way.
            let junk = self.layout.new_tmp("damaged");
            disk::commit_rename(&dest, &junk)?;
        }
        disk::commit_rename(&tmp, &dest)?;
        pending.armed = false;
        state.layers.insert(info.chain_id.clone(), info.clone());
        self.shared.pin_locked(&mut state, &info.chain_id)
    }

    pub fn get(&self, chain_id: &Digest) -> Result<LayerInfo> {
        self.shared
            .lock()
            .layers
            .get(chain_id)
            .cloned()
            .ok_or_else(|| LayerError::NotFound(chain_id.to_string()))
    }

    pub fn exists(&self, chain_id: &Digest) -> bool {
        self.shared.lock().layers.contains_key(chain_id)
    }

    pub fn all(&self) -> Vec<LayerInfo> {
        let mut all: Vec<LayerInfo> = self.shared.lock().layers.values().cloned().collect();
        all.sort_by(|a, b| a.chain_id.cmp(&b.chain_id));
        all
    }

    /// Pins a layer (and so its ancestors) against gc while the guard lives.
    pub fn pin(&self, chain_id: &Digest) -> Result<LayerRef> {
        let mut state = self.shared.lock();
        self.shared.pin_locked(&mut state, chain_id)
    }

    /// Bytes of all layers' own files.
    pub fn total_size(&self) -> u64 {
        self.shared.lock().layers.values().map(|l| l.size).sum()
    }

    /// Unmounts everything the driver has mounted (daemon shutdown).
    pub fn shutdown(&self) -> Result<()> {
        self.driver.cleanup()
    }
}
