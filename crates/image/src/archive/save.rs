//! `docker save`: writes, as a stream, the archive Docker 25+ writes: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) plus `manifest.json` and `repositories` for older loaders.
//!
//! Blobs are the configurations, the uncompressed layer tars (their
//! digests are the diff IDs) and one OCI manifest per image; each is
//! written once however many images share it. Entries are sorted, owned by
//! 0:0 and dated 1970-01-01, so the same images always give the same bytes.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};

use berth_layer::store::{LayerRef, LayerStore};
use serde::Serialize;

use crate::image_store::ImageStore;
use crate::oci::{self, Descriptor, Index, Manifest};
use crate::reference::{AnyReference, Named};
use crate::reference_store::ReferenceStore;
use crate::{Digest, ImageError, Result};

/// One image to save with the tags to record for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveItem {
    pub id: Digest,
    pub tags: Vec<Named>,
}

/// Resolves the names given to `docker save` as Docker does: an ID or ID
/// prefix saves the image untagged; a bare repository name saves every
/// tag of it; `name:tag` saves that tag; `name@digest` saves the image
/// untagged. Order of first mention is kept; duplicates merge.
pub fn resolve_names(
    images: &ImageStore,
    refs: &ReferenceStore,
    names: &[String],
) -> Result<Vec<SaveItem>> {
    let mut items: Vec<SaveItem> = Vec::new();
    let mut add = |id: Digest, tag: Option<Named>| {
        let pos = match items.iter().position(|i| i.id == id) {
            Some(p) => p,
            None => {
                items.push(SaveItem {
                    id,
                    tags: Vec::new(),
                });
                items.len() - 1
            }
        };
        if let Some(t) = tag
            && t.digest().is_none()
            && !items[pos].tags.contains(&t)
        {
            items[pos].tags.push(t);
        }
    };
    for name in names {
        match AnyReference::parse(name)? {
            AnyReference::Id(id) => {
                images.get(&id)?;
                add(id, None);
            }
            AnyReference::Named(named) => {
                if named.familiar_name() == "sha256" {
                    add(images.search(name)?, None);
                } else if named.is_name_only() {
                    let assocs = refs.references_by_name(&named);
                    if assocs.is_empty() {
                        let id = images.search(name).map_err(|e| match e {
                            ImageError::NoSuchImage(_) => {
                                ImageError::NoSuchImage(named.familiar_string())
                            }
                            other => other,
                        })?;
                        add(id, None);
                    }
                    for (r, id) in assocs {
                        add(id, Some(r));
                    }
                } else {
                    let Some(id) = refs.get(&named) else {
                        return Err(ImageError::NoSuchImage(named.familiar_string()));
                    };
                    images.get(&id)?;
                    add(id, Some(named));
                }
            }
        }
    }
    Ok(items)
}

/// What a blob of the archive is made of.
enum Blob {
    Bytes(Vec<u8>),
    Layer {
        chain: Digest,
        diff_id: Digest,
        size: u64,
    },
}

#[derive(Serialize)]
struct ManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
    #[serde(rename = "Parent", skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
}

fn blob_path(hex: &str) -> String {
    format!("blobs/sha256/{hex}")
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v)
        .map_err(|e| ImageError::io("encoding archive metadata", io::Error::other(e)))
}

/// Saves the images `names` resolve to (see [`resolve_names`]).
pub fn save_names(
    layers: &LayerStore,
    images: &ImageStore,
    refs: &ReferenceStore,
    names: &[String],
    out: &mut dyn Write,
) -> Result<()> {
    let items = resolve_names(images, refs, names)?;
    save(layers, images, &items, out)
}

