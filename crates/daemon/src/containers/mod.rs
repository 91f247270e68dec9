//! The container service: the table of containers, names, and every
//! container operation of the API, one verb per module.

mod archive;
mod attach;
mod create;
mod files;
pub mod health;
mod inspect;
mod list;
mod logs;
mod monitor;
pub mod names;
mod network;
mod ops;
pub mod record;
mod recover;
mod remove;
pub mod signals;
mod start;
pub mod state;
mod stats;
mod stop;

pub mod backend;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use berth_api::Error;
use berth_layer::Digest;
use berth_layer::store::LayerStore;
use berth_network::netns::NetnsManager;
use berth_runtime::runtimes::Runtimes;
use berth_runtime::spec::HostInfo;
use tokio::sync::watch;

use crate::config::DaemonConfig;
use crate::events::EventService;
use crate::images::{ImageService, ImageUsers};
use crate::system::ContainerCounts;
use record::{ContainerStore, Record};
use state::Status;

pub use attach::parse_detach_keys;
pub(crate) use attach::write_frame;
pub use files::host_resolvers_all_loopback as files_host_resolvers_all_loopback;
pub use stats::Sample;

/// What waiters see change.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub status: Status,
    /// Incremented at every exit.
    pub exits: u64,
    pub exit_code: i64,
    pub error: String,
    pub removed: bool,
}

/// One container: its record, a lock that serialises lifecycle operations
/// and a channel that announces state changes.
pub struct Container {
    pub id: String,
    rec: Mutex<Record>,
    notice: watch::Sender<Notice>,
    lifecycle: tokio::sync::Mutex<()>,
    /// Set while a restart is pending (back-off); cleared to cancel it.
    restart_pending: Mutex<Option<tokio::task::AbortHandle>>,
    /// The shim of the running container.
    shim: Mutex<Option<berth_shim::client::ShimClient>>,
    /// Attaches waiting for the next start (`docker run` attaches first).
    pending_attaches: Mutex<Vec<tokio::sync::oneshot::Sender<start::AttachHandoff>>>,
    /// Back-off of the restart manager.
    restart_delay: Mutex<std::time::Duration>,
}

impl Container {
    fn new(record: Record) -> Arc<Self> {
        let notice = Notice {
            status: record.state.status,
            exits: 0,
            exit_code: record.state.exit_code,
            error: record.state.error.clone(),
            removed: false,
        };
        let (tx, _) = watch::channel(notice);
        Arc::new(Self {
            id: record.id.clone(),
            rec: Mutex::new(record),
            notice: tx,
            lifecycle: tokio::sync::Mutex::new(()),
            restart_pending: Mutex::new(None),
            shim: Mutex::new(None),
            pending_attaches: Mutex::new(Vec::new()),
            restart_delay: Mutex::new(std::time::Duration::ZERO),
        })
    }

    /// A copy of the record.
    pub fn snapshot(&self) -> Record {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        match self.rec.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn subscribe(&self) -> watch::Receiver<Notice> {
        self.notice.subscribe()
    }

    /// Publishes the current state to waiters.
    fn announce(&self, exited: bool) {
        let rec = self.lock();
        let status = rec.state.status;
        let exit_code = rec.state.exit_code;
        let error = rec.state.error.clone();
        drop(rec);
        self.notice.send_modify(|n| {
            n.status = status;
            n.exit_code = exit_code;
            n.error = error;
            if exited {
                n.exits += 1;
            }
        });
    }

    pub fn shim(&self) -> Option<berth_shim::client::ShimClient> {
        match self.shim.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_shim(&self, client: Option<berth_shim::client::ShimClient>) {
        match self.shim.lock() {
            Ok(mut g) => *g = client,
            Err(p) => *p.into_inner() = client,
        }
    }

    fn cancel_restart(&self) -> bool {
        let pending = match self.restart_pending.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        match pending {
            Some(handle) => {
                handle.abort();
                true
            }
            None => false,
        }
    }
}

/// How much of the container ID names its run directory.
pub const RUN_DIR_ID_LEN: usize = 24;

/// Paths and services the container operations need.
pub struct Ctx {
    pub config: DaemonConfig,
    pub store: ContainerStore,
    pub images: Arc<ImageService>,
    pub layers: Arc<LayerStore>,
    pub events: Arc<EventService>,
    pub netns: NetnsManager,
    /// Networks (containers/network.rs calls into its controller).
    pub networks: Arc<crate::networks::NetworkService>,
    pub runtimes: Runtimes,
    pub host: HostInfo,
    pub ncpu: i64,
    pub shim_binary: PathBuf,
}

impl Ctx {
    /// `<exec-root>/c/<first 24 hex of the id>`: the bundle, and the shim's
    /// sockets and exit record. Short, because unix socket paths must fit
    /// in 108 bytes.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.config
            .exec_root
            .join("c")
            .join(&id[..id.len().min(RUN_DIR_ID_LEN)])
    }

    /// `<exec-root>/runtime/<name>`: the runtime's `--root`.
    pub fn runtime_root(&self, runtime: &str) -> PathBuf {
        self.config.exec_root.join("runtime").join(runtime)
    }

    pub fn shim_socket(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("shim.sock")
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.store.dir_of(id).join(format!("{id}-json.log"))
    }
}

pub struct ContainerService {
    pub ctx: Ctx,
    table: RwLock<BTreeMap<String, Arc<Container>>>,
    names: Mutex<HashMap<String, String>>,
    /// Stats samplers shared by subscribers (stats.rs).
    samplers: stats::Samplers,
    /// Health monitors and the exec service they probe through (health.rs).
    monitors: health::Monitors,
}

impl ContainerService {
    pub fn new(ctx: Ctx) -> Arc<Self> {
        Arc::new(Self {
            ctx,
            table: RwLock::new(BTreeMap::new()),
            names: Mutex::new(HashMap::new()),
            samplers: stats::Samplers::default(),
            monitors: health::Monitors::default(),
        })
    }

