//! `berth system df`: space used by images, containers, volumes and the
//! build cache; `-v` lists each of them.

use serde_json::{Value, json};

use crate::commands::image::ls;
use crate::commands::json;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::template::Options;
use crate::format::units::{human_duration, human_size, human_size_with_precision};
use crate::format::{
    self, ListSpec, TABLE, ellipsis, jsonfmt, parse_template, row, template_string, timefmt,
    truncate_id,
};
use crate::term;

const SUMMARY_FORMAT: &str =
    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const IMAGES_FORMAT: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
const CONTAINERS_FORMAT: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
const VOLUMES_FORMAT: &str = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
const BUILD_CACHE_FORMAT: &str = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";

const SUMMARY_SPEC: ListSpec<'static> = ListSpec {
    headers: &[
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ],
    type_name: "*formatter.diskUsageImagesContext",
};
const CONTAINERS_SPEC: ListSpec<'static> = ListSpec {
    headers: &[
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("LocalVolumes", "LOCAL VOLUMES"),
        ("Size", "SIZE"),
        ("RunningFor", "CREATED"),
        ("Status", "STATUS"),
        ("Names", "NAMES"),
    ],
    type_name: "*formatter.ContainerContext",
};
const VOLUMES_SPEC: ListSpec<'static> = ListSpec {
    headers: &[
        ("Name", "VOLUME NAME"),
        ("Links", "LINKS"),
        ("Size", "SIZE"),
    ],
    type_name: "*formatter.volumeContext",
};
const BUILD_CACHE_SPEC: ListSpec<'static> = ListSpec {
    headers: &[
        ("ID", "CACHE ID"),
        ("CacheType", "CACHE TYPE"),
        ("Size", "SIZE"),
        ("CreatedSince", "CREATED"),
        ("LastUsedSince", "LAST USED"),
        ("UsageCount", "USAGE"),
        ("Shared", "SHARED"),
    ],
    type_name: "*formatter.buildCacheContext",
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Show detailed information on space usage
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

fn with_percent(reclaimable: i64, total: i64) -> String {
    if total > 0 {
        format!(
            "{} ({}%)",
            human_size(reclaimable as f64),
            reclaimable * 100 / total
        )
    } else {
        human_size(reclaimable as f64)
    }
}

fn container_active(c: &Value) -> bool {
    matches!(
        json::str(c, "State").as_str(),
        "running" | "paused" | "restarting"
    )
}

fn volume_usage(v: &Value) -> (i64, i64) {
    let usage = v.get("UsageData").cloned().unwrap_or(Value::Null);
    (
        json::int_or(&usage, "Size", -1),
        json::int_or(&usage, "RefCount", -1),
    )
}

/// The four summary rows (docker's disk usage contexts).
pub fn summary_rows(df: &Value) -> Vec<Value> {
    let images = json::array(df, "Images");
    let layers = json::int(df, "LayersSize");
    let used: i64 = images
        .iter()
        .filter(|i| json::int(i, "Containers") != 0)
        .filter_map(|i| {
            let (size, shared) = (json::int(i, "Size"), json::int_or(i, "SharedSize", -1));
            (size != -1 && shared != -1).then_some(size - shared)
        })
        .sum();
    let images_row = row([
        ("Type", "Images".into()),
        ("TotalCount", images.len().to_string()),
        (
            "Active",
            images
                .iter()
                .filter(|i| json::int(i, "Containers") > 0)
                .count()
                .to_string(),
        ),
        ("Size", human_size(layers as f64)),
        ("Reclaimable", with_percent(layers - used, layers)),
    ]);

    let containers = json::array(df, "Containers");
    let total: i64 = containers.iter().map(|c| json::int(c, "SizeRw")).sum();
    let reclaim: i64 = containers
        .iter()
        .filter(|c| !container_active(c))
        .map(|c| json::int(c, "SizeRw"))
        .sum();
    let containers_row = row([
        ("Type", "Containers".into()),
        ("TotalCount", containers.len().to_string()),
        (
            "Active",
            containers
                .iter()
                .filter(|c| container_active(c))
                .count()
                .to_string(),
        ),
        ("Size", human_size(total as f64)),
        ("Reclaimable", with_percent(reclaim, total)),
    ]);

    let volumes = json::array(df, "Volumes");
    let (mut vsize, mut vreclaim, mut vactive) = (0, 0, 0);
    for v in volumes {
        let (size, refs) = volume_usage(v);
        if refs > 0 {
            vactive += 1;
        }
        if size != -1 {
            vsize += size;
            if refs == 0 {
                vreclaim += size;
            }
        }
    }
    let volumes_row = row([
        ("Type", "Local Volumes".into()),
        ("TotalCount", volumes.len().to_string()),
        ("Active", vactive.to_string()),
        ("Size", human_size(vsize as f64)),
        ("Reclaimable", with_percent(vreclaim, vsize)),
    ]);

    let cache = json::array(df, "BuildCache");
    let builder: i64 = cache
        .iter()
        .filter(|c| !json::bool(c, "Shared"))
        .map(|c| json::int(c, "Size"))
        .sum();
    let in_use: i64 = cache
        .iter()
        .filter(|c| json::bool(c, "InUse") && !json::bool(c, "Shared"))
        .map(|c| json::int(c, "Size"))
        .sum();
    let cache_row = row([
        ("Type", "Build Cache".into()),
        ("TotalCount", cache.len().to_string()),
        (
            "Active",
            cache
                .iter()
                .filter(|c| json::bool(c, "InUse"))
                .count()
                .to_string(),
        ),
        ("Size", human_size(builder as f64)),
        ("Reclaimable", human_size((builder - in_use) as f64)),
    ]);
    vec![images_row, containers_row, volumes_row, cache_row]
}

