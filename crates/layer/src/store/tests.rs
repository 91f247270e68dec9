//! Layer store tests, run against vfs and (where the host allows) overlay2.

use std::fs;
use std::io::{self, Read};
use std::sync::Arc;

use super::*;
use crate::driver::{OverlayDriver, VfsDriver};
use crate::testutil::{TarBuilder, gzip};

/// A store in a temporary directory; unmounts everything when dropped.
struct Env {
    store: Option<LayerStore>,
    driver: Arc<dyn StorageDriver>,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Env {
    fn store(&self) -> &LayerStore {
        self.store.as_ref().unwrap()
    }

    /// Drops the store and opens it again on the same directories.
    fn reopen(&mut self) {
        self.store = None;
        self.store = Some(LayerStore::open(&self.root, self.driver.clone()).unwrap());
    }

    fn tmp_entries(&self) -> usize {
        fs::read_dir(self.root.join("layerdb/tmp")).unwrap().count()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.driver.cleanup();
    }
}

fn vfs_env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let driver: Arc<dyn StorageDriver> =
        Arc::new(VfsDriver::new(&dir.path().join("vfs/dir")).unwrap());
    make_env(dir, driver)
}

fn overlay_env() -> Option<Env> {
    let dir = tempfile::tempdir().unwrap();
    match OverlayDriver::new(&dir.path().join("overlay2")) {
        Ok(d) => Some(make_env(dir, Arc::new(d))),
        Err(e) => {
            eprintln!("overlay2 not usable here, skipping: {e}");
            None
        }
    }
}

fn make_env(dir: tempfile::TempDir, driver: Arc<dyn StorageDriver>) -> Env {
    let root = dir.path().join("image");
    let store = LayerStore::open(&root, driver.clone()).unwrap();
    Env {
        store: Some(store),
        driver,
        root,
        _dir: dir,
    }
}

fn envs() -> Vec<Env> {
    let mut v = vec![vfs_env()];
    v.extend(overlay_env());
    v
}

fn register(store: &LayerStore, data: &[u8], parent: Option<&Digest>) -> Result<LayerRef> {
    let mut input = data;
    store.register(&mut input, parent, &mut |_| {})
}

fn base_tar() -> Vec<u8> {
    TarBuilder::new()
        .dir("etc/")
        .file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")
        .file("etc/gone", b"bye")
        .dir("opt/")
        .file("opt/old", b"old")
        .file("bin/sh", &vec![0x7f; 20_000])
        .hardlink("bin/ash", "bin/sh")
        .finish()
}

fn child_tar() -> Vec<u8> {
    TarBuilder::new()
        .file("etc/.wh.gone", b"")
        .file("opt/.wh..wh..opq", b"")
        .file("opt/new", b"new")
        .file("etc/motd", b"hello")
        .finish()
}

fn diff_tar(store: &LayerStore, chain: &Digest) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    store.write_diff_tar(chain, &mut out)?;
    Ok(out)
}

#[test]
fn register_chain_and_rebuild_exact_tars() {
    for env in envs() {
        let s = env.store();
        let base = base_tar();
        let child = child_tar();
        let b = register(s, &gzip(&base), None).unwrap();
        assert_eq!(b.info().diff_id, Digest::of(&base));
        assert_eq!(b.info().chain_id, b.info().diff_id);
        assert_eq!(b.info().tar_size, base.len() as u64);
        assert_eq!(b.info().size, 26 + 3 + 3 + 20_000);
        let zst = zstd::encode_all(&child[..], 3).unwrap();
        let c = register(s, &zst, Some(b.chain_id())).unwrap();
        assert_eq!(
            c.info().chain_id,
            chain_id(Some(b.chain_id()), &Digest::of(&child))
        );
        assert_eq!(c.info().parent.as_ref(), Some(b.chain_id()));
        assert!(s.exists(c.chain_id()));
        assert_eq!(s.all().len(), 2);
        assert_eq!(s.total_size(), b.info().size + c.info().size);
        assert!(
            diff_tar(s, b.chain_id()).unwrap() == base,
            "{}",
            env.driver.name()
        );
        assert!(
            diff_tar(s, c.chain_id()).unwrap() == child,
            "{}",
            env.driver.name()
        );
    }
}

