//! `create`/`run` flags into the `POST /containers/create` body, as the
//! docker CLI's `parse` builds it: same defaults, same nulls, same error
//! messages. Values the daemon also parses go through
//! `berth_runtime::parse`.

pub mod flags;
mod mounts;
mod network;
mod ports;
pub mod resources;
pub mod values;

use std::collections::BTreeMap;

use berth_api::types::config::{ContainerConfig, HealthConfig};
use berth_api::types::container::{ContainerCreateBody, HostConfig, LogConfig, NetworkingConfig};
use berth_api::version::ApiVersion;
use serde_json::Value;

pub use flags::ContainerFlags;

use crate::goparse;

/// A flag value or combination that does not parse.
#[derive(Debug, Clone, PartialEq)]
pub enum OptsError {
    /// `invalid argument "<value>" for "<flag>" flag: <message>`.
    Flag {
        flag: &'static str,
        value: String,
        message: String,
    },
    /// A conflict or invalid content, reported after parsing.
    Invalid(String),
}

pub type OptsResult<T> = Result<T, OptsError>;

/// Wraps a value parser's error as a flag error.
pub fn flag_err(flag: &'static str, value: &str) -> impl FnOnce(String) -> OptsError {
    let value = value.to_string();
    move |message| OptsError::Flag {
        flag,
        value,
        message,
    }
}

fn invalid(message: impl Into<String>) -> OptsError {
    OptsError::Invalid(message.into())
}

/// The create request built from the flags.
#[derive(Debug, Clone, Default)]
pub struct CreateConfig {
    pub body: ContainerCreateBody,
    /// `--mount` entries in docker's shape (the typed `Mount` lacks some
    /// of its fields).
    pub mounts: Vec<Value>,
    /// `--kernel-memory`, which the typed body lacks.
    pub kernel_memory: Option<i64>,
}

impl CreateConfig {
    pub fn config(&self) -> &ContainerConfig {
        &self.body.config
    }

    pub fn host_config(&self) -> &HostConfig {
        // `parse` always sets it.
        static EMPTY: std::sync::OnceLock<HostConfig> = std::sync::OnceLock::new();
        self.body
            .host_config
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(HostConfig::default))
    }

    /// The JSON body, field for field what docker sends to a daemon of
    /// API `version`.
    pub fn to_json(&self, version: ApiVersion) -> Value {
        let mut body = self.body.clone();
        // API 1.44 moved the MAC address to the endpoint settings.
        if version.at_least(1, 44) {
            body.config.mac_address.clear();
        }
        let mut v = serde_json::to_value(&body).unwrap_or(Value::Null);
        if let Some(hc) = v.get_mut("HostConfig").and_then(Value::as_object_mut) {
            if !self.mounts.is_empty() {
                hc.insert("Mounts".into(), Value::Array(self.mounts.clone()));
            }
            if let Some(k) = self.kernel_memory {
                hc.insert("KernelMemory".into(), Value::from(k));
            }
        }
        // Docker 28 sends the gateway priority of each endpoint (API 1.48),
        // which older daemons ignore.
        if let Some(eps) = v
            .pointer_mut("/NetworkingConfig/EndpointsConfig")
            .and_then(Value::as_object_mut)
        {
            for ep in eps.values_mut() {
                if let Some(ep) = ep.as_object_mut() {
                    ep.insert("GwPriority".into(), Value::from(0));
                }
            }
        }
        v
    }
}

/// Docker's namespace mode checks (`PidMode.Valid`, …).
fn check_modes(f: &ContainerFlags) -> OptsResult<()> {
    let container_or_host = |m: &str| {
        m.is_empty() || m == "host" || m.strip_prefix("container:").is_some_and(|c| !c.is_empty())
    };
    if !container_or_host(f.pid.as_deref().unwrap_or("")) {
        return Err(invalid("--pid: invalid PID mode"));
    }
    if !container_or_host(f.uts.as_deref().unwrap_or("")) {
        return Err(invalid("--uts: invalid UTS mode"));
    }
    let userns = f.userns.as_deref().unwrap_or("");
    let userns_mode = userns.split(':').next().unwrap_or("");
    if !matches!(userns_mode, "" | "host" | "private") {
        return Err(invalid("--userns: invalid USER mode"));
    }
    if !matches!(f.cgroupns.as_deref().unwrap_or(""), "" | "host" | "private") {
        return Err(invalid("--cgroupns: invalid CGROUP mode"));
    }
    Ok(())
}

