//! `docker load`: reads `docker save` archives (`manifest.json`) and OCI image layouts (`index.json`), optionally compressed, verifies every digest, registers layers, then creates and tags the images.
//!
//! Order of work, so that a bad archive leaves nothing behind: unpack into
//! a private temporary directory; read and check every document (manifest,
//! index, configs, tags); verify and register the layers, each pinned;
//! only then create the images, tag them and record parents. Layers of a
//! load that fails later are unpinned and left to the layer store's GC.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use berth_api::progress::ProgressMessage;
use berth_layer::store::{LayerRef, LayerStore, chain_id};
use serde::Deserialize;

use super::extract::{Extracted, input_error};
use crate::config::{ImageConfig, Platform};
use crate::image_store::ImageStore;
use crate::oci::{self, Descriptor, Index, Manifest};
use crate::progress::{Throttle, progress_message, truncate_id};
use crate::reference::Named;
use crate::reference_store::ReferenceStore;
use crate::{Digest, ImageError, Result};

const MANIFEST_FILE: &str = "manifest.json";
const INDEX_FILE: &str = "index.json";
const LAYOUT_FILE: &str = "oci-layout";
/// Largest JSON document (manifest, index, config) read from an archive.
const MAX_DOCUMENT: u64 = 64 << 20;
/// How deep indexes may nest.
const MAX_INDEX_DEPTH: usize = 4;

/// Options of [`load`].
#[derive(Debug, Clone)]
pub struct LoadOptions<'a> {
    /// Where the archive is unpacked (a private subdirectory is made and
    /// removed); on the same filesystem as the data root ideally.
    pub tmp_dir: &'a Path,
    /// Only load images of this platform; for OCI indexes, the platform to
    /// pick (the host's when `None`).
    pub platform: Option<Platform>,
}

/// An image that was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    pub id: Digest,
    pub tags: Vec<Named>,
}

/// One layer to load: the file, and the blob digest to check if known.
#[derive(Debug, Clone)]
struct PlannedLayer {
    name: String,
    path: PathBuf,
    blob: Option<(Digest, Option<u64>)>,
}

#[derive(Debug, Clone)]
struct PlannedImage {
    config_bytes: Vec<u8>,
    config: ImageConfig,
    layers: Vec<PlannedLayer>,
    tags: Vec<Named>,
    parent: Option<Digest>,
}

/// Loads every image of the archive `input` (tar, or tar compressed with
/// gzip or zstd), unpacking it under `tmp_dir`. Progress lines (`Loading
/// layer`, `Loaded image: …`) go to `progress`. Returns the loaded images,
/// in archive order.
pub fn load(
    layers: &LayerStore,
    images: &ImageStore,
    refs: &ReferenceStore,
    input: &mut dyn Read,
    tmp_dir: &Path,
    progress: &mut dyn FnMut(ProgressMessage),
) -> Result<Vec<LoadedImage>> {
    let opts = LoadOptions {
        tmp_dir,
        platform: None,
    };
    load_with_options(layers, images, refs, input, &opts, progress)
}

/// [`load`] with options (platform selection).
pub fn load_with_options(
    layers: &LayerStore,
    images: &ImageStore,
    refs: &ReferenceStore,
    input: &mut dyn Read,
    opts: &LoadOptions<'_>,
    progress: &mut dyn FnMut(ProgressMessage),
) -> Result<Vec<LoadedImage>> {
    let (mut tar, _) = berth_layer::decompress::decompress(input).map_err(|e| match e {
        berth_layer::LayerError::InvalidArchive(m) => {
            ImageError::InvalidArchive(m.replace("invalid layer archive", "invalid archive"))
        }
        other => other.into(),
    })?;
    let archive = Extracted::unpack(&mut tar, opts.tmp_dir)?;
    // Whatever follows the tar's end (padding) is not ours to judge, but a
    // broken compressed stream is: drain it.
    drain(&mut tar)?;

    let plan = if archive.has_file(MANIFEST_FILE) {
        plan_docker(&archive, opts)?
    } else if archive.has_file(INDEX_FILE) {
        plan_oci(&archive, opts)?
    } else {
        return Err(ImageError::InvalidArchive(format!(
            "invalid archive: does not contain a {MANIFEST_FILE} or an OCI {INDEX_FILE}"
        )));
    };
    execute(layers, images, refs, plan, progress)
}

