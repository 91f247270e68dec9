//! The containers area's backend: lifecycle, inspection, logs, attach,
//! archive (`docker cp`).

use std::future::Future;
use std::pin::Pin;

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::types::archive::ContainerPathStat;
use berth_api::types::container::{
    ContainerCreateBody, ContainerCreateResponse, ContainerInspect, ContainerSummary,
    ContainersPruneResponse, FilesystemChange, TopResponse, UpdateConfig, UpdateResponse,
    WaitResponse,
};
use berth_api::version::ApiVersion;

use super::{BodyReader, ByteStream};

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

/// `PUT /containers/{id}/archive` parameters.
#[derive(Debug, Clone, Default)]
pub struct ExtractToDirOptions {
    /// The directory to extract into (it must exist).
    pub path: String,
    /// Refuse to replace a directory with a non-directory and the reverse
    /// (`noOverwriteDirNonDir`).
    pub no_overwrite_dir_non_dir: bool,
    /// `copyUIDGID` (`docker cp -a`).
    pub copy_uid_gid: bool,
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
    fn kill(
        &self,
        id: &str,
        signal: Option<String>,
    ) -> impl Future<Output = Result<(), Error>> + Send;
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
    ) -> impl Future<Output = Result<Pin<Box<dyn Future<Output = WaitResponse> + Send>>, Error>> + Send;
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
    fn changes(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<FilesystemChange>, Error>> + Send;
    fn export(&self, id: &str) -> impl Future<Output = Result<ByteStream, Error>> + Send;
    /// `HEAD /containers/{id}/archive`: what is at `path` in the container.
    fn stat_path(
        &self,
        id: &str,
        path: &str,
    ) -> impl Future<Output = Result<ContainerPathStat, Error>> + Send;
    /// `GET /containers/{id}/archive`: what is at `path`, and a tar of it.
    fn archive_path(
        &self,
        id: &str,
        path: &str,
    ) -> impl Future<Output = Result<(ContainerPathStat, ByteStream), Error>> + Send;
    /// `PUT /containers/{id}/archive`: extracts the tar `body` into the
    /// directory `opts.path`.
    fn extract_to_dir(
        &self,
        id: &str,
        opts: ExtractToDirOptions,
        body: BodyReader,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn top(
        &self,
        id: &str,
        ps_args: &str,
    ) -> impl Future<Output = Result<TopResponse, Error>> + Send;
    fn attach(
        &self,
        id: &str,
        opts: AttachOptions,
    ) -> impl Future<Output = Result<Box<dyn AttachSession>, Error>> + Send;
    fn resize(
        &self,
        id: &str,
        height: u32,
        width: u32,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// `GET /containers/{id}/stats`: JSON samples, one per line (one only
    /// unless `stream`); `one_shot` answers without waiting for a second
    /// sample to fill `precpu_stats`.
    fn stats(
        &self,
        id: &str,
        stream: bool,
        one_shot: bool,
    ) -> impl Future<Output = Result<ByteStream, Error>> + Send;
}
