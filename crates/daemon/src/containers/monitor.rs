//! After a container's process exits: record the exit, release what it
//! held, tell waiters, and apply the restart policy (Docker's back-off:
//! 100 ms doubling, reset after 10 s of running) or auto-removal.

use std::sync::Arc;
use std::time::Duration;

use berth_shim::client::ShimClient;
use berth_shim::exit::ExitInfo;
use chrono::{DateTime, Utc};

use super::state::Status;
use super::{Container, ContainerService};
use crate::blocking;

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A container that ran this long resets its back-off.
const RESET_AFTER: Duration = Duration::from_secs(10);

impl ContainerService {
    /// Waits for the container's exit in the background.
    pub(super) fn spawn_monitor(self: &Arc<Self>, c: Arc<Container>, client: ShimClient) {
        let svc = self.clone();
        tokio::spawn(async move {
            let exit = client.wait().await;
            let info = match exit {
                Ok(info) => info,
                Err(e) => {
                    tracing::warn!(container = %c.id, error = %e, "lost the shim; the container is considered dead");
                    let dir = svc.ctx.run_dir(&c.id);
                    match berth_shim::exit::read_exit(&dir) {
                        Ok(Some(info)) => info,
                        _ => ExitInfo {
                            exit_code: 255,
                            oom_killed: false,
                            finished_at: Utc::now()
                                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                        },
                    }
                }
            };
            svc.handle_exit(c, info).await;
        });
    }

    pub(super) async fn handle_exit(self: &Arc<Self>, c: Arc<Container>, info: ExitInfo) {
        // Health checks (health.rs) end with the process.
        self.stop_health(&c);
        let finished: DateTime<Utc> = DateTime::parse_from_rfc3339(&info.finished_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        let svc = self.clone();
        let id = c.id.clone();
        let _ = blocking::run(move || {
            svc.release_resources(&id);
            Ok(())
        })
        .await;
        c.set_shim(None);
        let (restart, delay, auto_remove) = {
            let mut rec = c.lock();
            if !rec.state.status.has_process() && rec.state.status != Status::Restarting {
                // Already handled (a stop that timed out on a dead shim…).
                return;
            }
            let ran_for = rec
                .state
                .started_at
                .map(|s| (finished - s).to_std().unwrap_or_default())
                .unwrap_or_default();
            rec.state
                .set_exited(i64::from(info.exit_code), info.oom_killed, finished);
            let policy = rec.host_config.restart_policy.clone();
            let restart = !rec.state.manually_stopped
                && match policy.name.as_str() {
                    "always" | "unless-stopped" => true,
                    "on-failure" => {
                        info.exit_code != 0
                            && (policy.maximum_retry_count == 0
                                || i64::from(rec.restart_count) < policy.maximum_retry_count)
                    }
                    _ => false,
                };
            let mut delay = match c.restart_delay.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            *delay = if ran_for >= RESET_AFTER || delay.is_zero() {
                FIRST_DELAY
            } else {
                (*delay * 2).min(MAX_DELAY)
            };
            if restart {
                rec.state.status = Status::Restarting;
                rec.restart_count += 1;
            }
            (restart, *delay, rec.host_config.auto_remove)
        };
        let svc = self.clone();
        let c2 = c.clone();
        if let Err(e) = blocking::run(move || svc.save(&c2)).await {
            tracing::error!(container = %c.id, error = %e.chain(), "cannot persist the exit");
        }
        if info.oom_killed {
            self.event(&c, "oom", &[]);
        }
        self.event(&c, "die", &[("exitCode", info.exit_code.to_string())]);
        c.announce(true);
        if restart {
            self.schedule_restart(c, delay);
        } else if auto_remove {
            let svc = self.clone();
            let id = c.id.clone();
            tokio::spawn(async move {
                if let Err(e) = svc.remove(&id, true, true, false).await
                    && e.kind() != berth_api::ErrorKind::NotFound
                {
                    tracing::warn!(container = %id, error = %e.chain(), "auto-removal failed");
                }
            });
        }
    }

    /// Starts the container again after `delay`, unless cancelled.
    fn schedule_restart(self: &Arc<Self>, c: Arc<Container>, delay: Duration) {
        let svc = self.clone();
        let c2 = c.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _guard = c2.lifecycle.lock().await;
            match c2.restart_pending.lock() {
                Ok(mut g) => *g = None,
                Err(p) => *p.into_inner() = None,
            }
            if c2.lock().state.status != Status::Restarting {
                return;
            }
            // The restart bypasses check_start's refusal of `restarting`.
            c2.lock().state.status = Status::Exited;
            if let Err(e) = svc.start_locked(&c2).await {
                tracing::warn!(container = %c2.id, error = %e.chain(), "restart failed");
            }
        });
        match c.restart_pending.lock() {
            Ok(mut g) => *g = Some(task.abort_handle()),
            Err(p) => *p.into_inner() = Some(task.abort_handle()),
        }
    }
}
