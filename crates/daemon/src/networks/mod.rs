//! The network service: the networks of the API (list, inspect, create,
//! remove, prune) over the network controller of `berth-network`, and the
//! network events. Connecting containers is the container service's
//! business (`containers/network.rs`), which calls into the controller.

mod backend;
mod convert;

use std::sync::Arc;

use berth_api::Error;
use berth_api::filters::Filters;
use berth_api::types::network::{
    NetworkCreateRequest, NetworkCreateResponse, NetworkInspect, NetworksPruneResponse,
};
use berth_network::Controller;
use berth_network::model::Network;

use crate::events::EventService;

pub use backend::NetworkApi;

/// Filters `GET /networks` accepts.
const LIST_FILTERS: &[&str] = &["driver", "id", "label", "name", "scope", "type", "dangling"];

pub struct NetworkService {
    pub ctl: Arc<Controller>,
    events: Arc<EventService>,
}

impl NetworkService {
    pub fn new(ctl: Arc<Controller>, events: Arc<EventService>) -> Arc<Self> {
        Arc::new(Self { ctl, events })
    }

    /// Publishes a network event (`create`, `connect`, `disconnect`,
    /// `destroy`); `container` for the middle two.
    pub fn event(&self, n: &Network, action: &str, container: Option<&str>) {
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert("name".to_string(), n.name.clone());
        attrs.insert("type".to_string(), n.driver.clone());
        if let Some(c) = container {
            attrs.insert("container".to_string(), c.to_string());
        }
        self.events.publish("network", action, &n.id, attrs);
    }

