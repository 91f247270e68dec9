//! The network service as the server's `NetworkBackend`; connect and
//! disconnect go through the container service, which owns containers.

use std::sync::Arc;

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::types::network::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse, NetworkDisconnectRequest,
    NetworkInspect, NetworksPruneResponse,
};
use berth_server::backend::NetworkBackend;

use super::NetworkService;
use crate::blocking;
use crate::containers::ContainerService;

#[derive(Clone)]
pub struct NetworkApi {
    pub networks: Arc<NetworkService>,
    pub containers: Arc<ContainerService>,
}

impl NetworkBackend for NetworkApi {
    async fn list(&self, filters: Filters) -> Result<Vec<NetworkInspect>, Error> {
        let svc = self.networks.clone();
        blocking::run(move || svc.list(&filters)).await
    }

    async fn inspect(&self, id: &str) -> Result<NetworkInspect, Error> {
        let svc = self.networks.clone();
        let id = id.to_string();
        blocking::run(move || svc.inspect(&id)).await
    }

    async fn create(&self, req: NetworkCreateRequest) -> Result<NetworkCreateResponse, Error> {
        let svc = self.networks.clone();
        blocking::run(move || svc.create(&req)).await
    }

    async fn remove(&self, id: &str) -> Result<(), Error> {
        let svc = self.networks.clone();
        let id = id.to_string();
        blocking::run(move || svc.remove(&id)).await
    }

    async fn connect(&self, id: &str, req: NetworkConnectRequest) -> Result<(), Error> {
        self.containers
            .connect_network(&req.container, id, req.endpoint_config.unwrap_or_default())
            .await
    }

    async fn disconnect(&self, id: &str, req: NetworkDisconnectRequest) -> Result<(), Error> {
        self.containers
            .disconnect_network(&req.container, id, req.force)
            .await
    }

    async fn prune(&self, filters: Filters) -> Result<NetworksPruneResponse, Error> {
        let svc = self.networks.clone();
        blocking::run(move || svc.prune(&filters)).await
    }
}
