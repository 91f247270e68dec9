//! A fake daemon with containers that "run" a few commands (`echo`,
//! `cat`, `sh -c 'exit N'`, `warn`, `sleep`), attach and exec over
//! upgraded connections, and a wait that answers when the container
//! exits. It records every request in order.

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, watch};

pub const ID: &str = "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

type Body = BoxBody<Bytes, Infallible>;

/// One fake container.
struct Ctr {
    cmd: Vec<String>,
    tty: bool,
    open_stdin: bool,
    auto_remove: bool,
    started: Notify,
    started_flag: Mutex<bool>,
    attached: Mutex<bool>,
    exit: watch::Sender<Option<i64>>,
}

/// An exec's command and, once it ran, its status.
type Exec = (Vec<String>, Arc<Mutex<Option<i64>>>);

#[derive(Default)]
struct State {
    containers: Mutex<HashMap<String, Arc<Ctr>>>,
    execs: Mutex<HashMap<String, Exec>>,
    pulled: Mutex<Vec<String>>,
    log: Mutex<Vec<String>>,
    bodies: Mutex<Vec<(String, Value)>>,
    connections: AtomicUsize,
}

pub struct Fake {
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    state: Arc<State>,
}

fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![stream, 0, 0, 0];
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out
}

fn full(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("Content-Type", "application/json")
        .header("Api-Version", "1.47")
        .body(Full::new(body.into()).boxed())
        .unwrap()
}

fn error(status: u16, msg: &str) -> Response<Body> {
    full(status, json!({ "message": msg }).to_string())
}

fn upgrade_response(tty: bool) -> Response<Body> {
    let ct = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("Connection", "Upgrade")
        .header("Upgrade", "tcp")
        .header("Content-Type", ct)
        .body(Full::new(Bytes::new()).boxed())
        .unwrap()
}

/// What a command prints and its status; `cat` echoes `stdin`.
fn execute(cmd: &[String], stdin: &[u8]) -> (Vec<(u8, Vec<u8>)>, i64) {
    let words: Vec<&str> = cmd.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["echo", rest @ ..] => (vec![(1, format!("{}\n", rest.join(" ")).into_bytes())], 0),
        ["cat"] => (vec![(1, stdin.to_vec())], 0),
        ["warn", rest @ ..] => (vec![(2, format!("{}\n", rest.join(" ")).into_bytes())], 0),
        ["sh", "-c", script] => {
            let code = script
                .strip_prefix("exit ")
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or(0);
            (Vec::new(), code)
        }
        _ => (Vec::new(), 0),
    }
}

impl State {
    fn ctr(&self, id: &str) -> Option<Arc<Ctr>> {
        let map = self.containers.lock().unwrap();
        match map.get(id) {
            Some(c) => Some(c.clone()),
            None if id == "web" => map.values().next().cloned(),
            None => None,
        }
    }
}

