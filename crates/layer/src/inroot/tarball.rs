//! A tar stream of a file or a directory tree, written the way Docker's
//! archiver writes it for `GET /containers/{id}/archive`: PAX format,
//! entries depth first in lexical order, a second name of a file as a hard
//! link entry, sockets left out, symlinks archived as links (never
//! followed), and `security.capability` kept.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::Stat;
use crate::sys;

const BLOCK: usize = 512;
/// The largest value of an 11-digit octal field (size, mtime).
const MAX_OCTAL_11: u64 = 0o777_7777_7777;
/// The largest value of a 7-digit octal field (uid, gid, device numbers).
const MAX_OCTAL_7: u64 = 0o777_7777;
const CAPABILITY: &CStr = c"security.capability";

/// What [`write_tar`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TarSummary {
    pub entries: u64,
    /// Bytes of file content.
    pub bytes: u64,
}

/// Writes the file at `start` (an `O_PATH` descriptor; a symlink is
/// archived as the link itself) as the entry `name`, followed by
/// everything below it when it is a directory (named `name/...`; the
/// name `/` gives `/...`, as Docker names the root). The end-of-archive
/// blocks are written last.
pub fn write_tar(
    start: BorrowedFd<'_>,
    name: &[u8],
    out: &mut dyn Write,
) -> io::Result<TarSummary> {
    let mut w = TarWriter {
        out,
        links: HashMap::new(),
        summary: TarSummary::default(),
    };
    let st = sys::fstat(start)?;
    w.entry(name, &st, Source::Path(start))?;
    if super::is_dir(&st) {
        let dir = sys::openat(start, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        let prefix: &[u8] = if name == b"/" {
            b""
        } else {
            trim_slashes(name)
        };
        w.tree(dir, prefix)?;
    }
    w.out.write_all(&[0u8; 2 * BLOCK])?;
    w.out.flush()?;
    Ok(w.summary)
}

fn trim_slashes(name: &[u8]) -> &[u8] {
    let mut n = name;
    while n.len() > 1 && n.ends_with(b"/") {
        n = &n[..n.len() - 1];
    }
    n
}

/// Where an entry's data comes from.
enum Source<'a> {
    /// The `O_PATH` descriptor of the entry itself.
    Path(BorrowedFd<'a>),
    /// A name in an open directory.
    At(BorrowedFd<'a>, &'a CStr),
}

/// One directory being listed.
struct Frame {
    dir: OwnedFd,
    prefix: Vec<u8>,
    names: Vec<CString>,
    next: usize,
}

struct TarWriter<'a> {
    out: &'a mut dyn Write,
    /// First archive name of every multiply linked file seen.
    links: HashMap<(u64, u64), Vec<u8>>,
    summary: TarSummary,
}

fn sorted_names(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    let mut names: Vec<CString> = sys::read_dir(dir)?.into_iter().map(|e| e.name).collect();
    names.sort_by(|a, b| a.to_bytes().cmp(b.to_bytes()));
    Ok(names)
}

/// Errors that mean "this entry went away while we looked at it".
fn vanished(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
    )
}

