//! `POST /exec/{id}/start`: the process is launched through the
//! container's shim and its stream served on the upgraded connection
//! (8-byte frames without a TTY, raw with one; the client's half-close
//! ends the process's stdin; detach keys with a TTY), or detached. The
//! exit code is recorded, and `exec_die` announced, before the connection
//! closes, so a client that inspects the exec right after sees it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use berth_api::Error;
use berth_api::types::exec::ExecStartBody;
use berth_server::backend::{AttachSession, Duplex, ExecStarted};
use berth_shim::client::{ExecConfig as ShimExecConfig, ExecSession, InputWriter, Output};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use super::{Exec, ExecService, Phase, process};
use crate::blocking;
use crate::containers::write_frame;

/// Docker's default detach keys: ctrl-p ctrl-q.
const DEFAULT_DETACH_KEYS: [u8; 2] = [0x10, 0x11];
/// The exit code recorded when the shim vanished without reporting one.
const LOST_EXIT_CODE: i64 = 255;

/// The exit code of an exec that could not start, as Docker's
/// `translateContainerdStartErr`: 127 for a missing command, 126 otherwise.
pub fn start_failure_code(entrypoint: &str, message: &str) -> i64 {
    let m = message.to_ascii_lowercase();
    if (m.contains(&entrypoint.to_ascii_lowercase())
        && (m.contains("executable file not found") || m.contains("no such file or directory")))
        || m.contains("not a directory")
    {
        127
    } else {
        126
    }
}

impl ExecService {
    /// Accepts a start: the exec exists, its container runs, and it has
    /// not been started before. Detached, returns once the process runs.
    pub async fn start(
        self: &Arc<Self>,
        id: &str,
        body: ExecStartBody,
    ) -> Result<ExecStarted, Error> {
        let exec = self.get(id)?;
        if exec.probe {
            return Err(Error::not_found(format!("No such exec instance: {id}")));
        }
        let c = self
            .containers
            .get(&exec.container_id)
            .map_err(|_| Error::not_found(format!("No such container: {}", exec.container_id)))?;
        Self::check_container(c.snapshot().state.status, &c.id)?;
        self.claim(&exec)?;
        let console = body.console_size.filter(|_| body.tty);
        if body.detach {
            let (tx, rx) = oneshot::channel();
            let svc = self.clone();
            tokio::spawn(async move {
                match svc.launch(&exec, console).await {
                    Ok(session) => {
                        let _ = tx.send(Ok(()));
                        let code = drain(session, |_, _| {}).await;
                        svc.finish(&exec, code);
                    }
                    Err(e) => {
                        svc.failed(&exec, &e);
                        let _ = tx.send(Err(e));
                    }
                }
            });
            return match rx.await {
                Ok(Ok(())) => Ok(ExecStarted::Detached),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Error::system(format!("exec {id} was abandoned"))),
            };
        }
        Ok(ExecStarted::Attached(Box::new(Session {
            svc: self.clone(),
            exec,
            tty: body.tty,
            console,
            ran: false,
        })))
    }

    /// Moves the exec from created to starting, or refuses as Docker does.
    pub(super) fn claim(&self, exec: &Exec) -> Result<(), Error> {
        let mut refused = None;
        exec.state.send_if_modified(|s| match s.phase {
            Phase::Created => {
                s.phase = Phase::Starting;
                true
            }
            Phase::Ended => {
                refused = Some(format!("exec command {} has already run", exec.id));
                false
            }
            Phase::Starting | Phase::Running => {
                refused = Some(format!("exec command {} is already running", exec.id));
                false
            }
        });
        match refused {
            Some(m) => Err(Error::conflict(m)),
            None => Ok(()),
        }
    }

    /// Builds the process and has the shim run it.
    pub(super) async fn launch(
        self: &Arc<Self>,
        exec: &Arc<Exec>,
        console: Option<[u32; 2]>,
    ) -> Result<ExecSession, Error> {
        let c = self.containers.get(&exec.container_id)?;
        let rec = c.snapshot();
        Self::check_container(rec.state.status, &rec.id)?;
        let shim = c
            .shim()
            .ok_or_else(|| Error::conflict(format!("container {} is not running", rec.id)))?;
        let svc = self.clone();
        let cfg = exec.cfg.clone();
        let json =
            blocking::run(move || process::process_json(&svc.containers, &rec, &cfg, console))
                .await?;
        self.announce(exec, "exec_start");
        let session = shim
            .exec(&ShimExecConfig {
                process: json,
                tty: exec.cfg.tty,
                stdin: exec.cfg.open_stdin,
                stdout: exec.cfg.open_stdout,
                stderr: exec.cfg.open_stderr,
            })
            .await
            .map_err(Error::from_classified)?;
        exec.update(|s| {
            s.phase = Phase::Running;
            s.pid = i64::from(session.pid);
            s.shim_exec = Some(session.exec_id);
            s.shim = Some(shim);
        });
        Ok(session)
    }

    /// Records a start that failed.
    pub(super) fn failed(&self, exec: &Exec, err: &Error) {
        let code = start_failure_code(&exec.cfg.entrypoint, err.message());
        tracing::debug!(exec = %exec.id, error = %err.chain(), "exec failed to start");
        exec.update(|s| {
            s.phase = Phase::Ended;
            s.exit_code = Some(code);
            s.shim = None;
        });
        self.ended(exec);
    }

    /// Records the process's exit and announces `exec_die`.
    pub(super) fn finish(&self, exec: &Exec, code: i64) {
        exec.update(|s| {
            s.phase = Phase::Ended;
            s.exit_code = Some(code);
            s.shim = None;
        });
        self.ended(exec);
        if let Ok(c) = self.containers.get(&exec.container_id) {
            self.containers.event(
                &c,
                "exec_die",
                &[("execID", exec.id.clone()), ("exitCode", code.to_string())],
            );
        }
    }
}

