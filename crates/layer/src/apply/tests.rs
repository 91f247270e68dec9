//! Functional tests of layer application.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use super::*;
use crate::digest::Digest;
use crate::testutil::{Spec, TarBuilder, pax_record, tree};

pub fn apply_with(dir: &Path, data: &[u8], whiteouts: WhiteoutMode) -> Result<ApplyOutcome> {
    let mut input = data;
    apply_tar(
        dir,
        &mut input,
        ApplyOptions {
            whiteouts,
            sync: false,
        },
        None,
    )
}

fn apply(dir: &Path, data: &[u8]) -> Result<ApplyOutcome> {
    apply_with(dir, data, WhiteoutMode::Overlay)
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = sys::path_cstring(path).unwrap();
    let n = CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    let r = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if r < 0 {
        return None;
    }
    buf.truncate(r as usize);
    Some(buf)
}

#[test]
fn files_dirs_links_and_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let tar = TarBuilder::new()
        .dir("etc/")
        .file("etc/hostname", b"berth\n")
        .symlink("etc/alias", "hostname")
        .hardlink("etc/hard", "etc/hostname")
        .file("./bin/tool", b"#!/bin/sh\n")
        .finish();
    let out = apply(dir.path(), &tar).unwrap();
    assert_eq!(out.diff_id, Digest::of(&tar));
    assert_eq!(out.tar_size, tar.len() as u64);
    assert_eq!(out.written, 6 + 10);
    let root = dir.path();
    assert_eq!(fs::read(root.join("etc/hostname")).unwrap(), b"berth\n");
    assert_eq!(
        fs::read_link(root.join("etc/alias")).unwrap(),
        Path::new("hostname")
    );
    let a = fs::metadata(root.join("etc/hostname")).unwrap();
    let b = fs::metadata(root.join("etc/hard")).unwrap();
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.nlink(), 2);
    // bin/ had no entry of its own: created 0755.
    assert_eq!(
        fs::metadata(root.join("bin")).unwrap().permissions().mode() & 0o7777,
        0o755
    );
    assert_eq!(fs::read(root.join("bin/tool")).unwrap(), b"#!/bin/sh\n");
}

#[test]
fn modes_owners_and_times() {
    let dir = tempfile::tempdir().unwrap();
    let mut suid = Spec::new("usr/bin/su", b'0');
    suid.mode = 0o4755;
    suid.uid = 1000;
    suid.gid = 1001;
    suid.mtime = 1_234_567_890;
    let mut d = Spec::new("usr/", b'5');
    d.mode = 0o1777;
    d.uid = 7;
    d.mtime = 1_111_111_111;
    let mut l = Spec::new("usr/link", b'2');
    l.link = b"bin/su".to_vec();
    l.uid = 42;
    l.gid = 43;
    l.mtime = 1_000_000_000;
    let mut f = Spec::new("usr/fifo", b'6');
    f.mode = 0o640;
    f.uid = 5;
    let tar = TarBuilder::new()
        .entry(&d, b"")
        .entry(&suid, b"x")
        .entry(&l, b"")
        .entry(&f, b"")
        .finish();
    apply(dir.path(), &tar).unwrap();
    let root = dir.path();
    let m = fs::metadata(root.join("usr/bin/su")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o4755);
    assert_eq!((m.uid(), m.gid()), (1000, 1001));
    assert_eq!(m.mtime(), 1_234_567_890);
    let m = fs::metadata(root.join("usr")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o1777);
    assert_eq!(m.uid(), 7);
    // Set after its contents were created.
    assert_eq!(m.mtime(), 1_111_111_111);
    let m = fs::symlink_metadata(root.join("usr/link")).unwrap();
    assert!(m.file_type().is_symlink());
    assert_eq!((m.uid(), m.gid(), m.mtime()), (42, 43, 1_000_000_000));
    let m = fs::symlink_metadata(root.join("usr/fifo")).unwrap();
    assert!(m.file_type().is_fifo());
    assert_eq!((m.mode() & 0o7777, m.uid()), (0o640, 5));
}

