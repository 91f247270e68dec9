//! A local file or directory as a tar stream (go-archive's
//! `TarResourceRebase`), built on a blocking thread while it is sent, with
//! entry names rebased for the destination.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use berth_client::Body;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::paths::{base, rebase, rebase_name, split_dir_entry};

/// What is copied from the local filesystem (`CopyInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub path: String,
    pub is_dir: bool,
    /// The name the archive's top entry takes (`-L` through a link, or a
    /// `dir/` that resolved to another name).
    pub rebase: Option<String>,
}

/// `CopyInfoSourcePath`: resolves symbolic links in the parent (and in
/// the path itself with `follow`).
pub fn source_info(path: &str, follow: bool) -> io::Result<SourceInfo> {
    let (resolved, rebase) = if follow {
        let real = fs::canonicalize(path)?;
        rebase_name(path, &real.to_string_lossy())
    } else {
        let split = path.rfind('/').map_or(0, |i| i + 1);
        let (dir, file) = path.split_at(split);
        let dir = if dir.is_empty() { "." } else { dir };
        let real_dir = fs::canonicalize(dir)?;
        let resolved = format!(
            "{}/{file}",
            real_dir.to_string_lossy().trim_end_matches('/')
        );
        let rebase = (path.ends_with('/') && base(path) != base(&resolved)).then(|| base(path));
        (resolved, rebase)
    };
    let meta = fs::symlink_metadata(&resolved)?;
    Ok(SourceInfo {
        path: resolved,
        is_dir: meta.is_dir(),
        rebase,
    })
}

/// Sends what `write` produces as a request body, counting the bytes.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    sent: Arc<AtomicU64>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        self.sent.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The archive of `src` as a body, its entries renamed from `old_base` to
/// `new_base` (`PrepareArchiveCopy`); `sent` counts the archive's bytes.
pub fn tar_body(src: SourceInfo, renames: Option<(String, String)>, sent: Arc<AtomicU64>) -> Body {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            tx: tx.clone(),
            sent,
        };
        let buffered = io::BufWriter::with_capacity(128 * 1024, writer);
        if let Err(e) = write_tar(buffered, &src, renames.as_ref()) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    Body::stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Writes the archive of `src`: the top entry is its base name (or the
/// rebase name), as go-archive names them.
pub fn write_tar<W: Write>(
    w: W,
    src: &SourceInfo,
    renames: Option<&(String, String)>,
) -> io::Result<()> {
    let (src_dir, src_base) = split_dir_entry(&src.path);
    let root = if src_base == "." {
        src_dir.clone()
    } else {
        format!("{}/{src_base}", src_dir.trim_end_matches('/'))
    };
    let mut builder = tar::Builder::new(w);
    builder.mode(tar::HeaderMode::Complete);
    builder.follow_symlinks(false);
    let mut walker = Walker {
        builder: &mut builder,
        include: src_base.clone(),
        rebase: src.rebase.clone(),
        renames,
        links: HashMap::new(),
    };
    walker.add(Path::new(&root), &src_base)?;
    builder.finish()?;
    builder.into_inner()?.flush()
}

struct Walker<'a, W: Write> {
    builder: &'a mut tar::Builder<W>,
    include: String,
    rebase: Option<String>,
    renames: Option<&'a (String, String)>,
    /// (device, inode) of files with several links, to their first name.
    links: HashMap<(u64, u64), String>,
}

impl<W: Write> Walker<'_, W> {
    fn name(&self, rel: &str) -> String {
        let mut name = rel.to_string();
        if let Some(r) = &self.rebase {
            name = name.replacen(&self.include, r, 1);
        }
        if let Some((old, new)) = self.renames {
            name = rebase(&name, old, new);
        }
        name
    }

    fn add(&mut self, path: &Path, rel: &str) -> io::Result<()> {
        let meta = fs::symlink_metadata(path)?;
        let ft = meta.file_type();
        let name = self.name(rel);
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        if ft.is_dir() {
            h.set_size(0);
            let dir_name = format!("{}/", name.trim_end_matches('/'));
            self.builder.append_data(&mut h, dir_name, io::empty())?;
            let mut children: Vec<_> = fs::read_dir(path)?
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .collect();
            children.sort();
            for child in children {
                let child_rel = format!("{rel}/{}", child.to_string_lossy());
                self.add(&path.join(&child), &child_rel)?;
            }
        } else if ft.is_symlink() {
            let target = fs::read_link(path)?;
            h.set_size(0);
            self.builder.append_link(&mut h, &name, target)?;
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key) {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    let first = first.clone();
                    return self.builder.append_link(&mut h, &name, first);
                }
                self.links.insert(key, name.clone());
            }
            let file = fs::File::open(path)?;
            self.builder.append_data(&mut h, &name, file)?;
        } else if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
            h.set_size(0);
            self.builder.append_data(&mut h, &name, io::empty())?;
        }
        // Sockets cannot be archived; go-archive skips them too.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(data: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(data);
        a.entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn archives_like_go_archive() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("data");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("a.txt"), "a").unwrap();
        fs::write(src.join("sub/b.txt"), "b").unwrap();
        fs::hard_link(src.join("a.txt"), src.join("sub/hard")).unwrap();
        std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();
        let path = src.to_string_lossy().to_string();

        let info = source_info(&path, false).unwrap();
        assert!(info.is_dir);
        let mut out = Vec::new();
        write_tar(&mut out, &info, None).unwrap();
        assert_eq!(
            names(&out),
            [
                "data/",
                "data/a.txt",
                "data/link",
                "data/sub/",
                "data/sub/b.txt",
                "data/sub/hard"
            ]
        );
        let mut a = tar::Archive::new(&out[..]);
        let hard = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .find(|e| e.path().unwrap().ends_with("hard"))
            .unwrap();
        assert_eq!(hard.header().entry_type(), tar::EntryType::Link);

        let mut out = Vec::new();
        let renames = ("data".to_string(), "copy".to_string());
        write_tar(&mut out, &info, Some(&renames)).unwrap();
        assert_eq!(names(&out)[..2], ["copy/", "copy/a.txt"]);

        let contents = source_info(&format!("{path}/."), false).unwrap();
        let mut out = Vec::new();
        write_tar(&mut out, &contents, None).unwrap();
        // The tar crate drops the leading `./` of `./a.txt`.
        assert_eq!(names(&out)[..2], ["./", "a.txt"]);

        let file = source_info(&format!("{path}/a.txt"), false).unwrap();
        assert!(!file.is_dir);
        let link = source_info(&format!("{path}/link"), true).unwrap();
        assert_eq!(link.rebase.as_deref(), Some("link"));
        let mut out = Vec::new();
        write_tar(&mut out, &link, None).unwrap();
        assert_eq!(names(&out), ["link"]);
    }
}
