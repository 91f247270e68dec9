//! `berth ps` / `berth container ls`: docker's columns (CONTAINER ID,
//! IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES), `--format` and its
//! fields, `-q`, `-s`, `-n`, `-l`, `--filter`, `--no-trunc`.

use berth_client::ContainerListOptions;
use berth_client::reference::Reference;
use serde_json::{Map, Value};

use crate::commands::json;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::units::{human_duration, human_size_with_precision};
use crate::format::{self, ListSpec, TABLE, ellipsis, timefmt, truncate_id};
use crate::goparse;
use crate::term;

const TABLE_FORMAT: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const RAW_FORMAT: &str = "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n";
const QUIET_FORMAT: &str = "{{.ID}}";

pub const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Names", "NAMES"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Networks", "NETWORKS"),
    ("Platform", "PLATFORM"),
];

pub const SPEC: ListSpec<'static> = ListSpec {
    headers: HEADERS,
    type_name: "*formatter.ContainerContext",
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", value_name = "int", default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long = "latest")]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
}

/// Docker's `NewContainerFormat`.
pub fn container_format(source: &str, quiet: bool, size: bool) -> String {
    match source {
        TABLE | "" if quiet => QUIET_FORMAT.into(),
        TABLE | "" if size => format!("{TABLE_FORMAT}\t{{{{.Size}}}}"),
        TABLE | "" => TABLE_FORMAT.into(),
        "raw" if quiet => "container_id: {{.ID}}".into(),
        "raw" if size => format!("{RAW_FORMAT}size: {{{{.Size}}}}\n"),
        "raw" => RAW_FORMAT.into(),
        _ if quiet => QUIET_FORMAT.into(),
        other => other.into(),
    }
}

