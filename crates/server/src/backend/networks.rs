//! The networks area's backend: list, inspect, create, remove, connect,
//! disconnect, prune.

use std::future::Future;

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::types::network::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse, NetworkDisconnectRequest,
    NetworkInspect, NetworksPruneResponse,
};

/// Networks.
pub trait NetworkBackend: Send + Sync + 'static {
    /// `GET /networks` (filters `driver`, `id`, `label`, `name`, `scope`,
    /// `type`, `dangling`).
    fn list(
        &self,
        filters: Filters,
    ) -> impl Future<Output = Result<Vec<NetworkInspect>, Error>> + Send;
    fn inspect(&self, id: &str) -> impl Future<Output = Result<NetworkInspect, Error>> + Send;
    fn create(
        &self,
        req: NetworkCreateRequest,
    ) -> impl Future<Output = Result<NetworkCreateResponse, Error>> + Send;
    fn remove(&self, id: &str) -> impl Future<Output = Result<(), Error>> + Send;
    fn connect(
        &self,
        id: &str,
        req: NetworkConnectRequest,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn disconnect(
        &self,
        id: &str,
        req: NetworkDisconnectRequest,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    fn prune(
        &self,
        filters: Filters,
    ) -> impl Future<Output = Result<NetworksPruneResponse, Error>> + Send;
}
