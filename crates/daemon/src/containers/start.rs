//! Starting a container: mount its root filesystem, resolve user and
//! working directory, set up its network namespace, write the OCI bundle,
//! and hand it to a new shim. Attaches that were waiting (the docker CLI
//! attaches before it starts) are connected before the process runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use berth_api::Error;
use berth_runtime::parse::{MountSpec, MountType, SecurityOpt};
use berth_runtime::spec::{self, Mount, NetworkNamespace, SpecInput, UtsNamespace};
use berth_shim::client::{ShimClient, ShimError};
use berth_shim::config::{ShimConfig, StartMode};
use berth_shim::logfile::LogConfig;
use chrono::Utc;
use tokio::sync::oneshot;

use super::create::mount_specs;
use super::{Container, ContainerService};
use crate::blocking;

/// Given to an attach that waited for the start: the shim to attach to,
/// and a way to say "attached, go ahead".
pub struct AttachHandoff {
    pub client: ShimClient,
    pub attached: oneshot::Sender<()>,
}

/// How long a start waits for waiting attaches to connect.
const ATTACH_HANDOFF_TIMEOUT: Duration = Duration::from_secs(10);

fn shim_err(e: ShimError) -> Error {
    Error::from_classified(e)
}

fn mount_of(m: &MountSpec) -> Result<Mount, Error> {
    if m.kind == MountType::Tmpfs
        && m.tmpfs_size.is_none()
        && m.tmpfs_mode.is_none()
        && !m.mode.is_empty()
    {
        return Ok(Mount::Tmpfs {
            destination: m.target.clone(),
            options: m.mode.split(',').map(str::to_string).collect(),
        });
    }
    Mount::from_spec(m, None).map_err(Error::from_classified)
}

impl ContainerService {
    /// `POST /containers/{id}/start`: `Ok(false)` when already running.
    pub async fn start(self: &Arc<Self>, name: &str) -> Result<bool, Error> {
        let c = self.get(name)?;
        let _guard = c.lifecycle.lock().await;
        if c.lock().state.check_start(&c.id)? {
            // A start by the user resets the restart manager, as Docker's.
            c.lock().restart_count = 0;
            match c.restart_delay.lock() {
                Ok(mut d) => *d = Duration::ZERO,
                Err(p) => *p.into_inner() = Duration::ZERO,
            }
        }
        self.start_locked(&c).await
    }

    pub(super) async fn start_locked(self: &Arc<Self>, c: &Arc<Container>) -> Result<bool, Error> {
        if !c.lock().state.check_start(&c.id)? {
            return Ok(false);
        }
        let waiting: Vec<oneshot::Sender<AttachHandoff>> = match c.pending_attaches.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        let waiting: Vec<_> = waiting.into_iter().filter(|tx| !tx.is_closed()).collect();
        let mode = if waiting.is_empty() {
            StartMode::Run
        } else {
            StartMode::RunHeld
        };
        let t0 = std::time::Instant::now();
        let svc = self.clone();
        let c2 = c.clone();
        let prepared = blocking::run(move || svc.prepare(&c2, mode)).await;
        let t_prepare = t0.elapsed();
        let cfg = match prepared {
            Ok(cfg) => cfg,
            Err(e) => {
                self.start_failed(c, &e, 128).await;
                return Err(e);
            }
        };
        let t1 = std::time::Instant::now();
        let started = match berth_shim::client::spawn(&cfg).await {
            Ok(s) => s,
            Err(e) => {
                let code = if e.is_command_not_found() {
                    127
                } else if matches!(&e, ShimError::Runtime { message, .. } if message.contains("permission denied"))
                {
                    126
                } else {
                    128
                };
                let err = shim_err(e);
                self.start_failed(c, &err, code).await;
                return Err(err);
            }
        };
        if mode == StartMode::RunHeld {
            let mut acks = Vec::new();
            for tx in waiting {
                let (ack_tx, ack_rx) = oneshot::channel();
                if tx
                    .send(AttachHandoff {
                        client: started.client.clone(),
                        attached: ack_tx,
                    })
                    .is_ok()
                {
                    acks.push(ack_rx);
                }
            }
            for ack in acks {
                let _ = tokio::time::timeout(ATTACH_HANDOFF_TIMEOUT, ack).await;
            }
            if let Err(e) = started.client.start().await {
                let _ = started.client.kill(libc::SIGKILL, true).await;
                let err = shim_err(e);
                self.start_failed(c, &err, 128).await;
                return Err(err);
            }
        }
        {
            let mut rec = c.lock();
            rec.state
                .set_running(started.container_pid.max(0) as u32, Utc::now());
            // Health checks (health.rs): State.Health starts as `starting`.
            super::health::init_state(&mut rec);
        }
        c.set_shim(Some(started.client.clone()));
        let svc = self.clone();
        let c2 = c.clone();
        if let Err(e) = blocking::run(move || svc.save(&c2)).await {
            tracing::error!(container = %c.id, error = %e.chain(), "cannot persist the running state");
        }
        c.announce(false);
        tracing::debug!(container = %c.id, prepare = ?t_prepare, spawn = ?t1.elapsed(), total = ?t0.elapsed(), "started");
        self.event(c, "start", &[]);
        self.spawn_monitor(c.clone(), started.client);
        self.start_health(c);
        Ok(true)
    }

