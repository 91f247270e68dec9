//! The network controller: the networks (the predefined `bridge`, `host`
//! and `none`, and user-defined bridge networks), their address pools and
//! bridges, and the firewall table made from them. What containers hold
//! is in `sandbox.rs`.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use berth_api::Error;
use berth_api::types::network::NetworkCreateRequest;

use crate::bridge::{self, HostView};
use crate::cidr::Ipv4Net;
use crate::dns;
use crate::firewall::{self, FwNetwork, FwPort, FwState};
use crate::ipam::{IpamStore, Pool};
use crate::model::{DRIVER_BRIDGE, DRIVER_HOST, DRIVER_NULL, Network, Sandbox, Store};
use crate::proxy::Proxy;

pub const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
pub const OPT_ICC: &str = "com.docker.network.bridge.enable_icc";
pub const OPT_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
pub const OPT_MTU: &str = "com.docker.network.driver.mtu";
pub const OPT_HOST_BINDING: &str = "com.docker.network.bridge.host_binding_ipv4";
pub const OPT_DEFAULT_BRIDGE: &str = "com.docker.network.bridge.default_bridge";

/// The daemon's networking options.
#[derive(Debug, Clone)]
pub struct Options {
    /// `<data-root>/network`.
    pub root: PathBuf,
    /// `--bridge`: an existing bridge for the default network (`none`: no
    /// default network).
    pub bridge: Option<String>,
    /// The bridge Berth creates for the default network (`berth0`).
    pub default_bridge_name: String,
    /// `--bip`: the default bridge's address and prefix.
    pub bip: Option<Ipv4Net>,
    /// Where subnets of new networks come from (`--default-address-pool`);
    /// Docker's pools when empty.
    pub pools: Vec<Ipv4Net>,
    pub iptables: bool,
    pub icc: bool,
    pub mtu: Option<u32>,
    /// `--dns`: upstream resolvers of the embedded DNS server.
    pub dns: Vec<IpAddr>,
    /// The name of Berth's nftables table.
    pub table: String,
    /// The text of the host's resolv.conf.
    pub host_resolv: String,
}

/// The kernel state of a running container that the daemon process holds.
#[derive(Default)]
pub(crate) struct Live {
    pub proxies: Vec<(crate::ports::Binding, Proxy)>,
    pub dns: Option<dns::ContainerDns>,
}

#[derive(Default)]
pub(crate) struct State {
    pub networks: BTreeMap<String, Network>,
    pub pools: HashMap<String, Pool>,
    pub sandboxes: HashMap<String, Sandbox>,
    pub live: HashMap<String, Live>,
}

impl State {
    /// Docker's lookup: full ID, then name, then unique ID prefix.
    pub fn find(&self, name_or_id: &str) -> Result<&Network, Error> {
        if let Some(n) = self.networks.get(name_or_id) {
            return Ok(n);
        }
        if let Some(n) = self.networks.values().find(|n| n.name == name_or_id) {
            return Ok(n);
        }
        let matches: Vec<&Network> = if name_or_id.is_empty() {
            Vec::new()
        } else {
            self.networks
                .values()
                .filter(|n| n.id.starts_with(name_or_id))
                .collect()
        };
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::not_found(format!("network {name_or_id} not found"))),
            many => Err(Error::invalid(format!(
                "network {name_or_id} is ambiguous ({} matches found based on ID prefix)",
                many.len()
            ))),
        }
    }
}

pub struct Controller {
    pub(crate) opts: Options,
    pub(crate) store: Store,
    pub(crate) ipam: IpamStore,
    pub(crate) rt: tokio::runtime::Handle,
    pub(crate) registry: Arc<dns::Registry>,
    state: Mutex<State>,
    fw_lock: Mutex<()>,
    pub(crate) default_mtu: u32,
}

fn new_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn parse_bool_opt(key: &str, value: &str) -> Result<bool, Error> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" => Ok(true),
        "0" | "false" | "f" | "no" => Ok(false),
        _ => Err(Error::invalid(format!(
            "invalid value {value:?} for option {key}: expected true or false"
        ))),
    }
}