fn drain(r: &mut dyn Read) -> Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(input_error(e)),
        }
    }
}

fn invalid(msg: impl Into<String>) -> ImageError {
    ImageError::InvalidArchive(format!("invalid archive: {}", msg.into()))
}

fn parse_json<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| invalid(format!("failed to decode {what}: {e}")))
}

/// The hex digest a file name promises: `blobs/sha256/<hex>`, `<hex>.json`.
fn digest_in_name(name: &str) -> Option<Digest> {
    let norm = super::extract::normalize(name)?;
    let base = norm.rsplit('/').next().unwrap_or(&norm);
    let base = base.strip_suffix(".json").unwrap_or(base);
    Digest::from_hex(base).ok()
}

fn parse_config(bytes: &[u8], name: &str) -> Result<ImageConfig> {
    let config = ImageConfig::parse(bytes).map_err(|e| invalid(format!("{name}: {e}")))?;
    if config.os_or_default() != "linux" {
        return Err(invalid(format!(
            "cannot load {} image on linux",
            config.os_or_default()
        )));
    }
    Ok(config)
}

fn platform_matches(config: &ImageConfig, want: &Platform) -> bool {
    config.os_or_default() == want.os
        && config.architecture == want.architecture
        && (want.variant.is_empty() || config.variant == want.variant)
}

/// A tag of an archive: a name with a tag (`latest` added), no digest.
fn parse_tag(text: &str, what: &str) -> Result<Named> {
    let named = Named::parse_normalized(text)
        .map_err(|e| invalid(format!("invalid tag {text:?} in {what}: {e}")))?;
    if named.digest().is_some() {
        return Err(invalid(format!(
            "invalid tag {text:?} in {what}: a tag cannot have a digest"
        )));
    }
    Ok(named.tag_name_only())
}

/// `manifest.json` of `docker save`.
#[derive(Debug, Deserialize)]
struct ManifestItem {
    #[serde(rename = "Config", alias = "config")]
    config: String,
    #[serde(rename = "RepoTags", alias = "repoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", alias = "layers", default)]
    layers: Option<Vec<String>>,
    #[serde(rename = "Parent", alias = "parent", default)]
    parent: Option<String>,
}

fn plan_docker(archive: &Extracted, opts: &LoadOptions<'_>) -> Result<Vec<PlannedImage>> {
    let bytes = archive.read(MANIFEST_FILE, MANIFEST_FILE, MAX_DOCUMENT)?;
    let items: Option<Vec<ManifestItem>> = parse_json(&bytes, MANIFEST_FILE)?;
    let Some(items) = items else {
        return Err(invalid(
            "invalid manifest, manifest cannot be null (but can be [])",
        ));
    };
    let mut plan = Vec::with_capacity(items.len());
    let listed = items.len();
    for item in items {
        let config_bytes = archive.read(&item.config, MANIFEST_FILE, MAX_DOCUMENT)?;
        if let Some(want) = digest_in_name(&item.config)
            && Digest::of(&config_bytes) != want
        {
            return Err(invalid(format!(
                "image config {:?} does not match its digest",
                item.config
            )));
        }
        let config = parse_config(&config_bytes, &item.config)?;
        if let Some(p) = &opts.platform
            && !platform_matches(&config, p)
        {
            continue;
        }
        let names = item.layers.unwrap_or_default();
        let diff_ids = config.diff_ids();
        if names.len() != diff_ids.len() {
            return Err(invalid(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                names.len(),
                diff_ids.len()
            )));
        }
        let mut layers = Vec::with_capacity(names.len());
        for name in names {
            let path = archive.resolve(&name, MANIFEST_FILE)?;
            // In `blobs/sha256/<hex>` the name is the blob's digest.
            let blob = if name.contains("blobs/") {
                digest_in_name(&name).map(|d| (d, None))
            } else {
                None
            };
            layers.push(PlannedLayer { name, path, blob });
        }
        let mut tags = Vec::new();
        for t in item.repo_tags.unwrap_or_default() {
            tags.push(parse_tag(&t, MANIFEST_FILE)?);
        }
        let parent = item
            .parent
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<Digest>()
                    .map_err(|_| invalid(format!("invalid parent {p:?} in {MANIFEST_FILE}")))
            })
            .transpose()?;
        plan.push(PlannedImage {
            config_bytes,
            config,
            layers,
            tags,
            parent,
        });
    }
    if let Some(p) = &opts.platform
        && plan.is_empty()
        && listed > 0
    {
        return Err(invalid(format!(
            "no image in the archive matches the platform {p}"
        )));
    }
    Ok(plan)
}

