//! Template functions: Go's builtins (`and or not len index slice print
//! printf println eq ne lt le gt ge`) and Docker's (`json split join title
//! lower upper pad truncate`).

use serde_json::Value;

use super::exec::{Mode, R, State};
use super::parse::Arg;
use super::value::{Hint, Val};
use crate::format::gofmt;

/// Every builtin function name.
pub const BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt",
    "le", "gt", "ge", "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
];

/// Functions that return their first argument when rendering headers.
const HEADER_IDENTITY: &[&str] = &[
    "json", "split", "join", "title", "lower", "upper", "truncate",
];

impl State<'_> {
    pub fn call(&mut self, name: &str, dot: &Val, args: &[Arg], piped: Option<Val>) -> R<Val> {
        // `and` / `or` evaluate lazily and return an argument.
        if name == "and" || name == "or" {
            let want = name == "or";
            let mut last = Val::Missing(Hint::Unknown);
            let count = args.len() + usize::from(piped.is_some());
            if count == 0 {
                return self.fail(format!(
                    "wrong number of args for {name}: want at least 1 got 0"
                ));
            }
            for arg in args {
                last = self.arg(dot, arg)?;
                if last.truth() == want {
                    return Ok(last);
                }
            }
            if let Some(p) = piped {
                last = p;
            }
            return Ok(last);
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for arg in args {
            vals.push(self.arg(dot, arg)?);
        }
        if let Some(p) = piped {
            vals.push(p);
        }
        if self.opts.mode == Mode::Header && HEADER_IDENTITY.contains(&name) {
            return Ok(vals
                .into_iter()
                .next()
                .unwrap_or(Val::Missing(Hint::Unknown)));
        }
        if let Some((_, f)) = self.tmpl.extra.iter().find(|(n, _)| n == name) {
            return f(&vals).or_else(|e| self.fail(format!("error calling {name}: {e}")));
        }
        self.builtin(name, vals)
    }

    fn arity(&self, name: &str, vals: &[Val], want: usize) -> R<()> {
        if vals.len() != want {
            return self.fail(format!(
                "wrong number of args for {name}: want {want} got {}",
                vals.len()
            ));
        }
        Ok(())
    }

    fn string_arg(&self, name: &str, v: &Val) -> R<String> {
        match v {
            Val::V(Value::String(s)) => Ok(s.clone()),
            Val::Missing(Hint::Str) | Val::Nil(Hint::Str) => Ok(String::new()),
            other => self.fail(format!(
                "error calling {name}: wrong type for value; expected string; got {}",
                other.type_name()
            )),
        }
    }

    fn int_arg(&self, name: &str, v: &Val) -> R<i64> {
        match v.as_i64() {
            Some(i) => Ok(i),
            None => self.fail(format!(
                "error calling {name}: wrong type for value; expected int; got {}",
                v.type_name()
            )),
        }
    }

    fn builtin(&mut self, name: &str, vals: Vec<Val>) -> R<Val> {
        match name {
            "not" => {
                self.arity(name, &vals, 1)?;
                Ok(Val::bool(!vals[0].truth()))
            }
            "len" => {
                self.arity(name, &vals, 1)?;
                let n = match &vals[0] {
                    Val::V(Value::String(s)) => s.len(),
                    Val::V(Value::Array(a)) => a.len(),
                    Val::V(Value::Object(o)) => o.len(),
                    Val::Missing(_) | Val::Nil(_) | Val::V(Value::Null) => 0,
                    other => {
                        return self.fail(format!(
                            "error calling len: len of type {}",
                            other.type_name()
                        ));
                    }
                };
                Ok(Val::int(n as i64))
            }
            "index" => {
                if vals.is_empty() {
                    return self
                        .arity(name, &vals, 1)
                        .map(|_| Val::Missing(Hint::Unknown));
                }
                let mut cur = vals[0].clone();
                for key in &vals[1..] {
                    cur = self.index(&cur, key)?;
                }
                Ok(cur)
            }
            "slice" => self.slice(vals),
            "print" => Ok(Val::str(sprint(&vals))),
            "println" => {
                let parts: Vec<String> = vals.iter().map(Val::print).collect();
                Ok(Val::str(format!("{}\n", parts.join(" "))))
            }
            "printf" => {
                if vals.is_empty() {
                    return self.fail("wrong number of args for printf: want at least 1 got 0");
                }
                let fmt = self.string_arg(name, &vals[0])?;
                let args: Vec<Value> = vals[1..].iter().map(printf_arg).collect();
                Ok(Val::str(gofmt::printf(&fmt, &args)))
            }
            "eq" => {
                if vals.len() < 2 {
                    return self.fail("error calling eq: missing argument for comparison");
                }
                for other in &vals[1..] {
                    if self.compare(&vals[0], other, name)? == Some(std::cmp::Ordering::Equal) {
                        return Ok(Val::bool(true));
                    }
                }
                Ok(Val::bool(false))
            }
            "ne" | "lt" | "le" | "gt" | "ge" => {
                self.arity(name, &vals, 2)?;
                let ord = self.compare(&vals[0], &vals[1], name)?;
                use std::cmp::Ordering::*;
                let result = match (name, ord) {
                    ("ne", o) => o != Some(Equal),
                    (_, None) => {
                        return self
                            .fail(format!("error calling {name}: invalid type for comparison"));
                    }
                    ("lt", Some(o)) => o == Less,
                    ("le", Some(o)) => o != Greater,
                    ("gt", Some(o)) => o == Greater,
                    (_, Some(o)) => o != Less,
                };
                Ok(Val::bool(result))
            }
            "json" => {
                self.arity(name, &vals, 1)?;
                let escape = self.opts.escape_html_root && vals[0] == self.root;
                Ok(Val::str(vals[0].json(escape)))
            }
            "split" => {
                self.arity(name, &vals, 2)?;
                let s = self.string_arg(name, &vals[0])?;
                let sep = self.string_arg(name, &vals[1])?;
                let parts: Vec<Value> = if sep.is_empty() {
                    s.chars().map(|c| Value::String(c.to_string())).collect()
                } else {
                    s.split(sep.as_str())
                        .map(|p| Value::String(p.to_string()))
                        .collect()
                };
                Ok(Val::V(Value::Array(parts)))
            }
            "join" => {
                self.arity(name, &vals, 2)?;
                let sep = self.string_arg(name, &vals[1])?;
                let joined = match &vals[0] {
                    v if v.is_nil() => String::new(),
                    Val::V(Value::Array(a)) => {
                        a.iter().map(gofmt::value).collect::<Vec<_>>().join(&sep)
                    }
                    Val::V(Value::Object(o)) => {
                        let mut parts: Vec<String> = o.values().map(gofmt::value).collect();
                        parts.sort();
                        parts.join(&sep)
                    }
                    other => {
                        return self.fail(format!(
                            "error calling join: expected slice, got {}",
                            other.type_name()
                        ));
                    }
                };
                Ok(Val::str(joined))
            }
            "title" => {
                self.arity(name, &vals, 1)?;
                Ok(Val::str(title(&self.string_arg(name, &vals[0])?)))
            }
            "lower" | "upper" => {
                self.arity(name, &vals, 1)?;
                let s = self.string_arg(name, &vals[0])?;
                Ok(Val::str(if name == "lower" {
                    s.to_lowercase()
                } else {
                    s.to_uppercase()
                }))
            }
            "pad" => {
                self.arity(name, &vals, 3)?;
                let s = self.string_arg(name, &vals[0])?;
                let pre = self.int_arg(name, &vals[1])?.max(0) as usize;
                let post = self.int_arg(name, &vals[2])?.max(0) as usize;
                if s.is_empty() {
                    return Ok(Val::str(s));
                }
                Ok(Val::str(format!(
                    "{}{s}{}",
                    " ".repeat(pre),
                    " ".repeat(post)
                )))
            }
            "truncate" => {
                self.arity(name, &vals, 2)?;
                let s = self.string_arg(name, &vals[0])?;
                let n = self.int_arg(name, &vals[1])?.max(0) as usize;
                if s.len() < n {
                    return Ok(Val::str(s));
                }
                // Byte length as Go's, cut on a character boundary.
                let mut cut = n;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                Ok(Val::str(&s[..cut]))
            }
            _ => self.fail(format!("function {name:?} not defined")),
        }
    }

    fn index(&self, cur: &Val, key: &Val) -> R<Val> {
        match cur {
            Val::V(Value::Array(a)) => {
                let Some(i) = key.as_i64() else {
                    return self.fail(format!(
                        "error calling index: cannot index slice/array with type {}",
                        key.type_name()
                    ));
                };
                match usize::try_from(i).ok().and_then(|i| a.get(i)) {
                    Some(v) => Ok(Val::field(v, "")),
                    None => self.fail(format!("error calling index: index out of range: {i}")),
                }
            }
            Val::V(Value::String(s)) => {
                let Some(i) = key.as_i64() else {
                    return self.fail("error calling index: cannot index string with non-int");
                };
                match usize::try_from(i).ok().and_then(|i| s.as_bytes().get(i)) {
                    Some(b) => Ok(Val::int(i64::from(*b))),
                    None => self.fail(format!("error calling index: index out of range: {i}")),
                }
            }
            Val::V(Value::Object(m)) => {
                let Val::V(Value::String(k)) = key else {
                    return self.fail(format!(
                        "error calling index: value has type {}; should be string",
                        key.type_name()
                    ));
                };
                match m.get(k) {
                    Some(v) => Ok(Val::field(v, k)),
                    // A map of strings gives "" for a missing key, as Go's
                    // map[string]string does.
                    None if m.values().all(Value::is_string) => Ok(Val::str("")),
                    None => Ok(Val::Nil(Hint::Unknown)),
                }
            }
            v if v.is_nil() => Ok(Val::Missing(Hint::Unknown)),
            other => self.fail(format!(
                "error calling index: can't index item of type {}",
                other.type_name()
            )),
        }
    }

    fn slice(&self, vals: Vec<Val>) -> R<Val> {
        if vals.is_empty() || vals.len() > 4 {
            return self.fail("wrong number of args for slice");
        }
        let mut idx = Vec::new();
        for v in &vals[1..] {
            idx.push(self.int_arg("slice", v)?.max(0) as usize);
        }
        let check = |len: usize| -> Option<(usize, usize)> {
            let from = idx.first().copied().unwrap_or(0);
            let to = idx.get(1).copied().unwrap_or(len);
            (from <= to && to <= len).then_some((from, to))
        };
        match &vals[0] {
            Val::V(Value::String(s)) => match check(s.len()) {
                Some((a, b)) if s.is_char_boundary(a) && s.is_char_boundary(b) => {
                    Ok(Val::str(&s[a..b]))
                }
                _ => self.fail("error calling slice: index out of range"),
            },
            Val::V(Value::Array(arr)) => match check(arr.len()) {
                Some((a, b)) => Ok(Val::V(Value::Array(arr[a..b].to_vec()))),
                None => self.fail("error calling slice: index out of range"),
            },
            other => self.fail(format!(
                "error calling slice: can't slice item of type {}",
                other.type_name()
            )),
        }
    }

    /// Go's comparison: equal basic kinds compare, nil equals nil,
    /// anything else is "incompatible" (an error for ordering, unequal for
    /// `eq`/`ne`).
    fn compare(&self, a: &Val, b: &Val, name: &str) -> R<Option<std::cmp::Ordering>> {
        use std::cmp::Ordering;
        if a.is_nil() || b.is_nil() {
            return Ok((a.is_nil() && b.is_nil()).then_some(Ordering::Equal));
        }
        let (Val::V(x), Val::V(y)) = (a, b) else {
            return Ok(None);
        };
        Ok(match (x, y) {
            (Value::String(s), Value::String(t)) => Some(s.cmp(t)),
            (Value::Bool(s), Value::Bool(t)) if name == "eq" || name == "ne" => Some(if s == t {
                Ordering::Equal
            } else {
                Ordering::Less
            }),
            (Value::Number(m), Value::Number(n)) => match (m.as_i64(), n.as_i64()) {
                (Some(i), Some(j)) => Some(i.cmp(&j)),
                _ => m
                    .as_f64()
                    .zip(n.as_f64())
                    .and_then(|(f, g)| f.partial_cmp(&g)),
            },
            (Value::String(_) | Value::Number(_) | Value::Bool(_), _)
                if matches!(y, Value::String(_) | Value::Number(_) | Value::Bool(_)) =>
            {
                return self.fail(format!(
                    "error calling {name}: incompatible types for comparison"
                ));
            }
            _ => {
                return self.fail(format!("error calling {name}: invalid type for comparison"));
            }
        })
    }
}

fn printf_arg(v: &Val) -> Value {
    match v {
        Val::V(v) => v.clone(),
        other => Value::String(other.print()),
    }
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
fn sprint(vals: &[Val]) -> String {
    let mut out = String::new();
    let is_str = |v: &Val| matches!(v, Val::V(Value::String(_)));
    for (i, v) in vals.iter().enumerate() {
        if i > 0 && !is_str(v) && !is_str(&vals[i - 1]) {
            out.push(' ');
        }
        out.push_str(&v.print());
    }
    out
}

/// Go's `strings.Title`: upper-cases the first letter of every word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}
