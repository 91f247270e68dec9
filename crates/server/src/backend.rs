//! The backend traits the routers call. The daemon implements them; tests
//! can implement them with fakes. Each API area has its own small trait.

use std::future::Future;
use std::io;
use std::pin::Pin;

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::progress::ProgressMessage;
use berth_api::types::container::{
    ContainerCreateBody, ContainerCreateResponse, ContainerInspect, ContainerSummary,
    ContainersPruneResponse, FilesystemChange, TopResponse, UpdateConfig, UpdateResponse,
    WaitResponse,
};
use berth_api::types::event::EventMessage;
use berth_api::types::image::{
    HistoryItem, ImageDeleteItem, ImageInspect, ImageSummary, ImagesPruneResponse,
};
use berth_api::types::system::{SystemDf, SystemInfo, SystemVersion};
use berth_api::version::ApiVersion;
use bytes::Bytes;
use futures_util::Stream;
use tokio::io::AsyncRead;

/// A request body, readable as a byte stream.
pub type BodyReader = Pin<Box<dyn AsyncRead + Send>>;
/// A streamed response body.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;
/// A stream of events.
pub type EventStream = Pin<Box<dyn Stream<Item = EventMessage> + Send>>;

/// One item of a progress stream: a message, or the error that ended it.
#[derive(Debug)]
pub enum Progress {
    Message(ProgressMessage),
    Failed(Error),
}

/// The receiving end of a progress stream. If the first item is `Failed`,
/// the server answers with that error's HTTP status instead of a stream.
pub type ProgressStream = tokio::sync::mpsc::Receiver<Progress>;

/// `GET /events` parameters (times are Unix seconds with fractions).
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub since: Option<f64>,
    pub until: Option<f64>,
    pub filters: Filters,
}

/// `/_ping`, `/version`, `/info`, `/system/df`, `/events`.
pub trait SystemBackend: Send + Sync + 'static {
    fn version(&self) -> impl Future<Output = Result<SystemVersion, Error>> + Send;
    fn info(&self) -> impl Future<Output = Result<SystemInfo, Error>> + Send;
    fn df(&self, version: ApiVersion) -> impl Future<Output = Result<SystemDf, Error>> + Send;
    fn events(&self, query: EventQuery) -> impl Future<Output = Result<EventStream, Error>> + Send;
}

#[derive(Debug, Clone, Default)]
pub struct ImageListOptions {
    pub all: bool,
    pub filters: Filters,
    pub digests: bool,
    pub shared_size: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `fromSrc`: `-` for the request body; a URL is refused (no network).
    pub source: String,
    pub repo: String,
    pub tag: String,
    pub message: String,
    pub changes: Vec<String>,
    pub platform: String,
}

/// The images area.
pub trait ImageBackend: Send + Sync + 'static {
    fn list(
        &self,
        opts: ImageListOptions,
        version: ApiVersion,
    ) -> impl Future<Output = Result<Vec<ImageSummary>, Error>> + Send;
    fn inspect(
        &self,
        name: &str,
        version: ApiVersion,
    ) -> impl Future<Output = Result<ImageInspect, Error>> + Send;
    fn history(&self, name: &str) -> impl Future<Output = Result<Vec<HistoryItem>, Error>> + Send;
    fn tag(
        &self,
        name: &str,
        repo: &str,
        tag: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn delete(
        &self,
        name: &str,
        force: bool,
        noprune: bool,
    ) -> impl Future<Output = Result<Vec<ImageDeleteItem>, Error>> + Send;
    fn prune(
        &self,
        filters: Filters,
    ) -> impl Future<Output = Result<ImagesPruneResponse, Error>> + Send;
    fn import(
        &self,
        body: BodyReader,
        opts: ImportOptions,
    ) -> impl Future<Output = Result<ProgressStream, Error>> + Send;
    fn load(
        &self,
        body: BodyReader,
        quiet: bool,
    ) -> impl Future<Output = Result<ProgressStream, Error>> + Send;
    /// Checks every name first (an unknown one is a 404 before anything is
    /// streamed), then streams the archive.
    fn save(&self, names: Vec<String>) -> impl Future<Output = Result<ByteStream, Error>> + Send;
}

#[derive(Debug, Clone, Default)]
pub struct ContainerListOptions {
    pub all: bool,
    pub limit: Option<usize>,
    pub size: bool,
    pub filters: Filters,
}

