//! Published ports: Docker's `PortBindings` and `ExposedPorts` turned into
//! a checked plan (`80/tcp` → host address and port or port range, or an
//! ephemeral port for `-P` and an empty host port).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use berth_api::Error;
use berth_api::types::Empty;
use berth_api::types::container::PortBinding;
use serde::{Deserialize, Serialize};

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// A container port with its protocol: the key of `ExposedPorts` and
/// `PortBindings` (`80/tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortKey {
    pub port: u16,
    pub proto: Proto,
}

impl fmt::Display for PortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.proto.as_str())
    }
}

impl FromStr for PortKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let (port, proto) = s.split_once('/').unwrap_or((s, "tcp"));
        let proto = match proto.to_ascii_lowercase().as_str() {
            "tcp" | "" => Proto::Tcp,
            "udp" => Proto::Udp,
            "sctp" => {
                return Err(Error::invalid(format!(
                    "invalid port {s:?}: sctp ports cannot be published by this berthd (tcp and udp can)"
                )));
            }
            other => {
                return Err(Error::invalid(format!(
                    "invalid proto: {other} (in port {s:?}): expected tcp or udp"
                )));
            }
        };
        let port = parse_port(port)
            .map_err(|_| Error::invalid(format!("invalid port specification: {s:?}")))?;
        Ok(PortKey { port, proto })
    }
}

fn parse_port(s: &str) -> Result<u16, ()> {
    match s.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(()),
    }
}

/// One requested binding of a container port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub key: PortKey,
    /// `None`: every address of the host.
    pub host_ip: Option<Ipv4Addr>,
    /// First and last acceptable host port; `(0, 0)` for an ephemeral one.
    pub host_ports: (u16, u16),
}

/// A binding in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub key: PortKey,
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
}

impl Binding {
    /// As `NetworkSettings.Ports` shows it.
    pub fn to_api(&self) -> PortBinding {
        PortBinding {
            host_ip: self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
            host_port: self.host_port.to_string(),
        }
    }
}

fn parse_host_ports(text: &str) -> Result<(u16, u16), Error> {
    let text = text.trim();
    if text.is_empty() {
        return Ok((0, 0));
    }
    let bad = || Error::invalid(format!("invalid hostPort: {text}"));
    match text.split_once('-') {
        Some((a, b)) => {
            let a = parse_port(a).map_err(|_| bad())?;
            let b = parse_port(b).map_err(|_| bad())?;
            if a > b {
                return Err(bad());
            }
            Ok((a, b))
        }
        None => {
            let p = text.parse::<u16>().map_err(|_| bad())?;
            Ok((p, p))
        }
    }
}

fn parse_host_ip(text: &str, default: Option<Ipv4Addr>) -> Result<Option<Ipv4Addr>, Error> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    if text.is_empty() {
        return Ok(default);
    }
    match text.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) if ip.is_unspecified() => Ok(None),
        Ok(std::net::IpAddr::V4(ip)) => Ok(Some(ip)),
        Ok(std::net::IpAddr::V6(_)) => Err(Error::invalid(format!(
            "invalid host IP {text}: ports can be published on IPv4 addresses only by this berthd"
        ))),
        Err(_) => Err(Error::invalid(format!("invalid host IP: {text}"))),
    }
}

/// The checked plan of a container's published ports: every binding of
/// `bindings`, plus an ephemeral port for every other exposed port when
/// `publish_all` (`-P`). `default_ip` is the network's host binding
/// address (`com.docker.network.bridge.host_binding_ipv4`).
pub fn plan(
    exposed: Option<&BTreeMap<String, Empty>>,
    bindings: Option<&BTreeMap<String, Option<Vec<PortBinding>>>>,
    publish_all: bool,
    default_ip: Option<Ipv4Addr>,
) -> Result<Vec<Request>, Error> {
    let mut out = Vec::new();
    let mut bound = std::collections::BTreeSet::new();
    for (key, list) in bindings.into_iter().flatten() {
        let key: PortKey = key.parse()?;
        bound.insert(key);
        let list = list.clone().unwrap_or_default();
        if list.is_empty() {
            out.push(Request {
                key,
                host_ip: default_ip,
                host_ports: (0, 0),
            });
        }
        for b in &list {
            out.push(Request {
                key,
                host_ip: parse_host_ip(&b.host_ip, default_ip)?,
                host_ports: parse_host_ports(&b.host_port)?,
            });
        }
    }
    if publish_all {
        for key in exposed.into_iter().flatten().map(|(k, _)| k) {
            let key: PortKey = key.parse()?;
            if bound.insert(key) {
                out.push(Request {
                    key,
                    host_ip: default_ip,
                    host_ports: (0, 0),
                });
            }
        }
    }
    // A host port asked for twice on the same address is a conflict.
    let mut seen: std::collections::HashSet<(Option<Ipv4Addr>, u16, Proto)> =
        std::collections::HashSet::new();
    for r in &out {
        if r.host_ports.0 != 0 && r.host_ports.0 == r.host_ports.1 {
            let any = r.host_ip.is_none();
            for (ip, port, proto) in seen.iter().copied() {
                if port == r.host_ports.0
                    && proto == r.key.proto
                    && (any || ip.is_none() || ip == r.host_ip)
                {
                    return Err(Error::invalid(format!(
                        "host port {}/{} is published twice",
                        port,
                        proto.as_str()
                    )));
                }
            }
            seen.insert((r.host_ip, r.host_ports.0, r.key.proto));
        }
    }
    Ok(out)
}

