//! `HEAD`, `GET` and `PUT /containers/{id}/archive` (`docker cp`), on
//! running and stopped containers alike.
//!
//! The container's root filesystem is mounted (`mount_rw`, counted: for a
//! running container it is the very mount the container uses) and its
//! bind mounts, volumes and network files are attached below it in a
//! private mount namespace of a thread of its own ([`view`]). Every path
//! of the request, and every entry of an uploaded archive, is then
//! resolved from a descriptor of that root with `openat2(RESOLVE_IN_ROOT)`:
//! symlinks and `..` are interpreted inside the container and cannot lead
//! to the host, whatever the container or the archive holds. The
//! container's lifecycle lock is held while the filesystem is set up (and
//! during an extraction), as Docker holds the container's lock.

mod paths;
mod view;

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;

use berth_api::Error;
use berth_api::types::archive::ContainerPathStat;
use berth_layer::LayerError;
use berth_layer::apply::{ExtractOptions, extract_tar};
use berth_layer::inroot;
use berth_runtime::parse::MountType;
use berth_server::backend::{BodyReader, ByteStream, ExtractToDirOptions};
use tokio::sync::oneshot;

use super::record::Record;
use super::{Container, ContainerService};
use crate::blocking::{self, StreamWriter};
use view::{View, ViewMount};

/// The lock that serialises lifecycle operations, held while a copy
/// sets up (or extracts).
type LifecycleGuard<'a> = tokio::sync::MutexGuard<'a, ()>;

/// One request: the container as named in the URL and the path as given.
struct Target {
    name: String,
    path: String,
    /// The absolute, cleaned path with Docker's trailing `/` or `/.`.
    abs: String,
}

impl Target {
    fn new(name: &str, path: &str) -> Self {
        Self {
            name: name.to_string(),
            path: path.to_string(),
            abs: paths::container_path(path),
        }
    }

    fn not_found(&self) -> Error {
        Error::not_found(format!(
            "Could not find the file {} in container {}",
            self.path, self.name
        ))
    }

    /// An error resolving the path: missing (or under a non-directory)
    /// is Docker's 404, a symlink loop a bad path, anything else the
    /// host's failure.
    fn io_err(&self, e: io::Error) -> Error {
        match e.raw_os_error() {
            Some(libc::ENOENT | libc::ENOTDIR) => self.not_found(),
            _ if e.kind() == io::ErrorKind::InvalidInput => {
                Error::invalid(format!("invalid path {:?}: {e}", self.path))
            }
            Some(libc::ELOOP) => Error::invalid(format!(
                "cannot resolve {} in container {}: too many levels of symbolic links",
                self.path, self.name
            )),
            _ => Error::system(format!(
                "cannot resolve {} in container {}: {e}",
                self.path, self.name
            )),
        }
    }

    /// Stats the path inside the view: the last element is followed only
    /// when the path asserts a directory (`/` or `/.` at the end), as
    /// `lstat` does. Returns the stat header and an `O_PATH` descriptor.
    fn stat(&self, view: &View) -> Result<(ContainerPathStat, OwnedFd), Error> {
        let follow = paths::asserts_dir(&self.abs);
        let fd = inroot::open(view.root.as_fd(), self.abs.as_bytes(), follow, follow)
            .map_err(|e| self.io_err(e))?;
        let st = inroot::fstat(fd.as_fd()).map_err(|e| self.io_err(e))?;
        let link_target = if inroot::is_symlink(&st) {
            let target = inroot::follow_in_scope(view.root.as_fd(), self.abs.as_bytes())
                .map_err(|e| self.io_err(e))?;
            String::from_utf8_lossy(&target).into_owned()
        } else {
            String::new()
        };
        Ok((paths::path_stat(&self.abs, &st, link_target), fd))
    }
}

/// What a copy needs from the container's record.
struct Setup {
    id: String,
    mounts: Vec<ViewMount>,
    readonly_rootfs: bool,
    user: String,
}

