//! Line-level Dockerfile parsing: escape directive, comments, line continuations, instruction word, `--flags`, and per-instruction argument forms (JSON vs shell).
//!
//! Follows BuildKit's `frontend/dockerfile/parser`; heredocs are not
//! supported yet.

use super::DockerfileError;

/// The default escape character.
pub const DEFAULT_ESCAPE: char = '\\';

/// One instruction of a Dockerfile, with its arguments split according to
/// the instruction's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The instruction word as written (`cmd`, `CMD`, …).
    pub command: String,
    /// `--name[=value]` flags that preceded the arguments, as written.
    pub flags: Vec<String>,
    /// The arguments. For ENV and LABEL these are triples `key, value,
    /// "=" or ""` (the last is empty for the legacy `KEY value` form). For
    /// ONBUILD they are the trigger's command followed by its arguments.
    pub args: Vec<String>,
    /// True when the arguments were given as a JSON array.
    pub json: bool,
    /// The logical line (continuations joined) as it was parsed.
    pub original: String,
    /// The trigger of an ONBUILD instruction.
    pub sub: Option<Box<Node>>,
    /// First and last physical line (1-based).
    pub start_line: usize,
    pub end_line: usize,
}

impl Node {
    /// The instruction word in lower case.
    pub fn name(&self) -> String {
        self.command.to_ascii_lowercase()
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub nodes: Vec<Node>,
    pub escape: char,
}

struct Directives {
    escape: char,
    done: bool,
    seen: Vec<String>,
}

impl Directives {
    /// Handles `# name=value` lines that precede everything else.
    /// Returns true when `line` was a directive.
    fn possible_directive(&mut self, line: &str) -> Result<bool, String> {
        if self.done {
            return Ok(false);
        }
        let Some(rest) = line.strip_prefix('#') else {
            self.done = true;
            return Ok(false);
        };
        let rest = rest.trim_start();
        let Some((name, value)) = rest.split_once('=') else {
            self.done = true;
            return Ok(false);
        };
        let name = name.trim_end();
        let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric());
        let value = value.trim();
        if !valid_name || value.is_empty() {
            self.done = true;
            return Ok(false);
        }
        let key = name.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(false);
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        if key == "escape" {
            match value {
                "`" => self.escape = '`',
                "\\" => self.escape = '\\',
                other => {
                    return Err(format!(
                        "invalid escape token '{other}' does not match ` or \\"
                    ));
                }
            }
        }
        Ok(true)
    }

