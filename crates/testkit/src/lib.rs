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
