//! The daemon's services: the state behind every API area, each service in
//! its own module, wired together by [`Daemon`].

pub mod blocking;
pub mod config;
pub mod containers;
pub mod events;
pub mod exec;
pub mod glob;
pub mod host;
pub mod images;
pub mod networks;
pub mod runtimes;
pub mod startup;
pub mod system;
pub mod timestamp;

use std::sync::Arc;

use berth_api::Error;
use berth_api::types::system::{SystemDf, SystemInfo, SystemVersion};
use berth_api::version::ApiVersion;
use berth_server::backend::{Backend, EventQuery, EventStream, SystemBackend};

pub use config::DaemonConfig;
use containers::ContainerService;
use containers::backend::ContainerApi;
use events::EventService;
use exec::{ExecApi, ExecService};
use images::ImageService;
use images::backend::ImageApi;
use networks::{NetworkApi, NetworkService};
use system::SystemService;

/// Every service of a running daemon.
pub struct Daemon {
    pub events: Arc<EventService>,
    pub images: Arc<ImageService>,
    pub system: Arc<SystemService>,
    pub containers: Arc<ContainerService>,
    pub exec: Arc<ExecService>,
    pub networks: Arc<NetworkService>,
    image_api: ImageApi,
    system_api: SystemApi,
    container_api: ContainerApi,
    exec_api: ExecApi,
    network_api: NetworkApi,
}

impl Daemon {
    /// Opens every store under the data root and builds the services
    /// (blocking).
    pub fn start(config: DaemonConfig) -> Result<Arc<Daemon>, Error> {
        let parts = startup::open(config)?;
        let image_api = ImageApi(parts.images.clone());
        let system_api = SystemApi(parts.system.clone());
        let container_api = ContainerApi(parts.containers.clone());
        let exec_api = ExecApi(parts.exec.clone());
        let network_api = NetworkApi {
            networks: parts.networks.clone(),
            containers: parts.containers.clone(),
        };
        Ok(Arc::new(Daemon {
            events: parts.events,
            images: parts.images,
            system: parts.system,
            containers: parts.containers,
            exec: parts.exec,
            networks: parts.networks,
            image_api,
            system_api,
            container_api,
            exec_api,
            network_api,
        }))
    }

    /// Loads the containers, reconnects to running ones and restarts what
    /// the restart policies say.
    pub async fn restore(&self) -> Result<(), Error> {
        self.containers.restore().await
    }

    /// Clean shutdown: stops containers (unless live-restore), ends event
    /// streams and unmounts layers no running container uses.
    pub async fn shutdown(&self) {
        let still_running = self.containers.shutdown().await;
        // Proxies and DNS servers stop; the firewall table goes when no
        // container needs it.
        let ctl = self.networks.ctl.clone();
        let _ = blocking::run(move || {
            ctl.shutdown();
            Ok(())
        })
        .await;
        self.events.close();
        if still_running {
            tracing::info!("containers keep running (live-restore); their layers stay mounted");
            return;
        }
        let layers = self.images.layers().clone();
        let _ = blocking::run(move || {
            if let Err(e) = layers.shutdown() {
                tracing::warn!(error = %e, "unmounting layers failed");
            }
            Ok(())
        })
        .await;
    }
}

/// The system service as the server's `SystemBackend`.
#[derive(Clone)]
pub struct SystemApi(pub Arc<SystemService>);

impl SystemBackend for SystemApi {
    async fn version(&self) -> Result<SystemVersion, Error> {
        Ok(self.0.version())
    }

    async fn info(&self) -> Result<SystemInfo, Error> {
        let svc = self.0.clone();
        blocking::run(move || Ok(svc.info())).await
    }

    async fn df(&self, version: ApiVersion) -> Result<SystemDf, Error> {
        let svc = self.0.clone();
        blocking::run(move || svc.df(version)).await
    }

    async fn events(&self, query: EventQuery) -> Result<EventStream, Error> {
        query.filters.validate(events::EVENT_FILTERS)?;
        Ok(self.0.events.subscribe(query))
    }
}

impl Backend for Daemon {
    type System = SystemApi;
    type Images = ImageApi;
    type Containers = ContainerApi;
    type Exec = ExecApi;
    type Networks = NetworkApi;

    fn containers(&self) -> &ContainerApi {
        &self.container_api
    }

    fn exec(&self) -> &ExecApi {
        &self.exec_api
    }

    fn networks(&self) -> &NetworkApi {
        &self.network_api
    }

    fn system(&self) -> &SystemApi {
        &self.system_api
    }

    fn images(&self) -> &ImageApi {
        &self.image_api
    }
}