/// The path of a blob of an OCI layout.
fn blob_name(d: &Descriptor) -> Result<(String, Digest)> {
    let digest = d.sha256()?;
    Ok((format!("blobs/sha256/{}", digest.hex()), digest))
}

/// Reads a (small) blob, checking its digest and size.
fn read_blob(archive: &Extracted, d: &Descriptor, what: &str) -> Result<Vec<u8>> {
    let (name, digest) = blob_name(d)?;
    let bytes = archive.read(&name, what, MAX_DOCUMENT)?;
    if Digest::of(&bytes) != digest {
        return Err(invalid(format!(
            "blob {} does not match its digest",
            d.digest
        )));
    }
    if d.size >= 0 && bytes.len() as u64 != d.size as u64 {
        return Err(invalid(format!(
            "blob {} has {} bytes, its descriptor says {}",
            d.digest,
            bytes.len(),
            d.size
        )));
    }
    Ok(bytes)
}

/// The names an index descriptor gives its image.
fn names_of(d: &Descriptor) -> Result<Vec<Named>> {
    if let Some(full) = d.annotation(oci::ANNOTATION_IMAGE_NAME) {
        return Ok(vec![parse_tag(full, INDEX_FILE)?]);
    }
    match d.annotation(oci::ANNOTATION_REF_NAME) {
        // A bare tag (`latest`) names no repository: the image stays untagged.
        Some(r) if r.contains(['/', ':']) => Ok(vec![parse_tag(r, INDEX_FILE)?]),
        _ => Ok(Vec::new()),
    }
}

fn is_attestation(d: &Descriptor) -> bool {
    d.annotation(oci::ANNOTATION_DOCKER_REFERENCE_TYPE)
        .is_some()
        || d.platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown" || p.architecture == "unknown")
}

/// Picks the manifest of `want` in an index: exact variant first, then
/// any variant of the architecture.
fn pick_platform<'a>(manifests: &'a [Descriptor], want: &Platform) -> Option<&'a Descriptor> {
    let candidates: Vec<&Descriptor> = manifests
        .iter()
        .filter(|d| !is_attestation(d))
        .filter(|d| {
            d.platform
                .as_ref()
                .is_none_or(|p| p.os == want.os && p.architecture == want.architecture)
        })
        .collect();
    candidates
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.variant == want.variant)
        })
        .or_else(|| candidates.first())
        .copied()
}

/// Resolves a descriptor of `index.json` to image manifests.
fn collect_manifests(
    archive: &Extracted,
    d: &Descriptor,
    want: &Platform,
    depth: usize,
    out: &mut Vec<Descriptor>,
) -> Result<bool> {
    if depth > MAX_INDEX_DEPTH {
        return Err(invalid("indexes nest too deeply"));
    }
    let mut d = d.clone();
    if d.media_type.is_empty() {
        // Sniff: an index has `manifests`, a manifest has `config`.
        let bytes = read_blob(archive, &d, INDEX_FILE)?;
        let v: serde_json::Value = parse_json(&bytes, &d.digest)?;
        d.media_type = if v.get("manifests").is_some() {
            oci::MEDIA_TYPE_OCI_INDEX.into()
        } else {
            oci::MEDIA_TYPE_OCI_MANIFEST.into()
        };
    }
    if d.is_manifest() {
        out.push(d);
        return Ok(true);
    }
    if d.is_index() {
        let bytes = read_blob(archive, &d, INDEX_FILE)?;
        let index: Index = parse_json(&bytes, &format!("index {}", d.digest))?;
        return match pick_platform(&index.manifests, want) {
            Some(m) => collect_manifests(archive, m, want, depth + 1, out),
            None => Ok(false),
        };
    }
    // Other artifacts (signatures, SBOMs, …) are not images.
    Ok(true)
}