    /// Strips a trailing continuation character; returns the line and
    /// whether the logical line ends here.
    fn trim_continuation<'a>(&self, line: &'a str) -> (&'a str, bool) {
        let t = line.trim_end_matches([' ', '\t']);
        if let Some(before) = t.strip_suffix(self.escape)
            && (before.is_empty() || !before.ends_with(self.escape))
        {
            return (before, false);
        }
        (line, true)
    }
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Parses a whole Dockerfile (or a list of `--change` lines joined by
/// newlines). Unknown instructions are kept; they are rejected when the
/// instruction is interpreted.
pub fn parse(text: &str) -> Result<Dockerfile, DockerfileError> {
    let mut d = Directives {
        escape: DEFAULT_ESCAPE,
        done: false,
        seen: Vec::new(),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n').peekable();
    let mut current = 0usize;
    let mut nodes = Vec::new();
    while let Some(raw) = lines.next() {
        let token = raw.trim_end_matches(['\r', '\n']).trim_start();
        let directive = d
            .possible_directive(token)
            .map_err(|m| DockerfileError::at(current + 1, m))?;
        current += 1;
        let _ = directive;
        let token = if is_comment(token) { "" } else { token };
        let start = current;
        let (first, mut end) = d.trim_continuation(token);
        if end && first.is_empty() {
            continue;
        }
        let mut buf = first.to_string();
        while !end {
            let Some(raw) = lines.next() else { break };
            let token = raw.trim_end_matches(['\r', '\n']);
            d.possible_directive(token)
                .map_err(|m| DockerfileError::at(current + 1, m))?;
            current += 1;
            if is_comment(token) || token.trim_start().is_empty() {
                continue;
            }
            let (part, e) = d.trim_continuation(token);
            buf.push_str(part);
            end = e;
        }
        let mut node = node_from_line(&buf, d.escape)
            .map_err(|m| DockerfileError::range(start, current, m))?;
        node.start_line = start;
        node.end_line = current;
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(DockerfileError::at(current, "file with no instructions"));
    }
    Ok(Dockerfile {
        nodes,
        escape: d.escape,
    })
}

/// Parses one logical line into a node (no line information).
pub fn node_from_line(line: &str, escape: char) -> Result<Node, String> {
    let trimmed = line.trim();
    let (command, rest) = match trimmed.find(is_go_space) {
        Some(i) => (&trimmed[..i], trimmed[i..].trim_start_matches(is_go_space)),
        None => (trimmed, ""),
    };
    let (rest, flags) = if rest.is_empty() {
        (String::new(), Vec::new())
    } else {
        extract_flags(rest, escape)
    };
    let rest = rest.trim();
    let mut node = Node {
        command: command.to_string(),
        flags,
        args: Vec::new(),
        json: false,
        original: line.to_string(),
        sub: None,
        start_line: 0,
        end_line: 0,
    };
    match command.to_ascii_lowercase().as_str() {
        "cmd" | "entrypoint" | "run" | "shell" => {
            (node.args, node.json) = parse_maybe_json(rest)?;
        }
        "add" | "copy" | "volume" => {
            (node.args, node.json) = parse_maybe_json_to_list(rest)?;
        }
        "env" => node.args = parse_name_val(rest, "ENV", escape)?,
        "label" => node.args = parse_name_val(rest, "LABEL", escape)?,
        "arg" => node.args = parse_words(rest, escape),
        "expose" | "from" => node.args = split_whitespace(rest),
        "maintainer" | "stopsignal" | "user" | "workdir" if !rest.is_empty() => {
            node.args = vec![rest.to_string()];
        }
        "healthcheck" => {
            let (typ, cmd) = match rest.find(is_go_space) {
                Some(i) => (&rest[..i], rest[i..].trim_start_matches(is_go_space)),
                None => (rest, ""),
            };
            if !typ.is_empty() {
                let (args, json) = parse_maybe_json(cmd)?;
                node.args = std::iter::once(typ.to_string()).chain(args).collect();
                node.json = json;
            }
        }
        "onbuild" if !rest.is_empty() => {
            let child = node_from_line(rest, escape)?;
            node.args = std::iter::once(child.command.clone())
                .chain(child.args.iter().cloned())
                .collect();
            node.sub = Some(Box::new(child));
        }
        _ => {}
    }
    Ok(node)
}

/// Go's `[\t\v\f\r ]` (the separators of Dockerfile words).
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{0b}' | '\u{0c}' | '\r')
}

fn split_whitespace(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    rest.split(is_go_space)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

const ERR_NOT_STRINGS: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// `Some(args)` when `rest` is a JSON array of strings; `None` when it is
/// not JSON at all; an error for a JSON array of non-strings.
fn parse_json(rest: &str) -> Result<Option<Vec<String>>, String> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Ok(None);
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(rest) else {
        return Ok(None);
    };
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(ERR_NOT_STRINGS.to_string()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn parse_maybe_json(rest: &str) -> Result<(Vec<String>, bool), String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    match parse_json(rest)? {
        Some(args) => Ok((args, true)),
        None => Ok((vec![rest.to_string()], false)),
    }
}

fn parse_maybe_json_to_list(rest: &str) -> Result<(Vec<String>, bool), String> {
    match parse_json(rest)? {
        Some(args) => Ok((args, true)),
        None => Ok((split_whitespace(rest), false)),
    }
}

/// ENV and LABEL: `key=value …` (quotes kept, removed later by word
/// processing) or the legacy `key value`.
fn parse_name_val(rest: &str, key: &str, escape: char) -> Result<Vec<String>, String> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    if !words[0].contains('=') {
        let Some(i) = rest.find(is_go_space) else {
            return Err(format!("{key} must have two arguments"));
        };
        let name = &rest[..i];
        let value = rest[i..].trim_start_matches(is_go_space);
        return Ok(vec![name.to_string(), value.to_string(), String::new()]);
    }
    let mut out = Vec::with_capacity(words.len() * 3);
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
            ));
        };
        out.extend([k.to_string(), v.to_string(), "=".to_string()]);
    }
    Ok(out)
}

/// Splits into words on whitespace, keeping quotes and escapes (they are
/// processed later), like BuildKit's `parseWords`.
pub fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let mut ch = if at_end { '\0' } else { chars[pos] };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                word.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // In quotes.
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            word.push(ch);
            ch = chars[pos];
        }
        word.push(ch);
        pos += 1;
    }
    words
}

