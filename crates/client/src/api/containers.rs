//! Container endpoints that answer with one JSON document or nothing:
//! create, inspect, list, remove, prune, rename, update, top, changes,
//! export.

use berth_api::filters::Filters;
use berth_api::types::container::{
    ContainerCreateBody, ContainerCreateResponse, ContainerInspect, ContainerSummary,
    ContainersPruneResponse, FilesystemChange, TopResponse, UpdateConfig, UpdateResponse,
};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::body::ResponseBody;
use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::query::{Query, escape_path};

/// `GET /containers/json` parameters.
#[derive(Debug, Clone, Default)]
pub struct ContainerListOptions {
    pub all: bool,
    /// The `n` most recently created containers (any state).
    pub limit: Option<i64>,
    pub size: bool,
    pub filters: Filters,
}

/// `DELETE /containers/{id}` parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    pub force: bool,
    /// Remove the anonymous volumes too (`v`).
    pub volumes: bool,
    /// Remove a legacy link rather than the container (`link`).
    pub link: bool,
}

/// `/containers/{id}/…` for a name or ID.
pub(crate) fn container_path(id: &str, rest: &str) -> String {
    format!("/containers/{}{rest}", escape_path(id))
}

impl Client {
    /// `POST /containers/create` with the `name` and `platform` queries.
    pub async fn container_create(
        &self,
        body: &ContainerCreateBody,
        name: Option<&str>,
        platform: Option<&str>,
    ) -> Result<ContainerCreateResponse> {
        self.container_create_as(body, name, platform).await
    }

    /// Like [`Client::container_create`] with any body (a `serde_json::Value`
    /// to send fields the typed body lacks).
    pub async fn container_create_as<B: Serialize + ?Sized>(
        &self,
        body: &B,
        name: Option<&str>,
        platform: Option<&str>,
    ) -> Result<ContainerCreateResponse> {
        let query = Query::new()
            .opt("name", name.filter(|n| !n.is_empty()))
            .opt(
                "platform",
                platform
                    .filter(|p| !p.is_empty())
                    .map(str::to_lowercase)
                    .as_deref(),
            );
        let req = Request::post("/containers/create")
            .query(query)
            .json(body)?;
        self.send(req).await?.json().await
    }

    pub async fn container_inspect(&self, id: &str) -> Result<ContainerInspect> {
        let raw = self.container_inspect_raw(id, false).await?;
        serde_json::from_slice(&raw).map_err(Error::Decode)
    }

    /// The inspect document as the daemon sent it; `size` adds `SizeRw`
    /// and `SizeRootFs`.
    pub async fn container_inspect_raw(&self, id: &str, size: bool) -> Result<Bytes> {
        let query = Query::new().flag("size", size);
        let req = Request::get(container_path(id, "/json")).query(query);
        self.send(req).await?.bytes().await
    }

    pub async fn container_list(
        &self,
        opts: &ContainerListOptions,
    ) -> Result<Vec<ContainerSummary>> {
        self.container_list_as(opts).await
    }

    pub async fn container_list_as<T: DeserializeOwned>(
        &self,
        opts: &ContainerListOptions,
    ) -> Result<Vec<T>> {
        let mut query = Query::new().flag("all", opts.all);
        if let Some(limit) = opts.limit.filter(|l| *l != -1) {
            query.push("limit", limit.to_string());
        }
        let query = query.flag("size", opts.size).filters(&opts.filters);
        self.get_json("/containers/json", query).await
    }

    pub async fn container_remove(&self, id: &str, opts: RemoveOptions) -> Result<()> {
        let query = Query::new()
            .flag("force", opts.force)
            .flag("link", opts.link)
            .flag("v", opts.volumes);
        let req = Request::delete(container_path(id, "")).query(query);
        self.send_empty(req).await?;
        Ok(())
    }

    pub async fn containers_prune(&self, filters: &Filters) -> Result<ContainersPruneResponse> {
        let query = Query::new().filters(filters);
        self.post_json::<(), _>("/containers/prune", query, None)
            .await
    }

    pub async fn container_rename(&self, id: &str, new_name: &str) -> Result<()> {
        let query = Query::new().with("name", new_name);
        let req = Request::post(container_path(id, "/rename")).query(query);
        self.send_empty(req).await?;
        Ok(())
    }

    pub async fn container_update(
        &self,
        id: &str,
        update: &UpdateConfig,
    ) -> Result<UpdateResponse> {
        self.container_update_as(id, update).await
    }

    /// Like [`Client::container_update`] with any body.
    pub async fn container_update_as<B: Serialize + ?Sized>(
        &self,
        id: &str,
        body: &B,
    ) -> Result<UpdateResponse> {
        self.post_json(&container_path(id, "/update"), Query::new(), Some(body))
            .await
    }

    /// `GET /containers/{id}/top`; `ps_args` as given to `ps` (`-ef` by
    /// default on the daemon).
    pub async fn container_top(&self, id: &str, ps_args: Option<&str>) -> Result<TopResponse> {
        let query = Query::new().opt("ps_args", ps_args.filter(|a| !a.is_empty()));
        self.get_json(&container_path(id, "/top"), query).await
    }

    /// `GET /containers/{id}/changes`; a daemon may answer `null`.
    pub async fn container_changes(&self, id: &str) -> Result<Vec<FilesystemChange>> {
        let list: Option<Vec<FilesystemChange>> = self
            .get_json(&container_path(id, "/changes"), Query::new())
            .await?;
        Ok(list.unwrap_or_default())
    }

    /// `GET /containers/{id}/export`: the root filesystem as a tar stream.
    pub async fn container_export(&self, id: &str) -> Result<ResponseBody> {
        let resp = self
            .send(Request::get(container_path(id, "/export")))
            .await?;
        Ok(resp.into_body())
    }
}
