//! The bridge driver's kernel side: Linux bridges with their gateway
//! address, veth pairs between a bridge and a container's namespace
//! (`eth0` inside, with its address, MAC, MTU and default route), and the
//! choice of a free address pool.

use std::net::Ipv4Addr;
use std::path::Path;

use berth_api::Error;

use crate::cidr::{Ipv4Net, Mac};
use crate::model::Endpoint;
use crate::netlink::{Addr, Link, Route, VethSpec, with_netlink};

/// What the host has: routes, addresses and links.
#[derive(Debug, Clone, Default)]
pub struct HostView {
    pub routes: Vec<Route>,
    pub addrs: Vec<Addr>,
    pub links: Vec<Link>,
}

impl HostView {
    pub fn read() -> Result<Self, Error> {
        with_netlink(None, |nl| async move {
            Ok(HostView {
                routes: nl.routes().await?,
                addrs: nl.addresses().await?,
                links: nl.links().await?,
            })
        })
    }

    /// Whether `net` overlaps a route (other than the default route) or an
    /// address of the host.
    pub fn overlaps(&self, net: &Ipv4Net) -> bool {
        self.routes
            .iter()
            .filter(|r| r.dst.prefix > 0)
            .any(|r| r.dst.network().overlaps(net))
            || self
                .addrs
                .iter()
                .any(|a| !a.net.addr.is_loopback() && net.contains(a.net.addr))
    }

    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The IPv4 addresses of link `name`.
    pub fn addrs_of(&self, name: &str) -> Vec<Ipv4Net> {
        match self.link(name) {
            Some(l) => self
                .addrs
                .iter()
                .filter(|a| a.index == l.index)
                .map(|a| a.net)
                .collect(),
            None => Vec::new(),
        }
    }
}

/// Docker's default pools: 172.17.0.0/16 … 172.31.0.0/16, then
/// 192.168.0.0/16 in /20s.
pub fn default_pools() -> Vec<Ipv4Net> {
    let mut out: Vec<Ipv4Net> = (17..=31)
        .map(|b| Ipv4Net {
            addr: Ipv4Addr::new(172, b, 0, 0),
            prefix: 16,
        })
        .collect();
    out.extend((0..16).map(|i| Ipv4Net {
        addr: Ipv4Addr::new(192, 168, i * 16, 0),
        prefix: 20,
    }));
    out
}

/// The subnets of `base` split into `size`-bit prefixes
/// (`--default-address-pool base=…,size=…`), at most 4096 of them.
pub fn split_pool(base: Ipv4Net, size: u8) -> Vec<Ipv4Net> {
    let base = base.network();
    if size < base.prefix || size > 30 {
        return vec![base];
    }
    let step = 1u64 << (32 - u32::from(size));
    let count = (base.size() / step).min(4096);
    (0..count)
        .map(|i| Ipv4Net {
            addr: Ipv4Addr::from(base.first() + (i * step) as u32),
            prefix: size,
        })
        .collect()
}

/// The first candidate overlapping neither the host nor `taken`.
pub fn pick_pool(candidates: &[Ipv4Net], host: &HostView, taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    candidates
        .iter()
        .find(|c| !host.overlaps(c) && !taken.iter().any(|t| t.overlaps(c)))
        .copied()
}

/// Makes sure bridge `name` exists with `gateway` (address and prefix)
/// and is up. Returns its MTU.
pub fn ensure_bridge(name: &str, gateway: Option<Ipv4Net>, mtu: u32) -> Result<u32, Error> {
    let name = name.to_string();
    with_netlink(None, move |nl| async move {
        let link = match nl.link(&name).await? {
            Some(l) => l,
            None => {
                match nl.create_bridge(&name, mtu, Mac::random()).await {
                    Ok(()) => {}
                    // Created concurrently: fine.
                    Err(e) if e.kind() == berth_api::ErrorKind::Conflict => {}
                    Err(e) => return Err(e),
                }
                nl.link(&name).await?.ok_or_else(|| {
                    Error::system(format!("bridge {name} vanished after creation"))
                })?
            }
        };
        if link.kind.as_deref().is_some_and(|k| k != "bridge") {
            return Err(Error::invalid(format!(
                "{name} exists and is not a bridge ({})",
                link.kind.as_deref().unwrap_or("?")
            )));
        }
        if let Some(gw) = gateway {
            nl.add_address(link.index, gw).await?;
        }
        if !link.up {
            nl.set_up(link.index).await?;
        }
        Ok(link.mtu)
    })
}

