//! Health checks (`HEALTHCHECK`, `--health-*`): one monitor task per
//! running container runs the test command through exec (`CMD` as is,
//! `CMD-SHELL` through the container's shell, `NONE` disables) every
//! `Interval` (`StartInterval` while starting within `StartPeriod`), each
//! run bounded by `Timeout`; `Retries` consecutive failures make the
//! container unhealthy. `State.Health` keeps the last five results and is
//! saved with the record; changes are announced as `health_status: …`
//! events. Monitors start with the container, stop at its exit, pause
//! with it, and start again for containers reconnected after a daemon
//! restart (keeping their status).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use berth_api::Error;
use berth_api::types::config::{ContainerConfig, HealthConfig};
use berth_api::types::container::{Health, HealthLog};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::record::Record;
use super::state::Status;
use super::{Container, ContainerService};
use crate::blocking;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: i64 = 3;
/// Results kept in `State.Health.Log`.
pub const MAX_LOG_ENTRIES: usize = 5;
/// Probe output kept per result (then `...`).
pub const MAX_OUTPUT: usize = 4096;

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// 0 healthy; anything else (−1 for a probe that could not run or
    /// timed out) a failure.
    pub exit_code: i64,
    pub output: String,
}

/// What health checks and `inspect` need from the exec service.
pub trait ExecHooks: Send + Sync {
    /// The container's execs that have not ended (`ExecIDs`).
    fn live_exec_ids(&self, container_id: &str) -> Vec<String>;
    /// Runs `cmd` in the container as an exec (announced as Docker does),
    /// output captured, killed after `timeout`.
    fn probe(
        self: Arc<Self>,
        container_id: String,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = ProbeResult> + Send>>;
}

/// The running monitors, by container ID, and the exec service.
#[derive(Default)]
pub struct Monitors {
    running: Mutex<HashMap<String, CancellationToken>>,
    hooks: OnceLock<Weak<dyn ExecHooks>>,
}

impl Monitors {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        match self.running.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// The probe's command line, or `None` when there is no health check.
pub fn probe_command(config: &ContainerConfig) -> Option<Vec<String>> {
    let test = config.healthcheck.as_ref()?.test.as_ref()?;
    let (kind, rest) = test.split_first()?;
    let cmd: Vec<String> = match kind.as_str() {
        "CMD" => rest.to_vec(),
        "CMD-SHELL" => {
            let mut shell = config
                .shell
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string()]);
            shell.extend(rest.iter().cloned());
            shell
        }
        _ => return None,
    };
    cmd.first().is_some_and(|c| !c.is_empty()).then_some(cmd)
}

fn duration_or(ns: i64, default: Duration) -> Duration {
    if ns > 0 {
        Duration::from_nanos(ns as u64)
    } else {
        default
    }
}

/// Docker's checks of a `HealthConfig` at create.
pub fn validate(hc: Option<&HealthConfig>) -> Result<(), Error> {
    let Some(hc) = hc else {
        return Ok(());
    };
    const MINIMUM_NS: i64 = 1_000_000;
    for (name, v) in [
        ("Interval", hc.interval),
        ("Timeout", hc.timeout),
        ("StartPeriod", hc.start_period),
        ("StartInterval", hc.start_interval),
    ] {
        if v != 0 && v < MINIMUM_NS {
            return Err(Error::invalid(format!(
                "{name} in Healthcheck cannot be less than 1ms"
            )));
        }
    }
    if hc.retries < 0 {
        return Err(Error::invalid("Retries in Healthcheck cannot be negative"));
    }
    Ok(())
}

/// Sets `State.Health` to starting when the container has a health check
/// (called as the container starts, with its record locked).
pub fn init_state(rec: &mut Record) {
    if probe_command(&rec.config).is_none() {
        return;
    }
    let h = rec.state.health.get_or_insert_with(Health::default);
    h.status = "starting".to_string();
    h.failing_streak = 0;
}

/// Folds one result into the health state (Docker's `handleProbeResult`);
/// returns the new status when it changed.
pub fn apply_result(
    health: &mut Health,
    result: &ProbeResult,
    retries: i64,
    start_period: Duration,
    started_at: Option<DateTime<Utc>>,
) -> Option<String> {
    let old = health.status.clone();
    if health.log.len() >= MAX_LOG_ENTRIES {
        let drop = health.log.len() + 1 - MAX_LOG_ENTRIES;
        health.log.drain(..drop);
    }
    health.log.push(HealthLog {
        start: result
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        end: result
            .end
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        exit_code: result.exit_code,
        output: result.output.clone(),
    });
    if result.exit_code == 0 {
        health.failing_streak = 0;
        health.status = "healthy".to_string();
    } else {
        let in_start_period = health.status == "starting"
            && started_at
                .is_some_and(|s| (result.start - s).to_std().unwrap_or_default() < start_period);
        if !in_start_period {
            health.failing_streak += 1;
            if health.failing_streak >= retries {
                health.status = "unhealthy".to_string();
            }
        }
    }
    (health.status != old).then(|| health.status.clone())
}

