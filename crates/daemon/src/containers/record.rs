//! The persisted description of a container (`config.v2.json` in its
//! directory, written atomically) and the store that loads them at start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_api::Error;
use berth_api::types::config::ContainerConfig;
use berth_api::types::container::{EndpointSettings, HostConfig, MountPoint, PortBinding};
use berth_layer::Digest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::State;

const RECORD_FILE: &str = "config.v2.json";
/// A directory renamed with this prefix is being removed.
const REMOVING_PREFIX: &str = ".removing-";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub created: DateTime<Utc>,
    /// `Config.Image` as the user gave it.
    pub image_ref: String,
    pub image_id: Digest,
    /// The chain ID the read-write layer sits on.
    pub top_layer: Option<Digest>,
    pub path: String,
    pub args: Vec<String>,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    #[serde(default)]
    pub networks: BTreeMap<String, EndpointSettings>,
    #[serde(default)]
    pub mounts: Vec<MountPoint>,
    /// `NetworkSettings.Ports` while running (containers/network.rs).
    #[serde(default)]
    pub ports: BTreeMap<String, Option<Vec<PortBinding>>>,
    pub state: State,
    #[serde(default)]
    pub restart_count: u32,
    pub driver: String,
    pub runtime: String,
}

/// Container directories under `<data-root>/containers`.
pub struct ContainerStore {
    dir: PathBuf,
}

impl ContainerStore {
    pub fn open(dir: &Path) -> Result<Self, Error> {
        berth_fsutil::create_dir_all_mode(dir, 0o710)
            .map_err(|e| Error::system(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Creates the (empty) directory of a new container.
    pub fn create_dir(&self, id: &str) -> Result<PathBuf, Error> {
        let dir = self.dir_of(id);
        berth_fsutil::create_dir_all_mode(&dir, 0o710)
            .map_err(|e| Error::system(format!("cannot create {}: {e}", dir.display())))?;
        Ok(dir)
    }

    /// Writes the record atomically; from this moment the container exists.
    pub fn save(&self, record: &Record) -> Result<(), Error> {
        let path = self.dir_of(&record.id).join(RECORD_FILE);
        berth_fsutil::write_json(&path, record)
            .map_err(|e| Error::system(format!("cannot save container {}: {e}", record.id)))
    }

    /// Removes a container's directory: first renamed (atomic: the container
    /// is gone), then deleted (finished at the next start after a crash).
    pub fn remove(&self, id: &str) -> Result<(), Error> {
        match self.detach(id)? {
            Some(doomed) => purge_dir(&doomed),
            None => Ok(()),
        }
    }

    /// Takes the container's directory out of the store durably (renamed
    /// to a `REMOVING_PREFIX` name, swept at start-up) and returns where it
    /// went, for [`purge_dir`]; `None` when it was not there.
    pub fn detach(&self, id: &str) -> Result<Option<PathBuf>, Error> {
        let dir = self.dir_of(id);
        let doomed = self.dir.join(format!("{REMOVING_PREFIX}{id}"));
        match std::fs::rename(&dir, &doomed) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::system(format!("cannot remove container {id}: {e}"))),
        }
        if let Err(e) = berth_fsutil::fsync_dir(&self.dir) {
            tracing::warn!(error = %e, "cannot sync the containers directory");
        }
        Ok(Some(doomed))
    }

    /// Every complete container; half-made or half-removed directories are
    /// deleted (their IDs are returned so that their layers go too).
    pub fn load_all(&self) -> Result<(Vec<Record>, Vec<String>), Error> {
        let mut records = Vec::new();
        let mut discarded = Vec::new();
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| Error::system(format!("cannot read {}: {e}", self.dir.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if let Some(id) = name.strip_prefix(REMOVING_PREFIX) {
                discarded.push(id.to_string());
                if let Err(e) = berth_fsutil::remove_dir_all_if_exists(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot finish a removal");
                }
                continue;
            }
            if berth_fsutil::is_temp_name(&name) {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            match berth_fsutil::read_json::<Record>(&path.join(RECORD_FILE)) {
                Ok(Some(r)) if r.id == name => records.push(r),
                Ok(Some(_)) | Ok(None) => {
                    tracing::info!(container = %name, "removing a container that was never completely created");
                    discarded.push(name.clone());
                    if let Err(e) = berth_fsutil::remove_dir_all_if_exists(&path) {
                        tracing::warn!(path = %path.display(), error = %e, "cannot remove");
                    }
                }
                Err(e) => {
                    tracing::error!(container = %name, error = %e, "container record is damaged; skipping it");
                }
            }
        }
        Ok((records, discarded))
    }
}

/// Deletes a directory returned by [`RecordStore::detach`].
pub fn purge_dir(doomed: &Path) -> Result<(), Error> {
    berth_fsutil::remove_dir_all_if_exists(doomed)
        .map_err(|e| Error::system(format!("cannot delete {}: {e}", doomed.display())))
}
