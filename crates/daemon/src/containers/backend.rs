//! The container service as the server's `ContainerBackend`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::types::archive::ContainerPathStat;
use berth_api::types::container::{
    ContainerCreateBody, ContainerCreateResponse, ContainerInspect, ContainerSummary,
    ContainersPruneResponse, FilesystemChange, TopResponse, UpdateConfig, UpdateResponse,
    WaitResponse,
};
use berth_api::version::ApiVersion;
use berth_server::backend::{
    AttachOptions, AttachSession, BodyReader, ByteStream, ContainerBackend, ContainerListOptions,
    ExtractToDirOptions, LogsOptions, WaitCondition,
};

use super::ContainerService;
use crate::blocking;

#[derive(Clone)]
pub struct ContainerApi(pub Arc<ContainerService>);

impl ContainerBackend for ContainerApi {
    async fn create(
        &self,
        name: Option<String>,
        body: ContainerCreateBody,
        _version: ApiVersion,
    ) -> Result<ContainerCreateResponse, Error> {
        let svc = self.0.clone();
        blocking::run(move || svc.create(name, body)).await
    }

    async fn start(&self, id: &str) -> Result<bool, Error> {
        self.0.start(id).await
    }

    async fn stop(
        &self,
        id: &str,
        signal: Option<String>,
        timeout: Option<i64>,
    ) -> Result<bool, Error> {
        self.0.stop(id, signal, timeout).await
    }

    async fn kill(&self, id: &str, signal: Option<String>) -> Result<(), Error> {
        self.0.kill(id, signal).await
    }

    async fn restart(
        &self,
        id: &str,
        signal: Option<String>,
        timeout: Option<i64>,
    ) -> Result<(), Error> {
        self.0.restart(id, signal, timeout).await
    }

    async fn wait(
        &self,
        id: &str,
        condition: WaitCondition,
    ) -> Result<Pin<Box<dyn Future<Output = WaitResponse> + Send>>, Error> {
        self.0.wait(id, condition)
    }

    async fn remove(&self, id: &str, force: bool, volumes: bool, link: bool) -> Result<(), Error> {
        self.0.remove(id, force, volumes, link).await
    }

    async fn list(&self, opts: ContainerListOptions) -> Result<Vec<ContainerSummary>, Error> {
        let svc = self.0.clone();
        blocking::run(move || svc.list(&opts)).await
    }

    async fn inspect(&self, id: &str, size: bool) -> Result<ContainerInspect, Error> {
        let svc = self.0.clone();
        let id = id.to_string();
        blocking::run(move || svc.inspect(&id, size)).await
    }

    async fn logs(&self, id: &str, opts: LogsOptions) -> Result<(ByteStream, bool), Error> {
        self.0.logs(id, opts).await
    }

    async fn rename(&self, id: &str, name: &str) -> Result<(), Error> {
        let svc = self.0.clone();
        let (id, name) = (id.to_string(), name.to_string());
        blocking::run(move || svc.rename(&id, &name)).await
    }

    async fn pause(&self, id: &str) -> Result<(), Error> {
        self.0.pause(id).await
    }

    async fn unpause(&self, id: &str) -> Result<(), Error> {
        self.0.unpause(id).await
    }

    async fn update(&self, id: &str, update: UpdateConfig) -> Result<UpdateResponse, Error> {
        self.0.update(id, update).await
    }

    async fn prune(&self, filters: Filters) -> Result<ContainersPruneResponse, Error> {
        self.0.prune(&filters).await
    }

    async fn changes(&self, id: &str) -> Result<Vec<FilesystemChange>, Error> {
        let svc = self.0.clone();
        let id = id.to_string();
        blocking::run(move || svc.changes(&id)).await
    }

    async fn export(&self, id: &str) -> Result<ByteStream, Error> {
        self.0.export(id).await
    }

    async fn stat_path(&self, id: &str, path: &str) -> Result<ContainerPathStat, Error> {
        self.0.stat_path(id, path).await
    }

    async fn archive_path(
        &self,
        id: &str,
        path: &str,
    ) -> Result<(ContainerPathStat, ByteStream), Error> {
        self.0.archive_path(id, path).await
    }

    async fn extract_to_dir(
        &self,
        id: &str,
        opts: ExtractToDirOptions,
        body: BodyReader,
    ) -> Result<(), Error> {
        self.0.extract_to_dir(id, opts, body).await
    }

    async fn top(&self, id: &str, ps_args: &str) -> Result<TopResponse, Error> {
        self.0.top(id, ps_args).await
    }

    async fn attach(&self, id: &str, opts: AttachOptions) -> Result<Box<dyn AttachSession>, Error> {
        self.0.attach(id, opts)
    }

    async fn resize(&self, id: &str, height: u32, width: u32) -> Result<(), Error> {
        self.0.resize(id, height, width).await
    }

    async fn stats(&self, id: &str, stream: bool, one_shot: bool) -> Result<ByteStream, Error> {
        self.0.stats(id, stream, one_shot).await
    }
}
