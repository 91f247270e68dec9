//! The single mapping from error classes to HTTP statuses, and the error
//! response every handler returns.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_api::{Error, ErrorKind, ErrorResponse};

/// The HTTP status of an error class. This is the only such mapping.
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidParameter => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotModified => StatusCode::NOT_MODIFIED,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::System => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error on its way to the client as `{"message": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(err: E) -> Self {
        ApiError(err.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_for(self.0.kind());
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.0.chain(), "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %self.0.message(), "request refused");
        }
        if status == StatusCode::NOT_MODIFIED {
            return status.into_response();
        }
        let body = ErrorResponse {
            message: self.0.message().to_string(),
        };
        (status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_its_status() {
        assert_eq!(status_for(ErrorKind::InvalidParameter), 400);
        assert_eq!(status_for(ErrorKind::NotFound), 404);
        assert_eq!(status_for(ErrorKind::Conflict), 409);
        assert_eq!(status_for(ErrorKind::Unauthorized), 401);
        assert_eq!(status_for(ErrorKind::Forbidden), 403);
        assert_eq!(status_for(ErrorKind::NotModified), 304);
        assert_eq!(status_for(ErrorKind::NotImplemented), 501);
        assert_eq!(status_for(ErrorKind::Unavailable), 503);
        assert_eq!(status_for(ErrorKind::System), 500);
    }
}
