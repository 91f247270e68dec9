//! Networks as the API shows them (`NetworkInspect`).

use std::collections::BTreeMap;

use berth_api::types::network::{
    ConfigReference, Ipam, IpamConfig, NetworkContainer, NetworkInspect,
};
use berth_network::model::{Endpoint, Network};

/// A network with the containers attached to it.
pub fn inspect(n: &Network, endpoints: &[(String, String, Endpoint)]) -> NetworkInspect {
    let config = match (n.subnet, n.gateway) {
        (Some(s), g) => vec![IpamConfig {
            subnet: s.network().to_string(),
            ip_range: n.ip_range.map(|r| r.to_string()).unwrap_or_default(),
            gateway: g.map(|g| g.to_string()).unwrap_or_default(),
            aux_address: None,
        }],
        _ => Vec::new(),
    };
    let containers: BTreeMap<String, NetworkContainer> = endpoints
        .iter()
        .map(|(cid, name, ep)| {
            (
                cid.clone(),
                NetworkContainer {
                    name: name.clone(),
                    endpoint_id: ep.id.clone(),
                    mac_address: ep.mac.to_string(),
                    ipv4_address: format!("{}/{}", ep.ip, ep.prefix),
                    ipv6_address: String::new(),
                },
            )
        })
        .collect();
    NetworkInspect {
        name: n.name.clone(),
        id: n.id.clone(),
        created: n.created.clone(),
        scope: "local".to_string(),
        driver: n.driver.clone(),
        enable_ipv4: n.is_bridge(),
        enable_ipv6: false,
        ipam: Ipam {
            driver: if n.ipam_driver.is_empty() {
                "default".to_string()
            } else {
                n.ipam_driver.clone()
            },
            options: (!n.ipam_options.is_empty()).then(|| n.ipam_options.clone()),
            config: Some(config),
        },
        internal: n.internal,
        attachable: n.attachable,
        ingress: false,
        config_from: ConfigReference::default(),
        config_only: false,
        containers,
        options: n.options.clone(),
        labels: n.labels.clone(),
    }
}
