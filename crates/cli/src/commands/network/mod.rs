//! `berth network …`: create, ls, inspect, rm, connect, disconnect,
//! prune.

pub mod create;

use berth_api::types::container::{EndpointIpamConfig, EndpointSettings};
use serde_json::Value;

use crate::commands::container::opts::values::kv_map;
use crate::commands::container::top::natural_cmp;
use crate::commands::inspect::{Inspector, finish};
use crate::commands::{json, parse_filters};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::{self, ListSpec, TABLE, row, timefmt, truncate_id};
use crate::prompt;
use crate::term;

#[derive(clap::Subcommand, Debug)]
pub enum NetworkCommand {
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Create a network
    Create(create::Args),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

impl NetworkCommand {
    pub async fn run(self, ctx: &Ctx) -> CliResult {
        match self {
            NetworkCommand::Connect(a) => connect(ctx, a).await,
            NetworkCommand::Create(a) => create::run(ctx, a).await,
            NetworkCommand::Disconnect(a) => disconnect(ctx, a).await,
            NetworkCommand::Inspect(a) => inspect(ctx, a).await,
            NetworkCommand::Ls(a) => ls(ctx, a).await,
            NetworkCommand::Prune(a) => prune(ctx, a).await,
            NetworkCommand::Rm(a) => rm(ctx, a).await,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long, value_name = "strings")]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_name = "strings")]
    pub driver_opt: Vec<String>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long, value_name = "string")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long, value_name = "string")]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long, value_name = "list")]
    pub link: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_name = "strings")]
    pub link_local_ip: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// The endpoint settings `network connect` sends (docker always sends
/// the IPAM part and the driver options, empty or not).
pub fn connect_endpoint(a: &ConnectArgs) -> EndpointSettings {
    EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: a.ip.clone().unwrap_or_default(),
            ipv6_address: a.ip6.clone().unwrap_or_default(),
            link_local_ips: (!a.link_local_ip.is_empty()).then(|| a.link_local_ip.clone()),
        }),
        links: (!a.link.is_empty()).then(|| a.link.clone()),
        aliases: (!a.alias.is_empty()).then(|| a.alias.clone()),
        driver_opts: Some(kv_map(&a.driver_opt)),
        ..Default::default()
    }
}

async fn connect(ctx: &Ctx, a: ConnectArgs) -> CliResult {
    let ep = connect_endpoint(&a);
    ctx.client
        .network_connect(&a.network, &a.container, Some(ep))
        .await?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

async fn disconnect(ctx: &Ctx, a: DisconnectArgs) -> CliResult {
    ctx.client
        .network_disconnect(&a.network, &a.container, a.force)
        .await?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short = 'v', long)]
    pub verbose: bool,
    #[arg(value_name = "NETWORK", required = true)]
    pub networks: Vec<String>,
}

async fn inspect(ctx: &Ctx, a: InspectArgs) -> CliResult {
    let mut inspector = Inspector::new(a.format.as_deref())?;
    let mut errors = Vec::new();
    for n in &a.networks {
        match ctx.client.network_inspect_raw(n, a.verbose).await {
            Ok(raw) => {
                if let Err(e) = inspector.add(&raw) {
                    errors.push(e);
                }
            }
            Err(e) => errors.push(e.into()),
        }
    }
    finish(inspector, errors)
}

const LS_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

const LS_HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv4", "IPV4"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

const LS_SPEC: ListSpec<'static> = ListSpec {
    headers: LS_HEADERS,
    type_name: "*formatter.networkContext",
};

#[derive(clap::Args, Debug)]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

