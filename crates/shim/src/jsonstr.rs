//! JSON string encoding exactly as Docker's json-file driver does it (Go
//! escaping: `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX`, each invalid
//! UTF-8 byte as `\ufffd`), and a small decoder for pulling one string field
//! out of a JSON line without a JSON library (runtime log messages).

use crate::bytescan::find_json_special;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a quoted JSON string.
pub fn push_json_string(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    if std::str::from_utf8(s).is_ok() {
        push_valid(out, s);
    } else {
        for chunk in s.utf8_chunks() {
            push_valid(out, chunk.valid().as_bytes());
            for _ in chunk.invalid() {
                out.extend_from_slice(b"\\ufffd");
            }
        }
    }
    out.push(b'"');
}

/// Escapes valid UTF-8.
fn push_valid(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while let Some(off) = find_json_special(&s[i..]) {
        let j = i + off;
        let b = s[j];
        if b >= 0x80 {
            // Multi-byte characters pass through, except U+2028 and U+2029.
            if b == 0xe2 && s.get(j + 1) == Some(&0x80) && matches!(s.get(j + 2), Some(0xa8 | 0xa9))
            {
                out.extend_from_slice(&s[start..j]);
                out.extend_from_slice(if s[j + 2] == 0xa8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i = j + 3;
                start = i;
            } else {
                i = j + 1;
            }
            continue;
        }
        out.extend_from_slice(&s[start..j]);
        match b {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        i = j + 1;
        start = i;
    }
    out.extend_from_slice(&s[start..]);
}

/// The value of the first string field named `key` in a flat JSON object
/// line (whitespace tolerant), decoded.
pub fn string_field(line: &str, key: &str) -> Option<String> {
    let b = line.as_bytes();
    let mut from = 0;
    loop {
        let at = from + line.get(from..)?.find('"')?;
        let (name, after) = decode_at(b, at)?;
        let mut j = skip_ws(b, after);
        if b.get(j) == Some(&b':') {
            j = skip_ws(b, j + 1);
            if name == key && b.get(j) == Some(&b'"') {
                return decode_at(b, j).map(|(v, _)| v);
            }
            // Skip the value when it is a string so its content is not
            // mistaken for a key.
            if b.get(j) == Some(&b'"') {
                from = decode_at(b, j)?.1;
                continue;
            }
        }
        from = j.max(at + 1);
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Decodes the JSON string starting at the quote at `at`; returns it and the
/// index after its closing quote.
fn decode_at(b: &[u8], at: usize) -> Option<(String, usize)> {
    let mut out: Vec<u8> = Vec::new();
    let mut i = at + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), i + 1)),
            b'\\' => {
                let e = *b.get(i + 1)?;
                i += 2;
                let c = match e {
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'u' => {
                        let hi = hex4(b.get(i..i + 4)?)?;
                        i += 4;
                        if (0xd800..0xdc00).contains(&hi) && b.get(i..i + 2) == Some(b"\\u") {
                            let lo = hex4(b.get(i + 2..i + 6)?)?;
                            i += 6;
                            let cp =
                                0x10000 + ((hi - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff);
                            char::from_u32(cp).unwrap_or('\u{fffd}')
                        } else {
                            char::from_u32(hi).unwrap_or('\u{fffd}')
                        }
                    }
                    other => char::from(other),
                };
                let mut tmp = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

fn hex4(b: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(b).ok()?;
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8]) -> String {
        let mut v = Vec::new();
        push_json_string(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_like_docker() {
        assert_eq!(enc(b"hi\n"), r#""hi\n""#);
        assert_eq!(enc(b"a\"b\\c\r"), r#""a\"b\\c\r""#);
        assert_eq!(enc(b"<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(enc(b"\t\x01"), r#""\u0009\u0001""#);
        assert_eq!(enc("é\u{2028}x\u{2029}".as_bytes()), "\"é\\u2028x\\u2029\"");
        assert_eq!(enc(b"a\xffb\xe2\x82"), r#""a\ufffdb\ufffd\ufffd""#);
    }

    #[test]
    fn encoded_strings_parse_back() {
        let samples: [&[u8]; 4] = [
            b"plain",
            b"tab\there\n",
            "ünï\u{2028}".as_bytes(),
            b"<&>\"\\",
        ];
        for s in samples {
            let json = enc(s);
            let back: String = serde_json::from_str(&json).unwrap();
            assert_eq!(back.as_bytes(), s);
        }
    }

    #[test]
    fn extracts_fields() {
        let runc =
            r#"{"level":"error","msg":"runc create failed: exec: \"x\": not found","time":"t"}"#;
        assert_eq!(
            string_field(runc, "msg").as_deref(),
            Some(r#"runc create failed: exec: "x": not found"#)
        );
        assert_eq!(string_field(runc, "level").as_deref(), Some("error"));
        let crun = r#"{"msg": "executable file `x` not found: \u00e9", "level": "error"}"#;
        assert_eq!(
            string_field(crun, "msg").as_deref(),
            Some("executable file `x` not found: é")
        );
        assert_eq!(string_field(r#"{"a":"msg","b":1}"#, "msg"), None);
    }
}