fn plan_oci(archive: &Extracted, opts: &LoadOptions<'_>) -> Result<Vec<PlannedImage>> {
    if archive.has_file(LAYOUT_FILE) {
        let bytes = archive.read(LAYOUT_FILE, LAYOUT_FILE, MAX_DOCUMENT)?;
        let _: oci::Layout = parse_json(&bytes, LAYOUT_FILE)?;
    }
    let bytes = archive.read(INDEX_FILE, INDEX_FILE, MAX_DOCUMENT)?;
    let index: Index = parse_json(&bytes, INDEX_FILE)?;
    let want = opts.platform.clone().unwrap_or_else(Platform::host);

    // Manifest digest → (descriptor, names), in index order.
    let mut order: Vec<String> = Vec::new();
    let mut found: HashMap<String, (Descriptor, Vec<Named>)> = HashMap::new();
    let mut unmatched = false;
    for d in &index.manifests {
        let names = names_of(d)?;
        let mut manifests = Vec::new();
        if !collect_manifests(archive, d, &want, 0, &mut manifests)? {
            unmatched = true;
        }
        for m in manifests {
            let entry = found.entry(m.digest.clone()).or_insert_with(|| {
                order.push(m.digest.clone());
                (m.clone(), Vec::new())
            });
            for n in &names {
                if !entry.1.contains(n) {
                    entry.1.push(n.clone());
                }
            }
        }
    }
    if order.is_empty() && unmatched {
        return Err(invalid(format!(
            "no image in the archive matches the platform {want}"
        )));
    }

    let mut plan = Vec::with_capacity(order.len());
    for digest in order {
        let Some((desc, tags)) = found.remove(&digest) else {
            continue;
        };
        let bytes = read_blob(archive, &desc, INDEX_FILE)?;
        let manifest: Manifest = parse_json(&bytes, &format!("manifest {}", desc.digest))?;
        let config_bytes = read_blob(
            archive,
            &manifest.config,
            &format!("manifest {}", desc.digest),
        )?;
        let config = parse_config(&config_bytes, &manifest.config.digest)?;
        if let Some(p) = &opts.platform
            && !platform_matches(&config, p)
        {
            continue;
        }
        if manifest.layers.len() != config.diff_ids().len() {
            return Err(invalid(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                manifest.layers.len(),
                config.diff_ids().len()
            )));
        }
        let mut layers = Vec::with_capacity(manifest.layers.len());
        for l in &manifest.layers {
            let (name, blob) = blob_name(l)?;
            let path = archive.resolve(&name, &format!("manifest {}", desc.digest))?;
            let size = (l.size >= 0).then_some(l.size as u64);
            layers.push(PlannedLayer {
                name,
                path,
                blob: Some((blob, size)),
            });
        }
        plan.push(PlannedImage {
            config_bytes,
            config,
            layers,
            tags,
            parent: None,
        });
    }
    if plan.is_empty() && (unmatched || opts.platform.is_some()) && !index.manifests.is_empty() {
        return Err(invalid(format!(
            "no image in the archive matches the platform {want}"
        )));
    }
    Ok(plan)
}

/// Checks a layer file against the digest (and size) its name or
/// descriptor promises, before anything is registered.
fn verify_blob(layer: &PlannedLayer) -> Result<()> {
    let Some((want, size)) = &layer.blob else {
        return Ok(());
    };
    let mut file = File::open(&layer.path)
        .map_err(|e| ImageError::io(format!("opening {}", layer.path.display()), e))?;
    let mut hasher = berth_layer::digest::Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| ImageError::io(format!("reading {}", layer.path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let len = hasher.len();
    if hasher.finish() != *want {
        return Err(invalid(format!(
            "layer {} does not match its digest {want}",
            layer.name
        )));
    }
    if let Some(size) = size
        && len != *size
    {
        return Err(invalid(format!(
            "layer {} has {len} bytes, its descriptor says {size}",
            layer.name
        )));
    }
    Ok(())
}

/// A file reader that reports `Loading layer` progress.
struct ProgressReader<'a> {
    inner: File,
    current: u64,
    total: u64,
    id: String,
    throttle: Throttle,
    progress: &'a mut dyn FnMut(ProgressMessage),
}

impl Read for ProgressReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.current += n as u64;
        if (n > 0 || self.current == self.total) && self.throttle.due(self.current) {
            (self.progress)(progress_message(
                &self.id,
                "Loading layer",
                self.current,
                self.total,
            ));
        }
        Ok(n)
    }
}

