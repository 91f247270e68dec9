//! Image endpoints: list, inspect, history, tag, remove, prune, import,
//! load and save.

use berth_api::filters::Filters;
use berth_api::types::image::{
    HistoryItem, ImageDeleteItem, ImageInspect, ImageSummary, ImagesPruneResponse,
};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::body::{Body, ResponseBody};
use crate::client::{Client, Request, Response};
use crate::error::{Error, Result};
use crate::query::{Query, escape_path};
use crate::reference::Reference;

/// Content type of image archives.
pub const TAR: &str = "application/x-tar";

/// `GET /images/json` parameters.
#[derive(Debug, Clone, Default)]
pub struct ImageListOptions {
    pub all: bool,
    pub digests: bool,
    pub shared_size: bool,
    pub filters: Filters,
}

/// Where `import` takes the root filesystem from.
pub enum ImportSource {
    /// A tarball sent in the request body (`fromSrc=-`).
    Body(Body),
    /// A URL the daemon downloads.
    Url(String),
}

/// `POST /images/create?fromSrc=…` parameters besides the source.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub message: Option<String>,
    /// Dockerfile instructions applied to the config (`CMD ["sh"]`, …).
    pub changes: Vec<String>,
    pub platform: Option<String>,
}

impl Client {
    pub async fn image_list(&self, opts: &ImageListOptions) -> Result<Vec<ImageSummary>> {
        self.image_list_as(opts).await
    }

    pub async fn image_list_as<T: DeserializeOwned>(
        &self,
        opts: &ImageListOptions,
    ) -> Result<Vec<T>> {
        let query = Query::new()
            .flag("all", opts.all)
            .flag("digests", opts.digests)
            .flag("shared-size", opts.shared_size)
            .filters(&opts.filters);
        self.get_json("/images/json", query).await
    }

    pub async fn image_inspect(&self, name: &str) -> Result<ImageInspect> {
        let raw = self.image_inspect_raw(name).await?;
        serde_json::from_slice(&raw).map_err(Error::Decode)
    }

    /// The inspect document exactly as the daemon sent it.
    pub async fn image_inspect_raw(&self, name: &str) -> Result<Bytes> {
        let path = format!("/images/{}/json", escape_path(name));
        self.send(Request::get(path)).await?.bytes().await
    }

    pub async fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        self.image_history_as(name).await
    }

    pub async fn image_history_as<T: DeserializeOwned>(&self, name: &str) -> Result<Vec<T>> {
        let path = format!("/images/{}/history", escape_path(name));
        self.get_json(&path, Query::new()).await
    }

    /// Tags `source` as `target` (`repo[:tag]`, `latest` by default).
    pub async fn image_tag(&self, source: &str, target: &str) -> Result<()> {
        let reference = Reference::parse_normalized(target).map_err(|e| {
            Error::InvalidArgument(format!(
                "Error parsing reference: {target:?} is not a valid repository/tag: {e}"
            ))
        })?;
        if reference.digest.is_some() {
            return Err(Error::InvalidArgument(
                "refusing to create a tag with a digest reference".into(),
            ));
        }
        let reference = reference.with_default_tag();
        let query = Query::new()
            .with("repo", reference.name())
            .opt("tag", reference.tag.as_deref());
        let path = format!("/images/{}/tag", escape_path(source));
        self.send_empty(Request::post(path).query(query)).await?;
        Ok(())
    }

    pub async fn image_remove(
        &self,
        name: &str,
        force: bool,
        no_prune: bool,
    ) -> Result<Vec<ImageDeleteItem>> {
        let query = Query::new().flag("force", force).flag("noprune", no_prune);
        let path = format!("/images/{}", escape_path(name));
        self.delete_json(&path, query).await
    }

    pub async fn images_prune(&self, filters: &Filters) -> Result<ImagesPruneResponse> {
        let query = Query::new().filters(filters);
        self.post_json::<(), _>("/images/prune", query, None).await
    }

    /// `POST /images/load`: the answer is a JSON progress stream (see
    /// [`Response::is_json`]) or plain text from old daemons.
    pub async fn image_load(&self, archive: Body, quiet: bool) -> Result<Response> {
        let query = Query::new().flag("quiet", quiet);
        let req = Request::post("/images/load")
            .query(query)
            .body(archive.with_content_type(TAR));
        self.send(req).await
    }

    /// `GET /images/get?names=…`: the archive, streamed.
    pub async fn image_save(&self, names: &[String]) -> Result<ResponseBody> {
        let mut query = Query::new();
        for name in names {
            query.push("names", name.as_str());
        }
        let resp = self.send(Request::get("/images/get").query(query)).await?;
        Ok(resp.into_body())
    }

    /// `POST /images/create?fromImage=…&tag=…`: pulls an image; the answer
    /// is a progress stream. `registry_auth` is the `X-Registry-Auth`
    /// value.
    pub async fn image_pull(
        &self,
        reference: &str,
        platform: Option<&str>,
        registry_auth: Option<&str>,
    ) -> Result<Response> {
        let r = Reference::parse_normalized(reference).map_err(Error::InvalidArgument)?;
        let tag = match (&r.digest, &r.tag) {
            (Some(d), _) => d.clone(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        };
        let query = Query::new()
            .with("fromImage", r.name())
            .with("tag", tag)
            .opt(
                "platform",
                platform
                    .filter(|p| !p.is_empty())
                    .map(str::to_lowercase)
                    .as_deref(),
            );
        let mut req = Request::post("/images/create").query(query);
        if let Some(auth) = registry_auth
            && let Ok(v) = http::HeaderValue::from_str(auth)
        {
            req = req.header(http::HeaderName::from_static("x-registry-auth"), v);
        }
        self.send(req).await
    }

    /// `POST /images/create?fromSrc=…`: the answer is a progress stream
    /// whose last status is the new image's ID.
    pub async fn image_import(
        &self,
        source: ImportSource,
        reference: Option<&str>,
        opts: &ImportOptions,
    ) -> Result<Response> {
        if let Some(r) = reference {
            Reference::parse_normalized(r).map_err(Error::InvalidArgument)?;
        }
        let (from_src, body) = match source {
            ImportSource::Body(body) => ("-".to_string(), body.with_content_type(TAR)),
            ImportSource::Url(url) => (url, Body::empty()),
        };
        let mut query = Query::new()
            .with("fromSrc", from_src)
            .opt("repo", reference)
            .opt("message", opts.message.as_deref())
            .opt(
                "platform",
                opts.platform.as_deref().map(str::to_lowercase).as_deref(),
            );
        for change in &opts.changes {
            query.push("changes", change.as_str());
        }
        let req = Request::post("/images/create").query(query).body(body);
        self.send(req).await
    }
}
