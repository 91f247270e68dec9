//! The vfs driver: every layer is a full copy of its parent plus its own
//! changes, in `<home>/vfs/dir/<id>`. Slow and big, but works everywhere.

use std::collections::HashSet;
use std::ffi::CString;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::{ApplyOutcome, StorageDriver, check_id, io_err};
use crate::apply::{ApplyOptions, WhiteoutMode, apply_tar};
use crate::copy::copy_tree;
use crate::error::{LayerError, Result};
use crate::sys;
use crate::tar::SplitSink;

pub struct VfsDriver {
    home: PathBuf,
}

impl VfsDriver {
    pub fn new(home: &Path) -> Result<Self> {
        berth_fsutil::create_dir_all_mode(home, 0o700)
            .map_err(io_err(format!("create {}", home.display())))?;
        Ok(Self {
            home: home.to_path_buf(),
        })
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.home.join(id)
    }
}

impl StorageDriver for VfsDriver {
    fn name(&self) -> &'static str {
        "vfs"
    }

    fn status(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn create(&self, id: &str, parent: Option<&str>) -> Result<()> {
        check_id(id)?;
        let dir = self.dir(id);
        std::fs::create_dir(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                LayerError::Conflict(format!("layer {id} already exists"))
            }
            _ => LayerError::io(format!("create {}", dir.display()), e),
        })?;
        let result = (|| {
            std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .map_err(io_err(format!("chmod {}", dir.display())))?;
            if let Some(parent) = parent {
                check_id(parent)?;
                let src = self.dir(parent);
                if !src.is_dir() {
                    return Err(LayerError::NotFound(format!("parent layer {parent}")));
                }
                copy_tree(&src, &dir).map_err(io_err(format!("copy layer {parent} to {id}")))?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = self.remove(id);
        }
        result
    }

    fn apply_diff(
        &self,
        id: &str,
        _parent: Option<&str>,
        tar: &mut dyn Read,
        split: Option<&mut dyn SplitSink>,
    ) -> Result<ApplyOutcome> {
        check_id(id)?;
        let options = ApplyOptions {
            whiteouts: WhiteoutMode::Naive,
            sync: true,
        };
        apply_tar(&self.dir(id), tar, options, split)
    }

    fn remove(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let home = sys::open_dir_path(&self.home)
            .map_err(io_err(format!("open {}", self.home.display())))?;
        let name = CString::new(id)
            .map_err(|_| LayerError::InvalidParameter(format!("invalid layer id {id:?}")))?;
        sys::remove_all_at(home.as_fd(), &name)
            .map_err(io_err(format!("remove {}", self.dir(id).display())))
    }

    fn get(&self, id: &str) -> Result<PathBuf> {
        check_id(id)?;
        let dir = self.dir(id);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(LayerError::NotFound(format!("layer data {id}")))
        }
    }

    fn put(&self, id: &str) -> Result<()> {
        check_id(id)
    }

    fn exists(&self, id: &str) -> bool {
        check_id(id).is_ok() && self.dir(id).is_dir()
    }

    fn diff_dir(&self, id: &str) -> PathBuf {
        self.dir(id)
    }

    fn diff_size(&self, id: &str, parent: Option<&str>) -> Result<u64> {
        check_id(id)?;
        let dir = self.dir(id);
        match parent {
            None => {
                berth_fsutil::disk_usage(&dir).map_err(io_err(format!("measure {}", dir.display())))
            }
            Some(parent) => {
                check_id(parent)?;
                changed_size(&dir, &self.dir(parent))
                    .map_err(io_err(format!("measure {}", dir.display())))
            }
        }
    }

    fn sync(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let fd = sys::open_dir_path(&self.dir(id)).map_err(io_err(format!("open layer {id}")))?;
        sys::syncfs(fd.as_fd()).map_err(io_err(format!("sync layer {id}")))
    }

    fn list(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.home)
            .map_err(io_err(format!("read {}", self.home.display())))?
        {
            let entry = entry.map_err(io_err(format!("read {}", self.home.display())))?;
            if let Some(name) = entry.file_name().to_str()
                && check_id(name).is_ok()
            {
                ids.push(name.to_string());
            }
        }
        Ok(ids)
    }

    fn cleanup(&self) -> Result<()> {
        Ok(())
    }
}

/// Bytes of regular files under `dir` that are new or differ (size, mtime,
/// mode, owner) from the same path under `base`: the naive diff of a full
/// copy against its parent.
fn changed_size(dir: &Path, base: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))? {
            let entry = entry?;
            let rel = rel.join(entry.file_name());
            let meta = std::fs::symlink_metadata(dir.join(&rel))?;
            if meta.is_dir() {
                stack.push(rel);
                continue;
            }
            if !meta.is_file() || !seen.insert(meta.ino()) {
                continue;
            }
            let same = std::fs::symlink_metadata(base.join(&rel)).is_ok_and(|b| {
                b.is_file()
                    && b.len() == meta.len()
                    && b.mtime() == meta.mtime()
                    && b.mtime_nsec() == meta.mtime_nsec()
                    && b.mode() == meta.mode()
                    && b.uid() == meta.uid()
                    && b.gid() == meta.gid()
            });
            if !same {
                total += meta.len();
            }
        }
    }
    Ok(total)
}
