//! Extracting an archive from a container into the local filesystem
//! (go-archive's `CopyTo`/`Untar` with `NoLchown` and
//! `NoOverwriteDirNonDir`): never outside the destination, never through
//! a symbolic link the archive planted.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use super::paths::{asserts_directory, join, rebase, split_dir_entry};

/// What the destination is (`CopyInfoDestinationPath`).
#[derive(Debug, Clone, PartialEq)]
pub struct DestInfo {
    pub path: String,
    pub exists: bool,
    pub is_dir: bool,
}

fn err(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

/// Follows symbolic links at `path` (ten at most); a missing path needs
/// an existing parent directory.
pub fn dest_info(path: &str) -> io::Result<DestInfo> {
    let original = path.to_string();
    let mut path = path.to_string();
    let mut stat = fs::symlink_metadata(&path);
    let mut n = 0;
    while let Ok(m) = &stat {
        if !m.file_type().is_symlink() {
            break;
        }
        n += 1;
        if n > 10 {
            return Err(err(format!("too many symlinks in {original}")));
        }
        let target = fs::read_link(&path)?.to_string_lossy().into_owned();
        path = if target.starts_with('/') {
            target
        } else {
            join(&split_dir_entry(&path).0, &target)
        };
        stat = fs::symlink_metadata(&path);
    }
    match stat {
        Ok(m) => Ok(DestInfo {
            path,
            exists: true,
            is_dir: m.is_dir(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = split_dir_entry(&path).0;
            if !fs::metadata(&parent)?.is_dir() {
                return Err(err("not a directory"));
            }
            Ok(DestInfo {
                path,
                exists: false,
                is_dir: false,
            })
        }
        Err(e) => Err(err(format!(
            "lstat {path}: {}",
            crate::error::os_error_text(&e)
        ))),
    }
}

/// `PrepareArchiveCopy`: where to extract and how to rename the entries
/// (`src_base` → the destination's base name).
pub fn prepare(
    src_path: &str,
    src_is_dir: bool,
    src_rebase: Option<&str>,
    dst: &DestInfo,
) -> io::Result<(String, Option<(String, String)>)> {
    let (dst_dir, dst_base) = split_dir_entry(&dst.path);
    let (_, mut src_base) = split_dir_entry(src_path);
    if let Some(r) = src_rebase {
        src_base = r.to_string();
    }
    if dst.exists && dst.is_dir {
        return Ok((dst.path.clone(), None));
    }
    if dst.exists && src_is_dir {
        return Err(err("cannot copy directory"));
    }
    if !dst.exists && !src_is_dir && asserts_directory(&dst.path) {
        return Err(err("no such directory"));
    }
    Ok((dst_dir, Some((src_base, dst_base))))
}

/// The entry name cleaned and checked to stay inside the destination.
fn safe_relative(name: &str) -> io::Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(err(format!(
                        "invalid path in archive: {name:?} is outside of the destination"
                    )));
                }
            }
            Component::Prefix(_) => return Err(err(format!("invalid path in archive: {name:?}"))),
        }
    }
    Ok(out)
}

/// Refuses a path whose parents (below `root`) include a symbolic link:
/// an archive could otherwise write anywhere through one it created.
fn check_parents(root: &Path, rel: &Path) -> io::Result<()> {
    let mut cur = root.to_path_buf();
    let parents: Vec<_> = rel.components().collect();
    for c in parents.iter().take(parents.len().saturating_sub(1)) {
        cur.push(c);
        if let Ok(m) = fs::symlink_metadata(&cur)
            && m.file_type().is_symlink()
        {
            return Err(err(format!(
                "refusing to extract through the symbolic link {}",
                cur.display()
            )));
        }
    }
    Ok(())
}

