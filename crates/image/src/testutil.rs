//! Test helpers: a complete set of stores in a temporary directory, and tar builders.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use berth_layer::store::LayerStore;

use crate::image_store::ImageStore;
use crate::reference::Named;
use crate::reference_store::ReferenceStore;

/// Layer, image and reference stores under one temporary data root.
pub struct Stores {
    pub dir: tempfile::TempDir,
    pub layers: LayerStore,
    pub images: ImageStore,
    pub refs: ReferenceStore,
}

impl Stores {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let driver: Arc<dyn berth_layer::StorageDriver> =
            Arc::new(berth_layer::VfsDriver::new(&dir.path().join("vfs/dir")).unwrap());
        let root = dir.path().join("image/vfs");
        let layers = LayerStore::open(&root, driver).unwrap();
        let images = ImageStore::open(&root).unwrap();
        let refs = ReferenceStore::open(&root.join("repositories.json")).unwrap();
        Stores {
            dir,
            layers,
            images,
            refs,
        }
    }

    pub fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }
}

pub fn named(s: &str) -> Named {
    Named::parse_normalized(s).unwrap()
}

/// A deterministic layer tar with the given regular files.
pub fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Builds an archive from (name, bytes) files and (name, target) symlinks,
/// writing names raw so that hostile ones can be tested.
pub fn archive(files: &[(&str, &[u8])], symlinks: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let raw_header = |name: &str, kind: tar::EntryType, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        let bytes = name.as_bytes();
        h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        h
    };
    for (name, data) in files {
        let mut h = raw_header(name, tar::EntryType::Regular, data.len() as u64);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    for (name, target) in symlinks {
        let mut h = raw_header(name, tar::EntryType::Symlink, 0);
        h.set_link_name(target).unwrap();
        h.set_cksum();
        b.append(&h, &b""[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// The (name, content) entries of a tar.
pub fn entries(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut a = tar::Archive::new(data);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut buf = Vec::new();
            e.read_to_end(&mut buf).unwrap();
            (name, buf)
        })
        .collect()
}
