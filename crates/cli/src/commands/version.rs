//! `berth version`: client and server versions, laid out with docker's
//! template, or any `--format`.

use berth_api::version::API_VERSION;
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::error::{CliError, CliResult, TEMPLATE_EXIT};
use crate::format::tabwriter::TabWriter;
use crate::format::template::{ExtraFn, Options, Template, Val};
use crate::format::{JSON, JSON_TEMPLATE, timefmt};
use crate::term;

const DEFAULT_TEMPLATE: &str = r#"{{with .Client -}}
Client:{{if ne .Platform nil}}{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}{{end}}
 Version:	{{.Version}}
 API version:	{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 {{langLabel .GoVersion}}:	{{.GoVersion}}
 Git commit:	{{.GitCommit}}
 Built:	{{.BuildTime}}
 OS/Arch:	{{.Os}}/{{.Arch}}
 Context:	{{.Context}}
{{- end}}

{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:	{{.Version}}
  API version:	{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  {{langLabel (index .Details "GoVersion")}}:	{{index .Details "GoVersion"}}
  Git commit:	{{index .Details "GitCommit"}}
  Built:	{{index .Details "BuildTime"}}
  OS/Arch:	{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:	{{index .Details "Experimental"}}
  {{- else }}
  Version:	{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:	{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}"#;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
}

/// The sorted keys of a component's details.
fn details_order(args: &[Val]) -> Result<Val, String> {
    let mut keys: Vec<Value> = match args.first().and_then(Val::as_json) {
        Some(c) => c
            .get("Details")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(|k| Value::String(k.clone())).collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    keys.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    Ok(Val::V(Value::Array(keys)))
}

/// "Go version" for Go-built daemons, "Rust version" for ours.
fn lang_label(args: &[Val]) -> Result<Val, String> {
    let v = args.first().map(Val::print).unwrap_or_default();
    Ok(Val::str(if v.starts_with("go") {
        "Go version"
    } else {
        "Rust version"
    }))
}

/// Docker's `reformatDate`: RFC 3339 to ANSIC local time.
pub fn reformat_date(text: &str) -> String {
    match timefmt::parse_rfc3339(text) {
        Some(secs) => timefmt::local(secs).ansic(),
        None => text.to_string(),
    }
}

/// The client half, with docker's field names.
pub fn client_version(ctx: &Ctx) -> Value {
    let api = ctx.client.api_version_if_known().unwrap_or(API_VERSION);
    let built = env!("BERTH_BUILD_EPOCH").parse::<i64>().unwrap_or(0);
    json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": api.to_string(),
        "DefaultAPIVersion": API_VERSION.to_string(),
        "GitCommit": env!("BERTH_GIT_COMMIT"),
        "GoVersion": env!("BERTH_RUSTC_VERSION"),
        "Os": "linux",
        "Arch": go_arch(),
        "BuildTime": timefmt::local(built).ansic(),
        "Context": "default",
    })
}

/// Go's name for this machine's architecture.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Adds the `Engine` component when a daemon lists none and reformats
/// the engine's build time, as docker does.
fn normalize_server(mut server: Value) -> Value {
    let fallback = {
        let s = |k: &str| super::json::str(&server, k);
        json!({
            "Name": "Engine",
            "Version": s("Version"),
            "Details": {
                "ApiVersion": s("ApiVersion"),
                "MinAPIVersion": s("MinAPIVersion"),
                "GitCommit": s("GitCommit"),
                "GoVersion": s("GoVersion"),
                "Os": s("Os"),
                "Arch": s("Arch"),
                "BuildTime": reformat_date(&s("BuildTime")),
                "Experimental": super::json::bool(&server, "Experimental").to_string(),
            }
        })
    };
    let Some(obj) = server.as_object_mut() else {
        return server;
    };
    let components = obj
        .entry("Components")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !components.is_array() {
        *components = Value::Array(Vec::new());
    }
    if let Some(list) = components.as_array_mut() {
        let mut found = false;
        for c in list.iter_mut() {
            if c.get("Name").and_then(Value::as_str) == Some("Engine") {
                found = true;
                if let Some(bt) = c.pointer_mut("/Details/BuildTime") {
                    let text = bt.as_str().unwrap_or_default().to_string();
                    *bt = Value::String(reformat_date(&text));
                }
            }
        }
        if !found {
            list.push(fallback);
        }
    }
    server
}

pub fn render(format: Option<&str>, data: &Value) -> CliResult<String> {
    let src = match format {
        None | Some("") => DEFAULT_TEMPLATE,
        Some(JSON) => JSON_TEMPLATE,
        Some(other) => other,
    };
    let extra: Vec<(String, ExtraFn)> = vec![
        ("getDetailsOrder".into(), details_order as ExtraFn),
        ("langLabel".into(), lang_label as ExtraFn),
    ];
    let tmpl = Template::parse_with(src, extra).map_err(|e| {
        CliError::msg(format!("template parsing error: {e}")).with_status(TEMPLATE_EXIT)
    })?;
    let (text, err) = match tmpl.execute_partial(data, Options::default()) {
        Ok(t) => (t, None),
        Err((t, e)) => (t, Some(e)),
    };
    let mut tw = TabWriter::new(20, 1);
    tw.write(&text);
    tw.write("\n");
    let out = tw.flush();
    match err {
        Some(e) => {
            term::out(&out)?;
            Err(CliError::msg(format!("template: {e}")))
        }
        None => Ok(out),
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    let server = ctx.client.version_as::<Value>().await;
    let mut data = json!({ "Client": client_version(ctx) });
    let mut failure = None;
    match server {
        Ok(s) => data["Server"] = normalize_server(s),
        Err(e) => failure = Some(e),
    }
    let out = render(args.format.as_deref(), &data)?;
    term::out(&out)?;
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Value {
        json!({
            "Client": {
                "Version": "0.1.0", "ApiVersion": "1.47", "DefaultAPIVersion": "1.47",
                "GitCommit": "abc1234", "GoVersion": "rust1.95.0", "Os": "linux",
                "Arch": "amd64", "BuildTime": "Wed Feb 26 10:38:18 2025", "Context": "default"
            },
            "Server": normalize_server(json!({
                "Platform": {"Name": "Berth"},
                "Components": [
                    {"Name": "Engine", "Version": "0.1.0", "Details": {
                        "ApiVersion": "1.47", "MinAPIVersion": "1.24", "GoVersion": "rust1.95.0",
                        "GitCommit": "def5678", "BuildTime": "", "Os": "linux", "Arch": "amd64",
                        "Experimental": "false"}},
                    {"Name": "crun", "Version": "1.8", "Details": {"Path": "/usr/bin/crun"}}
                ],
                "Version": "0.1.0"
            }))
        })
    }

    #[test]
    fn default_layout() {
        let out = render(None, &data()).unwrap();
        let expected = "\
Client:
 Version:           0.1.0
 API version:       1.47
 Rust version:      rust1.95.0
 Git commit:        abc1234
 Built:             Wed Feb 26 10:38:18 2025
 OS/Arch:           linux/amd64
 Context:           default

Server: Berth
 Engine:
  Version:          0.1.0
  API version:      1.47 (minimum version 1.24)
  Rust version:     rust1.95.0
  Git commit:       def5678
  Built:            
  OS/Arch:          linux/amd64
  Experimental:     false
 crun:
  Version:          1.8
  Path:             /usr/bin/crun
";
        assert_eq!(out, expected);
    }

    #[test]
    fn downgraded_and_no_server() {
        let mut d = data();
        d["Client"]["ApiVersion"] = json!("1.41");
        d.as_object_mut().unwrap().remove("Server");
        let out = render(None, &d).unwrap();
        assert!(
            out.contains(" API version:       1.41 (downgraded from 1.47)\n"),
            "{out}"
        );
        assert!(!out.contains("Server"));
        assert!(out.ends_with(" Context:           default\n"), "{out:?}");
    }

    #[test]
    fn custom_formats() {
        assert_eq!(
            render(Some("{{.Server.Version}}"), &data()).unwrap(),
            "0.1.0\n"
        );
        assert_eq!(
            render(Some("{{.Client.APIVersion}}"), &data()).unwrap(),
            "1.47\n"
        );
        let json_out = render(Some("json"), &data()).unwrap();
        let v: Value = serde_json::from_str(json_out.trim()).unwrap();
        assert_eq!(v["Client"]["Version"], "0.1.0");
        let err = render(Some("{{.Client"), &data()).unwrap_err();
        assert_eq!(err.exit_code(), TEMPLATE_EXIT);
    }

    #[test]
    fn engine_is_synthesized() {
        let s = normalize_server(json!({"Version": "24.0", "ApiVersion": "1.43",
            "GoVersion": "go1.20", "BuildTime": "2023-05-19T18:32:38.000000000+00:00"}));
        let engine = &s["Components"][0];
        assert_eq!(engine["Name"], "Engine");
        assert_eq!(engine["Details"]["ApiVersion"], "1.43");
        assert!(
            engine["Details"]["BuildTime"]
                .as_str()
                .unwrap()
                .contains("2023")
        );
    }
}