/// `Config.Env` and `Config.Labels`.
type EnvAndLabels = (Option<Vec<String>>, BTreeMap<String, String>);

fn env_and_labels(f: &ContainerFlags) -> OptsResult<EnvAndLabels> {
    let mut env = values::read_kv_files(&f.env_file, true).map_err(invalid)?;
    for e in &f.env {
        env.push(values::validate_env(e).map_err(flag_err("-e, --env", e))?);
    }
    let mut labels = values::read_kv_files(&f.label_file, false).map_err(invalid)?;
    for l in &f.label {
        labels.push(values::validate_label(l).map_err(flag_err("-l, --label", l))?);
    }
    Ok(((!env.is_empty()).then_some(env), values::kv_map(&labels)))
}

fn healthcheck(f: &ContainerFlags) -> OptsResult<Option<HealthConfig>> {
    let duration = |v: &Option<String>, flag: &'static str| -> OptsResult<i64> {
        match v {
            Some(s) => goparse::parse_duration(s).map_err(flag_err(flag, s)),
            None => Ok(0),
        }
    };
    let interval = duration(&f.health_interval, "--health-interval")?;
    let timeout = duration(&f.health_timeout, "--health-timeout")?;
    let start_period = duration(&f.health_start_period, "--health-start-period")?;
    let start_interval = duration(&f.health_start_interval, "--health-start-interval")?;
    let retries = match &f.health_retries {
        Some(s) => goparse::parse_int(s).map_err(flag_err("--health-retries", s))?,
        None => 0,
    };
    let cmd = f.health_cmd.clone().unwrap_or_default();
    let have = !cmd.is_empty()
        || interval != 0
        || timeout != 0
        || start_period != 0
        || retries != 0
        || start_interval != 0;
    if f.no_healthcheck {
        if have {
            return Err(invalid(
                "--no-healthcheck conflicts with --health-* options",
            ));
        }
        return Ok(Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        }));
    }
    if !have {
        return Ok(None);
    }
    for (v, name) in [
        (interval, "--health-interval"),
        (timeout, "--health-timeout"),
        (retries, "--health-retries"),
        (start_period, "--health-start-period"),
        (start_interval, "--health-start-interval"),
    ] {
        if v < 0 {
            return Err(invalid(format!("{name} cannot be negative")));
        }
    }
    Ok(Some(HealthConfig {
        test: (!cmd.is_empty()).then(|| vec!["CMD-SHELL".to_string(), cmd]),
        interval,
        timeout,
        start_period,
        start_interval,
        retries,
    }))
}

/// Docker's `parseSecurityOpts` and `parseSystemPaths`: a seccomp profile
/// given as a file is sent as its compacted JSON; `systempaths=unconfined`
/// becomes empty masked and read-only path lists.
type SecurityParts = (
    Option<Vec<String>>,
    Option<Vec<String>>,
    Option<Vec<String>>,
);

fn security(opts: &[String]) -> OptsResult<SecurityParts> {
    let mut out = Vec::new();
    let mut unconfined_paths = false;
    for opt in opts {
        let (k, v) = match opt.split_once('=') {
            Some(kv) => kv,
            None if opt != "no-new-privileges" => opt.split_once(':').unwrap_or((opt, "")),
            None => (opt.as_str(), ""),
        };
        if v.is_empty() && k != "no-new-privileges" {
            return Err(invalid(format!("Invalid --security-opt: {opt:?}")));
        }
        let mut opt = opt.clone();
        if k == "seccomp" && !matches!(v, "builtin" | "unconfined") {
            let text = std::fs::read(v).map_err(|e| {
                invalid(format!(
                    "opening seccomp profile ({v}) failed: {}",
                    crate::error::os_error_text(&e)
                ))
            })?;
            let json: Value = serde_json::from_slice(&text).map_err(|e| {
                invalid(format!(
                    "compacting json for seccomp profile ({v}) failed: {e}"
                ))
            })?;
            opt = format!("seccomp={json}");
        }
        if opt == "systempaths=unconfined" {
            unconfined_paths = true;
            continue;
        }
        if !opt.starts_with("seccomp=") {
            berth_runtime::parse::parse_security_opt(&opt).map_err(|e| invalid(e.to_string()))?;
        }
        out.push(opt);
    }
    if unconfined_paths {
        return Ok((Some(out), Some(Vec::new()), Some(Vec::new())));
    }
    Ok(((!out.is_empty()).then_some(out), None, None))
}