#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    /// Unix seconds (fractional); entries at or after it.
    pub since: Option<f64>,
    /// Unix seconds (fractional); entries before it.
    pub until: Option<f64>,
    /// The last N entries only; `None` for all.
    pub tail: Option<u64>,
    pub timestamps: bool,
}

/// `condition` of `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub stream: bool,
    pub logs: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub detach_keys: Option<String>,
}

/// A bidirectional byte stream (an upgraded HTTP connection).
pub trait Duplex: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Duplex for T {}

/// An attach that was accepted: the server answers 101 and hands it the
/// upgraded connection.
pub trait AttachSession: Send {
    /// Whether the container has a TTY (raw stream, no multiplexing).
    fn tty(&self) -> bool;
    /// Serves the stream until it ends.
    fn run(self: Box<Self>, io: Box<dyn Duplex>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Container lifecycle and inspection.
pub trait ContainerBackend: Send + Sync + 'static {
    fn create(
        &self,
        name: Option<String>,
        body: ContainerCreateBody,
        version: ApiVersion,
    ) -> impl Future<Output = Result<ContainerCreateResponse, Error>> + Send;
    /// `Ok(false)` when the container was already running (304).
    fn start(&self, id: &str) -> impl Future<Output = Result<bool, Error>> + Send;
    /// `Ok(false)` when the container was not running (304).
    fn stop(
        &self,
        id: &str,
        signal: Option<String>,
        timeout: Option<i64>,
    ) -> impl Future<Output = Result<bool, Error>> + Send;
    fn kill(&self, id: &str, signal: Option<String>) -> impl Future<Output = Result<(), Error>> + Send;
    fn restart(
        &self,
        id: &str,
        signal: Option<String>,
        timeout: Option<i64>,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// Registers the waiter before returning; the future resolves with
    /// the result.
    fn wait(
        &self,
        id: &str,
        condition: WaitCondition,
    ) -> impl Future<
        Output = Result<Pin<Box<dyn Future<Output = WaitResponse> + Send>>, Error>,
    > + Send;
    fn remove(
        &self,
        id: &str,
        force: bool,
        volumes: bool,
        link: bool,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn list(
        &self,
        opts: ContainerListOptions,
    ) -> impl Future<Output = Result<Vec<ContainerSummary>, Error>> + Send;
    fn inspect(
        &self,
        id: &str,
        size: bool,
    ) -> impl Future<Output = Result<ContainerInspect, Error>> + Send;
    /// The log stream and whether the container has a TTY (raw stream).
    fn logs(
        &self,
        id: &str,
        opts: LogsOptions,
    ) -> impl Future<Output = Result<(ByteStream, bool), Error>> + Send;
    fn rename(&self, id: &str, name: &str) -> impl Future<Output = Result<(), Error>> + Send;
    fn pause(&self, id: &str) -> impl Future<Output = Result<(), Error>> + Send;
    fn unpause(&self, id: &str) -> impl Future<Output = Result<(), Error>> + Send;
    fn update(
        &self,
        id: &str,
        update: UpdateConfig,
    ) -> impl Future<Output = Result<UpdateResponse, Error>> + Send;
    fn prune(
        &self,
        filters: Filters,
    ) -> impl Future<Output = Result<ContainersPruneResponse, Error>> + Send;
    fn changes(&self, id: &str) -> impl Future<Output = Result<Vec<FilesystemChange>, Error>> + Send;
    fn export(&self, id: &str) -> impl Future<Output = Result<ByteStream, Error>> + Send;
    fn top(&self, id: &str, ps_args: &str) -> impl Future<Output = Result<TopResponse, Error>> + Send;
    fn attach(
        &self,
        id: &str,
        opts: AttachOptions,
    ) -> impl Future<Output = Result<Box<dyn AttachSession>, Error>> + Send;
    fn resize(&self, id: &str, height: u32, width: u32) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Every backend the server needs. Routers are generic over this trait so
/// that tests can wire fakes; the daemon wires its services.
pub trait Backend: Send + Sync + 'static {
    type System: SystemBackend;
    type Images: ImageBackend;
    type Containers: ContainerBackend;

    fn system(&self) -> &Self::System;
    fn images(&self) -> &Self::Images;
    fn containers(&self) -> &Self::Containers;
}
