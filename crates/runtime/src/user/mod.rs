//! `--user` / `--group-add` resolution against the image's `/etc/passwd`
//! and `/etc/group` (read inside the rootfs, never following a symlink out
//! of it), and creating the working directory inside the rootfs.

mod inroot;
mod passwd;

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{Mode, SFlag, fstat, mkdirat};
use nix::unistd::{Gid, Uid, fchownat};
use serde::{Deserialize, Serialize};

pub use passwd::{GroupEntry, PasswdEntry, parse_group, parse_passwd};

use crate::error::{Result, RuntimeError};
use crate::parse::clean_path;

/// The largest passwd or group file read (a guard against hostile images).
const MAX_FILE: u64 = 16 << 20;

/// The largest uid or gid a container may use.
const MAX_ID: u64 = i32::MAX as u64;

/// A user as the container process will run: ids and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (from `/etc/group` membership, then
    /// `--group-add`), without duplicates.
    pub additional_gids: Vec<u32>,
    /// The passwd name, when the user has an entry.
    pub name: Option<String>,
    /// The passwd home directory (`/` when unknown).
    pub home: String,
}

/// Reads `path` (relative to the rootfs) without leaving the rootfs.
/// `None` when it does not exist or is not a regular file (a directory,
/// a FIFO, a symlink loop…).
pub fn read_file_in_root(rootfs: &Path, path: &str) -> Result<Option<String>> {
    let root = inroot::open_root(rootfs)
        .map_err(|e| RuntimeError::errno(format!("opening rootfs {}", rootfs.display()), e))?;
    let fd = match inroot::open_in_root(
        &root,
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP | Errno::EXDEV | Errno::ENXIO) => {
            return Ok(None);
        }
        Err(e) => {
            return Err(RuntimeError::errno(
                format!("opening {path} in {}", rootfs.display()),
                e,
            ));
        }
    };
    let st = fstat(fd.as_fd()).map_err(|e| RuntimeError::errno(format!("inspecting {path}"), e))?;
    if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
        return Ok(None);
    }
    let mut buf = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| RuntimeError::io(format!("reading {path} in {}", rootfs.display()), e))?;
    if buf.len() as u64 > MAX_FILE {
        return Err(RuntimeError::invalid(format!(
            "{path} in the image is larger than {MAX_FILE} bytes"
        )));
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

fn numeric_id(s: &str) -> Option<Result<u32>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match s.parse::<u64>() {
        Ok(n) if n <= MAX_ID => Ok(n as u32),
        _ => Err(RuntimeError::invalid(format!(
            "invalid id {s}: uids and gids must be in range 0-{MAX_ID}"
        ))),
    })
}

/// Resolves `--user` (`""` = root, `name`, `uid`, `name:group`,
/// `uid:gid`, mixed) and `--group-add` (names or numbers) against the
/// rootfs's `/etc/passwd` and `/etc/group`, with libcontainer's rules:
/// names must exist, numbers need not; supplementary groups come from
/// group membership when no group is given explicitly.
pub fn resolve_user(rootfs: &Path, user: &str, group_add: &[String]) -> Result<ResolvedUser> {
    let passwd = parse_passwd(&read_file_in_root(rootfs, "etc/passwd")?.unwrap_or_default());
    let groups = parse_group(&read_file_in_root(rootfs, "etc/group")?.unwrap_or_default());
    resolve_with(&passwd, &groups, user, group_add)
}

