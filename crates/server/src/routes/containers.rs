//! `/containers/...`: create, list, inspect, start, stop, kill, restart,
//! wait, remove, logs, rename, pause, unpause, update, prune, changes,
//! export, archive (`docker cp`), top, attach (connection upgrade), resize
//! and stats.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use berth_api::Error;
use berth_api::types::archive::ContainerPathStat;
use berth_api::types::container::{ContainerCreateBody, UpdateConfig};
use berth_api::version::ApiVersion;
use hyper_util::rt::TokioIo;

use super::body;
use crate::backend::{
    AttachOptions, Backend, ContainerBackend, ContainerListOptions, ExtractToDirOptions,
    LogsOptions, WaitCondition,
};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;

pub fn routes<B: Backend>() -> Router<Arc<B>> {
    Router::new()
        .route("/containers/create", post(create::<B>))
        .route("/containers/json", get(list::<B>))
        .route("/containers/prune", post(prune::<B>))
        .route("/containers/{id}/json", get(inspect::<B>))
        .route("/containers/{id}/start", post(start::<B>))
        .route("/containers/{id}/stop", post(stop::<B>))
        .route("/containers/{id}/kill", post(kill::<B>))
        .route("/containers/{id}/restart", post(restart::<B>))
        .route("/containers/{id}/wait", post(wait::<B>))
        .route("/containers/{id}", delete(remove::<B>))
        .route("/containers/{id}/logs", get(logs::<B>))
        .route("/containers/{id}/rename", post(rename::<B>))
        .route("/containers/{id}/pause", post(pause::<B>))
        .route("/containers/{id}/unpause", post(unpause::<B>))
        .route("/containers/{id}/update", post(update::<B>))
        .route("/containers/{id}/changes", get(changes::<B>))
        .route("/containers/{id}/export", get(export::<B>))
        .route(
            "/containers/{id}/archive",
            get(archive_get::<B>)
                .head(archive_head::<B>)
                .put(archive_put::<B>),
        )
        .route("/containers/{id}/top", get(top::<B>))
        .route("/containers/{id}/attach", post(attach::<B>))
        .route("/containers/{id}/resize", post(resize::<B>))
        .route("/containers/{id}/stats", get(stats::<B>))
}

async fn create<B: Backend>(
    State(b): State<Arc<B>>,
    Extension(v): Extension<ApiVersion>,
    p: Params,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let body: ContainerCreateBody = body::json(&headers, &bytes)?
        .ok_or_else(|| Error::invalid("config cannot be empty in order to create a container"))?;
    let name = p.get("name").filter(|n| !n.is_empty()).map(str::to_string);
    let created = b.containers().create(name, body, v).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list<B: Backend>(State(b): State<Arc<B>>, p: Params) -> ApiResult<impl IntoResponse> {
    let limit = match p.int("limit")? {
        Some(n) if n > 0 => Some(n as usize),
        _ => None,
    };
    let opts = ContainerListOptions {
        all: p.bool("all"),
        limit,
        size: p.bool("size"),
        filters: p.filters()?,
    };
    let list = b.containers().list(opts).await?;
    // Sized up front: a long list grown by doubling spent more time
    // copying and faulting pages than encoding.
    let mut buf = Vec::with_capacity(1024 * list.len() + 2);
    serde_json::to_writer(&mut buf, &list)
        .map_err(|e| Error::system(format!("cannot encode the container list: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        buf,
    ))
}

async fn inspect<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.containers().inspect(&id, p.bool("size")).await?))
}

async fn start<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    Ok(if b.containers().start(&id).await? {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_MODIFIED
    })
}