    /// Records a failed start and undoes what `prepare` did.
    async fn start_failed(self: &Arc<Self>, c: &Arc<Container>, err: &Error, code: i64) {
        let svc = self.clone();
        let c2 = c.clone();
        let _ = blocking::run(move || {
            svc.release_resources(&c2.id);
            Ok(())
        })
        .await;
        {
            let mut rec = c.lock();
            rec.state
                .set_start_failed(code, err.message().to_string(), Utc::now());
        }
        let svc = self.clone();
        let c2 = c.clone();
        let _ = blocking::run(move || svc.save(&c2)).await;
        c.announce(false);
        // Docker removes an auto-remove container whose start failed (its
        // `wait?condition=removed` would never answer otherwise).
        if c.lock().host_config.auto_remove {
            let svc = self.clone();
            let id = c.id.clone();
            tokio::spawn(async move {
                if let Err(e) = svc.remove(&id, true, false, false).await {
                    tracing::debug!(container = %id, error = %e.chain(), "removing after a failed start");
                }
            });
        }
    }

    /// Builds the OCI bundle and the shim's configuration (blocking).
    fn prepare(&self, c: &Container, mode: StartMode) -> Result<ShimConfig, Error> {
        let rec = c.snapshot();
        let hc = &rec.host_config;
        let rootfs = self.ctx.layers.mount_rw(&rec.id).map_err(Error::from)?;
        let user = berth_runtime::user::resolve_user(
            &rootfs,
            &rec.config.user,
            &hc.group_add.clone().unwrap_or_default(),
        )
        .map_err(Error::from_classified)?;
        let cwd = if rec.config.working_dir.is_empty() {
            "/".to_string()
        } else {
            rec.config.working_dir.clone()
        };
        berth_runtime::user::ensure_workdir(&rootfs, &cwd, user.uid, user.gid)
            .map_err(Error::from_classified)?;

        let mut args = vec![rec.path.clone()];
        args.extend(rec.args.iter().cloned());
        let mut input = SpecInput::new(rec.id.clone(), rootfs.clone(), args);
        input.readonly_rootfs = hc.readonly_rootfs;
        input.env = rec.config.env.clone().unwrap_or_default();
        input.cwd = cwd;
        input.user = user;
        input.hostname = rec.config.hostname.clone();
        input.domainname = rec.config.domainname.clone();
        input.tty = rec.config.tty;
        if hc.console_size[0] > 0 && hc.console_size[1] > 0 {
            input.console_size =
                Some((u64::from(hc.console_size[0]), u64::from(hc.console_size[1])));
        }
        for m in mount_specs(hc)? {
            if m.kind == MountType::Bind && m.create_source {
                std::fs::create_dir_all(&m.source).map_err(|e| {
                    Error::system(format!("cannot create bind source {}: {e}", m.source))
                })?;
            }
            input.mounts.push(mount_of(&m)?);
        }
        let dir = self.ctx.store.dir_of(&rec.id);
        // The exit record of the previous run must not be mistaken for
        // this one's after a crash.
        let _ = berth_fsutil::remove_file_if_exists(
            &self.ctx.run_dir(&rec.id).join(berth_shim::exit::EXIT_FILE),
        );
        let mode_net = hc.network_mode.as_str();
        if let Some(target) = mode_net.strip_prefix("container:") {
            let other = self.get(target)?;
            let (pid, running, other_id) = {
                let r = other.lock();
                (r.state.pid, r.state.status.has_process(), r.id.clone())
            };
            if !running {
                return Err(Error::conflict(format!(
                    "cannot join network namespace of a non running container: container {other_id} is not running"
                )));
            }
            let ns = self.ctx.netns.path(&other_id);
            input.network = if ns.exists() {
                NetworkNamespace::Join(ns)
            } else {
                NetworkNamespace::Join(PathBuf::from(format!("/proc/{pid}/ns/net")))
            };
            let other_dir = self.ctx.store.dir_of(&other_id);
            input.etc_hosts = Some(other_dir.join("hosts"));
            input.etc_resolv_conf = Some(other_dir.join("resolv.conf"));
            input.etc_hostname = Some(dir.join("hostname"));
        } else {
            input.etc_hosts = Some(dir.join("hosts"));
            input.etc_hostname = Some(dir.join("hostname"));
            input.etc_resolv_conf = Some(dir.join("resolv.conf"));
            if mode_net == "host" {
                input.network = NetworkNamespace::Host;
                input.uts = UtsNamespace::Host;
            } else {
                let ns = self.ctx.netns.create(&rec.id)?;
                // Networks, ports, DNS, hosts and resolv.conf: network.rs.
                input.env.extend(self.attach_networks(c, &ns)?);
                input.network = NetworkNamespace::Join(ns);
            }
        }
        input.privileged = hc.privileged;
        input.masked_paths = hc.masked_paths.clone();
        input.readonly_paths = hc.readonly_paths.clone();
        input.cap_add = hc.cap_add.clone().unwrap_or_default();
        input.cap_drop = hc.cap_drop.clone().unwrap_or_default();
        for opt in hc.security_opt.iter().flatten() {
            match berth_runtime::parse::parse_security_opt(opt).map_err(Error::from)? {
                SecurityOpt::NoNewPrivileges(v) => input.no_new_privileges = v,
                SecurityOpt::SeccompUnconfined => input.seccomp = spec::Seccomp::Unconfined,
                SecurityOpt::SystempathsUnconfined => {
                    input.masked_paths = Some(Vec::new());
                    input.readonly_paths = Some(Vec::new());
                }
                SecurityOpt::SeccompProfile(_) => {
                    return Err(Error::invalid(
                        "custom seccomp profiles are not supported by this berthd: use seccomp=unconfined or the default",
                    ));
                }
                SecurityOpt::Apparmor(_) | SecurityOpt::Label(_) => {}
            }
        }
        input.shm_size = (hc.shm_size > 0).then_some(hc.shm_size);
        input.sysctls = hc.sysctls.clone().unwrap_or_default();
        input.devices = hc.devices.iter().flatten().map(Into::into).collect();
        input.device_cgroup_rules = hc.device_cgroup_rules.clone().unwrap_or_default();
        input.oom_score_adj = (hc.oom_score_adj != 0).then_some(hc.oom_score_adj as i32);
        input.ulimits = hc.ulimits.iter().flatten().map(Into::into).collect();
        input.resources = spec::Resources::from(hc);
        input.cgroup_parent = (!hc.cgroup_parent.is_empty()).then(|| hc.cgroup_parent.clone());
        input.annotations = hc.annotations.clone().unwrap_or_default();
        let generated = spec::generate(&input, &self.ctx.host).map_err(Error::from_classified)?;
        let run_dir = self.ctx.run_dir(&rec.id);
        berth_fsutil::create_dir_all_mode(&run_dir, 0o700)
            .map_err(|e| Error::system(format!("cannot create {}: {e}", run_dir.display())))?;
        spec::write_config(&run_dir, &generated.spec).map_err(Error::from_classified)?;
        let cgroup_path = generated
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.cgroups_path().as_ref())
            .map(|p| p.display().to_string());