impl TarWriter<'_> {
    /// Archives everything below the open directory `dir`, named
    /// `prefix/...`, depth first, without recursion.
    fn tree(&mut self, dir: OwnedFd, prefix: &[u8]) -> io::Result<()> {
        let names = sorted_names(dir.as_fd())?;
        let mut stack = vec![Frame {
            dir,
            prefix: prefix.to_vec(),
            names,
            next: 0,
        }];
        while let Some(top) = stack.last_mut() {
            let Some(name) = top.names.get(top.next).cloned() else {
                stack.pop();
                continue;
            };
            top.next += 1;
            let mut full = top.prefix.clone();
            full.push(b'/');
            full.extend_from_slice(name.to_bytes());
            let st = match sys::fstatat_nofollow(top.dir.as_fd(), &name) {
                Ok(st) => st,
                Err(e) if vanished(&e) => continue,
                Err(e) => return Err(e),
            };
            self.entry(&full, &st, Source::At(top.dir.as_fd(), &name))?;
            if !super::is_dir(&st) {
                continue;
            }
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            let child = match sys::openat(top.dir.as_fd(), &name, flags, 0) {
                Ok(fd) => fd,
                Err(e) if vanished(&e) => continue,
                Err(e) => return Err(e),
            };
            let names = match sorted_names(child.as_fd()) {
                Ok(n) => n,
                Err(e) if vanished(&e) => continue,
                Err(e) => return Err(e),
            };
            stack.push(Frame {
                dir: child,
                prefix: full,
                names,
                next: 0,
            });
        }
        Ok(())
    }

    fn entry(&mut self, name: &[u8], st: &Stat, src: Source<'_>) -> io::Result<()> {
        let mut h = Header {
            name: name.to_vec(),
            link: Vec::new(),
            typeflag: 0,
            mode: st.st_mode & 0o7777,
            uid: u64::from(st.st_uid),
            gid: u64::from(st.st_gid),
            size: 0,
            mtime: st.st_mtime,
            devmajor: 0,
            devminor: 0,
            xattrs: Vec::new(),
        };
        let kind = st.st_mode & libc::S_IFMT;
        if kind != libc::S_IFDIR && st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key) {
                h.typeflag = b'1';
                h.link = first.clone();
                return self.header_only(&h);
            }
            self.links.insert(key, name.to_vec());
        }
        match kind {
            libc::S_IFDIR => {
                h.typeflag = b'5';
                if !h.name.ends_with(b"/") {
                    h.name.push(b'/');
                }
                self.header_only(&h)
            }
            libc::S_IFLNK => {
                h.typeflag = b'2';
                h.link = match src {
                    Source::Path(fd) => sys::readlinkat(fd, c"")?,
                    Source::At(dir, n) => sys::readlinkat(dir, n)?,
                };
                self.header_only(&h)
            }
            libc::S_IFREG => self.regular(h, src),
            libc::S_IFCHR | libc::S_IFBLK => {
                h.typeflag = if kind == libc::S_IFCHR { b'3' } else { b'4' };
                h.devmajor = u64::from(libc::major(st.st_rdev));
                h.devminor = u64::from(libc::minor(st.st_rdev));
                self.header_only(&h)
            }
            libc::S_IFIFO => {
                h.typeflag = b'6';
                self.header_only(&h)
            }
            // Sockets (and anything else) have no tar form.
            _ => Ok(()),
        }
    }

    fn header_only(&mut self, h: &Header) -> io::Result<()> {
        write_header(self.out, h)?;
        self.summary.entries += 1;
        Ok(())
    }

    fn regular(&mut self, mut h: Header, src: Source<'_>) -> io::Result<()> {
        // Never blocks (a FIFO swapped in after the stat) and never follows.
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW;
        let opened = match src {
            Source::At(dir, n) => sys::openat(dir, n, flags, 0),
            Source::Path(fd) => {
                let proc = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                    .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
                // The magic link names our own descriptor: follow it.
                sys::openat(fd, &proc, flags & !libc::O_NOFOLLOW, 0)
            }
        };
        let file = match opened {
            Ok(fd) => File::from(fd),
            Err(e) if vanished(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        let st = sys::fstat(file.as_fd())?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            // Replaced by something else since it was listed.
            return Ok(());
        }
        h.typeflag = b'0';
        h.size = st.st_size.max(0) as u64;
        h.mode = st.st_mode & 0o7777;
        if let Some(cap) = sys::fgetxattr(file.as_fd(), CAPABILITY)? {
            h.xattrs.push((CAPABILITY.to_bytes().to_vec(), cap));
        }
        write_header(self.out, &h)?;
        // Exactly the size announced: a file that grows is cut, one that
        // shrinks is padded with zeros, so the archive stays well formed.
        let copied = io::copy(&mut (&file).take(h.size), self.out)?;
        if copied < h.size {
            io::copy(&mut io::repeat(0).take(h.size - copied), self.out)?;
        }
        pad(self.out, h.size)?;
        self.summary.entries += 1;
        self.summary.bytes += h.size;
        Ok(())
    }
}

