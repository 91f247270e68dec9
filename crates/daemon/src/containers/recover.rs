//! Rebuilding the container table when the daemon starts: load every
//! record, finish interrupted creations and removals, reconnect to the
//! shims of running containers (or collect the exits that happened while
//! the daemon was away), and restart what the restart policies say.

use std::collections::HashSet;
use std::sync::Arc;

use berth_api::Error;
use berth_shim::client::ShimClient;
use berth_shim::exit::ExitInfo;
use chrono::Utc;

use super::state::Status;
use super::{Container, ContainerService};
use crate::blocking;

impl ContainerService {
    pub async fn restore(self: &Arc<Self>) -> Result<(), Error> {
        let svc = self.clone();
        let records = blocking::run(move || {
            let (records, discarded) = svc.ctx.store.load_all()?;
            let known: HashSet<String> = records.iter().map(|r| r.id.clone()).collect();
            for id in discarded {
                svc.discard(&id);
            }
            for id in svc.ctx.layers.rw_ids() {
                if !known.contains(&id) {
                    tracing::info!(container = %id, "removing a read-write layer no container owns");
                    svc.discard(&id);
                }
            }
            for name in svc.ctx.netns.list() {
                if !known.contains(&name) {
                    let _ = svc.ctx.netns.remove(&name);
                }
            }
            if let Ok(entries) = std::fs::read_dir(svc.ctx.config.exec_root.join("c")) {
                for e in entries.filter_map(Result::ok) {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !known.iter().any(|id| id.starts_with(&name)) {
                        let _ = berth_fsutil::remove_dir_all_if_exists(&e.path());
                    }
                }
            }
            Ok(records)
        })
        .await?;
        let mut containers = Vec::new();
        for rec in records {
            let name = rec.name.clone();
            let c = Container::new(rec);
            if let Err(e) = self.reserve_name(&name, &c.id) {
                tracing::error!(container = %c.id, error = %e, "duplicate container name on disk");
            }
            self.insert(c.clone());
            containers.push(c);
        }
        let mut handles = Vec::new();
        for c in containers.iter().cloned() {
            let svc = self.clone();
            handles.push(tokio::spawn(async move { svc.reconcile(c).await }));
        }
        for h in handles {
            let _ = h.await;
        }
        // Network resources no running container holds (network.rs).
        let svc = self.clone();
        let _ = blocking::run(move || {
            svc.sweep_networks();
            Ok(())
        })
        .await;
        for c in containers {
            let (status, policy, manual) = {
                let rec = c.lock();
                (
                    rec.state.status,
                    rec.host_config.restart_policy.name.clone(),
                    rec.state.manually_stopped,
                )
            };
            let wants = policy == "always" || (policy == "unless-stopped" && !manual);
            if wants && !status.has_process() && status != Status::Removing {
                let _guard = c.lifecycle.lock().await;
                c.lock().state.status = Status::Exited;
                if let Err(e) = self.start_locked(&c).await {
                    tracing::warn!(container = %c.id, error = %e.chain(), "restart at daemon start-up failed");
                }
            }
        }
        Ok(())
    }

    /// Removes what is left of a container that does not exist.
    fn discard(&self, id: &str) {
        let _ = self.ctx.netns.remove(id);
        if self.ctx.layers.rw_ids().iter().any(|r| r == id) {
            let _ = self.ctx.layers.unmount_rw(id);
            if let Err(e) = self.ctx.layers.remove_rw(id) {
                tracing::warn!(container = %id, error = %e, "cannot remove a leftover read-write layer");
            }
        }
        let _ = berth_fsutil::remove_dir_all_if_exists(&self.ctx.run_dir(id));
    }

