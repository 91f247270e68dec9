//! `berth volume …`: create, ls, inspect, rm, prune.

use berth_api::types::volume::VolumeCreateBody;
use serde_json::Value;

use crate::commands::container::opts::values::kv_map;
use crate::commands::container::top::natural_cmp;
use crate::commands::inspect::{Inspector, finish};
use crate::commands::{json, parse_filters};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::units::human_size;
use crate::format::{self, ListSpec, TABLE, row};
use crate::prompt;
use crate::term;

#[derive(clap::Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

impl VolumeCommand {
    pub async fn run(self, ctx: &Ctx) -> CliResult {
        match self {
            VolumeCommand::Create(a) => create(ctx, a).await,
            VolumeCommand::Inspect(a) => inspect(ctx, a).await,
            VolumeCommand::Ls(a) => ls(ctx, a).await,
            VolumeCommand::Prune(a) => prune(ctx, a).await,
            VolumeCommand::Rm(a) => rm(ctx, a).await,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short = 'd', long, value_name = "string", default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long, value_name = "list")]
    pub label: Vec<String>,
    /// Specify volume name
    #[arg(long = "name", value_name = "string", hide = true)]
    pub name_flag: Option<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    #[arg(value_name = "VOLUME")]
    pub name: Option<String>,
}

pub fn create_body(a: &CreateArgs) -> Result<VolumeCreateBody, CliError> {
    let name = match (&a.name_flag, &a.name) {
        (Some(_), Some(_)) => {
            return Err(CliError::Plain(
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg".into(),
            ));
        }
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    };
    Ok(VolumeCreateBody {
        driver: a.driver.clone(),
        driver_opts: Some(kv_map(&a.opt)),
        labels: Some(kv_map(&a.label)),
        name,
    })
}

async fn create(ctx: &Ctx, a: CreateArgs) -> CliResult {
    let body = create_body(&a)?;
    let v = ctx.client.volume_create(&body).await?;
    term::out(&format!("{}\n", v.name))?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    #[arg(value_name = "VOLUME", required = true)]
    pub volumes: Vec<String>,
}

async fn inspect(ctx: &Ctx, a: InspectArgs) -> CliResult {
    let mut inspector = Inspector::new(a.format.as_deref())?;
    let mut errors = Vec::new();
    for v in &a.volumes {
        match ctx.client.volume_inspect_raw(v).await {
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

const LS_TABLE: &str = "table {{.Driver}}\t{{.Name}}";

const LS_HEADERS: &[(&str, &str)] = &[
    ("Name", "VOLUME NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
];

const LS_SPEC: ListSpec<'static> = ListSpec {
    headers: LS_HEADERS,
    type_name: "*formatter.volumeContext",
};

#[derive(clap::Args, Debug)]
pub struct LsArgs {
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Only display volume names
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

fn volume_row(v: &Value) -> Value {
    let mut labels: Vec<String> = v
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, x)| format!("{k}={}", x.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    let usage = v.get("UsageData").filter(|u| !u.is_null());
    let links = usage.map_or("N/A".into(), |u| json::int(u, "RefCount").to_string());
    let size = usage.map_or("N/A".into(), |u| human_size(json::int(u, "Size") as f64));
    row([
        ("Name", json::str(v, "Name")),
        ("Driver", json::str(v, "Driver")),
        ("Scope", json::str(v, "Scope")),
        ("Mountpoint", json::str(v, "Mountpoint")),
        ("Labels", labels.join(",")),
        ("Links", links),
        ("Size", size),
    ])
}

async fn ls(ctx: &Ctx, a: LsArgs) -> CliResult {
    let filters = parse_filters(&a.filter)?;
    let resp: Value = ctx.client.volume_list_as(&filters).await?;
    let mut volumes: Vec<Value> = json::array(&resp, "Volumes").to_vec();
    volumes.sort_by(|x, y| natural_cmp(&json::str(x, "Name"), &json::str(y, "Name")));
    let source = a.format.clone().unwrap_or_default();
    let format = match source.as_str() {
        _ if a.quiet => "{{.Name}}".to_string(),
        "" | TABLE => LS_TABLE.to_string(),
        other => other.to_string(),
    };
    let rows: Vec<Value> = volumes.iter().map(volume_row).collect();
    let out = format::render_list(&format, &rows, &LS_SPEC).map_err(CliError::Msg)?;
    term::out(&out)?;
    for w in json::strings(&resp, "Warnings") {
        term::err_line(&w);
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(value_name = "VOLUME", required = true)]
    pub volumes: Vec<String>,
}

async fn rm(ctx: &Ctx, a: RmArgs) -> CliResult {
    let mut errors = Vec::new();
    for v in &a.volumes {
        match ctx.client.volume_remove(v, a.force).await {
            Ok(()) => term::out(&format!("{v}\n"))?,
            Err(e) => errors.push(CliError::from(e)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Many(errors))
    }
}

#[derive(clap::Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

async fn prune(ctx: &Ctx, a: PruneArgs) -> CliResult {
    let mut filters = parse_filters(&a.filter)?;
    if a.all {
        filters.add("all", "true");
    }
    let warning = if a.all {
        "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
    };
    if !a.force && !prompt::confirm(warning)? {
        return Err(CliError::Exit(0));
    }
    let report = ctx.client.volumes_prune(&filters).await?;
    term::out(&crate::commands::prune_report(
        "Deleted Volumes:",
        report.volumes_deleted.unwrap_or_default(),
        report.space_reclaimed,
    ))?;
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
        c: VolumeCommand,
    }

    #[test]
    fn create_body_like_docker() {
        let t = T::try_parse_from([
            "volume",
            "create",
            "--driver",
            "local",
            "--label",
            "a=b",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "v1",
        ])
        .unwrap();
        let VolumeCommand::Create(a) = t.c else {
            panic!("not create");
        };
        // What docker 28 sent for the same flags.
        assert_eq!(
            serde_json::to_string(&create_body(&a).unwrap()).unwrap(),
            r#"{"Driver":"local","DriverOpts":{"device":"tmpfs","type":"tmpfs"},"Labels":{"a":"b"},"Name":"v1"}"#
        );
    }

    #[test]
    fn ls_table() {
        let v = json!({"Name": "data", "Driver": "local", "Scope": "local", "Mountpoint": "/x", "Labels": null});
        let out = format::render_list(LS_TABLE, &[volume_row(&v)], &LS_SPEC).unwrap();
        assert_eq!(out, "DRIVER    VOLUME NAME\nlocal     data\n");
        assert_eq!(volume_row(&v)["Size"], "N/A");
    }
}
