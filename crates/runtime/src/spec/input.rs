//! The container as the daemon resolved it: the input of spec generation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;

use super::resources::Resources;
use crate::error::{Result, RuntimeError};
use crate::parse::{DeviceSpec, MountSpec, MountType, Propagation, TmpfsSpec, Ulimit};
use crate::user::ResolvedUser;

/// Everything spec generation needs. Build with [`SpecInput::new`] and set
/// what differs from Docker's defaults.
#[derive(Debug, Clone, Default)]
pub struct SpecInput {
    /// The container ID (also the runtime's container ID).
    pub id: String,
    /// The mounted root filesystem (absolute).
    pub rootfs: PathBuf,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// Entrypoint + command; must not be empty.
    pub args: Vec<String>,
    /// `KEY=value` from the image and `-e`; `PATH`, `HOSTNAME` and (with a
    /// tty) `TERM` are added when missing. An entry without `=` removes
    /// that variable.
    pub env: Vec<String>,
    /// The working directory; empty = `/`.
    pub cwd: String,
    /// From [`crate::user::resolve_user`]; root by default.
    pub user: ResolvedUser,
    pub hostname: String,
    pub domainname: String,
    pub tty: bool,
    /// (height, width) of the terminal.
    pub console_size: Option<(u64, u64)>,
    /// Binds (volumes already resolved to their host directory) and tmpfs
    /// mounts.
    pub mounts: Vec<Mount>,
    /// The container's files bind-mounted over `/etc/hosts`,
    /// `/etc/hostname`, `/etc/resolv.conf` (unless a mount targets them).
    pub etc_hosts: Option<PathBuf>,
    pub etc_hostname: Option<PathBuf>,
    pub etc_resolv_conf: Option<PathBuf>,
    pub network: NetworkNamespace,
    pub ipc: IpcNamespace,
    pub pid: PidNamespace,
    pub uts: UtsNamespace,
    pub cgroupns: CgroupNamespace,
    pub privileged: bool,
    /// `--cap-add`, `--cap-drop`: `NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// HostConfig's `MaskedPaths`/`ReadonlyPaths`; `None` = Docker's
    /// defaults (none with `--privileged`).
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    /// `/dev/shm` size in bytes; `None`/0 = 64 MiB.
    pub shm_size: Option<i64>,
    pub sysctls: BTreeMap<String, String>,
    /// `--device`.
    pub devices: Vec<DeviceSpec>,
    /// `--device-cgroup-rule`.
    pub device_cgroup_rules: Vec<String>,
    /// `--oom-score-adj`; `None` = 0 (or the daemon's own when it cannot
    /// go lower).
    pub oom_score_adj: Option<i32>,
    /// `--ulimit` (plus the daemon's `default-ulimits`).
    pub ulimits: Vec<Ulimit>,
    pub resources: Resources,
    /// `--cgroup-parent`; `None` = `/berth`.
    pub cgroup_parent: Option<String>,
    pub seccomp: Seccomp,
    pub annotations: BTreeMap<String, String>,
}

impl SpecInput {
    pub fn new(id: impl Into<String>, rootfs: impl Into<PathBuf>, args: Vec<String>) -> Self {
        SpecInput {
            id: id.into(),
            rootfs: rootfs.into(),
            args,
            ..Default::default()
        }
    }
}

/// A mount, with volumes resolved to host directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    Bind {
        source: PathBuf,
        destination: String,
        read_only: bool,
        /// `None` = `rprivate`.
        propagation: Option<Propagation>,
        /// `rbind` (default) or `bind`.
        recursive: bool,
    },
    Tmpfs {
        destination: String,
        /// Data options (`size=64m`, `mode=1777`, `exec`, `ro`, …).
        options: Vec<String>,
    },
}

impl Mount {
    /// A recursive, private bind.
    pub fn bind(
        source: impl Into<PathBuf>,
        destination: impl Into<String>,
        read_only: bool,
    ) -> Self {
        Mount::Bind {
            source: source.into(),
            destination: destination.into(),
            read_only,
            propagation: None,
            recursive: true,
        }
    }

    pub fn tmpfs(destination: impl Into<String>, options: Vec<String>) -> Self {
        Mount::Tmpfs {
            destination: destination.into(),
            options,
        }
    }