/// The docker client's `normalizeCapabilities`: `net_admin` is sent as
/// `CAP_NET_ADMIN`; `ALL` and `RESET` stay.
fn normalize_caps(caps: &[String]) -> Vec<String> {
    caps.iter()
        .map(|c| {
            let c = c.trim().to_uppercase();
            if c == "ALL" || c == "RESET" || c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            }
        })
        .collect()
}

fn opt_list(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// Builds the create request from the flags, the image and the command,
/// as docker's `parse` does. `cwd` makes `./relative` bind sources
/// absolute.
pub fn parse(
    f: &ContainerFlags,
    image: &str,
    args: &[String],
    cwd: Option<&str>,
) -> OptsResult<CreateConfig> {
    let mut attach = (false, false, false);
    for a in &f.attach {
        match a.to_lowercase().as_str() {
            "stdin" => attach.0 = true,
            "stdout" => attach.1 = true,
            "stderr" => attach.2 = true,
            _ => {
                return Err(flag_err("-a, --attach", a)(
                    "valid streams are STDIN, STDOUT and STDERR".into(),
                ));
            }
        }
    }
    let mac = f.mac_address.clone().unwrap_or_default();
    if !mac.is_empty() && !values::valid_mac(&mac) {
        return Err(invalid(format!("{mac} is not a valid mac address")));
    }
    if f.interactive {
        attach.0 = true;
    }
    if f.attach.is_empty() {
        attach.1 = true;
        attach.2 = true;
    }

    let res = resources::parse(f)?;
    let (binds, volumes) = mounts::binds_and_volumes(&f.volume, cwd).map_err(invalid)?;
    let tmpfs = mounts::tmpfs_map(&f.tmpfs).map_err(invalid)?;
    let mut mount_list = Vec::new();
    for m in &f.mount {
        mount_list.push(mounts::mount_json(m, cwd).map_err(flag_err("--mount", m))?);
    }
    let entrypoint = f.entrypoint.as_ref().map(|e| vec![e.clone()]);
    let (exposed, bindings) = ports::parse_ports(&f.publish, &f.expose).map_err(invalid)?;
    let (env, labels) = env_and_labels(f)?;
    check_modes(f)?;
    let restart = values::parse_restart_policy(&f.restart).map_err(invalid)?;

    let log_driver = f.log_driver.clone().unwrap_or_default();
    if log_driver == "none" && !f.log_opt.is_empty() {
        return Err(invalid(format!(
            "invalid logging opts for driver {log_driver}"
        )));
    }
    let (security_opt, masked, readonly) = security(&f.security_opt)?;
    let mut storage = BTreeMap::new();
    for o in &f.storage_opt {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| invalid("invalid storage option"))?;
        storage.insert(k.to_string(), v.to_string());
    }
    let health = healthcheck(f)?;
    let stop_timeout = match &f.stop_timeout {
        Some(s) => Some(goparse::parse_int(s).map_err(flag_err("--stop-timeout", s))?),
        None => None,
    };
    let oom_score_adj = match &f.oom_score_adj {
        Some(s) => goparse::parse_int(s).map_err(flag_err("--oom-score-adj", s))?,
        None => 0,
    };
    let mut extra_hosts = Vec::new();
    for h in &f.add_host {
        extra_hosts.push(values::validate_extra_host(h).map_err(flag_err("--add-host", h))?);
    }
    let mut dns = Vec::new();
    for d in &f.dns {
        dns.push(values::validate_ip(d).map_err(flag_err("--dns", d))?);
    }
    let mut dns_search = Vec::new();
    for d in &f.dns_search {
        dns_search.push(values::validate_dns_search(d).map_err(flag_err("--dns-search", d))?);
    }
    for l in &f.link {
        values::validate_link(l).map_err(flag_err("--link", l))?;
    }

    let net = network::parse_networks(
        &f.network,
        &network::LegacyFlags {
            aliases: &f.network_alias,
            links: &f.link,
            ipv4: f.ip.as_deref().unwrap_or(""),
            ipv6: f.ip6.as_deref().unwrap_or(""),
            link_local_ips: &f.link_local_ip,
            mac: &mac,
        },
    )
    .map_err(invalid)?;
    let config_mac = net
        .endpoints
        .get(&net.mode)
        .map(|ep| ep.mac_address.clone())
        .unwrap_or_default();

    let config = ContainerConfig {
        hostname: f.hostname.clone().unwrap_or_default(),
        domainname: f.domainname.clone().unwrap_or_default(),
        user: f.user.clone().unwrap_or_default(),
        attach_stdin: attach.0,
        attach_stdout: attach.1,
        attach_stderr: attach.2,
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: f.tty,
        open_stdin: f.interactive,
        stdin_once: f.interactive && attach.0,
        env,
        cmd: (!args.is_empty()).then(|| args.to_vec()),
        healthcheck: health,
        image: image.to_string(),
        volumes: Some(volumes),
        working_dir: f.workdir.clone().unwrap_or_default(),
        entrypoint,
        mac_address: config_mac,
        labels: Some(labels),
        stop_signal: f.stop_signal.clone().unwrap_or_default(),
        stop_timeout,
        ..Default::default()
    };

    let kernel_memory = res.kernel_memory;
    let mut host = res.host;
    host.binds = binds;
    host.container_id_file = f.cidfile.clone().unwrap_or_default();
    host.oom_score_adj = oom_score_adj;
    host.auto_remove = f.rm;
    host.privileged = f.privileged;
    host.port_bindings = Some(bindings);
    host.links = opt_list(&f.link);
    host.publish_all_ports = f.publish_all;
    host.dns = Some(dns);
    host.dns_search = Some(dns_search);
    host.dns_options = Some(f.dns_option.clone());
    host.extra_hosts = opt_list(&extra_hosts);
    host.volumes_from = opt_list(&f.volumes_from);
    host.ipc_mode = f.ipc.clone().unwrap_or_default();
    host.network_mode = net.mode.clone();
    host.pid_mode = f.pid.clone().unwrap_or_default();
    host.uts_mode = f.uts.clone().unwrap_or_default();
    host.userns_mode = f.userns.clone().unwrap_or_default();
    host.cgroupns_mode = f.cgroupns.clone().unwrap_or_default();
    host.cap_add = opt_list(&normalize_caps(&f.cap_add));
    host.cap_drop = opt_list(&normalize_caps(&f.cap_drop));
    host.group_add = opt_list(&f.group_add);
    host.restart_policy = restart;
    host.security_opt = security_opt;
    host.storage_opt = (!storage.is_empty()).then_some(storage);
    host.readonly_rootfs = f.read_only;
    host.log_config = LogConfig {
        kind: log_driver,
        config: Some(values::kv_map(&f.log_opt)),
    };
    host.volume_driver = f.volume_driver.clone().unwrap_or_default();
    host.isolation = f.isolation.clone().unwrap_or_default();
    host.tmpfs = tmpfs;
    host.runtime = f.runtime.clone().unwrap_or_default();
    host.masked_paths = masked;
    host.readonly_paths = readonly;
    let annotations = values::kv_map(&f.annotation);
    host.annotations = (!annotations.is_empty()).then_some(annotations);
    host.init = f.init;

    if f.rm && !matches!(host.restart_policy.name.as_str(), "" | "no") {
        return Err(invalid(
            "conflicting options: cannot specify both --restart and --rm",
        ));
    }

    Ok(CreateConfig {
        body: ContainerCreateBody {
            config,
            host_config: Some(host),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(net.endpoints),
            }),
        },
        mounts: mount_list,
        kernel_memory,
    })
}

#[cfg(test)]
mod tests;
