//! Typed Dockerfile instructions built from parsed nodes, with Docker's argument checks and error wording.

use berth_api::types::config::HealthConfig;

use super::parser::Node;
use super::shell::{Env, Lex};

/// A `key=value` pair of ENV or LABEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// The command line of CMD, ENTRYPOINT and RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// The words (JSON form) or the single shell string (shell form).
    pub args: Vec<String>,
    /// True for the shell form: the shell is prepended when applied.
    pub prepend_shell: bool,
}

impl CommandLine {
    /// The final argv: `shell + [line]` for the shell form.
    pub fn resolve(&self, shell: &[String]) -> Vec<String> {
        if self.prepend_shell {
            shell
                .iter()
                .cloned()
                .chain(self.args.iter().cloned())
                .collect()
        } else {
            self.args.clone()
        }
    }
}

/// One instruction with its arguments checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Instruction {
    Cmd(CommandLine),
    /// `None` when ENTRYPOINT was given without arguments (it is cleared).
    Entrypoint(Option<CommandLine>),
    Run {
        cmd: CommandLine,
        flags: Vec<String>,
    },
    Shell(Vec<String>),
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    /// Port specifications as written (expanded when applied).
    Expose(Vec<String>),
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    StopSignal(String),
    /// The trigger expression, as written after `ONBUILD`.
    Onbuild(String),
    Healthcheck(HealthConfig),
    Maintainer(String),
    Arg(Vec<(String, Option<String>)>),
    From {
        image: String,
        stage: Option<String>,
        flags: Vec<String>,
    },
    Copy {
        sources: Vec<String>,
        dest: String,
        flags: Vec<String>,
    },
    Add {
        sources: Vec<String>,
        dest: String,
        flags: Vec<String>,
    },
}

