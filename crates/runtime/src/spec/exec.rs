//! The OCI `process` of an exec: the container's own process (so its
//! rlimits, no-new-privileges and OOM score carry over) with the exec's
//! command, environment, user, working directory and terminal, as Docker's
//! `ContainerExecStart` builds it. `Privileged` grants every capability the
//! host can; AppArmor and SELinux labels are left out.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{BoxBuilder, LinuxCapabilities, Process, User};
use serde::Deserialize;

use super::caps::{self, tweak_capabilities};
use super::host::HostInfo;
use super::process::build_env;
use crate::error::{Result, RuntimeError};
use crate::user::ResolvedUser;

/// What an exec changes in the container's process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecProcess {
    /// Entrypoint and arguments; must not be empty.
    pub args: Vec<String>,
    /// The whole environment (see [`exec_env`]).
    pub env: Vec<String>,
    /// `None` keeps the container's working directory.
    pub cwd: Option<String>,
    /// `None` keeps the container's user.
    pub user: Option<ResolvedUser>,
    pub tty: bool,
    /// (height, width), used with a TTY only.
    pub console_size: Option<(u64, u64)>,
    pub privileged: bool,
}

/// The parts of a running container's bundle an exec needs.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The container's process.
    pub process: Process,
    /// The mounted root filesystem.
    pub rootfs: PathBuf,
}

#[derive(Deserialize)]
struct RootPath {
    path: PathBuf,
}

#[derive(Deserialize)]
struct PartialSpec {
    process: Option<Process>,
    root: Option<RootPath>,
}

/// Reads `config.json` in `bundle_dir`; `NotFound` when there is none
/// (the container is not running).
pub fn read_bundle(bundle_dir: &Path) -> Result<Bundle> {
    let path = bundle_dir.join("config.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RuntimeError::NotFound(format!(
                "{} does not exist",
                path.display()
            )));
        }
        Err(e) => return Err(RuntimeError::io(format!("reading {}", path.display()), e)),
    };
    let spec: PartialSpec = serde_json::from_slice(&bytes).map_err(|e| {
        RuntimeError::io(
            format!("parsing {}", path.display()),
            std::io::Error::other(e),
        )
    })?;
    match (spec.process, spec.root) {
        (Some(process), Some(root)) => Ok(Bundle {
            process,
            rootfs: root.path,
        }),
        _ => Err(RuntimeError::io(
            format!("parsing {}", path.display()),
            std::io::Error::other("no process or root"),
        )),
    }
}

/// [`exec_process`] as the JSON `runtime exec --process` reads.
pub fn exec_process_json(base: &Process, exec: &ExecProcess, host: &HostInfo) -> Result<Vec<u8>> {
    let p = exec_process(base, exec, host)?;
    serde_json::to_vec(&p)
        .map_err(|e| RuntimeError::io("serializing the exec process", std::io::Error::other(e)))
}

/// The environment of an exec, as Docker's: the container's defaults
/// (`PATH`, `HOSTNAME`, `TERM=xterm` with a TTY), the container's
/// variables, then the exec's, each replacing or appending (`NAME` without
/// `=` unsets).
pub fn exec_env(
    container_env: &[String],
    exec_env: &[String],
    hostname: &str,
    tty: bool,
) -> Result<Vec<String>> {
    let mut all = Vec::with_capacity(container_env.len() + exec_env.len());
    all.extend_from_slice(container_env);
    all.extend_from_slice(exec_env);
    build_env(&all, hostname, tty)
}

