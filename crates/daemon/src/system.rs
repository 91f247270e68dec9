//! `/version`, `/info` and `/system/df`: what the daemon is and what it
//! holds, from real figures.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_api::Error;
use berth_api::types::system::{
    AddressPool, Commit, ComponentVersion, IndexInfo, Platform, PluginsInfo, RegistryConfig,
    RuntimeInfo, SwarmInfo, SystemDf, SystemInfo, SystemVersion,
};
use berth_api::version::{API_VERSION, ApiVersion, MIN_API_VERSION};

use crate::config::DaemonConfig;
use crate::events::EventService;
use crate::host::{self, HostFacts};
use crate::images::ImageService;

/// What `/info` and `/system/df` need from the container service.
pub trait ContainerCounts: Send + Sync {
    /// (total, running, paused, stopped)
    fn counts(&self) -> (i64, i64, i64, i64);
    /// Every container with its sizes.
    fn disk_usage(&self) -> Vec<berth_api::types::container::ContainerSummary>;
}

pub struct SystemService {
    pub config: DaemonConfig,
    pub facts: HostFacts,
    pub engine_id: String,
    pub events: Arc<EventService>,
    pub images: Arc<ImageService>,
    pub containers: std::sync::RwLock<Option<Arc<dyn ContainerCounts>>>,
    /// Runtimes this daemon can use (name → path) and the default.
    pub runtimes: BTreeMap<String, RuntimeInfo>,
    pub default_runtime: String,
    pub warnings: Vec<String>,
    /// `debug`, changeable by a reload.
    pub debug: std::sync::atomic::AtomicBool,
}

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const GIT_COMMIT: &str = match option_env!("BERTH_GIT_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

impl SystemService {
    pub fn set_debug(&self, debug: bool) {
        self.debug
            .store(debug, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn version(&self) -> SystemVersion {
        let mut details = BTreeMap::new();
        details.insert("ApiVersion".to_string(), API_VERSION.to_string());
        details.insert("Arch".to_string(), self.facts.go_arch.clone());
        details.insert("BuildTime".to_string(), String::new());
        details.insert("Experimental".to_string(), "false".to_string());
        details.insert("GitCommit".to_string(), GIT_COMMIT.to_string());
        details.insert("GoVersion".to_string(), rustc_version());
        details.insert(
            "KernelVersion".to_string(),
            self.facts.kernel_version.clone(),
        );
        details.insert("MinAPIVersion".to_string(), MIN_API_VERSION.to_string());
        details.insert("Os".to_string(), "linux".to_string());
        let mut components = vec![ComponentVersion {
            name: "Engine".to_string(),
            version: VERSION.to_string(),
            details: Some(details),
        }];
        for (name, rt) in &self.runtimes {
            let mut d = BTreeMap::new();
            d.insert("Path".to_string(), rt.path.clone());
            components.push(ComponentVersion {
                name: name.clone(),
                version: runtime_version(&rt.path).unwrap_or_default(),
                details: Some(d),
            });
        }
        SystemVersion {
            platform: Platform {
                name: "Berth".to_string(),
            },
            components,
            version: VERSION.to_string(),
            api_version: API_VERSION.to_string(),
            min_api_version: MIN_API_VERSION.to_string(),
            git_commit: GIT_COMMIT.to_string(),
            go_version: rustc_version(),
            os: "linux".to_string(),
            arch: self.facts.go_arch.clone(),
            kernel_version: self.facts.kernel_version.clone(),
            experimental: false,
            build_time: String::new(),
        }
    }

    pub fn info(&self) -> SystemInfo {
        let (total, running, paused, stopped) = self
            .containers
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|c| c.counts()))
            .unwrap_or((0, 0, 0, 0));
        let driver = self.images.layers().driver();
        let cgroup_v2 = self.facts.cgroups == host::CgroupLayout::V2;
        let mut insecure = vec!["::1/128".to_string(), "127.0.0.0/8".to_string()];
        let mut index_configs = BTreeMap::new();
        index_configs.insert(
            "docker.io".to_string(),
            IndexInfo {
                name: "docker.io".to_string(),
                mirrors: self.config.registry_mirrors.clone(),
                secure: true,
                official: true,
            },
        );
        for reg in &self.config.insecure_registries {
            if reg.contains('/') {
                insecure.push(reg.clone());
            } else {
                index_configs.insert(
                    reg.clone(),
                    IndexInfo {
                        name: reg.clone(),
                        mirrors: Vec::new(),
                        secure: false,
                        official: false,
                    },
                );
            }
        }
        let mut warnings = self.warnings.clone();
        warnings.extend(self.config.warnings.iter().cloned());
        SystemInfo {
            id: self.engine_id.clone(),
            containers: total,
            containers_running: running,
            containers_paused: paused,
            containers_stopped: stopped,
            images: self.images.count() as i64,
            driver: driver.name().to_string(),
            driver_status: driver.status().into_iter().map(|(k, v)| [k, v]).collect(),
            plugins: PluginsInfo {
                volume: vec!["local".to_string()],
                network: vec!["bridge".to_string(), "host".to_string(), "null".to_string()],
                authorization: None,
                log: vec!["json-file".to_string()],
            },
            memory_limit: true,
            swap_limit: true,
            cpu_cfs_period: true,
            cpu_cfs_quota: true,
            cpu_shares: true,
            cpu_set: true,
            pids_limit: true,
            ipv4_forwarding: host::ipv4_forwarding(),
            debug: self.debug.load(std::sync::atomic::Ordering::Relaxed),
            n_fd: host::open_fds(),
            oom_kill_disable: !cgroup_v2,
            n_goroutines: host::threads(),
            system_time: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, false),
            logging_driver: "json-file".to_string(),
            cgroup_driver: "cgroupfs".to_string(),
            cgroup_version: self.facts.cgroups.version().to_string(),
            n_events_listener: self.events.listeners() as i64,
            kernel_version: self.facts.kernel_version.clone(),
            operating_system: self.facts.operating_system.clone(),
            os_version: self.facts.os_version.clone(),
            os_type: "linux".to_string(),
            architecture: self.facts.machine.clone(),
            index_server_address: "https://index.docker.io/v1/".to_string(),
            registry_config: RegistryConfig {
                allow_nondistributable_artifacts_cidrs: None,
                allow_nondistributable_artifacts_hostnames: None,
                insecure_registry_cidrs: insecure,
                index_configs,
                mirrors: self.config.registry_mirrors.clone(),
            },
            ncpu: self.facts.ncpu,
            mem_total: self.facts.mem_total,
            generic_resources: None,
            docker_root_dir: self.config.data_root.display().to_string(),
            http_proxy: std::env::var("HTTP_PROXY")
                .or_else(|_| std::env::var("http_proxy"))
                .unwrap_or_default(),
            https_proxy: std::env::var("HTTPS_PROXY")
                .or_else(|_| std::env::var("https_proxy"))
                .unwrap_or_default(),
            no_proxy: std::env::var("NO_PROXY")
                .or_else(|_| std::env::var("no_proxy"))
                .unwrap_or_default(),
            name: host::hostname(),
            labels: self.config.labels.clone(),
            experimental_build: false,
            server_version: VERSION.to_string(),
            runtimes: self.runtimes.clone(),
            default_runtime: self.default_runtime.clone(),
            swarm: SwarmInfo {
                local_node_state: "inactive".to_string(),
                ..Default::default()
            },
            live_restore_enabled: self.config.live_restore,
            isolation: String::new(),
            init_binary: String::new(),
            containerd_commit: Commit::default(),
            runc_commit: Commit::default(),
            init_commit: Commit::default(),
            security_options: cgroup_v2
                .then(|| "name=cgroupns".to_string())
                .into_iter()
                .collect(),
            default_address_pools: vec![AddressPool {
                base: "172.17.0.0/16".to_string(),
                size: 16,
            }],
            warnings,
        }
    }

    pub fn df(&self, version: ApiVersion) -> Result<SystemDf, Error> {
        let (layers_size, images) = self.images.disk_usage(version)?;
        let containers = self
            .containers
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|c| c.disk_usage()))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| serde_json::to_value(c).ok())
            .collect();
        Ok(SystemDf {
            layers_size,
            images,
            containers,
            volumes: Vec::new(),
            build_cache: Vec::new(),
        })
    }
}

fn rustc_version() -> String {
    option_env!("BERTH_RUSTC_VERSION")
        .unwrap_or("rust")
        .to_string()
}

/// The first line of `<runtime> --version`'s version number.
/// The version a runtime binary reports (`<path> --version`), asked once
/// per path: running it took most of each `/version` request.
fn runtime_version(path: &str) -> Option<String> {
    static CACHE: std::sync::Mutex<BTreeMap<String, Option<String>>> =
        std::sync::Mutex::new(BTreeMap::new());
    if let Ok(cache) = CACHE.lock()
        && let Some(v) = cache.get(path)
    {
        return v.clone();
    }
    let v = ask_runtime_version(path);
    if let Ok(mut cache) = CACHE.lock() {
        cache.insert(path.to_string(), v.clone());
    }
    v
}

fn ask_runtime_version(path: &str) -> Option<String> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .and_then(|l| {
            l.split_whitespace()
                .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        })
        .map(str::to_string)
}