/// [`resolve_user`] over already parsed files.
pub fn resolve_with(
    passwd: &[PasswdEntry],
    groups: &[GroupEntry],
    user: &str,
    group_add: &[String],
) -> Result<ResolvedUser> {
    let parts: Vec<&str> = user.split(':').collect();
    if parts.len() > 2 {
        return Err(RuntimeError::invalid(format!(
            "invalid user specification {user:?}: expected user[:group]"
        )));
    }
    let user_arg = parts[0];
    let group_arg = parts.get(1).copied().unwrap_or("");
    let mut out = ResolvedUser {
        home: "/".to_string(),
        ..Default::default()
    };

    let uid_num = numeric_id(user_arg).transpose()?;
    let mut matched_name: Option<&str> = None;
    // An empty user is root, looked up like `0` (libcontainer's default).
    let found = passwd
        .iter()
        .find(|p| match (user_arg.is_empty(), uid_num) {
            (true, _) => p.uid == 0,
            (false, Some(uid)) => p.uid == uid,
            (false, None) => p.name == user_arg,
        });
    match (found, uid_num) {
        (Some(p), _) => {
            out.uid = p.uid;
            out.gid = p.gid;
            out.home = if p.home.is_empty() {
                "/".into()
            } else {
                p.home.clone()
            };
            out.name = Some(p.name.clone());
            matched_name = Some(&p.name);
        }
        (None, Some(uid)) => out.uid = uid,
        (None, None) if user_arg.is_empty() => {}
        (None, None) => {
            return Err(RuntimeError::invalid(format!(
                "unable to find user {user_arg}: no matching entries in passwd file"
            )));
        }
    }

    if !group_arg.is_empty() {
        let gid_num = numeric_id(group_arg).transpose()?;
        let found = groups.iter().find(|g| match gid_num {
            Some(gid) => g.gid == gid,
            None => g.name == group_arg,
        });
        out.gid = match (found, gid_num) {
            (Some(g), _) => g.gid,
            (None, Some(gid)) => gid,
            (None, None) => {
                return Err(RuntimeError::invalid(format!(
                    "unable to find group {group_arg}: no matching entries in group file"
                )));
            }
        };
    } else if let Some(name) = matched_name {
        out.additional_gids = groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.gid)
            .collect();
    }

    for ag in group_add {
        let num = numeric_id(ag).transpose()?;
        let gid = match groups.iter().find(|g| g.name == *ag || Some(g.gid) == num) {
            Some(g) => g.gid,
            None => num.ok_or_else(|| {
                RuntimeError::invalid(format!(
                    "Unable to find group {ag}: no matching entries in group file"
                ))
            })?,
        };
        out.additional_gids.push(gid);
    }
    let mut seen = Vec::new();
    out.additional_gids.retain(|g| {
        let keep = !seen.contains(g);
        seen.push(*g);
        keep
    });
    Ok(out)
}

/// Creates the working directory `cwd` inside the rootfs when missing,
/// every new directory mode 0755 and owned by `uid:gid` (existing ones are
/// left alone). Symlinks on the way resolve inside the rootfs; a dangling
/// one gets its target created, as Docker's `MkdirAll` in scope does.
pub fn ensure_workdir(rootfs: &Path, cwd: &str, uid: u32, gid: u32) -> Result<()> {
    if !cwd.starts_with('/') {
        return Err(RuntimeError::invalid(format!(
            "the working directory '{cwd}' is invalid, it needs to be an absolute path"
        )));
    }
    let root = inroot::open_root(rootfs)
        .map_err(|e| RuntimeError::errno(format!("opening rootfs {}", rootfs.display()), e))?;
    let cwd = clean_path(cwd);
    ensure_dir(&root, &cwd, &cwd, uid, gid, 0).map(drop)
}

