//! The image store: image configurations by ID (sha256 of their bytes) in Docker's `imagedb` layout, with parent and last-tag-time metadata.
//!
//! Layout under the root the daemon gives (`<data-root>/image/<driver>`):
//!
//! ```text
//! imagedb/content/sha256/<hex>                 the configuration bytes
//! imagedb/metadata/sha256/<hex>/parent         "sha256:<parent hex>"
//! imagedb/metadata/sha256/<hex>/lastUpdated    RFC 3339 time of the last tag
//! ```
//!
//! Every image is indexed in memory at open; a damaged file is logged and
//! skipped. The store does not hold layers: callers keep the layers of an
//! image pinned until [`ImageStore::create`] returns, and pass
//! [`ImageStore::live_chain_ids`] to the layer store's garbage collector.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, FixedOffset};

use crate::config::{ImageConfig, format_rfc3339_nano, now};
use crate::{Digest, ImageError, Result};

const PARENT_FILE: &str = "parent";
const LAST_UPDATED_FILE: &str = "lastUpdated";

/// An image of the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The sha256 of the configuration bytes.
    pub id: Digest,
    /// The parsed configuration (read-only: the ID is of the raw bytes).
    pub config: ImageConfig,
    /// Length of the configuration bytes.
    pub config_size: u64,
    /// The chain ID of the top layer; `None` for an image without layers.
    pub top_chain_id: Option<Digest>,
    /// The parent image recorded by the store (builds, commits, loads).
    pub parent: Option<Digest>,
    /// When the image was last tagged, if ever.
    pub last_updated: Option<DateTime<FixedOffset>>,
}

#[derive(Default)]
struct Index {
    /// By hex ID, sorted so that prefix searches are range scans.
    images: BTreeMap<String, Arc<Image>>,
    children: BTreeMap<Digest, BTreeSet<Digest>>,
}

/// Image configurations by ID. All methods are blocking.
pub struct ImageStore {
    content_dir: PathBuf,
    metadata_dir: PathBuf,
    index: RwLock<Index>,
}

impl ImageStore {
    /// Opens (creating if needed) the store under `root` and indexes every
    /// image. Files that are damaged (unparsable, or whose digest does not
    /// match their name) are logged and skipped.
    pub fn open(root: &Path) -> Result<Self> {
        let content_dir = root.join("imagedb/content/sha256");
        let metadata_dir = root.join("imagedb/metadata/sha256");
        for dir in [&content_dir, &metadata_dir] {
            berth_fsutil::create_dir_all_mode(dir, 0o700)
                .map_err(|e| ImageError::io(format!("creating {}", dir.display()), e))?;
        }
        berth_fsutil::sweep_temp_files(&content_dir)
            .map_err(|e| ImageError::io(format!("cleaning {}", content_dir.display()), e))?;
        let store = ImageStore {
            content_dir,
            metadata_dir,
            index: RwLock::new(Index::default()),
        };
        store.load()?;
        Ok(store)
    }

