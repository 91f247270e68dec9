//! `berth images` / `berth image ls`: one row per repository and tag, as
//! docker's image formatter lays them out.

use berth_client::ImageListOptions;
use berth_client::reference::Reference;
use serde_json::Value;

use crate::commands::{json, parse_filters};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::units::{human_duration, human_size, human_size_with_precision};
use crate::format::{self, ListSpec, TABLE, row, timefmt, truncate_id};
use crate::term;

const TABLE_FORMAT: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";
const TABLE_FORMAT_DIGEST: &str = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";
const QUIET_FORMAT: &str = "{{.ID}}";

pub const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
];

pub const SPEC: ListSpec<'static> = ListSpec {
    headers: HEADERS,
    type_name: "*formatter.imageContext",
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
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
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

/// Docker's `NewImageFormat`.
pub fn image_format(source: &str, quiet: bool, digest: bool) -> String {
    if source == TABLE {
        return match (quiet, digest) {
            (true, _) => QUIET_FORMAT.into(),
            (false, true) => TABLE_FORMAT_DIGEST.into(),
            (false, false) => TABLE_FORMAT.into(),
        };
    }
    let mut format = source.to_string();
    if format::is_table(&format) && digest && !format.contains("{{.Digest}}") {
        format.push_str("\t{{.Digest}}");
    }
    format
}

/// The row of one image shown under `repo:tag` (docker's imageContext).
pub fn image_row(img: &Value, repo: &str, tag: &str, digest: &str, trunc: bool) -> Value {
    let id = json::str(img, "Id");
    let created = json::int(img, "Created");
    let size = json::int(img, "Size");
    let shared = json::int_or(img, "SharedSize", -1);
    let containers = json::int_or(img, "Containers", -1);
    let now = timefmt::now();
    row([
        ("ID", if trunc { truncate_id(&id) } else { id }),
        ("Repository", repo.to_string()),
        ("Tag", tag.to_string()),
        ("Digest", digest.to_string()),
        (
            "CreatedSince",
            format!("{} ago", human_duration(now - created)),
        ),
        ("CreatedAt", timefmt::local(created).go_string()),
        ("Size", human_size_with_precision(size as f64, 3)),
        (
            "Containers",
            if containers == -1 {
                "N/A".into()
            } else {
                containers.to_string()
            },
        ),
        (
            "SharedSize",
            if shared == -1 {
                "N/A".into()
            } else {
                human_size(shared as f64)
            },
        ),
        (
            "UniqueSize",
            if size == -1 || shared == -1 {
                "N/A".into()
            } else {
                human_size((size - shared) as f64)
            },
        ),
        ("VirtualSize", human_size(size as f64)),
    ])
}

/// Docker's `isDangling`.
pub fn is_dangling(img: &Value) -> bool {
    let tags = json::strings(img, "RepoTags");
    let digests = json::strings(img, "RepoDigests");
    (tags.is_empty() && digests.is_empty())
        || (tags == ["<none>:<none>"] && digests == ["<none>@<none>"])
}

/// Rows for one image: one per repository and tag (and digest when
/// `digests`), or a single `<none>` row for a dangling image.
pub fn image_rows(img: &Value, trunc: bool, digests: bool, show_digests: bool) -> Vec<Value> {
    if is_dangling(img) {
        return vec![image_row(img, "<none>", "<none>", "<none>", trunc)];
    }
    // Ordered maps keyed by familiar repository name.
    let mut repo_tags: Vec<(String, Vec<String>)> = Vec::new();
    let mut repo_digests: Vec<(String, Vec<String>)> = Vec::new();
    fn add(list: &mut Vec<(String, Vec<String>)>, key: String, value: String) {
        match list.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(value),
            None => list.push((key, vec![value])),
        }
    }
    for text in json::strings(img, "RepoTags") {
        if let Ok(r) = Reference::parse_normalized(&text)
            && let Some(tag) = &r.tag
        {
            add(&mut repo_tags, r.familiar_name(), tag.clone());
        }
    }
    for text in json::strings(img, "RepoDigests") {
        if let Ok(r) = Reference::parse_normalized(&text)
            && let Some(d) = &r.digest
        {
            add(&mut repo_digests, r.familiar_name(), d.clone());
        }
    }
    let mut rows = Vec::new();
    for (repo, tags) in &repo_tags {
        let pos = repo_digests.iter().position(|(k, _)| k == repo);
        let dg = pos.map(|i| repo_digests.remove(i).1).unwrap_or_default();
        let dg = if digests { dg } else { Vec::new() };
        for tag in tags {
            if dg.is_empty() {
                rows.push(image_row(img, repo, tag, "<none>", trunc));
            }
            for d in &dg {
                rows.push(image_row(img, repo, tag, d, trunc));
            }
        }
    }
    for (repo, dg) in &repo_digests {
        if show_digests {
            for d in dg {
                rows.push(image_row(img, repo, "<none>", d, trunc));
            }
        } else {
            rows.push(image_row(img, repo, "<none>", "", trunc));
        }
    }
    rows
}

