//! Container output streams: logs, and attach over an upgraded
//! connection.

use http::HeaderValue;
use http::header::CONTENT_TYPE;

use crate::api::containers::container_path;
use crate::client::{Client, Request, Response};
use crate::error::Result;
use crate::query::Query;
use crate::upgrade::{MULTIPLEXED_STREAM, Upgraded};

/// `GET /containers/{id}/logs` parameters. `since` and `until` are Unix
/// timestamps as the CLI computes them (`1700000000.000000000`).
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    pub since: Option<String>,
    pub until: Option<String>,
    pub timestamps: bool,
    /// A number of lines, or `all`.
    pub tail: Option<String>,
    pub details: bool,
}

/// `POST /containers/{id}/attach` parameters.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub stream: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Replay the log first.
    pub logs: bool,
    pub detach_keys: Option<String>,
}

/// True when a response carries Docker's 8-byte framed stdout/stderr.
pub fn is_multiplexed(resp: &Response) -> bool {
    resp.headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == MULTIPLEXED_STREAM.as_bytes())
}

impl Client {
    /// The log, streamed; framed unless the container has a TTY (see
    /// [`is_multiplexed`]).
    pub async fn container_logs(&self, id: &str, opts: &LogsOptions) -> Result<Response> {
        let mut query = Query::new()
            .flag("details", opts.details)
            .flag("follow", opts.follow)
            .opt("since", opts.since.as_deref())
            .flag("stderr", opts.stderr)
            .flag("stdout", opts.stdout);
        if let Some(tail) = &opts.tail {
            query.push("tail", tail.as_str());
        }
        let query = query
            .flag("timestamps", opts.timestamps)
            .opt("until", opts.until.as_deref());
        self.send(Request::get(container_path(id, "/logs")).query(query))
            .await
    }

    /// Attaches to the container's stdio over an upgraded connection.
    pub async fn container_attach(&self, id: &str, opts: &AttachOptions) -> Result<Upgraded> {
        let query = Query::new()
            .opt(
                "detachKeys",
                opts.detach_keys.as_deref().filter(|k| !k.is_empty()),
            )
            .flag("logs", opts.logs)
            .flag("stderr", opts.stderr)
            .flag("stdin", opts.stdin)
            .flag("stdout", opts.stdout)
            .flag("stream", opts.stream);
        // Docker sends this content type with the upgrade request.
        let req = Request::post(container_path(id, "/attach"))
            .query(query)
            .header(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        self.upgrade(req).await
    }
}
