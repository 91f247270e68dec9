//! Integration-test harness: starts a real `berthd` on a temporary data
//! root and socket, talks to it over raw HTTP or through the `berth` and
//! `docker` CLIs, builds test images from Debian's `busybox-static`, and
//! cleans up everything it created, also when a test fails.

pub mod busybox;
pub mod containers;
pub mod daemon;
pub mod http;
pub mod netslot;
pub mod tarbuild;
pub mod upgrade;

pub use daemon::TestDaemon;
pub use http::Response;

/// Polls `cond` every 20 ms until it holds or `timeout` passes; returns
/// its last answer. For what the kernel or a winding-down process finishes
/// shortly after the daemon answered (namespace teardown, a shim's exit).
pub fn eventually(timeout: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
