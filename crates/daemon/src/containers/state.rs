//! A container's state: one enum with guard methods. Docker's booleans
//! (`Running`, `Paused`, …) are derived from it at the API edge only.

use berth_api::Error;
use berth_api::types::container::{ContainerState, Health};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// A process exists (running or paused).
    pub fn has_process(self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }

    /// What Docker reports as `State.Running`.
    pub fn running_flag(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

/// The persisted state of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub exit_code: i64,
    #[serde(default)]
    pub oom_killed: bool,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Set by `stop`/`kill` from the user: the restart manager leaves the
    /// container alone, and `unless-stopped` stays stopped at daemon start.
    #[serde(default)]
    pub manually_stopped: bool,
    #[serde(default)]
    pub started_before: bool,
    #[serde(default)]
    pub health: Option<Health>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            status: Status::Created,
            pid: 0,
            exit_code: 0,
            oom_killed: false,
            error: String::new(),
            started_at: None,
            finished_at: None,
            manually_stopped: false,
            started_before: false,
            health: None,
        }
    }
}

/// What Go prints for a zero `time.Time`.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

pub fn format_time(t: &Option<DateTime<Utc>>) -> String {
    match t {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        None => ZERO_TIME.to_string(),
    }
}

impl State {
    /// Refuses a start in states where Docker refuses it; `Ok(false)` when
    /// already running (a 304 for the API).
    pub fn check_start(&self, id: &str) -> Result<bool, Error> {
        match self.status {
            Status::Created | Status::Exited => Ok(true),
            Status::Running | Status::Restarting => Ok(false),
            Status::Paused => Err(Error::conflict(
                "cannot start a paused container, try unpause instead",
            )),
            Status::Removing => Err(Error::conflict(format!(
                "container {id} is marked for removal and cannot be started"
            ))),
            Status::Dead => Err(Error::conflict(format!(
                "container {id} is marked as dead and cannot be started"
            ))),
        }
    }

    /// Refuses operations that need a live process.
    pub fn check_running(&self, id: &str) -> Result<(), Error> {
        if self.status.has_process() {
            Ok(())
        } else {
            Err(Error::conflict(format!("Container {id} is not running")))
        }
    }

    pub fn check_not_paused(&self, id: &str) -> Result<(), Error> {
        if self.status == Status::Paused {
            Err(Error::conflict(format!(
                "Container {id} is paused, unpause the container before stopping or killing"
            )))
        } else {
            Ok(())
        }
    }

    pub fn set_running(&mut self, pid: u32, now: DateTime<Utc>) {
        self.status = Status::Running;
        self.pid = pid;
        self.exit_code = 0;
        self.oom_killed = false;
        self.error.clear();
        self.started_at = Some(now);
        self.manually_stopped = false;
        self.started_before = true;
        if let Some(h) = &mut self.health {
            h.status = "starting".to_string();
            h.failing_streak = 0;
        }
    }

    pub fn set_exited(&mut self, exit_code: i64, oom_killed: bool, finished: DateTime<Utc>) {
        self.status = Status::Exited;
        self.pid = 0;
        self.exit_code = exit_code;
        self.oom_killed = oom_killed;
        self.finished_at = Some(finished);
        if let Some(h) = &mut self.health {
            h.status = "unhealthy".to_string();
        }
    }

    /// A start that failed: Docker records the error and exit code 128
    /// (or 127/126 for a missing or unexecutable command).
    pub fn set_start_failed(&mut self, exit_code: i64, error: String, now: DateTime<Utc>) {
        self.status = if self.started_before {
            Status::Exited
        } else {
            Status::Created
        };
        self.pid = 0;
        self.exit_code = exit_code;
        self.error = error;
        self.finished_at = if self.started_before {
            Some(now)
        } else {
            self.finished_at
        };
    }

