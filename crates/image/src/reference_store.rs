//! The reference store: tags and digest references of images, persisted atomically as Docker's `repositories.json`.
//!
//! The file is Docker's: `{"Repositories":{"busybox":{"busybox:latest":
//! "sha256:…","busybox@sha256:…":"sha256:…"}}}`, keyed by familiar names.
//!
//! A tag may move from one image to another freely (the daemon reports the
//! untagging); a digest reference names content, so moving one is a
//! conflict unless forced.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::{Deserialize, Serialize};

use crate::reference::Named;
use crate::{Digest, ImageError, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RepositoriesFile<V> {
    #[serde(rename = "Repositories", default)]
    repositories: BTreeMap<String, BTreeMap<String, V>>,
}

#[derive(Default, Clone)]
struct State {
    /// familiar name → familiar string → image ID (the file's content).
    repos: BTreeMap<String, BTreeMap<String, Digest>>,
    /// image ID → full string → reference.
    by_id: HashMap<Digest, BTreeMap<String, Named>>,
}

impl State {
    fn from_file(file: RepositoriesFile<String>) -> Self {
        let mut state = State::default();
        for (repo, entries) in file.repositories {
            for (ref_str, id) in entries {
                match (Named::parse_normalized(&ref_str), id.parse::<Digest>()) {
                    (Ok(named), Ok(id)) if named.familiar_name() == repo => state.insert(named, id),
                    _ => {
                        tracing::warn!(reference = %ref_str, "ignoring invalid entry of repositories.json")
                    }
                }
            }
        }
        state
    }

    fn insert(&mut self, named: Named, id: Digest) {
        let repo = named.familiar_name();
        let key = named.familiar_string();
        if let Some(old) = self.repos.entry(repo).or_default().insert(key, id.clone()) {
            self.unindex(&old, &named);
        }
        self.by_id
            .entry(id)
            .or_default()
            .insert(named.to_string(), named);
    }

    fn remove(&mut self, named: &Named) -> Option<Digest> {
        let repo = named.familiar_name();
        let entries = self.repos.get_mut(&repo)?;
        let id = entries.remove(&named.familiar_string())?;
        if entries.is_empty() {
            self.repos.remove(&repo);
        }
        self.unindex(&id, named);
        Some(id)
    }

    fn unindex(&mut self, id: &Digest, named: &Named) {
        if let Some(refs) = self.by_id.get_mut(id) {
            refs.remove(&named.to_string());
            if refs.is_empty() {
                self.by_id.remove(id);
            }
        }
    }

    fn get(&self, named: &Named) -> Option<Digest> {
        self.repos
            .get(&named.familiar_name())?
            .get(&named.familiar_string())
            .cloned()
    }

    fn to_file(&self) -> RepositoriesFile<Digest> {
        RepositoriesFile {
            repositories: self.repos.clone(),
        }
    }
}

/// Tags and digest references → image IDs. All methods are blocking.
pub struct ReferenceStore {
    path: PathBuf,
    state: RwLock<State>,
}

/// Keeps only the digest of a reference that has both tag and digest.
fn favor_digest(named: &Named) -> Named {
    match named.digest() {
        Some(d) if named.tag().is_some() => named.with_digest(d.clone()),
        _ => named.clone(),
    }
}

impl ReferenceStore {
    /// Opens the store persisted at `path` (Docker keeps it at
    /// `<data-root>/image/<driver>/repositories.json`), creating it when
    /// absent. Invalid entries are logged and dropped; a file that is not
    /// JSON at all is kept aside as `<path>.corrupt` and the store starts
    /// empty.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            berth_fsutil::create_dir_all_mode(dir, 0o700)
                .map_err(|e| ImageError::io(format!("creating {}", dir.display()), e))?;
        }
        let state = match berth_fsutil::read_json::<RepositoriesFile<String>>(path) {
            Ok(Some(file)) => State::from_file(file),
            Ok(None) => State::default(),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                let aside = path.with_extension("json.corrupt");
                tracing::error!(error = %e, kept = %aside.display(), "repositories.json is damaged; starting without tags");
                std::fs::rename(path, &aside)
                    .map_err(|e| ImageError::io(format!("moving aside {}", path.display()), e))?;
                State::default()
            }
            Err(e) => return Err(ImageError::io(format!("reading {}", path.display()), e)),
        };
        let store = ReferenceStore {
            path: path.to_path_buf(),
            state: RwLock::new(state),
        };
        if !path.exists() {
            let state = store.read().clone();
            store.save(&state)?;
        }
        Ok(store)
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, state: &State) -> Result<()> {
        let data = serde_json::to_vec(&state.to_file())
            .map_err(|e| ImageError::io("encoding repositories.json", std::io::Error::other(e)))?;
        berth_fsutil::atomic_write_mode(&self.path, &data, 0o600)
            .map_err(|e| ImageError::io(format!("writing {}", self.path.display()), e))
    }

    /// Applies `change` to a copy of the state, persists it, then makes it
    /// current: the file and memory never disagree.
    fn update<T>(&self, change: impl FnOnce(&mut State) -> Result<(T, bool)>) -> Result<T> {
        let mut guard = self.write();
        let mut next = guard.clone();
        let (out, changed) = change(&mut next)?;
        if changed {
            self.save(&next)?;
            *guard = next;
        }
        Ok(out)
    }

    /// Points a tag at `id`. A bare name gets the tag `latest`. A tag
    /// already on another image moves (whatever `force`); a reference with
    /// a digest, or named `sha256`, is refused.
    pub fn add_tag(&self, named: &Named, id: &Digest, force: bool) -> Result<()> {
        let _ = force;
        if named.digest().is_some() {
            return Err(ImageError::InvalidParameter(
                "refusing to create a tag with a digest reference".into(),
            ));
        }
        self.add(named.clone().tag_name_only(), id, true)
    }

    /// Points a digest reference (`name@sha256:…`) at `id`. Moving an
    /// existing digest reference to another image is a conflict unless
    /// `force`.
    pub fn add_digest(&self, named: &Named, id: &Digest, force: bool) -> Result<()> {
        if named.digest().is_none() {
            return Err(ImageError::InvalidParameter(format!(
                "reference {} has no digest",
                named.familiar_string()
            )));
        }
        self.add(favor_digest(named), id, force)
    }

    fn add(&self, named: Named, id: &Digest, force: bool) -> Result<()> {
        if named.familiar_name() == "sha256" {
            return Err(ImageError::InvalidParameter(
                "refusing to create an ambiguous tag using digest algorithm as name".into(),
            ));
        }
        self.update(|state| {
            if let Some(old) = state.get(&named) {
                if old == *id {
                    return Ok(((), false));
                }
                if let Some(d) = named.digest()
                    && !force
                {
                    return Err(ImageError::Conflict(format!(
                        "cannot overwrite digest {d}: {} already refers to image {old}",
                        named.familiar_string()
                    )));
                }
            }
            state.insert(named, id.clone());
            Ok(((), true))
        })
    }

    /// Removes a reference (a bare name means `name:latest`); false when it
    /// did not exist.
    pub fn delete(&self, named: &Named) -> Result<bool> {
        let named = favor_digest(named).tag_name_only();
        self.update(|state| {
            let removed = state.remove(&named).is_some();
            Ok((removed, removed))
        })
    }

    /// Removes every reference to `id`; returns them (sorted).
    pub fn delete_all(&self, id: &Digest) -> Result<Vec<Named>> {
        self.update(|state| {
            let refs: Vec<Named> = state
                .by_id
                .get(id)
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default();
            for r in &refs {
                state.remove(r);
            }
            let changed = !refs.is_empty();
            Ok((refs, changed))
        })
    }

    /// The image a reference points to. A bare name means `name:latest`; a
    /// reference with tag and digest is looked up by digest.
    pub fn get(&self, named: &Named) -> Option<Digest> {
        let named = favor_digest(named).tag_name_only();
        self.read().get(&named)
    }

    /// Every reference to `id`, sorted by full name as Docker sorts them.
    pub fn references_for(&self, id: &Digest) -> Vec<Named> {
        self.read()
            .by_id
            .get(id)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The tags of `id` in familiar form (`busybox:latest`), sorted.
    pub fn tags_for(&self, id: &Digest) -> Vec<String> {
        self.references_for(id)
            .iter()
            .filter(|r| r.tag().is_some())
            .map(Named::familiar_string)
            .collect()
    }

    /// The digest references of `id` in familiar form, sorted.
    pub fn digests_for(&self, id: &Digest) -> Vec<String> {
        self.references_for(id)
            .iter()
            .filter(|r| r.digest().is_some())
            .map(Named::familiar_string)
            .collect()
    }

    /// Every reference of the repository `name` (tag and digest ignored),
    /// sorted by full name.
    pub fn references_by_name(&self, name: &Named) -> Vec<(Named, Digest)> {
        let state = self.read();
        let Some(entries) = state.repos.get(&name.familiar_name()) else {
            return Vec::new();
        };
        let mut out: Vec<(Named, Digest)> = entries
            .iter()
            .filter_map(|(s, id)| Named::parse_normalized(s).ok().map(|n| (n, id.clone())))
            .collect();
        out.sort_by_key(|(n, _)| n.to_string());
        out
    }

    /// Every reference, sorted by full name.
    pub fn all(&self) -> Vec<(Named, Digest)> {
        let state = self.read();
        let mut out: Vec<(Named, Digest)> = state
            .by_id
            .iter()
            .flat_map(|(id, m)| m.values().map(move |n| (n.clone(), id.clone())))
            .collect();
        out.sort_by_key(|(n, _)| n.to_string());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Named {
        Named::parse_normalized(s).unwrap()
    }

    #[test]
    fn tags_persist_in_docker_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repositories.json");
        let store = ReferenceStore::open(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"Repositories":{}}"#
        );
        let id = Digest::of(b"img");
        store.add_tag(&n("busybox"), &id, false).unwrap();
        store
            .add_tag(&n("localhost:5000/a/b:v1"), &id, false)
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"Repositories":{{"busybox":{{"busybox:latest":"{id}"}},"localhost:5000/a/b":{{"localhost:5000/a/b:v1":"{id}"}}}}}}"#
            )
        );
        drop(store);
        let store = ReferenceStore::open(&path).unwrap();
        assert_eq!(store.get(&n("busybox")), Some(id.clone()));
        assert_eq!(
            store.get(&n("docker.io/library/busybox:latest")),
            Some(id.clone())
        );
        assert_eq!(
            store.tags_for(&id),
            vec!["busybox:latest", "localhost:5000/a/b:v1"]
        );
    }

    #[test]
    fn tags_move_digests_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReferenceStore::open(&dir.path().join("r.json")).unwrap();
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        store.add_tag(&n("app:1"), &a, false).unwrap();
        store.add_tag(&n("app:1"), &b, false).unwrap();
        assert_eq!(store.get(&n("app:1")), Some(b.clone()));
        assert!(store.references_for(&a).is_empty());

        let d = n(&format!("app@{}", Digest::of(b"manifest")));
        store.add_digest(&d, &a, false).unwrap();
        store.add_digest(&d, &a, false).unwrap();
        let e = store.add_digest(&d, &b, false).unwrap_err();
        assert!(matches!(e, ImageError::Conflict(_)), "{e}");
        assert_eq!(store.get(&d), Some(a.clone()));
        store.add_digest(&d, &b, true).unwrap();
        assert_eq!(store.get(&d), Some(b.clone()));
        assert_eq!(store.digests_for(&b), vec![d.familiar_string()]);
        assert_eq!(store.tags_for(&b), vec!["app:1"]);
    }

    #[test]
    fn refusals() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReferenceStore::open(&dir.path().join("r.json")).unwrap();
        let id = Digest::of(b"a");
        let d = n(&format!("app@{}", Digest::of(b"m")));
        assert!(matches!(
            store.add_tag(&d, &id, true),
            Err(ImageError::InvalidParameter(_))
        ));
        assert!(matches!(
            store.add_digest(&n("app:1"), &id, true),
            Err(ImageError::InvalidParameter(_))
        ));
        let e = store.add_tag(&n("sha256:abc"), &id, true).unwrap_err();
        assert!(e.to_string().contains("ambiguous tag"), "{e}");
    }

    #[test]
    fn tag_and_digest_reference_keeps_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReferenceStore::open(&dir.path().join("r.json")).unwrap();
        let id = Digest::of(b"a");
        let m = Digest::of(b"m");
        store
            .add_digest(&n(&format!("app:1@{m}")), &id, false)
            .unwrap();
        assert_eq!(store.get(&n(&format!("app@{m}"))), Some(id.clone()));
        assert_eq!(store.get(&n(&format!("app:2@{m}"))), Some(id.clone()));
        assert_eq!(store.get(&n("app:1")), None);
    }

    #[test]
    fn delete_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReferenceStore::open(&dir.path().join("r.json")).unwrap();
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        store.add_tag(&n("zeta:1"), &a, false).unwrap();
        store.add_tag(&n("alpha:2"), &a, false).unwrap();
        store.add_tag(&n("alpha:1"), &b, false).unwrap();
        store.add_tag(&n("example.com/x"), &a, false).unwrap();
        // Sorted by full name: docker.io/library/… before example.com/….
        let names: Vec<String> = store
            .references_for(&a)
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            names,
            vec![
                "docker.io/library/alpha:2",
                "docker.io/library/zeta:1",
                "example.com/x:latest"
            ]
        );
        let by_name: Vec<String> = store
            .references_by_name(&n("alpha"))
            .iter()
            .map(|(r, _)| r.familiar_string())
            .collect();
        assert_eq!(by_name, vec!["alpha:1", "alpha:2"]);
        assert_eq!(store.all().len(), 4);
        assert!(store.delete(&n("alpha:2")).unwrap());
        assert!(!store.delete(&n("alpha:2")).unwrap());
        assert!(!store.delete(&n("nothere")).unwrap());
        let removed = store.delete_all(&a).unwrap();
        assert_eq!(removed.len(), 2);
        assert!(store.references_for(&a).is_empty());
        let store2 = ReferenceStore::open(&dir.path().join("r.json")).unwrap();
        assert_eq!(store2.all().len(), 1);
    }

    #[test]
    fn damaged_file_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repositories.json");
        std::fs::write(&path, b"{not json").unwrap();
        let store = ReferenceStore::open(&path).unwrap();
        assert!(store.all().is_empty());
        assert!(dir.path().join("repositories.json.corrupt").exists());
        // Invalid entries are dropped, valid ones kept.
        let id = Digest::of(b"a");
        std::fs::write(
            &path,
            format!(r#"{{"Repositories":{{"busybox":{{"busybox:latest":"{id}","Bad Ref":"{id}","busybox:2":"sha256:x"}}}}}}"#),
        )
        .unwrap();
        let store = ReferenceStore::open(&path).unwrap();
        assert_eq!(store.all().len(), 1);
    }
}
