//! What a container holds on its networks (its sandbox): endpoints (an
//! address, a veth pair), published ports (a proxy socket and a DNAT rule
//! each) and names in the embedded DNS. The sandbox is persisted before
//! the kernel objects are made, so that [`Controller::release`] and
//! [`Controller::sweep`] can undo everything after a crash at any moment.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use berth_api::Error;

use crate::bridge::{self, HostView, Plumb};
use crate::cidr::Mac;
use crate::controller::{Controller, Live};
use crate::dns::{self, Scope};
use crate::model::{Endpoint, Network, PortMapping, Sandbox};
use crate::ports::{Binding, Request};
use crate::proxy;

/// One network to join.
#[derive(Debug, Clone, Default)]
pub struct EndpointRequest {
    /// Name or ID.
    pub network: String,
    pub ip: Option<Ipv4Addr>,
    pub mac: Option<Mac>,
    pub aliases: Vec<String>,
    /// The names the embedded DNS answers for on a user network.
    pub dns_names: Vec<String>,
}

/// Everything a starting container needs on its networks.
#[derive(Debug, Clone, Default)]
pub struct AttachSpec {
    pub container_id: String,
    pub container_name: String,
    pub netns: PathBuf,
    pub endpoints: Vec<EndpointRequest>,
    pub ports: Vec<Request>,
    /// The container's `--dns` (upstreams of its embedded DNS).
    pub dns: Vec<IpAddr>,
    /// Names only this container resolves (legacy links).
    pub local_names: BTreeMap<String, Ipv4Addr>,
}

fn new_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

impl Controller {
    /// The sandbox of a container, if it holds one.
    pub fn sandbox(&self, container_id: &str) -> Option<Sandbox> {
        self.state().sandboxes.get(container_id).cloned()
    }

    /// Allocates an address on `net` and describes the endpoint.
    fn plan_endpoint(
        &self,
        net: &Network,
        container_id: &str,
        req: &EndpointRequest,
        ifname: String,
        with_gateway: bool,
        pools: &mut HashMap<String, crate::ipam::Pool>,
    ) -> Result<Endpoint, Error> {
        if !net.is_bridge() {
            return Err(Error::invalid(format!(
                "container cannot be connected to network {} ({} driver) along with other networks",
                net.name, net.driver
            )));
        }
        let pool = pools
            .get_mut(&net.id)
            .ok_or_else(|| Error::system(format!("network {} has no address pool", net.name)))?;
        let ip = pool.allocate(container_id, req.ip)?;
        if let Err(e) = self.ipam.save(&net.id, pool) {
            pool.release(ip, container_id);
            return Err(e);
        }
        Ok(Endpoint {
            id: new_id(),
            network_id: net.id.clone(),
            network_name: net.name.clone(),
            ip,
            prefix: net.subnet.map(|s| s.prefix).unwrap_or(16),
            gateway: if with_gateway && !net.internal {
                net.gateway
            } else {
                None
            },
            mac: req.mac.unwrap_or_else(|| Mac::from_ip(ip)),
            veth: bridge::veth_name(),
            ifname,
            aliases: req.aliases.clone(),
            dns_names: if net.has_dns() {
                req.dns_names.clone()
            } else {
                Vec::new()
            },
        })
    }

    /// Connects a starting container to its networks, publishes its ports
    /// and registers its names (blocking). On failure nothing is left.
    pub fn attach(&self, spec: AttachSpec) -> Result<Sandbox, Error> {
        let cid = spec.container_id.clone();
        if self.state().sandboxes.contains_key(&cid) || self.store.sandbox(&cid).is_some() {
            self.release(&cid);
        }
        let mut sb = Sandbox {
            container_id: cid.clone(),
            container_name: spec.container_name.clone(),
            netns: spec.netns.clone(),
            endpoints: Vec::new(),
            ports: Vec::new(),
            dns_upstreams: spec.dns.clone(),
            local_names: spec.local_names.clone(),
        };
        {
            let mut guard = self.state();
            let st = &mut *guard;
            let mut gateway_taken = false;
            for (i, req) in spec.endpoints.iter().enumerate() {
                let net = match st.find(&req.network) {
                    Ok(n) => n.clone(),
                    Err(e) => {
                        drop(guard);
                        self.release_addresses(&cid);
                        return Err(e);
                    }
                };
                match self.plan_endpoint(
                    &net,
                    &cid,
                    req,
                    format!("eth{i}"),
                    !gateway_taken,
                    &mut st.pools,
                ) {
                    Ok(ep) => {
                        gateway_taken |= ep.gateway.is_some();
                        sb.endpoints.push(ep);
                    }
                    Err(e) => {
                        drop(guard);
                        self.release_addresses(&cid);
                        return Err(e);
                    }
                }
            }
            if let Err(e) = self.store.save_sandbox(&sb) {
                drop(guard);
                self.release_addresses(&cid);
                return Err(e);
            }
            st.sandboxes.insert(cid.clone(), sb.clone());
        }
        tracing::debug!(container = %cid, "addresses allocated");
        match self.attach_kernel(&spec, &mut sb) {
            Ok(()) => Ok(sb),
            Err(e) => {
                self.release(&cid);
                Err(e)
            }
        }
    }