#[test]
fn pax_metadata_xattrs_and_long_names() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("{}/{}", "d".repeat(120), "f".repeat(150));
    let long_target = "t".repeat(200);
    let tar = TarBuilder::new()
        .pax(&[
            (b"path", long.as_bytes()),
            (b"mtime", b"1500000000.25"),
            (b"uid", b"3000000"),
            (b"SCHILY.xattr.user.berth", b"yes"),
            (b"SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
        ])
        .file("ignored-short-name", b"long")
        .pax(&[(b"linkpath", long_target.as_bytes())])
        .symlink("lnk", "ignored")
        .gnu_long_name(format!("{}/gnu", "g".repeat(130)).as_bytes())
        .file("short", b"gnu")
        .finish();
    apply(dir.path(), &tar).unwrap();
    let p = dir.path().join(&long);
    assert_eq!(fs::read(&p).unwrap(), b"long");
    let m = fs::metadata(&p).unwrap();
    assert_eq!(m.mtime(), 1_500_000_000);
    assert_eq!(m.mtime_nsec(), 250_000_000);
    assert_eq!(m.uid(), 3_000_000);
    assert_eq!(xattr(&p, "user.berth").as_deref(), Some(&b"yes"[..]));
    assert_eq!(xattr(&p, "trusted.overlay.redirect"), None);
    assert_eq!(
        fs::read_link(dir.path().join("lnk"))
            .unwrap()
            .to_str()
            .unwrap(),
        long_target
    );
    assert_eq!(
        fs::read(dir.path().join("g".repeat(130)).join("gnu")).unwrap(),
        b"gnu"
    );
    assert!(!dir.path().join("ignored-short-name").exists());
}

#[test]
fn overlay_whiteouts() {
    let dir = tempfile::tempdir().unwrap();
    let tar = TarBuilder::new()
        .dir("a/")
        .file("a/.wh.gone", b"")
        .dir("o/")
        .file("o/.wh..wh..opq", b"")
        .file("o/kept", b"k")
        .file(".wh..wh.plnk", b"")
        .finish();
    apply(dir.path(), &tar).unwrap();
    let m = fs::symlink_metadata(dir.path().join("a/gone")).unwrap();
    assert!(m.file_type().is_char_device());
    assert_eq!(m.rdev(), 0);
    assert!(!dir.path().join("a/.wh.gone").exists());
    assert_eq!(
        xattr(&dir.path().join("o"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(!dir.path().join(".wh..wh.plnk").exists());
    assert!(!dir.path().join("o/.wh..wh..opq").exists());
}

#[test]
fn naive_whiteouts_and_opaque_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // What the parent layer left (a vfs copy).
    for p in [
        "a/gone",
        "a/stays",
        "o/old1",
        "o/sub/old2",
        "p/old",
        "q/old",
        "q/keep/old",
    ] {
        fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
        fs::write(root.join(p), b"lower").unwrap();
    }
    fs::create_dir_all(root.join("gonedir/deep")).unwrap();
    let tar = TarBuilder::new()
        .file("a/.wh.gone", b"")
        .file(".wh.gonedir", b"")
        // Marker before the layer's own files (Docker's order)...
        .file("o/.wh..wh..opq", b"")
        .file("o/new", b"n")
        // ...and after them.
        .file("p/new", b"n")
        .file("p/.wh..wh..opq", b"")
        .file("q/keep/new", b"n")
        .file("q/.wh..wh..opq", b"")
        // A whiteout of a file this same layer wrote does not apply.
        .file("a/mine", b"m")
        .file("a/.wh.mine", b"")
        .finish();
    apply_with(root, &tar, WhiteoutMode::Naive).unwrap();
    let t = tree(root);
    assert_eq!(
        t,
        [
            "a",
            "a/mine",
            "a/stays",
            "o",
            "o/new",
            "p",
            "p/new",
            "q",
            "q/keep",
            "q/keep/new"
        ],
        "{t:?}"
    );
}

#[test]
fn existing_entries_are_replaced_but_dirs_merge() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("d/sub")).unwrap();
    fs::write(root.join("d/sub/f"), b"old").unwrap();
    fs::write(root.join("f"), b"file").unwrap();
    fs::create_dir_all(root.join("x/y")).unwrap();
    let tar = TarBuilder::new()
        .dir("d/")
        .file("d/g", b"g")
        .dir("f/")
        .file("x", b"now a file")
        .symlink("d/sub/f", "target")
        .finish();
    apply_with(root, &tar, WhiteoutMode::Naive).unwrap();
    assert!(root.join("d/g").is_file());
    assert!(
        fs::symlink_metadata(root.join("d/sub/f"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(root.join("f").is_dir());
    assert_eq!(fs::read(root.join("x")).unwrap(), b"now a file");
}

#[test]
fn root_entry_sets_root_metadata_and_devices_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Spec::new("./", b'5');
    r.mode = 0o750;
    r.uid = 9;
    let tar = TarBuilder::new()
        .entry(&r, b"")
        .device("dev/null", b'3', 1, 3)
        .device("dev/sda", b'4', 8, 0)
        .file("ok", b"")
        .finish();
    apply(dir.path(), &tar).unwrap();
    let m = fs::metadata(dir.path()).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid()), (0o750, 9));
    assert!(!dir.path().join("dev/null").exists());
    assert!(!dir.path().join("dev/sda").exists());
    assert!(dir.path().join("ok").exists());
}

