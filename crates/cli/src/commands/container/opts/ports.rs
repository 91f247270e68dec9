//! `-p`/`--publish` and `--expose` (go-connections' `nat.ParsePortSpecs`):
//! `[ip:][hostPort:]containerPort[/proto]`, ranges, and the long
//! `published=…,target=…` form.

use std::collections::BTreeMap;
use std::net::IpAddr;

use berth_api::types::Empty;
use berth_api::types::container::PortBinding;

use crate::goparse;

pub type ExposedPorts = BTreeMap<String, Empty>;
pub type PortBindings = BTreeMap<String, Option<Vec<PortBinding>>>;

/// Docker's `convertToStandardNotation`: `published=80,target=8080` into
/// `80:8080/tcp`.
fn standard_notation(publish: &str) -> Result<String, String> {
    if !publish.contains('=') {
        return Ok(publish.to_string());
    }
    let mut params: BTreeMap<&str, &str> = BTreeMap::new();
    params.insert("protocol", "tcp");
    for param in publish.split(',') {
        match param.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                params.insert(k, v);
            }
            _ => {
                return Err(format!(
                    "invalid publish opts format (should be name=value but got '{param}')"
                ));
            }
        }
    }
    let get = |k: &str| params.get(k).copied().unwrap_or("");
    Ok(format!(
        "{}:{}/{}",
        get("published"),
        get("target"),
        get("protocol")
    ))
}

/// `nat.SplitProtoPort`: `80/udp` into (`udp`, `80`).
pub fn split_proto_port(raw: &str) -> (String, String) {
    let parts: Vec<&str> = raw.split('/').collect();
    if raw.is_empty() || parts[0].is_empty() {
        return (String::new(), String::new());
    }
    if parts.len() == 1 || parts[1].is_empty() {
        return ("tcp".into(), parts[0].to_string());
    }
    (parts[1].to_string(), parts[0].to_string())
}

/// `nat.ParsePortRange`: `80` or `8000-8010`.
pub fn parse_port_range(ports: &str) -> Result<(u64, u64), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".into());
    }
    let Some((a, b)) = ports.split_once('-') else {
        let p = goparse::parse_uint(ports, 16)?;
        return Ok((p, p));
    };
    let b = b.split('-').next().unwrap_or(b);
    let start = goparse::parse_uint(a, 16)?;
    let end = goparse::parse_uint(b, 16)?;
    if end < start {
        return Err(format!("invalid range specified for port: {ports}"));
    }
    Ok((start, end))
}

fn split_parts(raw: &str) -> (String, String, String) {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let container = parts[n - 1].to_string();
    match n {
        1 => (String::new(), String::new(), container),
        2 => (String::new(), parts[0].to_string(), container),
        3 => (parts[0].to_string(), parts[1].to_string(), container),
        _ => (
            parts[..n - 2].join(":"),
            parts[n - 2].to_string(),
            container,
        ),
    }
}

/// One `-p` value into (`port/proto`, binding) pairs.
fn parse_port_spec(raw: &str) -> Result<Vec<(String, PortBinding)>, String> {
    let (mut ip, host_port, container) = split_parts(raw);
    let (proto, container_port) = split_proto_port(&container);
    if ip.starts_with('[') {
        ip = ip
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .map(str::to_string)
            .ok_or_else(|| format!("invalid IP address {ip}: missing ']' in address"))?;
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container_port.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let (start, end) = parse_port_range(&container_port)
        .map_err(|_| format!("invalid containerPort: {container_port}"))?;
    let (mut host_start, mut host_end) = (0, 0);
    if !host_port.is_empty() {
        (host_start, host_end) =
            parse_port_range(&host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?;
        if end - start != host_end - host_start && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {container_port} and {host_port}"
            ));
        }
    }
    let proto = proto.to_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let count = end - start + 1;
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        let mut hport = String::new();
        if !host_port.is_empty() {
            hport = (host_start + i).to_string();
            if count == 1 && host_start != host_end {
                hport.push_str(&format!("-{host_end}"));
            }
        }
        out.push((
            format!("{}/{proto}", start + i),
            PortBinding {
                host_ip: ip.clone(),
                host_port: hport,
            },
        ));
    }
    Ok(out)
}

/// All `-p` and `--expose` values into the exposed ports and bindings.
pub fn parse_ports(
    publish: &[String],
    expose: &[String],
) -> Result<(ExposedPorts, PortBindings), String> {
    let mut exposed = ExposedPorts::new();
    let mut bindings = PortBindings::new();
    for raw in publish {
        for (port, binding) in parse_port_spec(&standard_notation(raw)?)? {
            exposed.insert(port.clone(), Empty {});
            bindings
                .entry(port)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(binding);
        }
    }
    for e in expose {
        if e.contains(':') {
            return Err(format!("invalid port format for --expose: {e}"));
        }
        let (proto, port) = split_proto_port(e);
        let (start, end) = parse_port_range(&port)
            .map_err(|err| format!("invalid range format for --expose: {e}, error: {err}"))?;
        for p in start..=end {
            exposed.insert(format!("{p}/{proto}"), Empty {});
        }
    }
    Ok((exposed, bindings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(ip: &str, port: &str) -> PortBinding {
        PortBinding {
            host_ip: ip.into(),
            host_port: port.into(),
        }
    }

    #[test]
    fn publish_forms() {
        let (exposed, b) = parse_ports(
            &[
                "80".into(),
                "8080:80".into(),
                "127.0.0.1:53:53/udp".into(),
                "[::1]:9000:9000".into(),
                "7000-7001:7000-7001".into(),
                "6000-6010:22".into(),
                "published=81,target=8081".into(),
            ],
            &[],
        )
        .unwrap();
        assert!(exposed.contains_key("53/udp"));
        assert_eq!(
            b["80/tcp"],
            Some(vec![binding("", ""), binding("", "8080")])
        );
        assert_eq!(b["53/udp"], Some(vec![binding("127.0.0.1", "53")]));
        assert_eq!(b["9000/tcp"], Some(vec![binding("::1", "9000")]));
        assert_eq!(b["7001/tcp"], Some(vec![binding("", "7001")]));
        assert_eq!(b["22/tcp"], Some(vec![binding("", "6000-6010")]));
        assert_eq!(b["8081/tcp"], Some(vec![binding("", "81")]));
    }

    #[test]
    fn publish_errors() {
        let err = |p: &str| parse_ports(&[p.into()], &[]).unwrap_err();
        assert_eq!(err("80:abc"), "invalid containerPort: abc");
        assert_eq!(err("abc:80"), "invalid hostPort: abc");
        assert_eq!(err("1.2.3:80:80"), "invalid IP address: 1.2.3");
        assert_eq!(err("80/icmp"), "invalid proto: icmp");
        assert_eq!(err("8080:"), "no port specified: 8080:<empty>");
        assert_eq!(
            err("1-2:3-5"),
            "invalid ranges specified for container and host Ports: 3-5 and 1-2"
        );
    }

    #[test]
    fn expose() {
        let (exposed, b) = parse_ports(&[], &["80".into(), "90-91/udp".into()]).unwrap();
        assert!(b.is_empty());
        let keys: Vec<_> = exposed.keys().cloned().collect();
        assert_eq!(keys, ["80/tcp", "90/udp", "91/udp"]);
        assert_eq!(
            parse_ports(&[], &["1:2".into()]).unwrap_err(),
            "invalid port format for --expose: 1:2"
        );
        assert_eq!(
            parse_ports(&[], &["x".into()]).unwrap_err(),
            "invalid range format for --expose: x, error: strconv.ParseUint: parsing \"x\": invalid syntax"
        );
    }
}
