//! Template engine tests, each checked against what Go's text/template
//! prints for the same template and data.

use serde_json::{Value, json};

use super::*;

fn inspect_doc() -> Value {
    json!({
        "Id": "sha256:1234567890abcdef",
        "RepoTags": ["busybox:latest", "busybox:1.36"],
        "RepoDigests": [],
        "Size": 4261266,
        "Config": {
            "Cmd": ["sh"],
            "Env": ["PATH=/bin", "A=b"],
            "Entrypoint": null,
            "Labels": {"b": "2", "a": "1"},
            "WorkingDir": ""
        },
        "RootFS": {"Type": "layers", "Layers": ["sha256:aa", "sha256:bb"]}
    })
}

fn run(src: &str, data: &Value) -> String {
    Template::parse(src)
        .unwrap()
        .execute(data, Options::default())
        .unwrap()
}

fn run_err(src: &str, data: &Value, opts: Options<'_>) -> String {
    match Template::parse(src) {
        Err(e) => e.0,
        Ok(t) => t.execute(data, opts).unwrap_err().0,
    }
}

#[test]
fn fields_and_nesting() {
    let d = inspect_doc();
    assert_eq!(run("{{.Id}}", &d), "sha256:1234567890abcdef");
    assert_eq!(run("{{.Config.Cmd}}", &d), "[sh]");
    assert_eq!(run("{{.Config.Env}}", &d), "[PATH=/bin A=b]");
    assert_eq!(run("{{.Config.Labels}}", &d), "map[a:1 b:2]");
    assert_eq!(run("{{.Size}}", &d), "4261266");
    assert_eq!(run("size={{ .Size }}!", &d), "size=4261266!");
    // Go struct field names resolve to the JSON keys.
    assert_eq!(run("{{.ID}}", &d), "sha256:1234567890abcdef");
    assert_eq!(run("{{.RootFS.Layers}}", &d), "[sha256:aa sha256:bb]");
    // Typed zero values for null and missing fields, <no value> otherwise.
    assert_eq!(run("{{.Config.Entrypoint}}", &d), "[]");
    assert_eq!(run("{{.Config.Volumes}}", &d), "map[]");
    assert_eq!(run("{{.Variant}}|{{.Config.ArgsEscaped}}", &d), "|false");
    assert_eq!(run("{{.Config.Healthcheck}}", &d), "<nil>");
    assert_eq!(
        run("{{if .Config.Healthcheck}}h{{else}}none{{end}}", &d),
        "none"
    );
    assert_eq!(run("{{.}}", &json!(["a", 1])), "[a 1]");
    assert_eq!(run("{{$}}", &json!("x")), "x");
}

