//! Running a runtime command with a deadline, capturing its output, and
//! turning runc/crun error output into a readable message.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Result, RuntimeError};

/// What a finished command produced.
#[derive(Debug)]
pub(crate) struct Output {
    pub success: bool,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

fn reader(mut r: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Runs `cmd` (stdout and stderr captured, `stdin` fed), killing it after
/// `timeout`. Only for commands that do not leave children holding their
/// stdio (state, kill, delete, pause, resume, update, ps).
pub(crate) fn run(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
    let what = format!("{:?}", cmd.get_program());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| RuntimeError::io(format!("running {what}"), e))?;
    if let (Some(data), Some(mut input)) = (stdin, child.stdin.take()) {
        // A runtime that exits early closes the pipe: its exit status
        // tells what went wrong.
        let _ = input.write_all(data);
    }
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RuntimeError::Timeout(format!(
                    "waiting {timeout:?} for {what}"
                )));
            }
            Ok(None) => {
                thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(RuntimeError::io(format!("waiting for {what}"), e)),
        }
    };
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output {
        success: status.success(),
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// The message of runc's logrus lines (`time=… level=error msg="…"`), or
/// the text as is (crun). Empty lines and warnings are dropped when an
/// error is present.
pub(crate) fn error_message(stderr: &str) -> String {
    let mut msgs = Vec::new();
    for line in stderr.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(start) = line.find("msg=\"") {
            let rest = &line[start + 5..];
            let mut msg = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            msg.push(n);
                        }
                    }
                    '"' => break,
                    c => msg.push(c),
                }
            }
            if line.contains("level=error") || line.contains("level=fatal") {
                msgs.push(msg);
            }
        } else if serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("msg").and_then(|m| m.as_str().map(str::to_string)))
            .map(|m| msgs.push(m))
            .is_none()
        {
            msgs.push(line.to_string());
        }
    }
    if msgs.is_empty() {
        "exited with an error and no message".to_string()
    } else {
        msgs.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_messages() {
        let s = "time=\"2026-11-23T11:09:40Z\" level=warning msg=\"ignored\"\ntime=\"2026-11-23T11:09:40Z\" level=error msg=\"runc create failed: exec: \\\"true\\\": not found\"\n";
        assert_eq!(
            error_message(s),
            "runc create failed: exec: \"true\": not found"
        );
        assert_eq!(
            error_message(
                "cgroups in hybrid mode not supported, drop all controllers from cgroupv2\n"
            ),
            "cgroups in hybrid mode not supported, drop all controllers from cgroupv2"
        );
        assert_eq!(
            error_message("{\"level\":\"error\",\"msg\":\"boom\"}"),
            "boom"
        );
        assert!(error_message("").contains("no message"));
    }

    #[test]
    fn runs_with_timeout() {
        let mut c = Command::new("/bin/sh");
        c.args(["-c", "cat; echo err >&2; exit 3"]);
        let out = run(c, Some(b"in"), Duration::from_secs(5)).unwrap();
        assert!(!out.success);
        assert_eq!(out.stdout, b"in");
        assert_eq!(out.stderr, "err\n");
        let mut c = Command::new("/bin/sh");
        c.args(["-c", "sleep 5"]);
        let err = run(c, None, Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, RuntimeError::Timeout(_)));
    }
}
