//! `POST /containers/create`: validate the request (a 400 naming the bad
//! field), merge the image's configuration, choose ID, name and hostname,
//! create the read-write layer and the container's files, and persist.
//! The record is written last, so a crash leaves the container whole or
//! absent.

use std::sync::Arc;

use berth_api::Error;
use berth_api::types::config::ContainerConfig;
use berth_api::types::container::{
    ContainerCreateBody, ContainerCreateResponse, HostConfig, MountPoint,
};
use berth_runtime::parse::{self, MountSpec, MountType};
use chrono::Utc;

use super::record::Record;
use super::state::State;
use super::{Container, ContainerService, files, names};

/// Restart policies Docker knows.
const RESTART_POLICIES: &[&str] = &["", "no", "always", "unless-stopped", "on-failure"];
/// Options of the json-file log driver.
const LOG_OPTS: &[&str] = &[
    "max-size",
    "max-file",
    "compress",
    "labels",
    "labels-regex",
    "env",
    "env-regex",
    "tag",
];

fn rt_err(e: berth_runtime::RuntimeError) -> Error {
    Error::from_classified(e)
}

fn parse_err(e: parse::ParseError) -> Error {
    Error::invalid(e.message().to_string())
}

/// The image configuration merged under the user's, as Docker merges them.
pub fn merge_image_config(user: &mut ContainerConfig, image: &ContainerConfig) {
    if user.user.is_empty() {
        user.user = image.user.clone();
    }
    if let Some(ports) = &image.exposed_ports {
        let mine = user.exposed_ports.get_or_insert_with(Default::default);
        for (k, v) in ports {
            mine.entry(k.clone()).or_insert(*v);
        }
    }
    let mut env = image.env.clone().unwrap_or_default();
    for kv in user.env.clone().unwrap_or_default() {
        let key = kv.split('=').next().unwrap_or("").to_string();
        env.retain(|e| e.split('=').next().unwrap_or("") != key);
        env.push(kv);
    }
    user.env = Some(env);
    if let Some(labels) = &image.labels {
        let mine = user.labels.get_or_insert_with(Default::default);
        for (k, v) in labels {
            mine.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if user.entrypoint.as_ref().is_none_or(Vec::is_empty) {
        if user.cmd.as_ref().is_none_or(Vec::is_empty) {
            user.cmd = image.cmd.clone();
            user.args_escaped = image.args_escaped;
        }
        if user.entrypoint.is_none() {
            user.entrypoint = image.entrypoint.clone();
        }
    }
    if user.healthcheck.is_none() {
        user.healthcheck = image.healthcheck.clone();
    } else if let (Some(mine), Some(theirs)) =
        (user.healthcheck.as_mut(), image.healthcheck.as_ref())
    {
        if mine.test.as_ref().is_none_or(Vec::is_empty) {
            mine.test = theirs.test.clone();
        }
        if mine.interval == 0 {
            mine.interval = theirs.interval;
        }
        if mine.timeout == 0 {
            mine.timeout = theirs.timeout;
        }
        if mine.start_period == 0 {
            mine.start_period = theirs.start_period;
        }
        if mine.start_interval == 0 {
            mine.start_interval = theirs.start_interval;
        }
        if mine.retries == 0 {
            mine.retries = theirs.retries;
        }
    }
    if user.working_dir.is_empty() {
        user.working_dir = image.working_dir.clone();
    }
    if let Some(vols) = &image.volumes {
        let mine = user.volumes.get_or_insert_with(Default::default);
        for (k, v) in vols {
            mine.entry(k.clone()).or_insert(*v);
        }
    }
    if user.on_build.is_none() {
        user.on_build = image.on_build.clone();
    }
    if user.stop_signal.is_empty() {
        user.stop_signal = image.stop_signal.clone();
    }
    if user.shell.is_none() {
        user.shell = image.shell.clone();
    }
}

/// The mounts of a container: `-v` binds, `--mount` and `--tmpfs`.
pub fn mount_specs(hc: &HostConfig) -> Result<Vec<MountSpec>, Error> {
    let mut out: Vec<MountSpec> = Vec::new();
    for b in hc.binds.iter().flatten() {
        out.push(parse::parse_volume_spec(b).map_err(parse_err)?);
    }
    for m in hc.mounts.iter().flatten() {
        let mut spec = MountSpec {
            kind: match m.kind.as_str() {
                "bind" => MountType::Bind,
                "volume" => MountType::Volume,
                "tmpfs" => MountType::Tmpfs,
                other => {
                    return Err(Error::invalid(format!(
                        "invalid mount config: mount type unknown: {other:?}"
                    )));
                }
            },
            source: m.source.clone(),
            target: m.target.clone(),
            read_only: m.read_only,
            ..Default::default()
        };
        if let Some(b) = &m.bind_options {
            if !b.propagation.is_empty() {
                spec.propagation =
                    Some(parse::Propagation::parse(&b.propagation).ok_or_else(|| {
                        Error::invalid(format!(
                            "invalid mount config: invalid propagation {:?}",
                            b.propagation
                        ))
                    })?);
            }
            spec.bind_non_recursive = b.non_recursive;
            spec.create_source = b.create_mountpoint;
        }
        if let Some(t) = &m.tmpfs_options {
            spec.tmpfs_size = t.size_bytes;
            spec.tmpfs_mode = t.mode;
        }
        spec.validate().map_err(|e| {
            Error::invalid(format!(
                "invalid mount config for type {:?}: {}",
                m.kind,
                e.message()
            ))
        })?;
        out.push(spec);
    }
    for (dst, opts) in hc.tmpfs.iter().flatten() {
        let text = if opts.is_empty() {
            dst.clone()
        } else {
            format!("{dst}:{opts}")
        };
        let t = parse::parse_tmpfs(&text).map_err(parse_err)?;
        out.push(MountSpec {
            kind: MountType::Tmpfs,
            target: t.destination,
            mode: t.options.join(","),
            ..Default::default()
        });
    }
    let mut seen = std::collections::HashSet::new();
    for m in &out {
        if !seen.insert(m.target.clone()) {
            return Err(Error::invalid(format!(
                "Duplicate mount point: {}",
                m.target
            )));
        }
        match m.kind {
            MountType::Volume => {
                return Err(Error::invalid(format!(
                    "volume mounts are not supported by this berthd yet ({}): use a bind mount (-v /host/path:{})",
                    if m.source.is_empty() {
                        "anonymous volume".to_string()
                    } else {
                        format!("volume {:?}", m.source)
                    },
                    m.target
                )));
            }
            MountType::Bind => {
                let src = std::path::Path::new(&m.source);
                if !src.is_absolute() {
                    return Err(Error::invalid(format!(
                        "invalid mount config for type \"bind\": invalid mount path: '{}' mount path must be absolute",
                        m.source
                    )));
                }
                if !m.create_source && !src.exists() {
                    return Err(Error::invalid(format!(
                        "invalid mount config for type \"bind\": bind source path does not exist: {}",
                        m.source
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// How inspect shows a mount.
pub fn mount_point(m: &MountSpec) -> MountPoint {
    MountPoint {
        kind: m.kind.as_str().to_string(),
        name: String::new(),
        source: m.source.clone(),
        destination: m.target.clone(),
        driver: String::new(),
        mode: m.mode.clone(),
        rw: !m.read_only,
        propagation: match m.kind {
            MountType::Bind => m
                .propagation
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "rprivate".to_string()),
            _ => String::new(),
        },
    }
}

impl ContainerService {
    /// Checks the host configuration as Docker does before anything is
    /// created; returns warnings.
    fn validate(
        &self,
        config: &ContainerConfig,
        hc: &mut HostConfig,
    ) -> Result<Vec<String>, Error> {
        let mut warnings = Vec::new();
        if !config.working_dir.is_empty() && !config.working_dir.starts_with('/') {
            return Err(Error::invalid(format!(
                "the working directory '{}' is invalid, it needs to be an absolute path",
                config.working_dir
            )));
        }
        super::health::validate(config.healthcheck.as_ref())?;
        let rp = &hc.restart_policy;
        if !RESTART_POLICIES.contains(&rp.name.as_str()) {
            return Err(Error::invalid(format!(
                "invalid restart policy '{}'",
                rp.name
            )));
        }
        if rp.maximum_retry_count < 0 {
            return Err(Error::invalid(
                "invalid restart policy: maximum retry count cannot be negative",
            ));
        }
        if rp.maximum_retry_count > 0 && rp.name != "on-failure" {
            return Err(Error::invalid(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                    .to_string(),
            ));
        }
        if hc.auto_remove && !matches!(rp.name.as_str(), "" | "no") {
            return Err(Error::invalid(
                "can't create 'AutoRemove' container with restart policy",
            ));
        }
        match hc.log_config.kind.as_str() {
            "" | "json-file" => {
                hc.log_config.kind = "json-file".to_string();
                for (k, v) in hc.log_config.config.iter().flatten() {
                    if !LOG_OPTS.contains(&k.as_str()) {
                        return Err(Error::invalid(format!(
                            "unknown log opt '{k}' for json-file log driver"
                        )));
                    }
                    match k.as_str() {
                        "max-size" if v != "-1" => {
                            parse::ram_in_bytes(v).map_err(|e| {
                                Error::invalid(format!("invalid max-size {v:?}: {}", e.message()))
                            })?;
                        }
                        "max-file" => {
                            let n: i64 = v.parse().map_err(|_| {
                                Error::invalid(format!("invalid max-file {v:?}: not a number"))
                            })?;
                            if n < 1 {
                                return Err(Error::invalid("max-file cannot be less than 1"));
                            }
                        }
                        "compress" if v == "true" => {
                            return Err(Error::invalid(
                                "log opt compress=true is not supported by berthd's json-file driver",
                            ));
                        }
                        _ => {}
                    }
                }
            }
            "none" => {}
            other => {
                return Err(Error::invalid(format!(
                    "logging driver {other:?} is not available in berthd: use json-file or none"
                )));
            }
        }
        if hc.memory > 0 && hc.memory < 6 * 1024 * 1024 {
            return Err(Error::invalid("Minimum memory limit allowed is 6MB"));
        }
        if hc.memory_swap > 0 && hc.memory > 0 && hc.memory_swap < hc.memory {
            return Err(Error::invalid(
                "Minimum memoryswap limit should be larger than memory limit, see usage",
            ));
        }
        if hc.memory_swap > 0 && hc.memory == 0 {
            return Err(Error::invalid(
                "You should always set the Memory limit when using Memoryswap limit, see usage",
            ));
        }
        if hc.nano_cpus > 0 && (hc.cpu_period > 0 || hc.cpu_quota > 0) {
            return Err(Error::invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set",
            ));
        }
        if hc.nano_cpus < 0 || hc.nano_cpus > self.ctx.ncpu * 1_000_000_000 {
            return Err(Error::invalid(format!(
                "Range of CPUs is from 0.01 to {}.00, as there are only {} CPUs available",
                self.ctx.ncpu, self.ctx.ncpu
            )));
        }
        if hc.shm_size < 0 {
            return Err(Error::invalid("SHM size can not be less than 0"));
        }
        if hc.oom_score_adj < -1000 || hc.oom_score_adj > 1000 {
            return Err(Error::invalid(format!(
                "Invalid value {}, range for oom score adj is [-1000, 1000]",
                hc.oom_score_adj
            )));
        }
        for opt in hc.security_opt.iter().flatten() {
            parse::parse_security_opt(opt).map_err(parse_err)?;
        }
        for cap in hc
            .cap_add
            .iter()
            .flatten()
            .chain(hc.cap_drop.iter().flatten())
        {
            if !cap.eq_ignore_ascii_case("ALL") {
                berth_runtime::spec::caps::normalize_capability(cap).map_err(rt_err)?;
            }
        }
        for u in hc.ulimits.iter().flatten() {
            let ul = parse::Ulimit {
                name: u.name.clone(),
                soft: u.soft,
                hard: u.hard,
            };
            ul.validate().map_err(parse_err)?;
        }
        let resources = berth_runtime::spec::Resources::from(&*hc);
        let (_, w) = berth_runtime::spec::validate_resources(&resources, &self.ctx.host, false)
            .map_err(rt_err)?;
        warnings.extend(w);
        if !hc.runtime.is_empty() && !self.ctx.runtimes.statuses.contains_key(&hc.runtime) {
            return Err(Error::invalid(format!(
                "unknown or invalid runtime name: {}",
                hc.runtime
            )));
        }
        // The network mode is checked by plan_networks (network.rs).
        mount_specs(hc)?;
        Ok(warnings)
    }

    /// Creates a container (blocking; run on the blocking pool).
    pub fn create(
        self: &Arc<Self>,
        name: Option<String>,
        body: ContainerCreateBody,
    ) -> Result<ContainerCreateResponse, Error> {
        let mut config = body.config;
        let mut hc = body.host_config.unwrap_or_default();
        if config.image.is_empty() {
            return Err(Error::invalid(
                "no image was specified: Config.Image is empty",
            ));
        }
        let image = self.ctx.images.lookup(&config.image)?;
        let warnings = self.validate(&config, &mut hc)?;
        if let Some(img_cfg) = &image.config.config {
            merge_image_config(&mut config, img_cfg);
        }
        let mut argv: Vec<String> = config.entrypoint.clone().unwrap_or_default();
        argv.extend(config.cmd.clone().unwrap_or_default());
        if argv.is_empty() {
            return Err(Error::invalid("No command specified"));
        }
        // Network mode (default `bridge`), endpoints, ports, links: network.rs.
        let networks = self.plan_networks(&config, &mut hc, body.networking_config.as_ref())?;
        if hc.runtime.is_empty() {
            hc.runtime = self.ctx.runtimes.default.clone();
        }
        let id = hex::encode(rand::random::<[u8; 32]>());
        let name = match name {
            Some(n) => {
                let n = names::validate(&n)?;
                self.reserve_name(&n, &id)?;
                n
            }
            None => {
                let mut retry = 0;
                loop {
                    let n = names::random_name(retry);
                    if self.reserve_name(&n, &id).is_ok() {
                        break n;
                    }
                    retry += 1;
                }
            }
        };
        if config.hostname.is_empty() {
            config.hostname = if hc.network_mode == "host" {
                crate::host::hostname()
            } else {
                id[..12].to_string()
            };
        }
        let result = self.create_files(&id, &name, config, hc, networks, &image);
        match result {
            Ok(container) => {
                self.insert(container.clone());
                self.event(&container, "create", &[]);
                Ok(ContainerCreateResponse { id, warnings })
            }
            Err(e) => {
                self.release_name(&name, &id);
                if let Err(e2) = self.ctx.layers.remove_rw(&id) {
                    tracing::warn!(container = %id, error = %e2, "cleaning up a failed create");
                }
                let _ = self.ctx.store.remove(&id);
                Err(e)
            }
        }
    }

    fn create_files(
        &self,
        id: &str,
        name: &str,
        config: ContainerConfig,
        hc: HostConfig,
        networks: std::collections::BTreeMap<String, berth_api::types::container::EndpointSettings>,
        image: &berth_image::image_store::Image,
    ) -> Result<Arc<Container>, Error> {
        let dir = self.ctx.store.create_dir(id)?;
        self.write_etc_files(id, &config, &hc)?;
        let top = image.top_chain_id.clone();
        self.ctx
            .layers
            .create_rw(id, top.as_ref(), &files::init_layer)
            .map_err(Error::from)?;
        let mounts = mount_specs(&hc)?.iter().map(mount_point).collect();
        let argv_path;
        let args;
        {
            let mut argv: Vec<String> = config.entrypoint.clone().unwrap_or_default();
            argv.extend(config.cmd.clone().unwrap_or_default());
            argv_path = argv.first().cloned().unwrap_or_default();
            args = argv.into_iter().skip(1).collect();
        }
        let record = Record {
            id: id.to_string(),
            name: name.to_string(),
            created: Utc::now(),
            image_ref: config.image.clone(),
            image_id: image.id.clone(),
            top_layer: top,
            path: argv_path,
            args,
            driver: self.ctx.layers.driver().name().to_string(),
            runtime: hc.runtime.clone(),
            config,
            host_config: hc,
            networks,
            ports: Default::default(),
            mounts,
            state: State::default(),
            restart_count: 0,
        };
        let _ = dir;
        self.ctx.store.save(&record)?;
        Ok(Container::new(record))
    }

    /// `--dns`, else the daemon's `dns` setting.
    pub(super) fn dns_servers(&self, hc: &HostConfig) -> Vec<String> {
        match &hc.dns {
            Some(d) if !d.is_empty() => d.clone(),
            _ => self.ctx.config.dns.clone(),
        }
    }

    /// Writes `hostname`, `hosts` and `resolv.conf` in the container's
    /// directory; not synced, as each start rewrites them.
    pub(super) fn write_etc_files(
        &self,
        id: &str,
        config: &ContainerConfig,
        hc: &HostConfig,
    ) -> Result<(), Error> {
        let dir = self.ctx.store.dir_of(id);
        let write = |name: &str, text: &str| {
            berth_fsutil::replace_file(&dir.join(name), text.as_bytes())
                .map_err(|e| Error::system(format!("cannot write {name} of container {id}: {e}")))
        };
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        if hc.network_mode == "host" {
            write("hostname", &format!("{}\n", config.hostname))?;
            write(
                "hosts",
                &std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| files::hosts(None, &[])),
            )?;
            write("resolv.conf", &host_resolv)?;
            return Ok(());
        }
        write("hostname", &format!("{}\n", config.hostname))?;
        let extra = hc.extra_hosts.clone().unwrap_or_default();
        write("hosts", &files::hosts(None, &extra))?;
        let dns = self.dns_servers(hc);
        write(
            "resolv.conf",
            &files::resolv_conf(
                &host_resolv,
                &dns,
                &hc.dns_search.clone().unwrap_or_default(),
                &hc.dns_options.clone().unwrap_or_default(),
            ),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_follows_docker() {
        let image = ContainerConfig {
            env: Some(vec!["PATH=/bin".into(), "A=image".into()]),
            cmd: Some(vec!["sh".into()]),
            working_dir: "/srv".into(),
            labels: Some([("a".to_string(), "1".to_string())].into()),
            ..Default::default()
        };
        let mut user = ContainerConfig {
            env: Some(vec!["A=user".into()]),
            ..Default::default()
        };
        merge_image_config(&mut user, &image);
        assert_eq!(user.env.unwrap(), vec!["PATH=/bin", "A=user"]);
        assert_eq!(user.cmd.unwrap(), vec!["sh"]);
        assert_eq!(user.working_dir, "/srv");
        assert_eq!(user.labels.unwrap()["a"], "1");

        // A user entrypoint drops the image's command.
        let image = ContainerConfig {
            entrypoint: Some(vec!["/entry".into()]),
            cmd: Some(vec!["default".into()]),
            ..Default::default()
        };
        let mut user = ContainerConfig {
            entrypoint: Some(vec!["/mine".into()]),
            ..Default::default()
        };
        merge_image_config(&mut user, &image);
        assert_eq!(user.entrypoint.unwrap(), vec!["/mine"]);
        assert_eq!(user.cmd, None);
    }

    #[test]
    fn mount_specs_refuse_missing_bind_source() {
        let hc = HostConfig {
            mounts: Some(vec![berth_api::types::container::Mount {
                kind: "bind".into(),
                source: "/nonexistent/berth/test".into(),
                target: "/x".into(),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let err = mount_specs(&hc).unwrap_err();
        assert!(
            err.message().contains("bind source path does not exist"),
            "{}",
            err.message()
        );
        let hc = HostConfig {
            binds: Some(vec!["/tmp:/x:ro".into(), "/tmp:/x".into()]),
            ..Default::default()
        };
        assert!(
            mount_specs(&hc)
                .unwrap_err()
                .message()
                .contains("Duplicate mount point")
        );
    }
}
