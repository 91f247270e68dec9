//! The runtime probe on this host: runc works; crun refuses hybrid cgroup
//! hosts and must be reported unusable with its reason. Nothing is left
//! behind.

mod common;

use std::fs;
use std::path::Path;

use berth_runtime::cgroup::CgroupLayout;
use berth_runtime::runtimes::{Runtimes, find_binary};
use berth_runtime::spec::HostInfo;

fn probe_leftovers() -> Vec<String> {
    let mut left = Vec::new();
    for base in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        let Ok(rd) = fs::read_dir(base) else { continue };
        for hierarchy in rd.flatten() {
            let dirs = std::iter::once(hierarchy.path()).chain(
                fs::read_dir(hierarchy.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path()),
            );
            for d in dirs {
                let name = d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if name.starts_with(&format!("berth-probe-{}-", std::process::id())) {
                    left.push(d.display().to_string());
                }
            }
        }
    }
    left
}

#[test]
fn probes_runtimes_on_this_host() {
    if !common::can_run() {
        return;
    }
    let host = HostInfo::detect().unwrap();
    let work = tempfile::tempdir().unwrap();
    let rts = Runtimes::discover(&[], None, &host, work.path()).unwrap();
    for st in rts.statuses.values() {
        eprintln!(
            "{}: usable={} reason={:?} create={:?}",
            st.config.name, st.usable, st.reason, st.create_time
        );
    }
    eprintln!("default: {} ({})", rts.default, rts.default_reason);
    let runc = &rts.statuses["runc"];
    assert!(runc.usable, "{:?}", runc.reason);
    if find_binary("crun").is_some() {
        let crun = &rts.statuses["crun"];
        if host.cgroup.layout == CgroupLayout::Hybrid {
            assert!(!crun.usable);
            assert!(
                crun.reason.as_deref().unwrap_or("").contains("hybrid"),
                "{:?}",
                crun.reason
            );
            assert_eq!(rts.default, "runc");
            assert!(
                rts.default_reason.contains("crun unusable"),
                "{}",
                rts.default_reason
            );
        } else if crun.usable {
            assert_eq!(rts.default, "crun");
        }
    }
    // Nothing left: no work files, no cgroups.
    assert_eq!(fs::read_dir(work.path()).unwrap().count(), 0);
    assert!(probe_leftovers().is_empty(), "{:?}", probe_leftovers());
    assert!(!Path::new("/run/crun").join("berth-probe").exists());

    let configured = Runtimes::discover(&[], Some("runc"), &host, work.path()).unwrap();
    assert_eq!(configured.default, "runc");
    assert!(Runtimes::discover(&[], Some("nope"), &host, work.path()).is_err());
}
