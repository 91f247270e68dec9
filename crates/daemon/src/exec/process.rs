//! The OCI process of an exec, built from the running container's bundle
//! (its process and root filesystem) and the exec's configuration
//! (blocking: reads the bundle and the image's passwd files).

use std::path::Path;

use berth_api::Error;
use berth_runtime::RuntimeError;
use berth_runtime::spec::{Bundle, ExecProcess, exec_env, exec_process_json, read_bundle};
use berth_runtime::user::{ResolvedUser, resolve_user};

use super::ExecConfig;
use crate::containers::ContainerService;
use crate::containers::record::Record;

/// The bundle of running container `id`.
pub fn bundle(svc: &ContainerService, id: &str) -> Result<Bundle, Error> {
    match read_bundle(&svc.ctx.run_dir(id)) {
        Ok(b) => Ok(b),
        Err(RuntimeError::NotFound(_)) => {
            Err(Error::conflict(format!("container {id} is not running")))
        }
        Err(e) => Err(Error::from_classified(e)),
    }
}

/// Resolves an exec's `User` in the container's root filesystem (with the
/// container's `--group-add`).
pub fn resolve(rootfs: &Path, user: &str, rec: &Record) -> Result<ResolvedUser, Error> {
    let groups = rec.host_config.group_add.clone().unwrap_or_default();
    resolve_user(rootfs, user, &groups).map_err(Error::from_classified)
}

/// The exec's process as JSON for the shim.
pub fn process_json(
    svc: &ContainerService,
    rec: &Record,
    cfg: &ExecConfig,
    console_size: Option<[u32; 2]>,
) -> Result<Vec<u8>, Error> {
    let bundle = bundle(svc, &rec.id)?;
    let user = if cfg.user.is_empty() {
        None
    } else {
        Some(resolve(&bundle.rootfs, &cfg.user, rec)?)
    };
    let env = exec_env(
        rec.config.env.as_deref().unwrap_or_default(),
        &cfg.env,
        &rec.config.hostname,
        cfg.tty,
    )
    .map_err(Error::from_classified)?;
    let mut args = Vec::with_capacity(cfg.args.len() + 1);
    args.push(cfg.entrypoint.clone());
    args.extend(cfg.args.iter().cloned());
    let exec = ExecProcess {
        args,
        env,
        cwd: (!cfg.working_dir.is_empty()).then(|| cfg.working_dir.clone()),
        user,
        tty: cfg.tty,
        console_size: console_size
            .or(cfg.console_size)
            .map(|[h, w]| (u64::from(h), u64::from(w))),
        privileged: cfg.privileged,
    };
    exec_process_json(&bundle.process, &exec, &svc.ctx.host).map_err(Error::from_classified)
}
