//! The Engine API client: connections, API version negotiation, requests
//! with error decoding, and connection upgrades for attach and exec.

use std::sync::Arc;

use berth_api::version::{API_VERSION, ApiVersion};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::body::{Body, JsonStream, Recycle, ResponseBody};
use crate::error::{Error, Result, decode_error_body};
use crate::host::{DEFAULT_HOST, Host};
use crate::pool::{Pool, Sender};
use crate::query::Query;
use crate::tls::TlsOptions;
use crate::transport::Transport;
use crate::upgrade::Upgraded;

/// The version used when the daemon does not say which it speaks
/// (Docker's fallback).
pub const FALLBACK_API_VERSION: ApiVersion = ApiVersion::new(1, 24);

/// What `/_ping` told us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ping {
    pub api_version: Option<ApiVersion>,
    pub os_type: Option<String>,
    pub experimental: bool,
    pub builder_version: Option<String>,
    pub server: Option<String>,
}

/// One API request: method, path (without the `/vX.Y` prefix), query,
/// headers and body.
pub struct Request {
    method: Method,
    path: String,
    query: Query,
    headers: HeaderMap,
    body: Body,
    versioned: bool,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Query::new(),
            headers: HeaderMap::new(),
            body: Body::empty(),
            versioned: true,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    pub fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }

    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    pub fn head(path: impl Into<String>) -> Self {
        Self::new(Method::HEAD, path)
    }

    pub fn query(mut self, query: Query) -> Self {
        self.query = query;
        self
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// A JSON request body.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self> {
        Ok(self.body(Body::json(value)?))
    }

    /// Sends the path as is, without the `/vX.Y` prefix (`/_ping`).
    pub fn unversioned(mut self) -> Self {
        self.versioned = false;
        self
    }
}

/// A successful response (status below 400), its body not yet read.
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: ResponseBody,
}

impl Response {
    /// True when the body is JSON (a progress stream rather than raw text).
    pub fn is_json(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    }

    pub async fn json<T: DeserializeOwned>(self) -> Result<T> {
        self.body.json().await
    }

    pub async fn bytes(self) -> Result<bytes::Bytes> {
        self.body.bytes().await
    }

    pub fn json_stream<T: DeserializeOwned>(self) -> JsonStream<T> {
        self.body.json_stream()
    }

    pub fn into_body(self) -> ResponseBody {
        self.body
    }
}

/// Settings for a [`Client`].
#[derive(Debug, Clone, Default)]
pub struct ClientBuilder {
    host: Option<String>,
    tls: Option<TlsOptions>,
    api_version: Option<ApiVersion>,
    user_agent: Option<String>,
}

impl ClientBuilder {
    /// The daemon address (`unix:///run/berth.sock`, `tcp://h:2376`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Use TLS (TCP hosts only).
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Use this API version and skip negotiation.
    pub fn api_version(mut self, version: ApiVersion) -> Self {
        self.api_version = Some(version);
        self
    }

    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    pub fn build(self) -> Result<Client> {
        let host = Host::parse(
            self.host.as_deref().unwrap_or(DEFAULT_HOST),
            self.tls.is_some(),
        )?;
        let tls = match (&self.tls, &host) {
            (Some(opts), Host::Tcp { .. }) => Some(opts.client_config()?),
            _ => None,
        };
        let agent = self
            .user_agent
            .unwrap_or_else(|| format!("Berth-Client/{} (linux)", env!("CARGO_PKG_VERSION")));
        let user_agent = HeaderValue::from_str(&agent)
            .map_err(|_| Error::InvalidArgument(format!("invalid user agent {agent:?}")))?;
        let http_host = HeaderValue::from_str(&host.http_host())
            .map_err(|_| Error::InvalidHost(format!("invalid host {host}")))?;
        let version = OnceCell::new();
        if let Some(v) = self.api_version {
            let _ = version.set(v);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                base_path: host.base_path().to_string(),
                transport: Transport { host, tls },
                http_host,
                user_agent,
                version,
                pool: Arc::new(Pool::default()),
            }),
        })
    }
}

