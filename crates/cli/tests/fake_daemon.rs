//! The `berth` binary against a fake daemon on a temporary unix socket:
//! output layouts, exit statuses, error wording, streaming in and out.

use std::convert::Infallible;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;

const ID: &str = "sha256:6fd955f66c231c1a946653170d096fef8b9f2a7b0b4e9fbf0d1bdbad5ce34a8b";

struct Fake {
    dir: tempfile::TempDir,
    socket: PathBuf,
    /// "METHOD path?query" of every request.
    log: Arc<Mutex<Vec<String>>>,
}

fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("Content-Type", content_type)
        .header("API-Version", "1.47")
        .body(Full::new(body.into()))
        .unwrap()
}

async fn route(
    req: hyper::Request<Incoming>,
    log: Arc<Mutex<Vec<String>>>,
) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    log.lock().unwrap().push(format!("{method} {path}?{query}"));
    let route = match path.split_once("/v1.") {
        Some((_, rest)) => rest
            .split_once('/')
            .map(|(_, r)| format!("/{r}"))
            .unwrap_or_default(),
        None => path.clone(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let json = "application/json";
    match (method.as_str(), route.as_str()) {
        (_, "/_ping") => reply(200, "text/plain", "OK"),
        ("GET", "/version") => reply(
            200,
            json,
            r#"{"Version":"9.9.9","ApiVersion":"1.47","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","Components":[]}"#,
        ),
        ("GET", "/images/json") => reply(
            200,
            json,
            format!(
                r#"[{{"Id":"{ID}","RepoTags":["busybox:latest"],"RepoDigests":null,"Created":{},"Size":4261266,"SharedSize":-1,"Containers":-1,"Labels":null,"ParentId":""}}]"#,
                now - 7200
            ),
        ),
        ("GET", "/images/busybox/json") => reply(
            200,
            json,
            format!(
                r#"{{"Id":"{ID}","RepoTags":["busybox:latest"],"Config":{{"Cmd":["sh"],"Env":null}}}}"#
            ),
        ),
        ("DELETE", "/images/busybox") => reply(
            200,
            json,
            format!(r#"[{{"Untagged":"busybox:latest"}},{{"Deleted":"{ID}"}}]"#),
        ),
        ("DELETE", "/images/used") => reply(
            409,
            json,
            r#"{"message":"conflict: unable to delete used (must be forced)"}"#,
        ),
        ("POST", "/images/load") => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            reply(
                200,
                json,
                format!(
                    "{{\"stream\":\"Loaded image: busybox:latest ({} bytes)\\n\"}}\n",
                    body.len()
                ),
            )
        }
        ("GET", "/images/get") => reply(200, "application/x-tar", vec![b'x'; 100_000]),
        ("POST", "/images/busybox/tag") => reply(201, json, ""),
        _ => {
            let name = route
                .trim_start_matches("/images/")
                .trim_end_matches("/json");
            reply(
                404,
                json,
                format!(r#"{{"message":"No such image: {name}:latest"}}"#),
            )
        }
    }
}

fn start() -> Fake {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("berth.sock");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (sock, lg) = (socket.clone(), log.clone());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::UnixListener::bind(&sock).unwrap();
            ready_tx.send(()).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let lg = lg.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let lg = lg.clone();
                        async move { Ok::<_, Infallible>(route(req, lg).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    ready_rx.recv().unwrap();
    Fake { dir, socket, log }
}

impl Fake {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .env_remove("BERTH_API_VERSION")
            .env_remove("DOCKER_API_VERSION")
            .env("TZ", "UTC")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn images_table_and_formats() {
    let fake = start();
    let out = fake.run(&["images"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n\
         busybox      latest    6fd955f66c23   2 hours ago   4.26MB\n"
    );
    let out = fake.run(&["image", "ls", "-q", "--no-trunc"]);
    assert_eq!(text(&out.stdout), format!("{ID}\n"));
    let out = fake.run(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"]);
    assert_eq!(text(&out.stdout), "busybox:latest 4.26MB\n");
    let out = fake.run(&["images", "-f", "dangling=false", "busybox"]);
    assert!(out.status.success());
    let last = fake.requests().pop().unwrap();
    assert!(
        last.starts_with("GET /v1.47/images/json?filters="),
        "{last}"
    );
    assert!(
        last.contains("dangling") && last.contains("reference"),
        "{last}"
    );
    // One ping per command, on the same connection as the request.
    let pings = fake
        .requests()
        .iter()
        .filter(|r| r.contains("_ping"))
        .count();
    assert_eq!(pings, 4);
}

#[test]
fn fixed_api_version_skips_the_ping() {
    let fake = start();
    let out = fake
        .cmd(&["images", "-q"])
        .env("BERTH_API_VERSION", "1.41")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fake.requests(), vec!["GET /v1.41/images/json?".to_string()]);
}

#[test]
fn rmi_reports_each_failure() {
    let fake = start();
    let out = fake.run(&["rmi", "busybox", "nosuch", "used"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        format!("Untagged: busybox:latest\nDeleted: {ID}\n")
    );
    assert_eq!(
        text(&out.stderr),
        "Error response from daemon: No such image: nosuch:latest\n\
         Error response from daemon: conflict: unable to delete used (must be forced)\n"
    );
    let out = fake.run(&["image", "rm", "-f", "nosuch"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("No such image"));
}

#[test]
fn inspect_outputs() {
    let fake = start();
    let out = fake.run(&[
        "image",
        "inspect",
        "-f",
        "{{.ID}} {{.Config.Cmd}} {{.Config.Env}}",
        "busybox",
    ]);
    assert_eq!(text(&out.stdout), format!("{ID} [sh] []\n"));
    let out = fake.run(&["image", "inspect", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "[]\n");
    assert_eq!(
        text(&out.stderr),
        "Error response from daemon: No such image: nosuch:latest\n"
    );
    let out = fake.run(&["inspect", "nosuch"]);
    assert_eq!(text(&out.stderr), "Error: No such object: nosuch\n");
    let out = fake.run(&["inspect", "busybox"]);
    assert!(text(&out.stdout).starts_with("[\n    {\n        \"Id\": "));
    let out = fake.run(&["inspect", "-f", "{{.Id", "busybox"]);
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn load_and_save_stream() {
    let fake = start();
    let archive = fake.dir.path().join("in.tar");
    std::fs::write(&archive, vec![7u8; 300_000]).unwrap();
    let out = fake.run(&["load", "-i", archive.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Loaded image: busybox:latest (300000 bytes)\n"
    );
    assert!(
        fake.requests()
            .iter()
            .any(|r| r == "POST /v1.47/images/load?quiet=1")
    );

    let mut child = fake
        .cmd(&["load"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"tarbytes").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        text(&out.stdout),
        "Loaded image: busybox:latest (8 bytes)\n"
    );

    let out = fake.run(&["save", "busybox"]);
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 100_000);
    let target = fake.dir.path().join("out.tar");
    let out = fake.run(&["save", "-o", target.to_str().unwrap(), "busybox", "other"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::metadata(&target).unwrap().len(), 100_000);
    assert!(
        fake.requests()
            .iter()
            .any(|r| r == "GET /v1.47/images/get?names=busybox&names=other")
    );
    let out = fake.run(&["save", "-o", "/nonexistent/dir/x.tar", "busybox"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("berth: failed to save image: invalid output path"));
}

#[test]
fn tag_sends_the_normalized_reference() {
    let fake = start();
    let out = fake.run(&["tag", "busybox", "me/app"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        fake.requests()
            .iter()
            .any(|r| r == "POST /v1.47/images/busybox/tag?repo=docker.io%2Fme%2Fapp&tag=latest")
    );
    let out = fake.run(&["tag", "busybox", "Bad"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .starts_with("berth: Error parsing reference: \"Bad\" is not a valid repository/tag")
    );
}

#[test]
fn version_usage_and_connection_errors() {
    let fake = start();
    let out = fake.run(&[
        "version",
        "--format",
        "{{.Server.Version}} {{.Client.APIVersion}}",
    ]);
    assert_eq!(text(&out.stdout), "9.9.9 1.47\n");
    let out = fake.run(&["images", "--bogus"]);
    assert_eq!(out.status.code(), Some(125));
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["-H", "unix:///nonexistent/berth.sock", "images"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "berth: Cannot connect to the Berth daemon at unix:///nonexistent/berth.sock. Is berthd running?\n"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["images"])
        .env("BERTH_HOST", "unix:///nonexistent/b.sock")
        .env("DOCKER_HOST", "unix:///nonexistent/d.sock")
        .output()
        .unwrap();
    assert!(text(&out.stderr).contains("unix:///nonexistent/b.sock"));
}

#[test]
fn prune_asks_first() {
    let fake = start();
    let mut child = fake
        .cmd(&["image", "prune"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
    );
    assert!(!fake.requests().iter().any(|r| r.contains("prune")));
}
