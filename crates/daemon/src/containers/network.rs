//! Containers on networks: the network steps of the container lifecycle,
//! calling into the network controller. At create the network mode,
//! endpoints, ports and links are checked; at start the container is
//! connected (addresses, ports, DNS names) and its `/etc/hosts` and
//! `/etc/resolv.conf` are written; at exit everything is released; at
//! daemon start running containers' holdings are adopted and the rest
//! swept. Also `POST /networks/{id}/connect|disconnect` and what inspect
//! and list show.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use berth_api::Error;
use berth_api::types::config::ContainerConfig;
use berth_api::types::container::{
    EndpointSettings, HostConfig, NetworkSettings, NetworkingConfig, Port,
};
use berth_network::cidr::Mac;
use berth_network::model::{Endpoint, Network};
use berth_network::ports::{self, PortKey};
use berth_network::{AttachSpec, EndpointRequest};

use super::record::Record;
use super::state::Status;
use super::{Container, ContainerService, files};
use crate::blocking;

/// The kinds of network mode.
enum Mode<'a> {
    None,
    Host,
    Container(&'a str),
    Network(&'a str),
}

fn mode_of(m: &str) -> Mode<'_> {
    match m {
        "none" => Mode::None,
        "host" => Mode::Host,
        m if m.starts_with("container:") => Mode::Container(&m["container:".len()..]),
        other => Mode::Network(other),
    }
}

/// `name:alias` or `name` of `--link`.
fn parse_link(link: &str) -> Result<(String, String), Error> {
    let (name, alias) = match link.split_once(':') {
        Some((n, a)) => (n, a),
        None => (link, link),
    };
    let name = name.trim_start_matches('/');
    let alias = alias.trim_start_matches('/');
    if name.is_empty() || alias.is_empty() {
        return Err(Error::invalid(format!(
            "invalid link {link:?}: expected NAME:ALIAS"
        )));
    }
    Ok((name.to_string(), alias.to_string()))
}

/// Clears what only a running container has on its networks.
fn clear_runtime(ep: &mut EndpointSettings) {
    let generated = ep
        .ip_address
        .parse::<Ipv4Addr>()
        .map(|ip| Mac::from_ip(ip).to_string() == ep.mac_address)
        .unwrap_or(false);
    if generated {
        ep.mac_address.clear();
    }
    ep.endpoint_id.clear();
    ep.gateway.clear();
    ep.ip_address.clear();
    ep.ip_prefix_len = 0;
    ep.dns_names = None;
}

fn apply_endpoint(settings: &mut EndpointSettings, ep: &Endpoint, net: Option<&Network>) {
    settings.network_id = ep.network_id.clone();
    settings.endpoint_id = ep.id.clone();
    settings.ip_address = ep.ip.to_string();
    settings.ip_prefix_len = i64::from(ep.prefix);
    settings.gateway = net
        .and_then(|n| n.gateway)
        .map(|g| g.to_string())
        .unwrap_or_default();
    settings.mac_address = ep.mac.to_string();
    settings.dns_names = (!ep.dns_names.is_empty()).then(|| ep.dns_names.clone());
}

impl ContainerService {
    fn ctl(&self) -> &berth_network::Controller {
        &self.ctx.networks.ctl
    }

    /// Checks one endpoint's settings against its network.
    fn check_endpoint(&self, net: &Network, es: &EndpointSettings) -> Result<(), Error> {
        let user_net = !net.predefined;
        if let Some(ip) = es
            .ipam_config
            .as_ref()
            .map(|c| c.ipv4_address.as_str())
            .filter(|s| !s.is_empty())
        {
            if !user_net {
                return Err(Error::invalid(
                    "user specified IP address is supported on user defined networks only",
                ));
            }
            let ip: Ipv4Addr = ip
                .parse()
                .map_err(|_| Error::invalid(format!("invalid IPv4 address: {ip}")))?;
            if !net.subnet.is_some_and(|s| s.contains(ip)) {
                return Err(Error::invalid(format!(
                    "no configured subnet or ip-range contain the IP address {ip}"
                )));
            }
        }
        if es.aliases.as_ref().is_some_and(|a| !a.is_empty()) && !user_net {
            return Err(Error::invalid(
                "network-scoped alias is supported only for containers in user defined networks",
            ));
        }
        if !es.mac_address.is_empty() {
            es.mac_address.parse::<Mac>()?;
        }
        Ok(())
    }

