//! Safe application of a layer tar stream into a directory. Every parent
//! path is resolved with `openat2(RESOLVE_IN_ROOT)` from a descriptor of the
//! layer root and the last component is created relative to that parent,
//! so nothing an archive holds can write outside the root.

mod extract;
mod meta;
mod path;
mod stash;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;
mod whiteout;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use tracing::{debug, warn};

pub use extract::{ExtractOptions, ExtractOutcome, extract_tar};
pub use path::normalize;

use crate::driver::ApplyOutcome;
use crate::error::{LayerError, Result};
use crate::sys;
use crate::tar::{Entry, EntryKind, SplitSink, TarReader, Timestamp};

/// How OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`) are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// Into an overlayfs upper directory: a whiteout becomes a 0:0
    /// character device, an opaque marker the `trusted.overlay.opaque` xattr.
    Overlay,
    /// Into a full copy of the parent: a whiteout deletes the path, an
    /// opaque marker deletes what the directory held before this layer.
    Naive,
}

#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    pub whiteouts: WhiteoutMode,
    /// `syncfs` the target's filesystem once everything is written.
    pub sync: bool,
}

const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
const WHITEOUT_PREFIX: &[u8] = b".wh.";
const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";

/// Applies the uncompressed tar stream `tar` into the directory `root`.
/// `split`, when given, receives the tar-split records of the stream.
pub fn apply_tar(
    root: &Path,
    tar: &mut dyn Read,
    options: ApplyOptions,
    split: Option<&mut dyn SplitSink>,
) -> Result<ApplyOutcome> {
    let root_fd = sys::open_dir_path(root)
        .map_err(|e| LayerError::io(format!("open {}", root.display()), e))?;
    let mut reader = TarReader::new(tar, split);
    let mut applier = Applier {
        root: root_fd,
        mode: options.whiteouts,
        written: HashSet::new(),
        dir_times: Vec::new(),
        cache: None,
        bytes: 0,
        refs: BTreeMap::new(),
        stash: reader.stash_dir().map(Path::to_path_buf),
        stash_fd: None,
    };
    while let Some(entry) = reader.next_entry()? {
        applier.entry(&mut reader, &entry)?;
    }
    let (diff_id, tar_size) = reader.finish()?;
    applier.set_dir_times()?;
    if options.sync {
        sys::syncfs(applier.root.as_fd())
            .map_err(|e| LayerError::io(format!("syncfs {}", root.display()), e))?;
    }
    Ok(ApplyOutcome {
        diff_id,
        tar_size,
        written: applier.bytes,
    })
}

struct Applier {
    root: OwnedFd,
    mode: WhiteoutMode,
    /// Paths this layer wrote, with their ancestors (naive mode only).
    written: HashSet<Vec<u8>>,
    /// Directory times, set once all contents exist.
    dir_times: Vec<(Vec<u8>, Timestamp, Timestamp)>,
    /// The last parent directory resolved.
    cache: Option<(Vec<u8>, Rc<OwnedFd>)>,
    bytes: u64,
    /// Files whose content the tar-split refers to: path → record.
    refs: BTreeMap<Vec<u8>, u64>,
    /// Where to keep such contents before a later entry removes them.
    stash: Option<PathBuf>,
    stash_fd: Option<OwnedFd>,
}

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

pub(crate) fn invalid(msg: impl std::fmt::Display) -> LayerError {
    LayerError::InvalidArchive(format!("invalid layer archive: {msg}"))
}

/// An error creating an entry: conditions the archive itself causes
/// (missing link target, a file where a directory is needed, a loop) are
/// `InvalidArchive`; anything else is a host failure.
fn entry_err(op: &str, rel: &[u8], e: io::Error) -> LayerError {
    match e.raw_os_error() {
        Some(
            libc::ENOENT
            | libc::ENOTDIR
            | libc::ELOOP
            | libc::EEXIST
            | libc::EISDIR
            | libc::ENOTEMPTY
            | libc::EINVAL
            | libc::EXDEV
            | libc::EMLINK
            | libc::ENAMETOOLONG,
        ) => invalid(format!("cannot {op} {:?}: {e}", lossy(rel))),
        _ => LayerError::io(format!("{op} {}", lossy(rel)), e),
    }
}

fn host_err(op: &str, rel: &[u8], e: io::Error) -> LayerError {
    LayerError::io(format!("{op} {}", lossy(rel)), e)
}

fn cname(name: &[u8]) -> Result<CString> {
    sys::cstring(name).map_err(|_| invalid(format!("NUL byte in name {:?}", lossy(name))))
}

