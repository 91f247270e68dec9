//! The overlay2 driver, laid out like Docker's:
//! `<home>/overlay2/<id>/{diff,link,lower,work,merged}` and
//! `<home>/overlay2/l/<26-char short id> -> ../<id>/diff`. A layer's `lower`
//! file lists its ancestors as `l/AAA:l/BBB`; mounts use those short
//! relative names (from a thread with its own working directory) so that a
//! deep stack still fits in the one-page mount data.

mod mount;
mod probe;

use std::collections::HashMap;
use std::ffi::CString;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use tracing::{debug, warn};

use super::{ApplyOutcome, StorageDriver, check_id, fsmagic, io_err, mountinfo};
use crate::apply::{ApplyOptions, WhiteoutMode, apply_tar};
use crate::error::{LayerError, Result};
use crate::sys;
use crate::tar::SplitSink;
use mount::{mount_from, page_size, unmount};
use probe::{overlay_listed, supports_d_type, test_mount};

/// Docker's limit on the number of lower layers in one overlay mount.
const MAX_DEPTH: usize = 128;
const SHORT_ID_LEN: usize = 26;
const LINK_DIR: &str = "l";

pub struct OverlayDriver {
    root: PathBuf,
    /// Extra mount options (starting with `,`), chosen by the probe.
    options: String,
    backing_fs: String,
    /// Reference counts of `get` per layer id.
    mounts: Mutex<HashMap<String, usize>>,
}

fn unsupported(reason: impl Into<String>) -> LayerError {
    LayerError::DriverUnsupported {
        driver: "overlay2".into(),
        reason: reason.into(),
    }
}

fn short_id() -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bytes: [u8; SHORT_ID_LEN] = rand::random();
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect()
}

