//! Extraction of a plain tar stream into a directory inside a root, as
//! `PUT /containers/{id}/archive` (`docker cp`) does it: no whiteouts,
//! entries named relative to the extraction directory, and nothing ever
//! written outside that directory. Intermediate symlinks are followed as
//! the container would follow them (absolute ones from the root), and an
//! entry whose parent resolves outside the extraction directory is
//! refused, as Docker refuses it. Device nodes are skipped: a copy must
//! not plant host devices in a container's filesystem.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use tracing::warn;

use super::path::{join, split_last};
use super::{cname, entry_err, host_err, invalid, is_errno, lossy, meta, normalize, owner};
use crate::error::{LayerError, Result};
use crate::sys;
use crate::tar::{Entry, EntryKind, TarReader, Timestamp};

/// How [`extract_tar`] treats the archive.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractOptions {
    /// The owner of every entry, instead of the archive's.
    pub owner: Option<(u32, u32)>,
    /// Refuse to replace a directory with a non-directory, and the reverse
    /// (a `Conflict`).
    pub no_overwrite_dir_non_dir: bool,
}

/// What [`extract_tar`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractOutcome {
    /// Entries created.
    pub entries: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Entries left out (device nodes, labels).
    pub skipped: u64,
}

/// Extracts the uncompressed tar stream `tar` into the directory `dir`
/// (a path inside `root`, which stands for `/`). Entry names are relative
/// to `dir`: leading slashes are dropped and names that climb above `dir`
/// are refused.
pub fn extract_tar(
    root: BorrowedFd<'_>,
    dir: &[u8],
    tar: &mut dyn Read,
    options: &ExtractOptions,
) -> Result<ExtractOutcome> {
    let dest = sys::open_in_root(root, dir, libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(|e| host_err("open directory", dir, e))?;
    let id = |fd: BorrowedFd<'_>, what: &[u8]| {
        sys::fstat(fd)
            .map(|st| (st.st_dev, st.st_ino))
            .map_err(|e| host_err("stat", what, e))
    };
    let mut x = Extractor {
        root_id: id(root, b"/")?,
        dest_id: id(dest.as_fd(), dir)?,
        root,
        dir: dir.to_vec(),
        dest,
        options: *options,
        cache: None,
        dir_times: Vec::new(),
        outcome: ExtractOutcome::default(),
    };
    let mut reader = TarReader::new(tar, None);
    while let Some(entry) = reader.next_entry()? {
        x.entry(&mut reader, &entry)?;
    }
    x.set_dir_times()?;
    Ok(x.outcome)
}

struct Extractor<'r> {
    root: BorrowedFd<'r>,
    root_id: (u64, u64),
    /// The extraction directory, relative to the root, and its descriptor.
    dir: Vec<u8>,
    dest: OwnedFd,
    dest_id: (u64, u64),
    options: ExtractOptions,
    /// The last parent directory resolved.
    cache: Option<(Vec<u8>, Rc<OwnedFd>)>,
    dir_times: Vec<(Vec<u8>, Timestamp, Timestamp)>,
    outcome: ExtractOutcome,
}

fn outside(rel: &[u8], dir: &[u8]) -> LayerError {
    invalid(format!(
        "{:?} is outside of the extraction directory /{}",
        lossy(rel),
        lossy(dir)
    ))
}