impl Instruction {
    /// The instruction's name in upper case.
    pub fn name(&self) -> &'static str {
        match self {
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Run { .. } => "RUN",
            Instruction::Shell(_) => "SHELL",
            Instruction::Env(_) => "ENV",
            Instruction::Label(_) => "LABEL",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Volume(_) => "VOLUME",
            Instruction::User(_) => "USER",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Onbuild(_) => "ONBUILD",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Maintainer(_) => "MAINTAINER",
            Instruction::Arg(_) => "ARG",
            Instruction::From { .. } => "FROM",
            Instruction::Copy { .. } => "COPY",
            Instruction::Add { .. } => "ADD",
        }
    }

    /// Expands variables in the words Docker expands (ENV and LABEL keys
    /// and values, WORKDIR, USER, VOLUME, STOPSIGNAL). EXPOSE is expanded
    /// into several words by the dispatcher.
    pub fn expand(&mut self, lex: &Lex, env: &Env) -> Result<(), String> {
        let one = |s: &mut String| -> Result<(), String> {
            *s = lex.process_word(s, env)?;
            Ok(())
        };
        match self {
            Instruction::Env(kvs) | Instruction::Label(kvs) => {
                for kv in kvs {
                    one(&mut kv.key)?;
                    one(&mut kv.value)?;
                }
            }
            Instruction::Workdir(s) | Instruction::User(s) | Instruction::StopSignal(s) => one(s)?,
            Instruction::Volume(v) => {
                for s in v {
                    one(s)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// All instruction names, upper case.
pub const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// True when `name` (any case) is a Dockerfile instruction.
pub fn is_instruction(name: &str) -> bool {
    INSTRUCTIONS.iter().any(|i| i.eq_ignore_ascii_case(name))
}

fn at_least_one(cmd: &str) -> String {
    format!("{cmd} requires at least one argument")
}

fn exactly_one(cmd: &str) -> String {
    format!("{cmd} requires exactly one argument")
}

/// Checks `--flags` against the ones an instruction accepts (all take a
/// value); returns `(name, value)` pairs.
fn parse_flags(flags: &[String], allowed: &[&str]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for f in flags {
        if f == "--" {
            break;
        }
        let Some(body) = f.strip_prefix("--") else {
            return Err(format!("arg should start with -- : {f}"));
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        if !allowed.contains(&name) {
            return Err(format!("unknown flag: --{name}"));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("duplicate flag specified: --{name}"));
        }
        let Some(value) = value else {
            return Err(format!("missing a value on flag: --{name}"));
        };
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

fn no_flags(node: &Node) -> Result<(), String> {
    parse_flags(&node.flags, &[]).map(|_| ())
}

fn kvps(node: &Node, cmd: &str) -> Result<Vec<KeyValue>, String> {
    no_flags(node)?;
    if node.args.is_empty() {
        return Err(at_least_one(cmd));
    }
    if !node.args.len().is_multiple_of(3) {
        return Err(format!("Bad input to {cmd}, too many arguments"));
    }
    node.args
        .chunks(3)
        .map(|c| {
            if c[0].is_empty() {
                Err(format!("{cmd} names can not be blank"))
            } else {
                Ok(KeyValue {
                    key: c[0].clone(),
                    value: c[1].clone(),
                })
            }
        })
        .collect()
}

fn command_line(node: &Node) -> CommandLine {
    let args = if node.json || node.args.is_empty() {
        node.args.clone()
    } else {
        vec![node.args.join(" ")]
    };
    CommandLine {
        args,
        prepend_shell: !node.json,
    }
}

/// Builds the typed instruction of a node. Errors are Docker's messages
/// without the line prefix.
pub fn parse_instruction(node: &Node) -> Result<Instruction, String> {
    let name = node.name();
    let args = &node.args;
    Ok(match name.as_str() {
        "env" => Instruction::Env(kvps(node, "ENV")?),
        "label" => Instruction::Label(kvps(node, "LABEL")?),
        "cmd" => {
            no_flags(node)?;
            Instruction::Cmd(command_line(node))
        }
        "entrypoint" => {
            no_flags(node)?;
            let cl = command_line(node);
            Instruction::Entrypoint(if cl.args.is_empty() { None } else { Some(cl) })
        }
        "run" => Instruction::Run {
            cmd: command_line(node),
            flags: node.flags.clone(),
        },
        "shell" => {
            no_flags(node)?;
            if args.is_empty() {
                return Err(at_least_one("SHELL"));
            }
            if !node.json {
                return Err("SHELL requires the arguments to be in JSON form".into());
            }
            Instruction::Shell(args.clone())
        }
        "expose" => {
            if args.is_empty() {
                return Err(at_least_one("EXPOSE"));
            }
            no_flags(node)?;
            let mut ports = args.clone();
            ports.sort();
            Instruction::Expose(ports)
        }
        "user" | "workdir" | "maintainer" | "stopsignal" => {
            let upper = name.to_ascii_uppercase();
            if args.len() != 1 {
                return Err(exactly_one(&upper));
            }
            if name != "stopsignal" {
                no_flags(node)?;
            }
            let v = args[0].clone();
            match name.as_str() {
                "user" => Instruction::User(v),
                "workdir" => Instruction::Workdir(v),
                "maintainer" => Instruction::Maintainer(v),
                _ => Instruction::StopSignal(v),
            }
        }
        "volume" => {
            if args.is_empty() {
                return Err(at_least_one("VOLUME"));
            }
            no_flags(node)?;
            let mut vols = Vec::with_capacity(args.len());
            for v in args {
                let v = v.trim();
                if v.is_empty() {
                    return Err("VOLUME specified can not be an empty string".into());
                }
                vols.push(v.to_string());
            }
            Instruction::Volume(vols)
        }
        "onbuild" => {
            if args.is_empty() {
                return Err(at_least_one("ONBUILD"));
            }
            no_flags(node)?;
            let trigger = args[0].trim().to_ascii_uppercase();
            match trigger.as_str() {
                "ONBUILD" => {
                    return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into());
                }
                "MAINTAINER" | "FROM" => {
                    return Err(format!("{trigger} isn't allowed as an ONBUILD trigger"));
                }
                _ => {}
            }
            Instruction::Onbuild(strip_onbuild(&node.original))
        }
        "healthcheck" => Instruction::Healthcheck(parse_healthcheck(node)?),
        "arg" => {
            if args.is_empty() {
                return Err(at_least_one("ARG"));
            }
            no_flags(node)?;
            let mut out = Vec::with_capacity(args.len());
            for a in args {
                match a.split_once('=') {
                    Some(("", _)) => return Err("ARG names can not be blank".into()),
                    Some((k, v)) => out.push((k.to_string(), Some(v.to_string()))),
                    None => out.push((a.clone(), None)),
                }
            }
            Instruction::Arg(out)
        }
        "from" => {
            parse_flags(&node.flags, &["platform"])?;
            let stage = match args.as_slice() {
                [_] => None,
                [_, as_kw, stage] if as_kw.eq_ignore_ascii_case("as") => {
                    Some(stage.to_ascii_lowercase())
                }
                [_, _, _] => return Err("FROM requires either one or three arguments".into()),
                _ => return Err("FROM requires either one or three arguments".into()),
            };
            Instruction::From {
                image: args[0].clone(),
                stage,
                flags: node.flags.clone(),
            }
        }
        "copy" | "add" => {
            let upper = name.to_ascii_uppercase();
            if args.len() < 2 {
                return Err(format!(
                    "{upper} requires at least two arguments, but only one was provided. Destination could not be determined"
                ));
            }
            let sources = args[..args.len() - 1].to_vec();
            let dest = args[args.len() - 1].clone();
            let flags = node.flags.clone();
            if name == "copy" {
                Instruction::Copy {
                    sources,
                    dest,
                    flags,
                }
            } else {
                Instruction::Add {
                    sources,
                    dest,
                    flags,
                }
            }
        }
        _ => return Err(format!("unknown instruction: {}", node.command)),
    })
}

/// The text after `ONBUILD` (case-insensitive, leading spaces removed).
fn strip_onbuild(original: &str) -> String {
    let t = original.trim_start();
    let rest = if t.len() >= 7 && t[..7].eq_ignore_ascii_case("onbuild") {
        &t[7..]
    } else {
        t
    };
    rest.trim_start().to_string()
}

fn parse_healthcheck(node: &Node) -> Result<HealthConfig, String> {
    let args = &node.args;
    if args.is_empty() {
        return Err(at_least_one("HEALTHCHECK"));
    }
    let typ = args[0].to_ascii_uppercase();
    let rest = &args[1..];
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        return Ok(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
    }
    let flags = parse_flags(
        &node.flags,
        &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
    )?;
    if typ != "CMD" {
        return Err(format!(
            "Unknown type {:?} in HEALTHCHECK (try CMD)",
            args[0].to_ascii_uppercase()
        ));
    }
    let cmd: Vec<String> = if node.json || rest.is_empty() {
        rest.to_vec()
    } else {
        vec![rest.join(" ")]
    };
    if cmd.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    let kind = if node.json { "CMD" } else { "CMD-SHELL" };
    let mut hc = HealthConfig {
        test: Some(std::iter::once(kind.to_string()).chain(cmd).collect()),
        ..Default::default()
    };
    for (name, value) in flags {
        match name.as_str() {
            "retries" => {
                let n: i64 = value
                    .parse::<i32>()
                    .map_err(|_| format!("strconv.ParseInt: parsing {value:?}: invalid syntax"))?
                    .into();
                if n < 0 {
                    return Err(format!("--retries cannot be negative ({n})"));
                }
                hc.retries = n;
            }
            _ => {
                let d = parse_interval(&name, &value)?;
                match name.as_str() {
                    "interval" => hc.interval = d,
                    "timeout" => hc.timeout = d,
                    "start-period" => hc.start_period = d,
                    _ => hc.start_interval = d,
                }
            }
        }
    }
    Ok(hc)
}

/// A duration flag: 0 when empty; at least 1ms otherwise.
fn parse_interval(name: &str, value: &str) -> Result<i64, String> {
    if value.is_empty() {
        return Ok(0);
    }
    let d = parse_go_duration(value)?;
    if d != 0 && d < 1_000_000 {
        return Err(format!("Interval {name:?} cannot be less than 1ms"));
    }
    Ok(d)
}

/// Go's `time.ParseDuration`, in nanoseconds: `1h30m`, `2.5s`, `300ms`.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            rest = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: u128 = match unit {
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {s:?}")),
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut v = int.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let digits = &frac_part[..frac_part.len().min(30)];
            let f: u128 = digits.parse().map_err(|_| invalid())?;
            v += f * scale / 10u128.pow(digits.len() as u32);
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        if total > i64::MAX as u128 {
            return Err(invalid());
        }
    }
    let t = total as i64;
    Ok(if neg { -t } else { t })
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::*;

    fn instr(line: &str) -> Result<Instruction, String> {
        let df = parse(line).map_err(|e| e.to_string())?;
        parse_instruction(&df.nodes[0])
    }

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("30s"), Ok(30_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_go_duration(".5ms"), Ok(500_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("-2us"), Ok(-2_000));
        for bad in ["", "s", "10", "1x", "1.s.", "--1s", "."] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn healthcheck() {
        let Instruction::Healthcheck(h) =
            instr("HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --start-interval=2s --retries=3 CMD curl -f http://localhost/").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            h.test,
            Some(vec!["CMD-SHELL".into(), "curl -f http://localhost/".into()])
        );
        assert_eq!(
            (
                h.interval,
                h.timeout,
                h.start_period,
                h.start_interval,
                h.retries
            ),
            (
                30_000_000_000,
                5_000_000_000,
                60_000_000_000,
                2_000_000_000,
                3
            )
        );
        let Instruction::Healthcheck(h) = instr(r#"healthcheck CMD ["/bin/check", "-q"]"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            h.test,
            Some(vec!["CMD".into(), "/bin/check".into(), "-q".into()])
        );
        let Instruction::Healthcheck(h) = instr("HEALTHCHECK NONE").unwrap() else {
            panic!()
        };
        assert_eq!(h.test, Some(vec!["NONE".into()]));
        for (bad, want) in [
            ("HEALTHCHECK NONE x", "takes no arguments"),
            ("HEALTHCHECK CMD", "Missing command"),
            ("HEALTHCHECK FOO x", "Unknown type"),
            (
                "HEALTHCHECK --interval=1ns CMD x",
                "cannot be less than 1ms",
            ),
            ("HEALTHCHECK --interval=abc CMD x", "invalid duration"),
            ("HEALTHCHECK --retries=-1 CMD x", "cannot be negative"),
            ("HEALTHCHECK --bogus=1 CMD x", "unknown flag: --bogus"),
            ("HEALTHCHECK --interval CMD x", "missing a value"),
        ] {
            let e = instr(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn argument_counts_and_names() {
        for (bad, want) in [
            ("USER", "USER requires exactly one argument"),
            ("WORKDIR", "WORKDIR requires exactly one argument"),
            ("EXPOSE", "EXPOSE requires at least one argument"),
            ("ENV", "ENV requires at least one argument"),
            ("VOLUME", "VOLUME requires at least one argument"),
            (
                "SHELL /bin/bash -c",
                "SHELL requires the arguments to be in JSON form",
            ),
            ("SHELL []", "SHELL requires at least one argument"),
            ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD"),
            ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
            ("CMD --x=1 echo", "unknown flag: --x"),
            ("FOO bar", "unknown instruction: FOO"),
            ("COPY a", "requires at least two arguments"),
        ] {
            let e = instr(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
        assert_eq!(
            instr("onbuild  RUN echo hi").unwrap(),
            Instruction::Onbuild("RUN echo hi".into())
        );
        assert_eq!(instr("ENTRYPOINT").unwrap(), Instruction::Entrypoint(None));
        assert_eq!(
            instr("FROM busybox AS Build").unwrap(),
            Instruction::From {
                image: "busybox".into(),
                stage: Some("build".into()),
                flags: vec![]
            }
        );
        assert_eq!(
            instr("ARG A B=2").unwrap(),
            Instruction::Arg(vec![("A".into(), None), ("B".into(), Some("2".into()))])
        );
        assert_eq!(
            instr("EXPOSE 443 80").unwrap(),
            Instruction::Expose(vec!["443".into(), "80".into()])
        );
    }
}