fn signal_param(p: &Params) -> Option<String> {
    p.get("signal")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

async fn stop<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<StatusCode> {
    Ok(
        if b.containers()
            .stop(&id, signal_param(&p), p.int("t")?)
            .await?
        {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::NOT_MODIFIED
        },
    )
}

async fn kill<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<StatusCode> {
    b.containers().kill(&id, signal_param(&p)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn restart<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<StatusCode> {
    b.containers()
        .restart(&id, signal_param(&p), p.int("t")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn wait<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let condition = match p.str("condition") {
        "" | "not-running" => WaitCondition::NotRunning,
        "next-exit" => WaitCondition::NextExit,
        "removed" => WaitCondition::Removed,
        other => {
            return Err(Error::invalid(format!(
                "invalid condition {other:?}: expected not-running, next-exit or removed"
            ))
            .into());
        }
    };
    let result = b.containers().wait(&id, condition).await?;
    // Headers go out now, the body when the condition is met: clients
    // rely on the wait being registered before they start the container.
    let body = futures_util::stream::once(async move {
        let resp = result.await;
        let mut line = serde_json::to_vec(&resp).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, std::io::Error>(Bytes::from(line))
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

async fn remove<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<StatusCode> {
    b.containers()
        .remove(&id, p.bool("force"), p.bool("v"), p.bool("link"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn stream_content_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

async fn logs<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let parse_time = |key: &str| -> Result<Option<f64>, Error> {
        match p.str(key).trim() {
            "" | "0" => Ok(None),
            t => t.parse::<f64>().map(Some).map_err(|_| {
                Error::invalid(format!(
                    "invalid value for {key}: {t:?} is not a Unix timestamp"
                ))
            }),
        }
    };
    let tail = match p.str("tail").trim() {
        "" | "all" => None,
        t => match t.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as u64),
            Ok(_) => None,
            Err(_) => {
                return Err(Error::invalid(format!(
                    "invalid value for tail: {t:?} is neither a number nor \"all\""
                ))
                .into());
            }
        },
    };
    let opts = LogsOptions {
        stdout: p.bool("stdout"),
        stderr: p.bool("stderr"),
        follow: p.bool("follow"),
        since: parse_time("since")?,
        until: parse_time("until")?,
        tail,
        timestamps: p.bool("timestamps"),
    };
    if !opts.stdout && !opts.stderr {
        return Err(Error::invalid("Bad parameters: you must choose at least one stream").into());
    }
    let (stream, tty) = b.containers().logs(&id, opts).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, stream_content_type(tty))],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn rename<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<StatusCode> {
    b.containers().rename(&id, p.str("name")).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn pause<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    b.containers().pause(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unpause<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    b.containers().unpause(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let update: UpdateConfig = body::json(&headers, &bytes)?.unwrap_or_default();
    Ok(Json(b.containers().update(&id, update).await?))
}

async fn prune<B: Backend>(State(b): State<Arc<B>>, p: Params) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.containers().prune(p.filters()?).await?))
}

async fn changes<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.containers().changes(&id).await?))
}

/// The header of the archive endpoints: base64 of the path stat's JSON.
const PATH_STAT: HeaderName = HeaderName::from_static("x-docker-container-path-stat");

/// The `path` parameter of the archive endpoints, which must be given.
fn archive_path_param(p: &Params) -> Result<String, Error> {
    match p.get("path") {
        Some(path) if !path.is_empty() => Ok(path.to_string()),
        _ => Err(Error::invalid("bad parameter: path cannot be empty")),
    }
}

/// Standard base64 with padding (Go's `base64.StdEncoding`).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

fn path_stat_header(stat: &ContainerPathStat) -> Result<HeaderValue, Error> {
    let json = serde_json::to_vec(stat)
        .map_err(|e| Error::system(format!("cannot encode the path stat: {e}")))?;
    HeaderValue::from_str(&base64(&json))
        .map_err(|e| Error::system(format!("cannot encode the path stat: {e}")))
}

/// `HEAD /containers/{id}/archive?path=`: the stat header only.
async fn archive_head<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let path = archive_path_param(&p)?;
    let stat = b.containers().stat_path(&id, &path).await?;
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut()
        .insert(PATH_STAT, path_stat_header(&stat)?);
    Ok(resp)
}

/// `GET /containers/{id}/archive?path=`: the stat header and a tar.
async fn archive_get<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let path = archive_path_param(&p)?;
    let (stat, stream) = b.containers().archive_path(&id, &path).await?;
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(stream),
    )
        .into_response();
    resp.headers_mut()
        .insert(PATH_STAT, path_stat_header(&stat)?);
    Ok(resp)
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`
/// with a tar (possibly compressed) as the body.
async fn archive_put<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
    request_body: Body,
) -> ApiResult<StatusCode> {
    let opts = ExtractToDirOptions {
        path: archive_path_param(&p)?,
        no_overwrite_dir_non_dir: p.bool("noOverwriteDirNonDir"),
        copy_uid_gid: p.bool("copyUIDGID"),
    };
    b.containers()
        .extract_to_dir(&id, opts, body::reader(request_body))
        .await?;
    Ok(StatusCode::OK)
}

async fn export<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let stream = b.containers().export(&id).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn top<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.containers().top(&id, p.str("ps_args")).await?))
}

async fn resize<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<StatusCode> {
    let dim = |key: &str| -> Result<u32, Error> {
        let v = p.int(key)?.unwrap_or(0);
        u32::try_from(v).map_err(|_| Error::invalid(format!("invalid value for {key}: {v}")))
    };
    b.containers().resize(&id, dim("h")?, dim("w")?).await?;
    Ok(StatusCode::OK)
}

/// `GET /containers/{id}/stats` (`stream` defaults to true; `one-shot`
/// from API 1.41).
async fn stats<B: Backend>(
    State(b): State<Arc<B>>,
    Extension(v): Extension<ApiVersion>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let stream = p.bool_or("stream", true);
    let one_shot = v.at_least(1, 41) && p.bool("one-shot");
    let body = b.containers().stats(&id, stream, one_shot).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// `POST /containers/{id}/attach`: answers 101 and hands the upgraded
/// connection to the backend; without an upgrade request, streams the
/// output in a plain response.
async fn attach<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
    mut req: Request,
) -> Response {
    let opts = AttachOptions {
        stream: p.bool("stream"),
        logs: p.bool("logs"),
        stdin: p.bool("stdin"),
        stdout: p.bool("stdout"),
        stderr: p.bool("stderr"),
        detach_keys: p.get("detachKeys").map(str::to_string),
    };
    let session = match b.containers().attach(&id, opts).await {
        Ok(s) => s,
        Err(e) => return ApiError(e).into_response(),
    };
    let content_type = stream_content_type(session.tty());
    let wants_upgrade = req
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tcp"));
    if wants_upgrade {
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => session.run(Box::new(TokioIo::new(upgraded))).await,
                Err(e) => tracing::debug!(error = %e, "attach upgrade failed"),
            }
        });
        let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let h = resp.headers_mut();
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        return resp;
    }
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(session.run(Box::new(ours)));
    let stream = tokio_util::io::ReaderStream::new(theirs);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_go() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"h"), "aA==");
        assert_eq!(base64(b"hi"), "aGk=");
        assert_eq!(base64(b"hey"), "aGV5");
        assert_eq!(base64(br#"{"name":"etc"}"#), "eyJuYW1lIjoiZXRjIn0=");
    }

    #[test]
    fn archive_path_is_required() {
        assert!(archive_path_param(&Params::parse("")).is_err());
        let err = archive_path_param(&Params::parse("path=")).unwrap_err();
        assert_eq!(err.message(), "bad parameter: path cannot be empty");
        assert_eq!(
            archive_path_param(&Params::parse("path=%2Fetc")).unwrap(),
            "/etc"
        );
    }
}
