//! Berth's per-container shim: the `berth-shim` binary (one small,
//! single-threaded, detached process per container that runs the OCI
//! runtime, owns the container's stdio, log and exit status, and serves a
//! control socket), and this library with what both sides share — the
//! start command line ([`config`]), the control protocol ([`protocol`]),
//! the exit record ([`exit`]), the json-file log format ([`logfile`]) —
//! plus the daemon's async client ([`client`]).
//!
//! The binary uses only the synchronous parts; the linker drops the
//! client and tokio from it.

mod bytescan;
pub mod client;
pub mod config;
pub mod exit;
pub mod jsonstr;
pub mod logfile;
pub mod protocol;
pub mod timefmt;

pub use client::{
    AttachOptions, AttachStreams, ExecConfig, ExecSession, InputWriter, Output, OutputReader,
    ShimClient, ShimError, StartedShim, spawn,
};
pub use config::{ShimConfig, StartMode};
pub use exit::{ExitInfo, read_exit};
pub use logfile::LogConfig;
pub use protocol::StateReply;