/// Docker's order: the mounts by depth of their destination, then the
/// network files (unless a mount of the user's replaces them).
fn sort_mounts(mut mounts: Vec<ViewMount>, network: Vec<ViewMount>) -> Vec<ViewMount> {
    let depth = |m: &ViewMount| {
        inroot::clean(m.destination.as_bytes())
            .split(|&b| b == b'/')
            .count()
    };
    mounts.sort_by_key(depth);
    for n in network {
        let taken = mounts.iter().any(|m| {
            inroot::clean(m.destination.as_bytes()) == inroot::clean(n.destination.as_bytes())
        });
        if !taken && n.source.is_file() {
            mounts.push(n);
        }
    }
    mounts
}

fn layer_err(id: &str, e: LayerError) -> Error {
    match e {
        LayerError::NotFound(_) => Error::not_found(format!("No such container: {id}")),
        e => Error::from(e),
    }
}

/// An extraction error: a read-only filesystem below the target is the
/// caller's mistake, not the host's failure.
fn extract_err(e: LayerError) -> Error {
    if let LayerError::Io { source, .. } = &e
        && source.raw_os_error() == Some(libc::EROFS)
    {
        return Error::invalid(e.to_string());
    }
    Error::from(e)
}

impl ContainerService {
    fn setup(&self, rec: &Record) -> Setup {
        let mounts = rec
            .mounts
            .iter()
            .filter(|m| m.kind != MountType::Tmpfs.as_str() && !m.source.is_empty())
            .map(|m| ViewMount {
                source: PathBuf::from(&m.source),
                destination: m.destination.clone(),
                rw: m.rw,
            })
            .collect();
        // Where the runtime gets /etc/hosts and friends (start.rs).
        let own = self.ctx.store.dir_of(&rec.id);
        let shared = rec
            .host_config
            .network_mode
            .strip_prefix("container:")
            .and_then(|other| self.get(other).ok())
            .map(|other| self.ctx.store.dir_of(&other.id))
            .unwrap_or_else(|| own.clone());
        let rw = !rec.host_config.readonly_rootfs;
        let network = [
            (shared.join("hosts"), "/etc/hosts"),
            (shared.join("resolv.conf"), "/etc/resolv.conf"),
            (own.join("hostname"), "/etc/hostname"),
        ]
        .into_iter()
        .map(|(source, destination)| ViewMount {
            source,
            destination: destination.to_string(),
            rw,
        })
        .collect();
        Setup {
            id: rec.id.clone(),
            mounts: sort_mounts(mounts, network),
            readonly_rootfs: rec.host_config.readonly_rootfs,
            user: rec.config.user.clone(),
        }
    }

    /// Runs `work` on the container's filesystem (blocking: call it on a
    /// blocking thread). The lifecycle lock is taken first and handed to
    /// `work`, which may release it early; the root filesystem is mounted
    /// for the duration, and `work` runs on a thread of its own inside the
    /// private mount namespace of the [`View`].
    fn in_container_fs<T: Send>(
        &self,
        c: &Container,
        work: impl FnOnce(&View, &Setup, LifecycleGuard<'_>) -> Result<T, Error> + Send,
    ) -> Result<T, Error> {
        let guard = c.lifecycle.blocking_lock();
        let setup = self.setup(&c.snapshot());
        let rootfs = self
            .ctx
            .layers
            .mount_rw(&setup.id)
            .map_err(|e| layer_err(&setup.id, e))?;
        let result = std::thread::scope(|scope| {
            let spawned = std::thread::Builder::new()
                .name("berth-cp".to_string())
                .spawn_scoped(scope, || {
                    let view = View::enter(&rootfs, &setup.mounts).map_err(|e| {
                        Error::system(format!(
                            "cannot open the filesystem of container {}: {e}",
                            setup.id
                        ))
                    })?;
                    work(&view, &setup, guard)
                });
            match spawned {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|_| Err(Error::system("the copy thread panicked"))),
                Err(e) => Err(Error::system(format!("cannot start a copy thread: {e}"))),
            }
        });
        // Mounted in the daemon's namespace, so unmounted from it too
        // (this thread never left it).
        if let Err(e) = self.ctx.layers.unmount_rw(&setup.id) {
            tracing::warn!(container = %setup.id, error = %e, "cannot unmount the root filesystem after a copy");
        }
        result
    }

