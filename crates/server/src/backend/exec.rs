//! The exec area's backend: create an exec instance in a running
//! container, start it (attached over an upgraded connection, or
//! detached), resize its TTY and inspect it.

use std::future::Future;

use berth_api::Error;
use berth_api::types::exec::{ExecCreateBody, ExecInspect, ExecStartBody};

use super::AttachSession;

/// What a successful `POST /exec/{id}/start` hands the router.
pub enum ExecStarted {
    /// `Detach: true`: the process runs; the answer is an empty 200.
    Detached,
    /// The stream to serve on the (upgraded) connection. Its `tty()` says
    /// whether the stream is raw or multiplexed.
    Attached(Box<dyn AttachSession>),
}

/// Exec instances.
pub trait ExecBackend: Send + Sync + 'static {
    /// Registers an exec in container `container`; returns its ID.
    fn create(
        &self,
        container: &str,
        body: ExecCreateBody,
    ) -> impl Future<Output = Result<String, Error>> + Send;
    /// Refuses (404, 409) before anything is streamed; a detached start
    /// returns once the process runs.
    fn start(
        &self,
        id: &str,
        body: ExecStartBody,
    ) -> impl Future<Output = Result<ExecStarted, Error>> + Send;
    fn resize(
        &self,
        id: &str,
        height: u32,
        width: u32,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn inspect(&self, id: &str) -> impl Future<Output = Result<ExecInspect, Error>> + Send;
}
