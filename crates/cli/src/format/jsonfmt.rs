//! JSON text as Go's `encoding/json` writes it: compact values (with or
//! without HTML escaping), and `json.Indent` / `json.Compact` of raw bytes
//! that keep the daemon's field order and string escapes.

use serde_json::Value;

/// Go's `json.Marshal` of a decoded value; `escape_html` turns `<`, `>`
/// and `&` into `\u003c`, `\u003e`, `\u0026` as `json.Marshal` does.
pub fn encode(v: &Value, escape_html: bool) -> String {
    let mut out = String::new();
    write(&mut out, v, escape_html);
    out
}

fn write(out: &mut String, v: &Value, escape_html: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => string(out, s, escape_html),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item, escape_html);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, k, escape_html);
                out.push(':');
                if let Some(item) = map.get(*k) {
                    write(out, item, escape_html);
                }
            }
            out.push('}');
        }
    }
}

fn number(n: &serde_json::Number) -> String {
    if !n.is_f64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go: 1e+21, 1e-07.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) if e.starts_with('-') => {
                format!("{m}e-{:0>2}", &e[1..])
            }
            Some((m, e)) => format!("{m}e+{e:0>2}"),
            None => s,
        }
    } else if f.fract() == 0.0 && abs < 1e21 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

fn string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `json.Indent(dst, src, "", indent)`: re-lays out raw JSON,
/// leaving strings byte for byte; `[]` and `{}` stay compact.
pub fn indent(src: &[u8], indent: &str) -> String {
    relayout(src, Some(indent))
}

/// Go's `json.Compact`.
pub fn compact(src: &[u8]) -> String {
    relayout(src, None)
}

fn relayout(src: &[u8], indent: Option<&str>) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut need_indent = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        if let Some(ind) = indent {
            out.push(b'\n');
            for _ in 0..depth {
                out.extend_from_slice(ind.as_bytes());
            }
        }
    };
    for &b in src {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        if b.is_ascii_whitespace() {
            continue;
        }
        if need_indent && b != b']' && b != b'}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                out.push(b);
                need_indent = true;
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => {
                out.push(b);
                if indent.is_some() {
                    out.push(b' ');
                }
            }
            b'}' | b']' => {
                if need_indent {
                    // An empty object or array stays `{}` / `[]`.
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(b);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_like_go() {
        let v = json!({"b": "<none>", "a": [1, 2.5, null, true], "c": {}});
        assert_eq!(
            encode(&v, true),
            r#"{"a":[1,2.5,null,true],"b":"\u003cnone\u003e","c":{}}"#
        );
        assert_eq!(encode(&json!("<a&b>"), false), r#""<a&b>""#);
        assert_eq!(
            encode(&json!("tab\there\u{1}"), false),
            r#""tab\there\u0001""#
        );
        assert_eq!(encode(&json!(1e21), false), "1e+21");
        assert_eq!(encode(&json!(3.0), false), "3");
    }

    #[test]
    fn indents_like_go() {
        let raw = br#"[{"Id":"sha256:ab","RepoTags":["a:b"],"Config":{"Env":null,"Labels":{}},"Empty":[],"S":"x, {y}: \"z\""}]"#;
        let expected = r#"[
    {
        "Id": "sha256:ab",
        "RepoTags": [
            "a:b"
        ],
        "Config": {
            "Env": null,
            "Labels": {}
        },
        "Empty": [],
        "S": "x, {y}: \"z\""
    }
]"#;
        assert_eq!(indent(raw, "    "), expected);
        assert_eq!(indent(b"[]", "    "), "[]");
        assert_eq!(compact(b"[ {\"a\" : [ 1, 2 ] } ]"), r#"[{"a":[1,2]}]"#);
    }
}
