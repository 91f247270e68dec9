//! `berth info`: docker's layout of the client and daemon facts, or any
//! `--format`.

use serde_json::{Value, json};

use super::json;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, TEMPLATE_EXIT};
use crate::format::template::{Options, Template};
use crate::format::units::bytes_size;
use crate::format::{JSON, JSON_TEMPLATE, gofmt};
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let server = ctx.client.info_as::<Value>().await;
    let client = json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "Context": "default",
        "Debug": ctx.debug,
    });
    match args.format.as_deref() {
        None | Some("") => {
            let mut out = String::from("Client:\n");
            out.push_str(&client_section(&client));
            out.push_str("\nServer:\n");
            match server {
                Ok(info) => {
                    out.push_str(&server_section(&info, ctx.debug));
                    term::out(&out)?;
                    for w in json::strings(&info, "Warnings") {
                        term::err_line(&w);
                    }
                    Ok(())
                }
                Err(e) => {
                    term::out(&out)?;
                    Err(e.into())
                }
            }
        }
        Some(format) => {
            let src = if format == JSON {
                JSON_TEMPLATE
            } else {
                format
            };
            let tmpl = Template::parse(src).map_err(|e| {
                CliError::msg(format!("template parsing error: {e}")).with_status(TEMPLATE_EXIT)
            })?;
            let (mut data, failure) = match server {
                Ok(info) => (info, None),
                Err(e) => (json!({}), Some(e)),
            };
            if let Some(obj) = data.as_object_mut() {
                obj.insert("ClientInfo".into(), client);
            }
            let text = tmpl
                .execute(&data, Options::default())
                .map_err(|e| CliError::msg(format!("template: {e}")))?;
            term::out(&format!("{text}\n"))?;
            match failure {
                Some(e) => Err(e.into()),
                None => Ok(()),
            }
        }
    }
}

fn client_section(client: &Value) -> String {
    format!(
        " Version:    {}\n Context:    {}\n Debug Mode: {}\n",
        json::str(client, "Version"),
        json::str(client, "Context"),
        json::bool(client, "Debug")
    )
}

/// Go's `fmt.Println(a, b)` of a label and a JSON value.
fn line(out: &mut String, label: &str, v: Option<&Value>) {
    let text = match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => gofmt::value(other),
    };
    out.push_str(label);
    out.push(' ');
    out.push_str(&text);
    out.push('\n');
}

/// Like [`line`], but only when the value is not empty.
fn line_non_empty(out: &mut String, label: &str, v: Option<&Value>) {
    let empty = match v {
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Null) | None => true,
        _ => false,
    };
    if !empty {
        line(out, label, v);
    }
}

fn num(info: &Value, key: &str) -> Value {
    Value::from(json::int(info, key))
}

