//! `/_ping`, `/version`, `/info`, `/system/df`, `/events`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use berth_api::Error;
use berth_api::version::ApiVersion;
use futures_util::StreamExt;

use crate::backend::{Backend, EventQuery, SystemBackend};
use crate::error::ApiResult;
use crate::params::Params;

pub fn routes<B: Backend>() -> Router<Arc<B>> {
    Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version::<B>))
        .route("/info", get(info::<B>))
        .route("/system/df", get(df::<B>))
        .route("/events", get(events::<B>))
}

async fn ping() -> Response {
    let mut resp = (StatusCode::OK, "OK").into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    resp
}

async fn version<B: Backend>(State(b): State<Arc<B>>) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.system().version().await?))
}

async fn info<B: Backend>(State(b): State<Arc<B>>) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.system().info().await?))
}

async fn df<B: Backend>(
    State(b): State<Arc<B>>,
    Extension(v): Extension<ApiVersion>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.system().df(v).await?))
}

/// Docker accepts `since`/`until` as Unix seconds (with an optional
/// fraction) or RFC 3339 timestamps.
fn parse_time(name: &str, text: &str) -> Result<Option<f64>, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Ok(Some(secs));
    }
    Err(Error::invalid(format!(
        "invalid value for {name}: {text:?} is not a Unix timestamp"
    )))
}

async fn events<B: Backend>(State(b): State<Arc<B>>, p: Params) -> ApiResult<Response> {
    let query = EventQuery {
        since: parse_time("since", p.str("since"))?,
        until: parse_time("until", p.str("until"))?,
        filters: p.filters()?,
    };
    let stream = b.system().events(query).await?;
    let body = stream.map(|ev| {
        let mut line = serde_json::to_vec(&ev).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, std::io::Error>(bytes::Bytes::from(line))
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("since", "").unwrap(), None);
        assert_eq!(parse_time("since", "12.5").unwrap(), Some(12.5));
        assert!(parse_time("since", "yesterday").is_err());
    }
}