/// Sets `net.ipv4.ip_forward` (containers' traffic is routed by the host).
fn enable_ip_forwarding() {
    let path = "/proc/sys/net/ipv4/ip_forward";
    if std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1") {
        return;
    }
    match std::fs::write(path, "1") {
        Ok(()) => tracing::info!("IPv4 forwarding enabled"),
        Err(e) => {
            tracing::warn!(error = %e, "cannot enable IPv4 forwarding: containers cannot reach other hosts")
        }
    }
}

impl Controller {
    /// Loads the networks and pools, sets up the predefined networks and
    /// the bridges of every bridge network (blocking). What containers
    /// held is adopted by [`Controller::adopt`] and the rest cleaned up by
    /// [`Controller::sweep`].
    pub fn open(opts: Options, rt: tokio::runtime::Handle) -> Result<Self, Error> {
        let store = Store::open(&opts.root)?;
        let ipam = IpamStore::open(&opts.root.join("ipam"))?;
        let default_mtu = opts
            .mtu
            .or_else(crate::netlink::default_route_mtu)
            .filter(|m| *m >= 68)
            .unwrap_or(1500);
        let ctl = Controller {
            opts,
            store,
            ipam,
            rt,
            registry: Arc::new(dns::Registry::default()),
            state: Mutex::new(State::default()),
            fw_lock: Mutex::new(()),
            default_mtu,
        };
        ctl.load()?;
        Ok(ctl)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn load(&self) -> Result<(), Error> {
        let mut networks: BTreeMap<String, Network> = BTreeMap::new();
        for n in self.store.networks() {
            networks.insert(n.id.clone(), n);
        }
        let find_predef = |nets: &BTreeMap<String, Network>, name: &str| {
            nets.values()
                .find(|n| n.predefined && n.name == name)
                .cloned()
        };
        for (name, driver) in [("host", DRIVER_HOST), ("none", DRIVER_NULL)] {
            if find_predef(&networks, name).is_none() {
                let n = Network {
                    id: new_id(),
                    name: name.to_string(),
                    driver: driver.to_string(),
                    created: now(),
                    internal: false,
                    attachable: false,
                    labels: BTreeMap::new(),
                    options: BTreeMap::new(),
                    ipam_driver: "default".to_string(),
                    ipam_options: BTreeMap::new(),
                    ipam_given: false,
                    subnet: None,
                    gateway: None,
                    ip_range: None,
                    bridge: String::new(),
                    external_bridge: false,
                    icc: true,
                    masquerade: true,
                    mtu: 0,
                    host_binding: None,
                    predefined: true,
                };
                self.store.save_network(&n)?;
                networks.insert(n.id.clone(), n);
            }
        }
        let host = HostView::read()?;
        let previous = find_predef(&networks, "bridge");
        if self.opts.bridge.as_deref() == Some("none") {
            if let Some(p) = previous {
                networks.remove(&p.id);
                self.store.remove_network(&p.id)?;
            }
        } else {
            let taken: Vec<Ipv4Net> = networks
                .values()
                .filter(|n| !(n.predefined && n.name == "bridge"))
                .filter_map(|n| n.subnet)
                .collect();
            let n = self.default_network(previous, &host, &taken)?;
            self.store.save_network(&n)?;
            networks.insert(n.id.clone(), n);
        }
        let mut pools = HashMap::new();
        let mut any_bridge = false;
        for n in networks.values_mut() {
            if !n.is_bridge() {
                continue;
            }
            any_bridge = true;
            let (Some(subnet), Some(gw)) = (n.subnet, n.gateway) else {
                continue;
            };
            let mtu = bridge::ensure_bridge(
                &n.bridge,
                Some(Ipv4Net {
                    addr: gw,
                    prefix: subnet.prefix,
                }),
                n.mtu,
            )
            .map_err(|e| e.context(format!("cannot set up the bridge of network {}", n.name)))?;
            if n.external_bridge && n.mtu == 0 {
                n.mtu = mtu;
            }
            let mut pool = self
                .ipam
                .load(&n.id)?
                .filter(|p| p.subnet == subnet.network())
                .unwrap_or_else(|| Pool::new(subnet, n.ip_range, gw));
            pool.gateway = gw;
            pool.range = n.ip_range.map(|r| r.network()).unwrap_or(pool.subnet);
            self.ipam.save(&n.id, &pool)?;
            pools.insert(n.id.clone(), pool);
        }
        if any_bridge && self.opts.iptables {
            enable_ip_forwarding();
        }
        let mut st = self.state();
        st.networks = networks;
        st.pools = pools;
        Ok(())
    }

    /// The predefined `bridge` network from the daemon's options, keeping
    /// the ID (and subnet, when still free) of the previous run.
    fn default_network(
        &self,
        previous: Option<Network>,
        host: &HostView,
        taken: &[Ipv4Net],
    ) -> Result<Network, Error> {
        let (bridge_name, external) = match &self.opts.bridge {
            Some(b) => (b.clone(), true),
            None => (self.opts.default_bridge_name.clone(), false),
        };
        if !bridge::valid_ifname(&bridge_name) {
            return Err(Error::invalid(format!(
                "invalid bridge name {bridge_name:?}: at most 15 characters, no '/', ':' or spaces"
            )));
        }
        if external && host.link(&bridge_name).is_none() {
            return Err(Error::invalid(format!(
                "bridge {bridge_name} given with --bridge does not exist: create it first, or leave --bridge out to let berthd create {}",
                self.opts.default_bridge_name
            )));
        }
        let existing: Vec<Ipv4Net> = host.addrs_of(&bridge_name);
        let (subnet, gateway) = if let Some(bip) = self.opts.bip {
            (bip.network(), bip.addr)
        } else if let Some(a) = existing.first() {
            (a.network(), a.addr)
        } else if let Some(p) = previous
            .as_ref()
            .and_then(|p| p.subnet.zip(p.gateway))
            .filter(|(s, _)| !host.overlaps(s) && !taken.iter().any(|t| t.overlaps(s)))
        {
            p
        } else if external {
            return Err(Error::invalid(format!(
                "bridge {bridge_name} has no IPv4 address: give it one, or use --bip"
            )));
        } else {
            let candidates = if self.opts.pools.is_empty() {
                bridge::default_pools()
            } else {
                self.opts.pools.clone()
            };
            let s = bridge::pick_pool(&candidates, host, taken).ok_or_else(|| {
                Error::system(
                    "could not find an available, non-overlapping IPv4 address pool for the default bridge network: use --bip",
                )
            })?;
            (s, s.nth(1).unwrap_or(s.addr))
        };
        let mtu = self.default_mtu;
        let mut options = BTreeMap::new();
        options.insert(OPT_DEFAULT_BRIDGE.to_string(), "true".to_string());
        options.insert(OPT_ICC.to_string(), self.opts.icc.to_string());
        options.insert(OPT_MASQUERADE.to_string(), "true".to_string());
        options.insert(OPT_HOST_BINDING.to_string(), "0.0.0.0".to_string());
        options.insert(OPT_BRIDGE_NAME.to_string(), bridge_name.clone());
        options.insert(OPT_MTU.to_string(), mtu.to_string());
        Ok(Network {
            id: previous
                .as_ref()
                .map(|p| p.id.clone())
                .unwrap_or_else(new_id),
            name: "bridge".to_string(),
            driver: DRIVER_BRIDGE.to_string(),
            created: previous
                .as_ref()
                .map(|p| p.created.clone())
                .unwrap_or_else(now),
            internal: false,
            attachable: false,
            labels: BTreeMap::new(),
            options,
            ipam_driver: "default".to_string(),
            ipam_options: BTreeMap::new(),
            ipam_given: false,
            subnet: Some(subnet),
            gateway: Some(gateway),
            ip_range: None,
            bridge: bridge_name,
            external_bridge: external,
            icc: self.opts.icc,
            masquerade: true,
            mtu,
            host_binding: None,
            predefined: true,
        })
    }

    /// Every network.
    pub fn networks(&self) -> Vec<Network> {
        self.state().networks.values().cloned().collect()
    }

    /// A network by ID, name or unique ID prefix.
    pub fn find(&self, name_or_id: &str) -> Result<Network, Error> {
        self.state().find(name_or_id).cloned()
    }

    /// The default network (`bridge`), unless disabled.
    pub fn default_network_name(&self) -> Option<String> {
        self.state()
            .networks
            .values()
            .find(|n| n.predefined && n.name == "bridge")
            .map(|n| n.name.clone())
    }

    /// The sandboxes attached to network `id`: (container ID, name,
    /// endpoint).
    pub fn endpoints_on(&self, id: &str) -> Vec<(String, String, crate::model::Endpoint)> {
        let st = self.state();
        let mut out = Vec::new();
        for sb in st.sandboxes.values() {
            for ep in &sb.endpoints {
                if ep.network_id == id {
                    out.push((
                        sb.container_id.clone(),
                        sb.container_name.clone(),
                        ep.clone(),
                    ));
                }
            }
        }
        out
    }

    /// `POST /networks/create` (blocking).
    pub fn create(&self, req: &NetworkCreateRequest) -> Result<Network, Error> {
        let name = req.name.trim().to_string();
        if name.is_empty() {
            return Err(Error::invalid("network name cannot be empty"));
        }
        if !name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(Error::invalid(format!(
                "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        match req.driver.as_str() {
            "" | DRIVER_BRIDGE => {}
            DRIVER_HOST | DRIVER_NULL => {
                return Err(Error::forbidden(format!(
                    "only one instance of \"{}\" network is allowed",
                    req.driver
                )));
            }
            other => {
                return Err(Error::not_found(format!(
                    "plugin \"{other}\" not found: this berthd supports the bridge network driver"
                )));
            }
        }
        if req.enable_ipv6 == Some(true) {
            return Err(Error::invalid(
                "IPv6 networks are not supported by this berthd: leave --ipv6 out",
            ));
        }
        if req.config_only
            || req
                .config_from
                .as_ref()
                .is_some_and(|c| !c.network.is_empty())
        {
            return Err(Error::invalid(
                "config-only networks are not supported by this berthd",
            ));
        }
        let ipam = req.ipam.clone().unwrap_or_default();
        if !matches!(ipam.driver.as_str(), "" | "default") {
            return Err(Error::not_found(format!(
                "IPAM driver \"{}\" not found: this berthd has the default IPAM driver only",
                ipam.driver
            )));
        }
        let mut v4 = Vec::new();
        for c in ipam.config.iter().flatten() {
            if c.subnet.contains(':') || c.gateway.contains(':') || c.ip_range.contains(':') {
                return Err(Error::invalid(format!(
                    "IPv6 subnet {} is not supported by this berthd",
                    c.subnet
                )));
            }
            v4.push(c.clone());
        }
        if v4.len() > 1 {
            return Err(Error::invalid(
                "only one IPv4 subnet per network is supported by this berthd",
            ));
        }
        let options = req.options.clone().unwrap_or_default();
        let mut icc = true;
        let mut masquerade = true;
        let mut mtu = self.default_mtu;
        let mut host_binding = None;
        let mut bridge_name = None;
        for (k, v) in &options {
            match k.as_str() {
                OPT_ICC => icc = parse_bool_opt(k, v)?,
                OPT_MASQUERADE => masquerade = parse_bool_opt(k, v)?,
                OPT_MTU => {
                    mtu = v
                        .parse::<u32>()
                        .ok()
                        .filter(|m| (68..=65535).contains(m))
                        .ok_or_else(|| {
                            Error::invalid(format!(
                                "invalid MTU {v:?}: must be a number between 68 and 65535"
                            ))
                        })?
                }
                OPT_HOST_BINDING => {
                    let ip: Ipv4Addr = v.parse().map_err(|_| {
                        Error::invalid(format!(
                            "invalid {OPT_HOST_BINDING} {v:?}: not an IPv4 address"
                        ))
                    })?;
                    host_binding = (!ip.is_unspecified()).then_some(ip);
                }
                OPT_BRIDGE_NAME => {
                    if !bridge::valid_ifname(v) {
                        return Err(Error::invalid(format!(
                            "invalid bridge name {v:?}: at most 15 characters, no '/', ':' or spaces"
                        )));
                    }
                    bridge_name = Some(v.clone());
                }
                _ => {}
            }
        }
        let id = new_id();
        let bridge_name = bridge_name.unwrap_or_else(|| format!("br-{}", &id[..12]));
        let host = HostView::read()?;
        let external = host.link(&bridge_name).is_some();
        let mut st = self.state();
        if st.networks.values().any(|n| n.name == name) {
            return Err(Error::conflict(format!(
                "network with name {name} already exists"
            )));
        }
        if st.networks.values().any(|n| n.bridge == bridge_name) {
            return Err(Error::conflict(format!(
                "bridge name {bridge_name} is already used by another network"
            )));
        }
        let taken: Vec<Ipv4Net> = st.networks.values().filter_map(|n| n.subnet).collect();
        let (subnet, gateway, ip_range) = match v4.first() {
            Some(c) if !c.subnet.is_empty() => {
                let subnet: Ipv4Net = c.subnet.parse()?;
                if subnet.prefix > 30 {
                    return Err(Error::invalid(format!(
                        "invalid subnet {subnet}: a bridge network needs at least a /30"
                    )));
                }
                let net = subnet.network();
                if taken.iter().any(|t| t.overlaps(&net)) {
                    return Err(Error::forbidden(format!(
                        "invalid pool request: Pool overlaps with other one on this address space ({net})"
                    )));
                }
                let gateway = if c.gateway.is_empty() {
                    net.nth(1).unwrap_or(net.addr)
                } else {
                    let g: Ipv4Addr = c.gateway.parse().map_err(|_| {
                        Error::invalid(format!("invalid gateway address {:?}", c.gateway))
                    })?;
                    if !net.contains(g) {
                        return Err(Error::invalid(format!(
                            "invalid gateway {g}: not in subnet {net}"
                        )));
                    }
                    g
                };
                let range = if c.ip_range.is_empty() {
                    None
                } else {
                    let r: Ipv4Net = c.ip_range.parse()?;
                    if !net.contains_net(&r.network()) {
                        return Err(Error::invalid(format!(
                            "invalid ip range {r}: not within subnet {net}"
                        )));
                    }
                    Some(r.network())
                };
                (net, gateway, range)
            }
            Some(c) if !c.gateway.is_empty() || !c.ip_range.is_empty() => {
                return Err(Error::invalid(
                    "a gateway or ip range needs a subnet (--subnet)",
                ));
            }
            _ => {
                let candidates = if self.opts.pools.is_empty() {
                    bridge::default_pools()
                } else {
                    self.opts.pools.clone()
                };
                let s = bridge::pick_pool(&candidates, &host, &taken).ok_or_else(|| {
                    Error::forbidden(
                        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network",
                    )
                })?;
                (s, s.nth(1).unwrap_or(s.addr), None)
            }
        };
        let network = Network {
            id: id.clone(),
            name: name.clone(),
            driver: DRIVER_BRIDGE.to_string(),
            created: now(),
            internal: req.internal,
            attachable: req.attachable,
            labels: req.labels.clone().unwrap_or_default(),
            options,
            ipam_driver: "default".to_string(),
            ipam_options: ipam.options.clone().unwrap_or_default(),
            ipam_given: v4.first().is_some_and(|c| !c.subnet.is_empty()),
            subnet: Some(subnet),
            gateway: Some(gateway),
            ip_range,
            bridge: bridge_name.clone(),
            external_bridge: external,
            icc,
            masquerade,
            mtu,
            host_binding,
            predefined: false,
        };
        // Reserve the name and subnet before the slow part.
        st.networks.insert(id.clone(), network.clone());
        drop(st);
        let result = (|| {
            bridge::ensure_bridge(
                &bridge_name,
                Some(Ipv4Net {
                    addr: gateway,
                    prefix: subnet.prefix,
                }),
                mtu,
            )?;
            let pool = Pool::new(subnet, ip_range, gateway);
            self.ipam.save(&id, &pool)?;
            self.store.save_network(&network)?;
            self.state().pools.insert(id.clone(), pool);
            if self.opts.iptables {
                enable_ip_forwarding();
            }
            self.apply_firewall()
        })();
        if let Err(e) = result {
            self.state().networks.remove(&id);
            self.state().pools.remove(&id);
            let _ = self.store.remove_network(&id);
            let _ = self.ipam.remove(&id);
            if !external {
                let _ = bridge::delete_links(&[bridge_name]);
            }
            return Err(e);
        }
        Ok(network)
    }

    /// `DELETE /networks/{id}` (blocking).
    pub fn remove(&self, name_or_id: &str) -> Result<Network, Error> {
        let mut st = self.state();
        let n = st.find(name_or_id)?.clone();
        if n.predefined {
            return Err(Error::forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                n.name
            )));
        }
        if st
            .sandboxes
            .values()
            .any(|s| s.endpoints.iter().any(|e| e.network_id == n.id))
        {
            return Err(Error::conflict(format!(
                "error while removing network: network {} id {} has active endpoints",
                n.name, n.id
            )));
        }
        st.networks.remove(&n.id);
        st.pools.remove(&n.id);
        drop(st);
        self.store.remove_network(&n.id)?;
        let _ = self.ipam.remove(&n.id);
        if !n.external_bridge
            && let Err(e) = bridge::delete_links(std::slice::from_ref(&n.bridge))
        {
            tracing::warn!(network = %n.name, error = %e, "cannot delete the bridge");
        }
        if let Err(e) = self.apply_firewall() {
            tracing::warn!(error = %e, "cannot update the firewall");
        }
        Ok(n)
    }

    /// Replaces Berth's table with one made from the current networks and
    /// published ports (nothing when `--iptables=false`).
    pub fn apply_firewall(&self) -> Result<(), Error> {
        if !self.opts.iptables {
            return Ok(());
        }
        let _guard = match self.fw_lock.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let fw = {
            let st = self.state();
            let mut fw = FwState::default();
            for n in st.networks.values() {
                if let (true, Some(subnet)) = (n.is_bridge(), n.subnet) {
                    fw.networks.push(FwNetwork {
                        bridge: n.bridge.clone(),
                        subnet,
                        icc: n.icc,
                        masquerade: n.masquerade,
                        internal: n.internal,
                    });
                }
            }
            for sb in st.sandboxes.values() {
                for p in &sb.ports {
                    fw.ports.push(FwPort {
                        proto: p.binding.key.proto,
                        host_ip: p.binding.host_ip,
                        host_port: p.binding.host_port,
                        container_ip: p.container_ip,
                        container_port: p.binding.key.port,
                    });
                }
            }
            fw
        };
        firewall::apply(&firewall::render(&self.opts.table, &fw), None)
    }

    /// Daemon shutdown: stops proxies and DNS servers; removes Berth's
    /// table when no container holds anything any more.
    pub fn shutdown(&self) {
        let (live, busy) = {
            let mut st = self.state();
            let live: Vec<Live> = st.live.drain().map(|(_, l)| l).collect();
            (live, !st.sandboxes.is_empty())
        };
        drop(live);
        if self.opts.iptables && !busy {
            let _guard = match self.fw_lock.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if let Err(e) = firewall::apply(&firewall::render_delete(&self.opts.table), None) {
                tracing::warn!(error = %e, "cannot remove the firewall table");
            }
        }
    }

    /// The options the controller runs with.
    pub fn options(&self) -> &Options {
        &self.opts
    }
}
