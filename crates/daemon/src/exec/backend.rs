//! The exec service as the server's `ExecBackend`.

use std::sync::Arc;

use berth_api::Error;
use berth_api::types::exec::{ExecCreateBody, ExecInspect, ExecStartBody};
use berth_server::backend::{ExecBackend, ExecStarted};

use super::ExecService;
use crate::blocking;

#[derive(Clone)]
pub struct ExecApi(pub Arc<ExecService>);

impl ExecBackend for ExecApi {
    async fn create(&self, container: &str, body: ExecCreateBody) -> Result<String, Error> {
        let svc = self.0.clone();
        let container = container.to_string();
        blocking::run(move || svc.create(&container, body)).await
    }

    async fn start(&self, id: &str, body: ExecStartBody) -> Result<ExecStarted, Error> {
        self.0.start(id, body).await
    }

    async fn resize(&self, id: &str, height: u32, width: u32) -> Result<(), Error> {
        self.0.resize(id, height, width).await
    }

    async fn inspect(&self, id: &str) -> Result<ExecInspect, Error> {
        self.0.inspect(id)
    }
}
