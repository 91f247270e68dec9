//! Tagging, untagging, deleting and pruning images with Docker's rules:
//! removing a name only untags while other names remain; an ID removes
//! the image; conflicts (children, containers, several repositories) are
//! refused with Docker's wording unless forced where Docker allows it.

use std::collections::{BTreeMap, HashMap};

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::types::image::{ImageDeleteItem, ImagesPruneResponse};
use berth_image::reference::Named;
use berth_layer::Digest;

use super::ImageService;
use crate::timestamp;

#[derive(Clone, Copy)]
struct Mask {
    children: bool,
    running: bool,
    references: bool,
    stopped: bool,
}

const HARD: Mask = Mask {
    children: true,
    running: true,
    references: false,
    stopped: false,
};

impl Mask {
    fn with_soft(self, references: bool) -> Mask {
        Mask {
            references,
            stopped: true,
            ..self
        }
    }
}

/// A refused deletion; `used` when a container is the reason.
struct Conflict {
    hard: bool,
    used: bool,
    message: String,
}

impl Conflict {
    fn into_error(self, id: &Digest) -> Error {
        let force = if self.hard {
            "cannot be forced"
        } else {
            "must be forced"
        };
        Error::conflict(format!(
            "conflict: unable to delete {} ({force}) - {}",
            id.short(),
            self.message
        ))
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Docker's `isImageIDPrefix`.
fn is_id_prefix(id: &Digest, given: &str) -> bool {
    let full = id.to_string();
    full.starts_with(given) || id.hex().starts_with(given)
}

/// True when every reference is in one repository and at most one is a tag.
fn is_single_reference(refs: &[Named]) -> bool {
    let mut name = None;
    let mut tags = 0;
    for r in refs {
        if r.tag().is_some() {
            tags += 1;
        }
        let n = r.trim().to_string();
        match &name {
            None => name = Some(n),
            Some(prev) if *prev != n => return false,
            Some(_) => {}
        }
    }
    tags <= 1
}

impl ImageService {
    /// `POST /images/{name}/tag`.
    pub fn tag(&self, name: &str, repo: &str, tag: &str) -> Result<(), Error> {
        let img = self.lookup(name)?;
        let named = Self::parse_new_reference(repo, tag)?;
        self.refs.add_tag(&named, &img.id, true)?;
        if let Err(e) = self.images.set_last_updated(&img.id) {
            tracing::warn!(error = %e, "cannot record the tag time");
        }
        self.event("tag", &img.id, &named.familiar_string());
        Ok(())
    }

    /// `DELETE /images/{name}`.
    pub fn delete(
        &self,
        name: &str,
        force: bool,
        noprune: bool,
    ) -> Result<Vec<ImageDeleteItem>, Error> {
        let _guard = self.delete_lock.lock();
        let mut records = Vec::new();
        self.delete_locked(name, force, !noprune, &mut records)?;
        self.finish_delete(&mut records);
        Ok(records)
    }

    fn delete_locked(
        &self,
        name: &str,
        force: bool,
        prune: bool,
        records: &mut Vec<ImageDeleteItem>,
    ) -> Result<(), Error> {
        let img = self.lookup(name)?;
        let id = img.id.clone();
        let mut refs = self.refs.references_for(&id);
        let mut removed_repo_ref = false;
        if !is_id_prefix(&id, name) {
            if !force
                && is_single_reference(&refs)
                && let Some((cid, _)) = self.users().users(&id).first()
            {
                return Err(Error::conflict(format!(
                    "conflict: unable to remove repository reference {name:?} (must force) - container {} is using its referenced image {}",
                    short(cid),
                    id.short()
                )));
            }
            let parsed = Named::parse_normalized(name)?.tag_name_only();
            if !self.refs.delete(&parsed)? {
                return Err(berth_image::ImageError::NoSuchImage(parsed.familiar_string()).into());
            }
            self.event("untag", &id, &id.to_string());
            records.push(ImageDeleteItem::Untagged(parsed.familiar_string()));
            refs = self.refs.references_for(&id);
            // A removed tag takes the digest references of its repository
            // with it when no other tag of that repository remains.
            if parsed.digest().is_none() {
                let same_repo = |r: &Named| r.trim() == parsed.trim();
                if !refs.iter().any(|r| r.digest().is_none() && same_repo(r)) {
                    let mut remaining = Vec::new();
                    for r in refs {
                        if r.digest().is_some() && same_repo(&r) {
                            self.refs.delete(&r)?;
                            records.push(ImageDeleteItem::Untagged(r.familiar_string()));
                        } else {
                            remaining.push(r);
                        }
                    }
                    refs = remaining;
                }
            }
            if !refs.is_empty() {
                return Ok(());
            }
            removed_repo_ref = true;
        } else if is_single_reference(&refs) {
            let mask = if force { HARD } else { HARD.with_soft(false) };
            if let Some(c) = self.conflict(&id, mask) {
                return Err(c.into_error(&id));
            }
            for r in refs {
                self.refs.delete(&r)?;
                self.event("untag", &id, &id.to_string());
                records.push(ImageDeleteItem::Untagged(r.familiar_string()));
            }
        }
        self.delete_image(&id, records, force, prune, removed_repo_ref)
    }

    fn delete_image(
        &self,
        id: &Digest,
        records: &mut Vec<ImageDeleteItem>,
        force: bool,
        prune: bool,
        quiet: bool,
    ) -> Result<(), Error> {
        let mask = if force { HARD } else { HARD.with_soft(true) };
        if let Some(c) = self.conflict(id, mask) {
            let dangling = self.refs.references_for(id).is_empty();
            if quiet && (!dangling || c.used) {
                return Ok(());
            }
            return Err(c.into_error(id));
        }
        let parent = self.images.get(id).ok().and_then(|i| i.parent.clone());
        for r in self.refs.delete_all(id)? {
            self.event("untag", id, &id.to_string());
            records.push(ImageDeleteItem::Untagged(r.familiar_string()));
        }
        self.images.delete(id)?;
        self.event("delete", id, &id.to_string());
        records.push(ImageDeleteItem::Deleted(id.to_string()));
        match parent {
            Some(p) if prune => self.delete_image(&p, records, false, true, true),
            _ => Ok(()),
        }
    }

    /// Runs the layer GC and records the layers it removed.
    fn finish_delete(&self, records: &mut Vec<ImageDeleteItem>) -> u64 {
        let sizes: HashMap<Digest, u64> = self
            .layers
            .all()
            .into_iter()
            .map(|l| (l.chain_id, l.size))
            .collect();
        let mut reclaimed = 0;
        for chain in self.collect_layers() {
            reclaimed += sizes.get(&chain).copied().unwrap_or(0);
            records.push(ImageDeleteItem::Deleted(chain.to_string()));
        }
        reclaimed
    }

    fn conflict(&self, id: &Digest, mask: Mask) -> Option<Conflict> {
        if mask.children && !self.images.children(id).is_empty() {
            return Some(Conflict {
                hard: true,
                used: false,
                message: "image has dependent child images".to_string(),
            });
        }
        let users = self.users().users(id);
        if mask.running
            && let Some((cid, _)) = users.iter().find(|(_, running)| *running)
        {
            return Some(Conflict {
                hard: true,
                used: true,
                message: format!("image is being used by running container {}", short(cid)),
            });
        }
        if mask.references && !self.refs.references_for(id).is_empty() {
            return Some(Conflict {
                hard: false,
                used: false,
                message: "image is referenced in multiple repositories".to_string(),
            });
        }
        if mask.stopped
            && let Some((cid, _)) = users.iter().find(|(_, running)| !*running)
        {
            return Some(Conflict {
                hard: false,
                used: true,
                message: format!("image is being used by stopped container {}", short(cid)),
            });
        }
        None
    }

    /// `POST /images/prune`: dangling images by default, every unused
    /// image with `dangling=false`.
    pub fn prune(&self, filters: &Filters) -> Result<ImagesPruneResponse, Error> {
        filters.validate(&["dangling", "until", "label", "label!"])?;
        let dangling_only = filters.bool_value("dangling")?.unwrap_or(true);
        let now = chrono::Utc::now();
        let mut until = None;
        for u in filters.get("until") {
            until = Some(timestamp::parse(u, now)?);
        }
        let _guard = self.delete_lock.lock();
        let sizes: HashMap<Digest, u64> = self
            .layers
            .all()
            .into_iter()
            .map(|l| (l.chain_id, l.size))
            .collect();
        let mut deleted = Vec::new();
        for img in self.images.list() {
            if !self.images.exists(&img.id) {
                continue;
            }
            let children = self.images.children(&img.id);
            let refs = self.refs.references_for(&img.id);
            if dangling_only && !children.is_empty() {
                continue;
            }
            if refs.is_empty() && !children.is_empty() {
                continue;
            }
            if let Some(u) = until {
                let created = img.config.created.map(|t| t.timestamp() as f64);
                if created.is_none_or(|c| c > u) {
                    continue;
                }
            }
            let labels: BTreeMap<String, String> = img
                .config
                .config
                .as_ref()
                .and_then(|c| c.labels.clone())
                .unwrap_or_default();
            if !filters.match_labels("label", &labels) {
                continue;
            }
            if filters
                .get("label!")
                .iter()
                .any(|want| match want.split_once('=') {
                    Some((k, v)) => labels.get(k).map(String::as_str) == Some(v),
                    None => labels.contains_key(want.as_str()),
                })
            {
                continue;
            }
            let mut records = Vec::new();
            if refs.is_empty() {
                if let Err(e) = self.delete_locked(img.id.hex(), false, true, &mut records) {
                    tracing::debug!(image = %img.id, error = %e, "prune skipped an image");
                    continue;
                }
            } else {
                let has_tag = refs.iter().any(|r| r.tag().is_some());
                if dangling_only && has_tag {
                    continue;
                }
                for r in refs {
                    match self.delete_locked(&r.to_string(), false, true, &mut records) {
                        Ok(()) => {}
                        Err(e) => {
                            tracing::debug!(image = %img.id, error = %e, "prune skipped a reference");
                        }
                    }
                }
            }
            deleted.extend(records);
        }
        let mut reclaimed = 0;
        for chain in self.collect_layers() {
            reclaimed += sizes.get(&chain).copied().unwrap_or(0);
            deleted.push(ImageDeleteItem::Deleted(chain.to_string()));
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("reclaimed".to_string(), reclaimed.to_string());
        self.events.publish("image", "prune", "", attrs);
        Ok(ImagesPruneResponse {
            images_deleted: if deleted.is_empty() {
                None
            } else {
                Some(deleted)
            },
            space_reclaimed: reclaimed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_reference_rules() {
        let n = |s: &str| Named::parse_normalized(s).unwrap().tag_name_only();
        assert!(is_single_reference(&[]));
        assert!(is_single_reference(&[n("busybox")]));
        assert!(!is_single_reference(&[n("busybox"), n("busybox:1")]));
        assert!(!is_single_reference(&[n("busybox"), n("other")]));
    }
}