pub async fn run(ctx: &Ctx, args: Args, called_as_images: bool) -> CliResult {
    let mut filters = parse_filters(&args.filter)?;
    if let Some(r) = &args.reference {
        filters.add("reference", r);
    }
    let opts = ImageListOptions {
        all: args.all,
        filters,
        ..Default::default()
    };
    let images: Vec<Value> = ctx.client.image_list_as(&opts).await?;
    let source = args.format.clone().unwrap_or_else(|| TABLE.to_string());
    let format = image_format(&source, args.quiet, args.digests);
    let need_digest = args.digests || format.contains("{{.Digest}}");
    let rows: Vec<Value> = images
        .iter()
        .flat_map(|img| image_rows(img, !args.no_trunc, need_digest, args.digests))
        .collect();
    let out = format::render_list(&format, &rows, &SPEC).map_err(CliError::Msg)?;
    term::out(&out)?;
    if called_as_images
        && images.is_empty()
        && let Some(name) = &args.reference
    {
        hint_subcommand(name);
    }
    Ok(())
}

/// `berth images ls` most likely meant `berth image ls`.
fn hint_subcommand(name: &str) {
    const SUBCOMMANDS: &[&str] = &[
        "build", "history", "import", "inspect", "list", "load", "ls", "prune", "pull", "push",
        "rm", "save", "tag",
    ];
    if SUBCOMMANDS.contains(&name) {
        term::err_line(&format!(
            "No images found matching {name:?}: did you mean \"berth image {name}\"?"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn busybox() -> Value {
        json!({
            "Id": "sha256:6fd955f66c231c1a946653170d096fef8b9f2a7b0b4e9fbf0d1bdbad5ce34a8b",
            "RepoTags": ["busybox:latest", "busybox:1.36", "localhost:5000/bb:v1"],
            "RepoDigests": ["busybox@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
            "Created": timefmt::now() - 3 * 7 * 86400,
            "Size": 4261266,
            "SharedSize": -1,
            "Containers": -1,
            "Labels": null,
            "ParentId": ""
        })
    }

    fn col(rows: &[Value], key: &str) -> Vec<String> {
        rows.iter()
            .map(|r| r[key].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn one_row_per_tag() {
        let rows = image_rows(&busybox(), true, false, false);
        assert_eq!(
            col(&rows, "Repository"),
            ["busybox", "busybox", "localhost:5000/bb"]
        );
        assert_eq!(col(&rows, "Tag"), ["latest", "1.36", "v1"]);
        assert_eq!(col(&rows, "ID")[0], "6fd955f66c23");
        assert_eq!(col(&rows, "Digest")[0], "<none>");
        assert_eq!(col(&rows, "CreatedSince")[0], "3 weeks ago");
        assert_eq!(col(&rows, "Size")[0], "4.26MB");
        assert_eq!(col(&rows, "Containers")[0], "N/A");
        assert_eq!(col(&rows, "UniqueSize")[0], "N/A");
        let rows = image_rows(&busybox(), false, true, true);
        assert!(col(&rows, "Digest")[0].starts_with("sha256:aaaa"));
        assert!(col(&rows, "ID")[0].starts_with("sha256:6fd9"));
    }

    #[test]
    fn dangling_and_digest_only() {
        let mut img = busybox();
        img["RepoTags"] = json!([]);
        img["RepoDigests"] = json!(null);
        let rows = image_rows(&img, true, false, false);
        assert_eq!(col(&rows, "Repository"), ["<none>"]);
        assert_eq!(col(&rows, "Tag"), ["<none>"]);
        let mut img = busybox();
        img["RepoTags"] = json!([]);
        let rows = image_rows(&img, true, false, false);
        assert_eq!(col(&rows, "Repository"), ["busybox"]);
        assert_eq!(col(&rows, "Tag"), ["<none>"]);
    }

    #[test]
    fn table_output() {
        let rows = image_rows(&busybox(), true, false, false);
        let out = format::render_list(&image_format(TABLE, false, false), &rows, &SPEC).unwrap();
        let expected = "\
REPOSITORY          TAG       IMAGE ID       CREATED       SIZE
busybox             latest    6fd955f66c23   3 weeks ago   4.26MB
busybox             1.36      6fd955f66c23   3 weeks ago   4.26MB
localhost:5000/bb   v1        6fd955f66c23   3 weeks ago   4.26MB
";
        assert_eq!(out, expected);
        let quiet = format::render_list(&image_format(TABLE, true, false), &rows, &SPEC).unwrap();
        assert_eq!(quiet, "6fd955f66c23\n6fd955f66c23\n6fd955f66c23\n");
        let custom = image_format("table {{.ID}}", false, true);
        assert_eq!(custom, "table {{.ID}}\t{{.Digest}}");
        let json_out = format::render_list("json", &rows[..1], &SPEC).unwrap();
        let v: Value = serde_json::from_str(json_out.trim()).unwrap();
        assert_eq!(v["Repository"], "busybox");
        assert_eq!(v["Digest"], "<none>");
        assert!(json_out.contains("\\u003cnone\\u003e"));
    }
}
