//! Dockerfile word processing: quote removal, escapes and `$VAR` / `${VAR:-default}` expansion, as BuildKit's `shell.Lex` does.
//!
//! Supported expansions: `$name`, `${name}`, `${name:-word}`,
//! `${name-word}`, `${name:+word}`, `${name+word}`, `${name:?msg}`,
//! `${name?msg}`. Pattern operators (`#`, `%`, `/`) are refused as
//! unsupported modifiers.

use std::collections::HashMap;

/// Variables visible to expansion.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// From `KEY=value` entries (a later entry wins).
    pub fn from_list<S: AsRef<str>>(list: &[S]) -> Self {
        let mut vars = HashMap::new();
        for entry in list {
            let entry = entry.as_ref();
            let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
            vars.insert(k.to_string(), v.to_string());
        }
        Env { vars }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }
}

/// The word processor, for a given escape character.
#[derive(Debug, Clone, Copy)]
pub struct Lex {
    escape: char,
}

impl Lex {
    pub fn new(escape: char) -> Self {
        Lex { escape }
    }

    /// Processes quotes, escapes and variables, keeping the spaces between
    /// words (what ENV, LABEL, WORKDIR, USER, … use).
    pub fn process_word(&self, word: &str, env: &Env) -> Result<String, String> {
        self.run(word, env).map(|(s, _)| s)
    }

    /// Like [`Lex::process_word`] but splits the result into words on
    /// unquoted whitespace (what EXPOSE uses).
    pub fn process_words(&self, word: &str, env: &Env) -> Result<Vec<String>, String> {
        self.run(word, env).map(|(_, w)| w)
    }

    fn run(&self, word: &str, env: &Env) -> Result<(String, Vec<String>), String> {
        let mut sw = ShellWord {
            chars: word.chars().collect(),
            pos: 0,
            escape: self.escape,
            env,
        };
        sw.process_stop_on(None)
            .map_err(|e| format!("failed to process {word:?}: {e}"))
    }
}

struct ShellWord<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    env: &'a Env,
}

#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }

    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(self.buf);
        }
        self.words
    }
}

