//! Health-check probes as execs (Docker's `cmdProbe`): registered and
//! announced like any exec, stdout and stderr captured (4 KiB), the
//! process killed when it outlives the timeout; the container's user,
//! working directory and environment. What the container service sees of
//! the exec service ([`ExecHooks`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use super::start::drain;
use super::{Exec, ExecConfig, ExecService};
use crate::containers::health::{ExecHooks, LimitedBuffer, ProbeResult, go_duration};

/// How long launching a probe may take (not counted in its timeout).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a killed probe gets to report its exit.
const KILL_GRACE: Duration = Duration::from_secs(10);

impl ExecHooks for ExecService {
    fn live_exec_ids(&self, container_id: &str) -> Vec<String> {
        self.live_ids(container_id)
    }

    fn probe(
        self: Arc<Self>,
        container_id: String,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = ProbeResult> + Send>> {
        // A task of its own: a monitor that stops mid-probe must not leave
        // the exec half-recorded.
        let task = tokio::spawn(async move { self.run_probe(container_id, cmd, timeout).await });
        Box::pin(async move {
            let start = Utc::now();
            task.await.unwrap_or_else(|e| ProbeResult {
                start,
                end: Utc::now(),
                exit_code: -1,
                output: format!("health check failed: {e}"),
            })
        })
    }
}

impl ExecService {
    async fn run_probe(
        self: Arc<Self>,
        container_id: String,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> ProbeResult {
        let start = Utc::now();
        let failed = |output: String| ProbeResult {
            start,
            end: Utc::now(),
            exit_code: -1,
            output,
        };
        let c = match self.containers.get(&container_id) {
            Ok(c) => c,
            Err(e) => return failed(e.message().to_string()),
        };
        let mut cmd = cmd.into_iter();
        let Some(entrypoint) = cmd.next() else {
            return failed("health check has no command".to_string());
        };
        let cfg = ExecConfig {
            entrypoint,
            args: cmd.collect(),
            shown_user: c.snapshot().config.user,
            open_stdout: true,
            open_stderr: true,
            ..Default::default()
        };
        let exec = Exec::new(super::create::new_id(), container_id.clone(), cfg, true);
        if let Err(e) = self.register(exec.clone()) {
            return failed(e.message().to_string());
        }
        self.announce(&exec, "exec_create");
        if let Err(e) = self.claim(&exec) {
            self.ended(&exec);
            return failed(e.message().to_string());
        }
        let session = match tokio::time::timeout(START_TIMEOUT, self.launch(&exec, None)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                self.failed(&exec, &e);
                return failed(e.message().to_string());
            }
            Err(_) => {
                let e = berth_api::Error::system(format!(
                    "timed out starting health check for container {container_id}"
                ));
                self.failed(&exec, &e);
                return failed(e.message().to_string());
            }
        };
        let output = Arc::new(Mutex::new(LimitedBuffer::default()));
        let sink = output.clone();
        let drained = drain(session, move |_, data| match sink.lock() {
            Ok(mut b) => b.write(data),
            Err(p) => p.into_inner().write(data),
        });
        tokio::pin!(drained);
        let text = |o: &Arc<Mutex<LimitedBuffer>>| match o.lock() {
            Ok(b) => b.text(),
            Err(p) => p.into_inner().text(),
        };
        tokio::select! {
            code = &mut drained => {
                self.finish(&exec, code);
                ProbeResult {
                    start,
                    end: Utc::now(),
                    exit_code: code,
                    output: text(&output),
                }
            }
            _ = tokio::time::sleep(timeout) => {
                let st = exec.state();
                if let (Some(shim), Some(target)) = (st.shim, st.shim_exec) {
                    let _ = shim.kill_exec(target, libc::SIGKILL).await;
                }
                let code = tokio::time::timeout(KILL_GRACE, &mut drained)
                    .await
                    .unwrap_or(-1);
                self.finish(&exec, code);
                let out = text(&output);
                let msg = if out.is_empty() {
                    format!("Health check exceeded timeout ({})", go_duration(timeout))
                } else {
                    format!("Health check exceeded timeout ({}): {out}", go_duration(timeout))
                };
                ProbeResult {
                    start,
                    end: Utc::now(),
                    exit_code: -1,
                    output: msg,
                }
            }
        }
    }
}
