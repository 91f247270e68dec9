//! A Go `text/template` subset for `--format` and `-f`: fields and nested
//! fields, variables, pipelines, `if`/`else if`/`range`/`with` with
//! `break`/`continue`, trim markers, comments, Go's builtin functions and
//! Docker's (`json`, `join`, `split`, `upper`, …), over JSON data.

mod exec;
mod funcs;
mod lex;
mod parse;
pub mod value;

use std::fmt;

use serde_json::Value;

pub use exec::{Mode, Options};
pub use value::Val;

/// A function a command adds (`getDetailsOrder` for `version`).
pub type ExtraFn = fn(&[Val]) -> Result<Val, String>;

/// A parsed template.
pub struct Template {
    src: String,
    nodes: Vec<parse::Node>,
    extra: Vec<(String, ExtraFn)>,
}

/// A parse or execution error, worded as Go's (`template: :1:2:
/// executing "" at <.Foo>: …`).
#[derive(Debug, Clone, PartialEq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Template {
    pub fn parse(src: &str) -> Result<Self, Error> {
        Self::parse_with(src, Vec::new())
    }

    /// Parses with additional functions.
    pub fn parse_with(src: &str, extra: Vec<(String, ExtraFn)>) -> Result<Self, Error> {
        let is_func =
            |name: &str| funcs::BUILTINS.contains(&name) || extra.iter().any(|(n, _)| n == name);
        let nodes = lex::lex(src)
            .and_then(|toks| parse::parse(src, toks, &is_func))
            .map_err(|e| Error(format!("template: :{}: {}", line_of(src, e.pos), e.msg)))?;
        Ok(Self {
            src: src.to_string(),
            nodes,
            extra,
        })
    }

    /// Runs the template on `data`.
    pub fn execute(&self, data: &Value, opts: Options<'_>) -> Result<String, Error> {
        self.execute_partial(data, opts).map_err(|(_, e)| e)
    }

    /// Like [`Template::execute`], but keeps what was written before an
    /// error (Go writes as it goes; table headers rely on it).
    pub fn execute_partial(
        &self,
        data: &Value,
        opts: Options<'_>,
    ) -> Result<String, (String, Error)> {
        let mut state = exec::State::new(self, data, opts);
        match state.run(&self.nodes) {
            Ok(()) => Ok(state.out),
            Err(e) => {
                let (line, col) = line_col(&self.src, e.pos);
                let msg = format!(
                    "template: :{line}:{col}: executing \"\" at <{}>: {}",
                    e.at, e.msg
                );
                Err((state.out, Error(msg)))
            }
        }
    }
}

fn line_of(src: &str, pos: usize) -> usize {
    line_col(src, pos).0
}

/// 1-based line and 0-based byte column, as Go reports them.
fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = &src.as_bytes()[..pos.min(src.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl - 1,
        None => pos,
    };
    (line, col)
}

#[cfg(test)]
mod tests;
