//! The exec service (`docker exec`): exec instances registered in running
//! containers, started through the container's shim, inspected, resized,
//! and kept a while after they end.
//!
//! Lifetime, as Docker's: an exec is listed in its container's `ExecIDs`
//! from creation until it ends (or fails to start); an ended exec stays
//! inspectable while its container exists, up to [`MAX_ENDED`] of them
//! (the oldest go first). Execs of a removed container go with it; those
//! never started go when the container stops.

mod backend;
mod create;
mod probe;
mod process;
mod start;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::types::exec::{ExecInspect, ExecProcessConfig};
use berth_server::backend::EventQuery;
use berth_shim::client::ShimClient;
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::containers::ContainerService;
use crate::containers::state::Status;

pub use backend::ExecApi;

/// Ended execs kept for inspection, over all containers.
const MAX_ENDED: usize = 1024;
/// Execs that exist at once (created, running or ended).
const MAX_EXECS: usize = 4096;
/// How often execs of vanished containers are swept (events may be missed
/// by a lagging subscriber).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// An exec's configuration, fixed at create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecConfig {
    pub entrypoint: String,
    pub args: Vec<String>,
    pub tty: bool,
    pub privileged: bool,
    /// The user the exec asked for; empty = the container's.
    pub user: String,
    /// What inspect shows: the exec's user, else the container's.
    pub shown_user: String,
    /// Empty = the container's working directory.
    pub working_dir: String,
    /// The exec's own variables (`-e`), merged over the container's at start.
    pub env: Vec<String>,
    pub open_stdin: bool,
    pub open_stdout: bool,
    pub open_stderr: bool,
    /// Empty = ctrl-p ctrl-q (they apply with a TTY only).
    pub detach_keys: Vec<u8>,
    pub console_size: Option<[u32; 2]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Created,
    /// Start accepted; the process is being launched.
    Starting,
    Running,
    Ended,
}

/// What changes during an exec's life.
#[derive(Debug, Clone, Default)]
pub struct ExecState {
    pub phase: Phase,
    pub pid: i64,
    pub exit_code: Option<i64>,
    /// The shim's handle for resize and kill.
    pub shim_exec: Option<u32>,
    pub shim: Option<ShimClient>,
}

/// One exec instance.
pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub cfg: ExecConfig,
    /// A health-check probe: forgotten as soon as it ends.
    pub probe: bool,
    state: watch::Sender<ExecState>,
}

impl Exec {
    fn new(id: String, container_id: String, cfg: ExecConfig, probe: bool) -> Arc<Self> {
        let (state, _) = watch::channel(ExecState::default());
        Arc::new(Exec {
            id,
            container_id,
            cfg,
            probe,
            state,
        })
    }

    pub fn state(&self) -> ExecState {
        self.state.borrow().clone()
    }

    fn update(&self, f: impl FnOnce(&mut ExecState)) {
        self.state.send_modify(f);
    }

    /// Waits until the exec's phase satisfies `pred`, returning its state.
    async fn wait_for(&self, pred: impl Fn(&ExecState) -> bool) -> ExecState {
        let mut rx = self.state.subscribe();
        match rx.wait_for(|s| pred(s)).await {
            Ok(s) => s.clone(),
            // The sender lives in `self`: cannot be closed while we wait.
            Err(_) => self.state(),
        }
    }

    /// `entrypoint args…` as Docker's event actions show it.
    pub fn command_line(&self) -> String {
        format!("{} {}", self.cfg.entrypoint, self.cfg.args.join(" "))
    }
}

#[derive(Default)]
struct Table {
    execs: HashMap<String, Arc<Exec>>,
    /// Ended execs, oldest first.
    ended: VecDeque<String>,
}

pub struct ExecService {
    containers: Arc<ContainerService>,
    table: Mutex<Table>,
    janitor: std::sync::OnceLock<()>,
}

