//! `POST /containers/{id}/exec`: checks the container and the request as
//! Docker does, registers the exec and announces `exec_create`.

use std::sync::Arc;

use berth_api::Error;
use berth_api::types::exec::ExecCreateBody;
use berth_runtime::spec::exec_env;

use super::{Exec, ExecConfig, ExecService, process};
use crate::containers::parse_detach_keys;
use crate::containers::state::Status;

pub(super) fn new_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

impl ExecService {
    /// Creates an exec (blocking: a given user is looked up in the
    /// container's `/etc/passwd` so that a typo fails now).
    pub fn create(
        self: &Arc<Self>,
        container: &str,
        body: ExecCreateBody,
    ) -> Result<String, Error> {
        let c = self.containers.get(container)?;
        let rec = c.snapshot();
        // Docker names the container as given when paused, by ID otherwise.
        let shown = if rec.state.status == Status::Paused {
            container
        } else {
            &rec.id
        };
        Self::check_container(rec.state.status, shown)?;
        let mut cmd = body.cmd.unwrap_or_default().into_iter();
        let Some(entrypoint) = cmd.next().filter(|e| !e.is_empty()) else {
            return Err(Error::invalid("No exec command specified"));
        };
        let env = body.env.unwrap_or_default();
        exec_env(&[], &env, "", false).map_err(Error::from_classified)?;
        if !body.working_dir.is_empty() && !body.working_dir.starts_with('/') {
            return Err(Error::invalid(format!(
                "the working directory '{}' is invalid, it needs to be an absolute path",
                body.working_dir
            )));
        }
        let detach_keys = if body.detach_keys.is_empty() {
            Vec::new()
        } else {
            parse_detach_keys(&body.detach_keys).map_err(|_| {
                Error::invalid(format!(
                    "Invalid escape keys ({}) provided",
                    body.detach_keys
                ))
            })?
        };
        if !body.user.is_empty() {
            let bundle = process::bundle(&self.containers, &rec.id)?;
            process::resolve(&bundle.rootfs, &body.user, &rec)?;
        }
        let shown_user = if body.user.is_empty() {
            rec.config.user.clone()
        } else {
            body.user.clone()
        };
        let cfg = ExecConfig {
            entrypoint,
            args: cmd.collect(),
            tty: body.tty,
            privileged: body.privileged,
            user: body.user,
            shown_user,
            working_dir: body.working_dir,
            env,
            open_stdin: body.attach_stdin,
            open_stdout: body.attach_stdout,
            open_stderr: body.attach_stderr,
            detach_keys,
            console_size: body.console_size.filter(|_| body.tty),
        };
        let exec = Exec::new(new_id(), rec.id.clone(), cfg, false);
        self.register(exec.clone())?;
        self.announce(&exec, "exec_create");
        Ok(exec.id.clone())
    }

    /// Publishes `<action>: <command line>` for the exec's container.
    pub(super) fn announce(&self, exec: &Exec, action: &str) {
        if let Ok(c) = self.containers.get(&exec.container_id) {
            self.containers.event(
                &c,
                &format!("{action}: {}", exec.command_line()),
                &[("execID", exec.id.clone())],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex() {
        let a = new_id();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_id());
    }
}
