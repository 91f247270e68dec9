//! Hostile archives: each case must be refused or contained, and nothing may
//! appear (or change) outside the layer directory.

use std::fs;
use std::path::{Path, PathBuf};

use super::tests::apply_with;
use super::*;
use crate::testutil::{Spec, TarBuilder, gzip, tree};

/// A sentinel directory holding the layer root and some outside files
/// that must stay untouched.
struct Sandbox {
    _dir: tempfile::TempDir,
    base: PathBuf,
    root: PathBuf,
    before: Vec<String>,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_path_buf();
        let root = base.join("root");
        fs::create_dir(&root).unwrap();
        fs::write(base.join("outside"), b"precious").unwrap();
        fs::create_dir(base.join("outside_dir")).unwrap();
        fs::write(base.join("outside_dir/file"), b"precious").unwrap();
        let before = tree(&base);
        Self {
            _dir: dir,
            base,
            root,
            before,
        }
    }

    fn apply(&self, tar: &[u8]) -> Result<ApplyOutcome> {
        self.apply_mode(tar, WhiteoutMode::Overlay)
    }

    fn apply_mode(&self, tar: &[u8], mode: WhiteoutMode) -> Result<ApplyOutcome> {
        apply_with(&self.root, tar, mode)
    }

    /// Nothing outside `root` was added, removed or changed.
    fn assert_contained(&self) {
        let now: Vec<String> = tree(&self.base)
            .into_iter()
            .filter(|p| !p.starts_with("root/"))
            .collect();
        let before: Vec<String> = self
            .before
            .iter()
            .filter(|p| !p.starts_with("root/"))
            .cloned()
            .collect();
        assert_eq!(now, before, "entries outside the layer root changed");
        assert_eq!(fs::read(self.base.join("outside")).unwrap(), b"precious");
        assert_eq!(
            fs::read(self.base.join("outside_dir/file")).unwrap(),
            b"precious"
        );
    }

    fn abs(&self, rel: &str) -> String {
        self.base.join(rel).to_string_lossy().into_owned()
    }
}

fn assert_invalid(r: Result<ApplyOutcome>) -> String {
    match r {
        Err(e @ LayerError::InvalidArchive(_)) => e.to_string(),
        other => panic!("expected InvalidArchive, got {other:?}"),
    }
}

/// A name that no other test or process uses, for host-level checks.
fn unique(tag: &str) -> String {
    format!("berth-hostile-{tag}-{}", std::process::id())
}

#[test]
fn dotdot_names_are_refused() {
    for name in ["../x", "a/../../x", "./../outside", "a/b/../../../outside"] {
        let s = Sandbox::new();
        let msg = assert_invalid(s.apply(&TarBuilder::new().file(name, b"evil").finish()));
        assert!(msg.contains("outside the layer"), "{msg}");
        s.assert_contained();
    }
}

#[test]
fn absolute_names_stay_inside() {
    let s = Sandbox::new();
    let name = format!("/{}/x", unique("abs"));
    let evil = s.abs("outside");
    s.apply(
        &TarBuilder::new()
            .file(&name, b"in")
            .file(&evil, b"in")
            .file("/../../y", b"in")
            .finish(),
    )
    .unwrap();
    assert!(!Path::new(&name).exists());
    assert_eq!(fs::read(s.root.join(&name[1..])).unwrap(), b"in");
    assert_eq!(fs::read(s.root.join(&evil[1..])).unwrap(), b"in");
    assert!(s.root.join("y").exists());
    s.assert_contained();
}

#[test]
fn symlink_to_root_then_write_through_it() {
    let host = unique("slash");
    for target in ["/".to_string(), "../../..".to_string(), "..".to_string()] {
        let s = Sandbox::new();
        let tar = TarBuilder::new()
            .symlink("s", &target)
            .file(&format!("s/{host}"), b"contained")
            .finish();
        s.apply(&tar).unwrap();
        assert!(!Path::new("/").join(&host).exists());
        assert_eq!(fs::read(s.root.join(&host)).unwrap(), b"contained");
        s.assert_contained();
    }
}

