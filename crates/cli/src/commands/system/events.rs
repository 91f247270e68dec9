//! `berth events` / `berth system events`: the daemon's event stream,
//! printed as docker prints it or through `--format`, between `--since`
//! and `--until`.

use std::collections::BTreeMap;

use berth_client::EventsOptions;
use chrono::{Local, TimeZone};
use serde_json::Value;

use crate::commands::container::logs::timestamp;
use crate::commands::json;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::format::template::{Options, Template};
use crate::format::{JSON, JSON_TEMPLATE};
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long, value_name = "string")]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long, value_name = "string")]
    pub until: Option<String>,
}

/// Go's `RFC3339NanoFixed` in local time.
fn fixed_nano(nanos: i64) -> String {
    let t = Local.timestamp_nanos(nanos);
    let base = t.format("%Y-%m-%dT%H:%M:%S%.9f").to_string();
    if t.offset().local_minus_utc() == 0 {
        format!("{base}Z")
    } else {
        format!("{base}{}", t.format("%:z"))
    }
}

/// Docker's `prettyPrintEvent`.
pub fn pretty(e: &Value) -> String {
    let mut out = String::new();
    let nanos = json::int(e, "timeNano");
    let secs = json::int(e, "time");
    if nanos != 0 {
        out.push_str(&fixed_nano(nanos));
        out.push(' ');
    } else if secs != 0 {
        out.push_str(&fixed_nano(secs * 1_000_000_000));
        out.push(' ');
    }
    let actor = e.get("Actor").cloned().unwrap_or(Value::Null);
    out.push_str(&format!(
        "{} {} {}",
        json::str(e, "Type"),
        json::str(e, "Action"),
        json::str(&actor, "ID")
    ));
    let attrs: BTreeMap<String, String> = actor
        .get("Attributes")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    if !attrs.is_empty() {
        let list: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!(" ({})", list.join(", ")));
    }
    out.push('\n');
    out
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let template = match args.format.as_deref() {
        None | Some("") => None,
        Some(f) => {
            let src = if f == JSON { JSON_TEMPLATE } else { f };
            let t = Template::parse(src)
                .map_err(|e| CliError::Plain(format!("template parsing error: {e}")))?;
            Some(t)
        }
    };
    let opts = EventsOptions {
        since: timestamp("since", &args.since)?,
        until: timestamp("until", &args.until)?,
        filters: crate::commands::container::common::filters(
            "events",
            "[OPTIONS]",
            "-f, --filter",
            &args.filter,
        )?,
    };
    let mut events = ctx.client.events_as::<Value>(&opts).await?;
    while let Some(e) = events.next().await {
        let e = e?;
        let text = match &template {
            None => pretty(&e),
            Some(t) => {
                let mut s = t
                    .execute(&e, Options::default())
                    .map_err(|err| CliError::Plain(err.to_string()))?;
                s.push('\n');
                s
            }
        };
        term::out(&text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_like_docker() {
        let e = json!({
            "Type": "container", "Action": "start",
            "Actor": {"ID": "abc", "Attributes": {"name": "web", "image": "busybox"}},
            "scope": "local", "time": 1_700_000_000, "timeNano": 1_700_000_000_123_456_789i64
        });
        let line = pretty(&e);
        assert!(
            line.ends_with(" container start abc (image=busybox, name=web)\n"),
            "{line}"
        );
        assert!(line.contains(".123456789"), "{line}");
        let e = json!({"Type": "network", "Action": "create", "Actor": {"ID": "n"}});
        assert_eq!(pretty(&e), "network create n\n");
    }
}
