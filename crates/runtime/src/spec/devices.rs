//! Devices: Docker's default cgroup allow-list, `--device` mappings,
//! `--device-cgroup-rule`, and every host device for `--privileged`.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{major, minor};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Result, RuntimeError};
use crate::parse::{DeviceSpec, parse_device_cgroup_rule, validate_device_permissions};

pub(crate) fn rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow);
    r.set_typ(typ);
    r.set_major(major);
    r.set_minor(minor);
    r.set_access(Some(access.to_string()));
    r
}

/// Docker's device cgroup rules: deny everything, allow the standard
/// devices (null, zero, full, random, urandom, tty, console, ptmx, the pts
/// devices), deny fuse explicitly, and last allow `mknod` of any device
/// (after the deny: on cgroup v1 a deny cannot punch a hole in a wildcard
/// allow).
pub fn default_device_rules() -> Vec<LinuxDeviceCgroup> {
    let c = Some(LinuxDeviceType::C);
    vec![
        rule(false, None, None, None, "rwm"),
        rule(true, c, Some(1), Some(3), "rwm"),     // null
        rule(true, c, Some(1), Some(5), "rwm"),     // zero
        rule(true, c, Some(1), Some(7), "rwm"),     // full
        rule(true, c, Some(1), Some(8), "rwm"),     // random
        rule(true, c, Some(1), Some(9), "rwm"),     // urandom
        rule(true, c, Some(5), Some(0), "rwm"),     // tty
        rule(true, c, Some(5), Some(1), "rwm"),     // console
        rule(true, c, Some(5), Some(2), "rwm"),     // ptmx
        rule(true, c, Some(136), None, "rwm"),      // pts/*
        rule(false, c, Some(10), Some(229), "rwm"), // fuse
        rule(true, c, None, None, "m"),
        rule(true, Some(LinuxDeviceType::B), None, None, "m"),
    ]
}

/// A device node at `host` as the container's `container` path; `None`
/// when it is not a character or block device.
fn device_at(host: &Path, container: &str) -> Result<Option<LinuxDevice>> {
    let md = fs::metadata(host)
        .map_err(|e| RuntimeError::io(format!("inspecting device {}", host.display()), e))?;
    let ft = md.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Ok(None);
    };
    let mut d = LinuxDevice::default();
    d.set_path(PathBuf::from(container));
    d.set_typ(typ);
    d.set_major(major(md.rdev()) as i64);
    d.set_minor(minor(md.rdev()) as i64);
    d.set_file_mode(Some(md.mode() & 0o7777));
    d.set_uid(Some(md.uid()));
    d.set_gid(Some(md.gid()));
    Ok(Some(d))
}

fn cgroup_rule_for(d: &LinuxDevice, access: &str) -> LinuxDeviceCgroup {
    rule(
        true,
        Some(d.typ()),
        Some(d.major()),
        Some(d.minor()),
        access,
    )
}

/// Resolves a `--device` mapping (Docker's `DevicesFromPath`): one device,
/// or every device under a directory.
pub fn devices_from_path(spec: &DeviceSpec) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>)> {
    validate_device_permissions(&spec.permissions).map_err(|e| {
        RuntimeError::invalid(format!("invalid --device {:?}: {e}", spec.path_on_host))
    })?;
    let fail = |why: String| {
        RuntimeError::invalid(format!(
            "error gathering device information while adding custom device {:?}: {why}",
            spec.path_on_host
        ))
    };
    let host = fs::canonicalize(&spec.path_on_host).map_err(|e| fail(e.to_string()))?;
    let md = fs::metadata(&host).map_err(|e| fail(e.to_string()))?;
    if md.is_dir() {
        let mut devs = Vec::new();
        walk(&host, &mut |p: &Path| {
            let Ok(rel) = p.strip_prefix(&host) else {
                return Ok(());
            };
            let ctr = format!(
                "{}/{}",
                spec.path_in_container.trim_end_matches('/'),
                rel.display()
            );
            if let Some(d) = device_at(p, &ctr)? {
                devs.push(d);
            }
            Ok(())
        })?;
        let rules = devs
            .iter()
            .map(|d| cgroup_rule_for(d, &spec.permissions))
            .collect();
        return Ok((devs, rules));
    }
    match device_at(&host, &spec.path_in_container)? {
        Some(d) => {
            let r = cgroup_rule_for(&d, &spec.permissions);
            Ok((vec![d], vec![r]))
        }
        None => Err(fail("not a device node".into())),
    }
}