    /// At create: checks the network mode, `EndpointsConfig`, ports and
    /// links, and returns the container's networks. The default mode
    /// becomes `bridge` (when there is a default network).
    pub(super) fn plan_networks(
        &self,
        config: &ContainerConfig,
        hc: &mut HostConfig,
        nc: Option<&NetworkingConfig>,
    ) -> Result<BTreeMap<String, EndpointSettings>, Error> {
        let asked = hc.network_mode.clone();
        if hc.network_mode.is_empty() || hc.network_mode == "default" {
            hc.network_mode = self
                .ctl()
                .default_network_name()
                .unwrap_or_else(|| "none".to_string());
        }
        // Clients name the default network's endpoint `default`.
        let endpoints: BTreeMap<String, EndpointSettings> = nc
            .and_then(|n| n.endpoints_config.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                if k == "default" || (k == asked && !k.is_empty()) {
                    (hc.network_mode.clone(), v)
                } else {
                    (k, v)
                }
            })
            .collect();
        let has_ports =
            hc.port_bindings.as_ref().is_some_and(|p| !p.is_empty()) || hc.publish_all_ports;
        let mut networks = BTreeMap::new();
        let mode = hc.network_mode.clone();
        match mode_of(&mode) {
            Mode::Container(target) => {
                self.get(target)?;
                if has_ports {
                    return Err(Error::invalid(
                        "conflicting options: port publishing and the container type network mode",
                    ));
                }
                if hc.dns.as_ref().is_some_and(|d| !d.is_empty()) {
                    return Err(Error::invalid(
                        "conflicting options: dns and the network mode",
                    ));
                }
                if hc.extra_hosts.as_ref().is_some_and(|d| !d.is_empty()) {
                    return Err(Error::invalid(
                        "conflicting options: custom host-to-IP mapping and the network mode",
                    ));
                }
                if hc.links.as_ref().is_some_and(|d| !d.is_empty()) {
                    return Err(Error::invalid(
                        "conflicting options: container type network can't be used with links",
                    ));
                }
                if !config.mac_address.is_empty() {
                    return Err(Error::invalid(
                        "conflicting options: mac-address and the network mode",
                    ));
                }
                if !endpoints.is_empty() {
                    return Err(Error::invalid(
                        "container sharing network namespace with another container or host cannot be connected to any other network",
                    ));
                }
                return Ok(networks);
            }
            Mode::None | Mode::Host => {
                let net = self.ctl().find(&mode)?;
                if endpoints.keys().any(|k| k != &mode && *k != net.id) {
                    return Err(Error::invalid(
                        "container sharing network namespace with another container or host cannot be connected to any other network",
                    ));
                }
                if hc.links.as_ref().is_some_and(|d| !d.is_empty()) {
                    return Err(Error::invalid(format!(
                        "conflicting options: {mode} type network can't be used with links. This would result in undefined behavior"
                    )));
                }
                networks.insert(
                    net.name.clone(),
                    EndpointSettings {
                        network_id: net.id.clone(),
                        ..Default::default()
                    },
                );
                return Ok(networks);
            }
            Mode::Network(name) => {
                let primary = self.ctl().find(name)?;
                let mut first = endpoints
                    .iter()
                    .find(|(k, _)| **k == primary.name || **k == primary.id)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                if first.mac_address.is_empty() && !config.mac_address.is_empty() {
                    first.mac_address = config.mac_address.clone();
                }
                first.network_id = primary.id.clone();
                self.check_endpoint(&primary, &first)?;
                networks.insert(primary.name.clone(), first);
                for (key, es) in &endpoints {
                    if *key == primary.name || *key == primary.id {
                        continue;
                    }
                    let net = self.ctl().find(key)?;
                    if !net.is_bridge() {
                        return Err(Error::invalid(format!(
                            "container cannot be connected to network {} along with other networks",
                            net.name
                        )));
                    }
                    self.check_endpoint(&net, es)?;
                    let mut es = es.clone();
                    es.network_id = net.id.clone();
                    networks.insert(net.name.clone(), es);
                }
            }
        }
        ports::plan(
            config.exposed_ports.as_ref(),
            hc.port_bindings.as_ref(),
            hc.publish_all_ports,
            None,
        )?;
        for link in hc.links.iter().flatten() {
            let (name, _) = parse_link(link)?;
            self.get(&name)
                .map_err(|_| Error::not_found(format!("could not get container for {name}")))?;
        }
        for dns in hc.dns.iter().flatten() {
            dns.parse::<IpAddr>()
                .map_err(|_| Error::invalid(format!("{dns} is not an ip address")))?;
        }
        Ok(networks)
    }

    /// The networks of a record in connection order: the network of the
    /// network mode first.
    fn ordered_networks(rec: &Record) -> Vec<(String, EndpointSettings)> {
        let mode = rec.host_config.network_mode.as_str();
        let mut list: Vec<(String, EndpointSettings)> = rec
            .networks
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        list.sort_by_key(|(k, v)| !(k == mode || v.network_id == mode));
        list
    }

    /// The names a container answers to on a user network.
    fn dns_names(rec: &Record, aliases: &[String]) -> Vec<String> {
        let mut names = vec![rec.name.clone()];
        for a in aliases {
            if !names.contains(a) {
                names.push(a.clone());
            }
        }
        let short = rec.id[..12.min(rec.id.len())].to_string();
        if !names.contains(&short) {
            names.push(short.clone());
        }
        let host = rec.config.hostname.clone();
        if !host.is_empty() && !names.contains(&host) {
            names.push(host);
        }
        names
    }

    /// Legacy links of a starting container: (alias, target name, target
    /// ID, target IP, target record) of each running target.
    fn resolve_links(&self, rec: &Record) -> Result<Vec<(String, Record, Ipv4Addr)>, Error> {
        let mut out = Vec::new();
        for link in rec.host_config.links.iter().flatten() {
            let (name, alias) = parse_link(link)?;
            let target = self
                .get(&name)
                .map_err(|_| Error::not_found(format!("could not get container for {name}")))?;
            let t = target.snapshot();
            if !t.state.status.has_process() {
                return Err(Error::invalid(format!(
                    "Cannot link to a non running container: /{} AS /{}/{alias}",
                    t.name, rec.name
                )));
            }
            // The target's address on a network both share, else its first.
            let ip = t
                .networks
                .iter()
                .filter(|(k, _)| rec.networks.contains_key(*k))
                .chain(t.networks.iter())
                .find_map(|(_, e)| e.ip_address.parse::<Ipv4Addr>().ok())
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "Cannot link to /{}: it has no address on a network",
                        t.name
                    ))
                })?;
            out.push((alias, t, ip));
        }
        Ok(out)
    }

    /// At start (blocking, from `prepare`, once the namespace at `netns`
    /// exists): connects the container to its networks, publishes its
    /// ports, writes its hosts and resolv.conf, and returns the
    /// environment variables of its links.
    pub(super) fn attach_networks(
        &self,
        c: &Container,
        netns: &Path,
    ) -> Result<Vec<String>, Error> {
        let rec = c.snapshot();
        if !matches!(mode_of(&rec.host_config.network_mode), Mode::Network(_)) {
            return Ok(Vec::new());
        }
        let links = self.resolve_links(&rec)?;
        let hc = &rec.host_config;
        let mut spec = AttachSpec {
            container_id: rec.id.clone(),
            container_name: rec.name.clone(),
            netns: netns.to_path_buf(),
            ports: ports::plan(
                rec.config.exposed_ports.as_ref(),
                hc.port_bindings.as_ref(),
                hc.publish_all_ports,
                None,
            )?,
            dns: hc
                .dns
                .iter()
                .flatten()
                .filter_map(|d| d.parse().ok())
                .collect(),
            ..Default::default()
        };
        let ordered = Self::ordered_networks(&rec);
        for (name, es) in &ordered {
            let aliases = es.aliases.clone().unwrap_or_default();
            spec.endpoints.push(EndpointRequest {
                network: name.clone(),
                ip: es
                    .ipam_config
                    .as_ref()
                    .and_then(|c| c.ipv4_address.parse().ok()),
                mac: es.mac_address.parse().ok(),
                dns_names: Self::dns_names(&rec, &aliases),
                aliases,
            });
        }
        for (alias, t, ip) in &links {
            spec.local_names.insert(alias.clone(), *ip);
            spec.local_names.insert(t.name.clone(), *ip);
        }
        let t0 = std::time::Instant::now();
        let sb = self.ctl().attach(spec)?;
        let t_attach = t0.elapsed();
        let result = (|| {
            let nets = self.ctl().networks();
            let net_of = |id: &str| nets.iter().find(|n| n.id == id);
            let bindings: Vec<_> = sb.ports.iter().map(|p| p.binding).collect();
            let mut uses_dns = false;
            {
                let mut r = c.lock();
                for ep in &sb.endpoints {
                    let net = net_of(&ep.network_id);
                    uses_dns |= net.is_some_and(|n| n.has_dns());
                    let settings = r.networks.entry(ep.network_name.clone()).or_default();
                    apply_endpoint(settings, ep, net);
                }
                r.ports = ports::to_api(r.config.exposed_ports.as_ref(), &bindings);
            }
            let first_ip = sb.endpoints.first().map(|e| e.ip.to_string());
            self.write_network_files(&rec, first_ip.as_deref(), &links, uses_dns)?;
            for ep in &sb.endpoints {
                if let Some(n) = net_of(&ep.network_id) {
                    self.ctx.networks.event(n, "connect", Some(&rec.id));
                }
            }
            tracing::debug!(container = %rec.id, attach = ?t_attach, total = ?t0.elapsed(), "networks attached");
            Ok(link_env(&rec, &links))
        })();
        if result.is_err() {
            self.detach_networks(&rec.id);
        }
        result
    }

    /// Writes `/etc/hosts` (own address and hostname, `--add-host`, links)
    /// and `/etc/resolv.conf` (127.0.0.11 on user networks; the host's
    /// resolvers without loopback ones, or `--dns`, otherwise).
    fn write_network_files(
        &self,
        rec: &Record,
        ip: Option<&str>,
        links: &[(String, Record, Ipv4Addr)],
        embedded_dns: bool,
    ) -> Result<(), Error> {
        let dir = self.ctx.store.dir_of(&rec.id);
        // Rewritten at every start: replaced atomically (rename), but not
        // synced to disk, which would cost two fsyncs each.
        let write = |name: &str, text: &str| {
            berth_fsutil::replace_file(&dir.join(name), text.as_bytes()).map_err(|e| {
                Error::system(format!("cannot write {name} of container {}: {e}", rec.id))
            })
        };
        let hostname = &rec.config.hostname;
        let names = if rec.config.domainname.is_empty() {
            hostname.clone()
        } else {
            format!("{hostname}.{} {hostname}", rec.config.domainname)
        };
        let hc = &rec.host_config;
        let mut hosts = files::hosts(
            ip.map(|ip| (ip, names.as_str())),
            &hc.extra_hosts.clone().unwrap_or_default(),
        );
        for (alias, t, tip) in links {
            let short = &t.id[..12.min(t.id.len())];
            hosts.push_str(&format!("{tip}\t{alias} {short} {}\n", t.name));
        }
        write("hosts", &hosts)?;
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let search = hc.dns_search.clone().unwrap_or_default();
        let options = hc.dns_options.clone().unwrap_or_default();
        let resolv = if embedded_dns {
            let base = files::resolv_conf(&host_resolv, &[], &search, &options);
            let mut out = format!("nameserver {}\n", berth_network::dns::DNS_ADDR);
            let mut opts = vec!["ndots:0".to_string()];
            for line in base.lines() {
                if line.starts_with("search ") {
                    out.push_str(line);
                    out.push('\n');
                } else if let Some(o) = line.strip_prefix("options ") {
                    opts.retain(|x| !(x.starts_with("ndots:") && o.contains("ndots:")));
                    opts.extend(o.split_whitespace().map(str::to_string));
                }
            }
            out.push_str(&format!("options {}\n", opts.join(" ")));
            out
        } else {
            files::resolv_conf(&host_resolv, &self.dns_servers(hc), &search, &options)
        };
        write("resolv.conf", &resolv)
    }

    /// Releases everything the container holds on its networks (blocking;
    /// idempotent; from `release_resources`).
    pub(super) fn detach_networks(&self, id: &str) {
        let sandbox = self.ctl().sandbox(id);
        // The caller removes the namespace next; unless a running container
        // shares it, the kernel deletes the veths with it.
        if self.netns_shared(id) {
            self.ctl().release(id);
        } else {
            self.ctl().release_with_netns(id);
        }
        if let Ok(c) = self.get(id) {
            let mut r = c.lock();
            for ep in r.networks.values_mut() {
                clear_runtime(ep);
            }
            r.ports.clear();
        }
        if let Some(sb) = sandbox {
            for ep in &sb.endpoints {
                if let Ok(n) = self.ctl().find(&ep.network_id) {
                    self.ctx.networks.event(&n, "disconnect", Some(id));
                }
            }
        }
    }

    /// Whether a running container joined the network namespace of
    /// container `id` (`--network container:<id>`).
    fn netns_shared(&self, id: &str) -> bool {
        self.all().iter().any(|other| {
            let target = {
                let r = other.lock();
                if !r.state.status.has_process() {
                    return false;
                }
                match r.host_config.network_mode.strip_prefix("container:") {
                    Some(t) => t.to_string(),
                    None => return false,
                }
            };
            // Usually the ID itself; a name or prefix needs a lookup.
            target == id || self.get(&target).is_ok_and(|t| t.id == id)
        })
    }

    /// After a daemon restart, for a container that kept running: takes
    /// back what it holds on its networks (blocking).
    pub(super) fn adopt_networks(&self, c: &Container) {
        let ns = self.ctx.netns.path(&c.id);
        if !ns.exists() {
            return;
        }
        if let Some(sb) = self.ctl().adopt(&c.id, &ns) {
            let bindings: Vec<_> = sb.ports.iter().map(|p| p.binding).collect();
            let mut r = c.lock();
            r.ports = ports::to_api(r.config.exposed_ports.as_ref(), &bindings);
        }
    }

    /// After every container was reconciled at start-up: releases what no
    /// running container holds (blocking).
    pub(super) fn sweep_networks(&self) {
        self.ctl().sweep();
    }

    /// `POST /networks/{id}/connect`.
    pub async fn connect_network(
        self: &Arc<Self>,
        container: &str,
        network: &str,
        es: EndpointSettings,
    ) -> Result<(), Error> {
        let c = self.get(container)?;
        let _guard = c.lifecycle.lock().await;
        let svc = self.clone();
        let network = network.to_string();
        let c2 = c.clone();
        blocking::run(move || svc.connect_locked(&c2, &network, es)).await
    }

    fn connect_locked(
        &self,
        c: &Container,
        network: &str,
        es: EndpointSettings,
    ) -> Result<(), Error> {
        let net = self.ctl().find(network)?;
        let rec = c.snapshot();
        match mode_of(&rec.host_config.network_mode) {
            Mode::Host | Mode::None | Mode::Container(_) => {
                return Err(Error::forbidden(
                    "container sharing network namespace with another container or host cannot be connected to any other network",
                ));
            }
            Mode::Network(_) => {}
        }
        if !net.is_bridge() {
            return Err(Error::forbidden(format!(
                "container cannot be disconnected from host network or connected to {} network",
                net.name
            )));
        }
        if rec.networks.contains_key(&net.name) {
            return Err(Error::forbidden(format!(
                "endpoint with name {} already exists in network {}",
                rec.name, net.name
            )));
        }
        self.check_endpoint(&net, &es)?;
        let mut settings = es.clone();
        settings.network_id = net.id.clone();
        let running = rec.state.status.has_process() && self.ctl().sandbox(&c.id).is_some();
        if running {
            let aliases = es.aliases.clone().unwrap_or_default();
            let ep = self.ctl().connect(
                &c.id,
                EndpointRequest {
                    network: net.id.clone(),
                    ip: es
                        .ipam_config
                        .as_ref()
                        .and_then(|c| c.ipv4_address.parse().ok()),
                    mac: es.mac_address.parse().ok(),
                    dns_names: Self::dns_names(&rec, &aliases),
                    aliases,
                },
            )?;
            apply_endpoint(&mut settings, &ep, Some(&net));
        }
        c.lock().networks.insert(net.name.clone(), settings);
        self.save(c)?;
        if running {
            self.ctx.networks.event(&net, "connect", Some(&c.id));
        }
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn disconnect_network(
        self: &Arc<Self>,
        container: &str,
        network: &str,
        _force: bool,
    ) -> Result<(), Error> {
        let c = self.get(container)?;
        let _guard = c.lifecycle.lock().await;
        let svc = self.clone();
        let network = network.to_string();
        let c2 = c.clone();
        blocking::run(move || {
            let net = svc.ctl().find(&network)?;
            let rec = c2.snapshot();
            if matches!(mode_of(&rec.host_config.network_mode), Mode::Host) && net.name == "host" {
                return Err(Error::forbidden(
                    "container cannot be disconnected from host network or connected to host network",
                ));
            }
            if !rec.networks.contains_key(&net.name) {
                return Err(Error::forbidden(format!(
                    "container {} is not connected to network {}",
                    rec.id, net.name
                )));
            }
            let running = svc
                .ctl()
                .sandbox(&c2.id)
                .is_some_and(|s| s.endpoints.iter().any(|e| e.network_id == net.id));
            if running {
                svc.ctl().disconnect(&c2.id, &net.id)?;
            }
            c2.lock().networks.remove(&net.name);
            svc.save(&c2)?;
            if running {
                svc.ctx.networks.event(&net, "disconnect", Some(&c2.id));
            }
            Ok(())
        })
        .await
    }

    /// `NetworkSettings` of inspect.
    pub(super) fn network_settings(&self, rec: &Record) -> NetworkSettings {
        let host_mode = rec.host_config.network_mode == "host";
        let shares = rec.host_config.network_mode.starts_with("container:");
        let running = rec.state.status.has_process();
        let mut networks = rec.networks.clone();
        if networks.is_empty() && !shares {
            networks.insert(
                rec.host_config.network_mode.clone(),
                EndpointSettings::default(),
            );
        }
        let sandbox_key = if running && !host_mode {
            self.ctx.netns.path(&rec.id).display().to_string()
        } else {
            String::new()
        };
        let mut s = NetworkSettings {
            sandbox_id: if sandbox_key.is_empty() {
                String::new()
            } else {
                rec.id.clone()
            },
            sandbox_key,
            ports: if running {
                rec.ports.clone()
            } else {
                BTreeMap::new()
            },
            ..Default::default()
        };
        if let Some(b) = networks.get("bridge") {
            s.endpoint_id = b.endpoint_id.clone();
            s.gateway = b.gateway.clone();
            s.ip_address = b.ip_address.clone();
            s.ip_prefix_len = b.ip_prefix_len;
            s.mac_address = b.mac_address.clone();
        }
        s.networks = networks;
        s
    }
}

