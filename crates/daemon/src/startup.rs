//! Opening the daemon's state at start-up: directories, engine ID, the
//! storage driver (asked for, or the first of overlay2 → vfs that works),
//! the layer, image and reference stores, and the services on top.

use std::path::Path;
use std::sync::Arc;

use berth_api::Error;
use berth_image::image_store::ImageStore;
use berth_image::reference_store::ReferenceStore;
use berth_layer::driver::{self, StorageDriver};
use berth_layer::store::LayerStore;

use crate::config::DaemonConfig;
use crate::containers::record::ContainerStore;
use crate::containers::{ContainerService, Ctx, Users};
use crate::events::EventService;
use crate::exec::ExecService;
use crate::host::HostFacts;
use crate::images::ImageService;
use crate::runtimes;
use crate::system::SystemService;

pub struct Parts {
    pub events: Arc<EventService>,
    pub images: Arc<ImageService>,
    pub system: Arc<SystemService>,
    pub containers: Arc<ContainerService>,
    pub exec: Arc<ExecService>,
    pub networks: Arc<crate::networks::NetworkService>,
}

fn sys(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::system(format!("{what}: {e}"))
}

pub fn open(config: DaemonConfig) -> Result<Parts, Error> {
    berth_fsutil::create_dir_all_mode(&config.data_root, 0o711).map_err(sys(format!(
        "cannot create data root {}",
        config.data_root.display()
    )))?;
    berth_fsutil::create_dir_all_mode(&config.exec_root, 0o700).map_err(sys(format!(
        "cannot create exec root {}",
        config.exec_root.display()
    )))?;
    let tmp = config.data_root.join("tmp");
    // Scratch space of operations cut short by a crash.
    berth_fsutil::remove_dir_all_if_exists(&tmp)
        .map_err(sys(format!("cannot clean {}", tmp.display())))?;
    berth_fsutil::create_dir_all_mode(&tmp, 0o700)
        .map_err(sys(format!("cannot create {}", tmp.display())))?;
    let engine_id = engine_id(&config.data_root)?;

    let driver = choose_driver(&config)?;
    let image_root = config.data_root.join("image").join(driver.name());
    let layers = Arc::new(LayerStore::open(&image_root, driver.clone())?);
    let images = Arc::new(ImageStore::open(&image_root)?);
    let refs = Arc::new(ReferenceStore::open(&image_root.join("repositories.json"))?);
    let events = Arc::new(EventService::new());
    let image_service = Arc::new(ImageService::new(
        layers.clone(),
        images.clone(),
        refs,
        events.clone(),
        tmp,
    ));
    // Layers left behind by an interrupted deletion or load.
    // (The layer store keeps the parents of container layers itself.)
    match layers.gc(&images.live_chain_ids()) {
        Ok(removed) if !removed.is_empty() => {
            tracing::info!(count = removed.len(), "removed layers no image uses");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "layer clean-up at start-up failed"),
    }

    let facts = HostFacts::read();
    let host = berth_runtime::spec::HostInfo::detect().map_err(Error::from_classified)?;
    let extra: Vec<berth_runtime::runtimes::RuntimeConfig> = config
        .runtimes
        .iter()
        .map(|(name, rt)| berth_runtime::runtimes::RuntimeConfig {
            name: name.clone(),
            path: rt.path.clone().into(),
            args: rt.runtime_args.clone(),
        })
        .collect();
    let oci_runtimes = berth_runtime::runtimes::Runtimes::discover(
        &extra,
        config.default_runtime.as_deref(),
        &host,
        &config.exec_root.join("probe"),
    )
    .map_err(Error::from_classified)?;
    let (runtimes, default_runtime, runtime_warnings) = runtimes::describe(&oci_runtimes);
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if crate::containers::files_host_resolvers_all_loopback(&host_resolv) {
        tracing::info!(
            "the host's resolv.conf names only loopback nameservers, which containers cannot reach: containers get public resolvers (8.8.8.8, 8.8.4.4) unless --dns is given"
        );
    }
    let shim_binary = find_shim();
    // The default bridge, user networks and their bridges (networks/).
    let networks = crate::networks::open(&config, &host_resolv, events.clone())?;
    let ctx = Ctx {
        store: ContainerStore::open(&config.data_root.join("containers"))?,
        images: image_service.clone(),
        layers: layers.clone(),
        events: events.clone(),
        netns: berth_network::netns::NetnsManager::new(&config.exec_root.join("netns"))?,
        networks: networks.clone(),
        runtimes: oci_runtimes,
        host,
        ncpu: facts.ncpu,
        shim_binary,
        config: config.clone(),
    };
    let containers = ContainerService::new(ctx);
    let exec = ExecService::new(containers.clone());
    let hooks: Arc<dyn crate::containers::health::ExecHooks> = exec.clone();
    containers.set_exec_hooks(Arc::downgrade(&hooks));
    let users = Arc::new(Users(Arc::downgrade(&containers)));
    image_service.set_users(users.clone());
    let system = Arc::new(SystemService {
        facts,
        engine_id,
        events: events.clone(),
        images: image_service.clone(),
        containers: std::sync::RwLock::new(Some(users)),
        runtimes,
        default_runtime,
        warnings: runtime_warnings,
        debug: std::sync::atomic::AtomicBool::new(config.debug),
        config,
    });
    tracing::info!(
        driver = driver.name(),
        images = image_service.count(),
        "stores opened"
    );
    Ok(Parts {
        events,
        images: image_service,
        system,
        containers,
        exec,
        networks,
    })
}

/// `berth-shim` next to this executable, else on PATH.
fn find_shim() -> std::path::PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("berth-shim")));
    if let Some(p) = beside.filter(|p| p.is_file()) {
        return p;
    }
    match berth_runtime::runtimes::find_binary("berth-shim") {
        Some(p) => p,
        None => {
            tracing::error!(
                "berth-shim not found next to berthd or on PATH: containers cannot start"
            );
            std::path::PathBuf::from("berth-shim")
        }
    }
}

/// The storage driver: the one asked for, else the first that works.
fn choose_driver(config: &DaemonConfig) -> Result<Arc<dyn StorageDriver>, Error> {
    let home = &config.data_root;
    if let Some(name) = &config.storage_driver {
        return driver::probe(name, home)
            .map_err(|e| Error::system(format!("error initializing storage driver {name}: {e}")));
    }
    let mut reasons = Vec::new();
    for name in ["overlay2", "vfs"] {
        match driver::probe(name, home) {
            Ok(d) => {
                tracing::info!(driver = name, "storage driver chosen");
                return Ok(d);
            }
            Err(e) => {
                tracing::warn!(driver = name, reason = %e, "storage driver skipped");
                reasons.push(format!("{name}: {e}"));
            }
        }
    }
    Err(Error::system(format!(
        "no storage driver works on this host ({})",
        reasons.join("; ")
    )))
}

/// A stable identifier of this engine, created on first start.
fn engine_id(root: &Path) -> Result<String, Error> {
    let path = root.join("engine-id");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let id = text.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    let bytes: [u8; 16] = rand::random();
    let h = hex::encode(bytes);
    let id = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    berth_fsutil::atomic_write(&path, id.as_bytes())
        .map_err(sys(format!("cannot write {}", path.display())))?;
    Ok(id)
}