fn is_errno(e: &io::Error, errno: i32) -> bool {
    e.raw_os_error() == Some(errno)
}

fn owner(e: &Entry, rel: &[u8]) -> Result<(u32, u32)> {
    let uid = u32::try_from(e.uid)
        .map_err(|_| invalid(format!("uid {} of {:?} is out of range", e.uid, lossy(rel))))?;
    let gid = u32::try_from(e.gid)
        .map_err(|_| invalid(format!("gid {} of {:?} is out of range", e.gid, lossy(rel))))?;
    Ok((uid, gid))
}

impl Applier {
    fn entry<R: Read>(&mut self, reader: &mut TarReader<'_, R>, e: &Entry) -> Result<()> {
        let rel = normalize(&e.path)?;
        if rel.is_empty() {
            return match e.kind {
                EntryKind::Dir => self.root_dir(e),
                _ => Err(invalid(format!(
                    "{:?} names the layer root but is not a directory",
                    lossy(&e.path)
                ))),
            };
        }
        let (parent, name) = path::split_last(&rel);
        if name == OPAQUE_MARKER {
            return self.opaque(parent);
        }
        if name.starts_with(WHITEOUT_META_PREFIX) {
            debug!(path = %lossy(&rel), "skipping whiteout metadata entry");
            return Ok(());
        }
        if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
            if target.is_empty() || target == b"." || target == b".." {
                return Err(invalid(format!("bad whiteout name {:?}", lossy(&rel))));
            }
            return self.whiteout(parent, target);
        }
        match e.kind {
            EntryKind::Regular => self.regular(reader, e, &rel, parent, name),
            EntryKind::Dir => self.dir(e, &rel, parent, name),
            EntryKind::Symlink => self.symlink(e, &rel, parent, name),
            EntryKind::HardLink => self.hardlink(e, &rel, parent, name),
            EntryKind::Fifo => self.fifo(e, &rel, parent, name),
            EntryKind::Char if e.devmajor == 0 && e.devminor == 0 => {
                // A whiteout already in overlay form.
                self.whiteout(parent, name)
            }
            EntryKind::Char | EntryKind::Block => {
                warn!(path = %lossy(&rel), major = e.devmajor, minor = e.devminor,
                    "skipping device node in layer: layers may not carry host devices");
                Ok(())
            }
            EntryKind::Other(b'V') => Ok(()),
            EntryKind::Other(t) => Err(invalid(format!(
                "unsupported entry type {:?} for {:?}",
                char::from(t),
                lossy(&rel)
            ))),
        }
    }

    fn mark_written(&mut self, rel: &[u8]) {
        if self.mode != WhiteoutMode::Naive {
            return;
        }
        let mut p = rel;
        while !p.is_empty() && self.written.insert(p.to_vec()) {
            p = path::split_last(p).0;
        }
    }

    /// The directory `parent` (relative to the root), created with its
    /// missing ancestors (mode 0755) when absent.
    fn parent(&mut self, parent: &[u8]) -> Result<Rc<OwnedFd>> {
        if let Some((p, fd)) = &self.cache
            && p == parent
        {
            return Ok(fd.clone());
        }
        let fd = match sys::open_in_root(
            self.root.as_fd(),
            parent,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
        ) {
            Ok(fd) => fd,
            Err(e) if is_errno(&e, libc::ENOENT) => self.make_dirs(parent)?,
            Err(e) => return Err(entry_err("open directory", parent, e)),
        };
        let fd = Rc::new(fd);
        self.cache = Some((parent.to_vec(), fd.clone()));
        Ok(fd)
    }

    fn make_dirs(&mut self, dir: &[u8]) -> Result<OwnedFd> {
        let mut cur =
            sys::open_in_root(self.root.as_fd(), b"", libc::O_PATH | libc::O_DIRECTORY, 0)
                .map_err(|e| host_err("open", b"/", e))?;
        let mut prefix = Vec::new();
        for comp in dir.split(|&b| b == b'/') {
            prefix = path::join(&prefix, comp);
            match sys::open_in_root(
                self.root.as_fd(),
                &prefix,
                libc::O_PATH | libc::O_DIRECTORY,
                0,
            ) {
                Ok(fd) => cur = fd,
                Err(e) if is_errno(&e, libc::ENOENT) => {
                    let c = cname(comp)?;
                    sys::mkdirat(cur.as_fd(), &c, 0o755)
                        .map_err(|e| entry_err("create directory", &prefix, e))?;
                    self.mark_written(&prefix);
                    cur = sys::openat(
                        cur.as_fd(),
                        &c,
                        libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                        0,
                    )
                    .map_err(|e| entry_err("open directory", &prefix, e))?;
                }
                Err(e) => return Err(entry_err("open directory", &prefix, e)),
            }
        }
        Ok(cur)
    }

    /// Removes whatever is at `name` in `dir` (recursively for a directory).
    fn remove_entry(&mut self, dir: BorrowedFd<'_>, name: &CStr, rel: &[u8]) -> Result<()> {
        self.preserve_refs(rel)?;
        // A removed directory may be (an ancestor of) the cached parent.
        self.cache = None;
        sys::remove_all_at(dir, name).map_err(|e| host_err("remove", rel, e))
    }

    /// Runs `create`; if the name exists, replaces it and tries once more.
    fn create<T>(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        rel: &[u8],
        op: &str,
        create: impl Fn() -> io::Result<T>,
    ) -> Result<T> {
        match create() {
            Ok(v) => Ok(v),
            Err(e) if is_errno(&e, libc::EEXIST) => {
                self.remove_entry(dir, name, rel)?;
                create().map_err(|e| entry_err(op, rel, e))
            }
            Err(e) => Err(entry_err(op, rel, e)),
        }
    }

    fn regular<R: Read>(
        &mut self,
        reader: &mut TarReader<'_, R>,
        e: &Entry,
        rel: &[u8],
        parent: &[u8],
        name: &[u8],
    ) -> Result<()> {
        let (uid, gid) = owner(e, rel)?;
        let pfd = self.parent(parent)?;
        let c = cname(name)?;
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let fd = self.create(pfd.as_fd(), &c, rel, "create file", || {
            sys::openat(pfd.as_fd(), &c, flags, 0o600)
        })?;
        let mut file = File::from(fd);
        let copied = reader.copy_content(&mut file, rel)?;
        self.bytes += copied.bytes;
        if let Some(record) = copied.record {
            self.refs.insert(rel.to_vec(), record);
        }
        meta::set_owner_mode_fd(file.as_fd(), uid, gid, e.mode, rel)?;
        meta::set_xattrs(meta::Target::Fd(file.as_fd()), &e.xattrs, rel)?;
        sys::futimens(file.as_fd(), e.atime, e.mtime)
            .map_err(|err| host_err("set times of", rel, err))?;
        self.mark_written(rel);
        Ok(())
    }

    fn dir(&mut self, e: &Entry, rel: &[u8], parent: &[u8], name: &[u8]) -> Result<()> {
        let (uid, gid) = owner(e, rel)?;
        let pfd = self.parent(parent)?;
        let c = cname(name)?;
        match sys::mkdirat(pfd.as_fd(), &c, 0o700) {
            Ok(()) => {}
            Err(err) if is_errno(&err, libc::EEXIST) => {
                let st = sys::fstatat_nofollow(pfd.as_fd(), &c)
                    .map_err(|err| host_err("stat", rel, err))?;
                if !sys::is_dir(&st) {
                    self.remove_entry(pfd.as_fd(), &c, rel)?;
                    sys::mkdirat(pfd.as_fd(), &c, 0o700)
                        .map_err(|err| entry_err("create directory", rel, err))?;
                }
            }
            Err(err) => return Err(entry_err("create directory", rel, err)),
        }
        let fd = sys::openat(
            pfd.as_fd(),
            &c,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        )
        .map_err(|err| entry_err("open directory", rel, err))?;
        meta::set_owner_mode_fd(fd.as_fd(), uid, gid, e.mode, rel)?;
        meta::set_xattrs(meta::Target::Fd(fd.as_fd()), &e.xattrs, rel)?;
        self.dir_times.push((rel.to_vec(), e.atime, e.mtime));
        self.mark_written(rel);
        Ok(())
    }

    fn root_dir(&mut self, e: &Entry) -> Result<()> {
        let (uid, gid) = owner(e, b"/")?;
        let fd = sys::open_in_root(
            self.root.as_fd(),
            b"",
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        )
        .map_err(|err| host_err("open", b"/", err))?;
        meta::set_owner_mode_fd(fd.as_fd(), uid, gid, e.mode, b"/")?;
        meta::set_xattrs(meta::Target::Fd(fd.as_fd()), &e.xattrs, b"/")?;
        self.dir_times.push((Vec::new(), e.atime, e.mtime));
        Ok(())
    }

    fn symlink(&mut self, e: &Entry, rel: &[u8], parent: &[u8], name: &[u8]) -> Result<()> {
        let (uid, gid) = owner(e, rel)?;
        if e.link.is_empty() {
            return Err(invalid(format!(
                "symlink {:?} has an empty target",
                lossy(rel)
            )));
        }
        let target = cname(&e.link)?;
        let pfd = self.parent(parent)?;
        let c = cname(name)?;
        self.create(pfd.as_fd(), &c, rel, "create symlink", || {
            sys::symlinkat(&target, pfd.as_fd(), &c)
        })?;
        sys::fchownat_nofollow(pfd.as_fd(), &c, uid, gid)
            .map_err(|err| host_err("chown", rel, err))?;
        meta::set_xattrs(meta::Target::At(pfd.as_fd(), &c), &e.xattrs, rel)?;
        sys::utimensat_nofollow(pfd.as_fd(), &c, e.atime, e.mtime)
            .map_err(|err| host_err("set times of", rel, err))?;
        self.mark_written(rel);
        Ok(())
    }

    fn hardlink(&mut self, e: &Entry, rel: &[u8], parent: &[u8], name: &[u8]) -> Result<()> {
        let target = normalize(&e.link).map_err(|_| {
            invalid(format!(
                "hard link {:?} points outside the layer: {:?}",
                lossy(rel),
                lossy(&e.link)
            ))
        })?;
        if target.is_empty() {
            return Err(invalid(format!("hard link {:?} has no target", lossy(rel))));
        }
        let missing = || {
            invalid(format!(
                "hard link {:?}: target {:?} does not exist in the layer",
                lossy(rel),
                lossy(&e.link)
            ))
        };
        let (tparent, tname) = path::split_last(&target);
        let tfd = match sys::open_in_root(
            self.root.as_fd(),
            tparent,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
        ) {
            Ok(fd) => fd,
            Err(err) if is_errno(&err, libc::ENOENT) || is_errno(&err, libc::ENOTDIR) => {
                return Err(missing());
            }
            Err(err) => return Err(entry_err("resolve link target of", rel, err)),
        };
        let tc = cname(tname)?;
        match sys::fstatat_nofollow(tfd.as_fd(), &tc) {
            Ok(st) if sys::is_dir(&st) => {
                return Err(invalid(format!(
                    "hard link {:?} points to a directory",
                    lossy(rel)
                )));
            }
            Ok(_) => {}
            Err(err) if is_errno(&err, libc::ENOENT) => return Err(missing()),
            Err(err) => return Err(host_err("stat link target of", rel, err)),
        }
        if target == rel {
            // A link to itself: nothing to do.
            return Ok(());
        }
        let pfd = self.parent(parent)?;
        let c = cname(name)?;
        self.create(pfd.as_fd(), &c, rel, "create hard link", || {
            sys::linkat(tfd.as_fd(), &tc, pfd.as_fd(), &c)
        })?;
        self.mark_written(rel);
        Ok(())
    }

    fn fifo(&mut self, e: &Entry, rel: &[u8], parent: &[u8], name: &[u8]) -> Result<()> {
        let (uid, gid) = owner(e, rel)?;
        let pfd = self.parent(parent)?;
        let c = cname(name)?;
        self.create(pfd.as_fd(), &c, rel, "create fifo", || {
            sys::mknodat(pfd.as_fd(), &c, libc::S_IFIFO | 0o600, 0, 0)
        })?;
        sys::fchownat_nofollow(pfd.as_fd(), &c, uid, gid)
            .map_err(|err| host_err("chown", rel, err))?;
        meta::chmod_at(pfd.as_fd(), &c, e.mode, rel)?;
        meta::set_xattrs(meta::Target::At(pfd.as_fd(), &c), &e.xattrs, rel)?;
        sys::utimensat_nofollow(pfd.as_fd(), &c, e.atime, e.mtime)
            .map_err(|err| host_err("set times of", rel, err))?;
        self.mark_written(rel);
        Ok(())
    }

    /// Sets the times recorded for directories; the last entry for a
    /// directory wins. Directories replaced since are skipped.
    fn set_dir_times(&mut self) -> Result<()> {
        let mut latest: HashMap<&[u8], (Timestamp, Timestamp)> = HashMap::new();
        for (rel, atime, mtime) in &self.dir_times {
            latest.insert(rel, (*atime, *mtime));
        }
        for (rel, (atime, mtime)) in latest {
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            let fd = match sys::open_in_root(self.root.as_fd(), rel, flags, 0) {
                Ok(fd) => fd,
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(host_err("open directory", rel, e)),
            };
            sys::futimens(fd.as_fd(), atime, mtime)
                .map_err(|e| host_err("set times of", rel, e))?;
        }
        Ok(())
    }
}