    fn attach_kernel(&self, spec: &AttachSpec, sb: &mut Sandbox) -> Result<(), Error> {
        let cid = &sb.container_id;
        // Ports first: a port in use is found before anything is plumbed.
        let mut live = Live::default();
        let publish_on = sb.endpoints.iter().find(|e| e.gateway.is_some()).cloned();
        if let Some(ep) = &publish_on {
            let host_binding = self.find(&ep.network_id).ok().and_then(|n| n.host_binding);
            for r in &spec.ports {
                let mut r = *r;
                if r.host_ip.is_none() {
                    r.host_ip = host_binding;
                }
                let bound = bind_request(&r)?;
                let binding = Binding {
                    key: r.key,
                    host_ip: r.host_ip,
                    host_port: bound.port(),
                };
                let proxy = proxy::serve(&self.rt, bound, SocketAddrV4::new(ep.ip, r.key.port))?;
                live.proxies.push((binding, proxy));
                sb.ports.push(PortMapping {
                    binding,
                    container_ip: ep.ip,
                    network_id: ep.network_id.clone(),
                });
            }
        } else if !spec.ports.is_empty() {
            tracing::info!(container = %cid, "ports are not published: the container has no network with a gateway");
        }
        if !sb.ports.is_empty() {
            self.store.save_sandbox(sb)?;
            if let Some(s) = self.state().sandboxes.get_mut(cid) {
                s.ports = sb.ports.clone();
            }
        }
        let t_ports = std::time::Instant::now();
        let nets = self.networks();
        let bridge_of = |id: &str| {
            nets.iter()
                .find(|n| n.id == id)
                .map(|n| (n.bridge.clone(), n.mtu))
        };
        let mut plumbs_owned = Vec::new();
        for ep in &sb.endpoints {
            let (br, mtu) = bridge_of(&ep.network_id).ok_or_else(|| {
                Error::not_found(format!("network {} not found", ep.network_name))
            })?;
            plumbs_owned.push((ep, br, mtu));
        }
        let plumbs: Vec<Plumb<'_>> = plumbs_owned
            .iter()
            .map(|(ep, br, mtu)| Plumb {
                ep,
                bridge: br,
                mtu: if *mtu == 0 { self.default_mtu } else { *mtu },
            })
            .collect();
        let t_plumb = std::time::Instant::now();
        bridge::plumb(&sb.netns, &plumbs, true)?;
        let t_dns = std::time::Instant::now();
        live.dns = self.start_dns(sb)?;
        self.state().live.insert(cid.clone(), live);
        let t_fw = std::time::Instant::now();
        if !sb.ports.is_empty() {
            self.apply_firewall()?;
        }
        tracing::debug!(
            container = %cid,
            ports = ?t_plumb - t_ports,
            plumb = ?t_dns - t_plumb,
            dns = ?t_fw - t_dns,
            firewall = ?t_fw.elapsed(),
            "attached"
        );
        Ok(())
    }

