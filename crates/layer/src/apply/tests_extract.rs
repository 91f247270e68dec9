//! Extraction into a directory inside a root: Docker's rules, and hostile
//! archives that must never write outside the extraction directory.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use super::*;
use crate::inroot::open_root;
use crate::testutil::{Spec, TarBuilder, tree};

/// A root (the container's `/`) inside a sandbox holding files that must
/// stay untouched, with `/dest` as the usual extraction directory and a
/// precious file in the root outside of it.
struct Box {
    _dir: tempfile::TempDir,
    base: PathBuf,
    root: PathBuf,
    before: Vec<String>,
}

impl Box {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_path_buf();
        let root = base.join("root");
        fs::create_dir_all(root.join("dest")).unwrap();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/passwd"), b"container").unwrap();
        fs::write(base.join("outside"), b"precious").unwrap();
        let before = tree(&base);
        Self {
            _dir: dir,
            base,
            root,
            before,
        }
    }

    fn fd(&self) -> OwnedFd {
        open_root(&self.root).unwrap()
    }

    fn extract(&self, dir: &str, tar: &[u8], options: ExtractOptions) -> Result<ExtractOutcome> {
        let root = self.fd();
        let mut input = tar;
        extract_tar(root.as_fd(), dir.as_bytes(), &mut input, &options)
    }

    /// Nothing changed outside `root/<dir>`.
    fn assert_only_below(&self, dir: &str) {
        let prefix = format!("root/{dir}");
        let keep = |p: &String| !p.starts_with(&format!("{prefix}/")) && *p != prefix;
        let now: Vec<String> = tree(&self.base).into_iter().filter(keep).collect();
        let before: Vec<String> = self.before.iter().filter(|p| keep(p)).cloned().collect();
        assert_eq!(now, before, "entries outside root/{dir} changed");
        assert_eq!(fs::read(self.base.join("outside")).unwrap(), b"precious");
        assert_eq!(
            fs::read(self.root.join("etc/passwd")).unwrap(),
            b"container"
        );
    }
}

fn invalid_msg(r: Result<ExtractOutcome>) -> String {
    match r {
        Err(e @ LayerError::InvalidArchive(_)) => e.to_string(),
        other => panic!("expected InvalidArchive, got {other:?}"),
    }
}

