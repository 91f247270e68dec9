//! The backend traits the routers call. The daemon implements them; tests
//! can implement them with fakes. Each API area has its own small trait.

use std::future::Future;
use std::io;
use std::pin::Pin;

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::progress::ProgressMessage;
use berth_api::types::event::EventMessage;
use berth_api::types::image::{
    HistoryItem, ImageDeleteItem, ImageInspect, ImageSummary, ImagesPruneResponse,
};
use berth_api::types::system::{SystemDf, SystemInfo, SystemVersion};
use berth_api::version::ApiVersion;
use bytes::Bytes;
use futures_util::Stream;
use tokio::io::AsyncRead;

mod containers;
mod exec;
mod networks;

pub use containers::*;
pub use exec::*;
pub use networks::*;

/// A request body, readable as a byte stream.
pub type BodyReader = Pin<Box<dyn AsyncRead + Send>>;
/// A streamed response body.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;
/// A stream of events.
pub type EventStream = Pin<Box<dyn Stream<Item = EventMessage> + Send>>;

/// One item of a progress stream: a message, or the error that ended it.
#[derive(Debug)]
pub enum Progress {
    Message(Box<ProgressMessage>),
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

/// Every backend the server needs. Routers are generic over this trait so
/// that tests can wire fakes; the daemon wires its services.
pub trait Backend: Send + Sync + 'static {
    type System: SystemBackend;
    type Images: ImageBackend;
    type Containers: ContainerBackend;
    type Exec: ExecBackend;
    type Networks: NetworkBackend;

    fn system(&self) -> &Self::System;
    fn images(&self) -> &Self::Images;
    fn containers(&self) -> &Self::Containers;
    fn exec(&self) -> &Self::Exec;
    fn networks(&self) -> &Self::Networks;
}