    fn matches(&self, n: &Network, f: &Filters, in_use: bool) -> Result<bool, Error> {
        let any = |key: &str, pred: &dyn Fn(&str) -> bool| {
            let wanted = f.get(key);
            wanted.is_empty() || wanted.iter().any(|w| pred(w))
        };
        if !any("driver", &|w| w == n.driver) {
            return Ok(false);
        }
        if !any("id", &|w| n.id.contains(w)) || !any("name", &|w| n.name.contains(w)) {
            return Ok(false);
        }
        if !any("scope", &|w| w == "local") {
            return Ok(false);
        }
        for t in f.get("type") {
            if t != "custom" && t != "builtin" {
                return Err(Error::invalid(format!(
                    "invalid filter: 'type'='{t}': expected custom or builtin"
                )));
            }
        }
        if !any("type", &|w| (w == "builtin") == n.predefined) {
            return Ok(false);
        }
        if !f.match_labels("label", &n.labels) {
            return Ok(false);
        }
        if let Some(d) = f.bool_value("dangling")? {
            let dangling = !n.predefined && !in_use;
            if d != dangling {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// `GET /networks` (blocking).
    pub fn list(&self, filters: &Filters) -> Result<Vec<NetworkInspect>, Error> {
        filters.validate(LIST_FILTERS)?;
        let mut out = Vec::new();
        for n in self.ctl.networks() {
            let eps = self.ctl.endpoints_on(&n.id);
            if self.matches(&n, filters, !eps.is_empty())? {
                let mut v = convert::inspect(&n, &eps);
                v.containers.clear();
                out.push(v);
            }
        }
        Ok(out)
    }

    /// `GET /networks/{id}` (blocking).
    pub fn inspect(&self, id: &str) -> Result<NetworkInspect, Error> {
        let n = self.ctl.find(id)?;
        Ok(convert::inspect(&n, &self.ctl.endpoints_on(&n.id)))
    }

    /// `POST /networks/create` (blocking).
    pub fn create(&self, req: &NetworkCreateRequest) -> Result<NetworkCreateResponse, Error> {
        let n = self.ctl.create(req)?;
        self.event(&n, "create", None);
        Ok(NetworkCreateResponse {
            id: n.id,
            warning: String::new(),
        })
    }

    /// `DELETE /networks/{id}` (blocking).
    pub fn remove(&self, id: &str) -> Result<(), Error> {
        let n = self.ctl.remove(id)?;
        self.event(&n, "destroy", None);
        Ok(())
    }

    /// `POST /networks/prune` (blocking): user-defined networks no running
    /// container is attached to (filters `until`, `label`, `label!`).
    pub fn prune(&self, filters: &Filters) -> Result<NetworksPruneResponse, Error> {
        filters.validate(&["until", "label", "label!"])?;
        let mut until = None;
        for u in filters.get("until") {
            until = Some(crate::timestamp::parse(u, chrono::Utc::now())?);
        }
        let mut deleted = Vec::new();
        for n in self.ctl.networks() {
            if n.predefined || !self.ctl.endpoints_on(&n.id).is_empty() {
                continue;
            }
            let created = chrono::DateTime::parse_from_rfc3339(&n.created)
                .map(|t| t.timestamp() as f64)
                .unwrap_or(0.0);
            if until.is_some_and(|u| created >= u) || !filters.match_labels("label", &n.labels) {
                continue;
            }
            if filters
                .get("label!")
                .iter()
                .any(|want| match want.split_once('=') {
                    Some((k, v)) => n.labels.get(k).map(String::as_str) == Some(v),
                    None => n.labels.contains_key(want.as_str()),
                })
            {
                continue;
            }
            match self.ctl.remove(&n.id) {
                Ok(n) => {
                    self.event(&n, "destroy", None);
                    deleted.push(n.name);
                }
                Err(e) => tracing::info!(network = %n.name, error = %e, "prune skipped a network"),
            }
        }
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert("reclaimed".to_string(), "0".to_string());
        self.events.publish("network", "prune", "", attrs);
        Ok(NetworksPruneResponse {
            networks_deleted: (!deleted.is_empty()).then_some(deleted),
        })
    }
}

/// The name of Berth's nftables table: `berth`, or `berth_<bridge>` when
/// the default bridge is not `berth0`, so that several daemons (tests)
/// never share a table.
pub fn table_name(default_bridge: &str) -> String {
    if default_bridge == "berth0" {
        return "berth".to_string();
    }
    let clean: String = default_bridge
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("berth_{clean}")
}

/// Opens the network controller from the daemon's options (blocking,
/// inside the daemon's runtime).
pub fn open(
    config: &crate::DaemonConfig,
    host_resolv: &str,
    events: Arc<EventService>,
) -> Result<Arc<NetworkService>, Error> {
    use berth_network::cidr::Ipv4Net;
    let bip = match &config.bip {
        Some(b) => Some(
            b.parse::<Ipv4Net>()
                .map_err(|e| Error::invalid(format!("invalid --bip {b:?}: {}", e.message())))?,
        ),
        None => None,
    };
    let mut pools = Vec::new();
    for p in &config.default_address_pools {
        let base: Ipv4Net = p.base.parse().map_err(|e: Error| {
            Error::invalid(format!(
                "invalid default address pool {}: {}",
                p.base,
                e.message()
            ))
        })?;
        if p.size < base.prefix || p.size > 30 {
            return Err(Error::invalid(format!(
                "invalid default address pool {}: size {} must be between {} and 30",
                p.base, p.size, base.prefix
            )));
        }
        pools.extend(berth_network::bridge::split_pool(base, p.size));
    }
    let default_bridge_name = config
        .default_bridge_name
        .clone()
        .unwrap_or_else(|| "berth0".to_string());
    let table = table_name(config.bridge.as_deref().unwrap_or(&default_bridge_name));
    let dns = config.dns.iter().filter_map(|d| d.parse().ok()).collect();
    let rt = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::system("the network controller needs the daemon's runtime"))?;
    let ctl = Controller::open(
        berth_network::Options {
            root: config.data_root.join("network"),
            bridge: config.bridge.clone(),
            default_bridge_name,
            bip,
            pools,
            iptables: config.iptables,
            icc: config.icc,
            mtu: config.mtu,
            dns,
            table,
            host_resolv: host_resolv.to_string(),
        },
        rt,
    )?;
    Ok(NetworkService::new(Arc::new(ctl), events))
}
