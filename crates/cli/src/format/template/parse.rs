//! The parser: tokens to a tree of text, actions, `if`/`range`/`with`
//! blocks, pipelines and commands, as in Go's `text/template/parse`.

use serde_json::Value;

use super::lex::{SyntaxError, Tok, Token};

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Block),
    Range(Block),
    With(Block),
    Break,
    Continue,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub pipe: Pipe,
    pub body: Vec<Node>,
    pub els: Option<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipe {
    pub pos: usize,
    /// Variables declared (`$x :=`) or assigned (`$x =`).
    pub decl: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cmd {
    pub pos: usize,
    /// The source text, for error messages (`at <.Foo>`).
    pub text: String,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Dot,
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B`
    Var(String, Vec<String>),
    Func(String),
    /// `(pipeline).A.B`
    Pipe(Box<Pipe>, Vec<String>),
    Lit(Value),
    Nil,
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    is_func: &'a dyn Fn(&str) -> bool,
}

fn err<T>(pos: usize, msg: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        pos,
        msg: msg.into(),
    })
}

/// Parses the tokens of `src`; `is_func` says which identifiers are
/// defined functions.
pub fn parse(
    src: &str,
    toks: Vec<Token>,
    is_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Node>, SyntaxError> {
    let mut p = Parser {
        src,
        toks,
        i: 0,
        is_func,
    };
    let (nodes, end) = p.list(0)?;
    match end {
        None => Ok(nodes),
        Some((word, pos)) => err(pos, format!("unexpected {{{{{word}}}}}")),
    }
}

/// How a list of nodes ended: `end`, `else`, or the end of input.
type Ending = Option<(&'static str, usize)>;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }

    fn pos(&self) -> usize {
        self.toks[self.i.min(self.toks.len() - 1)].pos
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.i.min(self.toks.len() - 1)].clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn skip_space(&mut self) {
        while *self.peek() == Tok::Space {
            self.i += 1;
        }
    }

    fn expect_right(&mut self, context: &str) -> Result<(), SyntaxError> {
        self.skip_space();
        let t = self.next();
        match t.tok {
            Tok::Right => Ok(()),
            other => err(
                t.pos,
                format!("unexpected {} in {context}", describe(&other)),
            ),
        }
    }

    /// Nodes until `{{end}}`, `{{else}}` or the end of input.
    fn list(&mut self, depth: usize) -> Result<(Vec<Node>, Ending), SyntaxError> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Eof => return Ok((nodes, None)),
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::Left => {
                    self.skip_space();
                    let pos = self.pos();
                    let word = match self.peek() {
                        Tok::Ident(w) => Some(w.clone()),
                        _ => None,
                    };
                    match word.as_deref() {
                        Some("end") => {
                            self.i += 1;
                            self.expect_right("end")?;
                            return Ok((nodes, Some(("end", pos))));
                        }
                        Some("else") => {
                            self.i += 1;
                            return Ok((nodes, Some(("else", pos))));
                        }
                        Some(kw @ ("if" | "range" | "with")) => {
                            let kw = kw.to_string();
                            self.i += 1;
                            nodes.push(self.control(&kw, depth)?);
                        }
                        Some(kw @ ("break" | "continue")) => {
                            if depth == 0 {
                                return err(pos, format!("{{{{{kw}}}}} outside {{{{range}}}}"));
                            }
                            let node = if kw == "break" {
                                Node::Break
                            } else {
                                Node::Continue
                            };
                            self.i += 1;
                            self.expect_right(if kw == "break" { "break" } else { "continue" })?;
                            nodes.push(node);
                        }
                        Some(kw @ ("define" | "template" | "block")) => {
                            return err(pos, format!("{{{{{kw}}}}} is not supported"));
                        }
                        _ => {
                            let pipe = self.pipeline(false, "command")?;
                            self.expect_right("command")?;
                            nodes.push(Node::Action(pipe));
                        }
                    }
                }
                other => return err(t.pos, format!("unexpected {}", describe(&other))),
            }
        }
    }

    /// `if`, `range` or `with` after its keyword, through its `{{end}}`.
    fn control(&mut self, kw: &str, depth: usize) -> Result<Node, SyntaxError> {
        let pipe = self.pipeline(kw == "range", kw)?;
        self.expect_right(kw)?;
        let inner = if kw == "range" { depth + 1 } else { depth };
        let (body, end) = self.list(inner)?;
        let els = match end {
            None => return err(self.pos(), "unexpected EOF"),
            Some(("end", _)) => None,
            Some(_) => {
                // `{{else if …}}` / `{{else with …}}` chain into one block
                // that shares the outer `{{end}}`.
                self.skip_space();
                let chained = matches!(self.peek(), Tok::Ident(w) if w == kw && kw != "range");
                if chained {
                    self.i += 1;
                    Some(vec![self.control(kw, depth)?])
                } else {
                    self.expect_right("else")?;
                    let (els, end) = self.list(depth)?;
                    match end {
                        Some(("end", _)) => Some(els),
                        Some((_, pos)) => return err(pos, "expected end; found {{else}}"),
                        None => return err(self.pos(), "unexpected EOF"),
                    }
                }
            }
        };
        let block = Block { pipe, body, els };
        Ok(match kw {
            "if" => Node::If(block),
            "range" => Node::Range(block),
            _ => Node::With(block),
        })
    }

    fn pipeline(&mut self, multi_decl: bool, context: &str) -> Result<Pipe, SyntaxError> {
        self.skip_space();
        let pos = self.pos();
        let (decl, assign) = self.declarations(multi_decl)?;
        let mut cmds = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Tok::Right | Tok::RParen | Tok::Eof => break,
                _ => {}
            }
            cmds.push(self.command()?);
            self.skip_space();
            if *self.peek() == Tok::Pipe {
                self.i += 1;
                self.skip_space();
                if matches!(self.peek(), Tok::Right | Tok::RParen | Tok::Eof) {
                    return err(self.pos(), "missing command after |");
                }
            } else {
                break;
            }
        }
        if cmds.is_empty() {
            return err(pos, format!("missing value for {context}"));
        }
        Ok(Pipe {
            pos,
            decl,
            assign,
            cmds,
        })
    }

    /// `$x :=`, `$x =` or (in `range`) `$i, $e :=`; nothing otherwise.
    fn declarations(&mut self, multi: bool) -> Result<(Vec<String>, bool), SyntaxError> {
        let save = self.i;
        let mut vars = Vec::new();
        while let Tok::Var(name) = self.peek().clone() {
            self.i += 1;
            self.skip_space();
            vars.push(name);
            match self.peek() {
                Tok::Declare | Tok::Assign => {
                    let assign = *self.peek() == Tok::Assign;
                    self.i += 1;
                    if vars.len() > 2 || (vars.len() == 2 && !multi) {
                        return err(self.pos(), "too many declarations in command");
                    }
                    return Ok((vars, assign));
                }
                Tok::Comma if multi && vars.len() == 1 => {
                    self.i += 1;
                    self.skip_space();
                }
                _ => break,
            }
        }
        self.i = save;
        Ok((Vec::new(), false))
    }

    fn command(&mut self) -> Result<Cmd, SyntaxError> {
        let pos = self.pos();
        let mut args = Vec::new();
        let mut end = pos;
        loop {
            self.skip_space();
            match self.peek() {
                Tok::Right | Tok::RParen | Tok::Pipe | Tok::Eof => break,
                _ => {}
            }
            args.push(self.operand()?);
            end = self.pos();
            match self.peek() {
                Tok::Space | Tok::Right | Tok::RParen | Tok::Pipe | Tok::Eof => {}
                other => {
                    return err(
                        self.pos(),
                        format!("unexpected {} in operand", describe(other)),
                    );
                }
            }
        }
        if args.is_empty() {
            return err(pos, "empty command");
        }
        let text = self.src[pos..end.min(self.src.len())]
            .trim_end()
            .to_string();
        Ok(Cmd { pos, text, args })
    }

    fn operand(&mut self) -> Result<Arg, SyntaxError> {
        let t = self.next();
        let mut arg = match t.tok {
            Tok::Dot => Arg::Dot,
            Tok::Field(name) => Arg::Field(vec![name]),
            Tok::Var(name) => Arg::Var(name, Vec::new()),
            Tok::Ident(name) => {
                if !(self.is_func)(&name) {
                    return err(t.pos, format!("function {name:?} not defined"));
                }
                Arg::Func(name)
            }
            Tok::Lit(v) => Arg::Lit(v),
            Tok::Nil => Arg::Nil,
            Tok::LParen => {
                let pipe = self.pipeline(false, "parenthesized pipeline")?;
                self.skip_space();
                let close = self.next();
                if close.tok != Tok::RParen {
                    return err(close.pos, "unclosed left paren");
                }
                Arg::Pipe(Box::new(pipe), Vec::new())
            }
            other => return err(t.pos, format!("unexpected {} in operand", describe(&other))),
        };
        while let Tok::Field(name) = self.peek().clone() {
            self.i += 1;
            match &mut arg {
                Arg::Field(chain) | Arg::Var(_, chain) | Arg::Pipe(_, chain) => chain.push(name),
                Arg::Dot => arg = Arg::Field(vec![name]),
                _ => return err(self.pos(), format!("unexpected .{name} after term")),
            }
        }
        Ok(arg)
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Text(_) => "text".into(),
        Tok::Left => "\"{{\"".into(),
        Tok::Right => "\"}}\"".into(),
        Tok::Space => "space".into(),
        Tok::Ident(s) => format!("<{s}>"),
        Tok::Field(s) => format!("<.{s}>"),
        Tok::Dot => "<.>".into(),
        Tok::Var(s) => format!("<{s}>"),
        Tok::Lit(v) => format!("<{v}>"),
        Tok::Nil => "<nil>".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Eof => "EOF".into(),
    }
}