/// Writes the archive of `items` (each image with the tags to record) to
/// `out`. Everything is read and checked, and the layers pinned, before
/// the first byte is written; an error after that leaves `out` truncated.
pub fn save(
    layers: &LayerStore,
    images: &ImageStore,
    items: &[SaveItem],
    out: &mut dyn Write,
) -> Result<()> {
    let mut blobs: BTreeMap<String, Blob> = BTreeMap::new();
    let mut pins: Vec<LayerRef> = Vec::new();
    let mut index_entries: Vec<Descriptor> = Vec::new();
    let mut manifest_items: Vec<ManifestItem> = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let saved: HashSet<&Digest> = items.iter().map(|i| &i.id).collect();

    for item in items {
        let img = images.get(&item.id)?;
        let config_bytes = images.config_bytes(&item.id)?;
        let chains = img.config.chain_ids();
        if let Some(top) = chains.last() {
            pins.push(layers.pin(top).map_err(|e| {
                ImageError::Corrupt(format!("image {}: layer {top} is missing: {e}", item.id))
            })?);
        }
        let mut layer_descs = Vec::with_capacity(chains.len());
        for (chain, diff_id) in chains.iter().zip(img.config.diff_ids()) {
            let info = layers.get(chain).map_err(|e| {
                ImageError::Corrupt(format!("image {}: layer {chain}: {e}", item.id))
            })?;
            if info.diff_id != *diff_id {
                return Err(ImageError::Corrupt(format!(
                    "layer {chain} has diff ID {}, image {} expects {diff_id}",
                    info.diff_id, item.id
                )));
            }
            layer_descs.push(Descriptor {
                media_type: oci::MEDIA_TYPE_OCI_LAYER.into(),
                digest: diff_id.to_string(),
                size: info.tar_size as i64,
                ..Default::default()
            });
            blobs
                .entry(diff_id.hex().to_string())
                .or_insert(Blob::Layer {
                    chain: chain.clone(),
                    diff_id: diff_id.clone(),
                    size: info.tar_size,
                });
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: oci::MEDIA_TYPE_OCI_MANIFEST.into(),
            config: Descriptor {
                media_type: oci::MEDIA_TYPE_OCI_CONFIG.into(),
                digest: item.id.to_string(),
                size: config_bytes.len() as i64,
                ..Default::default()
            },
            layers: layer_descs,
            annotations: None,
        };
        let manifest_bytes = json(&manifest)?;
        let manifest_digest = Digest::of(&manifest_bytes);
        let manifest_size = manifest_bytes.len() as i64;
        blobs
            .entry(manifest_digest.hex().to_string())
            .or_insert(Blob::Bytes(manifest_bytes));
        blobs
            .entry(item.id.hex().to_string())
            .or_insert(Blob::Bytes(config_bytes));

        let untagged = Descriptor {
            media_type: oci::MEDIA_TYPE_OCI_MANIFEST.into(),
            digest: manifest_digest.to_string(),
            size: manifest_size,
            ..Default::default()
        };
        let mut repo_tags = Vec::new();
        for tag in &item.tags {
            let Some(t) = tag.tag() else { continue };
            repo_tags.push(tag.familiar_string());
            if let Some(top) = img.config.diff_ids().last() {
                repositories
                    .entry(tag.familiar_name())
                    .or_default()
                    .insert(t.to_string(), top.hex().to_string());
            }
            let mut annotations = BTreeMap::new();
            annotations.insert(oci::ANNOTATION_IMAGE_NAME.to_string(), tag.to_string());
            annotations.insert(oci::ANNOTATION_REF_NAME.to_string(), t.to_string());
            index_entries.push(Descriptor {
                annotations: Some(annotations),
                ..untagged.clone()
            });
        }
        if repo_tags.is_empty() {
            index_entries.push(untagged);
        }
        manifest_items.push(ManifestItem {
            config: blob_path(item.id.hex()),
            repo_tags: (!repo_tags.is_empty()).then_some(repo_tags),
            layers: img
                .config
                .diff_ids()
                .iter()
                .map(|d| blob_path(d.hex()))
                .collect(),
            parent: img
                .parent
                .as_ref()
                .filter(|p| saved.contains(p))
                .map(|p| p.to_string()),
        });
    }

    let index = Index {
        schema_version: 2,
        media_type: oci::MEDIA_TYPE_OCI_INDEX.into(),
        manifests: index_entries,
        annotations: None,
    };
    let index_bytes = json(&index)?;
    let mut manifest_bytes = json(&manifest_items)?;
    manifest_bytes.push(b'\n');

    let mut tar = TarWriter { out };
    tar.dir("blobs/")?;
    tar.dir("blobs/sha256/")?;
    for (hex, blob) in &blobs {
        let name = blob_path(hex);
        match blob {
            Blob::Bytes(b) => tar.file(&name, b)?,
            Blob::Layer {
                chain,
                diff_id,
                size,
            } => tar.layer(&name, layers, chain, diff_id, *size)?,
        }
    }
    tar.file("index.json", &index_bytes)?;
    tar.file("manifest.json", &manifest_bytes)?;
    tar.file("oci-layout", oci::OCI_LAYOUT_CONTENT.as_bytes())?;
    if !repositories.is_empty() {
        let mut repo_bytes = json(&repositories)?;
        repo_bytes.push(b'\n');
        tar.file("repositories", &repo_bytes)?;
    }
    tar.finish()?;
    drop(pins);
    Ok(())
}