#[test]
fn trailing_bytes_are_hashed_and_unterminated_archives_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = TarBuilder::new().file("a", b"a").finish();
    tar.extend_from_slice(&[0u8; 4096]);
    tar.extend_from_slice(b"junk after the end");
    let out = apply(dir.path(), &tar).unwrap();
    assert_eq!(out.diff_id, Digest::of(&tar));
    assert_eq!(out.tar_size, tar.len() as u64);

    let dir = tempfile::tempdir().unwrap();
    let tar = TarBuilder::new().file("a", b"a").unterminated();
    let out = apply(dir.path(), &tar).unwrap();
    assert_eq!(out.diff_id, Digest::of(&tar));
    assert!(dir.path().join("a").exists());

    let dir = tempfile::tempdir().unwrap();
    let out = apply(dir.path(), b"").unwrap();
    assert_eq!(out.diff_id, Digest::of(b""));
}

#[test]
fn split_records_reproduce_the_stream() {
    use crate::tar::{Record, SplitReader, SplitWriter};
    let dir = tempfile::tempdir().unwrap();
    let long = format!("{}/{}", "p".repeat(150), "q".repeat(150));
    let tar = TarBuilder::new()
        .pax(&[(b"path", long.as_bytes())])
        .file("x", b"pax content")
        .dir("d/")
        .file("d/f", &vec![7u8; 5000])
        .file("d/empty", b"")
        .device("dev/null", b'3', 1, 3)
        .finish();
    let mut w = SplitWriter::new(Vec::new(), "test");
    let mut input = &tar[..];
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Overlay,
        sync: false,
    };
    apply_tar(dir.path(), &mut input, opts, Some(&mut w)).unwrap();
    let split = w.finish().unwrap();
    let mut r = SplitReader::new(&split[..]);
    let mut rebuilt = Vec::new();
    let mut files = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        match rec {
            Record::Raw(b) => rebuilt.extend(b),
            Record::File { path, size, .. } => {
                let data =
                    fs::read(dir.path().join(String::from_utf8(path.clone()).unwrap())).unwrap();
                assert_eq!(data.len() as u64, size);
                rebuilt.extend(data);
                files.push(String::from_utf8(path).unwrap());
            }
        }
    }
    assert_eq!(files, vec![long, "d/f".to_string()]);
    assert!(rebuilt == tar, "rebuilt stream differs");
}

#[test]
fn pax_record_helper_lengths() {
    for n in [1, 5, 90, 95, 96, 990, 995] {
        let r = pax_record(b"path", &vec![b'a'; n]);
        let len: usize = std::str::from_utf8(&r[..r.iter().position(|&b| b == b' ').unwrap()])
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, r.len());
    }
}
