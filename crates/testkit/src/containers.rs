//! Container helpers for tests, over the raw API: create, start, wait,
//! logs (demultiplexed), and a `run` that does all of it.

use serde_json::{Value, json};

use crate::TestDaemon;

/// Splits an 8-byte-framed stream into (stdout, stderr).
pub fn demux(body: &[u8]) -> (String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut i = 0;
    while i + 8 <= body.len() {
        let len = u32::from_be_bytes([body[i + 4], body[i + 5], body[i + 6], body[i + 7]]) as usize;
        let end = (i + 8 + len).min(body.len());
        match body[i] {
            2 => err.extend_from_slice(&body[i + 8..end]),
            _ => out.extend_from_slice(&body[i + 8..end]),
        }
        i = end;
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

impl TestDaemon {
    /// Creates a container from a JSON body; panics with the daemon's
    /// answer unless it is 201.
    pub fn create(&self, name: Option<&str>, body: &Value) -> String {
        let path = match name {
            Some(n) => format!("/containers/create?name={n}"),
            None => "/containers/create".to_string(),
        };
        let r = self.post_json(&path, body);
        assert_eq!(r.status, 201, "create failed: {}", r.text());
        r.json()["Id"].as_str().unwrap_or_default().to_string()
    }

    /// Creates a busybox container running `cmd`.
    pub fn create_cmd(&self, name: Option<&str>, cmd: &[&str]) -> String {
        self.create(name, &json!({"Image": "busybox", "Cmd": cmd}))
    }

    pub fn start_container(&self, id: &str) {
        let r = self.post(&format!("/containers/{id}/start"), b"");
        assert!(
            r.status == 204 || r.status == 304,
            "start failed: {} {}",
            r.status,
            r.text()
        );
    }

    /// Waits for the container to stop and returns its exit code.
    pub fn wait(&self, id: &str) -> i64 {
        let r = self.post(&format!("/containers/{id}/wait"), b"");
        assert_eq!(r.status, 200, "wait failed: {}", r.text());
        r.json()["StatusCode"].as_i64().unwrap_or(-1)
    }

    /// (stdout, stderr) of a container without a TTY.
    pub fn logs(&self, id: &str) -> (String, String) {
        let r = self.get(&format!("/containers/{id}/logs?stdout=1&stderr=1"));
        assert_eq!(r.status, 200, "logs failed: {}", r.text());
        demux(&r.body)
    }

    /// Runs `cmd` in a new busybox container to completion: (exit code,
    /// stdout, stderr). The container is removed afterwards.
    pub fn run_cmd(&self, cmd: &[&str]) -> (i64, String, String) {
        self.run_with(&json!({"Image": "busybox", "Cmd": cmd}))
    }

    /// Like [`TestDaemon::run_cmd`] with a full create body.
    pub fn run_with(&self, body: &Value) -> (i64, String, String) {
        let id = self.create(None, body);
        self.start_container(&id);
        let code = self.wait(&id);
        let (out, err) = self.logs(&id);
        let r = self.delete(&format!("/containers/{id}?force=1"));
        assert_eq!(r.status, 204, "remove failed: {}", r.text());
        (code, out, err)
    }

    pub fn inspect(&self, id: &str) -> Value {
        let r = self.get(&format!("/containers/{id}/json"));
        assert_eq!(r.status, 200, "inspect failed: {}", r.text());
        r.json()
    }
}
