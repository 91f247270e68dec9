//! Checking that an OCI runtime works on this host: create (never start) a
//! throwaway container from a minimal bundle with its own cgroup path,
//! then delete it, its cgroups and its files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::RuntimeConfig;
use super::cli::RuntimeCli;
use super::exec::error_message;
use crate::cgroup;
use crate::error::{Result, RuntimeError};
use crate::spec::{self, HostInfo, SpecInput};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub usable: bool,
    /// Why the runtime cannot be used (its own error message).
    pub reason: Option<String>,
    /// How long `create` took (a speed hint).
    pub create_time: Option<Duration>,
}

/// A name unique on this host for this process: `berth-probe-<pid>-<n>-<ns>`.
fn unique_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("berth-probe-{}-{n}-{nanos}", std::process::id())
}

fn prepare(dir: &Path, id: &str, host: &HostInfo) -> Result<()> {
    let rootfs = dir.join("bundle/rootfs");
    fs::create_dir_all(&rootfs).map_err(|e| RuntimeError::io("creating the probe bundle", e))?;
    // `create` checks that the executable exists; it is never run.
    let exe = rootfs.join("probe");
    fs::write(&exe, b"").map_err(|e| RuntimeError::io("creating the probe bundle", e))?;
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o755))
        .map_err(|e| RuntimeError::io("creating the probe bundle", e))?;
    let mut input = SpecInput::new(id, &rootfs, vec!["/probe".into()]);
    input.hostname = "probe".into();
    input.cgroup_parent = Some("/".into());
    let generated = spec::generate(&input, host)?;
    spec::write_config(&dir.join("bundle"), &generated.spec)
}

/// Runs `create` with stdio on files (the paused init keeps them open),
/// waiting at most `timeout`.
fn create(
    rt: &RuntimeCli,
    dir: &Path,
    id: &str,
    timeout: Duration,
) -> Result<std::result::Result<(), String>> {
    let err_path = dir.join("stderr");
    let err_file = fs::File::create(&err_path).map_err(|e| RuntimeError::io("probe output", e))?;
    let out_file =
        fs::File::create(dir.join("stdout")).map_err(|e| RuntimeError::io("probe output", e))?;
    let mut c = rt.command("create");
    c.arg("--bundle")
        .arg(dir.join("bundle"))
        .arg(id)
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(err_file);
    let mut child = c
        .spawn()
        .map_err(|e| RuntimeError::io(format!("running {}", rt.path.display()), e))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(Err(format!("create did not finish within {timeout:?}")));
            }
            Ok(None) => thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(RuntimeError::io("waiting for the probe", e)),
        }
    };
    if status.success() {
        return Ok(Ok(()));
    }
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    Ok(Err(error_message(&stderr)))
}

/// Probes `config`: creates a container in a fresh directory under
/// `work_dir` and cleans everything up (runtime state, cgroups, files),
/// whatever happened.
pub fn probe(
    config: &RuntimeConfig,
    host: &HostInfo,
    work_dir: &Path,
    timeout: Duration,
) -> ProbeResult {
    let fail = |reason: String| ProbeResult {
        usable: false,
        reason: Some(reason),
        create_time: None,
    };
    if !config.path.is_file() {
        return fail(format!("{} not found", config.path.display()));
    }
    let id = unique_id();
    let dir = work_dir.join(&id);
    let rt = RuntimeCli::new(config, dir.join("state")).with_timeout(timeout);
    let result = (|| {
        prepare(&dir, &id, host)?;
        let start = Instant::now();
        let r = create(&rt, &dir, &id, timeout)?;
        Ok::<_, RuntimeError>((r, start.elapsed()))
    })();
    // Clean up in every case.
    if let Err(e) = rt.delete(&id, true) {
        tracing::warn!(runtime = %config.name, error = %e, "deleting the probe container");
    }
    match host.cgroup.paths(&format!("/{id}")) {
        Ok(paths) => {
            if let Err(e) = cgroup::remove(&paths, Duration::from_secs(5)) {
                tracing::warn!(runtime = %config.name, error = %e, "removing the probe cgroup");
            }
        }
        Err(e) => tracing::warn!(error = %e, "probe cgroup path"),
    }
    if let Err(e) = fs::remove_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "removing the probe directory");
    }
    match result {
        Ok((Ok(()), t)) => ProbeResult {
            usable: true,
            reason: None,
            create_time: Some(t),
        },
        Ok((Err(reason), _)) => fail(reason),
        Err(e) => fail(e.to_string()),
    }
}
