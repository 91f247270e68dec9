//! The router: every API area's routes, the version middleware and the
//! fallback for unknown paths.

mod body;
mod containers;
mod exec;
mod images;
mod networks;
mod system;
mod upgrade;

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use berth_api::ErrorResponse;

use crate::backend::Backend;

/// The whole Engine API for one backend.
pub fn app<B: Backend>(backend: Arc<B>) -> Router {
    let inner = Router::new()
        .merge(system::routes::<B>())
        .merge(images::routes::<B>())
        .merge(containers::routes::<B>())
        .merge(exec::routes::<B>())
        .merge(networks::routes::<B>())
        .fallback(not_found)
        .with_state(backend);
    // The version prefix must be stripped before routing, so the
    // middleware wraps the whole router rather than each route.
    let versioned = tower::Layer::layer(
        &axum::middleware::from_fn(crate::version::middleware),
        inner,
    );
    Router::new().fallback_service(versioned)
}

async fn not_found(uri: Uri) -> impl IntoResponse {
    tracing::debug!(path = %uri.path(), "no route");
    (
        StatusCode::NOT_FOUND,
        axum::Json(ErrorResponse {
            message: "page not found".to_string(),
        }),
    )
}