#[test]
fn symlink_to_outside_dir_then_write_through_it() {
    // Dangling inside the root: refused, nothing written.
    let s = Sandbox::new();
    let tar = TarBuilder::new()
        .symlink("s", &s.abs("outside_dir"))
        .file("s/file", b"evil")
        .finish();
    assert_invalid(s.apply(&tar));
    s.assert_contained();
    // Resolved as if the layer root were `/`: lands on the same path
    // inside the root.
    let s = Sandbox::new();
    let tar = TarBuilder::new()
        .dir(&format!("{}/", s.abs("outside_dir")))
        .symlink("s", &s.abs("outside_dir"))
        .file("s/file", b"evil")
        .file("s/new", b"evil")
        .finish();
    s.apply(&tar).unwrap();
    let inside = s.root.join(s.abs("outside_dir").trim_start_matches('/'));
    assert_eq!(fs::read(inside.join("file")).unwrap(), b"evil");
    assert_eq!(fs::read(inside.join("new")).unwrap(), b"evil");
    s.assert_contained();
}

#[test]
fn regular_file_replaces_symlink_instead_of_writing_through() {
    let s = Sandbox::new();
    let tar = TarBuilder::new()
        .symlink("f", &s.abs("outside"))
        .file("f", b"evil")
        .symlink("g", "../outside")
        .file("g", b"evil")
        .finish();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.root.join("f")).unwrap(), b"evil");
    assert!(fs::symlink_metadata(s.root.join("f")).unwrap().is_file());
    s.assert_contained();
}

#[test]
fn dir_replaced_by_symlink_mid_archive() {
    for target in ["outside_dir", "../outside_dir", "/"] {
        let s = Sandbox::new();
        let target = if target == "outside_dir" {
            s.abs("outside_dir")
        } else {
            target.to_string()
        };
        let tar = TarBuilder::new()
            .dir("d/")
            .file("d/a", b"first")
            .symlink("d", &target)
            .file("d/file", b"evil")
            .file("d/b", b"evil")
            .finish();
        let _ = s.apply(&tar);
        s.assert_contained();
    }
}

#[test]
fn symlink_to_parent_then_file_through_it() {
    let s = Sandbox::new();
    let tar = TarBuilder::new()
        .dir("sub/")
        .symlink("sub/up", "../..")
        .file("sub/up/outside", b"evil")
        .finish();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.root.join("outside")).unwrap(), b"evil");
    s.assert_contained();
    let s = Sandbox::new();
    let tar = TarBuilder::new()
        .symlink("up2", "../../../../outside_dir")
        .file("up2/file", b"evil")
        .finish();
    assert_invalid(s.apply(&tar));
    s.assert_contained();
}

#[test]
fn hard_links_out_of_the_layer_are_refused() {
    for target in ["/etc/passwd", "../outside", "a/../../outside", "missing"] {
        let s = Sandbox::new();
        let before = fs::metadata("/etc/passwd")
            .map(|m| std::os::unix::fs::MetadataExt::nlink(&m))
            .ok();
        let msg = assert_invalid(s.apply(&TarBuilder::new().hardlink("h", target).finish()));
        assert!(msg.contains("hard link"), "{msg}");
        assert!(!s.root.join("h").exists());
        let after = fs::metadata("/etc/passwd")
            .map(|m| std::os::unix::fs::MetadataExt::nlink(&m))
            .ok();
        assert_eq!(before, after);
        s.assert_contained();
    }
}

#[test]
fn hard_link_through_symlinked_dir_stays_inside() {
    let s = Sandbox::new();
    // `s` points at the real outside dir by absolute path; the link source
    // is resolved inside the root, where it does not exist.
    let tar = TarBuilder::new()
        .symlink("s", &s.abs("outside_dir"))
        .hardlink("h", "s/file")
        .finish();
    assert_invalid(s.apply(&tar));
    s.assert_contained();
}

#[test]
fn hard_link_to_symlink_links_the_symlink() {
    let s = Sandbox::new();
    let tar = TarBuilder::new()
        .symlink("s", &s.abs("outside"))
        .hardlink("h", "s")
        .file("h", b"evil")
        .finish();
    s.apply(&tar).unwrap();
    s.assert_contained();
}

#[test]
fn writing_a_hard_linked_name_replaces_it() {
    let s = Sandbox::new();
    let tar = TarBuilder::new()
        .file("a", b"original")
        .hardlink("h", "a")
        .file("h", b"new")
        .finish();
    s.apply(&tar).unwrap();
    assert_eq!(fs::read(s.root.join("a")).unwrap(), b"original");
    assert_eq!(fs::read(s.root.join("h")).unwrap(), b"new");
}

#[test]
fn device_nodes_are_skipped() {
    let s = Sandbox::new();
    let tar = TarBuilder::new()
        .device("null", b'3', 1, 3)
        .device("disk", b'4', 8, 0)
        .device("kmem", b'3', 1, 2)
        .finish();
    s.apply(&tar).unwrap();
    assert_eq!(tree(&s.root), Vec::<String>::new());
    s.assert_contained();
}

