//! Links, addresses and routes through rtnetlink. Every batch of requests
//! runs on a short-lived thread with its own small runtime, entered into a
//! network namespace first when one is named, so that the daemon's threads
//! never change namespace and callers need no runtime of their own.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::Path;

use berth_api::Error;
use futures_util::TryStreamExt;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo,
};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::{
    Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder,
};

use crate::cidr::{Ipv4Net, Mac};

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `bridge`, `veth`… (None for physical devices).
    pub kind: Option<String>,
    /// The index of the bridge this link is a port of.
    pub master: Option<u32>,
    pub mac: Option<Mac>,
    pub mtu: u32,
    pub up: bool,
}

/// An IPv4 address on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    pub index: u32,
    pub net: Ipv4Net,
}

/// An IPv4 route of the main table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub dst: Ipv4Net,
    pub oif: Option<u32>,
    pub gateway: Option<Ipv4Addr>,
}

/// The errno of a netlink error, if it carries one.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code().abs()),
        _ => None,
    }
}

fn nl_err(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Error {
    let what = what.into();
    move |e| {
        let detail = match &e {
            rtnetlink::Error::NetlinkError(m) => m.to_io().to_string(),
            other => other.to_string(),
        };
        match errno(&e) {
            Some(libc::EEXIST) => Error::conflict(format!("{what}: {detail}")),
            _ => Error::system(format!("{what}: {detail}")),
        }
    }
}

/// Runs `f` with a netlink connection in the network namespace at
/// `netns` (the daemon's own when `None`).
pub fn with_netlink<T, F, Fut>(netns: Option<&Path>, f: F) -> Result<T, Error>
where
    F: FnOnce(Netlink) -> Fut + Send,
    Fut: Future<Output = Result<T, Error>>,
    T: Send,
{
    std::thread::scope(|s| {
        s.spawn(move || {
            if let Some(path) = netns {
                crate::netns::enter(path)?;
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(|e| Error::system(format!("cannot start a netlink runtime: {e}")))?;
            rt.block_on(async move {
                let (conn, handle, _) = rtnetlink::new_connection()
                    .map_err(|e| Error::system(format!("cannot open a netlink socket: {e}")))?;
                let task = tokio::spawn(conn);
                let result = f(Netlink { handle }).await;
                task.abort();
                result
            })
        })
        .join()
        .map_err(|_| Error::system("netlink thread panicked"))?
    })
}

/// A netlink connection (see [`with_netlink`]).
pub struct Netlink {
    handle: Handle,
}

fn link_of(msg: &rtnetlink::packet_route::link::LinkMessage) -> Link {
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        kind: None,
        master: None,
        mac: None,
        mtu: 0,
        up: msg.header.flags.contains(LinkFlags::Up),
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Controller(m) => link.master = Some(*m),
            LinkAttribute::Mtu(m) => link.mtu = *m,
            LinkAttribute::Address(a) if a.len() == 6 => {
                let mut b = [0u8; 6];
                b.copy_from_slice(a);
                link.mac = Some(Mac(b));
            }
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(k) = info {
                        link.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    link
}

impl Netlink {
    /// Every interface.
    pub async fn links(&self) -> Result<Vec<Link>, Error> {
        let mut out = Vec::new();
        let mut stream = self.handle.link().get().execute();
        while let Some(msg) = stream
            .try_next()
            .await
            .map_err(nl_err("cannot list links"))?
        {
            out.push(link_of(&msg));
        }
        Ok(out)
    }

    /// The interface called `name`, if any.
    pub async fn link(&self, name: &str) -> Result<Option<Link>, Error> {
        let mut stream = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match stream.try_next().await {
            Ok(Some(msg)) => Ok(Some(link_of(&msg))),
            Ok(None) => Ok(None),
            Err(e) if matches!(errno(&e), Some(libc::ENODEV) | Some(libc::ENOENT)) => Ok(None),
            Err(e) => Err(nl_err(format!("cannot look up link {name}"))(e)),
        }
    }

    /// Creates a bridge (down; see [`Netlink::set_up`]).
    pub async fn create_bridge(&self, name: &str, mtu: u32, mac: Mac) -> Result<(), Error> {
        let msg = LinkBridge::new(name)
            .down()
            .mtu(mtu)
            .address(mac.0.to_vec())
            .nf_call_iptables(true)
            .build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(nl_err(format!("cannot create bridge {name}")))
    }

    pub async fn set_up(&self, index: u32) -> Result<(), Error> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(nl_err(format!("cannot set link {index} up")))
    }

    pub async fn set_mtu(&self, index: u32, mtu: u32) -> Result<(), Error> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).mtu(mtu).build())
            .execute()
            .await
            .map_err(nl_err(format!("cannot set the MTU of link {index}")))
    }

    /// Deletes the interface `name`; a missing one is fine.
    pub async fn delete_link(&self, name: &str) -> Result<(), Error> {
        let msg = LinkUnspec::new_with_name(name).build();
        match self.handle.link().del_with_message(msg).execute().await {
            Ok(()) => Ok(()),
            Err(e) if matches!(errno(&e), Some(libc::ENODEV) | Some(libc::ENOENT)) => Ok(()),
            Err(e) => Err(nl_err(format!("cannot delete link {name}"))(e)),
        }
    }

    /// Every IPv4 address.
    pub async fn addresses(&self) -> Result<Vec<Addr>, Error> {
        let mut out = Vec::new();
        let mut stream = self.handle.address().get().execute();
        while let Some(msg) = stream
            .try_next()
            .await
            .map_err(nl_err("cannot list addresses"))?
        {
            if msg.header.family != AddressFamily::Inet {
                continue;
            }
            let mut ip = None;
            for attr in &msg.attributes {
                match attr {
                    AddressAttribute::Local(IpAddr::V4(a)) => ip = Some(*a),
                    AddressAttribute::Address(IpAddr::V4(a)) if ip.is_none() => ip = Some(*a),
                    _ => {}
                }
            }
            if let Some(ip) = ip {
                out.push(Addr {
                    index: msg.header.index,
                    net: Ipv4Net {
                        addr: ip,
                        prefix: msg.header.prefix_len,
                    },
                });
            }
        }
        Ok(out)
    }

    /// Adds an address; one already there is fine.
    pub async fn add_address(&self, index: u32, net: Ipv4Net) -> Result<(), Error> {
        match self
            .handle
            .address()
            .add(index, IpAddr::V4(net.addr), net.prefix)
            .execute()
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            Err(e) => Err(nl_err(format!("cannot add address {net} to link {index}"))(
                e,
            )),
        }
    }

    /// The IPv4 routes of the main table.
    pub async fn routes(&self) -> Result<Vec<Route>, Error> {
        let mut out = Vec::new();
        let req = RouteMessageBuilder::<Ipv4Addr>::new().build();
        let mut stream = self.handle.route().get(req).execute();
        while let Some(msg) = stream
            .try_next()
            .await
            .map_err(nl_err("cannot list routes"))?
        {
            if msg.header.address_family != AddressFamily::Inet || msg.header.table != 254 {
                continue;
            }
            let mut route = Route {
                dst: Ipv4Net {
                    addr: Ipv4Addr::UNSPECIFIED,
                    prefix: msg.header.destination_prefix_length,
                },
                oif: None,
                gateway: None,
            };
            for attr in &msg.attributes {
                match attr {
                    RouteAttribute::Destination(RouteAddress::Inet(a)) => route.dst.addr = *a,
                    RouteAttribute::Oif(i) => route.oif = Some(*i),
                    RouteAttribute::Gateway(RouteAddress::Inet(g)) => route.gateway = Some(*g),
                    _ => {}
                }
            }
            out.push(route);
        }
        Ok(out)
    }

    /// Adds the default route through `gateway` on `index`.
    pub async fn add_default_route(&self, index: u32, gateway: Ipv4Addr) -> Result<(), Error> {
        let msg = RouteMessageBuilder::<Ipv4Addr>::new()
            .output_interface(index)
            .gateway(gateway)
            .build();
        match self.handle.route().add(msg).execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            Err(e) => Err(nl_err(format!(
                "cannot add the default route via {gateway}"
            ))(e)),
        }
    }

    /// Creates a veth pair: `host` up and a port of bridge `master`, its
    /// peer `peer` (MAC `mac`, down: the kernel refuses to set it up in
    /// the same request) created directly in the namespace open as `netns`.
    pub async fn create_veth(
        &self,
        spec: &VethSpec<'_>,
        netns: &std::fs::File,
    ) -> Result<(), Error> {
        let peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(spec.peer.to_string())
            .address(spec.mac.0.to_vec())
            .mtu(spec.mtu)
            .setns_by_fd(netns.as_raw_fd())
            .build();
        let msg = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(spec.host.to_string())
            .mtu(spec.mtu)
            .controller(spec.master)
            .up()
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
            .build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(nl_err(format!("cannot create veth pair {}", spec.host)))
    }
}

/// What [`Netlink::create_veth`] creates.
#[derive(Debug, Clone)]
pub struct VethSpec<'a> {
    pub host: &'a str,
    pub peer: &'a str,
    pub mac: Mac,
    pub mtu: u32,
    pub master: u32,
}

/// The MTU of the interface holding the default route, if any.
pub fn default_route_mtu() -> Option<u32> {
    with_netlink(None, |nl| async move {
        let routes = nl.routes().await?;
        let Some(oif) = routes
            .iter()
            .find(|r| r.dst.prefix == 0)
            .and_then(|r| r.oif)
        else {
            return Ok(None);
        };
        let links = nl.links().await?;
        Ok(links.iter().find(|l| l.index == oif).map(|l| l.mtu))
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_loopback() {
        let links = with_netlink(None, |nl| async move { nl.links().await }).unwrap();
        assert!(links.iter().any(|l| l.name == "lo"), "{links:?}");
        let addrs = with_netlink(None, |nl| async move { nl.addresses().await }).unwrap();
        assert!(addrs.iter().any(|a| a.net.addr == Ipv4Addr::LOCALHOST));
        let none = with_netlink(None, |nl| async move { nl.link("no-such-link0").await }).unwrap();
        assert_eq!(none, None);
    }
}
