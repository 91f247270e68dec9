//! The container's mounts: Docker's defaults (`/proc`, `/dev`, `/dev/pts`,
//! `/sys`, `/sys/fs/cgroup`, `/dev/mqueue`, `/dev/shm`), user binds and
//! tmpfs, IPC `/dev/shm` binds and `/etc/{hosts,hostname,resolv.conf}`.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount as OciMount;

use super::input::{IpcNamespace, Mount, SpecInput};
use crate::error::{Result, RuntimeError};
use crate::parse::{Propagation, clean_path, merge_tmpfs_options};

/// `/dev/shm`'s default size: 64 MiB.
pub const DEFAULT_SHM_SIZE: i64 = 64 << 20;

fn oci_mount(dest: &str, typ: &str, source: impl Into<PathBuf>, options: &[&str]) -> OciMount {
    let mut m = OciMount::default();
    m.set_destination(PathBuf::from(dest));
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(source.into()));
    m.set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

/// Docker's default mounts, in Docker's order.
pub fn default_mounts() -> Vec<OciMount> {
    vec![
        oci_mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        oci_mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        oci_mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        oci_mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        oci_mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        ),
        oci_mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        oci_mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777"],
        ),
    ]
}

fn validate_destination(dest: &str) -> Result<String> {
    if !dest.starts_with('/') {
        return Err(RuntimeError::invalid(format!(
            "invalid mount path: '{dest}' mount path must be absolute"
        )));
    }
    let clean = clean_path(dest);
    if clean == "/" {
        return Err(RuntimeError::invalid(
            "invalid specification: destination can't be '/'",
        ));
    }
    Ok(clean)
}

fn bind(
    source: &Path,
    dest: &str,
    read_only: bool,
    propagation: Option<Propagation>,
    recursive: bool,
) -> OciMount {
    let mut opts = vec![if recursive { "rbind" } else { "bind" }];
    if read_only {
        opts.push("ro");
    }
    opts.push(propagation.unwrap_or(Propagation::RPrivate).as_str());
    oci_mount(dest, "bind", source, &opts)
}