/// Reads a session's output to its end, handing each chunk to `sink`
/// (1 stdout, 2 stderr); returns the exit code.
pub(super) async fn drain(session: ExecSession, mut sink: impl FnMut(u8, &[u8])) -> i64 {
    let mut output = session.output;
    // Kept open until the end: dropping it would end the process's stdin.
    let _input = session.input;
    loop {
        match output.next().await {
            Ok(Some(Output::Stdout(d))) => sink(1, &d),
            Ok(Some(Output::Stderr(d))) => sink(2, &d),
            Ok(Some(Output::Exit(info))) => return i64::from(info.exit_code),
            Ok(None) | Err(_) => return LOST_EXIT_CODE,
        }
    }
}

/// An attached start waiting for its connection.
struct Session {
    svc: Arc<ExecService>,
    exec: Arc<Exec>,
    /// The start request's `Tty`: raw stream or frames (as Docker).
    tty: bool,
    console: Option<[u32; 2]>,
    ran: bool,
}

impl Drop for Session {
    fn drop(&mut self) {
        // The connection never came: the exec may be started again.
        if !self.ran {
            self.exec.state.send_if_modified(|s| {
                let claimed = s.phase == Phase::Starting;
                if claimed {
                    s.phase = Phase::Created;
                }
                claimed
            });
        }
    }
}

impl AttachSession for Session {
    fn tty(&self) -> bool {
        self.tty
    }

    fn run(mut self: Box<Self>, io: Box<dyn Duplex>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.ran = true;
        Box::pin(async move { self.serve(io).await })
    }
}