async fn route(mut req: Request<Incoming>, st: Arc<State>) -> Response<Body> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    st.log
        .lock()
        .unwrap()
        .push(format!("{method} {path}?{query}"));
    let route = match path.strip_prefix("/v1.47") {
        Some(r) => r.to_string(),
        None => path.clone(),
    };
    let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        (_, ["_ping"]) => full(200, "OK"),
        ("POST", ["images", "create"]) => {
            let image = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("fromImage="))
                .unwrap_or("")
                .replace("%2F", "/");
            if image.ends_with("nopull") {
                return full(
                    200,
                    "{\"status\":\"Pulling\"}\n{\"errorDetail\":{\"message\":\"pull access denied for nopull\"},\"error\":\"pull access denied for nopull\"}\n",
                );
            }
            st.pulled.lock().unwrap().push(image.clone());
            full(200, format!("{{\"status\":\"Pulled {image}\"}}\n"))
        }
        ("POST", ["containers", "create"]) => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&body).unwrap();
            st.bodies.lock().unwrap().push((query.clone(), v.clone()));
            let image = v["Image"].as_str().unwrap_or("").to_string();
            let pulled = st.pulled.lock().unwrap().iter().any(|p| p.ends_with(&image));
            if (image.starts_with("missing") || image == "nopull") && !pulled {
                return error(404, &format!("No such image: {image}:latest"));
            }
            let cmd: Vec<String> = v["Cmd"]
                .as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            let (tx, _) = watch::channel(None);
            let ctr = Arc::new(Ctr {
                cmd,
                tty: v["Tty"].as_bool().unwrap_or(false),
                open_stdin: v["OpenStdin"].as_bool().unwrap_or(false),
                auto_remove: v["HostConfig"]["AutoRemove"].as_bool().unwrap_or(false),
                started: Notify::new(),
                started_flag: Mutex::new(false),
                attached: Mutex::new(false),
                exit: tx,
            });
            st.containers.lock().unwrap().insert(ID.to_string(), ctr);
            full(201, json!({"Id": ID, "Warnings": ["fake warning"]}).to_string())
        }
        ("GET", ["containers", "json"]) => full(
            200,
            json!([{"Id": ID, "Names": ["/web"], "Image": "busybox", "ImageID": "sha256:00", "Command": "sleep 1000",
                "Created": 0, "Ports": [], "Labels": {}, "State": "running", "Status": "Up 2 minutes",
                "HostConfig": {"NetworkMode": "none"}, "NetworkSettings": {"Networks": {}}, "Mounts": []}])
            .to_string(),
        ),
        ("GET", ["containers", id, "json"]) => match st.ctr(id) {
            Some(c) => full(
                200,
                json!({"Id": ID, "Name": "/web", "Config": {"Tty": c.tty, "OpenStdin": c.open_stdin},
                    "State": {"Running": true, "Paused": false, "Restarting": false},
                    "HostConfig": {"AutoRemove": c.auto_remove},
                    "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}}})
                .to_string(),
            ),
            None => error(404, &format!("No such container: {id}")),
        },
        ("POST", ["containers", id, "attach"]) => {
            let Some(c) = st.ctr(id) else {
                return error(404, &format!("No such container: {id}"));
            };
            *c.attached.lock().unwrap() = true;
            let stdin_attached = query.contains("stdin=1");
            let tty = c.tty;
            let on_upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let Ok(up) = on_upgrade.await else { return };
                let mut io = TokioIo::new(up);
                let mut input = Vec::new();
                if stdin_attached {
                    let _ = io.read_to_end(&mut input).await;
                }
                while !*c.started_flag.lock().unwrap() {
                    c.started.notified().await;
                }
                if c.cmd.first().map(String::as_str) == Some("sleep") {
                    let mut rx = c.exit.subscribe();
                    let _ = rx.wait_for(Option::is_some).await;
                    return;
                }
                let (out, code) = execute(&c.cmd, &input);
                for (stream, data) in out {
                    let bytes = if c.tty { data } else { frame(stream, &data) };
                    let _ = io.write_all(&bytes).await;
                }
                let _ = io.shutdown().await;
                c.exit.send_replace(Some(code));
            });
            upgrade_response(tty)
        }
        ("POST", ["containers", id, "wait"]) => {
            let Some(c) = st.ctr(id) else {
                return error(404, &format!("No such container: {id}"));
            };
            let mut rx = c.exit.subscribe();
            let stream = futures_util::stream::once(async move {
                let code = rx.wait_for(Option::is_some).await.map(|v| v.unwrap_or(0)).unwrap_or(0);
                Ok::<_, Infallible>(Frame::data(Bytes::from(json!({"StatusCode": code}).to_string())))
            });
            Response::builder()
                .header("Content-Type", "application/json")
                .body(StreamBody::new(stream).boxed())
                .unwrap()
        }
        ("POST", ["containers", id, "start"]) => {
            let Some(c) = st.ctr(id) else {
                return error(404, &format!("No such container: {id}"));
            };
            if c.cmd.first().map(String::as_str) == Some("nonexistent") {
                // The daemon removes an auto-remove container that failed.
                if c.auto_remove {
                    c.exit.send_replace(Some(-1));
                }
                return error(
                    400,
                    "failed to create task for container: exec: \"nonexistent\": executable file not found in $PATH: unknown",
                );
            }
            *c.started_flag.lock().unwrap() = true;
            c.started.notify_waiters();
            if !*c.attached.lock().unwrap() && c.cmd.first().map(String::as_str) != Some("sleep") {
                let (_, code) = execute(&c.cmd, b"");
                c.exit.send_replace(Some(code));
            }
            full(204, "")
        }
        ("POST", ["containers", id, "kill"]) => {
            if let Some(c) = st.ctr(id) {
                let sig = query.strip_prefix("signal=").unwrap_or("KILL");
                let code = match sig {
                    "TERM" => 143,
                    "INT" => 130,
                    _ => 137,
                };
                c.exit.send_replace(Some(code));
            }
            full(204, "")
        }
        ("POST", ["containers", _, "resize"]) => full(200, ""),
        ("GET", ["containers", _, "logs"]) => {
            let mut body = frame(1, b"out line\n");
            body.extend(frame(2, b"err line\n"));
            Response::builder()
                .header("Content-Type", "application/vnd.docker.multiplexed-stream")
                .body(Full::new(Bytes::from(body)).boxed())
                .unwrap()
        }
        ("POST", ["containers", _, "exec"]) => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&body).unwrap();
            st.bodies.lock().unwrap().push((query.clone(), v.clone()));
            let cmd = v["Cmd"]
                .as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            st.execs
                .lock()
                .unwrap()
                .insert("e1".into(), (cmd, Arc::new(Mutex::new(None))));
            full(201, json!({"Id": "e1"}).to_string())
        }
        ("POST", ["exec", id, "start"]) => {
            let Some((cmd, code)) = st.execs.lock().unwrap().get(*id).cloned() else {
                return error(404, "No such exec instance");
            };
            let body = req.body_mut().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if v["Detach"].as_bool() == Some(true) {
                *code.lock().unwrap() = Some(execute(&cmd, b"").1);
                return full(200, "");
            }
            let on_upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let Ok(up) = on_upgrade.await else { return };
                let mut io = TokioIo::new(up);
                let (out, status) = execute(&cmd, b"");
                for (stream, data) in out {
                    let _ = io.write_all(&frame(stream, &data)).await;
                }
                *code.lock().unwrap() = Some(status);
                let _ = io.shutdown().await;
            });
            upgrade_response(false)
        }
        ("GET", ["exec", id, "json"]) => {
            let code = st
                .execs
                .lock()
                .unwrap()
                .get(*id)
                .and_then(|(_, c)| *c.lock().unwrap());
            full(200, json!({"ID": id, "Running": false, "ExitCode": code}).to_string())
        }
        _ => error(404, &format!("page not found: {method} {route}")),
    }
}

impl Fake {
    pub fn start() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("berth.sock");
        let state = Arc::new(State::default());
        let (sock, st) = (socket.clone(), state.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
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
                    st.connections.fetch_add(1, Ordering::SeqCst);
                    let st = st.clone();
                    tokio::spawn(async move {
                        let svc = service_fn(move |req| {
                            let st = st.clone();
                            async move { Ok::<_, Infallible>(route(req, st).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .with_upgrades()
                            .await;
                    });
                }
            });
        });
        ready_rx.recv().unwrap();
        Fake {
            _dir: dir,
            socket,
            state,
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
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

    /// Requests without the pings, as `METHOD path?query` with the
    /// version prefix and the container ID shortened.
    pub fn requests(&self) -> Vec<String> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| !r.contains("/_ping"))
            .map(|r| r.replace("/v1.47", "").replace(ID, "ID"))
            .collect()
    }

    pub fn clear(&self) {
        self.state.log.lock().unwrap().clear();
        self.state.bodies.lock().unwrap().clear();
        self.state.connections.store(0, Ordering::SeqCst);
    }

    /// The JSON bodies of create and exec requests, with their queries.
    pub fn bodies(&self) -> Vec<(String, Value)> {
        self.state.bodies.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}
