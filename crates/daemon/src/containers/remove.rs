//! Removing containers (`DELETE /containers/{id}`, `force`) and pruning
//! stopped ones. The directory is renamed away first, so a crash during
//! removal leaves the container absent, never half there.

use std::sync::Arc;

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::types::container::ContainersPruneResponse;

use super::state::Status;
use super::{Container, ContainerService};
use crate::blocking;

impl ContainerService {
    /// `DELETE /containers/{id}`.
    pub async fn remove(
        self: &Arc<Self>,
        name: &str,
        force: bool,
        _volumes: bool,
        link: bool,
    ) -> Result<(), Error> {
        if link {
            return Err(Error::invalid(format!(
                "cannot remove link {name}: legacy links are not supported by this berthd"
            )));
        }
        let c = self.get(name)?;
        let _guard = c.lifecycle.lock().await;
        let status = c.lock().state.status;
        if status == Status::Removing {
            return Err(Error::conflict(format!(
                "removal of container {} is already in progress",
                c.id
            )));
        }
        if status.has_process() || status == Status::Restarting {
            if !force {
                let what = if status == Status::Paused {
                    "paused"
                } else {
                    "running"
                };
                return Err(Error::conflict(format!(
                    "cannot remove container \"/{}\": container is {what}: stop the container before removing or force remove",
                    c.lock().name
                )));
            }
            self.stop_locked(&c, Some("SIGKILL".to_string()), Some(0))
                .await?;
        }
        self.remove_stopped(&c).await
    }

    async fn remove_stopped(self: &Arc<Self>, c: &Arc<Container>) -> Result<(), Error> {
        c.lock().state.status = Status::Removing;
        c.announce(false);
        let svc = self.clone();
        let id = c.id.clone();
        let result = blocking::run(move || svc.remove_files(&id)).await;
        if let Err(e) = result {
            let mut rec = c.lock();
            rec.state.status = Status::Dead;
            rec.state.error = e.message().to_string();
            drop(rec);
            let _ = self.save(c);
            c.announce(false);
            return Err(e.context(format!("cannot remove container {}", c.id)));
        }
        self.forget(c);
        self.event(c, "destroy", &[]);
        c.notice.send_modify(|n| n.removed = true);
        Ok(())
    }

    /// Takes a stopped container's data out of the stores (blocking); the
    /// files are deleted by a background thread, so that the removal is
    /// answered sooner. What a crash leaves undeleted is swept at start-up.
    fn remove_files(&self, id: &str) -> Result<(), Error> {
        self.release_resources(id);
        // Layers first: a container whose layers are already gone (an
        // earlier attempt failed after detaching them) can still be removed.
        let layers = match self.ctx.layers.detach_rw(id) {
            Ok(l) => Some(l),
            Err(berth_layer::error::LayerError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let doomed = self.ctx.store.detach(id)?;
        let id = id.to_string();
        let purge = move || {
            if let Some(dir) = doomed
                && let Err(e) = super::record::purge_dir(&dir)
            {
                tracing::warn!(container = %id, error = %e.chain(), "cannot delete the container's directory");
            }
            if let Some(layers) = layers
                && let Err(e) = layers.purge()
            {
                tracing::warn!(container = %id, error = %e, "cannot delete the container's layers");
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("purge".into())
            .spawn(purge)
        {
            tracing::warn!(error = %e, "no thread to delete a removed container's files; they are swept at the next start");
        }
        Ok(())
    }

    /// `POST /containers/prune`: every stopped container matching the
    /// filters (`until`, `label`, `label!`).
    pub async fn prune(
        self: &Arc<Self>,
        filters: &Filters,
    ) -> Result<ContainersPruneResponse, Error> {
        filters.validate(&["until", "label", "label!"])?;
        let mut until = None;
        for u in filters.get("until") {
            until = Some(Self::parse_until(u)?);
        }
        let mut deleted = Vec::new();
        let mut reclaimed = 0u64;
        for c in self.all() {
            let (eligible, labels, created) = {
                let rec = c.lock();
                (
                    matches!(
                        rec.state.status,
                        Status::Created | Status::Exited | Status::Dead
                    ),
                    rec.config.labels.clone().unwrap_or_default(),
                    rec.created.timestamp() as f64,
                )
            };
            if !eligible
                || until.is_some_and(|u| created >= u)
                || !filters.match_labels("label", &labels)
            {
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
            let size = self.ctx.layers.rw_size(&c.id).unwrap_or(0);
            let _guard = c.lifecycle.lock().await;
            if c.lock().state.status.has_process() {
                continue;
            }
            match self.remove_stopped(&c).await {
                Ok(()) => {
                    reclaimed += size;
                    deleted.push(c.id.clone());
                }
                Err(e) => {
                    tracing::warn!(container = %c.id, error = %e.chain(), "prune could not remove a container")
                }
            }
        }
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert("reclaimed".to_string(), reclaimed.to_string());
        self.ctx.events.publish("container", "prune", "", attrs);
        Ok(ContainersPruneResponse {
            containers_deleted: if deleted.is_empty() {
                None
            } else {
                Some(deleted)
            },
            space_reclaimed: reclaimed,
        })
    }
}