#[test]
fn stacked_root_shows_whiteouts_applied() {
    for env in envs() {
        let s = env.store();
        let b = register(s, &base_tar(), None).unwrap();
        let c = register(s, &child_tar(), Some(b.chain_id())).unwrap();
        s.create_rw("ctr1", Some(c.chain_id()), &|_| Ok(()))
            .unwrap();
        let root = s.mount_rw("ctr1").unwrap();
        assert_eq!(
            fs::read(root.join("etc/passwd")).unwrap(),
            b"root:x:0:0::/root:/bin/sh\n"
        );
        assert!(!root.join("etc/gone").exists(), "{}", env.driver.name());
        assert!(!root.join("opt/old").exists(), "{}", env.driver.name());
        assert_eq!(fs::read(root.join("opt/new")).unwrap(), b"new");
        assert_eq!(fs::read(root.join("etc/motd")).unwrap(), b"hello");
        s.unmount_rw("ctr1").unwrap();
        s.remove_rw("ctr1").unwrap();
    }
}

#[test]
fn rebuilt_tar_keeps_pax_devices_and_trailing_bytes() {
    for env in envs() {
        let s = env.store();
        let mut tar = TarBuilder::new()
            .pax(&[(
                b"path",
                format!("{}/{}", "a".repeat(120), "b".repeat(120)).as_bytes(),
            )])
            .file("x", b"long-named content")
            .device("dev/null", b'3', 1, 3)
            .file("dup", b"first")
            .finish();
        tar.extend_from_slice(&[0u8; 10_240]);
        let l = register(s, &tar, None).unwrap();
        assert!(diff_tar(s, l.chain_id()).unwrap() == tar);
    }
}

#[test]
fn tampered_layer_data_is_reported_corrupt() {
    let env = vfs_env();
    let s = env.store();
    let l = register(s, &base_tar(), None).unwrap();
    let file = env.driver.diff_dir(&l.info().cache_id).join("etc/passwd");
    let len = fs::metadata(&file).unwrap().len() as usize;
    fs::write(&file, vec![b'x'; len]).unwrap();
    assert!(matches!(
        diff_tar(s, l.chain_id()),
        Err(LayerError::Corrupt(_))
    ));
    fs::remove_file(&file).unwrap();
    assert!(matches!(
        diff_tar(s, l.chain_id()),
        Err(LayerError::Corrupt(_))
    ));
}

#[test]
fn same_layer_twice_is_stored_once() {
    for env in envs() {
        let s = env.store();
        let a = register(s, &base_tar(), None).unwrap();
        let b = register(s, &gzip(&base_tar()), None).unwrap();
        assert_eq!(a.info(), b.info());
        assert_eq!(env.driver.list().unwrap().len(), 1);
        assert_eq!(env.tmp_entries(), 0);
    }
}

#[test]
fn progress_reports_compressed_bytes() {
    let env = vfs_env();
    let gz = gzip(&base_tar());
    let mut seen = Vec::new();
    let mut input = &gz[..];
    env.store()
        .register(&mut input, None, &mut |n| seen.push(n))
        .unwrap();
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seen.last().copied(), Some(gz.len() as u64));
}

#[test]
fn missing_parent_is_not_found() {
    let env = vfs_env();
    let bogus = Digest::of(b"nothing");
    assert!(matches!(
        register(env.store(), &base_tar(), Some(&bogus)),
        Err(LayerError::NotFound(_))
    ));
    assert!(env.driver.list().unwrap().is_empty());
}

/// Yields `limit` bytes of `data`, then fails like a dropped connection.
struct Dropping<'a> {
    data: &'a [u8],
    limit: usize,
}

impl Read for Dropping<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.limit == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            ));
        }
        let n = buf.len().min(self.limit).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.limit -= n;
        Ok(n)
    }
}