/// Docker's `DisplayablePorts`: consecutive ports grouped into ranges,
/// published ports as `ip:public->private/proto`.
pub fn displayable_ports(ports: &[Value]) -> String {
    struct P {
        ip: String,
        private: i64,
        public: i64,
        kind: String,
    }
    let mut ports: Vec<P> = ports
        .iter()
        .map(|p| P {
            ip: json::str(p, "IP"),
            private: json::int(p, "PrivatePort"),
            public: json::int(p, "PublicPort"),
            kind: json::str(p, "Type"),
        })
        .collect();
    ports.sort_by(|a, b| {
        a.private
            .cmp(&b.private)
            .then_with(|| a.ip.cmp(&b.ip))
            .then_with(|| a.public.cmp(&b.public))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    let join = |ip: &str, port: &str| {
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    let form_group = |key: &str, first: i64, last: i64| {
        let (ip, kind) = match key.split_once('/') {
            Some((ip, kind)) => (ip, kind),
            None => ("", key),
        };
        let mut group = first.to_string();
        if first != last {
            group = format!("{group}-{last}");
        }
        if !ip.is_empty() {
            group = format!("{}->{group}", join(ip, &group));
        }
        format!("{group}/{kind}")
    };
    let mut groups: Vec<(String, i64, i64)> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for p in &ports {
        let mut key = p.kind.clone();
        if !p.ip.is_empty() {
            if p.public != p.private {
                mappings.push(format!(
                    "{}->{}/{}",
                    join(&p.ip, &p.public.to_string()),
                    p.private,
                    p.kind
                ));
                continue;
            }
            key = format!("{}/{}", p.ip, p.kind);
        }
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            None => groups.push((key, p.private, p.private)),
            Some(g) if p.private == g.2 + 1 => g.2 = p.private,
            Some(g) => {
                result.push(form_group(&g.0, g.1, g.2));
                g.1 = p.private;
                g.2 = p.private;
            }
        }
    }
    for (k, first, last) in &groups {
        result.push(form_group(k, *first, *last));
    }
    result.extend(mappings);
    result.join(", ")
}

/// What `ps` reads of a listed container. Decoding only this (the rest of
/// each entry is skipped, not built into a JSON tree) is most of what
/// makes `ps` fast with many containers.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Listed {
    #[serde(default)]
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    image: String,
    #[serde(default, rename = "ImageID")]
    image_id: String,
    #[serde(default)]
    command: String,
    #[serde(default)]
    created: i64,
    #[serde(default)]
    size_rw: Option<i64>,
    #[serde(default)]
    size_root_fs: Option<i64>,
    #[serde(default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    mounts: Option<Vec<Value>>,
    #[serde(default)]
    ports: Option<Vec<Value>>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    network_settings: Option<ListedNetworks>,
}

#[derive(serde::Deserialize)]
struct ListedNetworks {
    #[serde(rename = "Networks", default)]
    networks: Option<std::collections::BTreeMap<String, serde::de::IgnoredAny>>,
}

/// Docker's `ContainerContext.Image`.
fn image_name(image: &str, image_id: &str, trunc: bool) -> String {
    if image.is_empty() {
        return "<no image>".into();
    }
    if trunc {
        let short = truncate_id(image_id);
        if short == truncate_id(image) {
            return short;
        }
        if let Ok(r) = Reference::parse_normalized(image) {
            return match &r.tag {
                Some(tag) => format!("{}:{tag}", r.familiar_name()),
                None => r.familiar_name(),
            };
        }
    }
    image.to_string()
}

/// The fields a `ps` template can use, for one container.
fn container_row(c: &Listed, trunc: bool) -> Value {
    let names: Vec<&str> = c
        .names
        .iter()
        .map(|n| n.strip_prefix('/').unwrap_or(n))
        .collect();
    let names = match names.iter().find(|n| trunc && !n.contains('/')) {
        Some(n) => n.to_string(),
        None => names.join(","),
    };
    let command = if trunc {
        ellipsis(&c.command, 20)
    } else {
        c.command.clone()
    };
    let (srw, srootfs) = (c.size_rw.unwrap_or(0), c.size_root_fs.unwrap_or(0));
    let mut size = human_size_with_precision(srw as f64, 3);
    if srootfs > 0 {
        size = format!(
            "{size} (virtual {})",
            human_size_with_precision(srootfs as f64, 3)
        );
    }
    // Both maps are sorted by key, as Docker sorts labels and networks.
    let labels: Vec<String> = c
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mounts = c.mounts.as_deref().unwrap_or_default();
    let mount_names: Vec<String> = mounts
        .iter()
        .map(|m| {
            let name = match json::str(m, "Name") {
                n if n.is_empty() => json::str(m, "Source"),
                n => n,
            };
            if trunc { ellipsis(&name, 15) } else { name }
        })
        .collect();
    let local = mounts
        .iter()
        .filter(|m| json::str(m, "Driver") == "local")
        .count();
    let networks: Vec<&str> = c
        .network_settings
        .iter()
        .flat_map(|n| n.networks.iter().flatten())
        .map(|(k, _)| k.as_str())
        .collect();
    let id = if trunc {
        truncate_id(&c.id)
    } else {
        c.id.clone()
    };
    let fields = [
        ("ID", id),
        ("Names", names),
        ("Image", image_name(&c.image, &c.image_id, trunc)),
        ("Command", goparse::quote(&command)),
        ("CreatedAt", timefmt::local(c.created).go_string()),
        (
            "RunningFor",
            format!("{} ago", human_duration(timefmt::now() - c.created)),
        ),
        (
            "Ports",
            displayable_ports(c.ports.as_deref().unwrap_or_default()),
        ),
        ("State", c.state.clone()),
        ("Status", c.status.clone()),
        ("Size", size),
        ("Labels", labels.join(",")),
        ("Mounts", mount_names.join(",")),
        ("LocalVolumes", local.to_string()),
        ("Networks", networks.join(",")),
    ];
    let mut map: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect();
    map.insert("Platform".into(), Value::Null);
    Value::Object(map)
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let filters = super::common::filters("ps", "[OPTIONS]", "-f, --filter", &args.filter)?;
    let source = args.format.clone().unwrap_or_default();
    if !source.is_empty() && args.quiet {
        term::err_line(
            "WARNING: Ignoring custom format, because both --format and --quiet are set.",
        );
    }
    let mut size = args.size;
    if !source.is_empty() {
        format::parse_template(&format::template_string(&source))
            .map_err(|e| CliError::msg(format!("failed to parse template: {e}")))?;
        // Docker asks for sizes when the template reads them: `json .`
        // marshals every field, the size included (`--format json` is
        // not a template at that point, so it does not).
        let reads_size = source.contains(".Size") || source.contains("json .");
        if !args.quiet && !args.size && reads_size {
            size = true;
        }
    }
    let limit = if args.latest && args.last == -1 {
        1
    } else {
        args.last
    };
    let opts = ContainerListOptions {
        all: args.all,
        limit: Some(limit),
        size,
        filters,
    };
    let containers: Vec<Listed> = ctx.client.container_list_as(&opts).await?;
    let format = container_format(&source, args.quiet, size);
    let rows: Vec<Value> = containers
        .iter()
        .map(|c| container_row(c, !args.no_trunc))
        .collect();
    let out = format::render_list(&format, &rows, &SPEC).map_err(CliError::Msg)?;
    term::out(&out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listed(v: Value) -> Listed {
        serde_json::from_value(v).unwrap()
    }

    fn web() -> Value {
        json!({
            "Id": "4f66ad9a0b2e1234567890abcdef4f66ad9a0b2e1234567890abcdef12345678",
            "Names": ["/web"],
            "Image": "busybox",
            "ImageID": "sha256:6fd955f66c231c1a946653170d096fef8b9f2a7b0b4e9fbf0d1bdbad5ce34a8b",
            "Command": "httpd -f -p 80 -h /var/www/html",
            "Created": timefmt::now() - 120,
            "Ports": [
                {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                {"PrivatePort": 443, "Type": "tcp"},
                {"PrivatePort": 444, "Type": "tcp"}
            ],
            "Labels": {"b": "2", "a": "1"},
            "State": "running",
            "Status": "Up 2 minutes",
            "HostConfig": {"NetworkMode": "bridge"},
            "NetworkSettings": {"Networks": {"bridge": {}}},
            "Mounts": [{"Type": "volume", "Name": "0123456789abcdef0123", "Driver": "local"}]
        })
    }

    #[test]
    fn docker_table() {
        let rows = vec![container_row(&listed(web()), true)];
        let out = format::render_list(&container_format("", false, false), &rows, &SPEC).unwrap();
        let expected = "\
CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS                               NAMES
4f66ad9a0b2e   busybox   \"httpd -f -p 80 -h /…\"   2 minutes ago   Up 2 minutes   443-444/tcp, 0.0.0.0:8080->80/tcp   web
";
        assert_eq!(out, expected);
        let quiet = format::render_list(&container_format("", true, false), &rows, &SPEC).unwrap();
        assert_eq!(quiet, "4f66ad9a0b2e\n");
    }

    #[test]
    fn fields_and_formats() {
        let row = container_row(&listed(web()), true);
        assert_eq!(row["Labels"], "a=1,b=2");
        assert_eq!(row["Mounts"], "0123456789abcd…");
        assert_eq!(row["LocalVolumes"], "1");
        assert_eq!(row["Networks"], "bridge");
        assert_eq!(row["Size"], "0B");
        let full = container_row(&listed(web()), false);
        assert_eq!(full["Command"], "\"httpd -f -p 80 -h /var/www/html\"");
        assert_eq!(full["ID"].as_str().unwrap().len(), 64);
        let out = format::render_list("{{.Names}}: {{.State}}", std::slice::from_ref(&row), &SPEC)
            .unwrap();
        assert_eq!(out, "web: running\n");
        let out = format::render_list("json", &[row], &SPEC).unwrap();
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["Names"], "web");
        assert_eq!(
            container_format("", false, true),
            format!("{TABLE_FORMAT}\t{{{{.Size}}}}")
        );
        assert_eq!(container_format("{{.Names}}", true, false), "{{.ID}}");
    }

    #[test]
    fn ports_like_docker() {
        let p = |v: Value| displayable_ports(v.as_array().unwrap());
        assert_eq!(
            p(
                json!([{"PrivatePort": 80, "Type": "tcp"}, {"PrivatePort": 81, "Type": "tcp"}, {"PrivatePort": 82, "Type": "udp"}])
            ),
            "80-81/tcp, 82/udp"
        );
        assert_eq!(
            p(json!([
                {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 80, "Type": "tcp"},
                {"IP": "0.0.0.0", "PrivatePort": 81, "PublicPort": 81, "Type": "tcp"},
                {"IP": "::", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"}
            ])),
            "0.0.0.0:80-81->80-81/tcp, [::]:5353->53/udp"
        );
        assert_eq!(p(json!([])), "");
    }

    #[test]
    fn images_shortened() {
        let c = web();
        let id = c["ImageID"].as_str().unwrap();
        assert_eq!(
            image_name("docker.io/library/busybox:1.36", id, true),
            "busybox:1.36"
        );
        let image = "sha256:6fd955f66c231c1a946653170d096fef8b9f2a7b0b4e9fbf0d1bdbad5ce34a8b";
        assert_eq!(image_name(image, id, true), "6fd955f66c23");
        assert_eq!(image_name("", id, true), "<no image>");
    }
}
