//! Interoperability of `save`/`load` with an independent implementation: skopeo reads the archives Berth writes (both as a `docker save` archive and as an OCI layout) and writes archives Berth loads. Skipped when skopeo is not installed.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use berth_image::archive;
use berth_image::image_store::ImageStore;
use berth_image::import::{ImportOptions, import};
use berth_image::reference::Named;
use berth_image::reference_store::ReferenceStore;
use berth_layer::store::LayerStore;

struct Stores {
    dir: tempfile::TempDir,
    layers: LayerStore,
    images: ImageStore,
    refs: ReferenceStore,
}

fn stores() -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let driver: Arc<dyn berth_layer::StorageDriver> =
        Arc::new(berth_layer::VfsDriver::new(&dir.path().join("vfs/dir")).unwrap());
    let root = dir.path().join("image/vfs");
    Stores {
        layers: LayerStore::open(&root, driver).unwrap(),
        images: ImageStore::open(&root).unwrap(),
        refs: ReferenceStore::open(&root.join("repositories.json")).unwrap(),
        dir,
    }
}

fn rootfs_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("bin/hello", &b"#!/bin/sh\necho hello\n"[..]),
        ("etc/motd", b"hi\n"),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn skopeo(args: &[&str]) -> bool {
    let out = Command::new("skopeo").args(args).output().unwrap();
    if !out.status.success() {
        eprintln!(
            "skopeo {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

fn load_file(s: &Stores, path: &Path) -> Vec<archive::LoadedImage> {
    let data = std::fs::read(path).unwrap();
    archive::load(
        &s.layers,
        &s.images,
        &s.refs,
        &mut &data[..],
        &s.dir.path().join("tmp"),
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn skopeo_reads_and_writes_our_archives() {
    if Command::new("skopeo").arg("--version").output().is_err() {
        eprintln!("skipping: skopeo is not installed");
        return;
    }
    let src = stores();
    let id = import(
        &src.layers,
        &src.images,
        &src.refs,
        &mut &rootfs_tar()[..],
        &ImportOptions {
            changes: vec!["CMD [\"/bin/hello\"]".into()],
            reference: Some(Named::parse_normalized("interop:1").unwrap()),
            ..Default::default()
        },
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let ours = work.path().join("ours.tar");
    let mut out = Vec::new();
    archive::save_names(
        &src.layers,
        &src.images,
        &src.refs,
        &["interop:1".into()],
        &mut out,
    )
    .unwrap();
    std::fs::write(&ours, &out).unwrap();

    // skopeo reads our archive as `docker save` output and as an OCI layout,
    // and writes each kind back.
    let docker_back = work.path().join("docker-back.tar");
    let oci_back = work.path().join("oci-back.tar");
    assert!(skopeo(&[
        "copy",
        &format!("docker-archive:{}", ours.display()),
        &format!("docker-archive:{}:interop:2", docker_back.display()),
    ]));
    assert!(skopeo(&[
        "copy",
        &format!("oci-archive:{}:1", ours.display()),
        &format!(
            "oci-archive:{}:docker.io/library/interop:3",
            oci_back.display()
        ),
    ]));

    for (file, tag) in [(&docker_back, "interop:2"), (&oci_back, "interop:3")] {
        let dst = stores();
        let loaded = load_file(&dst, file);
        assert_eq!(loaded.len(), 1, "{}", file.display());
        assert_eq!(loaded[0].id, id, "{}: same config, same ID", file.display());
        assert_eq!(
            dst.refs.get(&Named::parse_normalized(tag).unwrap()),
            Some(id.clone())
        );
        let img = dst.images.get(&id).unwrap();
        assert!(dst.layers.exists(img.top_chain_id.as_ref().unwrap()));
    }
}