/// Walks a directory tree without following symlinks, calling `f` on
/// every non-directory entry.
fn walk(dir: &Path, f: &mut dyn FnMut(&Path) -> Result<()>) -> Result<()> {
    let entries =
        fs::read_dir(dir).map_err(|e| RuntimeError::io(format!("reading {}", dir.display()), e))?;
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            walk(&entry.path(), f)?;
        } else if !ft.is_symlink() {
            f(&entry.path())?;
        }
    }
    Ok(())
}

/// Parses `--device-cgroup-rule` values into cgroup rules.
pub fn device_cgroup_rules(rules: &[String]) -> Result<Vec<LinuxDeviceCgroup>> {
    rules
        .iter()
        .map(|r| {
            let p = parse_device_cgroup_rule(r)?;
            let typ = match p.kind {
                'b' => Some(LinuxDeviceType::B),
                'c' => Some(LinuxDeviceType::C),
                _ => Some(LinuxDeviceType::A),
            };
            Ok(rule(true, typ, p.major, p.minor, &p.access))
        })
        .collect()
}

/// Every device node of the host for `--privileged` (as containerd's
/// `HostDevices`: `/dev` minus pts, shm, mqueue and the console).
pub fn host_devices() -> Result<Vec<LinuxDevice>> {
    fn visit(dir: &Path, out: &mut Vec<LinuxDevice>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                let name = entry.file_name();
                if matches!(
                    name.to_str(),
                    Some("pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev")
                ) {
                    continue;
                }
                visit(&path, out);
                continue;
            }
            if ft.is_symlink() || path == Path::new("/dev/console") {
                continue;
            }
            if ft.is_char_device() || ft.is_block_device() {
                // Devices vanish while we look: skip those.
                if let Ok(Some(d)) = device_at(&path, &path.to_string_lossy()) {
                    out.push(d);
                }
            }
        }
    }
    let mut out = Vec::new();
    visit(Path::new("/dev"), &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_deny_first() {
        let r = default_device_rules();
        assert!(!r[0].allow());
        assert_eq!(r[0].typ(), None);
        assert_eq!(r[0].access().as_deref(), Some("rwm"));
        let allowed: Vec<(i64, Option<i64>)> = r
            .iter()
            .filter(|x| x.allow() && x.major().is_some())
            .map(|x| (x.major().unwrap_or(-1), x.minor()))
            .collect();
        for dev in [
            (1, Some(3)),
            (1, Some(5)),
            (1, Some(7)),
            (1, Some(8)),
            (1, Some(9)),
            (5, Some(0)),
            (5, Some(1)),
            (5, Some(2)),
            (136, None),
        ] {
            assert!(allowed.contains(&dev), "{dev:?}");
        }
    }

    #[test]
    fn device_mapping() {
        let spec = DeviceSpec {
            path_on_host: "/dev/null".into(),
            path_in_container: "/dev/mynull".into(),
            permissions: "rw".into(),
        };
        let (devs, rules) = devices_from_path(&spec).unwrap();
        assert_eq!(devs.len(), 1);
        assert_eq!(devs[0].path(), Path::new("/dev/mynull"));
        assert_eq!(
            (devs[0].typ(), devs[0].major(), devs[0].minor()),
            (LinuxDeviceType::C, 1, 3)
        );
        assert_eq!(rules[0].access().as_deref(), Some("rw"));

        let bad = DeviceSpec {
            path_on_host: "/etc/hostname".into(),
            path_in_container: "/dev/x".into(),
            permissions: "rwm".into(),
        };
        assert!(
            devices_from_path(&bad)
                .unwrap_err()
                .to_string()
                .contains("not a device node")
        );
        let missing = DeviceSpec {
            path_on_host: "/dev/does-not-exist".into(),
            ..bad
        };
        assert!(devices_from_path(&missing).is_err());
    }

    #[test]
    fn cgroup_rules_and_host_devices() {
        let r = device_cgroup_rules(&["c 1:3 mr".into(), "a *:* rwm".into()]).unwrap();
        assert_eq!(r[0].major(), Some(1));
        assert_eq!(r[1].typ(), Some(LinuxDeviceType::A));
        assert!(device_cgroup_rules(&["bogus".into()]).is_err());
        let host = host_devices().unwrap();
        assert!(host.iter().any(|d| d.path() == Path::new("/dev/null")));
        assert!(!host.iter().any(|d| d.path().starts_with("/dev/pts")));
    }
}