impl ExecService {
    pub fn new(containers: Arc<ContainerService>) -> Arc<Self> {
        Arc::new(ExecService {
            containers,
            table: Mutex::new(Table::default()),
            janitor: std::sync::OnceLock::new(),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        match self.table.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn get(&self, id: &str) -> Result<Arc<Exec>, Error> {
        self.table()
            .execs
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("No such exec instance: {id}")))
    }

    /// Registers a new exec, evicting the oldest ended ones over the bounds.
    fn register(self: &Arc<Self>, exec: Arc<Exec>) -> Result<(), Error> {
        self.start_janitor();
        let mut t = self.table();
        while t.execs.len() >= MAX_EXECS {
            let Some(old) = t.ended.pop_front() else {
                break;
            };
            t.execs.remove(&old);
        }
        if t.execs.len() >= MAX_EXECS {
            return Err(Error::unavailable(format!(
                "too many exec instances ({MAX_EXECS}) exist; start or remove some first"
            )));
        }
        t.execs.insert(exec.id.clone(), exec);
        Ok(())
    }

    /// Records that an exec ended (kept for inspection, probes forgotten).
    fn ended(&self, exec: &Exec) {
        let mut t = self.table();
        if exec.probe {
            t.execs.remove(&exec.id);
        } else if t.execs.contains_key(&exec.id) {
            t.ended.push_back(exec.id.clone());
            while t.ended.len() > MAX_ENDED {
                if let Some(old) = t.ended.pop_front() {
                    t.execs.remove(&old);
                }
            }
        }
    }

    /// Forgets every exec of a container (it was removed), or only those
    /// never started (it stopped).
    fn forget_container(&self, container_id: &str, all: bool) {
        let mut t = self.table();
        t.execs.retain(|_, e| {
            e.container_id != container_id || (!all && e.state().phase != Phase::Created)
        });
        let Table { execs, ended } = &mut *t;
        ended.retain(|id| execs.contains_key(id));
    }

    /// The execs of a container that have not ended (`ExecIDs`).
    pub fn live_ids(&self, container_id: &str) -> Vec<String> {
        self.table()
            .execs
            .values()
            .filter(|e| e.container_id == container_id && e.state().phase != Phase::Ended)
            .map(|e| e.id.clone())
            .collect()
    }

    /// Follows container `die` and `destroy` events to drop execs, and
    /// sweeps execs of vanished containers now and then.
    fn start_janitor(self: &Arc<Self>) {
        self.janitor.get_or_init(|| {
            let weak: Weak<ExecService> = Arc::downgrade(self);
            let filters = Filters::parse(r#"{"type":["container"],"event":["die","destroy"]}"#)
                .unwrap_or_default();
            let mut events = self.containers.ctx.events.subscribe(EventQuery {
                since: None,
                until: None,
                filters,
            });
            tokio::spawn(async move {
                let mut sweep = tokio::time::interval(SWEEP_EVERY);
                loop {
                    tokio::select! {
                        ev = events.next() => {
                            let Some(ev) = ev else { return };
                            let Some(svc) = weak.upgrade() else { return };
                            svc.forget_container(&ev.actor.id, ev.action == "destroy");
                        }
                        _ = sweep.tick() => {
                            let Some(svc) = weak.upgrade() else { return };
                            svc.sweep();
                        }
                    }
                }
            });
        });
    }

    fn sweep(&self) {
        let ids: Vec<String> = {
            let t = self.table();
            let mut ids: Vec<String> = t.execs.values().map(|e| e.container_id.clone()).collect();
            ids.sort();
            ids.dedup();
            ids
        };
        for id in ids {
            if self.containers.get(&id).is_err() {
                self.forget_container(&id, true);
            }
        }
    }

    /// Docker's checks that an exec may be created or started in `c`.
    fn check_container(status: Status, shown: &str) -> Result<(), Error> {
        match status {
            Status::Running => Ok(()),
            Status::Paused => Err(Error::conflict(format!(
                "Container {shown} is paused, unpause the container before exec"
            ))),
            Status::Restarting => Err(Error::conflict(format!(
                "Container {shown} is restarting, wait until the container is running"
            ))),
            _ => Err(Error::conflict(format!("container {shown} is not running"))),
        }
    }

    /// `GET /exec/{id}/json`.
    pub fn inspect(&self, id: &str) -> Result<ExecInspect, Error> {
        let exec = self.get(id)?;
        if exec.probe || self.containers.get(&exec.container_id).is_err() {
            return Err(Error::not_found(format!("No such exec instance: {id}")));
        }
        let st = exec.state();
        let cfg = &exec.cfg;
        Ok(ExecInspect {
            id: exec.id.clone(),
            running: matches!(st.phase, Phase::Starting | Phase::Running),
            exit_code: st.exit_code,
            process_config: ExecProcessConfig {
                tty: cfg.tty,
                entrypoint: cfg.entrypoint.clone(),
                arguments: cfg.args.clone(),
                privileged: Some(cfg.privileged),
                user: Some(cfg.shown_user.clone()),
            },
            open_stdin: cfg.open_stdin,
            open_stderr: cfg.open_stderr,
            open_stdout: cfg.open_stdout,
            can_remove: false,
            container_id: exec.container_id.clone(),
            detach_keys: base64(&cfg.detach_keys),
            pid: st.pid,
        })
    }

    /// `POST /exec/{id}/resize`: waits (up to 10 s, as Docker) for the
    /// process to start.
    pub async fn resize(&self, id: &str, height: u32, width: u32) -> Result<(), Error> {
        let exec = self.get(id)?;
        let rows = u16::try_from(height)
            .map_err(|_| Error::invalid(format!("invalid height {height}")))?;
        let cols =
            u16::try_from(width).map_err(|_| Error::invalid(format!("invalid width {width}")))?;
        let started = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            exec.wait_for(|s| matches!(s.phase, Phase::Running | Phase::Ended)),
        )
        .await
        .map_err(|_| Error::system("timeout waiting for exec session ready"))?;
        match (started.phase, started.shim, started.shim_exec) {
            (Phase::Running, Some(shim), Some(target)) => shim
                .resize_exec(target, rows, cols)
                .await
                .map_err(Error::from_classified),
            _ => Err(Error::conflict(format!("exec {id} is not running"))),
        }
    }
}

/// Go's encoding of a `[]byte` in JSON (standard base64, padded).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_go() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(&[16, 17]), "EBE=");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn container_checks_use_docker_wording() {
        assert!(ExecService::check_container(Status::Running, "x").is_ok());
        let e = ExecService::check_container(Status::Paused, "web").unwrap_err();
        assert_eq!(
            e.message(),
            "Container web is paused, unpause the container before exec"
        );
        assert_eq!(e.kind(), berth_api::ErrorKind::Conflict);
        let e = ExecService::check_container(Status::Exited, "abc").unwrap_err();
        assert_eq!(e.message(), "container abc is not running");
        assert!(ExecService::check_container(Status::Restarting, "abc").is_err());
        assert!(ExecService::check_container(Status::Created, "abc").is_err());
    }
}
