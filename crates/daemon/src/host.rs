//! Facts about the host that `/info` and `/version` report.

use std::fs;
use std::path::Path;

/// The cgroup layout of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// Only cgroup v1 hierarchies.
    V1,
    /// v1 controllers plus a cgroup2 mount at `/sys/fs/cgroup/unified`.
    Hybrid,
    /// The unified hierarchy only, at `/sys/fs/cgroup`.
    V2,
}

impl CgroupLayout {
    /// What `/info` reports as `CgroupVersion` (Docker says 1 for hybrid).
    pub fn version(self) -> &'static str {
        match self {
            CgroupLayout::V2 => "2",
            CgroupLayout::V1 | CgroupLayout::Hybrid => "1",
        }
    }
}

/// Static facts, read once at start-up.
#[derive(Debug, Clone)]
pub struct HostFacts {
    pub kernel_version: String,
    pub operating_system: String,
    pub os_version: String,
    /// `uname -m` (`x86_64`), as `/info` reports it.
    pub machine: String,
    /// Go's name (`amd64`), as `/version` and image configs use it.
    pub go_arch: String,
    pub ncpu: i64,
    pub mem_total: i64,
    pub cgroups: CgroupLayout,
}

impl HostFacts {
    pub fn read() -> Self {
        let uts = nix::sys::utsname::uname().ok();
        let kernel_version = uts
            .as_ref()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        let machine = uts
            .as_ref()
            .map(|u| u.machine().to_string_lossy().into_owned())
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
        let field = |key: &str| {
            os_release
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .map(|v| v.trim_matches('"').to_string())
        };
        Self {
            kernel_version,
            operating_system: field("PRETTY_NAME").unwrap_or_else(|| "Linux".to_string()),
            os_version: field("VERSION_ID").unwrap_or_default(),
            go_arch: go_arch(&machine).to_string(),
            machine,
            ncpu: std::thread::available_parallelism()
                .map(|n| n.get() as i64)
                .unwrap_or(1),
            mem_total: mem_total(),
            cgroups: cgroup_layout(Path::new("/sys/fs/cgroup")),
        }
    }
}

/// Go's GOARCH name for a `uname -m` machine.
pub fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" | "armv6l" => "arm",
        "i686" | "i386" => "386",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

fn mem_total() -> i64 {
    let text = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<i64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Detects the cgroup layout mounted at `root`.
pub fn cgroup_layout(root: &Path) -> CgroupLayout {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    let is_cgroup2 = |p: &Path| {
        nix::sys::statfs::statfs(p)
            .map(|s| s.filesystem_type().0 == CGROUP2_SUPER_MAGIC)
            .unwrap_or(false)
    };
    if is_cgroup2(root) {
        CgroupLayout::V2
    } else if is_cgroup2(&root.join("unified")) {
        CgroupLayout::Hybrid
    } else {
        CgroupLayout::V1
    }
}

/// The host's name.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether the kernel forwards IPv4 packets.
pub fn ipv4_forwarding() -> bool {
    fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

/// Open file descriptors of this process.
pub fn open_fds() -> i64 {
    fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as i64)
        .unwrap_or(0)
}

/// Threads of this process (reported where Docker reports goroutines).
pub fn threads() -> i64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plausible_facts() {
        let facts = HostFacts::read();
        assert!(facts.ncpu >= 1);
        assert!(facts.mem_total > 0);
        assert!(!facts.kernel_version.is_empty());
        assert_eq!(go_arch("x86_64"), "amd64");
    }
}
