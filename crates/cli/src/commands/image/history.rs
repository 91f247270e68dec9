//! `berth history`: the layers of an image, newest first.

use serde_json::Value;

use crate::commands::json;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::units::{human_duration, human_size_with_precision};
use crate::format::{self, ListSpec, TABLE, ellipsis, row, timefmt, truncate_id};
use crate::term;

const TABLE_FORMAT: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const NON_HUMAN_TABLE_FORMAT: &str =
    "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

const SPEC: ListSpec<'static> = ListSpec {
    headers: &[
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ],
    type_name: "*image.historyContext",
};

/// 2000-01-01: older creation times are "N/A" (zero or bogus dates).
const EPOCH_2000: i64 = 946_684_800;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Print sizes and dates in human readable format
    #[arg(
        short = 'H',
        long,
        value_name = "bool",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub human: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

pub fn history_row(h: &Value, trunc: bool, human: bool) -> Value {
    let id = json::str(h, "Id");
    let created = json::int(h, "Created");
    let created_at = timefmt::local(created).rfc3339();
    let since = if !human {
        created_at.clone()
    } else if created <= EPOCH_2000 {
        "N/A".to_string()
    } else {
        format!("{} ago", human_duration(timefmt::now() - created))
    };
    let created_by = json::str(h, "CreatedBy").replace('\t', " ");
    let size = json::int(h, "Size");
    row([
        ("ID", if trunc { truncate_id(&id) } else { id }),
        ("CreatedSince", since),
        ("CreatedAt", created_at),
        (
            "CreatedBy",
            if trunc {
                ellipsis(&created_by, 45)
            } else {
                created_by
            },
        ),
        (
            "Size",
            if human {
                human_size_with_precision(size as f64, 3)
            } else {
                size.to_string()
            },
        ),
        ("Comment", json::str(h, "Comment")),
    ])
}

pub fn history_format(source: &str, quiet: bool, human: bool) -> String {
    if source != TABLE {
        return source.to_string();
    }
    match (quiet, human) {
        (true, _) => "{{.ID}}".into(),
        (false, false) => NON_HUMAN_TABLE_FORMAT.into(),
        (false, true) => TABLE_FORMAT.into(),
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let items: Vec<Value> = ctx.client.image_history_as(&args.image).await?;
    let source = args.format.clone().unwrap_or_else(|| TABLE.to_string());
    let format = history_format(&source, args.quiet, args.human);
    let rows: Vec<Value> = items
        .iter()
        .map(|h| history_row(h, !args.no_trunc, args.human))
        .collect();
    let out = format::render_list(&format, &rows, &SPEC).map_err(CliError::Msg)?;
    term::out(&out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table() {
        let now = timefmt::now();
        let items = [
            json!({"Id": "sha256:6fd955f66c231c1a946653170d096fef8b9f2a7b0b4e9fbf0d1bdbad5ce34a8b",
                   "Created": now - 120, "CreatedBy": "/bin/sh -c #(nop)  CMD [\"sh\"]",
                   "Size": 0, "Comment": "", "Tags": ["busybox:latest"]}),
            json!({"Id": "<missing>", "Created": now - 120,
                   "CreatedBy": "/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fd3443cef785fd1 in /",
                   "Size": 4261266, "Comment": "imported", "Tags": null}),
        ];
        let rows: Vec<Value> = items.iter().map(|h| history_row(h, true, true)).collect();
        let out = format::render_list(TABLE_FORMAT, &rows, &SPEC).unwrap();
        let expected = "\
IMAGE          CREATED         CREATED BY                                      SIZE      COMMENT
6fd955f66c23   2 minutes ago   /bin/sh -c #(nop)  CMD [\"sh\"]                   0B        
<missing>      2 minutes ago   /bin/sh -c #(nop) ADD file:7e9002edaafd4e457…   4.26MB    imported
";
        assert_eq!(out, expected);
        let raw = history_row(&items[1], false, false);
        assert_eq!(raw["Size"], "4261266");
        assert!(raw["CreatedSince"].as_str().unwrap().contains('T'));
        assert_eq!(history_format(TABLE, true, true), "{{.ID}}");
    }
}
