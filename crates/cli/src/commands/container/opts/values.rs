//! Docker's flag validators (`opts.Validate*`) and key=value readers
//! (`-e`, `--env-file`, `-l`, `--label-file`, `--log-opt`, …).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;

use berth_api::types::container::{RestartPolicy, ThrottleDevice, WeightDevice};
use berth_runtime::parse::ram_in_bytes;

use crate::error::os_error_text;
use crate::goparse;

/// `-e KEY=value`, or `-e KEY` taking the value from the environment when
/// set there (`opts.ValidateEnv`).
pub fn validate_env(val: &str) -> Result<String, String> {
    let (key, has_value) = match val.split_once('=') {
        Some((k, _)) => (k, true),
        None => (val, false),
    };
    if key.is_empty() {
        return Err(format!("invalid environment variable: {val}"));
    }
    if has_value {
        return Ok(val.to_string());
    }
    Ok(match std::env::var(key) {
        Ok(v) => format!("{key}={v}"),
        Err(_) => val.to_string(),
    })
}

/// `-l key=value` (`opts.ValidateLabel`).
pub fn validate_label(val: &str) -> Result<String, String> {
    let key = val.split_once('=').map_or(val, |(k, _)| k);
    let key = key.trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err(format!("invalid label '{val}': empty name"));
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label '{key}' contains whitespaces"));
    }
    Ok(val.to_string())
}

/// Reads `--env-file`/`--label-file` files (`kvfile.Parse`); with
/// `lookup`, a bare `KEY` line takes its value from the environment.
pub fn read_kv_files(files: &[String], lookup: bool) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for path in files {
        let file =
            std::fs::File::open(path).map_err(|e| format!("open {path}: {}", os_error_text(&e)))?;
        let reader = BufReader::new(file);
        for (n, line) in reader.split(b'\n').enumerate() {
            let line = line.map_err(|e| format!("read {path}: {}", os_error_text(&e)))?;
            let mut bytes = line.as_slice();
            if n == 0 {
                bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
            }
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            let text = std::str::from_utf8(bytes).map_err(|_| {
                format!(
                    "invalid env file ({path}): invalid utf8 bytes at line {}: {bytes:?}",
                    n + 1
                )
            })?;
            let text = text.trim_start();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let (key, has_value) = match text.split_once('=') {
                Some((k, _)) => (k, true),
                None => (text, false),
            };
            if key.is_empty() {
                return Err(format!(
                    "invalid env file ({path}): no variable name on line '{text}'"
                ));
            }
            if key.contains([' ', '\t']) {
                return Err(format!(
                    "invalid env file ({path}): variable '{key}' contains whitespaces"
                ));
            }
            if has_value {
                out.push(text.to_string());
            } else if lookup && let Ok(v) = std::env::var(text) {
                out.push(format!("{key}={v}"));
            }
        }
    }
    Ok(out)
}

/// `KEY=value` strings into a map (`opts.ConvertKVStringsToMap`).
pub fn kv_map(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (v.clone(), String::new()),
        })
        .collect()
}

/// Go's `net.ParseIP` followed by `String()`: the canonical form.
pub fn validate_ip(val: &str) -> Result<String, String> {
    match val.trim().parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => Ok(match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        }),
        Ok(ip) => Ok(ip.to_string()),
        Err(_) => Err(format!("IP address is not correctly formatted: {val}")),
    }
}

/// `--dns-search` (`opts.ValidateDNSSearch`).
pub fn validate_dns_search(val: &str) -> Result<String, String> {
    let val = val.trim_matches(' ');
    if val == "." {
        return Ok(val.to_string());
    }
    let invalid = || format!("{val} is not a valid domain");
    if !val.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err(invalid());
    }
    let trimmed = val.trim_end_matches(|c: char| c.is_whitespace());
    let name = trimmed.strip_suffix('.').unwrap_or(trimmed);
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    if name.split('.').all(label_ok) && name.len() < 255 {
        Ok(name.to_string())
    } else {
        Err(invalid())
    }
}

/// `--add-host name:ip` or `name=ip` (`opts.ValidateExtraHost`): sent as
/// `name:ip`.
pub fn validate_extra_host(val: &str) -> Result<String, String> {
    let (k, v) = val
        .split_once('=')
        .or_else(|| val.split_once(':'))
        .ok_or_else(|| format!("bad format for add-host: {val:?}"))?;
    if k.is_empty() || k.contains(':') {
        return Err(format!("bad format for add-host: {val:?}"));
    }
    let mut v = v;
    if v != "host-gateway" {
        if v.len() > 2 && v.starts_with('[') && v.ends_with(']') {
            v = &v[1..v.len() - 1];
        }
        validate_ip(v).map_err(|_| format!("invalid IP address in add-host: {v:?}"))?;
    }
    Ok(format!("{k}:{v}"))
}

