//! The client against a tiny fake daemon on a temporary unix socket:
//! version negotiation, error decoding, streaming both ways, connection
//! reuse and the connection upgrade.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use berth_api::progress::ProgressMessage;
use berth_api::version::{API_VERSION, ApiVersion};
use berth_client::{Body, Client, ImportOptions, ImportSource, Query, Request};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

type Resp = Response<BoxBody<Bytes, Infallible>>;

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    pings: AtomicUsize,
}

struct Fake {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    stats: Arc<Stats>,
}

impl Fake {
    fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn client(&self) -> Client {
        Client::new(&self.host()).unwrap()
    }
}

/// Starts the fake daemon announcing `version` in `/_ping`.
fn start(version: &'static str) -> Fake {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("berth.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let stats = Arc::new(Stats::default());
    let st = stats.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            st.connections.fetch_add(1, Ordering::SeqCst);
            let st = st.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| handle(req, version, st.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    Fake {
        _dir: dir,
        socket,
        stats,
    }
}

fn full(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(body.into()).boxed())
        .unwrap()
}

async fn handle(
    mut req: hyper::Request<Incoming>,
    version: &'static str,
    stats: Arc<Stats>,
) -> Result<Resp, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    if path == "/_ping" {
        stats.pings.fetch_add(1, Ordering::SeqCst);
        let resp = Response::builder()
            .header("API-Version", version)
            .header("OSType", "linux")
            .header("Docker-Experimental", "false")
            .header("Server", "Fake/1.0")
            .body(Full::new(Bytes::from_static(b"OK")).boxed())
            .unwrap();
        return Ok(resp);
    }
    // Everything else must carry the negotiated prefix.
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok(full(StatusCode::BAD_REQUEST, r#"{"message":"no version"}"#));
    };
    let (ver, route) = rest.split_once('/').unwrap();
    let route = format!("/{route}");
    let resp = match (req.method().as_str(), route.as_str()) {
        ("GET", "/version") => {
            let agent = req.headers()["user-agent"].to_str().unwrap().to_string();
            let host = req.headers()["host"].to_str().unwrap().to_string();
            full(
                StatusCode::OK,
                serde_json::json!({"Version": "fake", "ApiVersion": ver, "Agent": agent, "Host": host})
                    .to_string(),
            )
        }
        ("GET", "/images/nosuch/json") => full(
            StatusCode::NOT_FOUND,
            r#"{"message":"No such image: nosuch:latest"}"#,
        ),
        ("GET", "/plain-error") => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Full::new(Bytes::from_static(b"boom\n")).boxed())
            .unwrap(),
        ("POST", "/images/load") => {
            // Progress split at awkward places, several values per chunk.
            let chunks: Vec<Result<Frame<Bytes>, Infallible>> = vec![
                Ok(Frame::data(Bytes::from_static(b"{\"status\":\"Load"))),
                Ok(Frame::data(Bytes::from_static(
                    b"ing layer\",\"id\":\"abc\"}\n{\"stream\":\"Loaded image: a:b\\n\"}",
                ))),
                Ok(Frame::data(Bytes::from_static(
                    b"\n{\"errorDetail\":{\"message\":\"bad\"},\"error\":\"bad\"}\n",
                ))),
            ];
            let body = StreamBody::new(futures_util::stream::iter(chunks));
            Response::builder()
                .header("Content-Type", "application/json")
                .body(BodyExt::boxed(body))
                .unwrap()
        }
        ("POST", "/images/create") => {
            let mut total = 0usize;
            let body = req.body_mut();
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.unwrap().into_data() {
                    total += data.len();
                }
            }
            let msg = ProgressMessage::status(format!("{total} bytes; {query}"));
            full(StatusCode::OK, msg.to_line())
        }
        ("GET", "/images/get") => {
            let chunks = (0..64).map(|i| Ok(Frame::data(Bytes::from(vec![i as u8; 16 * 1024]))));
            let body = StreamBody::new(futures_util::stream::iter(chunks.collect::<Vec<_>>()));
            Response::builder()
                .header("Content-Type", "application/x-tar")
                .body(BodyExt::boxed(body))
                .unwrap()
        }
        ("POST", "/containers/x/attach") => {
            let upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let Ok(io) = upgrade.await else { return };
                let mut io = TokioIo::new(io);
                let mut buf = Vec::new();
                // Echo everything until the client half-closes.
                let _ = io.read_to_end(&mut buf).await;
                let _ = io.write_all(b"echo:").await;
                let _ = io.write_all(&buf).await;
                let _ = io.shutdown().await;
            });
            Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header("Connection", "Upgrade")
                .header("Upgrade", "tcp")
                .header("Content-Type", "application/vnd.docker.raw-stream")
                .body(Full::new(Bytes::new()).boxed())
                .unwrap()
        }
        ("HEAD", "/containers/x/archive") | ("GET", "/containers/x/archive") => {
            let stat = r#"{"name":"etc","size":4096,"mode":2147484141,"mtime":"2024-01-01T00:00:00Z","linkTarget":""}"#;
            Response::builder()
                .header("Content-Type", "application/x-tar")
                .header("X-Docker-Container-Path-Stat", base64(stat.as_bytes()))
                .body(Full::new(Bytes::from_static(b"tar bytes")).boxed())
                .unwrap()
        }
        ("PUT", "/containers/x/archive") => {
            let body = req.body_mut().collect().await.unwrap().to_bytes();
            let ok = query == "path=%2Ftmp&noOverwriteDirNonDir=true&copyUIDGID=true"
                && &body[..] == b"tar bytes"
                && req.headers()["content-type"] == "application/x-tar";
            full(
                if ok {
                    StatusCode::OK
                } else {
                    StatusCode::BAD_REQUEST
                },
                format!(r#"{{"message":"unexpected {query}"}}"#),
            )
        }
        ("POST", "/containers/x/wait") => {
            let chunks = futures_util::stream::once(async {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"{\"StatusCode\":3}")))
            });
            Response::builder()
                .header("Content-Type", "application/json")
                .body(BodyExt::boxed(StreamBody::new(chunks)))
                .unwrap()
        }
        ("GET", "/containers/x/stats") | ("GET", "/events") => full(
            StatusCode::OK,
            format!("{{\"query\":\"{query}\",\"n\":1}}\n{{\"query\":\"{query}\",\"n\":2}}\n"),
        ),
        ("GET", "/containers/x/logs") => {
            let mut body =
                berth_client::stdcopy::frame(berth_client::stdcopy::StdStream::Stdout, b"out\n");
            body.extend(berth_client::stdcopy::frame(
                berth_client::stdcopy::StdStream::Stderr,
                b"err\n",
            ));
            Response::builder()
                .header("Content-Type", "application/vnd.docker.multiplexed-stream")
                .body(Full::new(Bytes::from(body)).boxed())
                .unwrap()
        }
        ("POST", "/containers/y/attach") => full(
            StatusCode::CONFLICT,
            r#"{"message":"container y is not running"}"#,
        ),
        _ => full(StatusCode::NOT_FOUND, r#"{"message":"page not found"}"#),
    };
    Ok(resp)
}

