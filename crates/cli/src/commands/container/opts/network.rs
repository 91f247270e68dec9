//! `--network` (simple and `name=…,alias=…` forms) with `--network-alias`,
//! `--link`, `--ip`, `--ip6`, `--link-local-ip` and `--mac-address`, into
//! the network mode and the endpoint settings (docker's
//! `parseNetworkOpts`).

use std::collections::BTreeMap;

use berth_api::types::container::{EndpointIpamConfig, EndpointSettings};

use super::values::valid_mac;

/// One `--network` value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attachment {
    pub target: String,
    pub aliases: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub links: Vec<String>,
    pub ipv4: String,
    pub ipv6: String,
    pub link_local_ips: Vec<String>,
    pub mac: String,
}

/// The legacy single-network flags.
#[derive(Debug, Clone, Default)]
pub struct LegacyFlags<'a> {
    pub aliases: &'a [String],
    pub links: &'a [String],
    pub ipv4: &'a str,
    pub ipv6: &'a str,
    pub link_local_ips: &'a [String],
    pub mac: &'a str,
}

/// `\w+=\w+` anywhere in the value selects the long form, as docker's
/// unanchored regexp does.
fn is_long_syntax(value: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = value.as_bytes();
    (1..b.len().saturating_sub(1)).any(|i| b[i] == b'=' && word(b[i - 1]) && word(b[i + 1]))
}

/// Parses one `--network` value (`opts.NetworkOpt.Set`).
pub fn parse_network_opt(value: &str) -> Result<Attachment, String> {
    if !is_long_syntax(value) {
        return Ok(Attachment {
            target: value.to_string(),
            ..Default::default()
        });
    }
    let mut att = Attachment::default();
    for field in value.split(',') {
        let lower = field.to_lowercase();
        let (key, val) = lower
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| format!("invalid field {field}"))?;
        let (key, val) = (key.trim(), val.trim().to_string());
        match key {
            "name" => att.target = val,
            "alias" => att.aliases.push(val),
            "ip" => att.ipv4 = val,
            "ip6" => att.ipv6 = val,
            "mac-address" => att.mac = val,
            "link-local-ip" => att.link_local_ips.push(val),
            "driver-opt" => {
                let (k, v) = val
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or("invalid key value pair format in driver options")?;
                att.driver_opts
                    .insert(k.trim().to_string(), v.trim().to_string());
            }
            "gw-priority" => {
                val.parse::<i64>()
                    .map_err(|_| format!("invalid gw-priority ({val}): invalid syntax"))?;
            }
            _ => return Err(format!("invalid field key {key}")),
        }
    }
    if att.target.is_empty() {
        return Err("network name/id is not specified".into());
    }
    Ok(att)
}

/// Docker's `NetworkMode.IsUserDefined`.
pub fn is_user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

fn apply_legacy(n: &mut Attachment, legacy: &LegacyFlags<'_>) -> Result<(), String> {
    let conflict = |what: &str| Err(format!("conflicting options: cannot specify both {what}"));
    if !n.aliases.is_empty() && !legacy.aliases.is_empty() {
        return conflict("--network-alias and per-network alias");
    }
    if !n.links.is_empty() && !legacy.links.is_empty() {
        return conflict("--link and per-network links");
    }
    if !n.ipv4.is_empty() && !legacy.ipv4.is_empty() {
        return conflict("--ip and per-network IPv4 address");
    }
    if !n.ipv6.is_empty() && !legacy.ipv6.is_empty() {
        return conflict("--ip6 and per-network IPv6 address");
    }
    if !n.mac.is_empty() && !legacy.mac.is_empty() {
        return conflict("--mac-address and per-network MAC address");
    }
    if !n.link_local_ips.is_empty() && !legacy.link_local_ips.is_empty() {
        return conflict("--link-local-ip and per-network link-local IP addresses");
    }
    if !legacy.aliases.is_empty() {
        n.aliases = legacy.aliases.to_vec();
    }
    // On a user-defined network, --link is an endpoint option; on the
    // default bridge it is a legacy link in HostConfig.
    if is_user_defined(&n.target) && !legacy.links.is_empty() {
        n.links = legacy.links.to_vec();
    }
    if !legacy.ipv4.is_empty() {
        n.ipv4 = legacy.ipv4.to_string();
    }
    if !legacy.ipv6.is_empty() {
        n.ipv6 = legacy.ipv6.to_string();
    }
    if !legacy.mac.is_empty() {
        n.mac = legacy.mac.to_string();
    }
    if !legacy.link_local_ips.is_empty() {
        n.link_local_ips = legacy.link_local_ips.to_vec();
    }
    Ok(())
}