/// Extracts `archive` into `dst_dir`, renaming entries as `renames` says.
pub fn untar<R: Read>(
    archive: R,
    dst_dir: &str,
    renames: Option<&(String, String)>,
) -> io::Result<()> {
    let root = Path::new(dst_dir);
    let mut a = tar::Archive::new(archive);
    a.set_preserve_permissions(true);
    a.set_preserve_mtime(true);
    a.set_overwrite(true);
    let mut dirs = Vec::new();
    for entry in a.entries()? {
        let mut entry = entry?;
        let raw = entry.path()?.to_string_lossy().into_owned();
        let name = match renames {
            Some((old, new)) => rebase(&raw, old, new),
            None => raw,
        };
        let rel = safe_relative(&name)?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        check_parents(root, &rel)?;
        let path = root.join(&rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let kind = entry.header().entry_type();
        if let Ok(existing) = fs::symlink_metadata(&path) {
            let is_dir = existing.is_dir();
            if is_dir && !kind.is_dir() {
                return Err(err(format!(
                    "cannot overwrite directory {:?} with non-directory {:?}",
                    path.display().to_string(),
                    name
                )));
            }
            if !is_dir && kind.is_dir() {
                return Err(err(format!(
                    "cannot overwrite non-directory {:?} with directory {:?}",
                    path.display().to_string(),
                    name
                )));
            }
            if !is_dir {
                fs::remove_file(&path)?;
            }
        }
        match kind {
            tar::EntryType::Link => {
                let target = entry
                    .link_name()?
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let target = match renames {
                    Some((old, new)) => rebase(&target, old, new),
                    None => target,
                };
                let target = root.join(safe_relative(&target)?);
                fs::hard_link(&target, &path)?;
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            _ => {
                entry.unpack(&path)?;
                if kind.is_dir() {
                    dirs.push((path, entry.header().mtime().unwrap_or(0)));
                }
            }
        }
    }
    // Directory times last: extracting into them changed them.
    for (dir, mtime) in dirs.into_iter().rev() {
        set_mtime(&dir, mtime);
    }
    Ok(())
}

fn set_mtime(path: &Path, mtime: u64) {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return;
    };
    let t = libc::timespec {
        tv_sec: mtime as libc::time_t,
        tv_nsec: 0,
    };
    let times = [t, t];
    // SAFETY: a valid C path and two timespecs we own.
    unsafe {
        libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive with names written raw (the builder refuses `..`, a
    /// hostile archive does not).
    fn archive(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
            h.set_mtime(1_700_000_000);
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            let linked = matches!(kind, tar::EntryType::Symlink | tar::EntryType::Link);
            if linked {
                h.as_old_mut().linkname[..data.len()].copy_from_slice(data.as_bytes());
            }
            let body: &[u8] = if linked { &[] } else { data.as_bytes() };
            h.set_size(body.len() as u64);
            h.set_cksum();
            b.append(&h, body).unwrap();
        }
        b.into_inner().unwrap()
    }

    use tar::EntryType::{Directory, Link, Regular, Symlink};

    #[test]
    fn copies_with_docker_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_string_lossy().to_string();
        let data = archive(&[
            ("etc/", Directory, ""),
            ("etc/hosts", Regular, "h"),
            ("etc/h2", Link, "etc/hosts"),
        ]);

        // Into an existing directory: kept as `etc`.
        let dst = dest_info(&d).unwrap();
        let (to, renames) = prepare("/etc", true, None, &dst).unwrap();
        untar(&data[..], &to, renames.as_ref()).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("etc/hosts")).unwrap(),
            "h"
        );
        assert_eq!(fs::read_to_string(dir.path().join("etc/h2")).unwrap(), "h");

        // To a new name: the directory takes it.
        let dst = dest_info(&format!("{d}/conf")).unwrap();
        assert!(!dst.exists);
        let (to, renames) = prepare("/etc", true, None, &dst).unwrap();
        untar(&data[..], &to, renames.as_ref()).unwrap();
        assert!(dir.path().join("conf/hosts").is_file());

        // A file over an existing file takes its name.
        let file = archive(&[("hosts", Regular, "new")]);
        let dst = dest_info(&format!("{d}/etc/h2")).unwrap();
        let (to, renames) = prepare("/etc/hosts", false, None, &dst).unwrap();
        untar(&file[..], &to, renames.as_ref()).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("etc/h2")).unwrap(),
            "new"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("etc/hosts")).unwrap(),
            "h"
        );
    }

    #[test]
    fn docker_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_string_lossy().to_string();
        fs::write(dir.path().join("f"), "x").unwrap();
        let dst = dest_info(&format!("{d}/f")).unwrap();
        assert_eq!(
            prepare("/etc", true, None, &dst).unwrap_err().to_string(),
            "cannot copy directory"
        );
        let dst = dest_info(&format!("{d}/nodir/")).unwrap();
        assert_eq!(
            prepare("/etc/hosts", false, None, &dst)
                .unwrap_err()
                .to_string(),
            "no such directory"
        );
        assert_eq!(
            dest_info(&format!("{d}/f/x")).unwrap_err().to_string(),
            format!("lstat {d}/f/x: not a directory")
        );
        fs::create_dir(dir.path().join("sub")).unwrap();
        let data = archive(&[("sub", Regular, "x")]);
        let e = untar(&data[..], &d, None).unwrap_err().to_string();
        assert!(e.starts_with("cannot overwrite directory"), "{e}");
    }

    #[test]
    fn hostile_archives_stay_inside() {
        let outer = tempfile::tempdir().unwrap();
        let dest = outer.path().join("dest");
        fs::create_dir(&dest).unwrap();
        let d = dest.to_string_lossy().to_string();
        let escape = archive(&[("../evil", Regular, "x")]);
        assert!(untar(&escape[..], &d, None).is_err());
        assert!(!outer.path().join("evil").exists());
        let target = outer.path().to_string_lossy().to_string();
        let via_link = archive(&[("ln", Symlink, &target), ("ln/evil", Regular, "x")]);
        assert!(untar(&via_link[..], &d, None).is_err());
        assert!(!outer.path().join("evil").exists());
        let hard = archive(&[("h", Link, "../../etc/passwd")]);
        assert!(untar(&hard[..], &d, None).is_err());
    }
}