/// Builds the exec's process from the container's `base` process.
pub fn exec_process(base: &Process, exec: &ExecProcess, host: &HostInfo) -> Result<Process> {
    if exec.args.first().is_none_or(|a| a.is_empty()) {
        return Err(RuntimeError::invalid("No exec command specified"));
    }
    let mut p = base.clone();
    p.set_args(Some(exec.args.clone()));
    p.set_env(Some(exec.env.clone()));
    if let Some(cwd) = exec.cwd.as_deref().filter(|c| !c.is_empty()) {
        if !cwd.starts_with('/') {
            return Err(RuntimeError::invalid(format!(
                "the working directory '{cwd}' is invalid, it needs to be an absolute path"
            )));
        }
        p.set_cwd(PathBuf::from(cwd));
    }
    if p.cwd().as_os_str().is_empty() {
        p.set_cwd(PathBuf::from("/"));
    }
    p.set_terminal(Some(exec.tty));
    p.set_console_size(None);
    if exec.tty
        && let Some((h, w)) = exec.console_size
        && h > 0
        && w > 0
    {
        let b = BoxBuilder::default()
            .height(h)
            .width(w)
            .build()
            .map_err(|e| RuntimeError::oci("console size", e))?;
        p.set_console_size(Some(b));
    }
    if let Some(u) = &exec.user {
        let mut user = User::default();
        user.set_uid(u.uid);
        user.set_gid(u.gid);
        if !u.additional_gids.is_empty() {
            user.set_additional_gids(Some(u.additional_gids.clone()));
        }
        p.set_user(user);
    }
    let bounding = if exec.privileged {
        let all = tweak_capabilities(&[], &[], true, host.available_caps())?;
        Some(caps::to_oci(&all)?)
    } else {
        p.capabilities().as_ref().and_then(|c| c.bounding().clone())
    };
    let mut capabilities = LinuxCapabilities::default();
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    // As for the container's own process: a non-root user starts with no
    // effective or permitted capabilities.
    let root = p.user().uid() == 0;
    capabilities.set_effective(bounding.clone().filter(|_| root));
    capabilities.set_permitted(bounding.clone().filter(|_| root));
    capabilities.set_bounding(bounding);
    p.set_capabilities(Some(capabilities));
    p.set_apparmor_profile(None);
    p.set_selinux_label(None);
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::CgroupLayout;
    use crate::spec::{SpecInput, generate};
    use oci_spec::runtime::Capability;

    fn base(user: ResolvedUser, tty: bool) -> Process {
        let mut input = SpecInput::new("c1", "/rootfs", vec!["sleep".into(), "100".into()]);
        input.env = vec!["A=1".into()];
        input.cwd = "/srv".into();
        input.user = user;
        input.tty = tty;
        input.no_new_privileges = true;
        input.cap_drop = vec!["NET_RAW".into()];
        let host = HostInfo::synthetic(CgroupLayout::Unified);
        let spec = generate(&input, &host).unwrap().spec;
        spec.process().clone().unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn env_like_docker() {
        let e = exec_env(&s(&["A=1", "B=2"]), &s(&["B=3", "C=4", "A"]), "h", true).unwrap();
        assert_eq!(
            e,
            s(&[
                &format!("PATH={}", crate::spec::DEFAULT_PATH_ENV),
                "HOSTNAME=h",
                "TERM=xterm",
                "B=3",
                "C=4"
            ])
        );
        assert!(exec_env(&[], &s(&["=x"]), "h", false).is_err());
    }

    #[test]
    fn inherits_the_container_process() {
        let host = HostInfo::synthetic(CgroupLayout::Unified);
        let b = base(ResolvedUser::default(), true);
        let exec = ExecProcess {
            args: s(&["ls", "/"]),
            env: s(&["X=1"]),
            ..Default::default()
        };
        let p = exec_process(&b, &exec, &host).unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &s(&["ls", "/"]));
        assert_eq!(p.env().as_ref().unwrap(), &s(&["X=1"]));
        assert_eq!(p.cwd().to_str(), Some("/srv"));
        assert_eq!(p.terminal(), Some(false));
        assert_eq!(p.no_new_privileges(), Some(true));
        assert_eq!(p.rlimits(), b.rlimits());
        assert_eq!(p.oom_score_adj(), b.oom_score_adj());
        let caps = p.capabilities().as_ref().unwrap();
        let bounding = caps.bounding().as_ref().unwrap();
        assert!(bounding.contains(&Capability::Chown));
        assert!(!bounding.contains(&Capability::NetRaw));
        assert_eq!(caps.effective(), caps.bounding());
        assert!(p.apparmor_profile().is_none());
    }

    #[test]
    fn overrides_user_cwd_tty_and_privileges() {
        let host = HostInfo::synthetic(CgroupLayout::Unified);
        let b = base(ResolvedUser::default(), false);
        let exec = ExecProcess {
            args: s(&["id"]),
            cwd: Some("/tmp".into()),
            user: Some(ResolvedUser {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![10],
                ..Default::default()
            }),
            tty: true,
            console_size: Some((24, 80)),
            ..Default::default()
        };
        let p = exec_process(&b, &exec, &host).unwrap();
        assert_eq!(p.cwd().to_str(), Some("/tmp"));
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 1000));
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[10][..]));
        assert_eq!(p.terminal(), Some(true));
        let size = p.console_size().unwrap();
        assert_eq!((size.height(), size.width()), (24, 80));
        let caps = p.capabilities().as_ref().unwrap();
        assert!(caps.effective().is_none() && caps.permitted().is_none());

        let exec = ExecProcess {
            args: s(&["id"]),
            privileged: true,
            ..Default::default()
        };
        let p = exec_process(&b, &exec, &host).unwrap();
        let caps = p.capabilities().as_ref().unwrap();
        let bounding = caps.bounding().as_ref().unwrap();
        assert!(bounding.contains(&Capability::SysAdmin));
        assert!(bounding.contains(&Capability::NetRaw));
        assert_eq!(caps.effective(), caps.bounding());
    }

    #[test]
    fn bundle_parts() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_bundle(dir.path()),
            Err(RuntimeError::NotFound(_))
        ));
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/w"},"root":{"path":"/r"},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}}}"#,
        )
        .unwrap();
        let b = read_bundle(dir.path()).unwrap();
        assert_eq!(b.rootfs, PathBuf::from("/r"));
        assert_eq!(b.process.cwd(), Path::new("/w"));
        std::fs::write(dir.path().join("config.json"), "{").unwrap();
        assert!(matches!(
            read_bundle(dir.path()),
            Err(RuntimeError::Io { .. })
        ));
    }

    #[test]
    fn refuses_bad_input() {
        let host = HostInfo::synthetic(CgroupLayout::Unified);
        let b = base(ResolvedUser::default(), false);
        let mut exec = ExecProcess::default();
        assert!(exec_process(&b, &exec, &host).is_err());
        exec.args = s(&["ls"]);
        exec.cwd = Some("relative".into());
        let err = exec_process(&b, &exec, &host).unwrap_err();
        assert!(err.to_string().contains("absolute path"), "{err}");
    }
}
