//! On-disk records of the layer store: `layerdb/sha256/<chain>/…` for
//! layers and `layerdb/mounts/<container>/…` for container rw layers.

use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::LayerInfo;
use crate::digest::{Digest, is_sha256_hex};
use crate::error::{LayerError, Result};
use crate::sys;

pub const TAR_SPLIT: &str = "tar-split.json.gz";
/// Contents the tar-split refers to that a later entry of the same layer
/// replaced, named by record position.
pub const TAR_SPLIT_STASH: &str = "tar-split.stash";

/// Paths of the store's directories.
#[derive(Debug, Clone)]
pub struct Layout {
    pub layerdb: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Self {
            layerdb: root.join("layerdb"),
        }
    }

    pub fn layers(&self) -> PathBuf {
        self.layerdb.join("sha256")
    }

    pub fn layer(&self, chain: &Digest) -> PathBuf {
        self.layers().join(chain.hex())
    }

    pub fn tmp(&self) -> PathBuf {
        self.layerdb.join("tmp")
    }

    pub fn mounts(&self) -> PathBuf {
        self.layerdb.join("mounts")
    }

    pub fn mount(&self, container: &str) -> PathBuf {
        self.mounts().join(container)
    }

    /// A fresh directory name under `tmp/`.
    pub fn new_tmp(&self, what: &str) -> PathBuf {
        self.tmp()
            .join(format!("{what}-{}", crate::driver::random_id()))
    }
}

pub fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> LayerError {
    let context = context.into();
    move |e| LayerError::io(context, e)
}

fn write(dir: &Path, name: &str, data: &str) -> Result<()> {
    let path = dir.join(name);
    fs::write(&path, data).map_err(io_err(format!("write {}", path.display())))
}

fn read(dir: &Path, name: &str) -> io::Result<String> {
    Ok(fs::read_to_string(dir.join(name))?.trim().to_string())
}

fn read_opt(dir: &Path, name: &str) -> io::Result<Option<String>> {
    match read(dir, name) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn bad(dir: &Path, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", dir.display()),
    )
}

/// Writes a layer's metadata files into `dir` (the temporary directory
/// that will be renamed into place).
pub fn write_layer(dir: &Path, info: &LayerInfo) -> Result<()> {
    write(dir, "diff", &info.diff_id.to_string())?;
    write(dir, "size", &info.size.to_string())?;
    write(dir, "tar-size", &info.tar_size.to_string())?;
    write(dir, "cache-id", &info.cache_id)?;
    if let Some(parent) = &info.parent {
        write(dir, "parent", &parent.to_string())?;
    }
    Ok(())
}

/// Reads a layer's metadata; `chain_hex` is the directory's name.
pub fn read_layer(dir: &Path, chain_hex: &str) -> io::Result<LayerInfo> {
    let chain_id = Digest::from_hex(chain_hex).map_err(|e| bad(dir, e))?;
    let digest = |s: String| s.parse::<Digest>().map_err(|e| bad(dir, e));
    let number = |s: String| s.parse::<u64>().map_err(|e| bad(dir, e));
    let cache_id = read(dir, "cache-id")?;
    crate::driver::check_id(&cache_id).map_err(|e| bad(dir, e))?;
    let tar_size = match read_opt(dir, "tar-size")? {
        Some(s) => number(s)?,
        None => 0,
    };
    Ok(LayerInfo {
        chain_id,
        diff_id: digest(read(dir, "diff")?)?,
        parent: read_opt(dir, "parent")?.map(digest).transpose()?,
        size: number(read(dir, "size")?)?,
        tar_size,
        cache_id,
    })
}

/// The cache id recorded in a damaged layer directory, if readable, so
/// that its data is not swept.
pub fn read_cache_id(dir: &Path) -> Option<String> {
    read(dir, "cache-id").ok()
}

pub fn is_layer_dir_name(name: &str) -> bool {
    is_sha256_hex(name)
}

/// A container's rw layer as persisted in `layerdb/mounts/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RwRecord {
    pub mount_id: String,
    pub init_id: String,
    pub parent: Option<Digest>,
}

pub fn write_mount(dir: &Path, rec: &RwRecord) -> Result<()> {
    write(dir, "mount-id", &rec.mount_id)?;
    write(dir, "init-id", &rec.init_id)?;
    if let Some(parent) = &rec.parent {
        write(dir, "parent", &parent.to_string())?;
    }
    Ok(())
}

pub fn read_mount(dir: &Path) -> io::Result<RwRecord> {
    let mount_id = read(dir, "mount-id")?;
    let init_id = read(dir, "init-id")?;
    for id in [&mount_id, &init_id] {
        crate::driver::check_id(id).map_err(|e| bad(dir, e))?;
    }
    let parent = read_opt(dir, "parent")?
        .map(|s| s.parse::<Digest>().map_err(|e| bad(dir, e)))
        .transpose()?;
    Ok(RwRecord {
        mount_id,
        init_id,
        parent,
    })
}

/// Flushes everything written under `dir`'s filesystem (one `syncfs`
/// instead of an fsync per small file).
pub fn sync_fs(dir: &Path) -> Result<()> {
    let fd = sys::open_dir_path(dir).map_err(io_err(format!("open {}", dir.display())))?;
    sys::syncfs(fd.as_fd()).map_err(io_err(format!("sync {}", dir.display())))
}

/// Renames `from` to `to` and makes the rename durable.
pub fn commit_rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(io_err(format!(
        "rename {} to {}",
        from.display(),
        to.display()
    )))?;
    if let Some(parent) = to.parent() {
        berth_fsutil::fsync_dir(parent).map_err(io_err(format!("sync {}", parent.display())))?;
    }
    Ok(())
}

/// Removes a directory tree, never following symlinks.
pub fn remove_tree(path: &Path) -> Result<()> {
    berth_fsutil::remove_dir_all_if_exists(path)
        .map_err(io_err(format!("remove {}", path.display())))
}