fn network_row(n: &Value, trunc: bool) -> Value {
    let id = json::str(n, "Id");
    let mut labels: Vec<String> = n
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    let created = timefmt::parse_rfc3339(&json::str(n, "Created")).unwrap_or(0);
    row([
        ("ID", if trunc { truncate_id(&id) } else { id }),
        ("Name", json::str(n, "Name")),
        ("Driver", json::str(n, "Driver")),
        ("Scope", json::str(n, "Scope")),
        (
            "IPv4",
            n.get("EnableIPv4")
                .and_then(Value::as_bool)
                .unwrap_or(true)
                .to_string(),
        ),
        ("IPv6", json::bool(n, "EnableIPv6").to_string()),
        ("Internal", json::bool(n, "Internal").to_string()),
        ("Labels", labels.join(",")),
        ("CreatedAt", timefmt::local(created).go_string()),
    ])
}

async fn ls(ctx: &Ctx, a: LsArgs) -> CliResult {
    let filters = parse_filters(&a.filter)?;
    let mut list: Vec<Value> = ctx.client.network_list_as(&filters).await?;
    list.sort_by(|x, y| natural_cmp(&json::str(x, "Name"), &json::str(y, "Name")));
    let source = a.format.clone().unwrap_or_default();
    let format = match source.as_str() {
        "" | TABLE if a.quiet => "{{.ID}}".to_string(),
        "" | TABLE => LS_TABLE.to_string(),
        _ if a.quiet => "{{.ID}}".to_string(),
        other => other.to_string(),
    };
    let rows: Vec<Value> = list.iter().map(|n| network_row(n, !a.no_trunc)).collect();
    let out = format::render_list(&format, &rows, &LS_SPEC).map_err(CliError::Msg)?;
    term::out(&out)?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(value_name = "NETWORK", required = true)]
    pub networks: Vec<String>,
}

async fn rm(ctx: &Ctx, a: RmArgs) -> CliResult {
    let mut failed = false;
    for n in &a.networks {
        match ctx.client.network_remove(n).await {
            Ok(()) => term::out(&format!("{n}\n"))?,
            Err(e) if a.force && e.is_not_found() => {}
            Err(e) => {
                term::err_line(&e.to_string());
                failed = true;
            }
        }
    }
    if failed {
        Err(CliError::Exit(1))
    } else {
        Ok(())
    }
}

#[derive(clap::Args, Debug)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

async fn prune(ctx: &Ctx, a: PruneArgs) -> CliResult {
    const WARNING: &str = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?";
    let filters = parse_filters(&a.filter)?;
    if !a.force && !prompt::confirm(WARNING)? {
        return Err(CliError::Exit(0));
    }
    let report = ctx.client.networks_prune(&filters).await?;
    let deleted = report.networks_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        let mut out = String::from("Deleted Networks:\n");
        for n in deleted {
            out.push_str(&n);
            out.push('\n');
        }
        out.push('\n');
        term::out(&out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        c: NetworkCommand,
    }

    #[test]
    fn connect_body_like_docker() {
        let t = T::try_parse_from([
            "network", "connect", "--alias", "web", "--ip", "10.9.0.5", "n1", "x",
        ])
        .unwrap();
        let NetworkCommand::Connect(a) = t.c else {
            panic!("not connect");
        };
        let mut body = serde_json::to_value(connect_endpoint(&a)).unwrap();
        body["GwPriority"] = json!(0);
        // What docker 28 sent for the same flags.
        let docker: Value = serde_json::from_str(r#"{"IPAMConfig":{"IPv4Address":"10.9.0.5"},"Links":null,"Aliases":["web"],"MacAddress":"","DriverOpts":{},"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}"#).unwrap();
        assert_eq!(body, docker);
    }

    #[test]
    fn ls_table() {
        let n = json!({"Name": "bridge", "Id": "0123456789abcdef0123", "Driver": "bridge", "Scope": "local", "EnableIPv6": false, "Internal": false, "Labels": {}, "Created": "2024-01-01T00:00:00Z"});
        let out = format::render_list(LS_TABLE, &[network_row(&n, true)], &LS_SPEC).unwrap();
        assert_eq!(
            out,
            "NETWORK ID     NAME      DRIVER    SCOPE\n0123456789ab   bridge    bridge    local\n"
        );
    }
}
