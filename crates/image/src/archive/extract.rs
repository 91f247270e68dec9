//! Safe unpacking of an image archive into a private temporary directory: regular files and directories with clean relative names only; links are remembered as aliases inside the archive, never created or followed on disk.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use berth_layer::decompress::InputError;

use crate::{ImageError, Result};

/// How deep in-archive links may chain.
const MAX_LINK_HOPS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    /// An alias of another entry, by normalised archive path.
    Link(String),
}

/// An unpacked archive. The directory is removed when this is dropped.
#[derive(Debug)]
pub struct Extracted {
    root: PathBuf,
    entries: HashMap<String, Kind>,
}

/// An error reading the archive stream: the client's fault.
pub(crate) fn input_error(err: io::Error) -> ImageError {
    let what = match err.get_ref().and_then(|e| e.downcast_ref::<InputError>()) {
        Some(tagged) => tagged.0.clone(),
        None if err.kind() == io::ErrorKind::UnexpectedEof => "unexpected end of archive".into(),
        None => err.to_string(),
    };
    ImageError::InvalidArchive(format!("invalid archive: {what}"))
}

/// Normalises a path inside the archive: `./a//b` → `a/b`. `None` for
/// absolute paths, `..` components and empty names.
pub fn normalize(name: &str) -> Option<String> {
    if name.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// Resolves `target` relative to the directory of `from` (both archive
/// paths), lexically; `None` when it leaves the archive.
fn resolve_relative(from: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

impl Extracted {
    /// Unpacks the (already decompressed) tar stream `input` into a new
    /// private directory under `tmp_dir`.
    pub fn unpack(input: &mut dyn Read, tmp_dir: &Path) -> Result<Self> {
        let root = make_private_dir(tmp_dir)?;
        let mut this = Extracted {
            root,
            entries: HashMap::new(),
        };
        this.unpack_entries(input)?;
        Ok(this)
    }

    fn unpack_entries(&mut self, input: &mut dyn Read) -> Result<()> {
        let mut archive = tar::Archive::new(input);
        let entries = archive.entries().map_err(input_error)?;
        let mut count = 0usize;
        for entry in entries {
            let mut entry = entry.map_err(input_error)?;
            count += 1;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let kind = entry.header().entry_type();
            use tar::EntryType as E;
            if matches!(
                kind,
                E::XGlobalHeader | E::XHeader | E::GNULongName | E::GNULongLink
            ) {
                continue;
            }
            if raw.trim_matches('/').trim_start_matches("./").is_empty()
                || raw == "."
                || raw == "./"
            {
                // The archive's root directory itself.
                continue;
            }
            let Some(name) = normalize(&raw) else {
                return Err(ImageError::InvalidArchive(format!(
                    "invalid archive: entry {raw:?} is not a clean relative path"
                )));
            };
            match kind {
                E::Regular | E::Continuous => {
                    let path = self.prepare(&name)?;
                    self.write_file(&path, &mut entry, &name)?;
                    self.entries.insert(name, Kind::File);
                }
                E::Directory => {
                    let path = self.prepare(&name)?;
                    match fs::symlink_metadata(&path) {
                        Ok(m) if m.is_dir() => {}
                        Ok(_) => {
                            return Err(ImageError::InvalidArchive(format!(
                                "invalid archive: directory {name:?} replaces a file"
                            )));
                        }
                        Err(_) => fs::DirBuilder::new()
                            .mode(0o700)
                            .create(&path)
                            .map_err(|e| {
                                ImageError::io(format!("creating {}", path.display()), e)
                            })?,
                    }
                    self.entries.insert(name, Kind::Dir);
                }
                E::Symlink | E::Link => {
                    let target = entry
                        .link_name_bytes()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    let resolved = if kind == E::Symlink {
                        resolve_relative(&name, &target)
                    } else {
                        normalize(&target)
                    };
                    // A link leaving the archive is kept as a dangling alias:
                    // it is only an error if something refers to it.
                    let alias = resolved.unwrap_or_default();
                    self.entries.insert(name, Kind::Link(alias));
                }
                other => {
                    tracing::debug!(entry = %name, kind = ?other, "ignoring special file in image archive");
                }
            }
        }
        if count == 0 {
            return Err(ImageError::InvalidArchive(
                "invalid archive: the archive is empty".into(),
            ));
        }
        Ok(())
    }

    /// The on-disk path for archive path `name`, with its parents created.
    fn prepare(&self, name: &str) -> Result<PathBuf> {
        let path = self.root.join(name);
        if let Some(parent) = path.parent()
            && parent != self.root
        {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|_| {
                    ImageError::InvalidArchive(format!(
                        "invalid archive: entry {name:?} is inside a file"
                    ))
                })?;
        }
        Ok(path)
    }

    fn write_file(&self, path: &Path, entry: &mut dyn Read, name: &str) -> Result<()> {
        if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(ImageError::InvalidArchive(format!(
                "invalid archive: file {name:?} replaces a directory"
            )));
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| ImageError::io(format!("creating {}", path.display()), e))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(input_error(e)),
            };
            file.write_all(&buf[..n])
                .map_err(|e| ImageError::io(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    }

    /// True when `name` is a file of the archive (through links).
    pub fn has_file(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    fn lookup(&self, name: &str) -> Option<String> {
        let mut cur = normalize(name)?;
        for _ in 0..MAX_LINK_HOPS {
            match self.entries.get(&cur)? {
                Kind::File => return Some(cur),
                Kind::Dir => return None,
                Kind::Link(target) if target.is_empty() => return None,
                Kind::Link(target) => cur = target.clone(),
            }
        }
        None
    }

    /// The on-disk path of file `name`, which `what` (e.g. "manifest.json")
    /// refers to. A name leaving the archive or missing is `InvalidArchive`.
    pub fn resolve(&self, name: &str, what: &str) -> Result<PathBuf> {
        if normalize(name).is_none() {
            return Err(ImageError::InvalidArchive(format!(
                "invalid archive: {what} refers to {name:?}, which is outside the archive"
            )));
        }
        match self.lookup(name) {
            Some(found) => Ok(self.root.join(found)),
            None => Err(ImageError::InvalidArchive(format!(
                "invalid archive: {what} refers to {name:?}, which is not in the archive"
            ))),
        }
    }

    /// Opens file `name` (see [`Extracted::resolve`]).
    pub fn open(&self, name: &str, what: &str) -> Result<(File, u64)> {
        let path = self.resolve(name, what)?;
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| ImageError::io(format!("opening {}", path.display()), e))?;
        let len = file
            .metadata()
            .map_err(|e| ImageError::io(format!("reading {}", path.display()), e))?
            .len();
        Ok((file, len))
    }

    /// Reads file `name` whole, refusing files larger than `limit`.
    pub fn read(&self, name: &str, what: &str, limit: u64) -> Result<Vec<u8>> {
        let (mut file, len) = self.open(name, what)?;
        if len > limit {
            return Err(ImageError::InvalidArchive(format!(
                "invalid archive: {name:?} is too large ({len} bytes, at most {limit})"
            )));
        }
        let mut out = Vec::with_capacity(len as usize);
        file.read_to_end(&mut out)
            .map_err(|e| ImageError::io(format!("reading {name}"), e))?;
        Ok(out)
    }
}

impl Drop for Extracted {
    fn drop(&mut self) {
        if let Err(e) = berth_fsutil::remove_dir_all_if_exists(&self.root) {
            tracing::warn!(dir = %self.root.display(), error = %e, "cannot remove temporary archive directory");
        }
    }
}

fn make_private_dir(parent: &Path) -> Result<PathBuf> {
    berth_fsutil::create_dir_all_mode(parent, 0o700)
        .map_err(|e| ImageError::io(format!("creating {}", parent.display()), e))?;
    for _ in 0..16 {
        let name = format!("load-{:016x}", rand::random::<u64>());
        let path = parent.join(name);
        match fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ImageError::io(format!("creating {}", path.display()), e)),
        }
    }
    Err(ImageError::io(
        format!("creating a temporary directory in {}", parent.display()),
        io::Error::from(io::ErrorKind::AlreadyExists),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn tar_of(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            if let Some(l) = link {
                h.set_link_name(l).unwrap();
            }
            // Bypass the builder's path checks to write hostile names.
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn normalises_names() {
        assert_eq!(normalize("./a//b/"), Some("a/b".into()));
        assert_eq!(normalize("a/./b"), Some("a/b".into()));
        assert_eq!(normalize("../a"), None);
        assert_eq!(normalize("a/../../b"), None);
        assert_eq!(normalize("/etc/passwd"), None);
        assert_eq!(normalize(""), None);
        assert_eq!(
            resolve_relative("a/b/layer.tar", "../c/layer.tar"),
            Some("a/c/layer.tar".into())
        );
        assert_eq!(resolve_relative("a/layer.tar", "../../x"), None);
    }

    #[test]
    fn unpacks_files_dirs_and_aliases() {
        use tar::EntryType as E;
        let data = tar_of(&[
            ("./", E::Directory, b"", None),
            ("./manifest.json", E::Regular, b"[]", None),
            ("abc/", E::Directory, b"", None),
            ("abc/layer.tar", E::Regular, b"layer", None),
            ("def/layer.tar", E::Symlink, b"", Some("../abc/layer.tar")),
            ("hard", E::Link, b"", Some("abc/layer.tar")),
            ("evil", E::Symlink, b"", Some("/etc/passwd")),
            ("fifo", E::Fifo, b"", None),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let x = Extracted::unpack(&mut &data[..], dir.path()).unwrap();
        assert_eq!(x.read("manifest.json", "test", 100).unwrap(), b"[]");
        assert_eq!(x.read("def/layer.tar", "test", 100).unwrap(), b"layer");
        assert_eq!(x.read("hard", "test", 100).unwrap(), b"layer");
        assert!(x.resolve("evil", "test").is_err());
        assert!(x.resolve("fifo", "test").is_err());
        assert!(
            x.resolve("../manifest.json", "test")
                .unwrap_err()
                .to_string()
                .contains("outside the archive")
        );
        assert!(x.read("manifest.json", "test", 1).is_err());
        // Nothing but our private directory was written, and it goes away.
        let root = x.root.clone();
        assert!(root.starts_with(dir.path()));
        assert!(!root.join("evil").exists());
        drop(x);
        assert!(!root.exists());
    }

    #[test]
    fn refuses_hostile_names() {
        use tar::EntryType as E;
        for name in ["../escape", "/abs", "a/../../b"] {
            let data = tar_of(&[(name, E::Regular, b"x", None)]);
            let dir = tempfile::tempdir().unwrap();
            let e = Extracted::unpack(&mut &data[..], dir.path()).unwrap_err();
            assert!(matches!(e, ImageError::InvalidArchive(_)), "{name}: {e:?}");
            assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                0,
                "cleaned up after {name}"
            );
        }
        let data = tar_of(&[
            ("a", E::Regular, b"x", None),
            ("a/b", E::Regular, b"y", None),
        ]);
        let dir = tempfile::tempdir().unwrap();
        assert!(Extracted::unpack(&mut &data[..], dir.path()).is_err());
    }

    #[test]
    fn garbage_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let e = Extracted::unpack(&mut &b""[..], dir.path()).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let data = tar_of(&[("f", tar::EntryType::Regular, &[7u8; 2000], None)]);
        let e = Extracted::unpack(&mut &data[..1000], dir.path()).unwrap_err();
        assert!(matches!(e, ImageError::InvalidArchive(_)), "{e:?}");
    }
}
