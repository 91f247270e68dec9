//! Executing a parsed template against a JSON value.

use serde_json::Value;

use super::Template;
use super::parse::{Arg, Block, Cmd, Node, Pipe};
use super::value::{Hint, Val};

/// How field lookups that find nothing behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An unknown field is an error (list rows: Docker's Go structs).
    Strict,
    /// Inspect documents, which Docker reads into typed structs first: a
    /// field absent from the JSON but known to the Engine API's types is
    /// its zero value (`[]`, `map[]`, `""`); any other is an error, as
    /// with docker's `missingkey=error` fallback.
    Lenient,
    /// Rendering table headers: unknown fields print `<no value>` and the
    /// text functions return their argument unchanged.
    Header,
}

/// Execution settings.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub mode: Mode,
    /// Go type named in "can't evaluate field" errors.
    pub type_name: &'a str,
    /// `{{json .}}` of the root escapes HTML, as Docker's list contexts
    /// marshal themselves.
    pub escape_html_root: bool,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            mode: Mode::Lenient,
            type_name: "interface {}",
            escape_html_root: false,
        }
    }
}

/// An execution error, with the offset and text of the failing command.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecError {
    pub pos: usize,
    pub at: String,
    pub msg: String,
}

pub(super) type R<T> = Result<T, ExecError>;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(super) struct State<'a> {
    pub tmpl: &'a Template,
    pub opts: Options<'a>,
    pub root: Val,
    vars: Vec<(String, Val)>,
    pub out: String,
    /// The command being run, for error messages.
    pub cur: (usize, String),
}

impl<'a> State<'a> {
    pub fn new(tmpl: &'a Template, data: &Value, opts: Options<'a>) -> Self {
        let root = Val::V(data.clone());
        Self {
            tmpl,
            opts,
            vars: vec![("$".to_string(), root.clone())],
            root,
            out: String::new(),
            cur: (0, String::new()),
        }
    }

    pub fn fail<T>(&self, msg: impl Into<String>) -> R<T> {
        Err(ExecError {
            pos: self.cur.0,
            at: self.cur.1.clone(),
            msg: msg.into(),
        })
    }

    pub fn run(&mut self, nodes: &[Node]) -> R<()> {
        let dot = self.root.clone();
        self.walk(&dot, nodes).map(|_| ())
    }

    fn walk(&mut self, dot: &Val, nodes: &[Node]) -> R<Flow> {
        let mark = self.vars.len();
        let result = self.walk_inner(dot, nodes);
        self.vars.truncate(mark);
        result
    }