/// The "Server:" lines, in docker's order.
pub fn server_section(info: &Value, client_debug: bool) -> String {
    let mut o = String::new();
    let g = |k: &str| info.get(k);
    line(&mut o, " Containers:", Some(&num(info, "Containers")));
    line(&mut o, "  Running:", Some(&num(info, "ContainersRunning")));
    line(&mut o, "  Paused:", Some(&num(info, "ContainersPaused")));
    line(&mut o, "  Stopped:", Some(&num(info, "ContainersStopped")));
    line(&mut o, " Images:", Some(&num(info, "Images")));
    line_non_empty(&mut o, " Server Version:", g("ServerVersion"));
    line_non_empty(&mut o, " Storage Driver:", g("Driver"));
    for pair in json::array(info, "DriverStatus") {
        if let Some([k, v]) = pair.as_array().map(Vec::as_slice) {
            o.push_str(&format!("  {}: {}\n", gofmt::value(k), gofmt::value(v)));
        }
    }
    line_non_empty(&mut o, " Logging Driver:", g("LoggingDriver"));
    line_non_empty(&mut o, " Cgroup Driver:", g("CgroupDriver"));
    line_non_empty(&mut o, " Cgroup Version:", g("CgroupVersion"));
    let plugins = g("Plugins").cloned().unwrap_or(Value::Null);
    o.push_str(" Plugins:\n");
    o.push_str(&format!(
        "  Volume: {}\n",
        json::strings(&plugins, "Volume").join(" ")
    ));
    o.push_str(&format!(
        "  Network: {}\n",
        json::strings(&plugins, "Network").join(" ")
    ));
    let authz = json::strings(&plugins, "Authorization");
    if !authz.is_empty() {
        o.push_str(&format!("  Authorization: {}\n", authz.join(" ")));
    }
    o.push_str(&format!(
        "  Log: {}\n",
        json::strings(&plugins, "Log").join(" ")
    ));
    let swarm = g("Swarm").cloned().unwrap_or(Value::Null);
    o.push_str(&format!(
        " Swarm: {}\n",
        json::str(&swarm, "LocalNodeState")
    ));
    if let Some(runtimes) = g("Runtimes")
        .and_then(Value::as_object)
        .filter(|r| !r.is_empty())
    {
        let mut names: Vec<&String> = runtimes.keys().collect();
        names.sort();
        let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        o.push_str(&format!(" Runtimes: {}\n", names.join(" ")));
        line(&mut o, " Default Runtime:", g("DefaultRuntime"));
    }
    if json::str(info, "OSType") == "linux" {
        line(&mut o, " Init Binary:", g("InitBinary"));
        for (name, key) in [
            ("containerd", "ContainerdCommit"),
            ("runc", "RuncCommit"),
            ("init", "InitCommit"),
        ] {
            let id = g(key).map(|c| json::str(c, "ID")).unwrap_or_default();
            o.push_str(&format!(" {name} version: {id}\n"));
        }
        let opts = json::strings(info, "SecurityOptions");
        if !opts.is_empty() {
            o.push_str(" Security Options:\n");
            for opt in &opts {
                let (name, profile) = security_option(opt);
                o.push_str(&format!("  {name}\n"));
                if let Some(p) = profile {
                    o.push_str(&format!("   Profile: {p}\n"));
                }
            }
        }
    }
    line_non_empty(&mut o, " Kernel Version:", g("KernelVersion"));
    line_non_empty(&mut o, " Operating System:", g("OperatingSystem"));
    line_non_empty(&mut o, " OSType:", g("OSType"));
    line_non_empty(&mut o, " Architecture:", g("Architecture"));
    line(&mut o, " CPUs:", Some(&num(info, "NCPU")));
    o.push_str(&format!(
        " Total Memory: {}\n",
        bytes_size(json::int(info, "MemTotal") as f64)
    ));
    line_non_empty(&mut o, " Name:", g("Name"));
    line_non_empty(&mut o, " ID:", g("ID"));
    line(&mut o, " Docker Root Dir:", g("DockerRootDir"));
    let debug = json::bool(info, "Debug");
    o.push_str(&format!(" Debug Mode: {debug}\n"));
    if debug || client_debug {
        line(&mut o, "  File Descriptors:", Some(&num(info, "NFd")));
        line(&mut o, "  Goroutines:", Some(&num(info, "NGoroutines")));
        line(&mut o, "  System Time:", g("SystemTime"));
        line(
            &mut o,
            "  EventsListeners:",
            Some(&num(info, "NEventsListener")),
        );
    }
    line_non_empty(&mut o, " HTTP Proxy:", g("HttpProxy"));
    line_non_empty(&mut o, " HTTPS Proxy:", g("HttpsProxy"));
    line_non_empty(&mut o, " No Proxy:", g("NoProxy"));
    let labels = json::strings(info, "Labels");
    if !labels.is_empty() {
        o.push_str(" Labels:\n");
        for l in labels {
            o.push_str(&format!("  {l}\n"));
        }
    }
    o.push_str(&format!(
        " Experimental: {}\n",
        json::bool(info, "ExperimentalBuild")
    ));
    let registry = g("RegistryConfig").cloned().unwrap_or(Value::Null);
    let cidrs = json::strings(&registry, "InsecureRegistryCIDRs");
    let index = registry.get("IndexConfigs").and_then(Value::as_object);
    if !cidrs.is_empty() || index.is_some_and(|m| !m.is_empty()) {
        o.push_str(" Insecure Registries:\n");
        for cfg in index
            .map(|m| m.values().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if !json::bool(cfg, "Secure") {
                o.push_str(&format!("  {}\n", json::str(cfg, "Name")));
            }
        }
        for c in cidrs {
            o.push_str(&format!("  {c}\n"));
        }
    }
    let mirrors = json::strings(&registry, "Mirrors");
    if !mirrors.is_empty() {
        o.push_str(" Registry Mirrors:\n");
        for m in mirrors {
            o.push_str(&format!("  {m}\n"));
        }
    }
    o.push_str(&format!(
        " Live Restore Enabled: {}\n",
        json::bool(info, "LiveRestoreEnabled")
    ));
    let pools = json::array(info, "DefaultAddressPools");
    if !pools.is_empty() {
        o.push_str(" Default Address Pools:\n");
        for p in pools {
            o.push_str(&format!(
                "   Base: {}, Size: {}\n",
                json::str(p, "Base"),
                json::int(p, "Size")
            ));
        }
    }
    o.push('\n');
    o
}

