//! Linux capabilities: names, Docker's default set and `--cap-add` /
//! `--cap-drop` / `--privileged` (Docker's `TweakCapabilities`).

use std::str::FromStr;

use oci_spec::runtime::{Capabilities, Capability};

use crate::error::{Result, RuntimeError};

/// Every capability Berth knows, with its number.
pub const CAPABILITIES: &[(&str, u32)] = &[
    ("CAP_CHOWN", 0),
    ("CAP_DAC_OVERRIDE", 1),
    ("CAP_DAC_READ_SEARCH", 2),
    ("CAP_FOWNER", 3),
    ("CAP_FSETID", 4),
    ("CAP_KILL", 5),
    ("CAP_SETGID", 6),
    ("CAP_SETUID", 7),
    ("CAP_SETPCAP", 8),
    ("CAP_LINUX_IMMUTABLE", 9),
    ("CAP_NET_BIND_SERVICE", 10),
    ("CAP_NET_BROADCAST", 11),
    ("CAP_NET_ADMIN", 12),
    ("CAP_NET_RAW", 13),
    ("CAP_IPC_LOCK", 14),
    ("CAP_IPC_OWNER", 15),
    ("CAP_SYS_MODULE", 16),
    ("CAP_SYS_RAWIO", 17),
    ("CAP_SYS_CHROOT", 18),
    ("CAP_SYS_PTRACE", 19),
    ("CAP_SYS_PACCT", 20),
    ("CAP_SYS_ADMIN", 21),
    ("CAP_SYS_BOOT", 22),
    ("CAP_SYS_NICE", 23),
    ("CAP_SYS_RESOURCE", 24),
    ("CAP_SYS_TIME", 25),
    ("CAP_SYS_TTY_CONFIG", 26),
    ("CAP_MKNOD", 27),
    ("CAP_LEASE", 28),
    ("CAP_AUDIT_WRITE", 29),
    ("CAP_AUDIT_CONTROL", 30),
    ("CAP_SETFCAP", 31),
    ("CAP_MAC_OVERRIDE", 32),
    ("CAP_MAC_ADMIN", 33),
    ("CAP_SYSLOG", 34),
    ("CAP_WAKE_ALARM", 35),
    ("CAP_BLOCK_SUSPEND", 36),
    ("CAP_AUDIT_READ", 37),
    ("CAP_PERFMON", 38),
    ("CAP_BPF", 39),
    ("CAP_CHECKPOINT_RESTORE", 40),
];

/// Docker's default capabilities, in Docker's order.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The number of a capability name (`CAP_…`).
pub fn capability_number(name: &str) -> Option<u32> {
    CAPABILITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bit)| *bit)
}

/// `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `all` →
/// `ALL`. Unknown names are an error in Docker's words.
pub fn normalize_capability(name: &str) -> Result<String> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if capability_number(&full).is_none() {
        return Err(RuntimeError::invalid(format!(
            "unknown capability: {full:?}"
        )));
    }
    Ok(full)
}

/// The capabilities of a container: all the host can grant with
/// `--privileged`, else the defaults adjusted by `--cap-add`/`--cap-drop`
/// (`ALL` in either), as Docker computes them. `available` is the mask of
/// capabilities the host can grant ([`HostInfo::available_caps`]: known
/// to the kernel and in the daemon's bounding set); others are left out
/// of `ALL` and the defaults, and are an error when added by name.
///
/// [`HostInfo::available_caps`]: crate::spec::HostInfo::available_caps
pub fn tweak_capabilities(
    add: &[String],
    drop: &[String],
    privileged: bool,
    available: u64,
) -> Result<Vec<String>> {
    let on_host = |c: &&str| capability_number(c).is_some_and(|b| available & (1u64 << b) != 0);
    let all: Vec<String> = CAPABILITIES
        .iter()
        .map(|(n, _)| *n)
        .filter(on_host)
        .map(str::to_string)
        .collect();
    if privileged {
        return Ok(all);
    }
    let add = add
        .iter()
        .map(|c| normalize_capability(c))
        .collect::<Result<Vec<_>>>()?;
    let drop = drop
        .iter()
        .map(|c| normalize_capability(c))
        .collect::<Result<Vec<_>>>()?;
    if let Some(c) = add.iter().find(|c| *c != "ALL" && !on_host(&c.as_str())) {
        return Err(RuntimeError::invalid(format!(
            "capability {c} cannot be added: this host does not grant it (it is not in the daemon's bounding set)"
        )));
    }
    let has = |list: &[String], c: &str| list.iter().any(|x| x == c);
    let mut caps: Vec<String> = if has(&add, "ALL") {
        all.into_iter().filter(|c| !has(&drop, c)).collect()
    } else if has(&drop, "ALL") {
        add.clone()
    } else {
        let mut caps: Vec<String> = DEFAULT_CAPABILITIES
            .iter()
            .filter(|c| !has(&drop, c))
            .map(|c| c.to_string())
            .collect();
        caps.extend(add.iter().cloned());
        caps
    };
    let mut seen = Vec::new();
    caps.retain(|c| {
        let keep = c != "ALL" && on_host(&c.as_str()) && !seen.contains(c);
        if keep {
            seen.push(c.clone());
        }
        keep
    });
    Ok(caps)
}

