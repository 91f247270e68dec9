//! Starting a shim: run `berth-shim start …`, read its one-line report,
//! reap the short-lived first process (the shim itself is detached).

use std::process::Stdio;

use tokio::io::AsyncReadExt;

use super::ShimClient;
use super::error::{Result, ShimError};
use crate::config::ShimConfig;

/// A shim that reported its container running (or created, with start
/// mode `create-only`).
#[derive(Debug, Clone)]
pub struct StartedShim {
    pub shim_pid: i32,
    /// The container's init process, as seen from the host.
    pub container_pid: i32,
    pub client: ShimClient,
}

/// Starts the shim for `cfg` and waits until the container is up or the
/// start failed. On failure nothing is left behind: no shim process, no
/// runtime state.
pub async fn spawn(cfg: &ShimConfig) -> Result<StartedShim> {
    let mut child = tokio::process::Command::new(&cfg.shim_binary)
        .arg("start")
        .args(cfg.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| ShimError::Spawn {
            binary: cfg.shim_binary.clone(),
            source,
        })?;
    let mut report = Vec::new();
    let read = match child.stdout.take() {
        Some(mut out) => out.read_to_end(&mut report).await.map(|_| ()),
        None => Ok(()),
    };
    let status = child.wait().await;
    let io_err = |context, source| ShimError::Io {
        id: cfg.id.clone(),
        context,
        source,
    };
    read.map_err(|e| io_err("read start report", e))?;
    let status = status.map_err(|e| io_err("wait for start", e))?;
    parse_report(&cfg.id, &report)
        .map(|(container_pid, shim_pid)| StartedShim {
            shim_pid,
            container_pid,
            client: ShimClient::new(cfg.id.clone(), cfg.socket.clone())
                .with_state_dir(cfg.state_dir.clone()),
        })
        .map_err(|e| match e {
            ShimError::Shim { id, message } if message.is_empty() => ShimError::Shim {
                id,
                message: format!("exited ({status}) without a report"),
            },
            e => e,
        })
}

/// `ready <container pid> <shim pid>` or `error <action> <message>`.
fn parse_report(id: &str, report: &[u8]) -> Result<(i32, i32)> {
    let text = String::from_utf8_lossy(report);
    let text = text.trim_end();
    if let Some(rest) = text.strip_prefix("ready ") {
        let mut it = rest.split_whitespace().map(str::parse::<i32>);
        if let (Some(Ok(pid)), Some(Ok(shim))) = (it.next(), it.next()) {
            return Ok((pid, shim));
        }
    }
    if let Some(rest) = text.strip_prefix("error ") {
        let (action, message) = rest.split_once(' ').unwrap_or((rest, ""));
        let message = message.trim().to_string();
        return Err(if action == "shim" {
            ShimError::Shim {
                id: id.to_string(),
                message,
            }
        } else {
            ShimError::Runtime {
                action: action.to_string(),
                message,
            }
        });
    }
    Err(ShimError::Shim {
        id: id.to_string(),
        message: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports() {
        assert_eq!(parse_report("c", b"ready 12 34\n").unwrap(), (12, 34));
        match parse_report(
            "c",
            b"error create runc create failed: exec: \"x\": not found\n",
        ) {
            Err(ShimError::Runtime { action, message }) => {
                assert_eq!(action, "create");
                assert_eq!(message, "runc create failed: exec: \"x\": not found");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_report("c", b"error shim cannot bind"),
            Err(ShimError::Shim { .. })
        ));
        assert!(matches!(
            parse_report("c", b""),
            Err(ShimError::Shim { .. })
        ));
    }
}