struct Inner {
    transport: Transport,
    base_path: String,
    http_host: HeaderValue,
    user_agent: HeaderValue,
    version: OnceCell<ApiVersion>,
    pool: Arc<Pool>,
}

/// A client for one daemon. Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client for `host` without TLS.
    pub fn new(host: &str) -> Result<Self> {
        Self::builder().host(host).build()
    }

    /// A client configured the way the docker CLI reads its environment:
    /// `BERTH_HOST` or `DOCKER_HOST`, `BERTH_API_VERSION` or
    /// `DOCKER_API_VERSION`, `DOCKER_TLS_VERIFY` with `DOCKER_CERT_PATH`.
    pub fn from_env() -> Result<Self> {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        let mut builder = Self::builder();
        if let Some(host) = var(&["BERTH_HOST", "DOCKER_HOST"]) {
            builder = builder.host(host);
        }
        if let Some(v) = var(&["BERTH_API_VERSION", "DOCKER_API_VERSION"]) {
            builder = builder.api_version(parse_api_version(&v)?);
        }
        if var(&["DOCKER_TLS_VERIFY"]).is_some() {
            let dir = var(&["DOCKER_CERT_PATH"])
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker"))
                })
                .unwrap_or_default();
            builder = builder.tls(TlsOptions {
                verify: true,
                ca_file: Some(dir.join("ca.pem")),
                cert_file: Some(dir.join("cert.pem")),
                key_file: Some(dir.join("key.pem")),
            });
        }
        builder.build()
    }

    pub fn host(&self) -> &Host {
        &self.inner.transport.host
    }

    /// The API version requests use, negotiated with `/_ping` on first use
    /// unless it was fixed.
    pub async fn api_version(&self) -> Result<ApiVersion> {
        self.inner
            .version
            .get_or_try_init(|| async {
                let ping = self.ping_raw().await?;
                Ok(negotiate(ping.api_version))
            })
            .await
            .copied()
    }

    /// The version if already known, without any request.
    pub fn api_version_if_known(&self) -> Option<ApiVersion> {
        self.inner.version.get().copied()
    }

    /// `GET /_ping`; also settles the API version when not yet known.
    pub async fn ping(&self) -> Result<Ping> {
        let ping = self.ping_raw().await?;
        let _ = self.inner.version.set(negotiate(ping.api_version));
        Ok(ping)
    }

    async fn ping_raw(&self) -> Result<Ping> {
        let uri = format!("{}/_ping", self.inner.base_path);
        let resp = self
            .dispatch(Method::GET, uri, HeaderMap::new(), Body::empty())
            .await?;
        let header = |name: &str| {
            resp.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let api_version = header("api-version").and_then(|v| v.parse().ok());
        if resp.status.as_u16() >= 400 && api_version.is_none() {
            let status = resp.status;
            let body = resp.body.bytes().await.unwrap_or_default();
            return Err(Error::Api {
                status,
                message: decode_error_body(status, &body),
            });
        }
        let ping = Ping {
            api_version,
            os_type: header("ostype"),
            experimental: header("docker-experimental").as_deref() == Some("true"),
            builder_version: header("builder-version"),
            server: header("server"),
        };
        // Read the small body so that the connection is reused.
        let _ = resp.body.bytes().await;
        Ok(ping)
    }

    /// Sends a request; a status of 400 or more becomes [`Error::Api`].
    pub async fn send(&self, req: Request) -> Result<Response> {
        let resp = self.send_unchecked(req).await?;
        if resp.status.as_u16() >= 400 {
            return Err(error_from(resp).await);
        }
        Ok(resp)
    }

    /// `GET` and decode JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, query: Query) -> Result<T> {
        self.send(Request::get(path).query(query))
            .await?
            .json()
            .await
    }

    /// `POST` an optional JSON body and decode the JSON answer.
    pub async fn post_json<B, T>(&self, path: &str, query: Query, body: Option<&B>) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let mut req = Request::post(path).query(query);
        if let Some(body) = body {
            req = req.json(body)?;
        }
        self.send(req).await?.json().await
    }

    /// `DELETE` and decode the JSON answer.
    pub async fn delete_json<T: DeserializeOwned>(&self, path: &str, query: Query) -> Result<T> {
        self.send(Request::delete(path).query(query))
            .await?
            .json()
            .await
    }

    /// Sends a request and drains the answer, for endpoints that answer
    /// with no useful body (`204`, `201`).
    pub async fn send_empty(&self, req: Request) -> Result<StatusCode> {
        let resp = self.send(req).await?;
        let status = resp.status;
        resp.body.bytes().await?;
        Ok(status)
    }

    /// Sends a request asking to take over the connection (`Upgrade: tcp`)
    /// and returns the raw bidirectional stream after `101`.
    pub async fn upgrade(&self, req: Request) -> Result<Upgraded> {
        let req = req
            .header(header::CONNECTION, HeaderValue::from_static("Upgrade"))
            .header(header::UPGRADE, HeaderValue::from_static("tcp"));
        let version = self.version_for(req.versioned).await?;
        let uri = self.uri_with(&req, version);
        let mut sender = self.connect().await?;
        let hreq = self.build_request(req.method, &uri, req.headers, req.body)?;
        let resp = sender
            .send_request(hreq)
            .await
            .map_err(|e| self.http_error(e))?;
        let status = resp.status();
        if status == StatusCode::SWITCHING_PROTOCOLS {
            let headers = resp.headers().clone();
            let io = hyper::upgrade::on(resp)
                .await
                .map_err(|e| self.http_error(e))?;
            return Ok(Upgraded::new(TokioIo::new(io), headers));
        }
        let (parts, body) = resp.into_parts();
        let resp = Response {
            status,
            headers: parts.headers,
            body: ResponseBody::new(body, None),
        };
        if status.as_u16() >= 400 {
            return Err(error_from(resp).await);
        }
        Err(Error::Protocol(format!(
            "the daemon did not upgrade the connection (status {status})"
        )))
    }

    /// Sends a request and returns the answer whatever its status.
    pub async fn send_unchecked(&self, req: Request) -> Result<Response> {
        let version = self.version_for(req.versioned).await?;
        let uri = self.uri_with(&req, version);
        self.dispatch(req.method, uri, req.headers, req.body).await
    }

    /// Sends on a pooled or new connection; knows nothing of versions.
    async fn dispatch(
        &self,
        method: Method,
        uri: String,
        headers: HeaderMap,
        body: Body,
    ) -> Result<Response> {
        let retry_body = body.try_clone();
        let (mut sender, reused) = match self.inner.pool.take() {
            Some(mut s) => match s.ready().await {
                Ok(()) => (s, true),
                Err(_) => (self.connect().await?, false),
            },
            None => (self.connect().await?, false),
        };
        let hreq = self.build_request(method.clone(), &uri, headers.clone(), body)?;
        let resp = match sender.send_request(hreq).await {
            Ok(resp) => resp,
            // A kept-alive connection the daemon closed meanwhile: retry
            // once on a new one when the body can be sent again.
            Err(e)
                if reused
                    && retry_body.is_some()
                    && (e.is_canceled() || e.is_closed() || e.is_incomplete_message()) =>
            {
                sender = self.connect().await?;
                let body = retry_body.unwrap_or_default();
                let hreq = self.build_request(method, &uri, headers, body)?;
                sender
                    .send_request(hreq)
                    .await
                    .map_err(|e| self.http_error(e))?
            }
            Err(e) => return Err(self.http_error(e)),
        };
        let (parts, body) = resp.into_parts();
        let recycle = Recycle {
            sender,
            pool: self.inner.pool.clone(),
        };
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body: ResponseBody::new(body, Some(recycle)),
        })
    }

    /// The version for the path prefix, settled before the request is
    /// looked at so that no borrow of it is held across an await (the
    /// futures stay `Send`).
    async fn version_for(&self, versioned: bool) -> Result<Option<ApiVersion>> {
        if versioned {
            Ok(Some(self.api_version().await?))
        } else {
            Ok(None)
        }
    }

    fn uri_with(&self, req: &Request, version: Option<ApiVersion>) -> String {
        let mut uri = self.inner.base_path.clone();
        if let Some(v) = version {
            uri.push_str(&format!("/v{v}"));
        }
        if !req.path.starts_with('/') {
            uri.push('/');
        }
        uri.push_str(&req.path);
        if !req.query.is_empty() {
            uri.push('?');
            uri.push_str(&req.query.encode());
        }
        uri
    }

    fn build_request(
        &self,
        method: Method,
        uri: &str,
        headers: HeaderMap,
        body: Body,
    ) -> Result<http::Request<crate::body::HyperBody>> {
        let mut builder = http::Request::builder().method(method).uri(uri);
        if let Some(h) = builder.headers_mut() {
            h.insert(header::HOST, self.inner.http_host.clone());
            h.insert(header::USER_AGENT, self.inner.user_agent.clone());
            if let Some(ct) = body.content_type() {
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            h.extend(headers);
        }
        builder
            .body(body.into_hyper())
            .map_err(|e| Error::InvalidArgument(format!("invalid request {uri}: {e}")))
    }

    async fn connect(&self) -> Result<Sender> {
        let conn = self.inner.transport.connect().await?;
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(conn))
            .await
            .map_err(|e| self.http_error(e))?;
        tokio::spawn(async move {
            let _ = connection.with_upgrades().await;
        });
        Ok(sender)
    }

    fn http_error(&self, source: hyper::Error) -> Error {
        Error::Http {
            host: self.inner.transport.host.to_string(),
            source,
        }
    }
}