/// `--link name[:alias]` (`opts.ValidateLink`).
pub fn validate_link(val: &str) -> Result<String, String> {
    if val.is_empty() {
        return Err("empty string specified for links".into());
    }
    if val.splitn(3, ':').count() > 2 {
        return Err(format!("bad format for links: {val}"));
    }
    Ok(val.to_string())
}

/// Go's `net.ParseMAC`: 6, 8 or 20 bytes as `xx:xx…`, `xx-xx…` or
/// `xxxx.xxxx…`.
pub fn valid_mac(val: &str) -> bool {
    let val = val.trim();
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    let groups: Vec<&str> = if val.contains('.') {
        let g: Vec<&str> = val.split('.').collect();
        if !g.iter().all(|p| p.len() == 4 && hex(p)) {
            return false;
        }
        return matches!(g.len() * 2, 6 | 8 | 20);
    } else if val.contains(':') {
        val.split(':').collect()
    } else {
        val.split('-').collect()
    };
    groups.iter().all(|p| p.len() == 2 && hex(p)) && matches!(groups.len(), 6 | 8 | 20)
}

/// `--restart no|always|unless-stopped|on-failure[:N]`
/// (`opts.ParseRestartPolicy`; the daemon checks the name).
pub fn parse_restart_policy(policy: &str) -> Result<RestartPolicy, String> {
    if policy.is_empty() {
        return Ok(RestartPolicy::default());
    }
    let (name, count) = policy.split_once(':').unwrap_or((policy, ""));
    if policy.contains(':') && name.is_empty() {
        return Err("invalid restart policy format: no policy provided before colon".into());
    }
    let mut p = RestartPolicy {
        name: name.to_string(),
        maximum_retry_count: 0,
    };
    if !count.is_empty() {
        p.maximum_retry_count = count.parse().map_err(|_| {
            "invalid restart policy format: maximum retry count must be an integer".to_string()
        })?;
    }
    Ok(p)
}

fn device_path(val: &str) -> Result<(&str, &str), String> {
    let (k, v) = val
        .split_once(':')
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("bad format: {val}"))?;
    if !k.starts_with("/dev/") {
        return Err(format!("bad format for device path: {val}"));
    }
    Ok((k, v))
}

/// `--device-read-bps /dev/sda:1mb`.
pub fn throttle_bps_device(val: &str) -> Result<ThrottleDevice, String> {
    let (path, rate) = device_path(val)?;
    let invalid = || {
        format!(
            "invalid rate for device: {val}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb"
        )
    };
    let rate = ram_in_bytes(rate).map_err(|_| invalid())?;
    let rate = u64::try_from(rate).map_err(|_| invalid())?;
    Ok(ThrottleDevice {
        path: path.to_string(),
        rate,
    })
}

/// `--device-read-iops /dev/sda:1000`.
pub fn throttle_iops_device(val: &str) -> Result<ThrottleDevice, String> {
    let (path, rate) = device_path(val)?;
    let rate = goparse::parse_uint(rate, 64).map_err(|_| format!("invalid rate for device: {val}. The correct format is <device-path>:<number>. Number must be a positive integer"))?;
    Ok(ThrottleDevice {
        path: path.to_string(),
        rate,
    })
}