/// Go's `base64.StdEncoding`.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn negotiates_down_to_the_daemon_version() {
    let fake = start("1.41");
    let client = fake.client();
    let v: serde_json::Value = client.version_as().await.unwrap();
    assert_eq!(v["ApiVersion"], "1.41");
    assert_eq!(v["Host"], "api.moby.localhost");
    assert!(v["Agent"].as_str().unwrap().starts_with("Berth-Client/"));
    assert_eq!(client.api_version().await.unwrap(), ApiVersion::new(1, 41));
    // One ping for the whole client, one connection for every request.
    let _: serde_json::Value = client.version_as().await.unwrap();
    assert_eq!(fake.stats.pings.load(Ordering::SeqCst), 1);
    assert_eq!(fake.stats.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn caps_a_newer_daemon_at_our_version() {
    let fake = start("1.99");
    let client = fake.client();
    let ping = client.ping().await.unwrap();
    assert_eq!(ping.api_version, Some(ApiVersion::new(1, 99)));
    assert_eq!(ping.os_type.as_deref(), Some("linux"));
    assert_eq!(ping.server.as_deref(), Some("Fake/1.0"));
    assert_eq!(client.api_version().await.unwrap(), API_VERSION);
}

#[tokio::test]
async fn fixed_version_skips_the_ping() {
    let fake = start("1.41");
    let client = Client::builder()
        .host(fake.host())
        .api_version(ApiVersion::new(1, 30))
        .build()
        .unwrap();
    let v: serde_json::Value = client.version_as().await.unwrap();
    assert_eq!(v["ApiVersion"], "1.30");
    assert_eq!(fake.stats.pings.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn decodes_error_responses() {
    let fake = start("1.47");
    let client = fake.client();
    let err = client.image_inspect_raw("nosuch").await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        "Error response from daemon: No such image: nosuch:latest"
    );
    let err = client
        .get_json::<serde_json::Value>("/plain-error", Query::new())
        .await
        .unwrap_err();
    assert_eq!(err.message(), "boom");
    // The connection survives error responses.
    let _: serde_json::Value = client.version_as().await.unwrap();
    assert_eq!(fake.stats.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn streams_json_messages() {
    let fake = start("1.47");
    let client = fake.client();
    let resp = client.image_load(Body::bytes("tar"), true).await.unwrap();
    assert!(resp.is_json());
    let mut stream = resp.json_stream::<ProgressMessage>();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.status.as_deref(), Some("Loading layer"));
    assert_eq!(first.id.as_deref(), Some("abc"));
    let second = stream.next().await.unwrap().unwrap();
    assert_eq!(second.stream.as_deref(), Some("Loaded image: a:b\n"));
    let third = stream.next().await.unwrap().unwrap();
    assert_eq!(third.error.as_deref(), Some("bad"));
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn streams_request_bodies_from_a_reader() {
    let fake = start("1.47");
    let client = fake.client();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rootfs.tar");
    std::fs::write(&file, vec![7u8; 3 * 1024 * 1024 + 5]).unwrap();
    let reader = tokio::fs::File::open(&file).await.unwrap();
    let opts = ImportOptions {
        message: Some("hi there".into()),
        changes: vec!["CMD [\"sh\"]".into(), "ENV A=b".into()],
        platform: None,
    };
    let resp = client
        .image_import(
            ImportSource::Body(Body::reader(reader)),
            Some("me/app:1"),
            &opts,
        )
        .await
        .unwrap();
    let mut stream = resp.json_stream::<ProgressMessage>();
    let msg = stream.next().await.unwrap().unwrap();
    assert_eq!(
        msg.status.unwrap(),
        "3145733 bytes; fromSrc=-&repo=me%2Fapp%3A1&message=hi+there&changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3Db"
    );
    let err = client
        .image_import(ImportSource::Url("http://x/y".into()), Some("Bad"), &opts)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("must be lowercase"), "{err}");
}

#[tokio::test]
async fn streams_response_bodies() {
    let fake = start("1.47");
    let client = fake.client();
    let mut body = client.image_save(&["a".into(), "b".into()]).await.unwrap();
    let mut total = 0;
    while let Some(chunk) = body.chunk().await {
        total += chunk.unwrap().len();
    }
    assert_eq!(total, 64 * 16 * 1024);
    // As an AsyncRead too.
    let body = client.image_save(&["a".into()]).await.unwrap();
    let mut reader = body.into_reader();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    assert_eq!(out.len(), 64 * 16 * 1024);
    assert_eq!(out[16 * 1024], 1);
    // Both bodies were read to the end: their connection was reused.
    let _: serde_json::Value = client.version_as().await.unwrap();
    assert_eq!(fake.stats.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn upgrades_the_connection() {
    let fake = start("1.47");
    let client = fake.client();
    let req = Request::post("/containers/x/attach").query(Query::new().flag("stream", true));
    let mut io = client.upgrade(req).await.unwrap();
    assert!(!io.is_multiplexed());
    io.write_all(b"hello").await.unwrap();
    io.shutdown().await.unwrap();
    let mut out = Vec::new();
    io.read_to_end(&mut out).await.unwrap();
    assert_eq!(out, b"echo:hello");

    let err = client
        .upgrade(Request::post("/containers/y/attach"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.status(), Some(StatusCode::CONFLICT));
    assert_eq!(err.message(), "container y is not running");
}

#[tokio::test]
async fn concurrent_requests_open_more_connections() {
    let fake = start("1.47");
    let client = fake.client();
    client.ping().await.unwrap();
    let futs = (0..4).map(|_| {
        let c = client.clone();
        async move { c.version_as::<serde_json::Value>().await }
    });
    let results = futures_util::stream::iter(futs)
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    assert!(results.iter().all(|r| r.is_ok()));
}

#[tokio::test]
async fn connection_refused_is_clear() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("gone.sock");
    // A socket file nobody listens on: ECONNREFUSED rather than ENOENT.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let client = Client::new(&format!("unix://{}", socket.display())).unwrap();
    let err = client.ping().await.unwrap_err();
    assert!(err.is_connection_failure());
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot connect to the Berth daemon at unix://{}. Is berthd running?",
            socket.display()
        )
    );
}

#[tokio::test]
async fn archives_carry_the_path_stat() {
    let fake = start("1.47");
    let client = fake.client();
    let stat = client.container_stat_path("x", "/etc").await.unwrap();
    assert_eq!(stat.name, "etc");
    assert!(stat.is_dir());
    let (body, stat) = client.copy_from_container("x", "/etc").await.unwrap();
    assert_eq!(stat.size, 4096);
    assert_eq!(&body.bytes().await.unwrap()[..], b"tar bytes");
    let opts = berth_client::CopyToOptions {
        copy_uid_gid: true,
        ..Default::default()
    };
    client
        .copy_to_container("x", "/tmp", Body::bytes("tar bytes"), opts)
        .await
        .unwrap();
    let err = client
        .copy_to_container("x", "/tmp", Body::bytes("tar bytes"), Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
}

#[tokio::test]
async fn wait_returns_before_the_result() {
    let fake = start("1.47");
    let client = fake.client();
    let t = std::time::Instant::now();
    let waiter = client
        .container_wait("x", berth_client::WaitCondition::NextExit)
        .await
        .unwrap();
    assert!(t.elapsed() < std::time::Duration::from_millis(50));
    assert_eq!(waiter.result().await.unwrap().status_code, 3);
}

#[tokio::test]
async fn stats_events_and_logs_stream() {
    let fake = start("1.47");
    let client = fake.client();
    let mut stats = client
        .container_stats::<serde_json::Value>("x", false, true)
        .await
        .unwrap();
    let first = stats.next().await.unwrap().unwrap();
    assert_eq!(first["query"], "stream=0&one-shot=1");
    assert_eq!(stats.next().await.unwrap().unwrap()["n"], 2);
    assert!(stats.next().await.is_none());
    let mut f = berth_api::filters::Filters::default();
    f.add("type", "container");
    let opts = berth_client::EventsOptions {
        since: Some("10".into()),
        until: None,
        filters: f,
    };
    let mut events = client.events_as::<serde_json::Value>(&opts).await.unwrap();
    let e = events.next().await.unwrap().unwrap();
    assert_eq!(
        e["query"],
        "filters=%7B%22type%22%3A%5B%22container%22%5D%7D&since=10"
    );
    let opts = berth_client::LogsOptions {
        stdout: true,
        stderr: true,
        tail: Some("10".into()),
        ..Default::default()
    };
    let resp = client.container_logs("x", &opts).await.unwrap();
    assert!(berth_client::api::streams::is_multiplexed(&resp));
    let mut reader = resp.into_body().into_reader();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    berth_client::stdcopy::copy_demuxed(&mut reader, Some(&mut out), Some(&mut err))
        .await
        .unwrap();
    assert_eq!(
        (out.as_slice(), err.as_slice()),
        (&b"out\n"[..], &b"err\n"[..])
    );
}