#[test]
fn long_names_with_dotdot_are_refused() {
    let climb = format!("{}outside", "../".repeat(60));
    let s = Sandbox::new();
    assert_invalid(
        s.apply(
            &TarBuilder::new()
                .pax(&[(b"path", climb.as_bytes())])
                .file("x", b"evil")
                .finish(),
        ),
    );
    assert_invalid(
        s.apply(
            &TarBuilder::new()
                .gnu_long_name(climb.as_bytes())
                .file("x", b"evil")
                .finish(),
        ),
    );
    assert_invalid(
        s.apply(
            &TarBuilder::new()
                .pax(&[(b"linkpath", climb.as_bytes())])
                .hardlink("h", "x")
                .finish(),
        ),
    );
    s.assert_contained();
}

#[test]
fn nul_in_names_is_refused() {
    let s = Sandbox::new();
    let msg = assert_invalid(
        s.apply(
            &TarBuilder::new()
                .pax(&[(b"path", b"a\0b")])
                .file("x", b"")
                .finish(),
        ),
    );
    assert!(msg.contains("NUL"), "{msg}");
    assert_invalid(
        s.apply(
            &TarBuilder::new()
                .gnu_long_name(b"a\0b/c")
                .file("x", b"")
                .finish(),
        ),
    );
    s.assert_contained();
}

#[test]
fn truncated_archives_are_invalid() {
    let full = TarBuilder::new()
        .file("a", &vec![1u8; 3000])
        .file("b", b"b")
        .finish();
    for cut in [100, 512 + 1000, 512 + 3072 + 10, full.len() - 1100] {
        let s = Sandbox::new();
        let msg = assert_invalid(s.apply(&full[..cut]));
        assert!(msg.contains("unexpected end"), "cut {cut}: {msg}");
        s.assert_contained();
    }
}

#[test]
fn bad_headers_are_invalid() {
    let s = Sandbox::new();
    let mut tar = TarBuilder::new().file("a", b"a").finish();
    tar[10] ^= 1;
    assert!(assert_invalid(s.apply(&tar)).contains("checksum"));
    let mut spec = Spec::new("big", b'0');
    spec.size = Some(1 << 50);
    assert!(
        assert_invalid(s.apply(&TarBuilder::new().entry(&spec, b"").finish()))
            .contains("too large")
    );
    assert_invalid(s.apply(&[0x42; 2048]));
    s.assert_contained();
}

#[test]
fn garbage_and_truncated_gzip_are_invalid() {
    let s = Sandbox::new();
    let apply_compressed = |data: &[u8]| -> Result<ApplyOutcome> {
        let (mut r, _) = crate::decompress::decompress(data)?;
        let opts = ApplyOptions {
            whiteouts: WhiteoutMode::Overlay,
            sync: false,
        };
        apply_tar(&s.root, &mut r, opts, None)
    };
    let mut garbage = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    garbage.extend_from_slice(b"this is not deflate data at all, not even close");
    let msg = assert_invalid(apply_compressed(&garbage));
    assert!(msg.contains("gzip"), "{msg}");
    let gz = gzip(&TarBuilder::new().file("a", &vec![9u8; 100_000]).finish());
    let msg = assert_invalid(apply_compressed(&gz[..gz.len() - 20]));
    assert!(msg.contains("gzip"), "{msg}");
    s.assert_contained();
}

#[test]
fn whiteouts_cannot_reach_outside() {
    for mode in [WhiteoutMode::Naive, WhiteoutMode::Overlay] {
        let s = Sandbox::new();
        let tar = TarBuilder::new()
            .symlink("s", &s.abs("outside_dir"))
            .file("s/.wh.file", b"")
            .symlink("up", "..")
            .file("up/.wh.outside", b"")
            .finish();
        let _ = s.apply_mode(&tar, mode);
        s.assert_contained();
        let tar = TarBuilder::new()
            .symlink("t", &s.abs("outside_dir"))
            .file("t/.wh..wh..opq", b"")
            .finish();
        let _ = s.apply_mode(&tar, mode);
        s.assert_contained();
        assert_invalid(s.apply_mode(&TarBuilder::new().file("a/.wh...", b"").finish(), mode));
    }
}

#[test]
fn symlink_loops_are_invalid() {
    let s = Sandbox::new();
    let tar = TarBuilder::new()
        .symlink("l", "l")
        .file("l/x", b"x")
        .finish();
    assert_invalid(s.apply(&tar));
    s.assert_contained();
}