fn assert_nothing_left(env: &Env) {
    assert!(
        env.driver.list().unwrap().is_empty(),
        "driver dirs left: {:?}",
        env.driver.list()
    );
    assert_eq!(env.tmp_entries(), 0);
    assert!(env.store().all().is_empty());
    assert_eq!(
        fs::read_dir(env.root.join("layerdb/sha256"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn bad_input_is_invalid_archive_and_leaves_nothing() {
    for env in envs() {
        let s = env.store();
        let tar = base_tar();
        let gz = gzip(&tar);
        let cases: Vec<Vec<u8>> = vec![
            tar[..tar.len() / 2].to_vec(),
            gz[..gz.len() / 2].to_vec(),
            b"\x1f\x8bgarbage garbage garbage".to_vec(),
            vec![0x55; 4096],
            b"BZh91AY&SY".to_vec(),
        ];
        for case in cases {
            match register(s, &case, None) {
                Err(LayerError::InvalidArchive(msg)) => {
                    assert!(msg.starts_with("invalid layer archive"), "{msg}")
                }
                other => panic!("expected InvalidArchive, got {other:?}"),
            }
            assert_nothing_left(&env);
        }
        let mut input = Dropping {
            data: &gz,
            limit: gz.len() / 3,
        };
        let err = s.register(&mut input, None, &mut |_| {}).unwrap_err();
        assert!(matches!(err, LayerError::InvalidArchive(_)), "{err:?}");
        assert!(err.to_string().contains("connection reset"), "{err}");
        assert_nothing_left(&env);
    }
}

#[test]
fn interrupted_register_is_swept_on_open() {
    for mut env in envs() {
        let gz = gzip(&base_tar());
        let mut input = Dropping {
            data: &gz,
            limit: gz.len() / 2,
        };
        SIMULATE_CRASH.with(|c| c.set(true));
        let r = env.store().register(&mut input, None, &mut |_| {});
        SIMULATE_CRASH.with(|c| c.set(false));
        assert!(r.is_err());
        // What a crash leaves: the driver dir and the temporary entry.
        assert_eq!(env.driver.list().unwrap().len(), 1);
        assert_eq!(env.tmp_entries(), 1);
        env.reopen();
        assert_nothing_left(&env);
    }
}

#[test]
fn layers_survive_reopen() {
    for mut env in envs() {
        let b = register(env.store(), &base_tar(), None)
            .unwrap()
            .info()
            .clone();
        let c = register(env.store(), &child_tar(), Some(&b.chain_id))
            .unwrap()
            .info()
            .clone();
        env.reopen();
        assert_eq!(env.store().get(&b.chain_id).unwrap(), b);
        assert_eq!(env.store().get(&c.chain_id).unwrap(), c);
        assert!(diff_tar(env.store(), &c.chain_id).unwrap() == child_tar());
    }
}

#[test]
fn gc_keeps_live_pinned_and_container_layers() {
    for env in envs() {
        let s = env.store();
        let a = register(s, &base_tar(), None).unwrap().info().clone();
        let b = register(s, &child_tar(), Some(&a.chain_id))
            .unwrap()
            .info()
            .clone();
        let other = register(s, &TarBuilder::new().file("o", b"o").finish(), None)
            .unwrap()
            .info()
            .clone();
        let pinned = register(s, &TarBuilder::new().file("p", b"p").finish(), None).unwrap();
        let under_ctr = register(s, &TarBuilder::new().file("c", b"c").finish(), None)
            .unwrap()
            .info()
            .clone();
        s.create_rw("ctr", Some(&under_ctr.chain_id), &|_| Ok(()))
            .unwrap();

        let removed = s.gc(std::slice::from_ref(&b.chain_id)).unwrap();
        assert_eq!(removed, vec![other.chain_id.clone()]);
        assert!(s.exists(&a.chain_id) && s.exists(&b.chain_id) && s.exists(pinned.chain_id()));
        assert!(!env.driver.exists(&other.cache_id));
        assert!(s.exists(&under_ctr.chain_id));

        let pinned_id = pinned.chain_id().clone();
        drop(pinned);
        s.remove_rw("ctr").unwrap();
        let mut removed = s.gc(&[]).unwrap();
        removed.sort();
        let mut expected = vec![a.chain_id, b.chain_id, pinned_id, under_ctr.chain_id];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(env.driver.list().unwrap().is_empty());
        assert_eq!(env.tmp_entries(), 0);
    }
}

#[test]
fn container_rw_layers() {
    for mut env in envs() {
        let base = register(env.store(), &base_tar(), None)
            .unwrap()
            .info()
            .clone();
        let s = env.store();
        s.create_rw("c1", Some(&base.chain_id), &|root| {
            fs::create_dir_all(root.join("etc"))?;
            fs::write(root.join("etc/hostname"), b"c1\n")?;
            fs::write(root.join(".dockerenv"), b"")
        })
        .unwrap();
        assert!(matches!(
            s.create_rw("c1", None, &|_| Ok(())),
            Err(LayerError::Conflict(_))
        ));
        let failing = s.create_rw("c2", Some(&base.chain_id), &|_| {
            Err(io::Error::other("init failed"))
        });
        assert!(failing.is_err());
        assert_eq!(s.rw_ids(), vec!["c1".to_string()]);
        assert_eq!(env.driver.list().unwrap().len(), 3, "{}", env.driver.name());

        let root = s.mount_rw("c1").unwrap();
        let again = s.mount_rw("c1").unwrap();
        assert_eq!(root, again);
        assert_eq!(fs::read(root.join("etc/hostname")).unwrap(), b"c1\n");
        assert!(root.join("etc/passwd").exists());
        fs::write(root.join("newfile"), vec![1u8; 12_345]).unwrap();
        assert_eq!(s.rw_size("c1").unwrap(), 12_345, "{}", env.driver.name());
        s.unmount_rw("c1").unwrap();
        // Still mounted for the second user.
        assert!(root.join("newfile").exists());
        s.unmount_rw("c1").unwrap();
        assert_eq!(s.rw_parent("c1").unwrap(), Some(base.chain_id.clone()));

        env.reopen();
        let s = env.store();
        assert_eq!(s.rw_ids(), vec!["c1".to_string()]);
        let root = s.mount_rw("c1").unwrap();
        assert_eq!(fs::read(root.join("newfile")).unwrap().len(), 12_345);
        s.unmount_rw("c1").unwrap();
        s.remove_rw("c1").unwrap();
        assert!(s.rw_ids().is_empty());
        assert!(matches!(s.mount_rw("c1"), Err(LayerError::NotFound(_))));
        assert_eq!(env.driver.list().unwrap().len(), 1);
        assert!(matches!(
            s.create_rw("../x", None, &|_| Ok(())),
            Err(LayerError::InvalidParameter(_))
        ));
    }
}

#[test]
fn paths_written_twice_still_rebuild_exactly() {
    for env in envs() {
        let s = env.store();
        let tar = TarBuilder::new()
            .file("a", b"first version")
            .hardlink("keep", "a")
            .file("a", b"second, longer version")
            .dir("d/")
            .file("d/f", b"inside a directory that goes away")
            .file("d/g", b"also inside")
            .file("d", b"now d is a file")
            .file("w", b"whited out in the same layer")
            .file(".wh.w", b"")
            .file("a", b"third")
            .finish();
        let l = register(s, &tar, None).unwrap();
        let root = env.driver.diff_dir(&l.info().cache_id);
        assert_eq!(fs::read(root.join("a")).unwrap(), b"third");
        assert_eq!(fs::read(root.join("keep")).unwrap(), b"first version");
        assert_eq!(fs::read(root.join("d")).unwrap(), b"now d is a file");
        assert!(
            diff_tar(s, l.chain_id()).unwrap() == tar,
            "{}",
            env.driver.name()
        );
    }
}

#[test]
fn crash_during_gc_or_rw_removal_is_swept_on_open() {
    for mut env in envs() {
        let l = register(env.store(), &base_tar(), None)
            .unwrap()
            .info()
            .clone();
        env.store()
            .create_rw("ctr", Some(&l.chain_id), &|_| Ok(()))
            .unwrap();
        assert_eq!(env.driver.list().unwrap().len(), 3);
        // gc and remove_rw first move records into tmp/, then remove data:
        // stop right after the move.
        let tmp = env.root.join("layerdb/tmp");
        fs::rename(
            env.root.join("layerdb/mounts/ctr"),
            tmp.join("remove-mount-x"),
        )
        .unwrap();
        env.reopen();
        assert!(env.store().rw_ids().is_empty());
        assert_eq!(env.driver.list().unwrap(), vec![l.cache_id.clone()]);
        fs::rename(
            env.root.join("layerdb/sha256").join(l.chain_id.hex()),
            tmp.join("remove-x"),
        )
        .unwrap();
        env.reopen();
        assert_nothing_left(&env);
    }
}

#[test]
fn store_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LayerStore>();
    assert_send_sync::<LayerRef>();
    for env in envs() {
        let s = env.store();
        let tar = gzip(&base_tar());
        let refs: Vec<LayerRef> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| register(s, &tar, None).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(refs.iter().all(|r| r.info() == refs[0].info()));
        assert_eq!(
            env.driver.list().unwrap(),
            vec![refs[0].info().cache_id.clone()]
        );
        assert_eq!(env.tmp_entries(), 0);
        // Pins are counted per guard: gc keeps the layer until the last one goes.
        let chain = refs[0].chain_id().clone();
        let mut refs = refs;
        refs.truncate(1);
        assert!(s.gc(&[]).unwrap().is_empty());
        drop(refs);
        assert_eq!(s.gc(&[]).unwrap(), vec![chain]);
    }
}