    fn load(&self) -> Result<()> {
        let entries = fs::read_dir(&self.content_dir)
            .map_err(|e| ImageError::io(format!("reading {}", self.content_dir.display()), e))?;
        let mut index = Index::default();
        for entry in entries {
            let entry = entry.map_err(|e| {
                ImageError::io(format!("reading {}", self.content_dir.display()), e)
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(id) = Digest::from_hex(&name) else {
                tracing::warn!(file = %entry.path().display(), "ignoring unexpected file in image store");
                continue;
            };
            match self.read_image(&id) {
                Ok(img) => {
                    index.images.insert(id.hex().to_string(), Arc::new(img));
                }
                Err(e) => {
                    tracing::error!(image = %id, error = %e, "skipping damaged image");
                }
            }
        }
        let links: Vec<(Digest, Digest)> = index
            .images
            .values()
            .filter_map(|img| img.parent.clone().map(|p| (p, img.id.clone())))
            .collect();
        for (parent, child) in links {
            if index.images.contains_key(parent.hex()) {
                index.children.entry(parent).or_default().insert(child);
            }
        }
        *self.write() = index;
        Ok(())
    }

    fn read_image(&self, id: &Digest) -> Result<Image> {
        let bytes = self.config_bytes(id)?;
        let config = ImageConfig::parse(&bytes)?;
        let meta = self.metadata_dir.join(id.hex());
        let parent = match read_meta(&meta.join(PARENT_FILE))? {
            Some(text) => match text.trim().parse::<Digest>() {
                Ok(p) => Some(p),
                Err(_) => {
                    tracing::warn!(image = %id, "ignoring invalid parent metadata");
                    None
                }
            },
            None => None,
        };
        let last_updated = match read_meta(&meta.join(LAST_UPDATED_FILE))? {
            Some(text) if !text.trim().is_empty() => DateTime::parse_from_rfc3339(text.trim()).ok(),
            _ => None,
        };
        Ok(Image {
            id: id.clone(),
            top_chain_id: config.top_chain_id(),
            config,
            config_size: bytes.len() as u64,
            parent,
            last_updated,
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    fn content_path(&self, id: &Digest) -> PathBuf {
        self.content_dir.join(id.hex())
    }

    /// Validates and stores a configuration; returns its ID. Storing the
    /// same bytes again returns the same ID and changes nothing.
    pub fn create(&self, config_bytes: &[u8]) -> Result<Digest> {
        let config = ImageConfig::parse(config_bytes)?;
        let id = Digest::of(config_bytes);
        if self.exists(&id) {
            return Ok(id);
        }
        let path = self.content_path(&id);
        berth_fsutil::atomic_write_mode(&path, config_bytes, 0o600)
            .map_err(|e| ImageError::io(format!("writing image config {}", path.display()), e))?;
        let img = Image {
            id: id.clone(),
            top_chain_id: config.top_chain_id(),
            config,
            config_size: config_bytes.len() as u64,
            parent: None,
            last_updated: None,
        };
        self.write()
            .images
            .entry(id.hex().to_string())
            .or_insert_with(|| Arc::new(img));
        Ok(id)
    }

    /// The image with this ID.
    pub fn get(&self, id: &Digest) -> Result<Arc<Image>> {
        self.read()
            .images
            .get(id.hex())
            .cloned()
            .ok_or_else(|| ImageError::NoSuchImage(id.to_string()))
    }

    pub fn exists(&self, id: &Digest) -> bool {
        self.read().images.contains_key(id.hex())
    }

    /// The exact stored configuration bytes of an image, verified against
    /// its ID.
    pub fn config_bytes(&self, id: &Digest) -> Result<Vec<u8>> {
        let path = self.content_path(id);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ImageError::NoSuchImage(id.to_string()));
            }
            Err(e) => return Err(ImageError::io(format!("reading {}", path.display()), e)),
        };
        if Digest::of(&bytes) != *id {
            return Err(ImageError::Corrupt(format!(
                "image config {} does not match its digest",
                path.display()
            )));
        }
        Ok(bytes)
    }

    /// Every image, by ascending ID.
    pub fn list(&self) -> Vec<Arc<Image>> {
        self.read().images.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().images.is_empty()
    }

    /// The top chain IDs of every image: what the layer store must keep.
    pub fn live_chain_ids(&self) -> Vec<Digest> {
        let set: BTreeSet<Digest> = self
            .read()
            .images
            .values()
            .filter_map(|i| i.top_chain_id.clone())
            .collect();
        set.into_iter().collect()
    }

    /// Removes an image and its metadata. Its children lose their parent
    /// link (as in Docker). Layers are left to the layer store's GC.
    pub fn delete(&self, id: &Digest) -> Result<Arc<Image>> {
        let mut index = self.write();
        let Some(img) = index.images.get(id.hex()).cloned() else {
            return Err(ImageError::NoSuchImage(id.to_string()));
        };
        let children = index.children.remove(id).unwrap_or_default();
        for child in &children {
            let path = self.metadata_dir.join(child.hex()).join(PARENT_FILE);
            berth_fsutil::remove_file_if_exists(&path)
                .map_err(|e| ImageError::io(format!("removing {}", path.display()), e))?;
            if let Some(c) = index.images.get_mut(child.hex()) {
                Arc::make_mut(c).parent = None;
            }
        }
        let path = self.content_path(id);
        berth_fsutil::remove_file_if_exists(&path)
            .map_err(|e| ImageError::io(format!("removing {}", path.display()), e))?;
        let meta = self.metadata_dir.join(id.hex());
        if let Err(e) = berth_fsutil::remove_dir_all_if_exists(&meta) {
            tracing::warn!(image = %id, error = %e, "cannot remove image metadata");
        }
        if let Some(p) = &img.parent
            && let Some(set) = index.children.get_mut(p)
        {
            set.remove(id);
            if set.is_empty() {
                index.children.remove(p);
            }
        }
        index.images.remove(id.hex());
        Ok(img)
    }

    /// Finds the image whose ID starts with `term` (hex digits, with or
    /// without `sha256:`). An ambiguous prefix is `AmbiguousPrefix`; no
    /// match (or a term that cannot be an ID prefix) is `NoSuchImage`.
    pub fn search(&self, term: &str) -> Result<Digest> {
        let hex = term.strip_prefix("sha256:").unwrap_or(term);
        let is_hex = !hex.is_empty()
            && hex.len() <= 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_hex {
            return Err(ImageError::NoSuchImage(term.to_string()));
        }
        let index = self.read();
        let mut matches = index
            .images
            .range(hex.to_string()..)
            .take_while(|(k, _)| k.starts_with(hex));
        let Some((_, first)) = matches.next() else {
            return Err(ImageError::NoSuchImage(term.to_string()));
        };
        let others = matches.count();
        if others > 0 {
            return Err(ImageError::AmbiguousPrefix {
                prefix: term.to_string(),
                count: others + 1,
            });
        }
        Ok(first.id.clone())
    }

    /// Records `parent` as the parent image of `id`.
    pub fn set_parent(&self, id: &Digest, parent: &Digest) -> Result<()> {
        if id == parent {
            return Err(ImageError::InvalidParameter(format!(
                "image {id} cannot be its own parent"
            )));
        }
        let mut index = self.write();
        if !index.images.contains_key(parent.hex()) {
            return Err(ImageError::NoSuchImage(parent.to_string()));
        }
        let Some(img) = index.images.get(id.hex()).cloned() else {
            return Err(ImageError::NoSuchImage(id.to_string()));
        };
        let dir = self.metadata_dir.join(id.hex());
        berth_fsutil::create_dir_all_mode(&dir, 0o700)
            .map_err(|e| ImageError::io(format!("creating {}", dir.display()), e))?;
        let path = dir.join(PARENT_FILE);
        berth_fsutil::atomic_write_mode(&path, parent.to_string().as_bytes(), 0o600)
            .map_err(|e| ImageError::io(format!("writing {}", path.display()), e))?;
        if let Some(old) = &img.parent
            && let Some(set) = index.children.get_mut(old)
        {
            set.remove(id);
        }
        index
            .children
            .entry(parent.clone())
            .or_default()
            .insert(id.clone());
        if let Some(i) = index.images.get_mut(id.hex()) {
            Arc::make_mut(i).parent = Some(parent.clone());
        }
        Ok(())
    }

    /// The recorded parent image of `id`.
    pub fn parent(&self, id: &Digest) -> Result<Option<Digest>> {
        Ok(self.get(id)?.parent.clone())
    }

    /// Images whose recorded parent is `id`, sorted.
    pub fn children(&self, id: &Digest) -> Vec<Digest> {
        self.read()
            .children
            .get(id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Records now as the time `id` was last tagged.
    pub fn set_last_updated(&self, id: &Digest) -> Result<()> {
        let when = now();
        let mut index = self.write();
        if !index.images.contains_key(id.hex()) {
            return Err(ImageError::NoSuchImage(id.to_string()));
        }
        let dir = self.metadata_dir.join(id.hex());
        berth_fsutil::create_dir_all_mode(&dir, 0o700)
            .map_err(|e| ImageError::io(format!("creating {}", dir.display()), e))?;
        let path = dir.join(LAST_UPDATED_FILE);
        berth_fsutil::atomic_write_mode(&path, format_rfc3339_nano(&when).as_bytes(), 0o600)
            .map_err(|e| ImageError::io(format!("writing {}", path.display()), e))?;
        if let Some(i) = index.images.get_mut(id.hex()) {
            Arc::make_mut(i).last_updated = Some(when);
        }
        Ok(())
    }

    /// When `id` was last tagged, if ever.
    pub fn last_updated(&self, id: &Digest) -> Result<Option<DateTime<FixedOffset>>> {
        Ok(self.get(id)?.last_updated)
    }
}

fn read_meta(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ImageError::io(format!("reading {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn config_with(diff_ids: &[Digest], comment: &str) -> Vec<u8> {
        let ids: Vec<String> = diff_ids.iter().map(|d| format!("\"{d}\"")).collect();
        format!(
            r#"{{"architecture":"amd64","os":"linux","comment":"{comment}","rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
            ids.join(",")
        )
        .into_bytes()
    }

    #[test]
    fn create_get_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        let a = Digest::of(b"a");
        let bytes = config_with(std::slice::from_ref(&a), "one");
        let id = store.create(&bytes).unwrap();
        assert_eq!(id, Digest::of(&bytes));
        assert_eq!(store.create(&bytes).unwrap(), id, "idempotent");
        assert_eq!(store.len(), 1);
        let img = store.get(&id).unwrap();
        assert_eq!(img.top_chain_id, Some(a.clone()));
        assert_eq!(img.config.comment, "one");
        assert_eq!(store.config_bytes(&id).unwrap(), bytes);
        let path = dir.path().join("imagedb/content/sha256").join(id.hex());
        assert_eq!(fs::read(path).unwrap(), bytes);

        store.set_last_updated(&id).unwrap();
        drop(store);
        let store = ImageStore::open(dir.path()).unwrap();
        let img = store.get(&id).unwrap();
        assert!(img.last_updated.is_some());
        assert_eq!(store.live_chain_ids(), vec![a]);
    }

    #[test]
    fn rejects_invalid_configs() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        let e = store
            .create(b"{\"rootfs\":{\"type\":\"nope\"}}")
            .unwrap_err();
        assert!(matches!(e, ImageError::InvalidConfig(_)));
        assert!(store.is_empty());
    }

    #[test]
    fn damaged_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        let good = store.create(&config_with(&[], "good")).unwrap();
        drop(store);
        let content = dir.path().join("imagedb/content/sha256");
        // Not JSON, and named by its digest.
        fs::write(content.join(Digest::of(b"junk").hex()), b"junk").unwrap();
        // Valid JSON under a wrong name.
        fs::write(content.join(Digest::of(b"x").hex()), config_with(&[], "x")).unwrap();
        fs::write(content.join("not-a-digest"), b"{}").unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        assert_eq!(
            store
                .list()
                .iter()
                .map(|i| i.id.clone())
                .collect::<Vec<_>>(),
            vec![good]
        );
    }

    #[test]
    fn search_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        let mut ids = Vec::new();
        for i in 0..40 {
            ids.push(store.create(&config_with(&[], &format!("img{i}"))).unwrap());
        }
        let id = &ids[0];
        assert_eq!(store.search(id.hex()).unwrap(), *id);
        assert_eq!(store.search(&id.to_string()).unwrap(), *id);
        assert_eq!(store.search(&id.hex()[..12]).unwrap(), *id);
        assert_eq!(
            store
                .search(&format!("sha256:{}", &id.hex()[..12]))
                .unwrap(),
            *id
        );
        // With 40 images some one-digit prefix is shared.
        let first = &ids
            .iter()
            .find(|a| ids.iter().filter(|b| b.hex()[..1] == a.hex()[..1]).count() > 1)
            .unwrap()
            .hex()[..1];
        assert!(matches!(
            store.search(first),
            Err(ImageError::AmbiguousPrefix { .. })
        ));
        let unused = (0..16u8)
            .map(|d| format!("{d:x}"))
            .find(|p| !ids.iter().any(|i| i.hex().starts_with(p.as_str())));
        if let Some(p) = unused {
            assert!(matches!(store.search(&p), Err(ImageError::NoSuchImage(_))));
        }
        for bad in ["", "sha256:", "xyz", "ABC", &"a".repeat(65)] {
            assert!(
                matches!(store.search(bad), Err(ImageError::NoSuchImage(_))),
                "{bad}"
            );
        }
        let e = store.search("zz").unwrap_err();
        assert_eq!(e.to_string(), "No such image: zz");
    }

    #[test]
    fn parents_children_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open(dir.path()).unwrap();
        let p = store.create(&config_with(&[], "parent")).unwrap();
        let c1 = store.create(&config_with(&[], "c1")).unwrap();
        let c2 = store.create(&config_with(&[], "c2")).unwrap();
        store.set_parent(&c1, &p).unwrap();
        store.set_parent(&c2, &p).unwrap();
        let mut want = vec![c1.clone(), c2.clone()];
        want.sort();
        assert_eq!(store.children(&p), want);
        assert_eq!(store.parent(&c1).unwrap(), Some(p.clone()));
        assert!(store.set_parent(&c1, &Digest::of(b"none")).is_err());
        assert!(store.set_parent(&c1, &c1).is_err());

        drop(store);
        let store = ImageStore::open(dir.path()).unwrap();
        assert_eq!(store.children(&p), want, "children rebuilt at open");
        store.delete(&c1).unwrap();
        assert_eq!(store.children(&p), vec![c2.clone()]);
        store.delete(&p).unwrap();
        assert_eq!(store.parent(&c2).unwrap(), None);
        assert!(matches!(store.get(&p), Err(ImageError::NoSuchImage(_))));
        assert!(matches!(store.delete(&p), Err(ImageError::NoSuchImage(_))));
        drop(store);
        let store = ImageStore::open(dir.path()).unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(store.parent(&c2).unwrap(), None);
    }
}