#[test]
fn files_dirs_links_owners_and_implied_dirs() {
    let b = Box::new();
    let mut f = Spec::new("a/b/file", b'0');
    f.uid = 1000;
    f.gid = 1001;
    f.mode = 0o4750;
    let mut d = Spec::new("d/", b'5');
    d.mode = 0o711;
    d.mtime = 1_111_111_111;
    let tar = TarBuilder::new()
        .entry(&f, b"hello")
        .entry(&d, b"")
        .symlink("d/link", "/etc/passwd")
        .hardlink("d/hard", "a/b/file")
        .entry(&Spec::new("/abs", b'0'), b"x")
        .entry(&Spec::new("./", b'5'), b"")
        .finish();
    let out = b.extract("dest", &tar, ExtractOptions::default()).unwrap();
    assert_eq!(out.entries, 5);
    assert_eq!(out.bytes, 6);
    let r = b.root.join("dest");
    let m = fs::metadata(r.join("a/b/file")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 1001, 0o4750));
    assert_eq!(fs::read(r.join("a/b/file")).unwrap(), b"hello");
    // Implied directories: root-owned 0755.
    let a = fs::metadata(r.join("a")).unwrap();
    assert_eq!((a.uid(), a.mode() & 0o7777), (0, 0o755));
    let dm = fs::metadata(r.join("d")).unwrap();
    assert_eq!((dm.mode() & 0o7777, dm.mtime()), (0o711, 1_111_111_111));
    assert_eq!(
        fs::read_link(r.join("d/link")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert_eq!(fs::metadata(r.join("d/hard")).unwrap().ino(), m.ino());
    assert_eq!(fs::read(r.join("abs")).unwrap(), b"x");
    // The extraction directory itself is left as it was.
    assert_eq!(fs::metadata(&r).unwrap().mode() & 0o7777, 0o755);
    b.assert_only_below("dest");

    // An owner for everything (the container's user, or root).
    let b = Box::new();
    let opts = ExtractOptions {
        owner: Some((7, 8)),
        ..Default::default()
    };
    b.extract("dest", &tar, opts).unwrap();
    let m = fs::metadata(b.root.join("dest/a/b/file")).unwrap();
    assert_eq!((m.uid(), m.gid()), (7, 8));
    let l = fs::symlink_metadata(b.root.join("dest/d/link")).unwrap();
    assert_eq!((l.uid(), l.gid()), (7, 8));
}

#[test]
fn no_overwrite_dir_non_dir() {
    let b = Box::new();
    fs::create_dir_all(b.root.join("dest/adir/keep")).unwrap();
    fs::write(b.root.join("dest/afile"), b"1").unwrap();
    let opts = ExtractOptions {
        no_overwrite_dir_non_dir: true,
        ..Default::default()
    };
    let tar = TarBuilder::new().file("adir", b"x").finish();
    match b.extract("dest", &tar, opts) {
        Err(LayerError::Conflict(m)) => {
            assert!(m.contains("cannot overwrite directory"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let tar = TarBuilder::new().dir("afile/").finish();
    match b.extract("dest", &tar, opts) {
        Err(LayerError::Conflict(m)) => {
            assert!(m.contains("cannot overwrite non-directory"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert!(b.root.join("dest/adir/keep").is_dir());
    // Dir over dir merges; file over file replaces.
    let tar = TarBuilder::new()
        .dir("adir/")
        .file("adir/new", b"n")
        .file("afile", b"2")
        .finish();
    b.extract("dest", &tar, opts).unwrap();
    assert!(b.root.join("dest/adir/keep").is_dir());
    assert_eq!(fs::read(b.root.join("dest/afile")).unwrap(), b"2");
    // Without the option, a file replaces a directory (and the reverse).
    let tar = TarBuilder::new().file("adir", b"x").dir("afile/").finish();
    b.extract("dest", &tar, ExtractOptions::default()).unwrap();
    assert!(b.root.join("dest/adir").is_file());
    assert!(b.root.join("dest/afile").is_dir());
}

#[test]
fn climbing_names_are_refused() {
    let b = Box::new();
    for name in ["../escape", "a/../../escape", "./../etc/passwd"] {
        let tar = TarBuilder::new().file(name, b"evil").finish();
        let msg = invalid_msg(b.extract("dest", &tar, ExtractOptions::default()));
        assert!(msg.contains("outside"), "{name}: {msg}");
    }
    // Absolute names are relative to the extraction directory.
    let tar = TarBuilder::new().file("/etc/passwd", b"evil").finish();
    b.extract("dest", &tar, ExtractOptions::default()).unwrap();
    assert_eq!(fs::read(b.root.join("dest/etc/passwd")).unwrap(), b"evil");
    b.assert_only_below("dest");
}

#[test]
fn symlinks_in_the_archive_cannot_lead_out() {
    for target in ["/", "..", "../..", "../../../../..", "/etc", "/../.."] {
        let b = Box::new();
        let tar = TarBuilder::new()
            .symlink("evil", target)
            .file("evil/passwd", b"evil")
            .file("evil/new", b"evil")
            .finish();
        let msg = invalid_msg(b.extract("dest", &tar, ExtractOptions::default()));
        assert!(
            msg.contains("outside of the extraction directory"),
            "{target}: {msg}"
        );
        b.assert_only_below("dest");
        assert!(!b.root.join("new").exists() && !b.root.join("etc/new").exists());
    }
    // Into the root itself, a link to `/` stays in the root (the
    // container's, never the host's).
    let b = Box::new();
    let tar = TarBuilder::new()
        .symlink("evil", "/")
        .file("evil/planted", b"x")
        .finish();
    b.extract("", &tar, ExtractOptions::default()).unwrap();
    assert_eq!(fs::read(b.root.join("planted")).unwrap(), b"x");
    assert!(!Path::new("/planted").exists());
    assert_eq!(fs::read(b.base.join("outside")).unwrap(), b"precious");
}

#[test]
fn existing_symlinks_in_the_container_cannot_lead_out() {
    let b = Box::new();
    symlink("/", b.root.join("dest/evil")).unwrap();
    symlink("/etc", b.root.join("dest/etc-link")).unwrap();
    symlink("../../..", b.root.join("dest/up")).unwrap();
    for name in ["evil/x", "etc-link/passwd", "up/outside", "up/x/y"] {
        let tar = TarBuilder::new().file(name, b"evil").finish();
        let msg = invalid_msg(b.extract("dest", &tar, ExtractOptions::default()));
        assert!(msg.contains("outside"), "{name}: {msg}");
    }
    b.assert_only_below("dest");
    // An absolute link that stays below the extraction directory is
    // followed, as the container would follow it.
    fs::create_dir(b.root.join("dest/data")).unwrap();
    symlink("/dest/data", b.root.join("dest/inside")).unwrap();
    let tar = TarBuilder::new().file("inside/f", b"ok").finish();
    b.extract("dest", &tar, ExtractOptions::default()).unwrap();
    assert_eq!(fs::read(b.root.join("dest/data/f")).unwrap(), b"ok");
    // And the extraction directory reached through a symlink works.
    symlink("/dest", b.root.join("alias")).unwrap();
    let root = b.fd();
    let tar = TarBuilder::new().file("viaalias", b"ok").finish();
    let mut input = &tar[..];
    extract_tar(
        root.as_fd(),
        b"alias",
        &mut input,
        &ExtractOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read(b.root.join("dest/viaalias")).unwrap(), b"ok");
}

#[test]
fn hard_links_cannot_reach_out() {
    let b = Box::new();
    for target in ["../etc/passwd", "../../outside", "a/../../etc/passwd"] {
        let tar = TarBuilder::new().hardlink("h", target).finish();
        let msg = invalid_msg(b.extract("dest", &tar, ExtractOptions::default()));
        assert!(msg.contains("outside"), "{target}: {msg}");
    }
    // Absolute targets are inside the extraction directory too.
    let tar = TarBuilder::new().hardlink("h", "/etc/passwd").finish();
    let msg = invalid_msg(b.extract("dest", &tar, ExtractOptions::default()));
    assert!(msg.contains("does not exist"), "{msg}");
    // Through a symlink (archived or existing) pointing out.
    let tar = TarBuilder::new()
        .symlink("l", "/etc")
        .hardlink("h", "l/passwd")
        .finish();
    let msg = invalid_msg(b.extract("dest", &tar, ExtractOptions::default()));
    assert!(msg.contains("outside"), "{msg}");
    b.assert_only_below("dest");
    assert_eq!(fs::metadata(b.root.join("etc/passwd")).unwrap().nlink(), 1);
}

#[test]
fn devices_are_skipped_and_fifos_made() {
    let b = Box::new();
    let tar = TarBuilder::new()
        .device("null", b'3', 1, 3)
        .device("sda", b'4', 8, 0)
        .device("wh", b'3', 0, 0)
        .entry(&Spec::new("pipe", b'6'), b"")
        .finish();
    let out = b.extract("dest", &tar, ExtractOptions::default()).unwrap();
    assert_eq!((out.entries, out.skipped), (1, 3));
    assert!(!b.root.join("dest/null").exists());
    assert!(!b.root.join("dest/sda").exists());
    assert!(fs::symlink_metadata(b.root.join("dest/wh")).is_err());
    use std::os::unix::fs::FileTypeExt;
    assert!(
        fs::symlink_metadata(b.root.join("dest/pipe"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    b.assert_only_below("dest");
}

#[test]
fn whiteout_names_are_plain_files() {
    let b = Box::new();
    fs::write(b.root.join("dest/victim"), b"keep").unwrap();
    let tar = TarBuilder::new()
        .file(".wh.victim", b"")
        .file(".wh..wh..opq", b"")
        .finish();
    b.extract("dest", &tar, ExtractOptions::default()).unwrap();
    assert_eq!(fs::read(b.root.join("dest/victim")).unwrap(), b"keep");
    assert!(b.root.join("dest/.wh.victim").is_file());
}

#[test]
fn a_missing_or_file_destination_fails() {
    let b = Box::new();
    let tar = TarBuilder::new().file("x", b"x").finish();
    assert!(b.extract("nope", &tar, ExtractOptions::default()).is_err());
    assert!(
        b.extract("etc/passwd", &tar, ExtractOptions::default())
            .is_err()
    );
    let perms = fs::metadata(b.root.join("dest"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(perms & 0o777, 0o755);
}