    /// Brings one container's recorded state in line with reality.
    async fn reconcile(self: &Arc<Self>, c: Arc<Container>) {
        let status = c.lock().state.status;
        match status {
            Status::Running | Status::Paused | Status::Restarting => {
                let socket = self.ctx.shim_socket(&c.id);
                let dir = self.ctx.run_dir(&c.id);
                if status != Status::Restarting
                    && let Ok(client) = ShimClient::connect(&socket).await
                {
                    let client = client.with_state_dir(dir.clone());
                    if let Ok(st) = client.state().await {
                        if st.status == "created" {
                            // Created but never started (the daemon died
                            // mid-start): not a running container.
                            let _ = client.kill(libc::SIGKILL, true).await;
                            let _ = tokio::time::timeout(
                                std::time::Duration::from_secs(10),
                                client.wait(),
                            )
                            .await;
                        } else if st.exit.is_none() {
                            // Still running: take our reference on its
                            // root filesystem mount and watch it again.
                            let svc = self.clone();
                            let id = c.id.clone();
                            let _ = blocking::run(move || {
                                svc.ctx.layers.mount_rw(&id).map(drop).map_err(Error::from)
                            })
                            .await;
                            if st.pid > 0 {
                                c.lock().state.pid = st.pid as u32;
                            }
                            c.set_shim(Some(client.clone()));
                            tracing::info!(container = %c.id, "reconnected to a running container");
                            // Its addresses, ports and DNS (network.rs).
                            let svc = self.clone();
                            let c2 = c.clone();
                            let _ = blocking::run(move || {
                                svc.adopt_networks(&c2);
                                Ok(())
                            })
                            .await;
                            // Health checks (health.rs) go on, status kept.
                            self.start_health(&c);
                            self.spawn_monitor(c, client);
                            return;
                        }
                    }
                }
                let info = berth_shim::exit::read_exit(&dir)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| ExitInfo {
                        exit_code: 255,
                        oom_killed: false,
                        finished_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                    });
                if status == Status::Restarting {
                    c.lock().state.status = Status::Running;
                }
                tracing::info!(container = %c.id, exit_code = info.exit_code, "container exited while the daemon was away");
                self.handle_exit(c, info).await;
            }
            Status::Removing => {
                if let Err(e) = self.remove_after_crash(&c).await {
                    tracing::warn!(container = %c.id, error = %e.chain(), "cannot finish a removal");
                }
            }
            Status::Created | Status::Exited | Status::Dead => {
                // A shim left from a start the daemon did not finish.
                let socket = self.ctx.shim_socket(&c.id);
                if socket.exists()
                    && let Ok(client) = ShimClient::connect(&socket).await
                {
                    let _ = client.kill(libc::SIGKILL, true).await;
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), client.wait())
                        .await;
                }
                let svc = self.clone();
                let id = c.id.clone();
                let _ = blocking::run(move || {
                    svc.release_resources(&id);
                    Ok(())
                })
                .await;
            }
        }
    }

    async fn remove_after_crash(self: &Arc<Self>, c: &Arc<Container>) -> Result<(), Error> {
        c.lock().state.status = Status::Exited;
        self.remove(&c.id, true, false, false).await
    }

    /// Daemon shutdown: stops running containers (unless live-restore) and
    /// reports whether any are still running.
    pub async fn shutdown(self: &Arc<Self>) -> bool {
        let running: Vec<Arc<Container>> = self
            .all()
            .into_iter()
            .filter(|c| {
                c.lock().state.status.has_process() || c.lock().state.status == Status::Restarting
            })
            .collect();
        for c in self.all() {
            c.cancel_restart();
        }
        if self.ctx.config.live_restore {
            return !running.is_empty();
        }
        let mut handles = Vec::new();
        for c in running {
            let svc = self.clone();
            handles.push(tokio::spawn(async move {
                let _guard = c.lifecycle.lock().await;
                if let Err(e) = svc.stop_locked(&c, None, None).await {
                    tracing::warn!(container = %c.id, error = %e.chain(), "cannot stop at shutdown");
                }
                // Stopped by the daemon, not by the user: `unless-stopped`
                // containers start again with the daemon.
                c.lock().state.manually_stopped = false;
                let _ = svc.save(&c);
            }));
        }
        for h in handles {
            let _ = h.await;
        }
        self.all()
            .iter()
            .any(|c| c.lock().state.status.has_process())
    }
}