/// The bit mask of a list of capabilities (as in `/proc/<pid>/status`).
pub fn capability_mask(caps: &[String]) -> u64 {
    caps.iter()
        .filter_map(|c| capability_number(c))
        .fold(0u64, |m, b| m | (1u64 << b))
}

/// Converts to oci-spec's set.
pub(crate) fn to_oci(caps: &[String]) -> Result<Capabilities> {
    caps.iter()
        .map(|c| {
            Capability::from_str(c.trim_start_matches("CAP_")).map_err(|_| {
                RuntimeError::Unsupported {
                    what: format!("capability {c}"),
                    reason: "unknown to the OCI spec library".into(),
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u64 = (1 << 41) - 1;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize_capability("NET_ADMIN").unwrap(), "CAP_NET_ADMIN");
        assert_eq!(
            normalize_capability("cap_net_admin").unwrap(),
            "CAP_NET_ADMIN"
        );
        assert_eq!(normalize_capability("all").unwrap(), "ALL");
        assert_eq!(
            normalize_capability("CAP_FOO").unwrap_err().to_string(),
            "unknown capability: \"CAP_FOO\""
        );
        assert_eq!(
            normalize_capability("foo").unwrap_err().to_string(),
            "unknown capability: \"CAP_FOO\""
        );
    }

    #[test]
    fn tweaks_like_docker() {
        let d = tweak_capabilities(&[], &[], false, ALL).unwrap();
        assert_eq!(d, s(DEFAULT_CAPABILITIES));

        let c = tweak_capabilities(
            &s(&["NET_ADMIN"]),
            &s(&["CAP_CHOWN", "net_raw"]),
            false,
            ALL,
        )
        .unwrap();
        assert!(c.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!c.contains(&"CAP_CHOWN".to_string()));
        assert!(!c.contains(&"CAP_NET_RAW".to_string()));
        assert_eq!(c.len(), DEFAULT_CAPABILITIES.len() - 1);

        let c = tweak_capabilities(&s(&["ALL"]), &s(&["SYS_ADMIN"]), false, ALL).unwrap();
        assert_eq!(c.len(), CAPABILITIES.len() - 1);
        assert!(!c.contains(&"CAP_SYS_ADMIN".to_string()));

        let c = tweak_capabilities(&s(&["KILL"]), &s(&["ALL"]), false, ALL).unwrap();
        assert_eq!(c, s(&["CAP_KILL"]));

        let c = tweak_capabilities(&s(&["FOO"]), &[], true, (1 << 38) - 1).unwrap();
        assert_eq!(c.len(), 38, "privileged: every cap up to cap_last_cap");
        // A host whose bounding set lacks CAP_SYS_RESOURCE (24).
        let no_res = ALL & !(1 << 24);
        let c = tweak_capabilities(&[], &[], true, no_res).unwrap();
        assert!(!c.contains(&"CAP_SYS_RESOURCE".to_string()));
        let c = tweak_capabilities(&s(&["ALL"]), &[], false, no_res).unwrap();
        assert_eq!(c.len(), CAPABILITIES.len() - 1);
        assert!(
            tweak_capabilities(&s(&["SYS_RESOURCE"]), &[], false, no_res)
                .unwrap_err()
                .to_string()
                .contains("CAP_SYS_RESOURCE cannot be added")
        );

        assert!(tweak_capabilities(&s(&["CAP_FOO"]), &[], false, ALL).is_err());
        // Adding a default one does not duplicate it.
        let c = tweak_capabilities(&s(&["chown"]), &[], false, ALL).unwrap();
        assert_eq!(c.len(), DEFAULT_CAPABILITIES.len());
    }

    #[test]
    fn masks_and_oci_names() {
        assert_eq!(capability_mask(&s(&["CAP_CHOWN", "CAP_KILL"])), 0b100001);
        let all: Vec<String> = CAPABILITIES.iter().map(|(n, _)| n.to_string()).collect();
        let oci = to_oci(&all).unwrap();
        assert_eq!(oci.len(), all.len());
        assert!(oci.contains(&Capability::NetAdmin));
        assert!(oci.contains(&Capability::CheckpointRestore));
    }
}