/// A minimal streaming tar writer with fixed metadata.
struct TarWriter<'a> {
    out: &'a mut dyn Write,
}

fn write_err(e: io::Error) -> ImageError {
    ImageError::io("writing the image archive", e)
}

impl TarWriter<'_> {
    fn header(&mut self, name: &str, size: u64, kind: tar::EntryType, mode: u32) -> Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).map_err(write_err)?;
        h.set_size(size);
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        self.out.write_all(h.as_bytes()).map_err(write_err)
    }

    fn pad(&mut self, size: u64) -> Result<()> {
        let rem = (size % 512) as usize;
        if rem != 0 {
            self.out
                .write_all(&[0u8; 512][..512 - rem])
                .map_err(write_err)?;
        }
        Ok(())
    }

    fn dir(&mut self, name: &str) -> Result<()> {
        self.header(name, 0, tar::EntryType::Directory, 0o755)
    }

    fn file(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.header(name, data.len() as u64, tar::EntryType::Regular, 0o644)?;
        self.out.write_all(data).map_err(write_err)?;
        self.pad(data.len() as u64)
    }

    /// Streams a layer's diff tar, checking its length and digest: a
    /// mismatch means the store is damaged (and the stream is unusable).
    fn layer(
        &mut self,
        name: &str,
        layers: &LayerStore,
        chain: &Digest,
        diff_id: &Digest,
        size: u64,
    ) -> Result<()> {
        self.header(name, size, tar::EntryType::Regular, 0o644)?;
        let mut w = CheckedWriter {
            inner: &mut *self.out,
            hasher: berth_layer::digest::Hasher::new(),
            limit: size,
        };
        layers.write_diff_tar(chain, &mut w)?;
        let written = w.hasher.len();
        let got = w.hasher.finish();
        if written != size || got != *diff_id {
            return Err(ImageError::Corrupt(format!(
                "layer {chain}: its tar has {written} bytes and digest {got}, expected {size} bytes and {diff_id}"
            )));
        }
        self.pad(size)
    }

    fn finish(&mut self) -> Result<()> {
        self.out.write_all(&[0u8; 1024]).map_err(write_err)?;
        self.out.flush().map_err(write_err)
    }
}

/// Passes bytes through while hashing them, refusing to exceed `limit`
/// (the size already written in the tar header).
struct CheckedWriter<'a> {
    inner: &'a mut dyn Write,
    hasher: berth_layer::digest::Hasher,
    limit: u64,
}

impl Write for CheckedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.hasher.len() + buf.len() as u64 > self.limit {
            return Err(io::Error::other("layer tar is longer than recorded"));
        }
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
