//! Container networking. For now: network namespaces that the daemon
//! creates (loopback up) and that containers join by path.

pub mod netns;
