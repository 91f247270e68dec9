//! `berth inspect` (containers, images, networks, volumes) and the inspector
//! every `… inspect` command shares: indented JSON, `json`, or a template
//! run on each object.

use serde_json::Value;

use crate::context::Ctx;
use crate::error::{CliError, CliResult, TEMPLATE_EXIT};
use crate::format::jsonfmt;
use crate::format::template::{Options, Template};
use crate::term;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    pub size: bool,
    /// Return JSON for specified type
    #[arg(long = "type", value_name = "string")]
    pub kind: Option<String>,
    #[arg(value_name = "NAME|ID", required = true)]
    pub names: Vec<String>,
}

/// Collects inspected objects and prints them as docker's inspectors do.
pub enum Inspector {
    Indented(Vec<Vec<u8>>),
    Compact(Vec<Vec<u8>>),
    Template(Template, String),
}

impl Inspector {
    /// A template that does not parse is exit status 64, before any
    /// request.
    pub fn new(format: Option<&str>) -> CliResult<Self> {
        Ok(match format {
            None | Some("") => Inspector::Indented(Vec::new()),
            Some("json") => Inspector::Compact(Vec::new()),
            Some(src) => {
                let t = Template::parse(src).map_err(|e| {
                    CliError::msg(format!("template parsing error: {e}")).with_status(TEMPLATE_EXIT)
                })?;
                Inspector::Template(t, String::new())
            }
        })
    }

    /// Adds one object, as the daemon sent it.
    pub fn add(&mut self, raw: &[u8]) -> CliResult {
        match self {
            Inspector::Indented(list) | Inspector::Compact(list) => list.push(raw.to_vec()),
            Inspector::Template(t, out) => {
                let value: Value = serde_json::from_slice(raw)
                    .map_err(|e| CliError::msg(format!("unable to read inspect data: {e}")))?;
                let text = t
                    .execute(&value, Options::default())
                    .map_err(|e| CliError::msg(format!("template parsing error: {e}")))?;
                out.push_str(&text);
                out.push('\n');
            }
        }
        Ok(())
    }

    /// The text for stdout.
    pub fn finish(self) -> String {
        let joined = |list: &[Vec<u8>]| {
            let mut all = b"[".to_vec();
            for (i, raw) in list.iter().enumerate() {
                if i > 0 {
                    all.push(b',');
                }
                all.extend_from_slice(raw);
            }
            all.push(b']');
            all
        };
        match self {
            Inspector::Indented(list) if list.is_empty() => "[]\n".into(),
            Inspector::Compact(list) if list.is_empty() => "[]\n".into(),
            Inspector::Indented(list) => format!("{}\n", jsonfmt::indent(&joined(&list), "    ")),
            Inspector::Compact(list) => format!("{}\n", jsonfmt::compact(&joined(&list))),
            Inspector::Template(_, out) if out.is_empty() => "\n".into(),
            Inspector::Template(_, out) => out,
        }
    }
}

/// Prints the objects and fails with every error, one per line.
pub fn finish(inspector: Inspector, errors: Vec<CliError>) -> CliResult {
    term::out(&inspector.finish())?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Many(errors))
    }
}

/// Docker's object types for `--type`.
const TYPES: &[&str] = &[
    "config",
    "container",
    "image",
    "network",
    "node",
    "plugin",
    "secret",
    "service",
    "task",
    "volume",
];

/// The types looked up, in docker's order, when `--type` is not given.
const AUTODETECT: &[&str] = &["container", "image", "network", "volume"];

async fn inspect_raw(
    ctx: &Ctx,
    kind: &str,
    name: &str,
    size: bool,
) -> Option<berth_client::Result<bytes::Bytes>> {
    Some(match kind {
        "container" => ctx.client.container_inspect_raw(name, size).await,
        "image" => ctx.client.image_inspect_raw(name).await,
        "network" => ctx.client.network_inspect_raw(name, false).await,
        "volume" => ctx.client.volume_inspect_raw(name).await,
        _ => return None,
    })
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let kind = args.kind.as_deref();
    match kind {
        Some("") => {
            return Err(CliError::Plain(format!(
                "type is empty: must be one of \"{}\"",
                TYPES.join("\", \"")
            )));
        }
        Some(k) if !TYPES.contains(&k) => {
            return Err(CliError::Plain(format!(
                "unknown type: {k:?}: must be one of \"{}\"",
                TYPES.join("\", \"")
            )));
        }
        _ => {}
    }
    let kinds: Vec<&str> = match kind {
        Some(k) => vec![k],
        None => AUTODETECT.to_vec(),
    };
    let mut inspector = Inspector::new(args.format.as_deref())?;
    let mut errors = Vec::new();
    'names: for name in &args.names {
        for k in &kinds {
            match inspect_raw(ctx, k, name, args.size).await {
                Some(Ok(raw)) => {
                    if let Err(e) = inspector.add(&raw) {
                        errors.push(e);
                    }
                    continue 'names;
                }
                Some(Err(e)) if kind.is_none() && e.is_not_found() => {}
                Some(Err(e)) => {
                    errors.push(e.into());
                    continue 'names;
                }
                None => {}
            }
        }
        errors.push(CliError::Plain(format!("Error: No such object: {name}")));
    }
    finish(inspector, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] =
        br#"{"Id":"sha256:ab","RepoTags":["a:b"],"Config":{"Env":["A=1"],"Entrypoint":null}}"#;

    #[test]
    fn indented_like_docker() {
        let mut i = Inspector::new(None).unwrap();
        i.add(RAW).unwrap();
        let out = i.finish();
        assert!(
            out.starts_with("[\n    {\n        \"Id\": \"sha256:ab\",\n"),
            "{out}"
        );
        assert!(out.ends_with("    }\n]\n"), "{out}");
        assert_eq!(Inspector::new(None).unwrap().finish(), "[]\n");
    }

    #[test]
    fn compact_json() {
        let mut i = Inspector::new(Some("json")).unwrap();
        i.add(RAW).unwrap();
        i.add(RAW).unwrap();
        let out = i.finish();
        assert_eq!(out.lines().count(), 1);
        assert!(out.starts_with("[{\"Id\""));
    }

    #[test]
    fn templates() {
        let mut i = Inspector::new(Some("{{.Id}} {{.Config.Env}} {{.Config.Entrypoint}}")).unwrap();
        i.add(RAW).unwrap();
        assert_eq!(i.finish(), "sha256:ab [A=1] []\n");
        let err = Inspector::new(Some("{{.Id")).err().unwrap();
        assert_eq!(err.exit_code(), TEMPLATE_EXIT);
        let mut i = Inspector::new(Some("{{index .RepoTags 3}}")).unwrap();
        assert!(i.add(RAW).is_err());
        assert_eq!(i.finish(), "\n");
    }
}