#[test]
fn docker_functions() {
    let d = inspect_doc();
    assert_eq!(run("{{json .Config.Cmd}}", &d), r#"["sh"]"#);
    assert_eq!(run("{{json .Config.Labels}}", &d), r#"{"a":"1","b":"2"}"#);
    assert_eq!(run("{{json .Config.Entrypoint}}", &d), "null");
    assert_eq!(
        run("{{json .}}", &json!({"R": "<none>"})),
        r#"{"R":"<none>"}"#
    );
    assert_eq!(run("{{index .RepoTags 0}}", &d), "busybox:latest");
    assert_eq!(run("{{index .Config.Labels \"a\"}}", &d), "1");
    assert_eq!(run("{{index .Config.Labels \"zz\"}}", &d), "");
    assert_eq!(
        run(r#"{{join .RepoTags ","}}"#, &d),
        "busybox:latest,busybox:1.36"
    );
    assert_eq!(run(r#"{{join .Config.Labels "|"}}"#, &d), "1|2");
    assert_eq!(run(r#"{{join .Config.Entrypoint " "}}"#, &d), "");
    assert_eq!(run("{{len .RepoTags}}", &d), "2");
    assert_eq!(run("{{len .Config.Entrypoint}}", &d), "0");
    assert_eq!(run("{{len .Id}}", &d), "23");
    assert_eq!(run("{{upper .RootFS.Type}}", &d), "LAYERS");
    assert_eq!(run("{{.RootFS.Type | upper}}", &d), "LAYERS");
    assert_eq!(run("{{lower \"ABC\"}}", &d), "abc");
    assert_eq!(run("{{title \"hello big-world\"}}", &d), "Hello Big-World");
    assert_eq!(run(r#"{{split "a,b,c" ","}}"#, &d), "[a b c]");
    assert_eq!(run(r#"{{index (split "a:b" ":") 1}}"#, &d), "b");
    assert_eq!(run(r#"{{pad "x" 2 1}}|"#, &d), "  x |");
    assert_eq!(run(r#"{{pad "" 2 1}}|"#, &d), "|");
    assert_eq!(run(r#"{{truncate "abcdef" 3}}"#, &d), "abc");
    assert_eq!(run(r#"{{truncate "ab" 3}}"#, &d), "ab");
    assert_eq!(run(r#"{{slice "abcdef" 1 3}}"#, &d), "bc");
}

#[test]
fn go_builtins() {
    let d = json!({"n": 3, "s": "x", "t": true, "list": [1, 2], "e": ""});
    assert_eq!(run("{{println}}", &d), "\n");
    assert_eq!(run("{{println .s .n}}", &d), "x 3\n");
    assert_eq!(run("{{print .n .n}}", &d), "3 3");
    assert_eq!(run("{{print .s .s}}", &d), "xx");
    assert_eq!(run(r#"{{printf "%s-%03d" .s .n}}"#, &d), "x-003");
    assert_eq!(
        run("{{eq .n 3}} {{ne .s \"x\"}} {{lt 1 2}} {{ge .n 4}}", &d),
        "true false true false"
    );
    assert_eq!(run(r#"{{eq .s "a" "b" "x"}}"#, &d), "true");
    assert_eq!(
        run("{{and .t .s}} {{and .e .s}} {{or .e .n}} {{not .t}}", &d),
        "x  3 false"
    );
    assert_eq!(run("{{if and .t (gt .n 2)}}yes{{end}}", &d), "yes");
    assert_eq!(run("{{if eq .Platform nil}}nil{{end}}", &d), "nil");
    assert_eq!(run("{{(index .list 1)}}", &d), "2");
}

#[test]
fn control_structures() {
    let d = inspect_doc();
    assert_eq!(
        run("{{range .RepoTags}}[{{.}}]{{end}}", &d),
        "[busybox:latest][busybox:1.36]"
    );
    assert_eq!(
        run("{{range $i, $t := .RepoTags}}{{$i}}={{$t}} {{end}}", &d),
        "0=busybox:latest 1=busybox:1.36 "
    );
    assert_eq!(
        run(
            "{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}};{{end}}",
            &d
        ),
        "a:1;b:2;"
    );
    assert_eq!(
        run("{{range .RepoDigests}}x{{else}}none{{end}}", &d),
        "none"
    );
    assert_eq!(
        run("{{range .Config.Entrypoint}}x{{else}}none{{end}}", &d),
        "none"
    );
    assert_eq!(
        run(
            "{{range .RepoTags}}{{if eq . \"busybox:1.36\"}}{{break}}{{end}}{{.}};{{end}}",
            &d
        ),
        "busybox:latest;"
    );
    assert_eq!(
        run(
            "{{range .RepoTags}}{{if eq . \"busybox:latest\"}}{{continue}}{{end}}{{.}};{{end}}",
            &d
        ),
        "busybox:1.36;"
    );
    assert_eq!(run("{{range 3}}{{.}}{{end}}", &d), "012");
    assert_eq!(run("{{if .Config.Entrypoint}}a{{else}}b{{end}}", &d), "b");
    assert_eq!(
        run(
            "{{if .Variant}}a{{else if .Config.Cmd}}b{{else}}c{{end}}",
            &d
        ),
        "b"
    );
    assert_eq!(
        run(
            "{{if .Variant}}a{{else if .Config.Shell}}b{{else}}c{{end}}",
            &d
        ),
        "c"
    );
    assert_eq!(
        run("{{with .Config}}{{.WorkingDir}}|{{.Cmd}}{{end}}", &d),
        "|[sh]"
    );
    assert_eq!(run("{{with .Config.Volumes}}x{{else}}y{{end}}", &d), "y");
    assert_eq!(
        run("{{$x := .Size}}{{$x}} {{$x = 5}}{{$x}}", &d),
        "4261266 5"
    );
    assert_eq!(
        run("{{range .RepoTags}}{{$.Size}} {{end}}", &d),
        "4261266 4261266 "
    );
    assert_eq!(run("{{if $t := .RootFS.Type}}{{$t}}{{end}}", &d), "layers");
}

#[test]
fn whitespace_comments_and_strings() {
    let d = json!({"a": "A"});
    assert_eq!(run("x  {{- .a -}}  y", &d), "xAy");
    assert_eq!(run("x\n{{- /* note */ -}}\ny", &d), "xy");
    assert_eq!(run("{{/* note */}}z", &d), "z");
    assert_eq!(run(r#"{{"a\tb\n"}}"#, &d), "a\tb\n");
    assert_eq!(run("{{`raw\\t`}}", &d), "raw\\t");
    assert_eq!(run("{{ .a }}{{\"}}\"}}", &d), "A}}");
}

#[test]
fn strict_mode_for_list_rows() {
    let row = json!({"ID": "abc", "Repository": "busybox"});
    let opts = Options {
        mode: Mode::Strict,
        type_name: "*formatter.imageContext",
        escape_html_root: true,
    };
    let t = Template::parse("{{.ID}} {{.Repository}}").unwrap();
    assert_eq!(t.execute(&row, opts).unwrap(), "abc busybox");
    assert_eq!(
        run_err("{{.Foo}}", &row, opts),
        "template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.imageContext"
    );
    let t = Template::parse("{{json .}}").unwrap();
    let row = json!({"Tag": "<none>"});
    assert_eq!(
        t.execute(&row, opts).unwrap(),
        r#"{"Tag":"\u003cnone\u003e"}"#
    );
}

#[test]
fn header_mode() {
    let headers = json!({"ID": "IMAGE ID", "Size": "SIZE"});
    let opts = Options {
        mode: Mode::Header,
        ..Default::default()
    };
    let t = Template::parse("{{.ID}}\t{{upper .Size}}\t{{json .ID}}\t{{.Other}}").unwrap();
    assert_eq!(
        t.execute(&headers, opts).unwrap(),
        "IMAGE ID\tSIZE\tIMAGE ID\t<no value>"
    );
}

#[test]
fn errors_are_worded_like_go() {
    let d = json!({"l": [1], "s": "x"});
    let lenient = Options::default();
    assert_eq!(
        run_err("{{.a", &d, lenient),
        "template: :1: unclosed action"
    );
    assert_eq!(
        run_err("{{nope .a}}", &d, lenient),
        "template: :1: function \"nope\" not defined"
    );
    assert_eq!(
        run_err("{{if .a}}x", &d, lenient),
        "template: :1: unexpected EOF"
    );
    assert_eq!(
        run_err("{{end}}", &d, lenient),
        "template: :1: unexpected {{end}}"
    );
    assert_eq!(
        run_err("{{break}}", &d, lenient),
        "template: :1: {{break}} outside {{range}}"
    );
    assert_eq!(
        run_err("a\n{{index .l 5}}", &d, lenient),
        "template: :2:2: executing \"\" at <index .l 5>: error calling index: index out of range: 5"
    );
    assert_eq!(
        run_err("{{.s.x}}", &d, lenient),
        "template: :1:2: executing \"\" at <.s.x>: can't evaluate field x in type string"
    );
    assert!(run_err("{{$nope}}", &d, lenient).contains("undefined variable: $nope"));
    assert_eq!(
        run_err("{{.Nope}}", &d, lenient),
        "template: :1:2: executing \"\" at <.Nope>: map has no entry for key \"Nope\""
    );
    assert!(run_err("{{.Variant.X}}", &d, lenient).contains("nil pointer evaluating"));
    assert!(run_err("{{len 3}}", &d, lenient).contains("len of type int"));
    assert!(run_err("{{upper 3}}", &d, lenient).contains("expected string"));
    assert!(run_err("{{join .s \",\"}}", &d, lenient).contains("expected slice"));
}

#[test]
fn partial_output_is_kept() {
    let t = Template::parse("a{{.x.y}}b").unwrap();
    let (partial, err) = t
        .execute_partial(&json!({"x": 1}), Options::default())
        .unwrap_err();
    assert_eq!(partial, "a");
    assert!(err.0.contains("can't evaluate field y"));
}

#[test]
fn extra_functions() {
    fn twice(args: &[Val]) -> Result<Val, String> {
        let s = args.first().map(Val::print).unwrap_or_default();
        Ok(Val::str(format!("{s}{s}")))
    }
    let t = Template::parse_with("{{twice .a}}", vec![("twice".into(), twice as ExtraFn)]).unwrap();
    assert_eq!(
        t.execute(&json!({"a": "ab"}), Options::default()).unwrap(),
        "abab"
    );
    assert!(Template::parse("{{twice .a}}").is_err());
}
