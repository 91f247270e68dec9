//! The image service: lookups by name, tag or ID prefix, and every image
//! operation of the API (list, inspect, history, tag, delete, prune,
//! import, load, save), with their events.

pub mod backend;
mod delete;
mod list;
mod lookup;
mod transfer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use berth_image::image_store::{Image, ImageStore};
use berth_image::reference_store::ReferenceStore;
use berth_layer::Digest;
use berth_layer::store::LayerStore;

use crate::events::EventService;

/// What the image service needs to know about containers (the container
/// service provides it once it exists).
pub trait ImageUsers: Send + Sync {
    /// Containers created from `image`: (container ID, running).
    fn users(&self, image: &Digest) -> Vec<(String, bool)>;
    /// Chain IDs that container read-write layers sit on, kept by the GC.
    fn layer_parents(&self) -> Vec<Digest>;
}

struct NoContainers;

impl ImageUsers for NoContainers {
    fn users(&self, _image: &Digest) -> Vec<(String, bool)> {
        Vec::new()
    }

    fn layer_parents(&self) -> Vec<Digest> {
        Vec::new()
    }
}

pub struct ImageService {
    layers: Arc<LayerStore>,
    images: Arc<ImageStore>,
    refs: Arc<ReferenceStore>,
    events: Arc<EventService>,
    /// Scratch space for loads (under the data root, same filesystem).
    tmp_dir: PathBuf,
    users: RwLock<Arc<dyn ImageUsers>>,
    /// Serialises deletions and prunes with the layer GC.
    delete_lock: std::sync::Mutex<()>,
}

impl ImageService {
    pub fn new(
        layers: Arc<LayerStore>,
        images: Arc<ImageStore>,
        refs: Arc<ReferenceStore>,
        events: Arc<EventService>,
        tmp_dir: PathBuf,
    ) -> Self {
        Self {
            layers,
            images,
            refs,
            events,
            tmp_dir,
            users: RwLock::new(Arc::new(NoContainers)),
            delete_lock: std::sync::Mutex::new(()),
        }
    }

    /// Connects the container service (for in-use checks and the GC).
    pub fn set_users(&self, users: Arc<dyn ImageUsers>) {
        match self.users.write() {
            Ok(mut u) => *u = users,
            Err(poisoned) => *poisoned.into_inner() = users,
        }
    }

    fn users(&self) -> Arc<dyn ImageUsers> {
        match self.users.read() {
            Ok(u) => u.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn layers(&self) -> &Arc<LayerStore> {
        &self.layers
    }

    pub fn store(&self) -> &Arc<ImageStore> {
        &self.images
    }

    pub fn refs(&self) -> &Arc<ReferenceStore> {
        &self.refs
    }

    /// Number of images (for `/info`).
    pub fn count(&self) -> usize {
        self.images.len()
    }

    /// Total bytes of an image's layers.
    pub fn image_size(&self, img: &Image) -> u64 {
        let mut total = 0;
        let mut next = img.top_chain_id.clone();
        while let Some(chain) = next {
            match self.layers.get(&chain) {
                Ok(info) => {
                    total += info.size;
                    next = info.parent;
                }
                Err(_) => break,
            }
        }
        total
    }

    /// Publishes an image event with the image's labels and `name`.
    fn event(&self, action: &str, id: &Digest, name: &str) {
        let mut attrs: BTreeMap<String, String> = self
            .images
            .get(id)
            .ok()
            .and_then(|img| img.config.config.as_ref().and_then(|c| c.labels.clone()))
            .unwrap_or_default();
        attrs.insert("name".to_string(), name.to_string());
        self.events.publish("image", action, &id.to_string(), attrs);
    }

    /// Removes layers no image or container needs any more.
    fn collect_layers(&self) -> Vec<Digest> {
        let mut live = self.images.live_chain_ids();
        live.extend(self.users().layer_parents());
        match self.layers.gc(&live) {
            Ok(removed) => removed,
            Err(e) => {
                tracing::warn!(error = %e, "layer garbage collection failed");
                Vec::new()
            }
        }
    }
}