/// Reads an error response into [`Error::Api`].
async fn error_from(resp: Response) -> Error {
    let status = resp.status;
    match resp.body.bytes().await {
        Ok(body) => Error::Api {
            status,
            message: decode_error_body(status, &body),
        },
        Err(e) => e,
    }
}

/// min(server, ours); Docker's fallback when the daemon does not say.
pub fn negotiate(server: Option<ApiVersion>) -> ApiVersion {
    match server {
        Some(v) => v.min(API_VERSION),
        None => FALLBACK_API_VERSION,
    }
}

/// Parses `1.47` (or `v1.47`) from `BERTH_API_VERSION` and the like.
pub fn parse_api_version(text: &str) -> Result<ApiVersion> {
    text.trim()
        .trim_start_matches('v')
        .parse()
        .map_err(Error::InvalidArgument)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_takes_the_lower_version() {
        assert_eq!(negotiate(Some(ApiVersion::new(1, 99))), API_VERSION);
        assert_eq!(
            negotiate(Some(ApiVersion::new(1, 41))),
            ApiVersion::new(1, 41)
        );
        assert_eq!(negotiate(None), FALLBACK_API_VERSION);
    }

    #[test]
    fn api_version_strings() {
        assert_eq!(parse_api_version("1.43").unwrap(), ApiVersion::new(1, 43));
        assert_eq!(parse_api_version("v1.43").unwrap(), ApiVersion::new(1, 43));
        assert!(parse_api_version("latest").is_err());
    }

    #[tokio::test]
    async fn fixed_version_needs_no_ping() {
        let client = Client::builder()
            .host("unix:///nonexistent/berth.sock")
            .api_version(ApiVersion::new(1, 40))
            .build()
            .unwrap();
        assert_eq!(client.api_version().await.unwrap(), ApiVersion::new(1, 40));
        let err = client
            .get_json::<serde_json::Value>("/info", Query::new())
            .await;
        let err = err.err().unwrap();
        assert!(err.is_connection_failure());
        assert_eq!(
            err.to_string(),
            "Cannot connect to the Berth daemon at unix:///nonexistent/berth.sock. Is berthd running?"
        );
    }
}
