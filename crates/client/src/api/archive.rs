//! Files in a container: `HEAD`, `GET` and `PUT
//! /containers/{id}/archive`, with the path stat in the
//! `X-Docker-Container-Path-Stat` header.

use berth_api::types::archive::ContainerPathStat;
use http::HeaderValue;
use http::header::CONTENT_TYPE;

use crate::api::containers::container_path;
use crate::api::images::TAR;
use crate::body::{Body, ResponseBody};
use crate::client::{Client, Request, Response};
use crate::error::{Error, Result};
use crate::query::Query;

/// The header carrying the base64 JSON of a [`ContainerPathStat`].
pub const PATH_STAT_HEADER: &str = "x-docker-container-path-stat";

/// `PUT /containers/{id}/archive` parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyToOptions {
    /// Let a directory replace a file and the reverse (docker never does).
    pub allow_overwrite_dir_with_file: bool,
    /// Keep the archive's owners (`docker cp -a`).
    pub copy_uid_gid: bool,
}

fn archive_request(req: Request, path: &str) -> Request {
    req.query(Query::new().with("path", path))
}

/// Decodes the path stat header of an archive response.
pub fn path_stat(resp: &Response) -> Result<ContainerPathStat> {
    let Some(value) = resp.headers.get(PATH_STAT_HEADER) else {
        return Err(Error::Protocol(
            "the daemon sent no X-Docker-Container-Path-Stat header".into(),
        ));
    };
    let json = base64_decode(value.as_bytes()).ok_or_else(|| {
        Error::Protocol("unable to decode container path stat header: bad base64".into())
    })?;
    serde_json::from_slice(&json).map_err(Error::Decode)
}

/// Standard base64 (with or without padding), as Go's `StdEncoding`
/// writes the header.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let text: Vec<u8> = text
        .iter()
        .copied()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        match chunk.len() {
            4 => out.extend_from_slice(&bytes[1..4]),
            3 => out.extend_from_slice(&bytes[1..3]),
            2 => out.push(bytes[1]),
            _ => return None,
        }
    }
    Some(out)
}

impl Client {
    /// `HEAD /containers/{id}/archive?path=…`: what is at `path`.
    pub async fn container_stat_path(&self, id: &str, path: &str) -> Result<ContainerPathStat> {
        let req = archive_request(Request::head(container_path(id, "/archive")), path);
        let resp = self.send(req).await?;
        let stat = path_stat(&resp);
        resp.body.bytes().await?;
        stat
    }

    /// `GET /containers/{id}/archive?path=…`: a tar of `path` and its stat.
    pub async fn copy_from_container(
        &self,
        id: &str,
        path: &str,
    ) -> Result<(ResponseBody, ContainerPathStat)> {
        let req = archive_request(Request::get(container_path(id, "/archive")), path);
        let resp = self.send(req).await?;
        let stat = path_stat(&resp)?;
        Ok((resp.into_body(), stat))
    }

    /// `PUT /containers/{id}/archive?path=…`: extracts a tar into the
    /// directory `path`.
    pub async fn copy_to_container(
        &self,
        id: &str,
        path: &str,
        archive: Body,
        opts: CopyToOptions,
    ) -> Result<()> {
        let mut query = Query::new().with("path", path);
        if !opts.allow_overwrite_dir_with_file {
            query.push("noOverwriteDirNonDir", "true");
        }
        if opts.copy_uid_gid {
            query.push("copyUIDGID", "true");
        }
        let req = Request::put(container_path(id, "/archive"))
            .query(query)
            .header(CONTENT_TYPE, HeaderValue::from_static(TAR))
            .body(archive);
        self.send_empty(req).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_go() {
        assert_eq!(base64_decode(b"aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode(b"aGk").unwrap(), b"hi");
        assert_eq!(base64_decode(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode(b"").unwrap(), b"");
        assert!(base64_decode(b"a").is_none());
        assert!(base64_decode(b"a*bc").is_none());
        let header = b"eyJuYW1lIjoiZXRjIiwic2l6ZSI6NDA5NiwibW9kZSI6MjE0NzQ4NDE0MSwibXRpbWUiOiIyMDI0LTAxLTAxVDAwOjAwOjAwWiIsImxpbmtUYXJnZXQiOiIifQ==";
        let stat: ContainerPathStat =
            serde_json::from_slice(&base64_decode(header).unwrap()).unwrap();
        assert_eq!(stat.name, "etc");
        assert!(stat.is_dir());
    }
}