impl ShellWord<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn process_stop_on(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let tmp = self.process_dollar()?;
                    result.push_str(&tmp);
                    words.add_string(&tmp);
                }
                '\'' => {
                    let tmp = self.process_single_quote()?;
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                '"' => {
                    let tmp = self.process_double_quote()?;
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                _ => {
                    self.next();
                    let mut ch = ch;
                    if ch == self.escape {
                        match self.next() {
                            None => break,
                            Some(c) => ch = c,
                        }
                        words.add_raw_char(ch);
                    } else {
                        words.add_char(ch);
                    }
                    result.push(ch);
                }
            }
        }
        if let Some(stop) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn process_single_quote(&mut self) -> Result<String, String> {
        self.next();
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    );
                }
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, String> {
        self.next();
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    );
                }
                Some('"') => {
                    self.next();
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.process_dollar()?;
                    out.push_str(&v);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == self.escape {
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.escape => {
                                ch = c;
                                self.next();
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            name.push(ch);
            self.next();
        }
        name
    }

    fn process_dollar(&mut self) -> Result<String, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.env.get(&name).unwrap_or_default().to_string());
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.process_name();
        let Some(mut ch) = self.next() else {
            return Err("syntax error: missing '}'".into());
        };
        let mut chs = ch.to_string();
        let mut null_is_unset = false;
        if ch == '}' {
            return Ok(self.env.get(&name).unwrap_or_default().to_string());
        }
        if ch == ':' {
            null_is_unset = true;
            let Some(c) = self.next() else {
                return Err("syntax error: missing '}'".into());
            };
            ch = c;
            chs.push(c);
        }
        if !matches!(ch, '+' | '-' | '?') {
            return Err(format!("unsupported modifier ({chs}) in substitution"));
        }
        let word = match self.process_stop_on(Some('}')) {
            Ok((w, _)) => w,
            Err(e) => {
                if self.peek().is_none() {
                    return Err("syntax error: missing '}'".into());
                }
                return Err(e);
            }
        };
        let value = self.env.get(&name);
        let unset = value.is_none() || (null_is_unset && value == Some(""));
        match ch {
            '-' => Ok(if unset {
                word
            } else {
                value.unwrap_or_default().to_string()
            }),
            '+' => Ok(if unset { String::new() } else { word }),
            _ => {
                if value.is_none() {
                    let msg = if word.is_empty() {
                        "is not allowed to be unset"
                    } else {
                        &word
                    };
                    return Err(format!("{name}: {msg}"));
                }
                if unset {
                    let msg = if word.is_empty() {
                        "is not allowed to be empty"
                    } else {
                        &word
                    };
                    return Err(format!("{name}: {msg}"));
                }
                Ok(value.unwrap_or_default().to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::from_list(&[
            "PWD=/home",
            "SHELL=bash",
            "KOREAN=한국어",
            "EMPTY=",
            "A=a b",
        ])
    }

    fn word(s: &str) -> String {
        Lex::new('\\').process_word(s, &env()).unwrap()
    }

    fn words(s: &str) -> Vec<String> {
        Lex::new('\\').process_words(s, &env()).unwrap()
    }

    // Cases from BuildKit's envVarTest.
    #[test]
    fn expansion() {
        let cases = [
            ("hello", "hello"),
            ("he'll'o", "hello"),
            ("he'llo", ""),
            (r"he\'llo", "he'llo"),
            (r#"he\\'llo"#, ""),
            ("abc\\", "abc"),
            ("\"hello\"", "hello"),
            ("\"he'llo\"", "he'llo"),
            (r#""he\"llo""#, "he\"llo"),
            (r#""a\b""#, r"a\b"),
            (r#"'a\b'"#, r"a\b"),
            ("$PWD", "/home"),
            ("${PWD}", "/home"),
            ("$PWD/x", "/home/x"),
            ("'$PWD'", "$PWD"),
            ("\"$PWD\"", "/home"),
            (r"\$PWD", "$PWD"),
            ("$NOPE", ""),
            ("${NOPE:-def}", "def"),
            ("${EMPTY:-def}", "def"),
            ("${EMPTY-def}", ""),
            ("${PWD:-def}", "/home"),
            ("${PWD:+alt}", "alt"),
            ("${NOPE:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${KOREAN}", "한국어"),
            ("a$", "a$"),
            ("$ b", "$ b"),
            ("${NOPE:-${PWD}}", "/home"),
            ("  x  ", "  x  "),
        ];
        for (input, want) in cases {
            let got = Lex::new('\\').process_word(input, &env());
            if want.is_empty() && got.is_err() {
                continue;
            }
            assert_eq!(got.as_deref(), Ok(want), "{input}");
        }
        assert_eq!(word("${A}"), "a b");
    }

    #[test]
    fn errors() {
        let lex = Lex::new('\\');
        for bad in [
            "${",
            "${}",
            "${:x}",
            "${PWD",
            "${PWD:-x",
            "${PWD#x}",
            "${PWD/a/b}",
            "${NOPE?}",
            "${EMPTY:?must be set}",
            "'open",
            "\"open",
        ] {
            assert!(lex.process_word(bad, &env()).is_err(), "{bad}");
        }
        let e = lex.process_word("${NOPE:?needed}", &env()).unwrap_err();
        assert!(e.contains("NOPE: needed"), "{e}");
    }

    #[test]
    fn word_splitting() {
        assert_eq!(words("80 443/udp"), vec!["80", "443/udp"]);
        assert_eq!(words("$A 'c d'"), vec!["a", "b", "c d"]);
        assert_eq!(words(r"x\ y z"), vec!["x y", "z"]);
    }

    #[test]
    fn backtick_escape() {
        let lex = Lex::new('`');
        assert_eq!(
            lex.process_word(r"C:\dir `$PWD", &env()).unwrap(),
            r"C:\dir $PWD"
        );
    }
}
