//! The smaller operations: rename, pause, unpause, update, top, changes,
//! export and resize.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use berth_api::Error;
use berth_api::types::container::{FilesystemChange, TopResponse, UpdateConfig, UpdateResponse};
use berth_runtime::cgroup::{ResourceUpdate, plan_update};
use berth_runtime::runtimes::RuntimeCli;
use berth_server::backend::ByteStream;
use chrono::Utc;

use super::state::Status;
use super::{Container, ContainerService, names};
use crate::blocking::{self, StreamWriter};

impl ContainerService {
    fn runtime_cli(&self, c: &Container) -> Result<RuntimeCli, Error> {
        let runtime = c.lock().runtime.clone();
        self.ctx
            .runtimes
            .cli(Some(&runtime), self.ctx.runtime_root(&runtime))
            .map_err(Error::from_classified)
    }

    /// `POST /containers/{id}/rename`.
    pub fn rename(&self, name: &str, new_name: &str) -> Result<(), Error> {
        let c = self.get(name)?;
        if new_name.is_empty() {
            return Err(Error::invalid("Neither old nor new names may be empty"));
        }
        let new_name = names::validate(new_name)?;
        let old = c.lock().name.clone();
        if old == new_name {
            return Err(Error::invalid(
                "Renaming a container with the same name as its current name",
            ));
        }
        self.reserve_name(&new_name, &c.id)?;
        c.lock().name = new_name.clone();
        if let Err(e) = self.save(&c) {
            c.lock().name = old.clone();
            self.release_name(&new_name, &c.id);
            return Err(e);
        }
        self.release_name(&old, &c.id);
        self.event(&c, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// `POST /containers/{id}/pause` (the freezer, through the runtime).
    pub async fn pause(self: &Arc<Self>, name: &str) -> Result<(), Error> {
        let c = self.get(name)?;
        let _guard = c.lifecycle.lock().await;
        match c.lock().state.status {
            Status::Running => {}
            Status::Paused => {
                return Err(Error::conflict(format!(
                    "Container {} is already paused",
                    c.id
                )));
            }
            _ => {
                return Err(Error::conflict(format!(
                    "Container {} is not running",
                    c.id
                )));
            }
        }
        let cli = self.runtime_cli(&c)?;
        let id = c.id.clone();
        blocking::run(move || cli.pause(&id).map_err(Error::from_classified)).await?;
        c.lock().state.status = Status::Paused;
        let svc = self.clone();
        let c2 = c.clone();
        blocking::run(move || svc.save(&c2)).await?;
        c.announce(false);
        self.event(&c, "pause", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/unpause`.
    pub async fn unpause(self: &Arc<Self>, name: &str) -> Result<(), Error> {
        let c = self.get(name)?;
        let _guard = c.lifecycle.lock().await;
        if c.lock().state.status != Status::Paused {
            return Err(Error::conflict(format!("Container {} is not paused", c.id)));
        }
        self.unpause_container(&c).await?;
        self.event(&c, "unpause", &[]);
        Ok(())
    }

    pub(super) async fn unpause_container(
        self: &Arc<Self>,
        c: &Arc<Container>,
    ) -> Result<(), Error> {
        let cli = self.runtime_cli(c)?;
        let id = c.id.clone();
        blocking::run(move || cli.resume(&id).map_err(Error::from_classified)).await?;
        {
            let mut rec = c.lock();
            if rec.state.status == Status::Paused {
                rec.state.status = Status::Running;
            }
        }
        let svc = self.clone();
        let c2 = c.clone();
        blocking::run(move || svc.save(&c2)).await?;
        c.announce(false);
        Ok(())
    }

    /// `POST /containers/{id}/update`: resources (live when running) and
    /// the restart policy.
    pub async fn update(
        self: &Arc<Self>,
        name: &str,
        update: UpdateConfig,
    ) -> Result<UpdateResponse, Error> {
        let c = self.get(name)?;
        let _guard = c.lifecycle.lock().await;
        let (hc, running) = {
            let rec = c.lock();
            (rec.host_config.clone(), rec.state.status.has_process())
        };
        if let Some(rp) = &update.restart_policy {
            if !["", "no", "always", "unless-stopped", "on-failure"].contains(&rp.name.as_str()) {
                return Err(Error::invalid(format!(
                    "invalid restart policy '{}'",
                    rp.name
                )));
            }
            if hc.auto_remove && !matches!(rp.name.as_str(), "" | "no") {
                return Err(Error::invalid(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container",
                ));
            }
            if rp.maximum_retry_count != 0 && rp.name != "on-failure" {
                return Err(Error::invalid(
                    "invalid restart policy: maximum retry count can only be used with 'on-failure'",
                ));
            }
        }
        let current = berth_runtime::spec::Resources::from(&hc);
        let plan = plan_update(&current, &ResourceUpdate::from(&update), &self.ctx.host)
            .map_err(Error::from_classified)?;
        if running {
            let cli = self.runtime_cli(&c)?;
            let id = c.id.clone();
            let linux = plan.linux.clone();
            blocking::run(move || cli.update(&id, &linux).map_err(Error::from_classified)).await?;
        }
        {
            let mut rec = c.lock();
            let r = &plan.resources;
            let hc = &mut rec.host_config;
            hc.memory = r.memory;
            hc.memory_swap = r.memory_swap;
            hc.memory_reservation = r.memory_reservation;
            hc.cpu_shares = r.cpu_shares;
            hc.nano_cpus = r.nano_cpus;
            hc.cpu_period = r.cpu_period;
            hc.cpu_quota = r.cpu_quota;
            hc.cpuset_cpus = r.cpuset_cpus.clone();
            hc.cpuset_mems = r.cpuset_mems.clone();
            hc.pids_limit = r.pids_limit;
            hc.blkio_weight = r.blkio_weight;
            if let Some(rp) = update.restart_policy.clone() {
                hc.restart_policy = rp;
            }
        }
        let svc = self.clone();
        let c2 = c.clone();
        blocking::run(move || svc.save(&c2)).await?;
        self.event(&c, "update", &[]);
        Ok(UpdateResponse {
            warnings: plan.warnings,
        })
    }

    /// `GET /containers/{id}/top`: the host's `ps` limited to the
    /// container's processes.
    pub async fn top(self: &Arc<Self>, name: &str, ps_args: &str) -> Result<TopResponse, Error> {
        let c = self.get(name)?;
        c.lock().state.check_running(&c.id)?;
        let cli = self.runtime_cli(&c)?;
        let id = c.id.clone();
        let args: Vec<String> = if ps_args.trim().is_empty() {
            vec!["-ef".to_string()]
        } else {
            ps_args.split_whitespace().map(str::to_string).collect()
        };
        let top = blocking::run(move || {
            let pids = cli.ps(&id).map_err(Error::from_classified)?;
            let out = std::process::Command::new("ps")
                .args(&args)
                .output()
                .map_err(|e| Error::system(format!("cannot run ps: {e}")))?;
            if !out.status.success() {
                return Err(Error::invalid(format!(
                    "ps: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            parse_ps(&String::from_utf8_lossy(&out.stdout), &pids)
        })
        .await?;
        self.event(&c, "top", &[]);
        Ok(top)
    }

    /// `POST /containers/{id}/resize`.
    pub async fn resize(&self, name: &str, height: u32, width: u32) -> Result<(), Error> {
        let c = self.get(name)?;
        c.lock().state.check_running(&c.id)?;
        let Some(shim) = c.shim() else {
            return Err(Error::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        };
        let rows = u16::try_from(height)
            .map_err(|_| Error::invalid(format!("invalid height {height}")))?;
        let cols =
            u16::try_from(width).map_err(|_| Error::invalid(format!("invalid width {width}")))?;
        shim.resize(rows, cols)
            .await
            .map_err(Error::from_classified)?;
        self.event(
            &c,
            "resize",
            &[("height", height.to_string()), ("width", width.to_string())],
        );
        Ok(())
    }

    /// `GET /containers/{id}/changes`.
    pub fn changes(&self, name: &str) -> Result<Vec<FilesystemChange>, Error> {
        let c = self.get(name)?;
        let (id, top) = {
            let rec = c.lock();
            (rec.id.clone(), rec.top_layer.clone())
        };
        let upper = self.ctx.layers.rw_diff_dir(&id).map_err(Error::from)?;
        let lower = match &top {
            Some(chain) => {
                let info = self.ctx.layers.get(chain).map_err(Error::from)?;
                let driver = self.ctx.layers.driver();
                let root = driver.get(&info.cache_id).map_err(Error::from)?;
                let result = if driver.name() == "overlay2" {
                    overlay_changes(&upper, &root)
                } else {
                    naive_changes(&upper, &root)
                };
                let _ = driver.put(&info.cache_id);
                result?
            }
            None => overlay_changes(&upper, Path::new("/nonexistent-berth-lower"))?,
        };
        Ok(lower)
    }

    /// `GET /containers/{id}/export`: the container's root filesystem as
    /// a tar stream.
    pub async fn export(self: &Arc<Self>, name: &str) -> Result<ByteStream, Error> {
        let c = self.get(name)?;
        let id = c.id.clone();
        let svc = self.clone();
        let root = blocking::run(move || svc.ctx.layers.mount_rw(&id).map_err(Error::from)).await?;
        let (mut writer, stream) = StreamWriter::new();
        let svc = self.clone();
        let id = c.id.clone();
        tokio::task::spawn_blocking(move || {
            let result = write_tree_tar(&root, &mut writer);
            let _ = svc.ctx.layers.unmount_rw(&id);
            match result {
                Ok(()) => {
                    let _ = writer.finish();
                }
                Err(e) => writer.fail(&Error::system(format!("export failed: {e}"))),
            }
        });
        self.event(&c, "export", &[]);
        Ok(stream)
    }
}

/// Keeps the `ps` rows whose PID column is one of `pids`.
pub fn parse_ps(output: &str, pids: &[i32]) -> Result<TopResponse, Error> {
    let mut lines = output.lines();
    let header = lines.next().unwrap_or("");
    let titles: Vec<String> = header.split_whitespace().map(str::to_string).collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| Error::invalid("Couldn't find PID field in ps output"))?;
    let wanted: HashSet<i32> = pids.iter().copied().collect();
    let mut processes = Vec::new();
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(pid) = fields.get(pid_col).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !wanted.contains(&pid) {
            continue;
        }
        // The last column (the command) may contain spaces.
        let mut row: Vec<String> = fields[..titles.len().saturating_sub(1).min(fields.len())]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if fields.len() >= titles.len() {
            row.push(fields[titles.len() - 1..].join(" "));
        }
        processes.push(row);
    }
    Ok(TopResponse { titles, processes })
}

fn io_err(e: std::io::Error) -> Error {
    Error::system(format!("reading the container's changes: {e}"))
}

/// Changes from an overlay upper directory: whiteouts are deletions;
/// everything else is a change when the lower layers had it, an addition
/// otherwise.
fn overlay_changes(upper: &Path, lower: &Path) -> Result<Vec<FilesystemChange>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = upper.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(io_err)?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = rel.join(e.file_name());
            let meta = e.metadata().map_err(io_err)?;
            let abs = format!("/{}", path.display());
            use std::os::unix::fs::FileTypeExt;
            if meta.file_type().is_char_device() && meta.rdev() == 0 {
                out.push(FilesystemChange { path: abs, kind: 2 });
                continue;
            }
            let existed = std::fs::symlink_metadata(lower.join(&path)).is_ok();
            out.push(FilesystemChange {
                path: abs,
                kind: if existed { 0 } else { 1 },
            });
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Changes by comparing a full copy (vfs) with its parent's tree.
fn naive_changes(rw: &Path, lower: &Path) -> Result<Vec<FilesystemChange>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mine: Vec<_> = std::fs::read_dir(rw.join(&rel))
            .map_err(io_err)?
            .filter_map(Result::ok)
            .collect();
        let mut names = HashSet::new();
        for e in mine {
            names.insert(e.file_name());
            let path = rel.join(e.file_name());
            let meta = e.metadata().map_err(io_err)?;
            let abs = format!("/{}", path.display());
            match std::fs::symlink_metadata(lower.join(&path)) {
                Err(_) => out.push(FilesystemChange { path: abs, kind: 1 }),
                Ok(old) => {
                    let changed = old.mode() != meta.mode()
                        || old.uid() != meta.uid()
                        || old.gid() != meta.gid()
                        || (!meta.is_dir()
                            && (old.size() != meta.size()
                                || old.mtime() != meta.mtime()
                                || old.mtime_nsec() != meta.mtime_nsec()));
                    if changed {
                        out.push(FilesystemChange { path: abs, kind: 0 });
                    }
                }
            }
            if meta.is_dir() {
                stack.push(path);
            }
        }
        if let Ok(old) = std::fs::read_dir(lower.join(&rel)) {
            for e in old.filter_map(Result::ok) {
                if !names.contains(&e.file_name()) {
                    out.push(FilesystemChange {
                        path: format!("/{}", rel.join(e.file_name()).display()),
                        kind: 2,
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Writes a directory tree as a tar stream (no symlinks followed).
fn write_tree_tar(root: &Path, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(&rel))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = rel.join(e.file_name());
            let full = root.join(&path);
            let meta = std::fs::symlink_metadata(&full)?;
            if meta.is_dir() {
                b.append_dir(&path, &full)?;
                stack.push(path);
            } else {
                b.append_path_with_name(&full, &path)?;
            }
        }
    }
    b.finish()?;
    let _ = Utc::now();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_rows_filtered_by_pid() {
        let out = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 /sbin/init\nroot 42 1 0 10:01 ? 00:00:00 sleep 1000\n";
        let top = parse_ps(out, &[42]).unwrap();
        assert_eq!(top.titles.len(), 8);
        assert_eq!(
            top.processes,
            vec![vec![
                "root",
                "42",
                "1",
                "0",
                "10:01",
                "?",
                "00:00:00",
                "sleep 1000"
            ]]
        );
        assert!(parse_ps("A B\n", &[1]).is_err());
    }
}