/// `--blkio-weight-device /dev/sda:200`.
pub fn weight_device(val: &str) -> Result<WeightDevice, String> {
    let (path, weight) = device_path(val)?;
    let invalid = || format!("invalid weight for device: {val}");
    let weight = goparse::parse_uint(weight, 16).map_err(|_| invalid())?;
    if weight > 0 && !(10..=1000).contains(&weight) {
        return Err(invalid());
    }
    Ok(WeightDevice {
        path: path.to_string(),
        weight: weight as u16,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_labels() {
        assert_eq!(validate_env("A=1").unwrap(), "A=1");
        assert_eq!(
            validate_env("=x").unwrap_err(),
            "invalid environment variable: =x"
        );
        assert_eq!(
            validate_env("BERTH_SURELY_UNSET_VAR").unwrap(),
            "BERTH_SURELY_UNSET_VAR"
        );
        let path = std::env::var("PATH").unwrap();
        assert_eq!(validate_env("PATH").unwrap(), format!("PATH={path}"));
        assert_eq!(validate_label("a=b c").unwrap(), "a=b c");
        assert_eq!(
            validate_label("=x").unwrap_err(),
            "invalid label '=x': empty name"
        );
        assert_eq!(
            validate_label("a b=c").unwrap_err(),
            "label 'a b' contains whitespaces"
        );
    }

    #[test]
    fn env_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        std::fs::write(
            &f,
            "\u{feff}# comment\n\nA=1\n  B=two words\nPATH\nBERTH_SURELY_UNSET_VAR\nC=\r\n",
        )
        .unwrap();
        let f = f.to_string_lossy().to_string();
        let vars = read_kv_files(std::slice::from_ref(&f), true).unwrap();
        assert_eq!(vars[0], "A=1");
        assert_eq!(vars[1], "B=two words");
        assert!(vars[2].starts_with("PATH=/"));
        assert_eq!(vars[3], "C=");
        assert_eq!(vars.len(), 4);
        let labels = read_kv_files(std::slice::from_ref(&f), false).unwrap();
        assert_eq!(labels.len(), 3);
        std::fs::write(dir.path().join("bad"), "A B=1\n").unwrap();
        let bad = dir.path().join("bad").to_string_lossy().to_string();
        assert!(
            read_kv_files(&[bad], true)
                .unwrap_err()
                .contains("variable 'A B' contains whitespaces")
        );
        assert_eq!(
            read_kv_files(&["/nonexistent".into()], true).unwrap_err(),
            "open /nonexistent: no such file or directory"
        );
    }

    #[test]
    fn network_values() {
        assert_eq!(validate_ip(" 8.8.8.8").unwrap(), "8.8.8.8");
        assert_eq!(validate_ip("0:0::1").unwrap(), "::1");
        assert_eq!(validate_ip("::ffff:1.2.3.4").unwrap(), "1.2.3.4");
        assert!(validate_ip("1.2.3").is_err());
        assert_eq!(validate_dns_search("example.com.").unwrap(), "example.com");
        assert_eq!(validate_dns_search(".").unwrap(), ".");
        assert!(validate_dns_search("-bad-.com").is_err());
        assert!(validate_dns_search("123").is_err());
        assert_eq!(validate_extra_host("h:1.2.3.4").unwrap(), "h:1.2.3.4");
        assert_eq!(validate_extra_host("h=::1").unwrap(), "h:::1");
        assert_eq!(validate_extra_host("h:[::1]").unwrap(), "h:::1");
        assert_eq!(
            validate_extra_host("h:host-gateway").unwrap(),
            "h:host-gateway"
        );
        assert_eq!(
            validate_extra_host("nohost").unwrap_err(),
            "bad format for add-host: \"nohost\""
        );
        assert_eq!(
            validate_extra_host("h:x").unwrap_err(),
            "invalid IP address in add-host: \"x\""
        );
        assert!(validate_link("a:b").is_ok());
        assert!(validate_link("a:b:c").is_err());
        assert!(valid_mac("92:d0:c6:0a:29:33"));
        assert!(valid_mac("92-d0-c6-0a-29-33"));
        assert!(valid_mac("92d0.c60a.2933"));
        assert!(!valid_mac("92:d0:c6:0a:29"));
        assert!(!valid_mac("zz:d0:c6:0a:29:33"));
    }

    #[test]
    fn restart_and_devices() {
        let p = parse_restart_policy("on-failure:3").unwrap();
        assert_eq!((p.name.as_str(), p.maximum_retry_count), ("on-failure", 3));
        assert_eq!(parse_restart_policy("no").unwrap().name, "no");
        assert!(parse_restart_policy(":3").is_err());
        assert_eq!(
            parse_restart_policy("on-failure:x").unwrap_err(),
            "invalid restart policy format: maximum retry count must be an integer"
        );
        assert_eq!(throttle_bps_device("/dev/sda:1mb").unwrap().rate, 1 << 20);
        assert_eq!(throttle_iops_device("/dev/sda:100").unwrap().rate, 100);
        assert_eq!(
            throttle_bps_device("sda:1").unwrap_err(),
            "bad format for device path: sda:1"
        );
        assert_eq!(weight_device("/dev/sda:200").unwrap().weight, 200);
        assert!(weight_device("/dev/sda:5").is_err());
        assert_eq!(
            weight_device("/dev/sda").unwrap_err(),
            "bad format: /dev/sda"
        );
    }
}