/// Deletes bridge `name` (missing is fine).
pub fn delete_links(names: &[String]) -> Result<(), Error> {
    if names.is_empty() {
        return Ok(());
    }
    let names = names.to_vec();
    with_netlink(None, move |nl| async move {
        let mut first_err = None;
        for n in &names {
            if let Err(e) = nl.delete_link(n).await {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}

/// One endpoint to plumb: where its host end goes.
pub struct Plumb<'a> {
    pub ep: &'a Endpoint,
    pub bridge: &'a str,
    pub mtu: u32,
}

/// Creates the veth pairs of `plumbs` (host ends on their bridges, peers
/// in the namespace at `netns`), then configures the peers inside:
/// address, up, and the default route of the endpoint that has a gateway
/// (the first one, when `default_route`).
pub fn plumb(netns: &Path, plumbs: &[Plumb<'_>], default_route: bool) -> Result<(), Error> {
    if plumbs.is_empty() {
        return Ok(());
    }
    let ns_file = std::fs::File::open(netns).map_err(|e| {
        Error::system(format!(
            "cannot open network namespace {}: {e}",
            netns.display()
        ))
    })?;
    let ns_ref = &ns_file;
    with_netlink(None, move |nl| async move {
        for p in plumbs {
            let bridge = nl
                .link(p.bridge)
                .await?
                .ok_or_else(|| Error::system(format!("bridge {} does not exist", p.bridge)))?;
            nl.create_veth(
                &VethSpec {
                    host: &p.ep.veth,
                    peer: &p.ep.ifname,
                    mac: p.ep.mac,
                    mtu: p.mtu,
                    master: bridge.index,
                },
                ns_ref,
            )
            .await?;
        }
        Ok(())
    })?;
    with_netlink(Some(netns), move |nl| async move {
        let mut route_done = !default_route;
        for p in plumbs {
            let link = nl.link(&p.ep.ifname).await?.ok_or_else(|| {
                Error::system(format!("{} is missing in the container", p.ep.ifname))
            })?;
            nl.add_address(
                link.index,
                Ipv4Net {
                    addr: p.ep.ip,
                    prefix: p.ep.prefix,
                },
            )
            .await?;
            if !link.up {
                nl.set_up(link.index).await?;
            }
            if !route_done && let Some(gw) = p.ep.gateway {
                nl.add_default_route(link.index, gw).await?;
                route_done = true;
            }
        }
        Ok(())
    })
}

/// Interface names present in the namespace at `netns`.
pub fn netns_links(netns: &Path) -> Result<Vec<String>, Error> {
    with_netlink(Some(netns), |nl| async move {
        Ok(nl.links().await?.into_iter().map(|l| l.name).collect())
    })
}

/// The first free `ethN` given the names in use.
pub fn next_ifname(used: &[String]) -> String {
    (0..)
        .map(|i| format!("eth{i}"))
        .find(|n| !used.contains(n))
        .unwrap_or_else(|| "eth0".to_string())
}

/// A fresh host-side veth name (`veth` and 7 hex digits, as Docker's).
pub fn veth_name() -> String {
    let b: [u8; 4] = rand::random();
    let h = hex::encode(b);
    format!("veth{}", &h[..7])
}

/// Whether `name` is a valid interface name.
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name.contains(['/', ':', ' ', '\t', '\n'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn pools() {
        let d = default_pools();
        assert_eq!(d[0], net("172.17.0.0/16"));
        assert_eq!(d[15], net("192.168.0.0/20"));
        assert_eq!(d[16], net("192.168.16.0/20"));
        let s = split_pool(net("198.18.8.0/21"), 24);
        assert_eq!(s.len(), 8);
        assert_eq!(s[1], net("198.18.9.0/24"));
        let host = HostView {
            routes: vec![
                Route {
                    dst: net("0.0.0.0/0"),
                    oif: Some(2),
                    gateway: None,
                },
                Route {
                    dst: net("172.17.0.0/16"),
                    oif: Some(3),
                    gateway: None,
                },
            ],
            addrs: vec![Addr {
                index: 2,
                net: net("172.18.0.5/24"),
            }],
            links: vec![],
        };
        // 172.17 is routed, 172.18 holds an address, 172.19 is taken.
        assert_eq!(
            pick_pool(&d, &host, &[net("172.19.0.0/16")]),
            Some(net("172.20.0.0/16"))
        );
        assert!(host.overlaps(&net("172.17.5.0/24")));
        assert!(!host.overlaps(&net("10.0.0.0/8")));
    }

    #[test]
    fn names() {
        assert_eq!(next_ifname(&["lo".into(), "eth0".into()]), "eth1");
        assert_eq!(next_ifname(&["lo".into()]), "eth0");
        let v = veth_name();
        assert!(v.starts_with("veth") && v.len() == 11 && valid_ifname(&v));
        assert!(!valid_ifname("a-name-that-is-too-long"));
        assert!(!valid_ifname("a/b"));
    }
}