fn since(secs: i64) -> String {
    format!("{} ago", human_duration(timefmt::now() - secs))
}

fn container_row(c: &Value, trunc: bool) -> Value {
    let id = json::str(c, "Id");
    let image = json::str(c, "Image");
    let command = json::str(c, "Command");
    let command = if trunc {
        ellipsis(&command, 20)
    } else {
        command
    };
    let volumes = json::array(c, "Mounts")
        .iter()
        .filter(|m| json::str(m, "Type") == "volume")
        .count();
    let names: Vec<String> = json::strings(c, "Names")
        .iter()
        .map(|n| n.trim_start_matches('/').to_string())
        .collect();
    row([
        ("ID", if trunc { truncate_id(&id) } else { id }),
        (
            "Image",
            if trunc && image.starts_with("sha256:") {
                truncate_id(&image)
            } else {
                image
            },
        ),
        ("Command", jsonfmt::encode(&Value::String(command), false)),
        ("LocalVolumes", volumes.to_string()),
        (
            "Size",
            human_size_with_precision(json::int(c, "SizeRw") as f64, 3),
        ),
        ("RunningFor", since(json::int(c, "Created"))),
        ("Status", json::str(c, "Status")),
        ("Names", names.join(",")),
    ])
}

fn volume_row(v: &Value) -> Value {
    let (size, refs) = volume_usage(v);
    row([
        ("Name", json::str(v, "Name")),
        (
            "Links",
            if refs == -1 {
                "N/A".into()
            } else {
                refs.to_string()
            },
        ),
        (
            "Size",
            if size == -1 {
                "N/A".into()
            } else {
                human_size(size as f64)
            },
        ),
    ])
}

fn cache_row(c: &Value, trunc: bool) -> Value {
    let id = json::str(c, "ID");
    let stamp = |k: &str| {
        timefmt::parse_rfc3339(&json::str(c, k))
            .map(since)
            .unwrap_or_default()
    };
    row([
        (
            "ID",
            if trunc {
                id.chars().take(12).collect()
            } else {
                id
            },
        ),
        ("CacheType", json::str(c, "Type")),
        (
            "Size",
            human_size_with_precision(json::int(c, "Size") as f64, 3),
        ),
        ("CreatedSince", stamp("CreatedAt")),
        ("LastUsedSince", stamp("LastUsedAt")),
        ("UsageCount", json::int(c, "UsageCount").to_string()),
        ("Shared", json::bool(c, "Shared").to_string()),
    ])
}

/// The verbose rows, keyed as docker's `diskUsageContext`.
fn verbose_data(df: &Value, trunc: bool) -> Value {
    let images: Vec<Value> = json::array(df, "Images")
        .iter()
        .map(|img| {
            let (mut repo, mut tag) = ("<none>".to_string(), "<none>".to_string());
            if !ls::is_dangling(img)
                && let Some(first) = json::strings(img, "RepoTags").first()
                && let Ok(r) = berth_client::reference::Reference::parse_normalized(first)
                && let Some(t) = &r.tag
            {
                repo = r.familiar_name();
                tag = t.clone();
            }
            ls::image_row(img, &repo, &tag, "", trunc)
        })
        .collect();
    let containers: Vec<Value> = json::array(df, "Containers")
        .iter()
        .map(|c| container_row(c, trunc))
        .collect();
    let volumes: Vec<Value> = json::array(df, "Volumes").iter().map(volume_row).collect();
    let mut cache: Vec<&Value> = json::array(df, "BuildCache").iter().collect();
    cache.sort_by_key(|c| std::cmp::Reverse(json::str(c, "LastUsedAt")));
    let cache: Vec<Value> = cache.into_iter().map(|c| cache_row(c, trunc)).collect();
    json!({"Images": images, "Containers": containers, "Volumes": volumes, "BuildCache": cache})
}