/// Keeps the first [`MAX_OUTPUT`] bytes of a probe's output.
#[derive(Debug, Default)]
pub struct LimitedBuffer {
    buf: Vec<u8>,
    truncated: bool,
}

impl LimitedBuffer {
    pub fn write(&mut self, data: &[u8]) {
        let keep = MAX_OUTPUT.saturating_sub(self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..keep]);
        if keep < data.len() {
            self.truncated = true;
        }
    }

    /// The output, with `...` when some was dropped.
    pub fn text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.buf).into_owned();
        if self.truncated {
            s.push_str("...");
        }
        s
    }
}

/// Go's `time.Duration.String` (`30s`, `1m30s`, `500ms`, `1.5s`).
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_string();
    }
    let frac = |value: u128, unit: u128, suffix: &str| {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            format!("{whole}{suffix}")
        } else {
            let digits = unit.ilog10() as usize;
            let f = format!("{rest:0digits$}");
            format!("{whole}.{}{suffix}", f.trim_end_matches('0'))
        }
    };
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return frac(ns, 1_000, "µs");
    }
    if ns < 1_000_000_000 {
        return frac(ns, 1_000_000, "ms");
    }
    let secs_ns = ns % 60_000_000_000;
    let mins = ns / 60_000_000_000;
    let s = frac(secs_ns, 1_000_000_000, "s");
    if mins == 0 {
        s
    } else if mins < 60 {
        format!("{mins}m{s}")
    } else {
        format!("{}h{}m{s}", mins / 60, mins % 60)
    }
}

impl ContainerService {
    /// Connects the exec service (at start-up).
    pub fn set_exec_hooks(&self, hooks: Weak<dyn ExecHooks>) {
        let _ = self.monitors.hooks.set(hooks);
    }

    fn exec_hooks(&self) -> Option<Arc<dyn ExecHooks>> {
        self.monitors.hooks.get().and_then(Weak::upgrade)
    }

    /// `ExecIDs` of container inspect: `None` when there are none.
    pub(super) fn exec_ids(&self, id: &str) -> Option<Vec<String>> {
        let ids = self.exec_hooks()?.live_exec_ids(id);
        (!ids.is_empty()).then_some(ids)
    }

    /// Starts (or restarts) the health monitor of a running container.
    pub(super) fn start_health(self: &Arc<Self>, c: &Arc<Container>) {
        let Some(cmd) = probe_command(&c.lock().config) else {
            return;
        };
        let token = CancellationToken::new();
        if let Some(old) = self.monitors.running().insert(c.id.clone(), token.clone()) {
            old.cancel();
        }
        let svc = self.clone();
        let c = c.clone();
        tokio::spawn(async move { svc.health_loop(c, cmd, token).await });
    }

    /// Stops the container's health monitor (at its exit).
    pub(super) fn stop_health(&self, c: &Container) {
        if let Some(token) = self.monitors.running().remove(&c.id) {
            token.cancel();
        }
    }

    async fn health_loop(
        self: Arc<Self>,
        c: Arc<Container>,
        cmd: Vec<String>,
        token: CancellationToken,
    ) {
        let hc = c.lock().config.healthcheck.clone().unwrap_or_default();
        let interval = duration_or(hc.interval, DEFAULT_INTERVAL);
        let timeout = duration_or(hc.timeout, DEFAULT_TIMEOUT);
        let start_period = duration_or(hc.start_period, Duration::ZERO);
        let start_interval = duration_or(hc.start_interval, DEFAULT_START_INTERVAL);
        let retries = if hc.retries > 0 {
            hc.retries
        } else {
            DEFAULT_RETRIES
        };
        loop {
            // Docker's getInterval: StartInterval while starting inside
            // the start period.
            let wait = {
                let rec = c.lock();
                let since = rec
                    .state
                    .started_at
                    .map(|s| (Utc::now() - s).to_std().unwrap_or_default())
                    .unwrap_or_default();
                let starting = rec
                    .state
                    .health
                    .as_ref()
                    .is_some_and(|h| h.status == "starting");
                if since < start_period && starting {
                    start_interval
                } else {
                    interval
                }
            };
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            match c.lock().state.status {
                Status::Running => {}
                Status::Paused => continue,
                _ => return,
            }
            let Some(hooks) = self.exec_hooks() else {
                return;
            };
            let result = tokio::select! {
                _ = token.cancelled() => return,
                r = hooks.probe(c.id.clone(), cmd.clone(), timeout) => r,
            };
            if token.is_cancelled() {
                return;
            }
            self.record_probe(&c, &result, retries, start_period).await;
        }
    }

