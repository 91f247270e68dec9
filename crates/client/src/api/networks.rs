//! Network endpoints: list, inspect, create, remove, connect, disconnect,
//! prune.

use berth_api::filters::Filters;
use berth_api::types::container::EndpointSettings;
use berth_api::types::network::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse, NetworkDisconnectRequest,
    NetworkInspect, NetworksPruneResponse,
};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::query::{Query, escape_path};

fn network_path(id: &str, rest: &str) -> String {
    format!("/networks/{}{rest}", escape_path(id))
}

impl Client {
    pub async fn network_list(&self, filters: &Filters) -> Result<Vec<NetworkInspect>> {
        self.network_list_as(filters).await
    }

    pub async fn network_list_as<T: DeserializeOwned>(&self, filters: &Filters) -> Result<Vec<T>> {
        self.get_json("/networks", Query::new().filters(filters))
            .await
    }

    pub async fn network_inspect(&self, id: &str) -> Result<NetworkInspect> {
        let raw = self.network_inspect_raw(id, false).await?;
        serde_json::from_slice(&raw).map_err(Error::Decode)
    }

    /// The inspect document as sent; `verbose` adds swarm details.
    pub async fn network_inspect_raw(&self, id: &str, verbose: bool) -> Result<Bytes> {
        let query = Query::new().flag("verbose", verbose);
        self.send(Request::get(network_path(id, "")).query(query))
            .await?
            .bytes()
            .await
    }

    pub async fn network_create(
        &self,
        req: &NetworkCreateRequest,
    ) -> Result<NetworkCreateResponse> {
        self.post_json("/networks/create", Query::new(), Some(req))
            .await
    }

    pub async fn network_remove(&self, id: &str) -> Result<()> {
        self.send_empty(Request::delete(network_path(id, "")))
            .await?;
        Ok(())
    }

    pub async fn network_connect(
        &self,
        network: &str,
        container: &str,
        endpoint: Option<EndpointSettings>,
    ) -> Result<()> {
        let body = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: endpoint,
        };
        let req = Request::post(network_path(network, "/connect")).json(&body)?;
        self.send_empty(req).await?;
        Ok(())
    }

    pub async fn network_disconnect(
        &self,
        network: &str,
        container: &str,
        force: bool,
    ) -> Result<()> {
        let body = NetworkDisconnectRequest {
            container: container.to_string(),
            force,
        };
        let req = Request::post(network_path(network, "/disconnect")).json(&body)?;
        self.send_empty(req).await?;
        Ok(())
    }

    pub async fn networks_prune(&self, filters: &Filters) -> Result<NetworksPruneResponse> {
        self.post_json::<(), _>("/networks/prune", Query::new().filters(filters), None)
            .await
    }
}