/// The mounts of the container and the rootfs propagation binds with
/// shared or slave propagation require.
pub(crate) fn build_mounts(input: &SpecInput) -> Result<(Vec<OciMount>, Option<String>)> {
    // User mounts: the daemon's binds and tmpfs, then IPC binds.
    let mut user: Vec<(String, OciMount)> = Vec::new();
    let mut rootfs_propagation: Option<&str> = None;
    for m in &input.mounts {
        let dest = validate_destination(m.destination())?;
        let mount = match m {
            Mount::Bind {
                source,
                read_only,
                propagation,
                recursive,
                ..
            } => {
                if !source.is_absolute() {
                    return Err(RuntimeError::invalid(format!(
                        "invalid mount config for type \"bind\": invalid mount path: '{}' mount path must be absolute",
                        source.display()
                    )));
                }
                if !source.exists() {
                    return Err(RuntimeError::invalid(format!(
                        "invalid mount config for type \"bind\": bind source path does not exist: {}",
                        source.display()
                    )));
                }
                match propagation {
                    Some(Propagation::Shared | Propagation::RShared)
                        if !matches!(rootfs_propagation, Some("shared" | "rshared")) =>
                    {
                        rootfs_propagation = Some("shared");
                    }
                    Some(Propagation::Slave | Propagation::RSlave)
                        if rootfs_propagation.is_none() =>
                    {
                        rootfs_propagation = Some("rslave");
                    }
                    _ => {}
                }
                bind(source, &dest, *read_only, *propagation, *recursive)
            }
            Mount::Tmpfs { options, .. } => {
                let mut all: Vec<String> = ["noexec", "nosuid", "nodev", "rprivate"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                all.extend(options.iter().cloned());
                let merged = merge_tmpfs_options(&all)
                    .map_err(|e| RuntimeError::invalid(format!("invalid --tmpfs {dest:?}: {e}")))?;
                let opts: Vec<&str> = merged.iter().map(String::as_str).collect();
                oci_mount(&dest, "tmpfs", "tmpfs", &opts)
            }
        };
        user.push((dest, mount));
    }
    let shm_bind = match &input.ipc {
        IpcNamespace::Host => Some(PathBuf::from("/dev/shm")),
        IpcNamespace::Shareable { shm } => Some(shm.clone()),
        IpcNamespace::Join { shm, .. } => shm.clone(),
        IpcNamespace::Private | IpcNamespace::None => None,
    };
    if let Some(shm) = shm_bind {
        user.push(("/dev/shm".into(), bind(&shm, "/dev/shm", false, None, true)));
    }
    for (i, (dest, _)) in user.iter().enumerate() {
        if user[..i].iter().any(|(d, _)| d == dest) {
            return Err(RuntimeError::invalid(format!(
                "Duplicate mount point: {dest}"
            )));
        }
    }
    for (dest, file) in [
        ("/etc/resolv.conf", &input.etc_resolv_conf),
        ("/etc/hostname", &input.etc_hostname),
        ("/etc/hosts", &input.etc_hosts),
    ] {
        if let Some(file) = file
            && !user.iter().any(|(d, _)| d == dest)
        {
            user.push((
                dest.to_string(),
                bind(file, dest, input.readonly_rootfs, None, true),
            ));
        }
    }
    // Shallow mounts first (stable among equals).
    user.sort_by_key(|(d, _)| d.split('/').filter(|c| !c.is_empty()).count());

    let user_dest = |d: &str| user.iter().any(|(u, _)| u == d);
    let mount_dev = user_dest("/dev");
    let shm_size = match input.shm_size {
        Some(s) if s < 0 => {
            return Err(RuntimeError::invalid("SHM size can not be less than 0"));
        }
        Some(s) if s > 0 => s,
        _ => DEFAULT_SHM_SIZE,
    };
    let mut mounts = Vec::new();
    for mut m in default_mounts() {
        let dest = m.destination().to_string_lossy().into_owned();
        if user_dest(&dest) || (mount_dev && dest.starts_with("/dev/")) {
            continue;
        }
        let opts = m.options_mut().get_or_insert_with(Vec::new);
        if dest == "/dev/shm" {
            if input.ipc == IpcNamespace::None {
                continue;
            }
            opts.push(format!("size={shm_size}"));
        }
        if input.readonly_rootfs
            && !matches!(
                dest.as_str(),
                "/proc" | "/dev/pts" | "/dev/shm" | "/dev/mqueue" | "/dev"
            )
            && !opts.iter().any(|o| o == "ro")
        {
            opts.push("ro".to_string());
        }
        if input.privileged && (dest == "/sys" || dest == "/sys/fs/cgroup") {
            opts.retain(|o| o != "ro");
        }
        mounts.push(m);
    }
    mounts.extend(user.into_iter().map(|(_, m)| m));
    Ok((mounts, rootfs_propagation.map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(m: &OciMount) -> Vec<String> {
        m.options().clone().unwrap_or_default()
    }

    fn find<'a>(ms: &'a [OciMount], d: &str) -> Option<&'a OciMount> {
        ms.iter().find(|m| m.destination() == Path::new(d))
    }

    #[test]
    fn docker_defaults() {
        let input = SpecInput::new("x", "/r", vec!["sh".into()]);
        let (ms, prop) = build_mounts(&input).unwrap();
        let dests: Vec<String> = ms
            .iter()
            .map(|m| m.destination().display().to_string())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
        assert_eq!(
            opts(&ms[1]),
            ["nosuid", "strictatime", "mode=755", "size=65536k"]
        );
        assert_eq!(
            opts(&ms[2]),
            [
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5"
            ]
        );
        assert!(opts(&ms[3]).contains(&"ro".to_string()));
        assert_eq!(
            opts(&ms[6]).last().map(String::as_str),
            Some("size=67108864")
        );
        assert!(prop.is_none());
    }

    #[test]
    fn user_mounts_and_overrides() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().to_path_buf();
        let mut input = SpecInput::new("x", "/r", vec!["sh".into()]);
        input.shm_size = Some(1 << 20);
        input.readonly_rootfs = true;
        input.mounts = vec![
            Mount::bind(&src, "/data/deep/er", true),
            Mount::Bind {
                source: src.clone(),
                destination: "/shared/".into(),
                read_only: false,
                propagation: Some(Propagation::RShared),
                recursive: false,
            },
            Mount::tmpfs("/run", vec!["exec".into(), "size=1m".into()]),
            Mount::tmpfs("/dev/mqueue", vec![]),
        ];
        input.etc_hosts = Some(src.join("hosts"));
        input.etc_resolv_conf = Some(src.join("resolv.conf"));
        let (ms, prop) = build_mounts(&input).unwrap();
        assert_eq!(prop.as_deref(), Some("shared"));
        assert_eq!(
            opts(find(&ms, "/data/deep/er").unwrap()),
            ["rbind", "ro", "rprivate"]
        );
        assert_eq!(opts(find(&ms, "/shared").unwrap()), ["bind", "rshared"]);
        assert_eq!(
            opts(find(&ms, "/run").unwrap()),
            ["nosuid", "nodev", "rprivate", "exec", "size=1m"]
        );
        // The user's /dev/mqueue replaces the default one.
        let mq: Vec<_> = ms
            .iter()
            .filter(|m| m.destination() == Path::new("/dev/mqueue"))
            .collect();
        assert_eq!(mq.len(), 1);
        assert_eq!(mq[0].typ().as_deref(), Some("tmpfs"));
        // --read-only: etc files read-only, /sys/fs/cgroup ro, /dev/shm not.
        assert_eq!(
            opts(find(&ms, "/etc/hosts").unwrap()),
            ["rbind", "ro", "rprivate"]
        );
        assert!(!opts(find(&ms, "/dev/shm").unwrap()).contains(&"ro".to_string()));
        assert!(opts(find(&ms, "/dev/shm").unwrap()).contains(&"size=1048576".to_string()));
        assert!(find(&ms, "/etc/hostname").is_none());
        // Sorted by depth after the defaults.
        let user_part: Vec<String> = ms[6..]
            .iter()
            .map(|m| m.destination().display().to_string())
            .collect();
        assert_eq!(user_part.last().map(String::as_str), Some("/data/deep/er"));
    }

    #[test]
    fn ipc_and_privileged() {
        let mut input = SpecInput::new("x", "/r", vec!["sh".into()]);
        input.ipc = IpcNamespace::None;
        input.privileged = true;
        let (ms, _) = build_mounts(&input).unwrap();
        assert!(find(&ms, "/dev/shm").is_none());
        assert!(!opts(find(&ms, "/sys").unwrap()).contains(&"ro".to_string()));
        assert!(!opts(find(&ms, "/sys/fs/cgroup").unwrap()).contains(&"ro".to_string()));

        input.ipc = IpcNamespace::Host;
        let (ms, _) = build_mounts(&input).unwrap();
        let shm = find(&ms, "/dev/shm").unwrap();
        assert_eq!(shm.typ().as_deref(), Some("bind"));
        assert_eq!(shm.source().as_deref(), Some(Path::new("/dev/shm")));
    }

    #[test]
    fn mount_errors() {
        let mut input = SpecInput::new("x", "/r", vec!["sh".into()]);
        input.mounts = vec![Mount::bind("/nonexistent/src", "/x", false)];
        assert_eq!(
            build_mounts(&input).unwrap_err().to_string(),
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent/src"
        );
        input.mounts = vec![Mount::tmpfs("/a", vec![]), Mount::tmpfs("/a/", vec![])];
        assert_eq!(
            build_mounts(&input).unwrap_err().to_string(),
            "Duplicate mount point: /a"
        );
        input.mounts = vec![Mount::tmpfs("rel", vec![])];
        assert!(build_mounts(&input).is_err());
        input.mounts = vec![Mount::tmpfs("/t", vec!["bogus".into()])];
        assert!(
            build_mounts(&input)
                .unwrap_err()
                .to_string()
                .contains("bogus")
        );
        input.mounts = vec![];
        input.shm_size = Some(-1);
        assert_eq!(
            build_mounts(&input).unwrap_err().to_string(),
            "SHM size can not be less than 0"
        );
    }
}
