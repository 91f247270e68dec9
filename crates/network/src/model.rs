//! What the controller persists: networks (one JSON file each) and
//! sandboxes (everything one container holds: its endpoints and published
//! ports, one JSON file per container, written *before* the kernel objects
//! exist so that a crash at any moment leaves enough to clean up).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use berth_api::Error;
use serde::{Deserialize, Serialize};

use crate::cidr::{Ipv4Net, Mac};
use crate::ports::Binding;

pub const DRIVER_BRIDGE: &str = "bridge";
pub const DRIVER_HOST: &str = "host";
pub const DRIVER_NULL: &str = "null";

/// A network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub driver: String,
    /// RFC 3339.
    pub created: String,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub attachable: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The driver options as given (`com.docker.network.bridge.name`…).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub ipam_driver: String,
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
    /// Whether the user gave the IPAM configuration.
    #[serde(default)]
    pub ipam_given: bool,
    /// The subnet (host bits cleared) and gateway of a bridge network.
    #[serde(default)]
    pub subnet: Option<Ipv4Net>,
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    #[serde(default)]
    pub ip_range: Option<Ipv4Net>,
    /// The Linux bridge of a bridge network.
    #[serde(default)]
    pub bridge: String,
    /// The bridge existed before (`--bridge`): never deleted by Berth.
    #[serde(default)]
    pub external_bridge: bool,
    #[serde(default = "yes")]
    pub icc: bool,
    #[serde(default = "yes")]
    pub masquerade: bool,
    #[serde(default)]
    pub mtu: u32,
    /// Default host address of published ports.
    #[serde(default)]
    pub host_binding: Option<Ipv4Addr>,
    /// `bridge`, `host` and `none`: created by the daemon, never removed.
    #[serde(default)]
    pub predefined: bool,
}

fn yes() -> bool {
    true
}

impl Network {
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    pub fn is_bridge(&self) -> bool {
        self.driver == DRIVER_BRIDGE
    }

    /// User-defined bridge networks get the embedded DNS server.
    pub fn has_dns(&self) -> bool {
        self.is_bridge() && !self.predefined
    }
}

/// A container's attachment to a bridge network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub network_id: String,
    pub network_name: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    /// The default route goes through this endpoint's gateway.
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    pub mac: Mac,
    /// The host end of the veth pair.
    pub veth: String,
    /// The name inside the container (`eth0`).
    pub ifname: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The names the embedded DNS server answers for (user networks).
    #[serde(default)]
    pub dns_names: Vec<String>,
}

/// A published port in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortMapping {
    pub binding: Binding,
    pub container_ip: Ipv4Addr,
    /// The network the port is published through.
    pub network_id: String,
}

/// Everything one container holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sandbox {
    pub container_id: String,
    pub container_name: String,
    pub netns: PathBuf,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
    /// Upstream resolvers of the container's embedded DNS (`--dns`).
    #[serde(default)]
    pub dns_upstreams: Vec<std::net::IpAddr>,
    /// Names only this container resolves (legacy links on user networks).
    #[serde(default)]
    pub local_names: BTreeMap<String, Ipv4Addr>,
}

/// Networks and sandboxes on disk, under `<data-root>/network`.
pub struct Store {
    networks: PathBuf,
    sandboxes: PathBuf,
}

fn sys(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::system(format!("{what}: {e}"))
}

fn load_dir<T: serde::de::DeserializeOwned>(dir: &Path) -> Vec<T> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        match berth_fsutil::read_json::<T>(&path) {
            Ok(Some(v)) => out.push(v),
            Ok(None) => {}
            Err(err) => {
                tracing::error!(path = %path.display(), error = %err, "damaged network state file; skipping it")
            }
        }
    }
    out
}

impl Store {
    pub fn open(root: &Path) -> Result<Self, Error> {
        let networks = root.join("networks");
        let sandboxes = root.join("sandboxes");
        for d in [&networks, &sandboxes] {
            berth_fsutil::create_dir_all_mode(d, 0o700)
                .map_err(sys(format!("cannot create {}", d.display())))?;
            let _ = berth_fsutil::sweep_temp_files(d);
        }
        Ok(Self {
            networks,
            sandboxes,
        })
    }

    pub fn networks(&self) -> Vec<Network> {
        load_dir(&self.networks)
    }

    pub fn save_network(&self, n: &Network) -> Result<(), Error> {
        let path = self.networks.join(format!("{}.json", n.id));
        berth_fsutil::write_json(&path, n).map_err(sys(format!("cannot save network {}", n.name)))
    }

    pub fn remove_network(&self, id: &str) -> Result<(), Error> {
        let path = self.networks.join(format!("{id}.json"));
        berth_fsutil::remove_file_if_exists(&path)
            .map_err(sys(format!("cannot remove network {id}")))
    }

    pub fn sandboxes(&self) -> Vec<Sandbox> {
        load_dir(&self.sandboxes)
    }

    pub fn sandbox(&self, container_id: &str) -> Option<Sandbox> {
        let path = self.sandboxes.join(format!("{container_id}.json"));
        berth_fsutil::read_json(&path).ok().flatten()
    }

    pub fn save_sandbox(&self, s: &Sandbox) -> Result<(), Error> {
        let path = self.sandboxes.join(format!("{}.json", s.container_id));
        berth_fsutil::write_json(&path, s).map_err(sys(format!(
            "cannot save the network state of container {}",
            s.container_id
        )))
    }

    pub fn remove_sandbox(&self, container_id: &str) -> Result<(), Error> {
        let path = self.sandboxes.join(format!("{container_id}.json"));
        berth_fsutil::remove_file_if_exists(&path).map_err(sys(format!(
            "cannot remove the network state of container {container_id}"
        )))
    }
}