    /// A parsed `-v`/`--mount` as a spec mount. Volumes become binds of
    /// `volume_dir`, the volume's host directory the daemon resolved
    /// (required for them, ignored otherwise).
    pub fn from_spec(spec: &MountSpec, volume_dir: Option<&Path>) -> Result<Self> {
        Ok(match spec.kind {
            MountType::Bind => Mount::Bind {
                source: PathBuf::from(&spec.source),
                destination: spec.target.clone(),
                read_only: spec.read_only,
                propagation: spec.propagation,
                recursive: !spec.bind_non_recursive,
            },
            MountType::Volume => Mount::Bind {
                source: volume_dir
                    .ok_or_else(|| {
                        RuntimeError::invalid(format!(
                            "volume mount at {} has no resolved volume directory",
                            spec.target
                        ))
                    })?
                    .to_path_buf(),
                destination: spec.target.clone(),
                read_only: spec.read_only,
                propagation: None,
                recursive: true,
            },
            MountType::Tmpfs => Mount::Tmpfs {
                destination: spec.target.clone(),
                options: spec.tmpfs_options(),
            },
        })
    }

    /// A parsed `--tmpfs`.
    pub fn from_tmpfs(spec: &TmpfsSpec) -> Self {
        Mount::Tmpfs {
            destination: spec.destination.clone(),
            options: spec.options.clone(),
        }
    }

    pub fn destination(&self) -> &str {
        match self {
            Mount::Bind { destination, .. } | Mount::Tmpfs { destination, .. } => destination,
        }
    }
}

/// `--network`: a new namespace (bridge, none), the host's, or another
/// one's (`container:<id>` → `/proc/<pid>/ns/net`, or a bind-mounted netns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkNamespace {
    #[default]
    New,
    Host,
    Join(PathBuf),
}

/// `--ipc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IpcNamespace {
    /// A new namespace with its own `/dev/shm` tmpfs.
    #[default]
    Private,
    /// A new namespace without `/dev/shm`.
    None,
    /// The host's namespace and `/dev/shm`.
    Host,
    /// A new namespace whose `/dev/shm` is a host directory (a tmpfs the
    /// daemon mounted) that other containers may join.
    Shareable { shm: PathBuf },
    /// Another container's namespace (and its `/dev/shm` directory).
    Join { ns: PathBuf, shm: Option<PathBuf> },
}

/// `--pid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PidNamespace {
    #[default]
    Private,
    Host,
    Join(PathBuf),
}

/// `--uts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UtsNamespace {
    #[default]
    Private,
    Host,
}

/// `--cgroupns`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CgroupNamespace {
    /// Private on v2 hosts, host on v1 and hybrid ones (Docker's default).
    #[default]
    Default,
    Private,
    Host,
}

/// `--security-opt seccomp=…`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seccomp {
    /// Berth's default profile (none with `--privileged`).
    #[default]
    Default,
    Unconfined,
    Profile(LinuxSeccomp),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_mount_spec, parse_tmpfs, parse_volume_spec};

    #[test]
    fn from_parsed_specs() {
        let m = Mount::from_spec(&parse_volume_spec("/a:/b:ro,rslave").unwrap(), None).unwrap();
        assert_eq!(
            m,
            Mount::Bind {
                source: "/a".into(),
                destination: "/b".into(),
                read_only: true,
                propagation: Some(Propagation::RSlave),
                recursive: true,
            }
        );
        let v = parse_volume_spec("data:/d").unwrap();
        assert!(Mount::from_spec(&v, None).is_err());
        let m = Mount::from_spec(&v, Some(Path::new("/var/lib/berth/volumes/data/_data"))).unwrap();
        assert_eq!(m.destination(), "/d");
        let t = parse_mount_spec("type=tmpfs,dst=/t,tmpfs-size=1m,readonly", None).unwrap();
        assert_eq!(
            Mount::from_spec(&t, None).unwrap(),
            Mount::tmpfs("/t", vec!["ro".into(), "size=1m".into()])
        );
        let t = parse_tmpfs("/run:size=2m").unwrap();
        assert_eq!(
            Mount::from_tmpfs(&t),
            Mount::tmpfs("/run", vec!["size=2m".into()])
        );
    }
}
