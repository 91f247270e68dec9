//! Output formatting shared by the commands: Docker's `--format` values
//! (`table`, `table TEMPLATE`, `json`, `TEMPLATE`), aligned tables, Go
//! templates and Go's way of printing values, sizes and times.

pub mod gofmt;
pub mod jsonfmt;
pub mod tabwriter;
pub mod template;
pub mod timefmt;
pub mod units;

use serde_json::{Map, Value};

use self::tabwriter::TabWriter;
use self::template::{Mode, Options, Template};

pub const TABLE: &str = "table";
pub const JSON: &str = "json";
/// The template `--format json` stands for.
pub const JSON_TEMPLATE: &str = "{{json .}}";

/// True for `table` and `table TEMPLATE`.
pub fn is_table(format: &str) -> bool {
    format.starts_with(TABLE)
}

/// Docker's `Format.templateString`: strips `table`, maps `json`, trims
/// spaces and turns the two-character escapes `\t` and `\n` into the
/// characters.
pub fn template_string(format: &str) -> String {
    match format {
        TABLE => return String::new(),
        JSON => return JSON_TEMPLATE.to_string(),
        _ => {}
    }
    let body = format.strip_prefix(TABLE).unwrap_or(format);
    body.trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n")
}

/// What a list command knows about its rows: the header of each field and
/// the Go type named in errors.
pub struct ListSpec<'a> {
    pub headers: &'a [(&'a str, &'a str)],
    pub type_name: &'a str,
}

impl ListSpec<'_> {
    fn header_row(&self) -> Value {
        let map: Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        Value::Object(map)
    }
}

/// Parses a template, with Docker's "template parsing error" wording.
pub fn parse_template(src: &str) -> Result<Template, String> {
    Template::parse(src).map_err(|e| format!("template parsing error: {e}"))
}

/// Renders rows with `format` the way Docker's formatter context does:
/// one template execution per row; for tables, a header rendered from the
/// same template and everything aligned by a tab writer.
pub fn render_list(format: &str, rows: &[Value], spec: &ListSpec<'_>) -> Result<String, String> {
    let tmpl = parse_template(&template_string(format))?;
    let opts = Options {
        mode: Mode::Strict,
        type_name: spec.type_name,
        escape_html_root: true,
    };
    let mut body = String::new();
    for row in rows {
        let text = tmpl
            .execute(row, opts)
            .map_err(|e| format!("template parsing error: {e}"))?;
        body.push_str(&text);
        body.push('\n');
    }
    if !is_table(format) {
        return Ok(body);
    }
    let header_opts = Options {
        mode: Mode::Header,
        ..opts
    };
    let header = match tmpl.execute_partial(&spec.header_row(), header_opts) {
        Ok(h) => h,
        Err((partial, _)) => partial,
    };
    let mut tw = TabWriter::docker_table();
    tw.write(&header);
    tw.write("\n");
    tw.write(&body);
    Ok(tw.flush())
}

/// A JSON object of string fields, the shape of Docker's list contexts.
pub fn row<const N: usize>(fields: [(&str, String); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect(),
    )
}

/// Docker's `TruncateID`: drops `sha256:` and keeps 12 characters.
pub fn truncate_id(id: &str) -> String {
    let id = match id.split_once(':') {
        Some((_, rest)) => rest,
        None => id,
    };
    id.chars().take(12).collect()
}

/// Docker's `Ellipsis`: shortens to `max` columns, ending in `…`.
pub fn ellipsis(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    if tabwriter::display_width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut width = 0;
    for c in s.chars() {
        let w = tabwriter::display_width(c.encode_utf8(&mut [0; 4]));
        if width + w > max - 1 {
            break;
        }
        out.push(c);
        width += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADERS: &[(&str, &str)] = &[
        ("ID", "IMAGE ID"),
        ("Repository", "REPOSITORY"),
        ("Size", "SIZE"),
    ];

    fn spec() -> ListSpec<'static> {
        ListSpec {
            headers: HEADERS,
            type_name: "*formatter.imageContext",
        }
    }

    fn rows() -> Vec<Value> {
        vec![
            row([
                ("ID", "6fd955f66c23".into()),
                ("Repository", "busybox".into()),
                ("Size", "4.26MB".into()),
            ]),
            row([
                ("ID", "abc".into()),
                ("Repository", "<none>".into()),
                ("Size", "0B".into()),
            ]),
        ]
    }

    #[test]
    fn template_strings() {
        assert_eq!(template_string("table"), "");
        assert_eq!(template_string("json"), "{{json .}}");
        assert_eq!(
            template_string("table {{.ID}}\\t{{.Size}}"),
            "{{.ID}}\t{{.Size}}"
        );
        assert_eq!(template_string("  {{.ID}}\\n "), "{{.ID}}\n");
        assert!(is_table("table {{.ID}}"));
        assert!(!is_table("{{.ID}}"));
    }

    #[test]
    fn table_with_headers() {
        let out = render_list(
            "table {{.Repository}}\\t{{.ID}}\\t{{.Size}}",
            &rows(),
            &spec(),
        )
        .unwrap();
        assert_eq!(
            out,
            "REPOSITORY   IMAGE ID       SIZE\n\
             busybox      6fd955f66c23   4.26MB\n\
             <none>       abc            0B\n"
        );
        let empty = render_list("table {{.ID}}\t{{.Size}}", &[], &spec()).unwrap();
        assert_eq!(empty, "IMAGE ID   SIZE\n");
    }

    #[test]
    fn plain_template_and_json() {
        let out = render_list("{{.ID}}: {{.Repository}}", &rows(), &spec()).unwrap();
        assert_eq!(out, "6fd955f66c23: busybox\nabc: <none>\n");
        let out = render_list("json", &rows()[1..], &spec()).unwrap();
        assert_eq!(
            out,
            "{\"ID\":\"abc\",\"Repository\":\"\\u003cnone\\u003e\",\"Size\":\"0B\"}\n"
        );
    }

    #[test]
    fn unknown_field_is_an_error() {
        let err = render_list("{{.Nope}}", &rows(), &spec()).unwrap_err();
        assert_eq!(
            err,
            "template parsing error: template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type *formatter.imageContext"
        );
        let err = render_list("{{.ID", &rows(), &spec()).unwrap_err();
        assert_eq!(err, "template parsing error: template: :1: unclosed action");
    }

    #[test]
    fn ids_and_ellipsis() {
        assert_eq!(
            truncate_id("sha256:6fd955f66c231c1a946653170d096fef"),
            "6fd955f66c23"
        );
        assert_eq!(truncate_id("<missing>"), "<missing>");
        assert_eq!(ellipsis("short", 45), "short");
        assert_eq!(ellipsis("abcdefghij", 5), "abcd…");
    }
}