    /// Registers the names of `sb` and starts its DNS server when it is on
    /// a user-defined network.
    fn start_dns(&self, sb: &Sandbox) -> Result<Option<dns::ContainerDns>, Error> {
        let nets = self.networks();
        let mut dns_nets = Vec::new();
        for ep in &sb.endpoints {
            let Some(net) = nets.iter().find(|n| n.id == ep.network_id) else {
                continue;
            };
            if net.has_dns() {
                self.registry
                    .add(&net.id, &net.name, &sb.container_id, &ep.dns_names, ep.ip);
                dns_nets.push(net.id.clone());
            }
        }
        if dns_nets.is_empty() {
            return Ok(None);
        }
        let explicit = if sb.dns_upstreams.is_empty() {
            self.opts.dns.clone()
        } else {
            sb.dns_upstreams.clone()
        };
        let scope = Arc::new(Scope {
            networks: RwLock::new(dns_nets),
            local: RwLock::new(
                sb.local_names
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), *v))
                    .collect(),
            ),
            upstreams: dns::upstreams(&explicit, &self.opts.host_resolv),
        });
        dns::serve(&self.rt, self.registry.clone(), scope, &sb.netns).map(Some)
    }

    /// Releases addresses `container_id` holds in any pool.
    fn release_addresses(&self, container_id: &str) {
        let mut st = self.state();
        let ids: Vec<String> = st.pools.keys().cloned().collect();
        for id in ids {
            if let Some(pool) = st.pools.get_mut(&id)
                && pool.release_owner(container_id)
                && let Err(e) = self.ipam.save(&id, pool)
            {
                tracing::warn!(network = %id, error = %e, "cannot persist a released address");
            }
        }
    }

    /// Releases everything a container holds (blocking; idempotent).
    pub fn release(&self, container_id: &str) {
        self.release_inner(container_id, true);
    }

    /// As [`Controller::release`], for a container whose network namespace
    /// the caller removes right after, with nothing else inside: the kernel
    /// then deletes the veth pairs with the namespace, asynchronously,
    /// which spares the stop the 10–20 ms each explicit deletion costs.
    pub fn release_with_netns(&self, container_id: &str) {
        self.release_inner(container_id, false);
    }

    fn release_inner(&self, container_id: &str, delete_veths: bool) {
        let (sb, live) = {
            let mut st = self.state();
            (
                st.sandboxes.remove(container_id),
                st.live.remove(container_id),
            )
        };
        drop(live);
        let sb = sb.or_else(|| self.store.sandbox(container_id));
        if let Some(sb) = &sb {
            for ep in &sb.endpoints {
                self.registry.remove(&ep.network_id, container_id);
            }
            let veths: Vec<String> = sb.endpoints.iter().map(|e| e.veth.clone()).collect();
            if delete_veths && let Err(e) = bridge::delete_links(&veths) {
                tracing::warn!(container = %container_id, error = %e, "cannot delete the veth pairs");
            }
        }
        self.release_addresses(container_id);
        if let Err(e) = self.store.remove_sandbox(container_id) {
            tracing::warn!(container = %container_id, error = %e, "cannot remove the network state");
        }
        if sb.is_some_and(|s| !s.ports.is_empty())
            && let Err(e) = self.apply_firewall()
        {
            tracing::warn!(error = %e, "cannot update the firewall");
        }
    }

    /// Connects a running container to one more network (blocking).
    pub fn connect(&self, container_id: &str, req: EndpointRequest) -> Result<Endpoint, Error> {
        let netns = self
            .sandbox(container_id)
            .map(|s| s.netns)
            .ok_or_else(|| Error::conflict(format!("container {container_id} is not running")))?;
        let used = bridge::netns_links(&netns)?;
        let ep = {
            let mut guard = self.state();
            let st = &mut *guard;
            let net = st.find(&req.network)?.clone();
            let sb = st.sandboxes.get(container_id).ok_or_else(|| {
                Error::conflict(format!("container {container_id} is not running"))
            })?;
            if sb.endpoints.iter().any(|e| e.network_id == net.id) {
                return Err(Error::forbidden(format!(
                    "endpoint with name {} already exists in network {}",
                    sb.container_name, net.name
                )));
            }
            let with_gw = !sb.endpoints.iter().any(|e| e.gateway.is_some());
            let ep = self.plan_endpoint(
                &net,
                container_id,
                &req,
                bridge::next_ifname(&used),
                with_gw,
                &mut st.pools,
            )?;
            let Some(sb) = st.sandboxes.get_mut(container_id) else {
                return Err(Error::conflict(format!(
                    "container {container_id} is not running"
                )));
            };
            sb.endpoints.push(ep.clone());
            if let Err(e) = self.store.save_sandbox(sb) {
                sb.endpoints.retain(|x| x.id != ep.id);
                if let Some(pool) = st.pools.get_mut(&ep.network_id) {
                    pool.release(ep.ip, container_id);
                }
                return Err(e);
            }
            ep
        };
        let result = (|| {
            let net = self.find(&ep.network_id)?;
            let mtu = if net.mtu == 0 {
                self.default_mtu
            } else {
                net.mtu
            };
            bridge::plumb(
                &netns,
                &[Plumb {
                    ep: &ep,
                    bridge: &net.bridge,
                    mtu,
                }],
                ep.gateway.is_some(),
            )?;
            if net.has_dns() {
                self.registry
                    .add(&net.id, &net.name, container_id, &ep.dns_names, ep.ip);
                let has_server = {
                    let st = self.state();
                    match st.live.get(container_id).and_then(|l| l.dns.as_ref()) {
                        Some(d) => {
                            match d.scope.networks.write() {
                                Ok(mut g) => g.push(net.id.clone()),
                                Err(p) => p.into_inner().push(net.id.clone()),
                            }
                            true
                        }
                        None => false,
                    }
                };
                if !has_server && let Some(sb) = self.sandbox(container_id) {
                    let server = self.start_dns(&sb)?;
                    self.state()
                        .live
                        .entry(container_id.to_string())
                        .or_default()
                        .dns = server;
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            self.disconnect(container_id, &ep.network_id).ok();
            return Err(e);
        }
        Ok(ep)
    }

    /// Disconnects a running container from a network (blocking).
    pub fn disconnect(&self, container_id: &str, network: &str) -> Result<(), Error> {
        let (ep, dropped, ports_changed) = {
            let mut guard = self.state();
            let st = &mut *guard;
            let net_id = st.find(network).map(|n| n.id.clone())?;
            let Some(sb) = st.sandboxes.get_mut(container_id) else {
                return Err(Error::conflict(format!(
                    "container {container_id} is not running"
                )));
            };
            let Some(pos) = sb.endpoints.iter().position(|e| e.network_id == net_id) else {
                return Err(Error::forbidden(format!(
                    "container {container_id} is not connected to network {network}"
                )));
            };
            let ep = sb.endpoints.remove(pos);
            let before = sb.ports.len();
            sb.ports.retain(|p| p.network_id != net_id);
            let ports_changed = before != sb.ports.len();
            let kept: Vec<Binding> = sb.ports.iter().map(|p| p.binding).collect();
            self.store.save_sandbox(sb)?;
            let mut dropped = Vec::new();
            if let Some(live) = st.live.get_mut(container_id) {
                let (keep, gone): (Vec<_>, Vec<_>) =
                    live.proxies.drain(..).partition(|(b, _)| kept.contains(b));
                live.proxies = keep;
                dropped = gone;
                if let Some(d) = &live.dns {
                    match d.scope.networks.write() {
                        Ok(mut g) => g.retain(|n| *n != net_id),
                        Err(p) => p.into_inner().retain(|n| *n != net_id),
                    }
                }
            }
            if let Some(pool) = st.pools.get_mut(&net_id)
                && pool.release(ep.ip, container_id)
            {
                self.ipam.save(&net_id, pool)?;
            }
            (ep, dropped, ports_changed)
        };
        drop(dropped);
        self.registry.remove(&ep.network_id, container_id);
        bridge::delete_links(std::slice::from_ref(&ep.veth))?;
        if ports_changed {
            self.apply_firewall()?;
        }
        Ok(())
    }

    /// Takes back what a container that kept running while the daemon was
    /// away holds: its sandbox, proxies and DNS server (blocking). Returns
    /// the sandbox, if it had one.
    pub fn adopt(&self, container_id: &str, netns: &Path) -> Option<Sandbox> {
        let mut sb = self.store.sandbox(container_id)?;
        sb.netns = netns.to_path_buf();
        let host = HostView::read().unwrap_or_default();
        let (kept, gone): (Vec<Endpoint>, Vec<Endpoint>) = sb
            .endpoints
            .drain(..)
            .partition(|e| host.link(&e.veth).is_some());
        for ep in &gone {
            tracing::warn!(container = %container_id, network = %ep.network_name, "the container's veth is gone; dropping its endpoint");
        }
        sb.endpoints = kept;
        let nets: HashSet<String> = sb.endpoints.iter().map(|e| e.network_id.clone()).collect();
        sb.ports.retain(|p| nets.contains(&p.network_id));
        {
            let mut st = self.state();
            for ep in &gone {
                if let Some(pool) = st.pools.get_mut(&ep.network_id)
                    && pool.release(ep.ip, container_id)
                {
                    let _ = self.ipam.save(&ep.network_id, pool);
                }
            }
            // Make sure the addresses are marked as held.
            for ep in &sb.endpoints {
                if let Some(pool) = st.pools.get_mut(&ep.network_id)
                    && pool.allocated.get(&ep.ip).is_none_or(|o| o != container_id)
                {
                    pool.allocated.insert(ep.ip, container_id.to_string());
                    let _ = self.ipam.save(&ep.network_id, pool);
                }
            }
        }
        let mut live = Live::default();
        for p in &sb.ports {
            let b = p.binding;
            match proxy::bind(b.key.proto, b.host_ip, b.host_port).and_then(|bound| {
                proxy::serve(
                    &self.rt,
                    bound,
                    SocketAddrV4::new(p.container_ip, b.key.port),
                )
            }) {
                Ok(px) => live.proxies.push((b, px)),
                Err(e) => {
                    tracing::warn!(container = %container_id, error = %e, "cannot take back a published port's socket")
                }
            }
        }
        match self.start_dns(&sb) {
            Ok(d) => live.dns = d,
            Err(e) => {
                tracing::warn!(container = %container_id, error = %e, "cannot restart the embedded DNS server")
            }
        }
        let _ = self.store.save_sandbox(&sb);
        let mut st = self.state();
        st.sandboxes.insert(container_id.to_string(), sb.clone());
        st.live.insert(container_id.to_string(), live);
        Some(sb)
    }

    /// After the containers were reconciled at start-up: releases what no
    /// container holds (sandboxes, addresses, veths on Berth's bridges)
    /// and rewrites the firewall table (blocking).
    pub fn sweep(&self) {
        let known: HashSet<String> = self.state().sandboxes.keys().cloned().collect();
        for sb in self.store.sandboxes() {
            if !known.contains(&sb.container_id) {
                tracing::info!(container = %sb.container_id, "releasing the network resources of a container that is not running");
                self.release(&sb.container_id);
            }
        }
        {
            let mut st = self.state();
            let ids: Vec<String> = st.pools.keys().cloned().collect();
            for id in ids {
                if let Some(pool) = st.pools.get_mut(&id) {
                    let before = pool.allocated.len();
                    pool.allocated.retain(|_, owner| known.contains(owner));
                    if before != pool.allocated.len() {
                        tracing::info!(network = %id, released = before - pool.allocated.len(), "released addresses no container holds");
                        let _ = self.ipam.save(&id, pool);
                    }
                }
            }
        }
        if let Ok(host) = HostView::read() {
            let (bridges, veths): (HashSet<u32>, HashSet<String>) = {
                let st = self.state();
                let names: HashSet<&str> = st
                    .networks
                    .values()
                    .filter(|n| n.is_bridge())
                    .map(|n| n.bridge.as_str())
                    .collect();
                (
                    host.links
                        .iter()
                        .filter(|l| names.contains(l.name.as_str()))
                        .map(|l| l.index)
                        .collect(),
                    st.sandboxes
                        .values()
                        .flat_map(|s| s.endpoints.iter().map(|e| e.veth.clone()))
                        .collect(),
                )
            };
            let stray: Vec<String> = host
                .links
                .iter()
                .filter(|l| l.master.is_some_and(|m| bridges.contains(&m)))
                .filter(|l| l.kind.as_deref() == Some("veth") && !veths.contains(&l.name))
                .map(|l| l.name.clone())
                .collect();
            if !stray.is_empty() {
                tracing::info!(
                    count = stray.len(),
                    "deleting veth pairs no container holds"
                );
                if let Err(e) = bridge::delete_links(&stray) {
                    tracing::warn!(error = %e, "cannot delete stray veth pairs");
                }
            }
        }
        if let Err(e) = self.apply_firewall() {
            tracing::error!(error = %e.chain(), "cannot write the firewall table");
        }
    }
}

/// Binds the host side of one requested port: the exact port, the first
/// free one of a range, or an ephemeral one.
fn bind_request(r: &Request) -> Result<proxy::Bound, Error> {
    let (first, last) = r.host_ports;
    if first == 0 {
        return proxy::bind(r.key.proto, r.host_ip, 0);
    }
    let mut first_err = None;
    for port in first..=last {
        match proxy::bind(r.key.proto, r.host_ip, port) {
            Ok(b) => return Ok(b),
            Err(e) if e.kind() == berth_api::ErrorKind::Conflict => {
                first_err.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(first_err.unwrap_or_else(|| Error::conflict("no free host port in the range")))
}
