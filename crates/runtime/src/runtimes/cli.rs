//! Thin wrappers over an OCI runtime's command line (`state`, `kill`,
//! `delete --force`, `pause`, `resume`, `update --resources -`, `ps`) for
//! the daemon's use where the shim is not involved.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use super::RuntimeConfig;
use super::exec::{Output, error_message, run};
use crate::error::{Result, RuntimeError};

/// The default deadline of one runtime command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// `runtime state <id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeState {
    #[serde(rename = "ociVersion", default)]
    pub oci_version: String,
    pub id: String,
    /// 0 once stopped.
    #[serde(default)]
    pub pid: i32,
    /// `creating`, `created`, `running`, `paused`, `stopped`.
    pub status: String,
    #[serde(default)]
    pub bundle: PathBuf,
    #[serde(default)]
    pub created: Option<String>,
}

/// One runtime with one state directory (`--root`).
#[derive(Debug, Clone)]
pub struct RuntimeCli {
    pub name: String,
    pub path: PathBuf,
    /// Global options placed before `--root` (from the configuration).
    pub args: Vec<String>,
    pub root: PathBuf,
    pub timeout: Duration,
}

impl RuntimeCli {
    pub fn new(config: &RuntimeConfig, root: impl Into<PathBuf>) -> Self {
        RuntimeCli {
            name: config.name.clone(),
            path: config.path.clone(),
            args: config.args.clone(),
            root: root.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `<path> <args…> --root <root> <subcommand>`, for callers (the shim)
    /// that run other subcommands themselves.
    pub fn command(&self, subcommand: &str) -> Command {
        let mut c = Command::new(&self.path);
        c.args(&self.args)
            .arg("--root")
            .arg(&self.root)
            .arg(subcommand);
        c
    }

    fn call(
        &self,
        subcommand: &str,
        args: &[&str],
        id: &str,
        stdin: Option<&[u8]>,
    ) -> Result<Output> {
        let mut c = self.command(subcommand);
        c.args(args).arg(id);
        let out = run(c, stdin, self.timeout)?;
        if out.success {
            return Ok(out);
        }
        Err(self.classify(subcommand, id, &out.stderr))
    }

    fn classify(&self, subcommand: &str, id: &str, stderr: &str) -> RuntimeError {
        let message = error_message(stderr);
        let lower = message.to_ascii_lowercase();
        if lower.contains("does not exist")
            || lower.contains("not found")
            || lower.contains("no such file or directory")
        {
            RuntimeError::NotFound(format!(
                "container {id} does not exist in runtime {}",
                self.name
            ))
        } else if lower.contains("not running")
            || lower.contains("not paused")
            || lower.contains("is paused")
            || lower.contains("cannot delete container")
        {
            RuntimeError::Conflict(format!("container {id}: {message}"))
        } else {
            RuntimeError::RuntimeFailed {
                runtime: self.name.clone(),
                command: subcommand.to_string(),
                message,
            }
        }
    }

    /// `state <id>`.
    pub fn state(&self, id: &str) -> Result<RuntimeState> {
        let out = self.call("state", &[], id, None)?;
        serde_json::from_slice(&out.stdout).map_err(|e| RuntimeError::RuntimeFailed {
            runtime: self.name.clone(),
            command: "state".into(),
            message: format!("unreadable state: {e}"),
        })
    }

    /// `kill [--all] <id> <signal>` (`signal` by name or number).
    pub fn kill(&self, id: &str, signal: &str, all: bool) -> Result<()> {
        let mut c = self.command("kill");
        if all {
            c.arg("--all");
        }
        c.arg(id).arg(signal);
        let out = run(c, None, self.timeout)?;
        if out.success {
            Ok(())
        } else {
            Err(self.classify("kill", id, &out.stderr))
        }
    }

    /// `delete [--force] <id>`; a container that does not exist is fine.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let args: &[&str] = if force { &["--force"] } else { &[] };
        match self.call("delete", args, id, None) {
            Ok(_) | Err(RuntimeError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `pause <id>` (the runtime freezes the cgroup and records `paused`).
    pub fn pause(&self, id: &str) -> Result<()> {
        self.call("pause", &[], id, None).map(drop)
    }

    /// `resume <id>`.
    pub fn resume(&self, id: &str) -> Result<()> {
        self.call("resume", &[], id, None).map(drop)
    }

    /// `update --resources - <id>` with the OCI resources on stdin (see
    /// [`crate::cgroup::plan_update`]).
    pub fn update(&self, id: &str, resources: &LinuxResources) -> Result<()> {
        let json =
            serde_json::to_vec(resources).map_err(|e| RuntimeError::oci("update resources", e))?;
        self.call("update", &["--resources", "-"], id, Some(&json))
            .map(drop)
    }

    /// `ps --format json <id>`: the pids of the container's processes.
    pub fn ps(&self, id: &str) -> Result<Vec<i32>> {
        let out = self.call("ps", &["--format", "json"], id, None)?;
        let mut pids: Vec<i32> = serde_json::from_slice::<Option<Vec<i32>>>(&out.stdout)
            .map_err(|e| RuntimeError::RuntimeFailed {
                runtime: self.name.clone(),
                command: "ps".into(),
                message: format!("unreadable output: {e}"),
            })?
            .unwrap_or_default();
        pids.sort_unstable();
        Ok(pids)
    }

    /// The state directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake runtime: a shell script that logs its arguments and stdin
    /// and answers like runc.
    fn fake(dir: &Path, body: &str) -> RuntimeCli {
        let path = dir.join("fake-runtime");
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"$@\" >> {0}/args\n{body}\n",
                dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        RuntimeCli::new(
            &RuntimeConfig {
                name: "fake".into(),
                path,
                args: vec!["--debug".into()],
            },
            dir.join("state"),
        )
    }

    #[test]
    fn commands_and_parsing() {
        let tmp = tempfile::tempdir().unwrap();
        let rt = fake(
            tmp.path(),
            r#"case "$4" in
  state) echo '{"ociVersion":"1.0.2","id":"c1","pid":42,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-01-01T00:00:00Z","owner":""}' ;;
  ps) echo '[3,1,2]' ;;
  update) cat > "$(dirname "$0")/stdin" ;;
esac"#,
        );
        let st = rt.state("c1").unwrap();
        assert_eq!((st.pid, st.status.as_str()), (42, "running"));
        assert_eq!(rt.ps("c1").unwrap(), vec![1, 2, 3]);
        rt.kill("c1", "TERM", true).unwrap();
        rt.delete("c1", true).unwrap();
        rt.pause("c1").unwrap();
        rt.resume("c1").unwrap();
        let mut res = LinuxResources::default();
        let mut pids = oci_spec::runtime::LinuxPids::default();
        pids.set_limit(-1);
        res.set_pids(Some(pids));
        rt.update("c1", &res).unwrap();
        let stdin = std::fs::read_to_string(tmp.path().join("stdin")).unwrap();
        assert_eq!(stdin, r#"{"pids":{"limit":-1}}"#);
        let args = std::fs::read_to_string(tmp.path().join("args")).unwrap();
        let root = tmp.path().join("state");
        let r = root.display();
        assert!(args.contains(&format!("--debug --root {r} state c1")));
        assert!(args.contains(&format!("--debug --root {r} kill --all c1 TERM")));
        assert!(args.contains(&format!("--debug --root {r} delete --force c1")));
        assert!(args.contains(&format!("--debug --root {r} update --resources - c1")));
        assert!(args.contains(&format!("--debug --root {r} ps --format json c1")));
    }

    #[test]
    fn error_classes() {
        let tmp = tempfile::tempdir().unwrap();
        let rt = fake(
            tmp.path(),
            r#"case "$4" in
  state) echo 'time="x" level=error msg="container does not exist"' >&2; exit 1 ;;
  kill) echo 'time="x" level=error msg="container not running"' >&2; exit 1 ;;
  delete) echo 'time="x" level=error msg="container does not exist"' >&2; exit 1 ;;
  *) echo 'something broke' >&2; exit 1 ;;
esac"#,
        );
        assert!(matches!(rt.state("c1"), Err(RuntimeError::NotFound(_))));
        assert!(matches!(
            rt.kill("c1", "9", false),
            Err(RuntimeError::Conflict(_))
        ));
        rt.delete("c1", true).unwrap();
        match rt.pause("c1") {
            Err(RuntimeError::RuntimeFailed {
                message, command, ..
            }) => {
                assert_eq!(message, "something broke");
                assert_eq!(command, "pause");
            }
            other => panic!("{other:?}"),
        }
    }
}