fn ensure_dir(
    root: &OwnedFd,
    path: &str,
    cwd: &str,
    uid: u32,
    gid: u32,
    depth: usize,
) -> Result<OwnedFd> {
    if depth > 40 {
        return Err(RuntimeError::invalid(format!(
            "cannot create working directory {cwd}: too many levels of symbolic links"
        )));
    }
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let dir_flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    let not_dir = |prefix: &str| {
        RuntimeError::invalid(format!(
            "cannot create working directory {cwd}: {prefix} is not a directory"
        ))
    };
    let mut parent = inroot::open_in_root(root, "/", dir_flags)
        .map_err(|e| RuntimeError::errno("opening rootfs", e))?;
    for i in 0..comps.len() {
        let prefix = format!("/{}", comps[..=i].join("/"));
        match inroot::open_in_root(root, &prefix, dir_flags) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(Errno::ENOTDIR) => return Err(not_dir(&prefix)),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(RuntimeError::errno(format!("resolving {prefix}"), e)),
        }
        let name = comps[i];
        match mkdirat(parent.as_fd(), name, Mode::from_bits_truncate(0o755)) {
            Ok(()) => {
                let fd = openat(
                    parent.as_fd(),
                    name,
                    dir_flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| RuntimeError::errno(format!("opening new directory {prefix}"), e))?;
                fchownat(
                    fd.as_fd(),
                    "",
                    Some(Uid::from_raw(uid)),
                    Some(Gid::from_raw(gid)),
                    AtFlags::AT_EMPTY_PATH,
                )
                .map_err(|e| RuntimeError::errno(format!("chown of {prefix}"), e))?;
                parent = fd;
            }
            Err(Errno::EEXIST) => match readlinkat(parent.as_fd(), name) {
                // A dangling symlink: create its target (inside the root).
                Ok(target) => {
                    let target = target.to_string_lossy();
                    let dir = format!("/{}", comps[..i].join("/"));
                    let next = if target.starts_with('/') {
                        clean_path(&target)
                    } else {
                        clean_path(&format!("{dir}/{target}"))
                    };
                    parent = ensure_dir(root, &next, cwd, uid, gid, depth + 1)?;
                }
                // Created concurrently: resolve again.
                Err(_) => {
                    parent =
                        inroot::open_in_root(root, &prefix, dir_flags).map_err(|e| match e {
                            Errno::ENOTDIR => not_dir(&prefix),
                            e => RuntimeError::errno(format!("resolving {prefix}"), e),
                        })?;
                }
            },
            Err(e) => return Err(RuntimeError::errno(format!("creating {prefix}"), e)),
        }
    }
    Ok(parent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, symlink};

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nsvc:x:999:998::/srv:/bin/false\n";
    const GROUP: &str =
        "root:x:0:\napp:x:1000:\nwheel:x:10:app,root\naudio:x:29:app,svc\nsvcgrp:x:998:\n";

    fn rootfs() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("etc")).unwrap();
        fs::write(tmp.path().join("etc/passwd"), PASSWD).unwrap();
        fs::write(tmp.path().join("etc/group"), GROUP).unwrap();
        tmp
    }

    #[test]
    fn resolves_forms() {
        let r = rootfs();
        let p = r.path();
        let u = resolve_user(p, "", &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.additional_gids, vec![10], "root's memberships");
        let u = resolve_user(p, "app", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        assert_eq!(u.additional_gids, vec![10, 29]);
        assert_eq!(u.name.as_deref(), Some("app"));
        let u = resolve_user(p, "1000", &[]).unwrap();
        assert_eq!(u.additional_gids, vec![10, 29], "numeric uid with an entry");
        let u = resolve_user(p, "app:audio", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 29));
        assert!(
            u.additional_gids.is_empty(),
            "explicit group: no supplementary"
        );
        let u = resolve_user(p, "4242:4343", &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 4343, "/"));
        let u = resolve_user(p, "svc", &["wheel".into(), "77".into(), "29".into()]).unwrap();
        assert_eq!((u.uid, u.gid), (999, 998));
        assert_eq!(u.additional_gids, vec![29, 10, 77]);
    }

    #[test]
    fn errors_like_docker() {
        let r = rootfs();
        let msg = |u: &str, g: &[&str]| {
            let g: Vec<String> = g.iter().map(|s| s.to_string()).collect();
            resolve_user(r.path(), u, &g).unwrap_err().to_string()
        };
        assert_eq!(
            msg("foo", &[]),
            "unable to find user foo: no matching entries in passwd file"
        );
        assert_eq!(
            msg("app:nogroup", &[]),
            "unable to find group nogroup: no matching entries in group file"
        );
        assert_eq!(
            msg("app", &["nogroup"]),
            "Unable to find group nogroup: no matching entries in group file"
        );
        assert!(msg("a:b:c", &[]).contains("invalid user specification"));
        assert!(msg("99999999999", &[]).contains("range"));
    }

    #[test]
    fn no_files_numeric_only() {
        let tmp = tempfile::tempdir().unwrap();
        let u = resolve_user(tmp.path(), "123:456", &["789".into()]).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (123, 456, vec![789])
        );
        assert!(resolve_user(tmp.path(), "app", &[]).is_err());
        assert_eq!(resolve_user(tmp.path(), "", &[]).unwrap().uid, 0);
    }

    #[test]
    fn hostile_passwd_symlinks_stay_inside() {
        // The host has a `daemon` user; a rootfs pointing at the host's
        // files must not resolve it.
        let host_has_daemon = fs::read_to_string("/etc/passwd")
            .map(|s| s.lines().any(|l| l.starts_with("daemon:")))
            .unwrap_or(false);
        for target in [
            "/etc/shadow",
            "../../../../../../etc/passwd",
            "../../..",
            "/proc/self/root/etc/passwd",
        ] {
            let tmp = tempfile::tempdir().unwrap();
            fs::create_dir_all(tmp.path().join("etc")).unwrap();
            symlink(target, tmp.path().join("etc/passwd")).unwrap();
            let err = resolve_user(tmp.path(), "daemon", &[])
                .unwrap_err()
                .to_string();
            assert_eq!(
                err, "unable to find user daemon: no matching entries in passwd file",
                "{target}"
            );
            if host_has_daemon {
                assert!(resolve_user(tmp.path(), "root", &[]).is_err(), "{target}");
            }
        }
        // /etc itself pointing at the host's /etc.
        let tmp = tempfile::tempdir().unwrap();
        symlink("/etc", tmp.path().join("etc")).unwrap();
        assert!(resolve_user(tmp.path(), "root", &[]).is_err());
        // A symlink to the rootfs's own shadow is the rootfs's business.
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("etc")).unwrap();
        fs::write(
            tmp.path().join("etc/shadow"),
            "evil:x:4321:4321::/:/bin/sh\n",
        )
        .unwrap();
        symlink("/etc/shadow", tmp.path().join("etc/passwd")).unwrap();
        assert_eq!(resolve_user(tmp.path(), "evil", &[]).unwrap().uid, 4321);
        // A FIFO must not block.
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("etc")).unwrap();
        nix::unistd::mkfifo(
            &tmp.path().join("etc/passwd"),
            Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        assert!(resolve_user(tmp.path(), "x", &[]).is_err());
    }

    #[test]
    fn workdir_created_in_root_and_owned() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("rootfs");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(root.join("home")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        ensure_workdir(&root, "/home/app/work/", 1000, 1001).unwrap();
        let m = fs::metadata(root.join("home/app/work")).unwrap();
        assert!(m.is_dir());
        assert_eq!((m.uid(), m.gid()), (1000, 1001));
        assert_eq!(
            fs::metadata(root.join("home")).unwrap().uid(),
            0,
            "existing dirs untouched"
        );
        // Existing: fine and unchanged.
        ensure_workdir(&root, "/home/app/work", 5, 5).unwrap();
        assert_eq!(
            fs::metadata(root.join("home/app/work")).unwrap().uid(),
            1000
        );

        // A symlink pointing outside resolves inside the rootfs.
        symlink(&outside, root.join("escape")).unwrap();
        ensure_workdir(&root, "/escape/deep", 0, 0).unwrap();
        assert!(!outside.join("deep").exists());
        assert!(
            root.join(outside.strip_prefix("/").unwrap())
                .join("deep")
                .is_dir()
        );

        symlink("/nonexistent/target", root.join("dangling")).unwrap();
        ensure_workdir(&root, "/dangling/w", 7, 7).unwrap();
        assert!(root.join("nonexistent/target/w").is_dir());

        symlink("../../../..", root.join("up")).unwrap();
        ensure_workdir(&root, "/up/x", 0, 0).unwrap();
        assert!(root.join("x").is_dir());

        fs::write(root.join("file"), "").unwrap();
        let err = ensure_workdir(&root, "/file/sub", 0, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/file is not a directory"), "{err}");
        assert!(ensure_workdir(&root, "relative", 0, 0).is_err());
        ensure_workdir(&root, "/", 0, 0).unwrap();
    }
}