/// `Ports` of `GET /containers/json`: the bindings of a running container,
/// and its exposed ports without one.
pub fn summary_ports(rec: &Record) -> Vec<Port> {
    if rec.state.status != Status::Running && rec.state.status != Status::Paused {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, bindings) in &rec.ports {
        let Ok(k) = key.parse::<PortKey>() else {
            continue;
        };
        match bindings {
            Some(list) if !list.is_empty() => {
                for b in list {
                    out.push(Port {
                        ip: b.host_ip.clone(),
                        private_port: k.port,
                        public_port: b.host_port.parse().ok(),
                        kind: k.proto.as_str().to_string(),
                    });
                }
            }
            _ => out.push(Port {
                ip: String::new(),
                private_port: k.port,
                public_port: None,
                kind: k.proto.as_str().to_string(),
            }),
        }
    }
    out
}

/// Docker's link variables: `ALIAS_PORT_80_TCP=tcp://ip:80` and friends,
/// `ALIAS_NAME`, and the target's `ALIAS_ENV_X`.
fn link_env(rec: &Record, links: &[(String, Record, Ipv4Addr)]) -> Vec<String> {
    let mut env = Vec::new();
    for (alias, t, ip) in links {
        let prefix: String = alias
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        env.push(format!("{prefix}_NAME=/{}/{alias}", rec.name));
        let mut ports: Vec<PortKey> = t
            .config
            .exposed_ports
            .iter()
            .flatten()
            .filter_map(|(k, _)| k.parse().ok())
            .collect();
        ports.sort();
        if let Some(first) = ports.first() {
            env.push(format!(
                "{prefix}_PORT={}://{ip}:{}",
                first.proto.as_str(),
                first.port
            ));
        }
        for p in &ports {
            let proto = p.proto.as_str();
            let up = proto.to_ascii_uppercase();
            let base = format!("{prefix}_PORT_{}_{up}", p.port);
            env.push(format!("{base}={proto}://{ip}:{}", p.port));
            env.push(format!("{base}_ADDR={ip}"));
            env.push(format!("{base}_PORT={}", p.port));
            env.push(format!("{base}_PROTO={proto}"));
        }
        for kv in t.config.env.iter().flatten() {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            if k == "HOME" || k == "PATH" || k == "HOSTNAME" {
                continue;
            }
            env.push(format!("{prefix}_ENV_{k}={v}"));
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parse() {
        assert_eq!(parse_link("web:w").unwrap(), ("web".into(), "w".into()));
        assert_eq!(parse_link("/web").unwrap(), ("web".into(), "web".into()));
        assert!(parse_link(":x").is_err());
    }

    #[test]
    fn runtime_fields_clear() {
        let mut ep = EndpointSettings {
            ip_address: "10.0.0.2".into(),
            mac_address: "02:42:0a:00:00:02".into(),
            gateway: "10.0.0.1".into(),
            ip_prefix_len: 24,
            endpoint_id: "e".into(),
            network_id: "n".into(),
            ..Default::default()
        };
        clear_runtime(&mut ep);
        assert!(ep.mac_address.is_empty() && ep.ip_address.is_empty());
        assert_eq!(ep.network_id, "n");
        let mut user = EndpointSettings {
            ip_address: "10.0.0.2".into(),
            mac_address: "02:00:00:00:00:07".into(),
            ..Default::default()
        };
        clear_runtime(&mut user);
        assert_eq!(user.mac_address, "02:00:00:00:00:07");
    }
}
