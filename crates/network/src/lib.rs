//! Container networking: network namespaces, the network controller
//! (networks, IPAM, the bridge driver), the nftables firewall, published
//! ports with the userland proxy, and the embedded DNS server.

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
