//! `/networks/...`: list, inspect, create, remove, connect, disconnect
//! and prune.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_api::Error;
use berth_api::types::network::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};

use super::body;
use crate::backend::{Backend, NetworkBackend};
use crate::error::ApiResult;
use crate::params::Params;

pub fn routes<B: Backend>() -> Router<Arc<B>> {
    Router::new()
        .route("/networks", get(list::<B>))
        .route("/networks/create", post(create::<B>))
        .route("/networks/prune", post(prune::<B>))
        .route("/networks/{id}", get(inspect::<B>).delete(remove::<B>))
        .route("/networks/{id}/connect", post(connect::<B>))
        .route("/networks/{id}/disconnect", post(disconnect::<B>))
}

async fn list<B: Backend>(State(b): State<Arc<B>>, p: Params) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.networks().list(p.filters()?).await?))
}

async fn inspect<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    match p.str("scope") {
        "" | "local" => {}
        other => {
            return Err(Error::not_found(format!(
                "network {id} not found (scope {other}: this berthd has local networks only)"
            ))
            .into());
        }
    }
    Ok(Json(b.networks().inspect(&id).await?))
}

async fn create<B: Backend>(
    State(b): State<Arc<B>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let req: NetworkCreateRequest = body::json(&headers, &bytes)?
        .ok_or_else(|| Error::invalid("a network create request needs a body"))?;
    let created = b.networks().create(req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn remove<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    b.networks().remove(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn connect<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkConnectRequest = body::json(&headers, &bytes)?
        .ok_or_else(|| Error::invalid("a connect request needs a body naming the container"))?;
    b.networks().connect(&id, req).await?;
    Ok(StatusCode::OK)
}

async fn disconnect<B: Backend>(
    State(b): State<Arc<B>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkDisconnectRequest = body::json(&headers, &bytes)?
        .ok_or_else(|| Error::invalid("a disconnect request needs a body naming the container"))?;
    b.networks().disconnect(&id, req).await?;
    Ok(StatusCode::OK)
}

async fn prune<B: Backend>(State(b): State<Arc<B>>, p: Params) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.networks().prune(p.filters()?).await?))
}