fn endpoint(n: &Attachment) -> Result<EndpointSettings, String> {
    if n.target.trim().is_empty() {
        return Err("no name set for network".into());
    }
    if !is_user_defined(&n.target) {
        if !n.aliases.is_empty() {
            return Err(
                "network-scoped aliases are only supported for user-defined networks".into(),
            );
        }
        if !n.links.is_empty() {
            return Err("links are only supported for user-defined networks".into());
        }
    }
    let mut ep = EndpointSettings::default();
    if !n.aliases.is_empty() {
        ep.aliases = Some(n.aliases.clone());
    }
    if !n.driver_opts.is_empty() {
        ep.driver_opts = Some(n.driver_opts.clone());
    }
    if !n.links.is_empty() {
        ep.links = Some(n.links.clone());
    }
    if !n.ipv4.is_empty() || !n.ipv6.is_empty() || !n.link_local_ips.is_empty() {
        ep.ipam_config = Some(EndpointIpamConfig {
            ipv4_address: n.ipv4.clone(),
            ipv6_address: n.ipv6.clone(),
            link_local_ips: (!n.link_local_ips.is_empty()).then(|| n.link_local_ips.clone()),
        });
    }
    if !n.mac.is_empty() {
        if !valid_mac(&n.mac) {
            return Err(format!("{} is not a valid mac address", n.mac));
        }
        ep.mac_address = n.mac.clone();
    }
    Ok(ep)
}

/// The network mode and the endpoints to send.
pub struct Networking {
    pub mode: String,
    pub endpoints: BTreeMap<String, EndpointSettings>,
}

/// Docker's `parseNetworkOpts`.
pub fn parse_networks(values: &[String], legacy: &LegacyFlags<'_>) -> Result<Networking, String> {
    let mut atts = values
        .iter()
        .map(|v| parse_network_opt(v))
        .collect::<Result<Vec<_>, _>>()?;
    let mut endpoints = BTreeMap::new();
    if atts.is_empty() {
        let mut n = Attachment {
            target: "default".into(),
            ..Default::default()
        };
        apply_legacy(&mut n, legacy)?;
        endpoints.insert("default".to_string(), endpoint(&n)?);
    }
    let (mut user, mut non_user) = (false, false);
    let single = atts.len() == 1;
    for (i, n) in atts.iter_mut().enumerate() {
        if is_user_defined(&n.target) {
            user = true;
        } else {
            non_user = true;
        }
        if i == 0 {
            apply_legacy(n, legacy)?;
        }
        let ep = endpoint(n)?;
        if endpoints.contains_key(&n.target) {
            return Err(format!(
                "network {:?} is specified multiple times",
                n.target
            ));
        }
        // A single network without options needs no endpoint settings.
        if i == 0 && single && ep == EndpointSettings::default() {
            continue;
        }
        endpoints.insert(n.target.clone(), ep);
    }
    if user && non_user {
        return Err(
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
                .into(),
        );
    }
    let mode = atts
        .first()
        .map_or_else(|| "default".to_string(), |a| a.target.clone());
    Ok(Networking { mode, endpoints })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_short_forms() {
        assert_eq!(parse_network_opt("host").unwrap().target, "host");
        let a = parse_network_opt("name=App,alias=Web,ip=10.0.0.2,driver-opt=a=b").unwrap();
        assert_eq!(a.target, "app");
        assert_eq!(a.aliases, ["web"]);
        assert_eq!(a.ipv4, "10.0.0.2");
        assert_eq!(a.driver_opts["a"], "b");
        assert_eq!(
            parse_network_opt("alias=x").unwrap_err(),
            "network name/id is not specified"
        );
        assert_eq!(
            parse_network_opt("name=x,bogus=1").unwrap_err(),
            "invalid field key bogus"
        );
        assert_eq!(
            parse_network_opt("container:web").unwrap().target,
            "container:web"
        );
    }

    #[test]
    fn default_network_endpoint() {
        let n = parse_networks(&[], &LegacyFlags::default()).unwrap();
        assert_eq!(n.mode, "default");
        assert_eq!(n.endpoints["default"], EndpointSettings::default());
        let n = parse_networks(&["none".into()], &LegacyFlags::default()).unwrap();
        assert_eq!(n.mode, "none");
        assert!(n.endpoints.is_empty());
    }

    #[test]
    fn legacy_flags_go_to_the_first_network() {
        let aliases = vec!["web".to_string()];
        let legacy = LegacyFlags {
            aliases: &aliases,
            ipv4: "10.1.0.5",
            ..Default::default()
        };
        let n = parse_networks(&["app".into()], &legacy).unwrap();
        let ep = &n.endpoints["app"];
        assert_eq!(ep.aliases.as_deref(), Some(&aliases[..]));
        assert_eq!(ep.ipam_config.as_ref().unwrap().ipv4_address, "10.1.0.5");
        let err = parse_networks(&[], &legacy).err().unwrap();
        assert_eq!(
            err,
            "network-scoped aliases are only supported for user-defined networks"
        );
        let err = parse_networks(&["app".into(), "host".into()], &LegacyFlags::default())
            .err()
            .unwrap();
        assert!(err.starts_with("conflicting options"));
        let legacy = LegacyFlags {
            mac: "nope",
            ..Default::default()
        };
        assert_eq!(
            parse_networks(&[], &legacy).err().unwrap(),
            "nope is not a valid mac address"
        );
    }
}
