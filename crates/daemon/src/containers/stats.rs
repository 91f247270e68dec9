//! `GET /containers/{id}/stats`: samples of a container's cgroup (v1, v2
//! or hybrid) and network counters in Docker's JSON shape. One sampler per
//! container, shared by every subscriber: it starts with the first, reads
//! once a second, and stops with the last (or when the container is
//! removed). A container that is not running samples as zeros, as Docker.

mod netdev;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use berth_api::Error;
use berth_runtime::RuntimeError;
use berth_runtime::cgroup::{container_cgroup_path, read_stats};
use berth_server::backend::ByteStream;
use bytes::Bytes;
use chrono::Utc;
use tokio::sync::watch;

use super::state::Status;
use super::{Container, ContainerService};

pub use wire::Sample;

/// Time between two samples.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

type Latest = watch::Receiver<Option<Arc<Sample>>>;

/// The live samplers, by container ID. Each entry is a receiver kept only
/// to hand out clones; the sampler stops when it is the last one.
#[derive(Default)]
pub struct Samplers {
    live: Mutex<HashMap<String, Latest>>,
}

impl Samplers {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Latest>> {
        match self.live.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

impl ContainerService {
    /// Reads one sample of `c` now (blocking: a few small cgroup files).
    pub fn sample(&self, c: &Container) -> Sample {
        let (status, pid, name, parent, net_mode) = {
            let rec = c.lock();
            (
                rec.state.status,
                rec.state.pid,
                rec.name.clone(),
                rec.host_config.cgroup_parent.clone(),
                rec.host_config.network_mode.clone(),
            )
        };
        let mut s = Sample {
            id: c.id.clone(),
            name: format!("/{name}"),
            ..Default::default()
        };
        if !status.has_process() {
            return s;
        }
        let parent = (!parent.is_empty()).then_some(parent.as_str());
        let read = container_cgroup_path(parent, &c.id)
            .and_then(|p| self.ctx.host.cgroup.paths(&p))
            .and_then(|paths| read_stats(&paths));
        match read {
            Ok(cgroup) => {
                s.read = Some(Utc::now());
                s.cgroup = cgroup;
            }
            Err(RuntimeError::NotFound(_)) => return s,
            Err(e) => {
                tracing::debug!(container = %c.id, error = %e, "cannot read the container's cgroup");
                return s;
            }
        }
        if net_mode != "host" && pid > 0 {
            s.networks = Some(netdev::read(pid));
        }
        s
    }

    /// Subscribes to the container's sampler, starting it if needed.
    fn subscribe_stats(self: &Arc<Self>, c: &Arc<Container>) -> Latest {
        let mut live = self.samplers.live();
        if let Some(rx) = live.get(&c.id) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        live.insert(c.id.clone(), rx.clone());
        let svc = Arc::downgrade(self);
        let c = c.clone();
        tracing::debug!(container = %c.id, "stats sampler started");
        tokio::spawn(run_sampler(svc, c, tx));
        rx
    }

    /// The `stats` endpoint's stream.
    pub async fn stats(
        self: &Arc<Self>,
        name: &str,
        stream: bool,
        one_shot: bool,
    ) -> Result<ByteStream, Error> {
        let c = self.get(name)?;
        let status = c.lock().state.status;
        if !stream && (!status.has_process() || one_shot) {
            let svc = self.clone();
            let c2 = c.clone();
            let s = crate::blocking::run(move || Ok(svc.sample(&c2))).await?;
            let line = Bytes::from(wire::encode(&s, None));
            return Ok(Box::pin(futures_util::stream::once(
                async move { Ok(line) },
            )));
        }
        let rx = self.subscribe_stats(&c);
        // Streaming: every sample, the first without predecessor. Not
        // streaming: one sample after a first one (for `precpu_stats`).
        struct St {
            rx: Latest,
            prev: Option<Arc<Sample>>,
            first: bool,
            done: bool,
        }
        let st = St {
            rx,
            prev: None,
            first: true,
            done: false,
        };
        let out = futures_util::stream::unfold(st, move |mut st| async move {
            if st.done {
                return None;
            }
            loop {
                let current = if st.first {
                    st.first = false;
                    st.rx.borrow_and_update().clone()
                } else {
                    None
                };
                let sample = match current {
                    Some(s) => s,
                    None => {
                        st.rx.changed().await.ok()?;
                        st.rx.borrow_and_update().clone()?
                    }
                };
                if !stream && st.prev.is_none() {
                    st.prev = Some(sample);
                    continue;
                }
                let line = wire::encode(&sample, st.prev.as_deref());
                st.prev = Some(sample);
                st.done = !stream;
                return Some((Ok(Bytes::from(line)), st));
            }
        });
        Ok(Box::pin(out))
    }
}

/// Samples `c` every second while anyone listens.
async fn run_sampler(
    svc: Weak<ContainerService>,
    c: Arc<Container>,
    tx: watch::Sender<Option<Arc<Sample>>>,
) {
    loop {
        let Some(s) = svc.upgrade() else {
            return;
        };
        // Removed: subscribers see the end of the stream.
        if s.get(&c.id).is_err() || c.lock().state.status == Status::Removing {
            s.samplers.live().remove(&c.id);
            return;
        }
        let s2 = s.clone();
        let c2 = c.clone();
        let started = std::time::Instant::now();
        if let Ok(sample) = tokio::task::spawn_blocking(move || s2.sample(&c2)).await {
            tracing::trace!(container = %c.id, micros = started.elapsed().as_micros() as u64, "stats sampled");
            tx.send_replace(Some(Arc::new(sample)));
        }
        drop(s);
        tokio::time::sleep(SAMPLE_INTERVAL).await;
        let Some(s) = svc.upgrade() else {
            return;
        };
        let mut live = s.samplers.live();
        // Only the map's own receiver is left: nobody listens any more.
        if tx.receiver_count() <= 1 {
            live.remove(&c.id);
            tracing::debug!(container = %c.id, "stats sampler stopped");
            return;
        }
    }
}
