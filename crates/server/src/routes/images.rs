//! `/images/...`: list, inspect, history, tag, delete, prune, import,
//! load and save. Image names may contain slashes, so the per-image routes
//! are dispatched on their suffix.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use berth_api::Error;
use berth_api::version::ApiVersion;

use super::body;
use crate::backend::{Backend, ByteStream, ImageBackend, ImageListOptions, ImportOptions};
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::progress;

pub fn routes<B: Backend>() -> Router<Arc<B>> {
    Router::new()
        .route("/images/json", get(list::<B>))
        .route("/images/create", post(create::<B>))
        .route("/images/load", post(load::<B>))
        .route("/images/get", get(save_many::<B>))
        .route("/images/prune", post(prune::<B>))
        .route(
            "/images/{*rest}",
            get(get_image::<B>)
                .post(post_image::<B>)
                .delete(delete::<B>),
        )
}

async fn list<B: Backend>(
    State(b): State<Arc<B>>,
    Extension(v): Extension<ApiVersion>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let opts = ImageListOptions {
        all: p.bool("all"),
        filters: p.filters()?,
        digests: p.bool("digests"),
        shared_size: p.bool("shared-size"),
    };
    Ok(Json(b.images().list(opts, v).await?))
}

async fn create<B: Backend>(State(b): State<Arc<B>>, p: Params, body: Body) -> Response {
    let result = async {
        if p.str("fromImage").is_empty() && p.str("fromSrc").is_empty() {
            return Err(Error::invalid(
                "either fromImage or fromSrc must be given",
            ));
        }
        if !p.str("fromImage").is_empty() {
            return Err(Error::not_implemented(format!(
                "pulling images from a registry is not available in this berthd (asked for {:?}); import or load images instead",
                p.str("fromImage")
            )));
        }
        let opts = ImportOptions {
            source: p.str("fromSrc").to_string(),
            repo: p.str("repo").to_string(),
            tag: p.str("tag").to_string(),
            message: p.str("message").to_string(),
            changes: p.all("changes"),
            platform: p.str("platform").to_string(),
        };
        b.images().import(body::reader(body), opts).await
    }
    .await;
    match result {
        Ok(rx) => progress::respond(rx).await,
        Err(err) => ApiError(err).into_response(),
    }
}

async fn load<B: Backend>(State(b): State<Arc<B>>, p: Params, body: Body) -> Response {
    match b.images().load(body::reader(body), p.bool("quiet")).await {
        Ok(rx) => progress::respond(rx).await,
        Err(err) => ApiError(err).into_response(),
    }
}

fn tar_response(stream: ByteStream) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn save_many<B: Backend>(State(b): State<Arc<B>>, p: Params) -> ApiResult<Response> {
    let names = p.all("names");
    if names.is_empty() {
        return Err(Error::invalid("no images given: pass at least one names parameter").into());
    }
    Ok(tar_response(b.images().save(names).await?))
}

async fn prune<B: Backend>(State(b): State<Arc<B>>, p: Params) -> ApiResult<impl IntoResponse> {
    Ok(Json(b.images().prune(p.filters()?).await?))
}

/// Splits `name/suffix` at the last slash when the suffix is one of
/// `known`; image names themselves may contain slashes.
fn split_suffix<'a>(rest: &'a str, known: &[&str]) -> Option<(&'a str, &'a str)> {
    let (name, suffix) = rest.rsplit_once('/')?;
    if name.is_empty() || !known.contains(&suffix) {
        return None;
    }
    Some((name, suffix))
}

fn page_not_found() -> ApiError {
    ApiError(Error::not_found("page not found"))
}

async fn get_image<B: Backend>(
    State(b): State<Arc<B>>,
    Extension(v): Extension<ApiVersion>,
    Path(rest): Path<String>,
) -> ApiResult<Response> {
    let Some((name, suffix)) = split_suffix(&rest, &["json", "history", "get"]) else {
        return Err(page_not_found());
    };
    match suffix {
        "json" => Ok(Json(b.images().inspect(name, v).await?).into_response()),
        "history" => Ok(Json(b.images().history(name).await?).into_response()),
        _ => Ok(tar_response(b.images().save(vec![name.to_string()]).await?)),
    }
}

async fn post_image<B: Backend>(
    State(b): State<Arc<B>>,
    Path(rest): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let Some((name, "tag")) = split_suffix(&rest, &["tag"]) else {
        return Err(page_not_found());
    };
    b.images().tag(name, p.str("repo"), p.str("tag")).await?;
    Ok(StatusCode::CREATED.into_response())
}

async fn delete<B: Backend>(
    State(b): State<Arc<B>>,
    Path(name): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        b.images()
            .delete(&name, p.bool("force"), p.bool("noprune"))
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_split_keeps_slashes_in_names() {
        assert_eq!(
            split_suffix("localhost:5000/a/b:1/json", &["json"]),
            Some(("localhost:5000/a/b:1", "json"))
        );
        assert_eq!(split_suffix("busybox", &["json"]), None);
        assert_eq!(split_suffix("/json", &["json"]), None);
        assert_eq!(split_suffix("busybox/other", &["json"]), None);
    }
}