struct Header {
    name: Vec<u8>,
    link: Vec<u8>,
    typeflag: u8,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: i64,
    devmajor: u64,
    devminor: u64,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn pad(out: &mut dyn Write, size: u64) -> io::Result<()> {
    let rem = (size % BLOCK as u64) as usize;
    if rem != 0 {
        out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
    }
    Ok(())
}

/// One PAX record: `<len> <key>=<value>\n`, the length counting itself.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let body = key.len() + value.len() + 3;
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    out.extend_from_slice(format!("{len} ").as_bytes());
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Writes `value` as zero-padded octal with a NUL, or zeros when it does
/// not fit (a PAX record carries it then).
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    if value >= 1u64 << (3 * width) {
        field.fill(0);
        return;
    }
    let text = format!("{value:0width$o}");
    field[..width].copy_from_slice(text.as_bytes());
    field[width] = 0;
}

fn block(name: &[u8], h: &Header, typeflag: u8, size: u64) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    let n = name.len().min(100);
    b[..n].copy_from_slice(&name[..n]);
    octal(&mut b[100..108], u64::from(h.mode));
    octal(&mut b[108..116], h.uid);
    octal(&mut b[116..124], h.gid);
    octal(&mut b[124..136], size);
    octal(&mut b[136..148], u64::try_from(h.mtime).unwrap_or(0));
    b[156] = typeflag;
    let l = h.link.len().min(100);
    if typeflag != b'x' {
        b[157..157 + l].copy_from_slice(&h.link[..l]);
    }
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    if typeflag == b'3' || typeflag == b'4' {
        octal(&mut b[329..337], h.devmajor);
        octal(&mut b[337..345], h.devminor);
    }
    b[148..156].fill(b' ');
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    let text = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(text.as_bytes());
    b
}

fn write_header(out: &mut dyn Write, h: &Header) -> io::Result<()> {
    let mut pax = Vec::new();
    if h.name.len() > 100 {
        pax_record(&mut pax, b"path", &h.name);
    }
    if h.link.len() > 100 {
        pax_record(&mut pax, b"linkpath", &h.link);
    }
    if h.size > MAX_OCTAL_11 {
        pax_record(&mut pax, b"size", h.size.to_string().as_bytes());
    }
    if h.uid > MAX_OCTAL_7 {
        pax_record(&mut pax, b"uid", h.uid.to_string().as_bytes());
    }
    if h.gid > MAX_OCTAL_7 {
        pax_record(&mut pax, b"gid", h.gid.to_string().as_bytes());
    }
    if h.mtime < 0 || h.mtime as u64 > MAX_OCTAL_11 {
        pax_record(&mut pax, b"mtime", h.mtime.to_string().as_bytes());
    }
    for (k, v) in &h.xattrs {
        let mut key = b"SCHILY.xattr.".to_vec();
        key.extend_from_slice(k);
        pax_record(&mut pax, &key, v);
    }
    if !pax.is_empty() {
        let base = trim_slashes(&h.name);
        let base = base.rsplit(|&b| b == b'/').next().unwrap_or(base);
        let mut pax_name = b"PaxHeaders.0/".to_vec();
        pax_name.extend_from_slice(&base[..base.len().min(80)]);
        out.write_all(&block(&pax_name, h, b'x', pax.len() as u64))?;
        out.write_all(&pax)?;
        pad(out, pax.len() as u64)?;
    }
    out.write_all(&block(&h.name, h, h.typeflag, h.size))
}
