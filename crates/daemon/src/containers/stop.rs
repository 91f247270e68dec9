//! Stopping and signalling: stop (stop signal, then SIGKILL after the
//! timeout), kill, restart, and wait with its three conditions.

use std::sync::Arc;
use std::time::Duration;

use berth_api::Error;
use berth_api::types::container::{WaitError, WaitResponse};
use berth_server::backend::WaitCondition;
use tokio::sync::watch;

use super::state::Status;
use super::{Container, ContainerService, Notice, signals};
use crate::blocking;

/// Docker's default stop timeout.
const DEFAULT_STOP_TIMEOUT: i64 = 10;

impl ContainerService {
    /// `POST /containers/{id}/stop`: `Ok(false)` when it was not running.
    pub async fn stop(
        self: &Arc<Self>,
        name: &str,
        signal: Option<String>,
        timeout: Option<i64>,
    ) -> Result<bool, Error> {
        let c = self.get(name)?;
        let _guard = c.lifecycle.lock().await;
        self.stop_locked(&c, signal, timeout).await
    }

    pub(super) async fn stop_locked(
        self: &Arc<Self>,
        c: &Arc<Container>,
        signal: Option<String>,
        timeout: Option<i64>,
    ) -> Result<bool, Error> {
        if c.cancel_restart() || c.lock().state.status == Status::Restarting {
            {
                let mut rec = c.lock();
                rec.state.status = Status::Exited;
                rec.state.manually_stopped = true;
            }
            self.persist(c).await;
            c.announce(false);
            self.event(c, "stop", &[]);
            return Ok(true);
        }
        if !c.lock().state.status.has_process() {
            return Ok(false);
        }
        let (stop_signal, stop_timeout) = {
            let mut rec = c.lock();
            rec.state.manually_stopped = true;
            (rec.config.stop_signal.clone(), rec.config.stop_timeout)
        };
        self.persist(c).await;
        let sig = match signal.or_else(|| (!stop_signal.is_empty()).then_some(stop_signal)) {
            Some(s) => signals::parse(&s)?,
            None => libc::SIGTERM,
        };
        let t = timeout.or(stop_timeout).unwrap_or(DEFAULT_STOP_TIMEOUT);
        let mut rx = c.subscribe();
        let exits = rx.borrow().exits;
        self.send_signal(c, sig).await?;
        let deadline = (t >= 0).then(|| Duration::from_secs(t as u64));
        if !wait_exit(&mut rx, exits, deadline).await {
            tracing::info!(container = %c.id, timeout = t, "container did not stop in time; killing it");
            self.send_signal(c, libc::SIGKILL).await?;
            if !wait_exit(&mut rx, exits, Some(Duration::from_secs(30))).await {
                return Err(Error::system(format!(
                    "container {} did not stop after SIGKILL",
                    c.id
                )));
            }
        }
        self.event(c, "stop", &[]);
        Ok(true)
    }

    async fn persist(self: &Arc<Self>, c: &Arc<Container>) {
        let svc = self.clone();
        let c2 = c.clone();
        if let Err(e) = blocking::run(move || svc.save(&c2)).await {
            tracing::error!(container = %c.id, error = %e.chain(), "cannot persist the container");
        }
    }

    /// Sends `sig` to the container's init (thawing it first when paused,
    /// so that the signal takes effect).
    async fn send_signal(self: &Arc<Self>, c: &Arc<Container>, sig: i32) -> Result<(), Error> {
        let Some(shim) = c.shim() else {
            return Err(Error::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        };
        self.event(c, "kill", &[("signal", signals::number_text(sig))]);
        match shim.kill(sig, false).await {
            Ok(()) => {}
            Err(berth_shim::client::ShimError::NotRunning { .. })
            | Err(berth_shim::client::ShimError::Gone { .. }) => {
                return Ok(());
            }
            Err(e) => return Err(Error::from_classified(e)),
        }
        if c.lock().state.status == Status::Paused && (sig == libc::SIGKILL || sig == libc::SIGTERM)
        {
            let _ = self.unpause_container(c).await;
        }
        Ok(())
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill(self: &Arc<Self>, name: &str, signal: Option<String>) -> Result<(), Error> {
        let c = self.get(name)?;
        let sig = match signal {
            Some(s) => signals::parse(&s)?,
            None => libc::SIGKILL,
        };
        if c.cancel_restart() {
            c.lock().state.status = Status::Exited;
            self.persist(&c).await;
            c.announce(false);
            return Ok(());
        }
        c.lock().state.check_running(&c.id)?;
        if sig == libc::SIGKILL || sig == libc::SIGTERM || sig == libc::SIGINT {
            c.lock().state.manually_stopped = true;
            self.persist(&c).await;
        }
        let mut rx = c.subscribe();
        let exits = rx.borrow().exits;
        self.send_signal(&c, sig).await?;
        if sig == libc::SIGKILL {
            // Docker returns once a SIGKILLed container is gone.
            wait_exit(&mut rx, exits, Some(Duration::from_secs(10))).await;
        }
        Ok(())
    }

    /// `POST /containers/{id}/restart`.
    pub async fn restart(
        self: &Arc<Self>,
        name: &str,
        signal: Option<String>,
        timeout: Option<i64>,
    ) -> Result<(), Error> {
        let c = self.get(name)?;
        let _guard = c.lifecycle.lock().await;
        self.stop_locked(&c, signal, timeout).await?;
        c.lock().state.manually_stopped = false;
        self.start_locked(&c).await?;
        self.event(&c, "restart", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/wait`: registers now, resolves later.
    pub fn wait(
        self: &Arc<Self>,
        name: &str,
        condition: WaitCondition,
    ) -> Result<std::pin::Pin<Box<dyn std::future::Future<Output = WaitResponse> + Send>>, Error>
    {
        let c = self.get(name)?;
        let mut rx = c.subscribe();
        let start = rx.borrow().clone();
        Ok(Box::pin(async move {
            let done = |n: &Notice| match condition {
                WaitCondition::NotRunning => n.removed || !n.status.running_flag(),
                WaitCondition::NextExit => n.removed || n.exits > start.exits,
                WaitCondition::Removed => n.removed,
            };
            let result = if done(&start) && condition != WaitCondition::NextExit {
                start.clone()
            } else {
                let waited = rx.wait_for(|n| done(n)).await.map(|n| n.clone());
                match waited {
                    Ok(n) => n,
                    Err(_) => {
                        // The container is gone (removed and dropped).
                        let mut n = rx.borrow().clone();
                        n.removed = true;
                        n
                    }
                }
            };
            WaitResponse {
                status_code: result.exit_code,
                error: (!result.error.is_empty()).then(|| WaitError {
                    message: result.error.clone(),
                }),
            }
        }))
    }
}

/// Waits until the container has exited since `exits` (or was removed);
/// false on timeout.
async fn wait_exit(
    rx: &mut watch::Receiver<Notice>,
    exits: u64,
    timeout: Option<Duration>,
) -> bool {
    let fut = rx.wait_for(|n| {
        n.exits > exits || n.removed || (!n.status.has_process() && n.status != Status::Restarting)
    });
    match timeout {
        Some(t) => matches!(tokio::time::timeout(t, fut).await, Ok(Ok(_))),
        None => fut.await.is_ok(),
    }
}