impl OverlayDriver {
    /// Checks the prerequisites and opens the driver rooted at `root`
    /// (`<home>/overlay2`).
    pub fn new(root: &Path) -> Result<Self> {
        if !overlay_listed() {
            let _ = std::process::Command::new("modprobe")
                .arg("overlay")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            if !overlay_listed() {
                return Err(unsupported(
                    "\"overlay\" is not in /proc/filesystems (the overlay kernel module is not available)",
                ));
            }
        }
        berth_fsutil::create_dir_all_mode(&root.join(LINK_DIR), 0o700)
            .map_err(io_err(format!("create {}", root.display())))?;
        let magic = fsmagic::fs_type(root).map_err(io_err(format!("statfs {}", root.display())))?;
        let backing_fs = fsmagic::name(magic);
        if matches!(backing_fs.as_str(), "overlayfs" | "aufs" | "ecryptfs") {
            return Err(unsupported(format!(
                "backing filesystem {backing_fs} of {} cannot hold overlay layers",
                root.display()
            )));
        }
        match supports_d_type(root) {
            Ok(true) => {}
            Ok(false) => {
                return Err(unsupported(format!(
                    "backing filesystem {backing_fs} of {} does not support d_type",
                    root.display()
                )));
            }
            Err(e) => {
                return Err(LayerError::io(
                    format!("check d_type support in {}", root.display()),
                    e,
                ));
            }
        }
        let options = test_mount(root).map_err(|e| {
            unsupported(format!(
                "a test mount of overlay in {} failed: {e}",
                root.display()
            ))
        })?;
        let driver = Self {
            root: root.to_path_buf(),
            options,
            backing_fs,
            mounts: Mutex::new(HashMap::new()),
        };
        driver.sweep_links();
        Ok(driver)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.mounts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Removes `l/` links whose layer is gone (left by a crash).
    fn sweep_links(&self) {
        let Ok(entries) = std::fs::read_dir(self.root.join(LINK_DIR)) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.exists() {
                debug!(link = %path.display(), "removing dangling overlay link");
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    fn read_trimmed(path: &Path) -> io::Result<String> {
        Ok(std::fs::read_to_string(path)?.trim().to_string())
    }

    fn create_inner(&self, id: &str, dir: &Path, parent: Option<&str>) -> Result<()> {
        let mkdir = |p: PathBuf, mode: u32| {
            berth_fsutil::create_dir_all_mode(&p, mode)
                .map_err(io_err(format!("create {}", p.display())))
        };
        mkdir(dir.join("diff"), 0o755)?;
        let short = short_id();
        let link_file = dir.join("link");
        std::fs::write(&link_file, &short)
            .map_err(io_err(format!("write {}", link_file.display())))?;
        let link = self.root.join(LINK_DIR).join(&short);
        std::os::unix::fs::symlink(format!("../{id}/diff"), &link)
            .map_err(io_err(format!("create {}", link.display())))?;
        let Some(parent) = parent else {
            return Ok(());
        };
        check_id(parent)?;
        let pdir = self.dir(parent);
        let plink = Self::read_trimmed(&pdir.join("link")).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LayerError::NotFound(format!("parent layer {parent}")),
            _ => LayerError::io(format!("read {}/link", pdir.display()), e),
        })?;
        let mut lower = format!("{LINK_DIR}/{plink}");
        match Self::read_trimmed(&pdir.join("lower")) {
            Ok(plower) if !plower.is_empty() => {
                lower.push(':');
                lower.push_str(&plower);
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(LayerError::io(format!("read {}/lower", pdir.display()), e)),
        }
        if lower.split(':').count() > MAX_DEPTH {
            return Err(LayerError::InvalidParameter(format!(
                "max depth exceeded: a layer may have at most {MAX_DEPTH} layers below it"
            )));
        }
        let lower_file = dir.join("lower");
        std::fs::write(&lower_file, &lower)
            .map_err(io_err(format!("write {}", lower_file.display())))?;
        mkdir(dir.join("work"), 0o700)?;
        mkdir(dir.join("merged"), 0o700)
    }

    fn mount(&self, id: &str, lower: &str) -> Result<PathBuf> {
        let merged = self.dir(id).join("merged");
        if mountinfo::is_mounted(&merged) {
            return Ok(merged);
        }
        let data = format!(
            "lowerdir={lower},upperdir={id}/diff,workdir={id}/work{}",
            self.options
        );
        if data.len() >= page_size() {
            return Err(LayerError::InvalidParameter(format!(
                "cannot mount layer {id}: its mount options are longer than a page"
            )));
        }
        mount_from(&self.root, &data, &format!("{id}/merged"))
            .map_err(io_err(format!("mount overlay on {}", merged.display())))?;
        Ok(merged)
    }
}

impl StorageDriver for OverlayDriver {
    fn name(&self) -> &'static str {
        "overlay2"
    }

    fn status(&self) -> Vec<(String, String)> {
        let metacopy = !self.options.contains("metacopy=off")
            && std::fs::read_to_string("/sys/module/overlay/parameters/metacopy")
                .is_ok_and(|v| v.trim() == "Y");
        vec![
            ("Backing Filesystem".into(), self.backing_fs.clone()),
            ("Supports d_type".into(), "true".into()),
            ("Using metacopy".into(), metacopy.to_string()),
            ("Native Overlay Diff".into(), (!metacopy).to_string()),
            ("userxattr".into(), "false".into()),
        ]
    }

    fn create(&self, id: &str, parent: Option<&str>) -> Result<()> {
        check_id(id)?;
        let dir = self.dir(id);
        std::fs::create_dir(&dir).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => {
                LayerError::Conflict(format!("layer {id} already exists"))
            }
            _ => LayerError::io(format!("create {}", dir.display()), e),
        })?;
        let result = self.create_inner(id, &dir, parent);
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
            whiteouts: WhiteoutMode::Overlay,
            sync: true,
        };
        apply_tar(&self.diff_dir(id), tar, options, split)
    }

    fn remove(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let dir = self.dir(id);
        {
            let mut mounts = self.lock();
            mounts.remove(id);
            let merged = dir.join("merged");
            if mountinfo::is_mounted(&merged) {
                unmount(&merged).map_err(io_err(format!("unmount {}", merged.display())))?;
            }
        }
        if let Ok(short) = Self::read_trimmed(&dir.join("link"))
            && short.len() == SHORT_ID_LEN
            && short.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            let link = self.root.join(LINK_DIR).join(short);
            berth_fsutil::remove_file_if_exists(&link)
                .map_err(io_err(format!("remove {}", link.display())))?;
        }
        let root = sys::open_dir_path(&self.root)
            .map_err(io_err(format!("open {}", self.root.display())))?;
        let name = CString::new(id)
            .map_err(|_| LayerError::InvalidParameter(format!("invalid layer id {id:?}")))?;
        sys::remove_all_at(root.as_fd(), &name).map_err(io_err(format!("remove {}", dir.display())))
    }

    fn get(&self, id: &str) -> Result<PathBuf> {
        check_id(id)?;
        let dir = self.dir(id);
        let mut mounts = self.lock();
        let lower = match Self::read_trimmed(&dir.join("lower")) {
            Ok(l) => Some(l),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(LayerError::io(format!("read {}/lower", dir.display()), e)),
        };
        if !dir.join("diff").is_dir() {
            return Err(LayerError::NotFound(format!("layer data {id}")));
        }
        let path = match &lower {
            // A layer without parents is its own diff directory.
            None => dir.join("diff"),
            Some(_) if mounts.contains_key(id) => dir.join("merged"),
            Some(lower) => self.mount(id, lower)?,
        };
        *mounts.entry(id.to_string()).or_insert(0) += 1;
        Ok(path)
    }

    fn put(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let mut mounts = self.lock();
        match mounts.get_mut(id) {
            Some(n) if *n > 1 => {
                *n -= 1;
                return Ok(());
            }
            Some(_) => {
                mounts.remove(id);
            }
            None => {}
        }
        let merged = self.dir(id).join("merged");
        if mountinfo::is_mounted(&merged) {
            unmount(&merged).map_err(io_err(format!("unmount {}", merged.display())))?;
        }
        Ok(())
    }

    fn exists(&self, id: &str) -> bool {
        check_id(id).is_ok() && self.dir(id).join("diff").is_dir()
    }

    fn diff_dir(&self, id: &str) -> PathBuf {
        self.dir(id).join("diff")
    }

    fn diff_size(&self, id: &str, _parent: Option<&str>) -> Result<u64> {
        check_id(id)?;
        let diff = self.diff_dir(id);
        berth_fsutil::disk_usage(&diff).map_err(io_err(format!("measure {}", diff.display())))
    }

    fn sync(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let fd =
            sys::open_dir_path(&self.diff_dir(id)).map_err(io_err(format!("open layer {id}")))?;
        sys::syncfs(fd.as_fd()).map_err(io_err(format!("sync layer {id}")))
    }

    fn list(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.root)
            .map_err(io_err(format!("read {}", self.root.display())))?
        {
            let entry = entry.map_err(io_err(format!("read {}", self.root.display())))?;
            if let Some(name) = entry.file_name().to_str()
                && check_id(name).is_ok()
            {
                ids.push(name.to_string());
            }
        }
        Ok(ids)
    }

    fn cleanup(&self) -> Result<()> {
        let mut mounts = self.lock();
        mounts.clear();
        let mut first_err = None;
        for point in mountinfo::mount_points() {
            let under_us = point.parent().and_then(Path::parent) == Some(self.root.as_path())
                && point.file_name().is_some_and(|n| n == "merged");
            if under_us && let Err(e) = unmount(&point) {
                warn!(path = %point.display(), error = %e, "cannot unmount layer");
                first_err.get_or_insert(LayerError::io(format!("unmount {}", point.display()), e));
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