impl Extractor<'_> {
    fn entry<R: Read>(&mut self, reader: &mut TarReader<'_, R>, e: &Entry) -> Result<()> {
        let rel = normalize(&e.path)?;
        if rel.is_empty() {
            // The extraction directory itself: left as it is, as Docker does.
            return Ok(());
        }
        match e.kind {
            EntryKind::Char | EntryKind::Block => {
                warn!(path = %lossy(&rel), "skipping a device node in an archive copied into a container");
                self.outcome.skipped += 1;
                return Ok(());
            }
            EntryKind::Other(b'V') => {
                self.outcome.skipped += 1;
                return Ok(());
            }
            EntryKind::Other(t) => {
                return Err(invalid(format!(
                    "unsupported entry type {:?} for {:?}",
                    char::from(t),
                    lossy(&rel)
                )));
            }
            _ => {}
        }
        let (parent, name) = split_last(&rel);
        let pfd = self.parent(parent)?;
        let c = cname(name)?;
        let is_dir_entry = e.kind == EntryKind::Dir;
        // Set when a regular file replaces a file that is a mount point
        // (`/etc/hosts`): written in place, as it cannot be unlinked.
        let mut in_place = false;
        match sys::fstatat_nofollow(pfd.as_fd(), &c) {
            Ok(st) => {
                let existing_dir = sys::is_dir(&st);
                if self.options.no_overwrite_dir_non_dir && existing_dir != is_dir_entry {
                    let (what, with) = if existing_dir {
                        ("directory", "non-directory")
                    } else {
                        ("non-directory", "directory")
                    };
                    return Err(LayerError::Conflict(format!(
                        "cannot overwrite {what} \"{}\" with {with} \"/{}\"",
                        lossy(&rel),
                        lossy(&self.dir)
                    )));
                }
                if !(existing_dir && is_dir_entry) {
                    // A removed directory may hold the cached parent.
                    self.cache = None;
                    match sys::remove_all_at(pfd.as_fd(), &c) {
                        Ok(()) => {}
                        Err(err)
                            if is_errno(&err, libc::EBUSY)
                                && e.kind == EntryKind::Regular
                                && st.st_mode & libc::S_IFMT == libc::S_IFREG =>
                        {
                            in_place = true;
                        }
                        Err(err) if is_errno(&err, libc::EBUSY) => {
                            return Err(LayerError::Conflict(format!(
                                "cannot replace \"{}\" in \"/{}\": it is a mount point",
                                lossy(&rel),
                                lossy(&self.dir)
                            )));
                        }
                        Err(err) => return Err(host_err("remove", &rel, err)),
                    }
                }
            }
            Err(err) if is_errno(&err, libc::ENOENT) => {}
            Err(err) => return Err(host_err("stat", &rel, err)),
        }
        let pfd = pfd.as_fd();
        match e.kind {
            EntryKind::Regular => self.regular(reader, e, &rel, pfd, &c, in_place)?,
            EntryKind::Dir => self.directory(e, &rel, pfd, &c)?,
            EntryKind::Symlink => self.symlink(e, &rel, pfd, &c)?,
            EntryKind::HardLink => self.hardlink(e, &rel, pfd, &c)?,
            EntryKind::Fifo => self.fifo(e, &rel, pfd, &c)?,
            EntryKind::Char | EntryKind::Block | EntryKind::Other(_) => {}
        }
        self.outcome.entries += 1;
        Ok(())
    }

    fn owner_of(&self, e: &Entry, rel: &[u8]) -> Result<(u32, u32)> {
        match self.options.owner {
            Some(o) => Ok(o),
            None => owner(e, rel),
        }
    }

    /// Opens `rel` (relative to the extraction directory) with `flags`,
    /// resolved as the container resolves it, and only if the result lies
    /// beneath the extraction directory.
    fn resolve(&self, rel: &[u8], flags: libc::c_int) -> std::io::Result<OwnedFd> {
        // Relative links that stay below: resolved strictly beneath.
        match sys::open_beneath(self.dest.as_fd(), rel, flags, 0) {
            Err(e) if is_errno(&e, libc::EXDEV) => {}
            other => return other,
        }
        // An absolute link (or one that climbs and comes back): resolved
        // from the root like the container does, then checked.
        let fd = sys::open_in_root(self.root, &join(&self.dir, rel), flags, 0)?;
        if self.is_beneath(fd.as_fd())? {
            Ok(fd)
        } else {
            Err(std::io::Error::from_raw_os_error(libc::EXDEV))
        }
    }

    /// Whether the directory `fd` is the extraction directory or below it,
    /// walking `..` up to the root.
    fn is_beneath(&self, fd: BorrowedFd<'_>) -> std::io::Result<bool> {
        let mut cur = sys::openat(fd, c".", libc::O_PATH | libc::O_DIRECTORY, 0)?;
        for _ in 0..4096 {
            let st = sys::fstat(cur.as_fd())?;
            let id = (st.st_dev, st.st_ino);
            if id == self.dest_id {
                return Ok(true);
            }
            if id == self.root_id {
                return Ok(false);
            }
            let up = sys::openat(cur.as_fd(), c"..", libc::O_PATH | libc::O_DIRECTORY, 0)?;
            let up_st = sys::fstat(up.as_fd())?;
            if (up_st.st_dev, up_st.st_ino) == id {
                // The top of the namespace, never passing the root.
                return Ok(false);
            }
            cur = up;
        }
        Ok(false)
    }

    fn resolve_err(&self, op: &str, rel: &[u8], e: std::io::Error) -> LayerError {
        if is_errno(&e, libc::EXDEV) {
            outside(rel, &self.dir)
        } else {
            entry_err(op, rel, e)
        }
    }

    /// The parent directory `parent` of an entry, created with its missing
    /// ancestors (mode 0755, owned by root) when absent.
    fn parent(&mut self, parent: &[u8]) -> Result<Rc<OwnedFd>> {
        if let Some((p, fd)) = &self.cache
            && p == parent
        {
            return Ok(fd.clone());
        }
        let fd = match self.resolve(parent, libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(e) if is_errno(&e, libc::ENOENT) => self.make_dirs(parent)?,
            Err(e) => return Err(self.resolve_err("open directory", parent, e)),
        };
        let fd = Rc::new(fd);
        self.cache = Some((parent.to_vec(), fd.clone()));
        Ok(fd)
    }

    fn make_dirs(&mut self, dir: &[u8]) -> Result<OwnedFd> {
        let mut cur = sys::openat(self.dest.as_fd(), c".", libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(|e| host_err("open", &self.dir, e))?;
        let mut prefix = Vec::new();
        for comp in dir.split(|&b| b == b'/') {
            prefix = join(&prefix, comp);
            match self.resolve(&prefix, libc::O_PATH | libc::O_DIRECTORY) {
                Ok(fd) => {
                    cur = fd;
                    continue;
                }
                Err(e) if is_errno(&e, libc::ENOENT) => {}
                Err(e) => return Err(self.resolve_err("open directory", &prefix, e)),
            }
            let c = cname(comp)?;
            sys::mkdirat(cur.as_fd(), &c, 0o755)
                .map_err(|e| entry_err("create directory", &prefix, e))?;
            let made = sys::openat(
                cur.as_fd(),
                &c,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                0,
            )
            .map_err(|e| entry_err("open directory", &prefix, e))?;
            meta::set_owner_mode_fd(made.as_fd(), 0, 0, 0o755, &prefix)?;
            cur = made;
        }
        Ok(cur)
    }

    fn regular<R: Read>(
        &mut self,
        reader: &mut TarReader<'_, R>,
        e: &Entry,
        rel: &[u8],
        pfd: BorrowedFd<'_>,
        c: &std::ffi::CStr,
        in_place: bool,
    ) -> Result<()> {
        let (uid, gid) = self.owner_of(e, rel)?;
        let flags = if in_place {
            libc::O_WRONLY | libc::O_TRUNC | libc::O_NOFOLLOW
        } else {
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW
        };
        let fd =
            sys::openat(pfd, c, flags, 0o600).map_err(|err| entry_err("create file", rel, err))?;
        let mut file = File::from(fd);
        let copied = reader.copy_content(&mut file, rel)?;
        self.outcome.bytes += copied.bytes;
        meta::set_owner_mode_fd(file.as_fd(), uid, gid, e.mode, rel)?;
        meta::set_xattrs(meta::Target::Fd(file.as_fd()), &e.xattrs, rel)?;
        sys::futimens(file.as_fd(), e.atime, e.mtime)
            .map_err(|err| host_err("set times of", rel, err))
    }

    fn directory(
        &mut self,
        e: &Entry,
        rel: &[u8],
        pfd: BorrowedFd<'_>,
        c: &std::ffi::CStr,
    ) -> Result<()> {
        let (uid, gid) = self.owner_of(e, rel)?;
        match sys::mkdirat(pfd, c, 0o700) {
            Ok(()) => {}
            Err(err) if is_errno(&err, libc::EEXIST) => {}
            Err(err) => return Err(entry_err("create directory", rel, err)),
        }
        let fd = sys::openat(
            pfd,
            c,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        )
        .map_err(|err| entry_err("open directory", rel, err))?;
        meta::set_owner_mode_fd(fd.as_fd(), uid, gid, e.mode, rel)?;
        meta::set_xattrs(meta::Target::Fd(fd.as_fd()), &e.xattrs, rel)?;
        self.dir_times.push((rel.to_vec(), e.atime, e.mtime));
        Ok(())
    }

    fn symlink(
        &mut self,
        e: &Entry,
        rel: &[u8],
        pfd: BorrowedFd<'_>,
        c: &std::ffi::CStr,
    ) -> Result<()> {
        let (uid, gid) = self.owner_of(e, rel)?;
        if e.link.is_empty() {
            return Err(invalid(format!(
                "symlink {:?} has an empty target",
                lossy(rel)
            )));
        }
        // The target is stored verbatim: it is only ever followed inside
        // the root.
        let target = cname(&e.link)?;
        sys::symlinkat(&target, pfd, c).map_err(|err| entry_err("create symlink", rel, err))?;
        sys::fchownat_nofollow(pfd, c, uid, gid).map_err(|err| host_err("chown", rel, err))?;
        meta::set_xattrs(meta::Target::At(pfd, c), &e.xattrs, rel)?;
        sys::utimensat_nofollow(pfd, c, e.atime, e.mtime)
            .map_err(|err| host_err("set times of", rel, err))
    }

    fn hardlink(
        &mut self,
        e: &Entry,
        rel: &[u8],
        pfd: BorrowedFd<'_>,
        c: &std::ffi::CStr,
    ) -> Result<()> {
        // Relative to the extraction directory, like entry names.
        let target = normalize(&e.link).map_err(|_| {
            invalid(format!(
                "hard link {:?} points outside of the extraction directory: {:?}",
                lossy(rel),
                lossy(&e.link)
            ))
        })?;
        if target.is_empty() {
            return Err(invalid(format!("hard link {:?} has no target", lossy(rel))));
        }
        let missing = || {
            invalid(format!(
                "hard link {:?}: target {:?} does not exist",
                lossy(rel),
                lossy(&e.link)
            ))
        };
        let (tparent, tname) = split_last(&target);
        let tfd = match self.resolve(tparent, libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(err) if is_errno(&err, libc::ENOENT) || is_errno(&err, libc::ENOTDIR) => {
                return Err(missing());
            }
            Err(err) => return Err(self.resolve_err("resolve link target of", rel, err)),
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
        // linkat without AT_SYMLINK_FOLLOW links a symlink itself, never
        // what it points to.
        sys::linkat(tfd.as_fd(), &tc, pfd, c).map_err(|err| entry_err("create hard link", rel, err))
    }

    fn fifo(
        &mut self,
        e: &Entry,
        rel: &[u8],
        pfd: BorrowedFd<'_>,
        c: &std::ffi::CStr,
    ) -> Result<()> {
        let (uid, gid) = self.owner_of(e, rel)?;
        sys::mknodat(pfd, c, libc::S_IFIFO | 0o600, 0, 0)
            .map_err(|err| entry_err("create fifo", rel, err))?;
        sys::fchownat_nofollow(pfd, c, uid, gid).map_err(|err| host_err("chown", rel, err))?;
        meta::chmod_at(pfd, c, e.mode, rel)?;
        meta::set_xattrs(meta::Target::At(pfd, c), &e.xattrs, rel)?;
        sys::utimensat_nofollow(pfd, c, e.atime, e.mtime)
            .map_err(|err| host_err("set times of", rel, err))
    }

    /// Directory times last (creating entries changes them); the last
    /// entry for a directory wins; directories gone since are skipped.
    fn set_dir_times(&mut self) -> Result<()> {
        let mut latest: HashMap<&[u8], (Timestamp, Timestamp)> = HashMap::new();
        for (rel, atime, mtime) in &self.dir_times {
            latest.insert(rel, (*atime, *mtime));
        }
        for (rel, (atime, mtime)) in latest {
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            let fd = match self.resolve(rel, flags) {
                Ok(fd) => fd,
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::EXDEV)
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

#[cfg(test)]
#[path = "tests_extract.rs"]
mod tests;
