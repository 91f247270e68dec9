//! Container networking: network namespaces, the network controller
//! (networks, IPAM, the bridge driver), the nftables firewall, published
//! ports with the userland proxy, and the embedded DNS server.
//!
//! The design in short (each module says more):
//! - **Controller** (`controller.rs`, `sandbox.rs`): networks persisted one
//!   JSON file each; what a container holds (its *sandbox*: endpoints,
//!   port mappings, DNS names) persisted before any kernel object exists,
//!   so `release` and `sweep` undo everything after a crash at any moment.
//! - **IPAM** (`ipam.rs`): one pool per network, serial allocation, saved
//!   atomically after every change; at start-up addresses of running
//!   containers are re-marked from their sandboxes and the rest released.
//! - **Bridge driver** (`bridge.rs`, `netlink.rs`): bridges, veth pairs
//!   (peer created directly in the container's namespace), addresses and
//!   routes through rtnetlink on short-lived threads that enter the
//!   namespace; never by running `ip`.
//! - **Firewall** (`firewall.rs`): one table (`ip berth`) rendered whole and
//!   replaced in one `nft -j -f -` transaction; never touches other tables.
//! - **Published ports** (`proxy.rs`): DNAT for traffic from other hosts,
//!   containers and the host's non-loopback addresses; an async proxy in
//!   berthd for 127.0.0.1 (no `route_localnet`), which also reserves the
//!   port (a port in use fails the start before anything is plumbed).
//! - **DNS** (`dns.rs`): hickory-server on sockets bound inside each
//!   container's namespace, reached at 127.0.0.11:53 through a tiny nft
//!   table in that namespace; forwarding from the host's namespace.

pub mod bridge;
pub mod cidr;
pub mod controller;
pub mod dns;
pub mod firewall;
pub mod ipam;
pub mod model;
pub mod netlink;
pub mod netns;
pub mod ports;
pub mod proxy;
pub mod sandbox;

pub use controller::{Controller, Options};
pub use sandbox::{AttachSpec, EndpointRequest};