    /// `HEAD /containers/{id}/archive`.
    pub async fn stat_path(
        self: &Arc<Self>,
        name: &str,
        path: &str,
    ) -> Result<ContainerPathStat, Error> {
        let c = self.get(name)?;
        let target = Target::new(name, path);
        let svc = self.clone();
        blocking::run(move || {
            svc.in_container_fs(&c, |view, _, _guard| {
                target.stat(view).map(|(stat, _)| stat)
            })
        })
        .await
    }

    /// `GET /containers/{id}/archive`: the stat, then the tar streamed
    /// as it is written (the lifecycle lock is released once the stat is
    /// known, so a slow reader never holds up a stop).
    pub async fn archive_path(
        self: &Arc<Self>,
        name: &str,
        path: &str,
    ) -> Result<(ContainerPathStat, ByteStream), Error> {
        let c = self.get(name)?;
        let target = Target::new(name, path);
        let (stat_tx, stat_rx) = oneshot::channel::<Result<ContainerPathStat, Error>>();
        let (writer, stream) = StreamWriter::new();
        let svc = self.clone();
        let c2 = c.clone();
        tokio::task::spawn_blocking(move || {
            let mut stat_tx = Some(stat_tx);
            let mut writer = Some(writer);
            let result = svc.in_container_fs(&c2, |view, _, guard| {
                let (stat, fd) = target.stat(view)?;
                drop(guard);
                if let Some(tx) = stat_tx.take()
                    && tx.send(Ok(stat)).is_err()
                {
                    return Ok(());
                }
                let Some(mut out) = writer.take() else {
                    return Ok(());
                };
                let name = paths::base(&target.abs).as_bytes().to_vec();
                match inroot::write_tar(fd.as_fd(), &name, &mut out) {
                    Ok(_) => {
                        let _ = out.finish();
                    }
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                    Err(e) => {
                        tracing::warn!(path = %target.abs, error = %e, "archive of a container path failed");
                        out.fail(&Error::system(format!("archiving {}: {e}", target.abs)));
                    }
                }
                Ok(())
            });
            if let (Err(e), Some(tx)) = (result, stat_tx) {
                let _ = tx.send(Err(e));
            }
        });
        let stat = match stat_rx.await {
            Ok(result) => result?,
            Err(_) => return Err(Error::system("the copy thread ended without an answer")),
        };
        self.event(&c, "archive-path", &[]);
        Ok((stat, stream))
    }

    /// `PUT /containers/{id}/archive`: extracts the tar (possibly
    /// compressed) into the directory `opts.path`, which must exist.
    pub async fn extract_to_dir(
        self: &Arc<Self>,
        name: &str,
        opts: ExtractToDirOptions,
        body: BodyReader,
    ) -> Result<(), Error> {
        let c = self.get(name)?;
        let target = Target::new(name, &opts.path);
        let input = blocking::sync_reader(body);
        let svc = self.clone();
        let c2 = c.clone();
        blocking::run(move || {
            svc.in_container_fs(&c2, move |view, setup, _guard| {
                extract_in(view, setup, &target, &opts, input)
            })
        })
        .await?;
        self.event(&c, "extract-to-dir", &[]);
        Ok(())
    }
}

