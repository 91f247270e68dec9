//! Resolution inside a root, mount points, and the archive writer (read
//! back with the crate's own tar reader and with GNU tar).

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use super::*;
use crate::tar::{EntryKind, TarReader};

fn root_of(dir: &Path) -> OwnedFd {
    open_root(dir).unwrap()
}

#[test]
fn clean_is_lexical_and_rooted() {
    assert_eq!(clean(b"/a/./b/../c/"), b"a/c");
    assert_eq!(clean(b"../../x"), b"x");
    assert_eq!(clean(b"/"), b"");
    assert_eq!(clean(b"a//b/."), b"a/b");
}

#[test]
fn open_follows_inside_the_root_only() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/passwd"), b"inside").unwrap();
    symlink("/", r.join("etc/evil")).unwrap();
    symlink("../../../../etc", r.join("up")).unwrap();
    let root = root_of(r);
    // `/etc/evil/etc/passwd` is the container's, not the host's.
    let fd = open(root.as_fd(), b"/etc/evil/etc/passwd", true, false).unwrap();
    let st = fstat(fd.as_fd()).unwrap();
    assert_eq!(st.st_ino, fs::metadata(r.join("etc/passwd")).unwrap().ino());
    let fd = open(root.as_fd(), b"up/passwd", true, false).unwrap();
    assert_eq!(fstat(fd.as_fd()).unwrap().st_ino, st.st_ino);
    // Without following, the last symlink is itself.
    let fd = open(root.as_fd(), b"etc/evil", false, false).unwrap();
    assert!(is_symlink(&fstat(fd.as_fd()).unwrap()));
    assert_eq!(readlink(fd.as_fd()).unwrap(), b"/");
    // Following it gives the root.
    let fd = open(root.as_fd(), b"etc/evil", true, true).unwrap();
    assert_eq!(
        path_in_root(root.as_fd(), fd.as_fd()).unwrap().unwrap(),
        b"/"
    );
    let err = open(root.as_fd(), b"etc/passwd/x", true, false).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));
    let err = open(root.as_fd(), b"etc/passwd", true, true).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));
}

#[test]
fn follow_in_scope_like_docker() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fs::create_dir_all(r.join("usr/lib")).unwrap();
    symlink("usr/lib", r.join("lib")).unwrap();
    symlink("/usr/lib/../lib/x", r.join("abs")).unwrap();
    symlink("../../../../../..", r.join("climb")).unwrap();
    symlink("/nowhere/deeper", r.join("dangling")).unwrap();
    symlink("loop2", r.join("loop1")).unwrap();
    symlink("loop1", r.join("loop2")).unwrap();
    let root = root_of(r);
    let f = |p: &[u8]| follow_in_scope(root.as_fd(), p);
    assert_eq!(f(b"/lib").unwrap(), b"/usr/lib");
    assert_eq!(f(b"/lib/a/b").unwrap(), b"/usr/lib/a/b");
    assert_eq!(f(b"/abs").unwrap(), b"/usr/lib/x");
    assert_eq!(f(b"/climb").unwrap(), b"/");
    assert_eq!(f(b"/climb/etc/passwd").unwrap(), b"/etc/passwd");
    assert_eq!(f(b"/dangling").unwrap(), b"/nowhere/deeper");
    assert_eq!(f(b"/").unwrap(), b"/");
    assert_eq!(f(b"/loop1").unwrap_err().raw_os_error(), Some(libc::ELOOP));
}

#[test]
fn mount_points_are_created_inside() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let r = base.join("root");
    fs::create_dir_all(r.join("var")).unwrap();
    symlink("/run", r.join("var/run")).unwrap();
    symlink("/", r.join("escape")).unwrap();
    let root = root_of(&r);
    let fd = mount_point(root.as_fd(), b"/var/run/app/data", true).unwrap();
    assert!(is_dir(&fstat(fd.as_fd()).unwrap()));
    assert!(r.join("run/app/data").is_dir());
    let fd = mount_point(root.as_fd(), b"/escape/etc/hosts", false).unwrap();
    assert!(!is_dir(&fstat(fd.as_fd()).unwrap()));
    assert!(r.join("etc/hosts").is_file());
    assert!(!base.join("etc").exists());
    // Existing ones are just opened.
    mount_point(root.as_fd(), b"/var/run/app/data", true).unwrap();
}

/// (name, kind, link, size, content) of every entry.
type Listed = Vec<(String, EntryKind, String, Vec<u8>)>;