fn verbose_table(df: &Value) -> Result<String, String> {
    let data = verbose_data(df, true);
    let section = |key: &str, fmt: &str, spec: &ListSpec<'_>| {
        let rows = data[key].as_array().cloned().unwrap_or_default();
        format::render_list(fmt, &rows, spec)
    };
    let builder: i64 = json::array(df, "BuildCache")
        .iter()
        .filter(|c| !json::bool(c, "Shared"))
        .map(|c| json::int(c, "Size"))
        .sum();
    let mut out = String::from("Images space usage:\n\n");
    out.push_str(&section("Images", IMAGES_FORMAT, &ls::SPEC)?);
    out.push_str("\nContainers space usage:\n\n");
    out.push_str(&section("Containers", CONTAINERS_FORMAT, &CONTAINERS_SPEC)?);
    out.push_str("\nLocal Volumes space usage:\n\n");
    out.push_str(&section("Volumes", VOLUMES_FORMAT, &VOLUMES_SPEC)?);
    out.push_str(&format!(
        "\nBuild cache usage: {}\n\n",
        human_size(builder as f64)
    ));
    out.push_str(&section(
        "BuildCache",
        BUILD_CACHE_FORMAT,
        &BUILD_CACHE_SPEC,
    )?);
    Ok(out)
}

pub fn render(df: &Value, format: Option<&str>, verbose: bool) -> Result<String, String> {
    let source = format.unwrap_or(TABLE);
    if verbose {
        if source == TABLE {
            return verbose_table(df);
        }
        let tmpl = parse_template(&template_string(source))?;
        let data = verbose_data(df, format::is_table(source));
        return tmpl
            .execute(&data, Options::default())
            .map_err(|e| format!("template parsing error: {e}"));
    }
    let fmt = if source == TABLE {
        SUMMARY_FORMAT
    } else {
        source
    };
    format::render_list(fmt, &summary_rows(df), &SUMMARY_SPEC)
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let df: Value = ctx.client.system_df_as().await?;
    let out = render(&df, args.format.as_deref(), args.verbose).map_err(CliError::Msg)?;
    term::out(&out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn df() -> Value {
        json!({
            "LayersSize": 4261266,
            "Images": [{
                "Id": "sha256:6fd955f66c231c1a946653170d096fef8b9f2a7b0b4e9fbf0d1bdbad5ce34a8b",
                "RepoTags": ["busybox:latest"], "RepoDigests": [], "Created": timefmt::now() - 60,
                "Size": 4261266, "SharedSize": 0, "Containers": 0, "Labels": null, "ParentId": ""
            }],
            "Containers": [], "Volumes": [], "BuildCache": []
        })
    }

    #[test]
    fn summary() {
        let out = render(&df(), None, false).unwrap();
        let expected = "\
TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          1         0         4.261MB   4.261MB (100%)
Containers      0         0         0B        0B
Local Volumes   0         0         0B        0B
Build Cache     0         0         0B        0B
";
        assert_eq!(out, expected);
        let out = render(&df(), Some("{{.Type}}: {{.Size}}"), false).unwrap();
        assert_eq!(out.lines().next(), Some("Images: 4.261MB"));
    }

    #[test]
    fn verbose() {
        let out = render(&df(), None, true).unwrap();
        let expected = "\
Images space usage:

REPOSITORY   TAG       IMAGE ID       CREATED              SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS
busybox      latest    6fd955f66c23   About a minute ago   4.26MB    0B            4.261MB       0

Containers space usage:

CONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES

Local Volumes space usage:

VOLUME NAME   LINKS     SIZE

Build cache usage: 0B

CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED
";
        assert_eq!(out, expected);
        let json_out = render(&df(), Some("json"), true).unwrap();
        let v: Value = serde_json::from_str(&json_out).unwrap();
        assert_eq!(v["Images"][0]["Repository"], "busybox");
    }

    #[test]
    fn containers_and_volumes() {
        let mut d = df();
        d["Containers"] = json!([
            {"Id": "0123456789abcdef0123", "Image": "busybox", "Command": "sleep 1000000000000",
             "Created": timefmt::now() - 7200, "State": "running", "Status": "Up 2 hours",
             "SizeRw": 1000, "Names": ["/web"], "Mounts": [{"Type": "volume"}, {"Type": "bind"}]},
            {"Id": "fedcba", "Image": "busybox", "Command": "true", "Created": 0,
             "State": "exited", "Status": "Exited (0)", "SizeRw": 3000, "Names": ["/x"], "Mounts": []}
        ]);
        d["Volumes"] = json!([
            {"Name": "v1", "UsageData": {"Size": 2000, "RefCount": 1}},
            {"Name": "v2", "UsageData": {"Size": 500, "RefCount": 0}},
            {"Name": "v3", "UsageData": null}
        ]);
        let rows = summary_rows(&d);
        assert_eq!(rows[1]["Active"], "1");
        assert_eq!(rows[1]["Size"], "4kB");
        assert_eq!(rows[1]["Reclaimable"], "3kB (75%)");
        assert_eq!(rows[2]["TotalCount"], "3");
        assert_eq!(rows[2]["Active"], "1");
        assert_eq!(rows[2]["Reclaimable"], "500B (20%)");
        let c = container_row(&d["Containers"][0], true);
        assert_eq!(c["ID"], "0123456789ab");
        assert_eq!(c["Command"], "\"sleep 1000000000000\"");
        assert_eq!(c["LocalVolumes"], "1");
        assert_eq!(c["Names"], "web");
        assert_eq!(c["RunningFor"], "2 hours ago");
        let v = volume_row(&d["Volumes"][2]);
        assert_eq!(v["Links"], "N/A");
    }
}