        let runtime = self
            .ctx
            .runtimes
            .statuses
            .get(&rec.runtime)
            .ok_or_else(|| {
                Error::invalid(format!("unknown or invalid runtime name: {}", rec.runtime))
            })?;
        let log = if hc.log_config.kind == "none" {
            None
        } else {
            let opts = hc.log_config.config.clone().unwrap_or_default();
            let max_size = match opts.get("max-size").map(String::as_str) {
                None | Some("-1") | Some("") => None,
                Some(v) => Some(
                    berth_runtime::parse::ram_in_bytes(v)
                        .map_err(Error::from)?
                        .max(1) as u64,
                ),
            };
            let max_files = opts
                .get("max-file")
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(1)
                .max(1);
            Some(LogConfig {
                path: self.ctx.log_path(&rec.id),
                max_size,
                max_files,
            })
        };
        let mut cfg = ShimConfig::new(
            self.ctx.shim_binary.clone(),
            rec.id.clone(),
            run_dir.clone(),
            runtime.config.path.clone(),
            self.ctx.runtime_root(&rec.runtime),
            run_dir.clone(),
            self.ctx.shim_socket(&rec.id),
        );
        cfg.runtime_args = runtime.config.args.clone();
        cfg.log = log;
        cfg.tty = rec.config.tty;
        cfg.stdin = rec.config.open_stdin;
        cfg.stdin_once = rec.config.stdin_once;
        cfg.cgroup_path = cgroup_path;
        cfg.start_mode = mode;
        Ok(cfg)
    }

    /// Releases what a started container held: its network namespace, its
    /// root filesystem mount and its bundle (blocking; idempotent).
    pub(super) fn release_resources(&self, id: &str) {
        // Addresses, veths, ports, DNS names (network.rs).
        self.detach_networks(id);
        if let Err(e) = self.ctx.netns.remove(id) {
            tracing::warn!(container = %id, error = %e, "cannot remove the network namespace");
        }
        if let Err(e) = self.ctx.layers.unmount_rw(id) {
            tracing::warn!(container = %id, error = %e, "cannot unmount the root filesystem");
        }
        // The shim may still be winding down in it: a second try catches a
        // file it created meanwhile.
        let run_dir = self.ctx.run_dir(id);
        if berth_fsutil::remove_dir_all_if_exists(&run_dir).is_err() {
            std::thread::sleep(std::time::Duration::from_millis(5));
            if let Err(e) = berth_fsutil::remove_dir_all_if_exists(&run_dir) {
                tracing::warn!(container = %id, error = %e, "cannot remove the run directory");
            }
        }
    }
}