    fn walk_inner(&mut self, dot: &Val, nodes: &[Node]) -> R<Flow> {
        for node in nodes {
            let flow = match node {
                Node::Text(t) => {
                    self.out.push_str(t);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.pipe(dot, pipe, true)?;
                    if pipe.decl.is_empty() {
                        let text = v.print();
                        self.out.push_str(&text);
                    }
                    Flow::Normal
                }
                Node::If(b) => self.if_with(dot, b, false)?,
                Node::With(b) => self.if_with(dot, b, true)?,
                Node::Range(b) => self.range(dot, b)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn if_with(&mut self, dot: &Val, b: &Block, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let v = self.pipe(dot, &b.pipe, true)?;
        let flow = if v.truth() {
            let inner = if with { v } else { dot.clone() };
            self.walk(&inner, &b.body)?
        } else if let Some(els) = &b.els {
            self.walk(dot, els)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(&mut self, dot: &Val, b: &Block) -> R<Flow> {
        let v = self.pipe(dot, &b.pipe, false)?;
        let items: Vec<(Val, Val)> = match &v {
            Val::Missing(_) | Val::Nil(_) | Val::V(Value::Null) => Vec::new(),
            Val::V(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, x)| (Val::int(i as i64), Val::field(x, "")))
                .collect(),
            Val::V(Value::Object(m)) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                keys.into_iter()
                    .map(|k| (Val::str(k.clone()), Val::field(&m[k.as_str()], k)))
                    .collect()
            }
            Val::V(Value::Number(n)) if n.as_i64().is_some() => (0..n.as_i64().unwrap_or(0))
                .map(|i| (Val::int(i), Val::int(i)))
                .collect(),
            other => {
                return self.fail(format!("range can't iterate over {}", other.print()));
            }
        };
        if items.is_empty() {
            if let Some(els) = &b.els {
                return self.walk(dot, els);
            }
            return Ok(Flow::Normal);
        }
        for (key, elem) in items {
            let mark = self.vars.len();
            match b.pipe.decl.as_slice() {
                [one] => self.vars.push((one.clone(), elem.clone())),
                [k, e] => {
                    self.vars.push((k.clone(), key));
                    self.vars.push((e.clone(), elem.clone()));
                }
                _ => {}
            }
            let flow = self.walk(&elem, &b.body)?;
            self.vars.truncate(mark);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    /// Runs a pipeline; `declare` handles `$x :=` here (range does it per
    /// iteration instead).
    pub fn pipe(&mut self, dot: &Val, pipe: &Pipe, declare: bool) -> R<Val> {
        let mut last: Option<Val> = None;
        for cmd in &pipe.cmds {
            last = Some(self.cmd(dot, cmd, last)?);
        }
        let v = last.unwrap_or(Val::Missing(Hint::Unknown));
        if declare && !pipe.decl.is_empty() {
            let name = &pipe.decl[0];
            if pipe.assign {
                match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = v.clone(),
                    None => return self.fail(format!("undefined variable: {name}")),
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn cmd(&mut self, dot: &Val, cmd: &Cmd, piped: Option<Val>) -> R<Val> {
        let saved = std::mem::replace(&mut self.cur, (cmd.pos, cmd.text.clone()));
        let result = match &cmd.args[0] {
            Arg::Func(name) => self.call(name, dot, &cmd.args[1..], piped),
            first => {
                if cmd.args.len() > 1 || piped.is_some() {
                    self.fail(format!("can't give argument to non-function {}", cmd.text))
                } else if matches!(first, Arg::Nil) {
                    self.fail("nil is not a command")
                } else {
                    self.arg(dot, first)
                }
            }
        };
        if result.is_ok() {
            self.cur = saved;
        }
        result
    }

    pub fn arg(&mut self, dot: &Val, arg: &Arg) -> R<Val> {
        match arg {
            Arg::Dot => Ok(dot.clone()),
            Arg::Field(chain) => self.fields(dot, chain),
            Arg::Var(name, chain) => {
                let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) else {
                    return self.fail(format!("undefined variable: {name}"));
                };
                self.fields(v, chain)
            }
            Arg::Pipe(pipe, chain) => {
                let v = self.pipe(dot, pipe, true)?;
                self.fields(&v, chain)
            }
            Arg::Func(name) => self.call(name, dot, &[], None),
            Arg::Lit(v) => Ok(Val::V(v.clone())),
            Arg::Nil => Ok(Val::V(Value::Null)),
        }
    }

    /// Follows a field chain from `v`, copying only what it reaches (a
    /// row's template reads many fields; copying the row each time cost
    /// more than the rest of `ps`).
    fn fields(&self, v: &Val, chain: &[String]) -> R<Val> {
        let Some((first, rest)) = chain.split_first() else {
            return Ok(v.clone());
        };
        let mut cur = self.field(v, first)?;
        for name in rest {
            cur = self.field(&cur, name)?;
        }
        Ok(cur)
    }

    fn field(&self, v: &Val, name: &str) -> R<Val> {
        match v {
            Val::V(Value::Object(m)) => {
                if let Some(x) = m.get(name) {
                    return Ok(Val::field(x, name));
                }
                // Docker reads JSON into Go structs whose field names
                // differ in case from the JSON keys (`.ID` for "Id").
                if let Some((_, x)) = m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                    return Ok(Val::field(x, name));
                }
                match (self.opts.mode, Hint::for_field(name)) {
                    (Mode::Strict, _) => self.fail(format!(
                        "can't evaluate field {name} in type {}",
                        self.opts.type_name
                    )),
                    (Mode::Header, hint) => Ok(Val::Missing(hint)),
                    (Mode::Lenient, Hint::Unknown) => {
                        self.fail(format!("map has no entry for key {name:?}"))
                    }
                    (Mode::Lenient, hint) => Ok(Val::Missing(hint)),
                }
            }
            Val::Missing(_) | Val::Nil(_) | Val::V(Value::Null) => match self.opts.mode {
                Mode::Header => Ok(Val::Missing(Hint::Unknown)),
                _ => self.fail(format!("nil pointer evaluating interface {{}}.{name}")),
            },
            Val::V(other) => self.fail(format!(
                "can't evaluate field {name} in type {}",
                crate::format::gofmt::type_name(other)
            )),
        }
    }
}