    async fn record_probe(
        self: &Arc<Self>,
        c: &Arc<Container>,
        result: &ProbeResult,
        retries: i64,
        start_period: Duration,
    ) {
        let changed = {
            let mut rec = c.lock();
            if rec.state.status != Status::Running {
                return;
            }
            let started_at = rec.state.started_at;
            let h = rec.state.health.get_or_insert_with(|| Health {
                status: "starting".to_string(),
                ..Default::default()
            });
            apply_result(h, result, retries, start_period, started_at)
        };
        let svc = self.clone();
        let c2 = c.clone();
        if let Err(e) = blocking::run(move || svc.save(&c2)).await {
            tracing::warn!(container = %c.id, error = %e.chain(), "cannot persist the health status");
        }
        if let Some(status) = changed {
            self.event(c, &format!("health_status: {status}"), &[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(test: &[&str], shell: Option<&[&str]>) -> ContainerConfig {
        ContainerConfig {
            healthcheck: Some(HealthConfig {
                test: Some(test.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            }),
            shell: shell.map(|s| s.iter().map(|x| x.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn probe_commands() {
        assert_eq!(
            probe_command(&config(&["CMD", "true", "x"], None)),
            Some(vec!["true".to_string(), "x".to_string()])
        );
        assert_eq!(
            probe_command(&config(&["CMD-SHELL", "exit 1"], None)),
            Some(vec!["/bin/sh".into(), "-c".into(), "exit 1".into()])
        );
        assert_eq!(
            probe_command(&config(
                &["CMD-SHELL", "x"],
                Some(&["/bin/ash", "-e", "-c"])
            )),
            Some(vec![
                "/bin/ash".into(),
                "-e".into(),
                "-c".into(),
                "x".into()
            ])
        );
        assert_eq!(probe_command(&config(&["NONE"], None)), None);
        assert_eq!(probe_command(&config(&["CMD"], None)), None);
        assert_eq!(probe_command(&config(&[], None)), None);
        assert_eq!(probe_command(&ContainerConfig::default()), None);
    }

    fn result(code: i64, at: DateTime<Utc>) -> ProbeResult {
        ProbeResult {
            start: at,
            end: at,
            exit_code: code,
            output: format!("out {code}"),
        }
    }

    #[test]
    fn results_like_docker() {
        let t0 = Utc::now();
        let mut h = Health {
            status: "starting".into(),
            ..Default::default()
        };
        // A failure inside the start period does not count.
        let period = Duration::from_secs(60);
        assert_eq!(
            apply_result(&mut h, &result(1, t0), 2, period, Some(t0)),
            None
        );
        assert_eq!(h.failing_streak, 0);
        assert_eq!(
            apply_result(&mut h, &result(0, t0), 2, period, Some(t0)),
            Some("healthy".into())
        );
        assert_eq!(
            apply_result(&mut h, &result(1, t0), 2, period, Some(t0)),
            None
        );
        assert_eq!(h.failing_streak, 1);
        assert_eq!(
            apply_result(&mut h, &result(3, t0), 2, period, Some(t0)),
            Some("unhealthy".into())
        );
        for i in 0..10 {
            apply_result(&mut h, &result(i, t0), 2, period, Some(t0));
        }
        assert_eq!(h.log.len(), MAX_LOG_ENTRIES);
        assert_eq!(h.log[4].exit_code, 9);
        assert_eq!(h.log[0].exit_code, 5);
        // Outside the start period, failures count from the start.
        let mut h = Health {
            status: "starting".into(),
            ..Default::default()
        };
        let late = t0 + chrono::Duration::seconds(120);
        apply_result(&mut h, &result(1, late), 1, period, Some(t0));
        assert_eq!(h.status, "unhealthy");
    }

    #[test]
    fn init_only_with_a_check() {
        let mut rec: Record = serde_json::from_value(serde_json::json!({
            "id": "x", "name": "x", "created": "2024-01-01T00:00:00Z", "image_ref": "b",
            "image_id": format!("sha256:{}", "0".repeat(64)), "top_layer": null, "path": "sh",
            "args": [], "config": {}, "host_config": {}, "state": {"status": "running"},
            "driver": "vfs", "runtime": "runc"
        }))
        .unwrap();
        init_state(&mut rec);
        assert!(rec.state.health.is_none());
        rec.config = config(&["CMD", "true"], None);
        init_state(&mut rec);
        assert_eq!(rec.state.health.as_ref().unwrap().status, "starting");
    }

    #[test]
    fn validation_like_docker() {
        assert!(validate(None).is_ok());
        let mut hc = HealthConfig::default();
        assert!(validate(Some(&hc)).is_ok());
        hc.interval = 1000;
        let e = validate(Some(&hc)).unwrap_err();
        assert_eq!(
            e.message(),
            "Interval in Healthcheck cannot be less than 1ms"
        );
        hc.interval = 1_000_000;
        hc.retries = -1;
        assert!(
            validate(Some(&hc))
                .unwrap_err()
                .message()
                .contains("Retries")
        );
    }

    #[test]
    fn output_is_limited() {
        let mut b = LimitedBuffer::default();
        b.write(b"hello ");
        assert_eq!(b.text(), "hello ");
        b.write(&vec![b'x'; MAX_OUTPUT]);
        let t = b.text();
        assert_eq!(t.len(), MAX_OUTPUT + 3);
        assert!(t.ends_with("..."));
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }
}
