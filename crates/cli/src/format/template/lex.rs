//! The lexer of Go's `text/template`: text, `{{`/`}}` with trim markers,
//! comments, and the tokens inside actions.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Text(String),
    Left,
    Right,
    Space,
    Ident(String),
    /// `.Name` (without the dot).
    Field(String),
    Dot,
    /// `$name`; `$` alone is the root.
    Var(String),
    /// A string, number, bool or char constant.
    Lit(Value),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Byte offset in the source.
    pub pos: usize,
}

/// A lexing or parsing error, with the byte offset where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: usize,
    pub msg: String,
}

fn err<T>(pos: usize, msg: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        pos,
        msg: msg.into(),
    })
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits a template into tokens.
pub fn lex(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut trim_next_text = false;
    while i < b.len() {
        // Text up to the next action.
        let start = i;
        let next = src[i..].find("{{").map(|o| i + o).unwrap_or(b.len());
        let mut text = &src[start..next];
        if trim_next_text {
            text = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
            trim_next_text = false;
        }
        let left_trim =
            b.get(next + 2) == Some(&b'-') && b.get(next + 3).is_some_and(|c| is_space(*c));
        if left_trim {
            text = text.trim_end_matches(|c: char| c.is_ascii_whitespace());
        }
        if !text.is_empty() {
            out.push(Token {
                tok: Tok::Text(text.to_string()),
                pos: start,
            });
        }
        if next >= b.len() {
            break;
        }
        let action_start = next;
        i = next + 2;
        if left_trim {
            i += 2;
        }
        // Comments: {{/* … */}}.
        if src[i..].starts_with("/*") {
            let Some(end) = src[i + 2..].find("*/") else {
                return err(action_start, "unclosed comment");
            };
            i = i + 2 + end + 2;
            if let Some(n) = right_delim(src, i) {
                trim_next_text = n.1;
                i = n.0;
                continue;
            }
            return err(action_start, "comment ends before closing delimiter");
        }
        out.push(Token {
            tok: Tok::Left,
            pos: action_start,
        });
        i = lex_action(src, i, &mut out, &mut trim_next_text)?;
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: b.len(),
    });
    Ok(out)
}

/// At `i`, a right delimiter `}}` or ` -}}`: returns the offset after it
/// and whether it trims the following text.
fn right_delim(src: &str, i: usize) -> Option<(usize, bool)> {
    let b = src.as_bytes();
    if src[i..].starts_with("}}") {
        return Some((i + 2, false));
    }
    if b.get(i).is_some_and(|c| is_space(*c)) && src[i + 1..].starts_with("-}}") {
        return Some((i + 4, true));
    }
    None
}

fn lex_action(
    src: &str,
    mut i: usize,
    out: &mut Vec<Token>,
    trim_next: &mut bool,
) -> Result<usize, SyntaxError> {
    let b = src.as_bytes();
    let push = |out: &mut Vec<Token>, tok: Tok, pos: usize| out.push(Token { tok, pos });
    loop {
        if i >= b.len() {
            return err(i, "unclosed action");
        }
        if let Some((end, trim)) = right_delim(src, i) {
            push(out, Tok::Right, i);
            *trim_next = trim;
            return Ok(end);
        }
        let c = b[i];
        let start = i;
        match c {
            c if is_space(c) => {
                while i < b.len() && is_space(b[i]) && right_delim(src, i).is_none() {
                    i += 1;
                }
                push(out, Tok::Space, start);
            }
            b'|' => {
                i += 1;
                push(out, Tok::Pipe, start);
            }
            b'(' => {
                i += 1;
                push(out, Tok::LParen, start);
            }
            b')' => {
                i += 1;
                push(out, Tok::RParen, start);
            }
            b',' => {
                i += 1;
                push(out, Tok::Comma, start);
            }
            b'=' => {
                i += 1;
                push(out, Tok::Assign, start);
            }
            b':' => {
                if b.get(i + 1) != Some(&b'=') {
                    return err(i, "expected :=");
                }
                i += 2;
                push(out, Tok::Declare, start);
            }
            b'"' => {
                let (s, end) = lex_quoted(src, i)?;
                i = end;
                push(out, Tok::Lit(Value::String(s)), start);
            }
            b'`' => {
                let Some(end) = src[i + 1..].find('`') else {
                    return err(i, "unterminated raw quoted string");
                };
                let s = &src[i + 1..i + 1 + end];
                i = i + 2 + end;
                push(out, Tok::Lit(Value::String(s.to_string())), start);
            }
            b'\'' => {
                let (s, end) = lex_quoted(src, i)?;
                let mut chars = s.chars();
                let (Some(ch), None) = (chars.next(), chars.next()) else {
                    return err(i, "malformed character constant");
                };
                i = end;
                push(out, Tok::Lit(Value::from(ch as u32)), start);
            }
            b'.' if b.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                let (v, end) = lex_number(src, i)?;
                i = end;
                push(out, Tok::Lit(v), start);
            }
            b'.' => {
                let name_end = ident_end(src, i + 1);
                if name_end > i + 1 {
                    push(out, Tok::Field(src[i + 1..name_end].to_string()), start);
                } else {
                    push(out, Tok::Dot, start);
                }
                i = name_end;
            }
            b'$' => {
                let end = ident_end(src, i + 1);
                push(out, Tok::Var(src[i..end].to_string()), start);
                i = end;
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let (v, end) = lex_number(src, i)?;
                i = end;
                push(out, Tok::Lit(v), start);
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                if !is_alnum(ch) {
                    return err(
                        i,
                        format!(
                            "unrecognized character in action: U+{:04X} {ch:?}",
                            ch as u32
                        ),
                    );
                }
                let end = ident_end(src, i);
                let word = &src[i..end];
                i = end;
                let tok = match word {
                    "true" => Tok::Lit(Value::Bool(true)),
                    "false" => Tok::Lit(Value::Bool(false)),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word.to_string()),
                };
                push(out, tok, start);
            }
        }
    }
}

