//! Exec instances: `POST /containers/{id}/exec`, `POST /exec/{id}/start`
//! (connection upgrade or detached), `POST /exec/{id}/resize` and
//! `GET /exec/{id}/json`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use berth_api::Error;
use berth_api::types::exec::{ExecCreateBody, ExecStartBody, IdResponse};
use berth_api::version::ApiVersion;

use super::{body, upgrade};
use crate::backend::{Backend, ExecBackend, ExecStarted};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;

pub fn routes<B: Backend>() -> Router<Arc<B>> {
    Router::new()
        .route("/containers/{id}/exec", post(create::<B>))
        .route("/exec/{id}/start", post(start::<B>))
        .route("/exec/{id}/resize", post(resize::<B>))
        .route("/exec/{id}/json", get(inspect::<B>))
}

async fn create<B: Backend>(
    State(b): State<Arc<B>>,
    Extension(v): Extension<ApiVersion>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<Response> {
    let mut body: ExecCreateBody = body::json(&headers, &bytes)?.unwrap_or_default();
    if body.cmd.as_ref().is_none_or(Vec::is_empty) {
        return Err(Error::invalid("No exec command specified").into());
    }
    if !v.at_least(1, 42) {
        body.console_size = None;
    }
    let id = b.exec().create(&id, body).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}

/// Docker checks the exec (404, 409) before taking over the connection;
/// a process that then fails to start is reported inside the stream.
async fn start<B: Backend>(
    State(b): State<Arc<B>>,
    Extension(v): Extension<ApiVersion>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let wants_upgrade = upgrade::wants_upgrade(&req);
    let (parts, raw) = req.into_parts();
    let bytes = match axum::body::to_bytes(raw, 1 << 20).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError(Error::invalid(format!("cannot read the request body: {e}")))
                .into_response();
        }
    };
    let mut opts: ExecStartBody = match body::json(&parts.headers, &bytes) {
        Ok(o) => o.unwrap_or_default(),
        Err(e) => return ApiError(e).into_response(),
    };
    if !v.at_least(1, 42) || !opts.tty {
        opts.console_size = None;
    }
    let tty = opts.tty;
    let session = match b.exec().start(&id, opts).await {
        Ok(ExecStarted::Detached) => return StatusCode::OK.into_response(),
        Ok(ExecStarted::Attached(s)) => s,
        Err(e) => return ApiError(e).into_response(),
    };
    let req = Request::from_parts(parts, axum::body::Body::empty());
    if wants_upgrade {
        let content_type = if !tty && v.at_least(1, 42) {
            upgrade::MULTIPLEXED_STREAM
        } else {
            upgrade::RAW_STREAM
        };
        upgrade::upgrade(req, session, content_type)
    } else {
        upgrade::plain(session, upgrade::RAW_STREAM)
    }
}

async fn resize<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<StatusCode> {
    let dim = |key: &str| -> Result<u32, Error> {
        let v = p.int(key)?.unwrap_or(0);
        u32::try_from(v)
            .map_err(|_| Error::invalid(format!("invalid resize {key} {:?}", p.str(key))))
    };
    b.exec().resize(&id, dim("h")?, dim("w")?).await?;
    Ok(StatusCode::OK)
}

async fn inspect<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.exec().inspect(&id).await?))
}