/// The extraction itself, inside the view.
fn extract_in(
    view: &View,
    setup: &Setup,
    target: &Target,
    opts: &ExtractToDirOptions,
    input: impl io::Read,
) -> Result<(), Error> {
    // Every symlink followed, the last one too: extracting to a link to a
    // directory extracts into that directory.
    let fd = inroot::open(view.root.as_fd(), target.abs.as_bytes(), true, false)
        .map_err(|e| target.io_err(e))?;
    let st = inroot::fstat(fd.as_fd()).map_err(|e| target.io_err(e))?;
    if !inroot::is_dir(&st) {
        return Err(Error::invalid("extraction point is not a directory"));
    }
    let resolved = inroot::path_in_root(view.root.as_fd(), fd.as_fd())
        .map_err(|e| target.io_err(e))?
        .ok_or_else(|| target.not_found())?;
    match view.mount_of(&resolved) {
        Some(m) if !m.rw => return Err(Error::invalid("mounted volume is marked read-only")),
        Some(_) => {}
        None if setup.readonly_rootfs => {
            return Err(Error::invalid("container rootfs is marked read-only"));
        }
        None => {}
    }
    let owner = if !opts.copy_uid_gid {
        // Owned by the container's root, as `docker cp` documents.
        Some((0, 0))
    } else if setup.user.is_empty() {
        // `-a`: the archive's owners.
        None
    } else {
        // `-a` in a container with a user: that user, as Docker does.
        let user = berth_runtime::user::resolve_user(&view.root_path, &setup.user, &[])
            .map_err(Error::from_classified)?;
        Some((user.uid, user.gid))
    };
    let (mut tar, _) = berth_layer::decompress::decompress(input).map_err(Error::from)?;
    let options = ExtractOptions {
        owner,
        no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
    };
    let dir = resolved.strip_prefix(b"/").unwrap_or(&resolved);
    let outcome = extract_tar(view.root.as_fd(), dir, &mut tar, &options).map_err(extract_err)?;
    if outcome.skipped > 0 {
        tracing::info!(
            container = %setup.id,
            path = %target.abs,
            skipped = outcome.skipped,
            "device nodes in a copied archive were skipped"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use berth_api::ErrorKind;

    use super::*;

    fn kind(e: &Error) -> ErrorKind {
        e.kind()
    }

    #[test]
    fn targets_map_errors_like_docker() {
        let t = Target::new("web", "/nope/x");
        let e = t.io_err(io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(kind(&e), ErrorKind::NotFound);
        assert_eq!(
            e.message(),
            "Could not find the file /nope/x in container web"
        );
        let e = t.io_err(io::Error::from_raw_os_error(libc::ENOTDIR));
        assert_eq!(kind(&e), ErrorKind::NotFound);
        let e = t.io_err(io::Error::from_raw_os_error(libc::ELOOP));
        assert_eq!(kind(&e), ErrorKind::InvalidParameter);
        let e = t.io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "NUL byte in a path",
        ));
        assert_eq!(kind(&e), ErrorKind::InvalidParameter);
        let e = t.io_err(io::Error::from_raw_os_error(libc::EIO));
        assert_eq!(kind(&e), ErrorKind::System);
        assert_eq!(Target::new("c", "etc/.").abs, "/etc/.");
    }

    #[test]
    fn mounts_in_docker_order() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, b"").unwrap();
        let m = |d: &str| ViewMount {
            source: dir.path().into(),
            destination: d.into(),
            rw: true,
        };
        let net = |src: &std::path::Path, d: &str| ViewMount {
            source: src.into(),
            destination: d.into(),
            rw: true,
        };
        let sorted = sort_mounts(
            vec![m("/a/b/c"), m("/x"), m("/a/b"), m("/etc/resolv.conf/")],
            vec![
                net(&hosts, "/etc/hosts"),
                net(&hosts, "/etc/resolv.conf"),
                net(&dir.path().join("missing"), "/etc/hostname"),
            ],
        );
        let dests: Vec<&str> = sorted.iter().map(|m| m.destination.as_str()).collect();
        assert_eq!(
            dests,
            ["/x", "/a/b", "/etc/resolv.conf/", "/a/b/c", "/etc/hosts"]
        );
    }

    #[test]
    fn read_only_below_the_target_is_a_bad_request() {
        let e = extract_err(LayerError::io(
            "create file x",
            io::Error::from_raw_os_error(libc::EROFS),
        ));
        assert_eq!(kind(&e), ErrorKind::InvalidParameter);
        let e = extract_err(LayerError::Conflict("cannot overwrite".into()));
        assert_eq!(kind(&e), ErrorKind::Conflict);
        let e = extract_err(LayerError::InvalidArchive("bad".into()));
        assert_eq!(kind(&e), ErrorKind::InvalidParameter);
    }
}