    /// The API's view.
    pub fn to_api(&self) -> ContainerState {
        ContainerState {
            status: self.status.as_str().to_string(),
            running: self.status.running_flag(),
            paused: self.status == Status::Paused,
            restarting: self.status == Status::Restarting,
            oom_killed: self.oom_killed,
            dead: self.status == Status::Dead,
            pid: if self.status.has_process() {
                i64::from(self.pid)
            } else {
                0
            },
            exit_code: self.exit_code,
            error: self.error.clone(),
            started_at: format_time(&self.started_at),
            finished_at: format_time(&self.finished_at),
            health: self.health.clone(),
        }
    }

    /// Docker's human status for `ps` ("Up 2 minutes", "Exited (0) 3
    /// seconds ago", …).
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let since = |t: &Option<DateTime<Utc>>| {
            t.map(|t| human_duration((now - t).to_std().unwrap_or_default()))
                .unwrap_or_default()
        };
        match self.status {
            Status::Running | Status::Paused => {
                let mut s = format!("Up {}", since(&self.started_at));
                if self.status == Status::Paused {
                    s.push_str(" (Paused)");
                } else if let Some(h) = &self.health {
                    if h.status == "starting" {
                        s.push_str(" (health: starting)");
                    } else if !h.status.is_empty() && h.status != "none" {
                        s.push_str(&format!(" ({})", h.status));
                    }
                }
                s
            }
            Status::Restarting => format!(
                "Restarting ({}) {} ago",
                self.exit_code,
                since(&self.finished_at)
            ),
            Status::Removing => "Removal In Progress".to_string(),
            Status::Dead => "Dead".to_string(),
            Status::Created => "Created".to_string(),
            Status::Exited => match self.finished_at {
                None => String::new(),
                Some(_) => format!(
                    "Exited ({}) {} ago",
                    self.exit_code,
                    since(&self.finished_at)
                ),
            },
        }
    }
}

/// Docker's `units.HumanDuration`.
pub fn human_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let minutes = secs / 60;
    let hours = minutes / 60;
    if secs < 1 {
        "Less than a second".to_string()
    } else if secs == 1 {
        "1 second".to_string()
    } else if secs < 60 {
        format!("{secs} seconds")
    } else if minutes == 1 {
        "About a minute".to_string()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours < 2 {
        "About an hour".to_string()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", hours / 24 / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn guards() {
        let mut s = State::default();
        assert!(s.check_start("x").unwrap());
        assert!(s.check_running("x").is_err());
        s.set_running(42, Utc::now());
        assert!(!s.check_start("x").unwrap());
        assert!(s.check_running("x").is_ok());
        s.status = Status::Paused;
        assert!(s.check_start("x").is_err());
        assert!(s.check_not_paused("x").is_err());
        s.set_exited(3, false, Utc::now());
        assert!(s.check_start("x").unwrap());
        let api = s.to_api();
        assert_eq!(api.status, "exited");
        assert!(!api.running);
        assert_eq!(api.exit_code, 3);
        assert_eq!(api.pid, 0);
    }

    #[test]
    fn human_durations() {
        assert_eq!(
            human_duration(Duration::from_millis(10)),
            "Less than a second"
        );
        assert_eq!(human_duration(Duration::from_secs(1)), "1 second");
        assert_eq!(human_duration(Duration::from_secs(30)), "30 seconds");
        assert_eq!(human_duration(Duration::from_secs(61)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(600)), "10 minutes");
        assert_eq!(human_duration(Duration::from_secs(3700)), "About an hour");
        assert_eq!(human_duration(Duration::from_secs(3 * 3600)), "3 hours");
        assert_eq!(human_duration(Duration::from_secs(3 * 86400)), "3 days");
        assert_eq!(human_duration(Duration::from_secs(21 * 86400)), "3 weeks");
    }

    #[test]
    fn describe_like_docker() {
        let now = Utc::now();
        let mut s = State::default();
        assert_eq!(s.describe(now), "Created");
        s.set_running(1, now - chrono::Duration::seconds(120));
        assert_eq!(s.describe(now), "Up 2 minutes");
        s.set_exited(3, false, now - chrono::Duration::seconds(5));
        assert_eq!(s.describe(now), "Exited (3) 5 seconds ago");
    }
}