fn list(data: &[u8]) -> Listed {
    let mut input = data;
    let mut r = TarReader::new(&mut input, None);
    let mut out = Vec::new();
    while let Some(e) = r.next_entry().unwrap() {
        let mut content = Vec::new();
        r.copy_content(&mut content, &e.path).unwrap();
        out.push((
            String::from_utf8_lossy(&e.path).into_owned(),
            e.kind,
            String::from_utf8_lossy(&e.link).into_owned(),
            content,
        ));
    }
    out
}

fn names(l: &Listed) -> Vec<&str> {
    l.iter().map(|e| e.0.as_str()).collect()
}

fn sample(r: &Path) {
    fs::create_dir_all(r.join("app/sub")).unwrap();
    fs::write(r.join("app/b.txt"), b"bee").unwrap();
    fs::write(r.join("app/a.txt"), b"ay").unwrap();
    fs::hard_link(r.join("app/a.txt"), r.join("app/sub/z-hard")).unwrap();
    symlink("/etc/passwd", r.join("app/sub/link")).unwrap();
    let long = "l".repeat(150);
    fs::write(r.join("app").join(&long), b"long").unwrap();
}

#[test]
fn directory_archives_are_named_like_docker() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    sample(r);
    let root = root_of(r);
    let start = open(root.as_fd(), b"app", true, false).unwrap();
    let mut out = Vec::new();
    let sum = write_tar(start.as_fd(), b"app", &mut out).unwrap();
    let l = list(&out);
    let long = format!("app/{}", "l".repeat(150));
    assert_eq!(
        names(&l),
        vec![
            "app/",
            "app/a.txt",
            "app/b.txt",
            long.as_str(),
            "app/sub/",
            "app/sub/link",
            "app/sub/z-hard",
        ]
    );
    assert_eq!(sum.entries, 7);
    assert_eq!(sum.bytes, 2 + 3 + 4);
    assert_eq!(l[1].3, b"ay");
    assert_eq!(l[3].3, b"long");
    assert_eq!(
        (l[5].1, l[5].2.as_str()),
        (EntryKind::Symlink, "/etc/passwd")
    );
    assert_eq!(
        (l[6].1, l[6].2.as_str()),
        (EntryKind::HardLink, "app/a.txt")
    );

    // `app/.` names the contents `./...`, the root `/...`.
    let mut out = Vec::new();
    write_tar(start.as_fd(), b".", &mut out).unwrap();
    assert_eq!(names(&list(&out))[..3], ["./", "./a.txt", "./b.txt"]);
    let top = open(root.as_fd(), b"/", true, true).unwrap();
    let mut out = Vec::new();
    write_tar(top.as_fd(), b"/", &mut out).unwrap();
    assert_eq!(names(&list(&out))[..3], ["/", "/app/", "/app/a.txt"]);
}

#[test]
fn files_and_links_are_single_entries() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    sample(r);
    let root = root_of(r);
    let f = open(root.as_fd(), b"app/b.txt", false, false).unwrap();
    let mut out = Vec::new();
    write_tar(f.as_fd(), b"b.txt", &mut out).unwrap();
    let l = list(&out);
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].0.as_str(), l[0].1, l[0].3.as_slice()),
        ("b.txt", EntryKind::Regular, &b"bee"[..])
    );
    // A symlink to the host's /etc/passwd is archived as a link, never read.
    let f = open(root.as_fd(), b"app/sub/link", false, false).unwrap();
    let mut out = Vec::new();
    write_tar(f.as_fd(), b"link", &mut out).unwrap();
    let l = list(&out);
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].1, l[0].2.as_str()),
        (EntryKind::Symlink, "/etc/passwd")
    );
}

#[test]
fn gnu_tar_reads_the_archive() {
    let Ok(out) = std::process::Command::new("tar").arg("--version").output() else {
        eprintln!("no tar command: skipping");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("root");
    sample(&r);
    let root = root_of(&r);
    let start = open(root.as_fd(), b"app", true, false).unwrap();
    let archive = dir.path().join("a.tar");
    let mut file = fs::File::create(&archive).unwrap();
    write_tar(start.as_fd(), b"app", &mut file).unwrap();
    drop(file);
    let dest = dir.path().join("out");
    fs::create_dir(&dest).unwrap();
    let st = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&dest)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(fs::read(dest.join("app/b.txt")).unwrap(), b"bee");
    assert_eq!(
        fs::read(dest.join("app").join("l".repeat(150))).unwrap(),
        b"long"
    );
    let a = fs::metadata(dest.join("app/a.txt")).unwrap();
    let z = fs::metadata(dest.join("app/sub/z-hard")).unwrap();
    assert_eq!(a.ino(), z.ino());
}
