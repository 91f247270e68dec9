//! `--device`, `--device-cgroup-rule` and `--sysctl` values.

use super::{ParseError, clean_path};

/// `--device /dev/host[:/dev/ctr][:rwm]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    pub path_on_host: String,
    pub path_in_container: String,
    pub permissions: String,
}

/// Checks cgroup device permissions: a non-empty combination of `r`, `w`,
/// `m`, each at most once.
pub fn validate_device_permissions(perms: &str) -> Result<(), ParseError> {
    let ok = !perms.is_empty()
        && perms.len() <= 3
        && perms.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
        && perms
            .chars()
            .enumerate()
            .all(|(i, c)| !perms[..i].contains(c));
    if ok {
        Ok(())
    } else {
        Err(ParseError::new(format!("bad mode specified: {perms}")))
    }
}

/// Parses `--device` like the Docker CLI: `src`, `src:dst`, `src:perms`,
/// `src:dst:perms`.
pub fn parse_device(s: &str) -> Result<DeviceSpec, ParseError> {
    let parts: Vec<&str> = s.split(':').collect();
    let is_perms = |p: &str| validate_device_permissions(p).is_ok();
    let (src, dst, perms) = match parts.as_slice() {
        [src] => (*src, *src, "rwm"),
        [src, p] if is_perms(p) => (*src, *src, *p),
        [src, dst] => (*src, *dst, "rwm"),
        [src, dst, p] => {
            validate_device_permissions(p)?;
            (*src, *dst, *p)
        }
        _ => {
            return Err(ParseError::new(format!(
                "invalid device specification: {s}"
            )));
        }
    };
    if src.is_empty() || dst.is_empty() {
        return Err(ParseError::new(format!(
            "invalid device specification: {s}"
        )));
    }
    if !dst.starts_with('/') {
        return Err(ParseError::new(format!("bad format for path: {dst}")));
    }
    Ok(DeviceSpec {
        path_on_host: src.to_string(),
        path_in_container: clean_path(dst),
        permissions: perms.to_string(),
    })
}

/// `--device-cgroup-rule 'c 1:3 mr'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCgroupRule {
    /// `a`, `b` or `c`.
    pub kind: char,
    /// `None` = `*`.
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

/// Parses a device cgroup rule: `^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$`.
pub fn parse_device_cgroup_rule(s: &str) -> Result<DeviceCgroupRule, ParseError> {
    let bad = || ParseError::new(format!("invalid device cgroup rule format: '{s}'"));
    let parts: Vec<&str> = s.split(' ').collect();
    let [kind, numbers, access] = parts.as_slice() else {
        return Err(bad());
    };
    let kind = match *kind {
        "a" => 'a',
        "b" => 'b',
        "c" => 'c',
        _ => return Err(bad()),
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    let number = |t: &str| -> Result<Option<i64>, ParseError> {
        if t == "*" {
            return Ok(None);
        }
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse().map(Some).map_err(|_| bad())
    };
    let (major, minor) = (number(major)?, number(minor)?);
    if access.is_empty() || access.len() > 3 || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(bad());
    }
    Ok(DeviceCgroupRule {
        kind,
        major,
        minor,
        access: access.to_string(),
    })
}

/// The IPC-namespaced sysctls Docker allows by name.
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Which namespace a sysctl belongs to, if it is one a container may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SysctlNamespace {
    Ipc,
    Net,
}

pub(crate) fn sysctl_namespace(name: &str) -> Option<SysctlNamespace> {
    if IPC_SYSCTLS.contains(&name) || name.starts_with("fs.mqueue.") {
        Some(SysctlNamespace::Ipc)
    } else if name.starts_with("net.") {
        Some(SysctlNamespace::Net)
    } else {
        None
    }
}

/// Checks that a sysctl is namespaced, so a container may set it
/// (`kernel.msg*`, `kernel.sem`, `kernel.shm*`, `fs.mqueue.*`, `net.*`).
pub fn validate_sysctl_name(name: &str) -> Result<(), ParseError> {
    let well_formed = !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        && !name.contains("/..")
        && !name.contains("../");
    if !well_formed || sysctl_namespace(name).is_none() {
        return Err(ParseError::new(format!("sysctl '{name}' is not allowed")));
    }
    Ok(())
}

/// Parses `--sysctl name=value` and checks the name.
pub fn parse_sysctl(s: &str) -> Result<(String, String), ParseError> {
    let (k, v) = s.split_once('=').ok_or_else(|| {
        ParseError::new(format!("invalid sysctl value {s:?}: expected name=value"))
    })?;
    validate_sysctl_name(k)?;
    if v.contains('\n') {
        return Err(ParseError::new(format!("invalid sysctl value {s:?}")));
    }
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices() {
        let d = parse_device("/dev/fuse").unwrap();
        assert_eq!(
            (
                d.path_on_host.as_str(),
                d.path_in_container.as_str(),
                d.permissions.as_str()
            ),
            ("/dev/fuse", "/dev/fuse", "rwm")
        );
        let d = parse_device("/dev/sda:r").unwrap();
        assert_eq!(
            (d.path_in_container.as_str(), d.permissions.as_str()),
            ("/dev/sda", "r")
        );
        let d = parse_device("/dev/sda:/dev/xvda").unwrap();
        assert_eq!(d.path_in_container, "/dev/xvda");
        let d = parse_device("/dev/sda:/dev/xvda:rw").unwrap();
        assert_eq!(d.permissions, "rw");
        assert_eq!(
            parse_device("/dev/sda:/dev/xvda:rx")
                .unwrap_err()
                .to_string(),
            "bad mode specified: rx"
        );
        assert_eq!(
            parse_device("/dev/sda:xvda").unwrap_err().to_string(),
            "bad format for path: xvda"
        );
        assert!(parse_device("a:b:c:d").is_err());
        assert!(validate_device_permissions("rr").is_err());
        assert!(validate_device_permissions("").is_err());
        assert!(validate_device_permissions("mwr").is_ok());
    }

    #[test]
    fn cgroup_rules() {
        let r = parse_device_cgroup_rule("c 1:3 mr").unwrap();
        assert_eq!(
            (r.kind, r.major, r.minor, r.access.as_str()),
            ('c', Some(1), Some(3), "mr")
        );
        let r = parse_device_cgroup_rule("a *:* rwm").unwrap();
        assert_eq!((r.major, r.minor), (None, None));
        for bad in [
            "c 1:3", "x 1:3 r", "c 1-3 r", "c 1:3 rx", "c a:3 r", "c 1:3  r",
        ] {
            assert_eq!(
                parse_device_cgroup_rule(bad).unwrap_err().to_string(),
                format!("invalid device cgroup rule format: '{bad}'")
            );
        }
    }

    #[test]
    fn sysctls() {
        assert_eq!(
            parse_sysctl("net.ipv4.ip_forward=1").unwrap(),
            ("net.ipv4.ip_forward".into(), "1".into())
        );
        assert!(parse_sysctl("kernel.shmmax=1000").is_ok());
        assert!(parse_sysctl("fs.mqueue.msg_max=10").is_ok());
        assert_eq!(
            parse_sysctl("vm.swappiness=10").unwrap_err().to_string(),
            "sysctl 'vm.swappiness' is not allowed"
        );
        assert!(parse_sysctl("kernel.hostname=x").is_err());
        assert!(parse_sysctl("net.ipv4").is_err());
        assert!(parse_sysctl("net./../x=1").is_err());
    }
}