/// `NetworkSettings.Ports` of a running container: every exposed or
/// published port, with its bindings (`null` when it has none).
pub fn to_api(
    exposed: Option<&BTreeMap<String, Empty>>,
    bound: &[Binding],
) -> BTreeMap<String, Option<Vec<PortBinding>>> {
    let mut map: BTreeMap<String, Option<Vec<PortBinding>>> = BTreeMap::new();
    for key in exposed.into_iter().flatten().map(|(k, _)| k) {
        if let Ok(k) = key.parse::<PortKey>() {
            map.entry(k.to_string()).or_insert(None);
        }
    }
    for b in bound {
        map.entry(b.key.to_string())
            .or_insert(None)
            .get_or_insert_with(Vec::new)
            .push(b.to_api());
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(v: &[(&str, &str, &str)]) -> BTreeMap<String, Option<Vec<PortBinding>>> {
        let mut m: BTreeMap<String, Option<Vec<PortBinding>>> = BTreeMap::new();
        for (k, ip, port) in v {
            m.entry(k.to_string())
                .or_insert(Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: ip.to_string(),
                    host_port: port.to_string(),
                });
        }
        m
    }

    #[test]
    fn keys() {
        assert_eq!(
            "80/tcp".parse::<PortKey>().unwrap(),
            PortKey {
                port: 80,
                proto: Proto::Tcp
            }
        );
        assert_eq!("53/UDP".parse::<PortKey>().unwrap().proto, Proto::Udp);
        assert_eq!("8080".parse::<PortKey>().unwrap().to_string(), "8080/tcp");
        for bad in ["0/tcp", "x/tcp", "80/icmp", "70000", "80/sctp"] {
            assert!(bad.parse::<PortKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn plans() {
        let b = bindings(&[
            ("80/tcp", "", "8080"),
            ("53/udp", "127.0.0.1", ""),
            ("81/tcp", "", "9000-9010"),
        ]);
        let mut exposed = BTreeMap::new();
        exposed.insert("80/tcp".to_string(), Empty {});
        exposed.insert("443/tcp".to_string(), Empty {});
        let p = plan(Some(&exposed), Some(&b), true, None).unwrap();
        assert_eq!(p.len(), 4);
        let find = |k: &str| p.iter().find(|r| r.key.to_string() == k).unwrap();
        assert_eq!(find("80/tcp").host_ports, (8080, 8080));
        assert_eq!(find("53/udp").host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(find("53/udp").host_ports, (0, 0));
        assert_eq!(find("81/tcp").host_ports, (9000, 9010));
        assert_eq!(find("443/tcp").host_ports, (0, 0));
        // Without -P exposed ports are not published.
        assert_eq!(
            plan(Some(&exposed), Some(&b), false, None).unwrap().len(),
            3
        );
        // The network's default host address.
        let d = Some(Ipv4Addr::new(127, 0, 0, 2));
        let p = plan(None, Some(&b), false, d).unwrap();
        assert_eq!(p.iter().find(|r| r.key.port == 80).unwrap().host_ip, d);
    }

    #[test]
    fn bad_plans() {
        for (k, ip, port) in [
            ("80/tcp", "", "x"),
            ("80/tcp", "", "90-80"),
            ("80/tcp", "nope", "80"),
            ("80/tcp", "::1", "80"),
            ("abc", "", "80"),
        ] {
            assert!(
                plan(None, Some(&bindings(&[(k, ip, port)])), false, None).is_err(),
                "{k} {ip} {port}"
            );
        }
        let twice = bindings(&[("80/tcp", "", "8080"), ("81/tcp", "", "8080")]);
        assert!(plan(None, Some(&twice), false, None).is_err());
        let udp_and_tcp = bindings(&[("80/tcp", "", "8080"), ("80/udp", "", "8080")]);
        assert!(plan(None, Some(&udp_and_tcp), false, None).is_ok());
    }

    #[test]
    fn api_shape() {
        let mut exposed = BTreeMap::new();
        exposed.insert("443/tcp".to_string(), Empty {});
        let bound = vec![Binding {
            key: "80/tcp".parse().unwrap(),
            host_ip: None,
            host_port: 8080,
        }];
        let v = serde_json::to_value(to_api(Some(&exposed), &bound)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"443/tcp": null, "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]})
        );
    }
}