fn execute(
    layers: &LayerStore,
    images: &ImageStore,
    refs: &ReferenceStore,
    plan: Vec<PlannedImage>,
    progress: &mut dyn FnMut(ProgressMessage),
) -> Result<Vec<LoadedImage>> {
    // 1. Layers, each pinned until the images exist.
    let mut pins: HashMap<Digest, LayerRef> = HashMap::new();
    for img in &plan {
        let mut parent: Option<Digest> = None;
        for (i, (layer, diff_id)) in img.layers.iter().zip(img.config.diff_ids()).enumerate() {
            let chain = chain_id(parent.as_ref(), diff_id);
            if !pins.contains_key(&chain) {
                // A layer collected between `exists` and `pin` is loaded again.
                let existing = if layers.exists(&chain) {
                    layers.pin(&chain).ok()
                } else {
                    None
                };
                let pin = if let Some(pin) = existing {
                    pin
                } else {
                    verify_blob(layer)?;
                    let file = File::open(&layer.path).map_err(|e| {
                        ImageError::io(format!("opening {}", layer.path.display()), e)
                    })?;
                    let total = file
                        .metadata()
                        .map_err(|e| {
                            ImageError::io(format!("reading {}", layer.path.display()), e)
                        })?
                        .len();
                    let mut reader = ProgressReader {
                        inner: file,
                        current: 0,
                        total,
                        id: truncate_id(diff_id.hex()),
                        throttle: Throttle::new(total),
                        progress: &mut *progress,
                    };
                    let pin = layers.register(&mut reader, parent.as_ref(), &mut |_| {})?;
                    if reader.current < total {
                        (reader.progress)(progress_message(
                            &reader.id,
                            "Loading layer",
                            total,
                            total,
                        ));
                    }
                    pin
                };
                let got = &pin.info().diff_id;
                if got != diff_id {
                    return Err(invalid(format!(
                        "invalid diffID for layer {i}: expected \"{diff_id}\", got \"{got}\""
                    )));
                }
                pins.insert(chain.clone(), pin);
            }
            parent = Some(chain);
        }
    }

    // 2. Images, then their tags.
    let mut loaded = Vec::with_capacity(plan.len());
    let mut ids: BTreeMap<Digest, usize> = BTreeMap::new();
    for img in &plan {
        let id = images.create(&img.config_bytes)?;
        ids.insert(id.clone(), loaded.len());
        for tag in &img.tags {
            if let Some(prev) = refs.get(tag)
                && prev != id
            {
                progress(ProgressMessage::stream(format!(
                    "The image {} already exists, renaming the old one with ID {prev} to empty string\n",
                    tag.familiar_string()
                )));
            }
            refs.add_tag(tag, &id, true)?;
            progress(ProgressMessage::stream(format!(
                "Loaded image: {}\n",
                tag.familiar_string()
            )));
        }
        if img.tags.is_empty() {
            progress(ProgressMessage::stream(format!("Loaded image ID: {id}\n")));
        }
        loaded.push(LoadedImage {
            id,
            tags: img.tags.clone(),
        });
    }

    // 3. Parents recorded by `docker save`, when the parent came along and
    //    really is the parent.
    for (img, done) in plan.iter().zip(&loaded) {
        let Some(parent) = &img.parent else { continue };
        let Some(&pi) = ids.get(parent) else { continue };
        if *parent == done.id {
            continue;
        }
        if is_valid_parent(&img.config, &plan[pi].config) {
            images.set_parent(&done.id, parent)?;
        }
    }
    drop(pins);
    Ok(loaded)
}

/// Docker's check: the parent's history is the child's minus one entry.
fn is_valid_parent(child: &ImageConfig, parent: &ImageConfig) -> bool {
    if child.history.is_empty() && parent.history.is_empty() {
        return true;
    }
    child.history.len() == parent.history.len() + 1
        && parent
            .history
            .iter()
            .zip(&child.history)
            .all(|(p, c)| p == c)
}