fn ident_end(src: &str, from: usize) -> usize {
    let mut end = from;
    for (off, ch) in src[from..].char_indices() {
        if !is_alnum(ch) {
            return from + off;
        }
        end = from + off + ch.len_utf8();
    }
    end
}

/// A `"…"` or `'…'` literal with Go's escapes; returns the value and the
/// offset after the closing quote.
fn lex_quoted(src: &str, start: usize) -> Result<(String, usize), SyntaxError> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        let pos = start + 1 + off;
        match c {
            c if c == quote => return Ok((out, pos + 1)),
            '\n' => return err(start, "unterminated quoted string"),
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' | '"' | '\'' => out.push(e),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..n {
                            let Some((_, h)) = chars.next() else {
                                return err(pos, "invalid escape");
                            };
                            let Some(d) = h.to_digit(16) else {
                                return err(pos, "invalid escape");
                            };
                            code = code * 16 + d;
                        }
                        match char::from_u32(code) {
                            Some(ch) => out.push(ch),
                            None => return err(pos, "invalid escape"),
                        }
                    }
                    _ => return err(pos, format!("unknown escape sequence: \\{e}")),
                }
            }
            c => out.push(c),
        }
    }
    err(start, "unterminated quoted string")
}

fn lex_number(src: &str, start: usize) -> Result<(Value, usize), SyntaxError> {
    let b = src.as_bytes();
    let mut i = start;
    if matches!(b[i], b'+' | b'-') {
        i += 1;
    }
    while i < b.len() {
        let c = b[i];
        let exp_sign =
            matches!(c, b'+' | b'-') && i > start && matches!(b[i - 1], b'e' | b'E' | b'p' | b'P');
        if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exp_sign {
            i += 1;
        } else {
            break;
        }
    }
    let text = src[start..i].replace('_', "");
    let (neg, body) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.trim_start_matches('+')),
    };
    let radix = |p: &str, r: u32| i64::from_str_radix(p, r).ok();
    let int = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        radix(h, 16)
    } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        radix(o, 8)
    } else if let Some(bin) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        radix(bin, 2)
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|c| c.is_ascii_digit()) {
        radix(&body[1..], 8)
    } else {
        body.parse::<i64>().ok()
    };
    if let Some(n) = int {
        return Ok((Value::from(if neg { -n } else { n }), i));
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok((
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            i,
        )),
        _ => err(start, format!("bad number syntax: {:?}", &src[start..i])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn text_and_actions() {
        assert_eq!(
            toks("a {{.B.C}} d"),
            vec![
                Tok::Text("a ".into()),
                Tok::Left,
                Tok::Field("B".into()),
                Tok::Field("C".into()),
                Tok::Right,
                Tok::Text(" d".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn trim_markers_and_comments() {
        assert_eq!(
            toks("a  {{- 3 -}}  b{{/* x */}}c"),
            vec![
                Tok::Text("a".into()),
                Tok::Left,
                Tok::Lit(Value::from(3)),
                Tok::Right,
                Tok::Text("b".into()),
                Tok::Text("c".into()),
                Tok::Eof
            ]
        );
        assert_eq!(toks("{{-3}}")[1], Tok::Lit(Value::from(-3)));
    }

    #[test]
    fn literals() {
        let t: Vec<Tok> = toks(r#"{{"a\tb" `r\n` 'x' 0x1F 1.5 true nil $ $v := ,}}"#)
            .into_iter()
            .filter(|t| *t != Tok::Space)
            .collect();
        assert_eq!(t[1], Tok::Lit(Value::from("a\tb")));
        assert_eq!(t[2], Tok::Lit(Value::from("r\\n")));
        assert_eq!(t[3], Tok::Lit(Value::from(120)));
        assert_eq!(t[4], Tok::Lit(Value::from(31)));
        assert_eq!(t[5], Tok::Lit(Value::from(1.5)));
        assert_eq!(t[6], Tok::Lit(Value::Bool(true)));
        assert_eq!(t[7], Tok::Nil);
        assert_eq!(t[8], Tok::Var("$".into()));
        assert_eq!(t[9], Tok::Var("$v".into()));
        assert_eq!(t[10], Tok::Declare);
        assert_eq!(t[11], Tok::Comma);
    }

    #[test]
    fn errors() {
        assert_eq!(lex("{{.A").unwrap_err().msg, "unclosed action");
        assert!(lex("{{\"abc}}").is_err());
        assert!(
            lex("{{#}}")
                .unwrap_err()
                .msg
                .contains("unrecognized character")
        );
    }
}