impl Session {
    async fn serve(&self, io: Box<dyn Duplex>) {
        let (rd, wr) = tokio::io::split(io);
        let mut client = Some(wr);
        let session = match self.svc.launch(&self.exec, self.console).await {
            Ok(s) => s,
            Err(e) => {
                self.svc.failed(&self.exec, &e);
                if let Some(mut w) = client {
                    let text = format!("{}\r\n", e.message());
                    let _ = write_frame(&mut w, 1, text.as_bytes(), self.tty).await;
                    let _ = w.shutdown().await;
                }
                return;
            }
        };
        let ExecSession { output, input, .. } = session;
        let mut output = output;
        let keys = if self.exec.cfg.detach_keys.is_empty() {
            DEFAULT_DETACH_KEYS.to_vec()
        } else {
            self.exec.cfg.detach_keys.clone()
        };
        // Detach keys apply with a TTY only, as Docker's.
        let keys = self.exec.cfg.tty.then_some(keys);
        let stdin = forward_stdin(rd, input.filter(|_| self.exec.cfg.open_stdin), keys);
        tokio::pin!(stdin);
        let mut stdin_done = false;
        let code = loop {
            tokio::select! {
                item = output.next() => {
                    let (stream, data) = match item {
                        Ok(Some(Output::Stdout(d))) => (1, d),
                        Ok(Some(Output::Stderr(d))) => (2, d),
                        Ok(Some(Output::Exit(info))) => break i64::from(info.exit_code),
                        Ok(None) | Err(_) => break LOST_EXIT_CODE,
                    };
                    if let Some(w) = client.as_mut()
                        && write_frame(w, stream, &data, self.tty).await.is_err()
                    {
                        // The client is gone; the process goes on.
                        client = None;
                    }
                }
                detached = &mut stdin, if !stdin_done => {
                    stdin_done = true;
                    if detached {
                        if let Some(mut w) = client.take() {
                            let _ = w.shutdown().await;
                        }
                        if let Ok(c) = self.svc.containers.get(&self.exec.container_id) {
                            self.svc.containers.event(
                                &c,
                                "exec_detach",
                                &[("execID", self.exec.id.clone())],
                            );
                        }
                    }
                }
            }
        };
        self.svc.finish(&self.exec, code);
        if let Some(mut w) = client {
            let _ = w.flush().await;
            let _ = w.shutdown().await;
        }
    }
}

/// Copies the client's input to the process's stdin until the client
/// half-closes (the process's stdin is closed then) or types the detach
/// keys (`true`). Never ends without stdin.
async fn forward_stdin<R: AsyncRead + Unpin>(
    mut rd: R,
    input: Option<InputWriter>,
    detach_keys: Option<Vec<u8>>,
) -> bool {
    let Some(mut input) = input else {
        return std::future::pending().await;
    };
    let mut buf = vec![0u8; 32 * 1024];
    let mut matched = 0usize;
    let mut broken = false;
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = input.close_stdin().await;
                // Keep the connection's write side: dropping it would not
                // matter to the shim, but there is nothing more to send.
                return std::future::pending().await;
            }
            Ok(n) => n,
        };
        let mut forward = Vec::with_capacity(n);
        match &detach_keys {
            None => forward.extend_from_slice(&buf[..n]),
            Some(keys) => {
                for &b in &buf[..n] {
                    if b == keys[matched] {
                        matched += 1;
                        if matched == keys.len() {
                            if !forward.is_empty() && !broken {
                                let _ = input.send(&forward).await;
                            }
                            return true;
                        }
                        continue;
                    }
                    if matched > 0 {
                        forward.extend_from_slice(&keys[..matched]);
                        matched = 0;
                    }
                    forward.push(b);
                }
            }
        }
        if !forward.is_empty() && !broken && input.send(&forward).await.is_err() {
            // The process's stdin is gone; keep watching for detach keys.
            broken = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_codes_like_docker() {
        let m = "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH";
        assert_eq!(start_failure_code("nope", m), 127);
        let m = "exec: \"/x\": stat /x: no such file or directory";
        assert_eq!(start_failure_code("/x", m), 127);
        assert_eq!(
            start_failure_code("/etc", "exec: \"/etc\": permission denied"),
            126
        );
        assert_eq!(
            start_failure_code("ls", "container abc is not running"),
            126
        );
    }

    #[tokio::test]
    async fn frames_and_raw() {
        let mut out = Vec::new();
        write_frame(&mut out, 2, b"hi", false).await.unwrap();
        assert_eq!(out, [2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        let mut out = Vec::new();
        write_frame(&mut out, 1, b"hi", true).await.unwrap();
        assert_eq!(out, b"hi");
    }

    #[tokio::test]
    async fn stdin_without_input_never_ends() {
        let rd: &[u8] = b"data";
        let r = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            forward_stdin(rd, None, None),
        )
        .await;
        assert!(r.is_err());
    }
}
