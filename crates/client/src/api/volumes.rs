//! Volume endpoints: list, inspect, create, remove, prune.

use berth_api::filters::Filters;
use berth_api::types::volume::{
    Volume, VolumeCreateBody, VolumeListResponse, VolumesPruneResponse,
};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::query::{Query, escape_path};

fn volume_path(name: &str) -> String {
    format!("/volumes/{}", escape_path(name))
}

impl Client {
    pub async fn volume_list(&self, filters: &Filters) -> Result<VolumeListResponse> {
        self.volume_list_as(filters).await
    }

    pub async fn volume_list_as<T: DeserializeOwned>(&self, filters: &Filters) -> Result<T> {
        self.get_json("/volumes", Query::new().filters(filters))
            .await
    }

    pub async fn volume_inspect(&self, name: &str) -> Result<Volume> {
        let raw = self.volume_inspect_raw(name).await?;
        serde_json::from_slice(&raw).map_err(Error::Decode)
    }

    pub async fn volume_inspect_raw(&self, name: &str) -> Result<Bytes> {
        self.send(Request::get(volume_path(name)))
            .await?
            .bytes()
            .await
    }

    pub async fn volume_create(&self, body: &VolumeCreateBody) -> Result<Volume> {
        self.post_json("/volumes/create", Query::new(), Some(body))
            .await
    }

    pub async fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        let req = Request::delete(volume_path(name)).query(Query::new().flag("force", force));
        self.send_empty(req).await?;
        Ok(())
    }

    pub async fn volumes_prune(&self, filters: &Filters) -> Result<VolumesPruneResponse> {
        self.post_json::<(), _>("/volumes/prune", Query::new().filters(filters), None)
            .await
    }
}