/// Takes the leading `--flag[=value]` words off an instruction's arguments.
fn extract_flags(line: &str, escape: char) -> (String, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = line.chars().collect();
    let rest_from = |pos: usize| chars[pos..].iter().collect::<String>();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let mut ch = if at_end { '\0' } else { chars[pos] };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            if ch != '-' || pos + 1 == chars.len() || chars[pos + 1] != '-' {
                return (rest_from(pos), words);
            }
            phase = Phase::Word;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if word == "--" {
                    return (rest_from(pos), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                ch = chars[pos];
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // In quotes.
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        if ch == escape {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            ch = chars[pos];
        }
        word.push(ch);
        pos += 1;
    }
    (String::new(), words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Node {
        let df = parse(line).unwrap();
        assert_eq!(df.nodes.len(), 1, "{line}");
        df.nodes.into_iter().next().unwrap()
    }

    #[test]
    fn json_and_shell_forms() {
        let n = one(r#"CMD ["echo", "hi"]"#);
        assert_eq!(
            (n.args.clone(), n.json),
            (vec!["echo".into(), "hi".into()], true)
        );
        let n = one("CMD echo hi  there");
        assert_eq!(
            (n.args.clone(), n.json),
            (vec!["echo hi  there".into()], false)
        );
        // Not valid JSON: shell form.
        let n = one("CMD [echo, hi]");
        assert_eq!(n.args, vec!["[echo, hi]".to_string()]);
        assert!(!n.json);
        let e = parse(r#"CMD ["a", 1]"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("arrays must be comprised of strings only"),
            "{e}"
        );
        let n = one("cmd []");
        assert!(n.json && n.args.is_empty());
        assert_eq!(n.name(), "cmd");
        let n = one(r#"VOLUME /a /b"#);
        assert_eq!(n.args, vec!["/a".to_string(), "/b".into()]);
        let n = one(r#"VOLUME ["/a b"]"#);
        assert_eq!(n.args, vec!["/a b".to_string()]);
    }

    #[test]
    fn env_forms() {
        let n = one(r#"ENV A=1 B="two words" C=x\ y"#);
        assert_eq!(
            n.args,
            vec!["A", "1", "=", "B", "\"two words\"", "=", "C", "x\\ y", "="]
        );
        let n = one("ENV PATH /usr/bin:/bin  extra");
        assert_eq!(n.args, vec!["PATH", "/usr/bin:/bin  extra", ""]);
        assert!(
            parse("ENV A")
                .unwrap_err()
                .to_string()
                .contains("ENV must have two arguments")
        );
        let e = parse("LABEL a=b c").unwrap_err().to_string();
        assert!(e.contains(r#"can't find = in "c""#), "{e}");
    }

    #[test]
    fn continuations_comments_and_directives() {
        let df =
            parse("# escape=`\n# a comment\nRUN echo a `\n  # inside\n\n  b\nUSER x\n").unwrap();
        assert_eq!(df.escape, '`');
        assert_eq!(df.nodes.len(), 2);
        assert_eq!(df.nodes[0].args, vec!["echo a   b".to_string()]);
        assert_eq!((df.nodes[0].start_line, df.nodes[0].end_line), (3, 6));
        assert_eq!(df.nodes[1].start_line, 7);
        let df = parse("RUN a \\\\\nUSER b").unwrap();
        assert_eq!(df.nodes.len(), 2, "an escaped escape is not a continuation");
        assert!(parse("# escape=x\nRUN a").is_err());
        assert!(parse("\n# only a comment\n").is_err());
        // A directive after an instruction is a comment.
        let df = parse("USER a\n# escape=`\nUSER b \\\nc").unwrap();
        assert_eq!(df.escape, '\\');
        assert_eq!(df.nodes[1].args, vec!["b c".to_string()]);
    }

    #[test]
    fn flags_and_healthcheck() {
        let n = one("HEALTHCHECK --interval=5s --timeout=\"3s\" CMD curl -f http://x/ || exit 1");
        assert_eq!(n.flags, vec!["--interval=5s", "--timeout=3s"]);
        assert_eq!(n.args, vec!["CMD", "curl -f http://x/ || exit 1"]);
        let n = one(r#"HEALTHCHECK CMD ["true"]"#);
        assert_eq!(n.args, vec!["CMD", "true"]);
        assert!(n.json);
        let n = one("HEALTHCHECK NONE");
        assert_eq!(n.args, vec!["NONE"]);
        let n = one("COPY -- --a b");
        assert!(n.flags.is_empty());
        assert_eq!(n.args, vec!["--a", "b"]);
    }

    #[test]
    fn onbuild_and_unknown() {
        let n = one("ONBUILD RUN echo hi");
        assert_eq!(n.args, vec!["RUN", "echo hi"]);
        assert_eq!(n.sub.as_ref().unwrap().command, "RUN");
        let n = one("FOO bar baz");
        assert_eq!(n.command, "FOO");
        assert!(n.args.is_empty());
    }

    #[test]
    fn words_keep_quotes_and_escapes() {
        assert_eq!(
            parse_words(r#"a "b c" 'd e' f\ g"#, '\\'),
            vec!["a", "\"b c\"", "'d e'", "f\\ g"]
        );
        assert_eq!(parse_words(r#"x="" y"#, '\\'), vec!["x=\"\"", "y"]);
    }
}
