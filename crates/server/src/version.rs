//! API version middleware: strips an optional `/vX.YY` prefix, refuses
//! versions outside the supported range, records the version for handlers
//! and adds Docker's identification headers to every response.

use axum::extract::Request;
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use berth_api::Error;
use berth_api::version::{API_VERSION, ApiVersion, MIN_API_VERSION};

use crate::error::ApiError;

/// The `Server` header value.
pub fn server_header() -> String {
    format!("Berth/{} (linux)", env!("CARGO_PKG_VERSION"))
}

/// Splits `/v1.47/images/json` into (`Some("1.47")`, `/images/json`).
pub fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest.find('/').unwrap_or(rest.len());
        let candidate = &rest[..end];
        if !candidate.is_empty() && candidate.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            let remainder = &rest[end..];
            return (
                Some(candidate),
                if remainder.is_empty() { "/" } else { remainder },
            );
        }
    }
    (None, path)
}

/// Checks a requested version against the supported range, with Docker's
/// wording.
pub fn check_version(text: &str) -> Result<ApiVersion, Error> {
    let version: ApiVersion = text.parse().map_err(Error::invalid)?;
    if version < MIN_API_VERSION {
        return Err(Error::invalid(format!(
            "client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    if version > API_VERSION {
        return Err(Error::invalid(format!(
            "client version {version} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    Ok(version)
}

pub async fn middleware(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let (requested, rest) = split_version(&path);
    let mut response = match requested.map(check_version) {
        Some(Err(err)) => ApiError(err).into_response(),
        other => {
            let version = match other {
                Some(Ok(v)) => v,
                _ => API_VERSION,
            };
            if requested.is_some() {
                let new_uri = match req.uri().query() {
                    Some(q) => format!("{rest}?{q}"),
                    None => rest.to_string(),
                };
                match new_uri.parse::<Uri>() {
                    Ok(uri) => *req.uri_mut() = uri,
                    Err(_) => {
                        return ApiError(Error::invalid(format!("invalid request path {path:?}")))
                            .into_response();
                    }
                }
            }
            req.extensions_mut().insert(version);
            next.run(req).await
        }
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&server_header()) {
        headers.insert("Server", v);
    }
    if let Ok(v) = HeaderValue::from_str(&API_VERSION.to_string()) {
        headers.insert("Api-Version", v);
    }
    headers.insert("Ostype", HeaderValue::from_static("linux"));
    headers.insert("Docker-Experimental", HeaderValue::from_static("false"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_prefix() {
        assert_eq!(
            split_version("/v1.47/images/json"),
            (Some("1.47"), "/images/json")
        );
        assert_eq!(split_version("/images/json"), (None, "/images/json"));
        assert_eq!(split_version("/v1.47"), (Some("1.47"), "/"));
        assert_eq!(split_version("/volumes/x"), (None, "/volumes/x"));
    }

    #[test]
    fn range_is_enforced_with_docker_wording() {
        assert!(check_version("1.24").is_ok());
        assert!(check_version(&API_VERSION.to_string()).is_ok());
        let err = check_version("1.12").unwrap_err();
        assert!(err.message().contains("too old"), "{}", err.message());
        let err = check_version("9.99").unwrap_err();
        assert!(err.message().contains("too new"), "{}", err.message());
        assert!(check_version("1.2.3").is_err());
    }
}