    fn table(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Container>>> {
        match self.table.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn table_mut(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Container>>> {
        match self.table.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        match self.names.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Every container, newest first.
    pub fn all(&self) -> Vec<Arc<Container>> {
        let mut list: Vec<Arc<Container>> = self.table().values().cloned().collect();
        list.sort_by_key(|c| std::cmp::Reverse(c.lock().created));
        list
    }

    /// Docker's lookup: full ID, then name, then unique ID prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Arc<Container>, Error> {
        let not_found = || Error::not_found(format!("No such container: {name_or_id}"));
        if name_or_id.is_empty() {
            return Err(not_found());
        }
        let table = self.table();
        if let Some(c) = table.get(name_or_id) {
            return Ok(c.clone());
        }
        let bare = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if let Some(id) = self.names().get(bare).cloned()
            && let Some(c) = table.get(&id)
        {
            return Ok(c.clone());
        }
        let mut matches = table
            .range(name_or_id.to_string()..)
            .take_while(|(k, _)| k.starts_with(name_or_id));
        let Some((_, first)) = matches.next() else {
            return Err(not_found());
        };
        if matches.next().is_some() {
            return Err(Error::invalid(format!(
                "multiple IDs found with provided prefix: {name_or_id}"
            )));
        }
        Ok(first.clone())
    }

    /// Reserves `name` for `id`; a taken name is Docker's 409.
    fn reserve_name(&self, name: &str, id: &str) -> Result<(), Error> {
        let mut names = self.names();
        if let Some(owner) = names.get(name)
            && owner != id
        {
            return Err(Error::conflict(format!(
                "Conflict. The container name \"/{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
            )));
        }
        names.insert(name.to_string(), id.to_string());
        Ok(())
    }

    fn release_name(&self, name: &str, id: &str) {
        let mut names = self.names();
        if names.get(name).is_some_and(|owner| owner == id) {
            names.remove(name);
        }
    }

    fn insert(&self, c: Arc<Container>) {
        self.table_mut().insert(c.id.clone(), c);
    }

    fn forget(&self, c: &Container) {
        let name = c.lock().name.clone();
        self.table_mut().remove(&c.id);
        self.release_name(&name, &c.id);
    }

    /// Attributes of container events: image, name and labels.
    pub(crate) fn event(&self, c: &Container, action: &str, extra: &[(&str, String)]) {
        let rec = c.lock();
        let mut attrs: BTreeMap<String, String> = rec.config.labels.clone().unwrap_or_default();
        attrs.insert("image".to_string(), rec.image_ref.clone());
        attrs.insert("name".to_string(), rec.name.clone());
        drop(rec);
        for (k, v) in extra {
            attrs.insert(k.to_string(), v.clone());
        }
        self.ctx.events.publish("container", action, &c.id, attrs);
    }

    /// Saves the record of `c` (its state included).
    fn save(&self, c: &Container) -> Result<(), Error> {
        let rec = c.snapshot();
        self.ctx.store.save(&rec)
    }
}

/// The image service asks the container service which images are in use.
pub struct Users(pub std::sync::Weak<ContainerService>);

impl ImageUsers for Users {
    fn users(&self, image: &Digest) -> Vec<(String, bool)> {
        let Some(svc) = self.0.upgrade() else {
            return Vec::new();
        };
        svc.all()
            .iter()
            .filter_map(|c| {
                let rec = c.lock();
                (rec.image_id == *image).then(|| (c.id.clone(), rec.state.status.has_process()))
            })
            .collect()
    }

    fn layer_parents(&self) -> Vec<Digest> {
        let Some(svc) = self.0.upgrade() else {
            return Vec::new();
        };
        svc.all()
            .iter()
            .filter_map(|c| c.lock().top_layer.clone())
            .collect()
    }
}

impl ContainerCounts for Users {
    fn counts(&self) -> (i64, i64, i64, i64) {
        let Some(svc) = self.0.upgrade() else {
            return (0, 0, 0, 0);
        };
        let (mut total, mut running, mut paused, mut stopped) = (0, 0, 0, 0);
        for c in svc.all() {
            total += 1;
            match c.lock().state.status {
                Status::Running | Status::Restarting => running += 1,
                Status::Paused => paused += 1,
                _ => stopped += 1,
            }
        }
        (total, running, paused, stopped)
    }

    fn disk_usage(&self) -> Vec<berth_api::types::container::ContainerSummary> {
        match self.0.upgrade() {
            Some(svc) => svc.disk_usage(),
            None => Vec::new(),
        }
    }
}
