//! The files a container gets from the daemon: its `/etc/hostname`,
//! `/etc/hosts`, `/etc/resolv.conf`, and the init layer's mount points.

use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Fills the init layer (`<id>-init`) with the mount points the runtime
/// and the daemon's bind mounts need, as Docker's init layer does.
pub fn init_layer(root: &Path) -> io::Result<()> {
    let dirs = [
        ("dev", 0o755),
        ("dev/pts", 0o755),
        ("dev/shm", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("etc", 0o755),
    ];
    for (d, mode) in dirs {
        let p = root.join(d);
        if !p.exists() {
            std::fs::DirBuilder::new().mode(mode).create(&p)?;
        }
    }
    for f in [
        ".dockerenv",
        "etc/resolv.conf",
        "etc/hosts",
        "etc/hostname",
        "dev/console",
    ] {
        let p = root.join(f);
        if std::fs::symlink_metadata(&p).is_err() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if f == "dev/console" { 0o600 } else { 0o755 })
                .open(&p)?;
        }
    }
    let mtab = root.join("etc/mtab");
    if std::fs::symlink_metadata(&mtab).is_err() {
        std::os::unix::fs::symlink("/proc/mounts", &mtab)?;
    }
    Ok(())
}

/// The default `/etc/hosts` of a container.
pub fn hosts(hostname: Option<(&str, &str)>, extra: &[String]) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for e in extra {
        // `--add-host name:ip` (or name=ip).
        if let Some((name, ip)) = e.split_once(['=', ':']).filter(|(n, _)| !n.contains(':')) {
            out.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    if let Some((ip, name)) = hostname {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    out
}

/// `resolv.conf` for a container: the host's, without loopback
/// nameservers (unreachable from another network namespace; public
/// resolvers replace them when none is left), or the user's `--dns`,
/// `--dns-search` and `--dns-option`.
pub fn resolv_conf(
    host_text: &str,
    dns: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let mut nameservers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    let mut opts: Vec<String> = Vec::new();
    for line in host_text.lines() {
        let line = line.trim();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ns) = words.next() {
                    nameservers.push(ns.to_string());
                }
            }
            Some("search") | Some("domain") => searches = words.map(str::to_string).collect(),
            Some("options") => opts.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    let loopback = |ns: &str| {
        ns.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
    };
    nameservers.retain(|ns| !loopback(ns));
    if nameservers.is_empty() {
        nameservers = vec!["8.8.8.8".to_string(), "8.8.4.4".to_string()];
    }
    if !dns.is_empty() {
        nameservers = dns.to_vec();
    }
    if !search.is_empty() {
        searches = search
            .iter()
            .filter(|s| s.as_str() != ".")
            .cloned()
            .collect();
    }
    if !options.is_empty() {
        opts = options.to_vec();
    }
    let mut out = String::new();
    for ns in &nameservers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    if !opts.is_empty() {
        out.push_str(&format!("options {}\n", opts.join(" ")));
    }
    out
}

/// Whether the host's resolv.conf names only loopback nameservers (the
/// daemon logs this once at start-up).
pub fn host_resolvers_all_loopback(host_text: &str) -> bool {
    let servers: Vec<&str> = host_text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(str::trim)
        .collect();
    !servers.is_empty()
        && servers.iter().all(|ns| {
            ns.parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_drops_loopback_and_falls_back() {
        let host = "nameserver 127.0.0.53\nsearch lan\noptions edns0\n";
        let out = resolv_conf(host, &[], &[], &[]);
        assert_eq!(
            out,
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch lan\noptions edns0\n"
        );
        assert!(host_resolvers_all_loopback(host));
        let out = resolv_conf("nameserver 10.0.0.1\nnameserver ::1\n", &[], &[], &[]);
        assert_eq!(out, "nameserver 10.0.0.1\n");
        let out = resolv_conf(
            host,
            &["1.1.1.1".to_string()],
            &["a.b".to_string()],
            &["ndots:2".to_string()],
        );
        assert_eq!(out, "nameserver 1.1.1.1\nsearch a.b\noptions ndots:2\n");
    }

    #[test]
    fn hosts_file() {
        let h = hosts(Some(("172.17.0.2", "abc")), &["db:10.0.0.5".to_string()]);
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.0.0.5\tdb\n"));
        assert!(h.ends_with("172.17.0.2\tabc\n"));
    }

    #[test]
    fn init_layer_creates_mount_points() {
        let dir = tempfile::tempdir().unwrap();
        init_layer(dir.path()).unwrap();
        for p in [
            "dev/pts",
            "dev/shm",
            "proc",
            "sys",
            ".dockerenv",
            "etc/hosts",
            "dev/console",
        ] {
            assert!(dir.path().join(p).exists(), "{p}");
        }
        assert_eq!(
            std::fs::read_link(dir.path().join("etc/mtab")).unwrap(),
            Path::new("/proc/mounts")
        );
        init_layer(dir.path()).unwrap();
    }
}
