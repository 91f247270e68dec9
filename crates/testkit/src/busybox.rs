//! Test images from Debian's `busybox-static`: a root filesystem tarball
//! with `/bin/busybox`, a link per applet, and minimal `/etc` files.

use std::path::Path;
use std::process::Command;

/// Where Debian's `busybox-static` installs the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// True when the static busybox is installed.
pub fn available() -> bool {
    Path::new(BUSYBOX).exists()
}

/// An uncompressed rootfs tarball of a busybox image.
pub fn rootfs_tar() -> Vec<u8> {
    let binary = std::fs::read(BUSYBOX)
        .unwrap_or_else(|e| panic!("{BUSYBOX} is missing ({e}): install Debian's busybox-static"));
    let list = Command::new(BUSYBOX)
        .arg("--list-full")
        .output()
        .unwrap_or_else(|e| panic!("running {BUSYBOX} --list-full: {e}"));
    let applets = String::from_utf8_lossy(&list.stdout).into_owned();

    let mut b = tar::Builder::new(Vec::new());
    let dirs = [
        ("bin", 0o755),
        ("dev", 0o755),
        ("etc", 0o755),
        ("home", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
        ("sbin", 0o755),
        ("sys", 0o555),
        ("tmp", 0o1777),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("var", 0o755),
        ("var/www", 0o755),
    ];
    for (dir, mode) in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        h.set_size(0);
        append(&mut b, &mut h, &format!("{dir}/"), &[][..]);
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o755);
    h.set_mtime(1_700_000_000);
    h.set_size(binary.len() as u64);
    append(&mut b, &mut h, "bin/busybox", &binary[..]);

    let files = [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
        ),
        (
            "etc/group",
            "root:x:0:\ndaemon:x:1:\nwheel:x:10:root\nwww-data:x:33:\nnogroup:x:65534:\n",
        ),
        ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
    ];
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(if path.ends_with("shadow") {
            0o640
        } else {
            0o644
        });
        h.set_mtime(1_700_000_000);
        h.set_size(content.len() as u64);
        append(&mut b, &mut h, path, content.as_bytes());
    }
    for applet in applets.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if applet == "bin/busybox" {
            continue;
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_mtime(1_700_000_000);
        h.set_size(0);
        b.append_link(&mut h, applet, "/bin/busybox")
            .unwrap_or_else(|e| panic!("adding {applet}: {e}"));
    }
    b.into_inner()
        .unwrap_or_else(|e| panic!("finishing busybox tar: {e}"))
}

fn append(b: &mut tar::Builder<Vec<u8>>, h: &mut tar::Header, path: &str, data: &[u8]) {
    b.append_data(h, path, data)
        .unwrap_or_else(|e| panic!("adding {path}: {e}"));
}

/// A small tarball holding the given files (path, content), for layers and
/// import tests.
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        append(&mut b, &mut h, path, data);
    }
    b.into_inner()
        .unwrap_or_else(|e| panic!("finishing tar: {e}"))
}

/// Gzip-compresses bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap_or_else(|e| panic!("gzip: {e}"));
    enc.finish().unwrap_or_else(|e| panic!("gzip: {e}"))
}
