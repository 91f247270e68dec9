//! Driver tests: overlay2 layout, deep stacks, mount refcounts; vfs copies.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use super::*;

/// Unmounts whatever the driver mounted, whatever happens in the test.
struct Unmount(Arc<dyn StorageDriver>);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = self.0.cleanup();
    }
}

fn overlay(home: &Path) -> Option<(Arc<dyn StorageDriver>, Unmount)> {
    match probe("overlay2", home) {
        Ok(d) => Some((d.clone(), Unmount(d))),
        Err(e) => {
            eprintln!("overlay2 not usable here, skipping: {e}");
            None
        }
    }
}

fn mounted(path: &Path) -> bool {
    mountinfo::is_mounted(path)
}

#[test]
fn probe_names_reasons() {
    let dir = tempfile::tempdir().unwrap();
    match probe("aufs", dir.path()) {
        Err(LayerError::DriverUnsupported { driver, reason }) => {
            assert_eq!(driver, "aufs");
            assert!(reason.contains("unknown storage driver"), "{reason}");
        }
        other => panic!("unexpected {:?}", other.map(|d| d.name())),
    }
    assert_eq!(probe("vfs", dir.path()).unwrap().name(), "vfs");
    assert!(dir.path().join("vfs/dir").is_dir());
}

#[test]
fn overlay_layout_is_dockers() {
    let home = tempfile::tempdir().unwrap();
    let Some((d, _guard)) = overlay(home.path()) else {
        return;
    };
    let root = home.path().join("overlay2");
    d.create("base", None).unwrap();
    d.create("child", Some("base")).unwrap();
    d.create("grandchild", Some("child")).unwrap();
    for id in ["base", "child", "grandchild"] {
        let short = fs::read_to_string(root.join(id).join("link")).unwrap();
        assert_eq!(short.len(), 26);
        assert!(
            short
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(
            fs::read_link(root.join("l").join(&short)).unwrap(),
            Path::new(&format!("../{id}/diff"))
        );
        assert!(root.join(id).join("diff").is_dir());
    }
    assert!(!root.join("base/lower").exists());
    let link = |id: &str| fs::read_to_string(root.join(id).join("link")).unwrap();
    assert_eq!(
        fs::read_to_string(root.join("child/lower")).unwrap(),
        format!("l/{}", link("base"))
    );
    assert_eq!(
        fs::read_to_string(root.join("grandchild/lower")).unwrap(),
        format!("l/{}:l/{}", link("child"), link("base"))
    );
    assert!(root.join("grandchild/work").is_dir() && root.join("grandchild/merged").is_dir());
    let mut ids = d.list().unwrap();
    ids.sort();
    assert_eq!(ids, ["base", "child", "grandchild"]);
    let status: Vec<String> = d.status().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        status,
        [
            "Backing Filesystem",
            "Supports d_type",
            "Using metacopy",
            "Native Overlay Diff",
            "userxattr"
        ]
    );
    // A layer without parents is its own diff dir, mounted or not.
    assert_eq!(d.get("base").unwrap(), d.diff_dir("base"));
    d.put("base").unwrap();
    let short = link("child");
    d.remove("child").unwrap();
    assert!(!root.join("child").exists());
    assert!(fs::symlink_metadata(root.join("l").join(short)).is_err());
    assert!(matches!(
        d.create("base", None),
        Err(LayerError::Conflict(_))
    ));
    assert!(matches!(
        d.create("../x", None),
        Err(LayerError::InvalidParameter(_))
    ));
}

#[test]
fn overlay_mounts_are_refcounted() {
    let home = tempfile::tempdir().unwrap();
    let Some((d, _guard)) = overlay(home.path()) else {
        return;
    };
    d.create("lower", None).unwrap();
    fs::write(d.diff_dir("lower").join("from-lower"), b"l").unwrap();
    d.create("upper", Some("lower")).unwrap();
    let merged = d.get("upper").unwrap();
    assert!(mounted(&merged));
    assert_eq!(d.get("upper").unwrap(), merged);
    let count = mountinfo::mount_points()
        .iter()
        .filter(|p| **p == merged)
        .count();
    assert_eq!(count, 1, "mounted twice");
    assert_eq!(fs::read(merged.join("from-lower")).unwrap(), b"l");
    fs::write(merged.join("new"), b"u").unwrap();
    assert!(d.diff_dir("upper").join("new").exists());
    d.put("upper").unwrap();
    assert!(mounted(&merged));
    d.put("upper").unwrap();
    assert!(!mounted(&merged));
    // Removing a mounted layer unmounts it first.
    let merged = d.get("upper").unwrap();
    d.remove("upper").unwrap();
    assert!(!mounted(&merged));
    // cleanup() unmounts everything.
    d.create("again", Some("lower")).unwrap();
    let merged = d.get("again").unwrap();
    d.cleanup().unwrap();
    assert!(!mounted(&merged));
}

#[test]
fn overlay_stacks_over_a_hundred_layers() {
    let home = tempfile::tempdir().unwrap();
    let Some((d, _guard)) = overlay(home.path()) else {
        return;
    };
    // 128 lower layers under the top one, as many as Docker allows.
    let depth = 129;
    let mut parent: Option<String> = None;
    for i in 0..depth {
        let id = format!("{:064x}", i);
        d.create(&id, parent.as_deref()).unwrap();
        fs::write(d.diff_dir(&id).join(format!("f{i}")), i.to_string()).unwrap();
        parent = Some(id);
    }
    let top = parent.unwrap();
    let merged = d.get(&top).unwrap();
    for i in [0, 1, 64, depth - 1] {
        assert_eq!(
            fs::read_to_string(merged.join(format!("f{i}"))).unwrap(),
            i.to_string()
        );
    }
    d.put(&top).unwrap();
    // Docker's limit: one more is refused with a clear error.
    let err = d.create("toodeep", Some(&top)).err();
    assert!(
        matches!(err, Some(LayerError::InvalidParameter(_))),
        "{err:?}"
    );
    assert!(!d.exists("toodeep"));
}

#[test]
fn vfs_copies_parents_and_measures_changes() {
    let home = tempfile::tempdir().unwrap();
    let d = probe("vfs", home.path()).unwrap();
    d.create("a", None).unwrap();
    fs::write(d.diff_dir("a").join("big"), vec![0u8; 10_000]).unwrap();
    d.create("b", Some("a")).unwrap();
    assert_eq!(fs::read(d.diff_dir("b").join("big")).unwrap().len(), 10_000);
    assert_eq!(d.diff_size("b", Some("a")).unwrap(), 0);
    fs::write(d.get("b").unwrap().join("new"), vec![1u8; 123]).unwrap();
    d.put("b").unwrap();
    assert_eq!(d.diff_size("b", Some("a")).unwrap(), 123);
    assert_eq!(d.diff_size("a", None).unwrap(), 10_000);
    d.remove("a").unwrap();
    d.remove("a").unwrap();
    assert_eq!(d.list().unwrap(), ["b"]);
    assert!(matches!(
        d.create("c", Some("a")),
        Err(LayerError::NotFound(_))
    ));
    assert!(!d.exists("c"));
}