/// `name=seccomp,profile=builtin` → (`seccomp`, `builtin`); the old form
/// is a bare name.
fn security_option(opt: &str) -> (String, Option<String>) {
    let mut name = String::new();
    let mut profile = None;
    for part in opt.split(',') {
        match part.split_once('=') {
            Some(("name", v)) => name = v.to_string(),
            Some(("profile", v)) => profile = Some(v.to_string()),
            Some(_) => {}
            None => name = part.to_string(),
        }
    }
    (name, profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_layout() {
        let info = json!({
            "ID": "abcd", "Containers": 3, "ContainersRunning": 1, "ContainersPaused": 0,
            "ContainersStopped": 2, "Images": 5, "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": null, "Log": ["json-file"]},
            "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": "2",
            "KernelVersion": "6.1.0", "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
            "OSType": "linux", "Architecture": "x86_64", "NCPU": 2, "MemTotal": 25_769_803_776i64,
            "DockerRootDir": "/var/lib/berth", "Name": "host", "ServerVersion": "0.1.0",
            "Runtimes": {"runc": {"path": "runc"}, "crun": {"path": "crun"}}, "DefaultRuntime": "crun",
            "Swarm": {"LocalNodeState": "inactive"}, "InitBinary": "",
            "ContainerdCommit": {"ID": ""}, "RuncCommit": {"ID": ""}, "InitCommit": {"ID": ""},
            "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
            "Debug": false, "ExperimentalBuild": false, "LiveRestoreEnabled": false,
            "RegistryConfig": {"InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"],
                "IndexConfigs": {"docker.io": {"Name": "docker.io", "Secure": true}}, "Mirrors": []},
            "Warnings": []
        });
        let out = server_section(&info, false);
        let expected = " Containers: 3
  Running: 1
  Paused: 0
  Stopped: 2
 Images: 5
 Server Version: 0.1.0
 Storage Driver: overlay2
  Backing Filesystem: extfs
  Supports d_type: true
 Logging Driver: json-file
 Cgroup Driver: cgroupfs
 Cgroup Version: 2
 Plugins:
  Volume: local
  Network: bridge host null
  Log: json-file
 Swarm: inactive
 Runtimes: crun runc
 Default Runtime: crun
 Init Binary: 
 containerd version: 
 runc version: 
 init version: 
 Security Options:
  seccomp
   Profile: builtin
  cgroupns
 Kernel Version: 6.1.0
 Operating System: Debian GNU/Linux 12 (bookworm)
 OSType: linux
 Architecture: x86_64
 CPUs: 2
 Total Memory: 24GiB
 Name: host
 ID: abcd
 Docker Root Dir: /var/lib/berth
 Debug Mode: false
 Experimental: false
 Insecure Registries:
  ::1/128
  127.0.0.0/8
 Live Restore Enabled: false

";
        assert_eq!(out, expected);
    }

    #[test]
    fn client_lines() {
        let c = json!({"Version": "0.1.0", "Context": "default", "Debug": false});
        assert_eq!(
            client_section(&c),
            " Version:    0.1.0\n Context:    default\n Debug Mode: false\n"
        );
    }
}
