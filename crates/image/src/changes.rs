//! The `changes` of `docker import --change` and `docker commit --change`: Dockerfile instructions applied to a container configuration.
//!
//! As in Docker, the changes are joined by newlines and parsed as a
//! Dockerfile; only CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL,
//! ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR and SHELL are allowed. Words
//! of ENV, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL and EXPOSE see the
//! variables of the configuration's `Env` as it is before the instruction.

use std::collections::BTreeMap;

use berth_api::types::Empty;
use berth_api::types::config::ContainerConfig;

use crate::dockerfile::{self, Env, Instruction, Lex};
use crate::{ImageError, Result};

/// Instructions a change may use.
pub const CHANGE_COMMANDS: &[&str] = &[
    "cmd",
    "entrypoint",
    "env",
    "expose",
    "healthcheck",
    "label",
    "onbuild",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// The shell of shell-form commands when the configuration sets none.
pub const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// Applies `changes` to a copy of `base`. An unknown, disallowed or
/// malformed instruction is an `InvalidParameter` error naming it.
pub fn apply_changes(base: &ContainerConfig, changes: &[String]) -> Result<ContainerConfig> {
    let mut config = base.clone();
    if changes.is_empty() {
        return Ok(config);
    }
    let df = dockerfile::parse(&changes.join("\n"))?;
    let lex = Lex::new(df.escape);
    // Parse everything first: nothing is applied when one change is bad.
    let mut parsed = Vec::with_capacity(df.nodes.len());
    for node in &df.nodes {
        let name = node.name();
        if !CHANGE_COMMANDS.contains(&name.as_str()) {
            if dockerfile::instructions::is_instruction(&name) {
                return Err(ImageError::InvalidParameter(format!(
                    "{} is not a valid change command",
                    node.command
                )));
            }
            return Err(dockerfile::DockerfileError::at(
                node.start_line,
                format!("unknown instruction: {}", node.command),
            )
            .into());
        }
        let instr = dockerfile::parse_instruction(node)
            .map_err(|m| dockerfile::DockerfileError::at(node.start_line, m))?;
        parsed.push((node.start_line, instr));
    }
    let mut state = Dispatch {
        config: &mut config,
        cmd_set: false,
    };
    for (line, instr) in parsed {
        state
            .apply(instr, &lex)
            .map_err(|m| dockerfile::DockerfileError::at(line, m))?;
    }
    Ok(config)
}

/// Applies instructions to a configuration as Docker's dispatchers do.
pub struct Dispatch<'a> {
    pub config: &'a mut ContainerConfig,
    /// True once a CMD with arguments was applied: a later ENTRYPOINT then
    /// keeps it (otherwise ENTRYPOINT clears CMD).
    pub cmd_set: bool,
}

impl Dispatch<'_> {
    /// The shell of shell-form commands.
    pub fn shell(&self) -> Vec<String> {
        match &self.config.shell {
            Some(s) if !s.is_empty() => s.clone(),
            _ => DEFAULT_SHELL.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Applies one configuration instruction (build-only instructions such
    /// as RUN or COPY are an error here). Variables are expanded first.
    pub fn apply(&mut self, mut instr: Instruction, lex: &Lex) -> Result<(), String> {
        let env = Env::from_list(self.config.env.as_deref().unwrap_or_default());
        instr.expand(lex, &env)?;
        let c = &mut *self.config;
        match instr {
            Instruction::Env(kvs) => {
                let list = c.env.get_or_insert_with(Vec::new);
                for kv in kvs {
                    let entry = format!("{}={}", kv.key, kv.value);
                    match list
                        .iter_mut()
                        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == kv.key)
                    {
                        Some(existing) => *existing = entry,
                        None => list.push(entry),
                    }
                }
            }
            Instruction::Label(kvs) => {
                let labels = c.labels.get_or_insert_with(BTreeMap::new);
                for kv in kvs {
                    labels.insert(kv.key, kv.value);
                }
            }
            Instruction::Cmd(cl) => {
                let shell = self.shell();
                let c = &mut *self.config;
                c.cmd = Some(cl.resolve(&shell));
                c.args_escaped = false;
                if !cl.args.is_empty() {
                    self.cmd_set = true;
                }
            }
            Instruction::Entrypoint(cl) => {
                let shell = self.shell();
                let c = &mut *self.config;
                c.entrypoint = cl.map(|cl| cl.resolve(&shell));
                c.args_escaped = false;
                if !self.cmd_set {
                    c.cmd = None;
                }
            }
            Instruction::Healthcheck(h) => c.healthcheck = Some(h),
            Instruction::Expose(specs) => {
                let mut ports = Vec::new();
                for spec in &specs {
                    ports.extend(lex.process_words(spec, &env)?);
                }
                let set = c.exposed_ports.get_or_insert_with(BTreeMap::new);
                for p in &ports {
                    for port in parse_port_spec(p)? {
                        set.insert(port, Empty {});
                    }
                }
            }
            Instruction::User(u) => c.user = u,
            Instruction::Volume(vols) => {
                let set = c.volumes.get_or_insert_with(BTreeMap::new);
                for v in vols {
                    if v.is_empty() {
                        return Err("VOLUME specified can not be an empty string".into());
                    }
                    set.insert(v, Empty {});
                }
            }
            Instruction::StopSignal(s) => {
                parse_signal(&s)?;
                c.stop_signal = s;
            }
            Instruction::Onbuild(expr) => c.on_build.get_or_insert_with(Vec::new).push(expr),
            Instruction::Workdir(p) => c.working_dir = normalize_workdir(&c.working_dir, &p)?,
            Instruction::Shell(s) => c.shell = Some(s),
            other => {
                return Err(format!(
                    "{} cannot be applied to a configuration",
                    other.name()
                ));
            }
        }
        Ok(())
    }
}

/// WORKDIR semantics: a relative path is joined to the current one; the
/// result is cleaned.
pub fn normalize_workdir(current: &str, requested: &str) -> Result<String, String> {
    if requested.is_empty() {
        return Err("cannot normalize nothing".into());
    }
    if requested.starts_with('/') {
        Ok(clean_path(requested))
    } else {
        Ok(clean_path(&format!("/{current}/{requested}")))
    }
}

/// Go's `path.Clean` for absolute paths.
fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Expands one EXPOSE port specification (`80`, `80/udp`, `8000-8002`,
/// `127.0.0.1:80:80/tcp`) to `port/proto` keys.
pub fn parse_port_spec(raw: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let (host_port, container) = match parts.len() {
        1 => ("", parts[0]),
        n => (parts[n - 2], parts[n - 1]),
    };
    let (port, proto) = match container.split_once('/') {
        Some((p, proto)) => (p, proto),
        None => (container, ""),
    };
    if port.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let proto = if proto.is_empty() {
        "tcp".to_string()
    } else {
        proto.to_ascii_lowercase()
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let (start, end) =
        parse_port_range(port).ok_or_else(|| format!("invalid containerPort: {port}"))?;
    if !host_port.is_empty() {
        let (hs, he) =
            parse_port_range(host_port).ok_or_else(|| format!("invalid hostPort: {host_port}"))?;
        if end - start != he - hs && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {port} and {host_port}"
            ));
        }
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

fn parse_port_range(s: &str) -> Option<(u32, u32)> {
    let parse = |p: &str| -> Option<u32> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse::<u16>().ok().map(u32::from)
    };
    let (start, end) = match s.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(s)?;
            (p, p)
        }
    };
    (start <= end).then_some((start, end))
}

const SIGNALS: &[(&str, i32)] = &[
    ("ABRT", 6),
    ("ALRM", 14),
    ("BUS", 7),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("FPE", 8),
    ("HUP", 1),
    ("ILL", 4),
    ("INT", 2),
    ("IO", 29),
    ("IOT", 6),
    ("KILL", 9),
    ("PIPE", 13),
    ("POLL", 29),
    ("PROF", 27),
    ("PWR", 30),
    ("QUIT", 3),
    ("SEGV", 11),
    ("STKFLT", 16),
    ("STOP", 19),
    ("SYS", 31),
    ("TERM", 15),
    ("TRAP", 5),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("USR1", 10),
    ("USR2", 12),
    ("VTALRM", 26),
    ("WINCH", 28),
    ("XCPU", 24),
    ("XFSZ", 25),
];

/// Parses a signal as Docker does: a number (1–64) or a name with or
/// without `SIG`, any case, including `RTMIN+n` / `RTMAX-n`.
pub fn parse_signal(raw: &str) -> Result<i32, String> {
    let invalid = || format!("Invalid signal: {raw}");
    if let Ok(n) = raw.parse::<i64>() {
        return if (1..=64).contains(&n) {
            Ok(n as i32)
        } else {
            Err(invalid())
        };
    }
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = SIGNALS.iter().find(|(s, _)| *s == name) {
        return Ok(n);
    }
    const RTMIN: i32 = 34;
    const RTMAX: i32 = 64;
    let rt = |rest: &str, base: i32, sign: i32| -> Option<i32> {
        if rest.is_empty() {
            return Some(base);
        }
        let n: i32 = rest.parse().ok()?;
        (1..=15).contains(&n).then_some(base + sign * n)
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let rest = rest
            .strip_prefix('+')
            .unwrap_or(if rest.is_empty() { "" } else { "x" });
        return rt(rest, RTMIN, 1).ok_or_else(invalid);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let rest = rest
            .strip_prefix('-')
            .unwrap_or(if rest.is_empty() { "" } else { "x" });
        return rt(rest, RTMAX, -1).ok_or_else(invalid);
    }
    Err(invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(changes: &[&str]) -> Result<ContainerConfig> {
        let changes: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        apply_changes(&ContainerConfig::default(), &changes)
    }

    fn strs(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn cmd_and_entrypoint_forms() {
        let c = apply(&["CMD echo hi"]).unwrap();
        assert_eq!(c.cmd, strs(&["/bin/sh", "-c", "echo hi"]));
        let c = apply(&[r#"CMD ["echo", "hi"]"#]).unwrap();
        assert_eq!(c.cmd, strs(&["echo", "hi"]));
        let c = apply(&[r#"ENTRYPOINT ["/init"]"#, "CMD -h"]).unwrap();
        assert_eq!(c.entrypoint, strs(&["/init"]));
        assert_eq!(c.cmd, strs(&["/bin/sh", "-c", "-h"]));
        // As in Docker, a leading `--word` is a flag.
        assert!(
            apply(&["CMD --help"])
                .unwrap_err()
                .to_string()
                .contains("unknown flag: --help")
        );
        // ENTRYPOINT after CMD keeps it; ENTRYPOINT alone clears the base's.
        let c = apply(&[r#"CMD ["a"]"#, "ENTRYPOINT run me"]).unwrap();
        assert_eq!(c.cmd, strs(&["a"]));
        assert_eq!(c.entrypoint, strs(&["/bin/sh", "-c", "run me"]));
        let base = ContainerConfig {
            cmd: strs(&["sh"]),
            ..Default::default()
        };
        let c = apply_changes(&base, &[r#"ENTRYPOINT ["x"]"#.to_string()]).unwrap();
        assert_eq!(c.cmd, None);
        let c = apply(&[r#"SHELL ["/bin/bash", "-ec"]"#, "CMD ls"]).unwrap();
        assert_eq!(c.cmd, strs(&["/bin/bash", "-ec", "ls"]));
        assert_eq!(c.shell, strs(&["/bin/bash", "-ec"]));
    }

    #[test]
    fn env_label_quoting_and_expansion() {
        let c = apply(&[
            r#"ENV A=1 B="two words" C=x\ y D='$A'"#,
            "ENV PATH /usr/local/bin:/usr/bin",
            "ENV E=$A-${B} A=3",
            r#"LABEL "com.example.vendor"="ACME" version=1.0 desc="a \"quoted\" thing""#,
        ])
        .unwrap();
        assert_eq!(
            c.env,
            strs(&[
                "A=3",
                "B=two words",
                "C=x y",
                "D=$A",
                "PATH=/usr/local/bin:/usr/bin",
                "E=1-two words"
            ])
        );
        let labels = c.labels.unwrap();
        assert_eq!(labels["com.example.vendor"], "ACME");
        assert_eq!(labels["version"], "1.0");
        assert_eq!(labels["desc"], "a \"quoted\" thing");
    }

    #[test]
    fn ports_volumes_user_workdir_signal_onbuild() {
        let c = apply(&[
            "EXPOSE 80 443/udp 8000-8002",
            "ENV P=9000",
            "EXPOSE $P",
            r#"VOLUME ["/data", "/var/log"]"#,
            "VOLUME /cache",
            "USER nobody:nogroup",
            "WORKDIR /app",
            "WORKDIR sub/../src",
            "STOPSIGNAL SIGQUIT",
            "ONBUILD RUN make",
        ])
        .unwrap();
        let ports: Vec<&String> = c.exposed_ports.as_ref().unwrap().keys().collect();
        assert_eq!(
            ports,
            [
                "443/udp", "80/tcp", "8000/tcp", "8001/tcp", "8002/tcp", "9000/tcp"
            ]
        );
        let vols: Vec<&String> = c.volumes.as_ref().unwrap().keys().collect();
        assert_eq!(vols, ["/cache", "/data", "/var/log"]);
        assert_eq!(c.user, "nobody:nogroup");
        assert_eq!(c.working_dir, "/app/src");
        assert_eq!(c.stop_signal, "SIGQUIT");
        assert_eq!(c.on_build, strs(&["RUN make"]));
    }

    #[test]
    fn healthcheck() {
        let c = apply(&["HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost"]).unwrap();
        let h = c.healthcheck.unwrap();
        assert_eq!(h.test, strs(&["CMD-SHELL", "wget -q localhost"]));
        assert_eq!((h.interval, h.retries), (5_000_000_000, 2));
        let c = apply(&["HEALTHCHECK NONE"]).unwrap();
        assert_eq!(c.healthcheck.unwrap().test, strs(&["NONE"]));
    }

    #[test]
    fn errors_name_the_instruction() {
        let cases = [
            (
                "FOO bar",
                "dockerfile parse error on line 1: unknown instruction: FOO",
            ),
            ("RUN echo", "RUN is not a valid change command"),
            ("from busybox", "from is not a valid change command"),
            ("ENV", "ENV requires at least one argument"),
            ("USER", "USER requires exactly one argument"),
            ("EXPOSE 80/xyz", "invalid proto: xyz"),
            ("EXPOSE abc", "invalid containerPort: abc"),
            ("STOPSIGNAL SIGFOO", "Invalid signal: SIGFOO"),
            ("ENV A=${B", "syntax error: missing '}'"),
            ("HEALTHCHECK --interval=x CMD y", "invalid duration"),
        ];
        for (change, want) in cases {
            let e = apply(&[change]).unwrap_err();
            assert!(
                matches!(e, ImageError::InvalidParameter(_)),
                "{change}: {e:?}"
            );
            assert!(e.to_string().contains(want), "{change}: {e}");
        }
        let e = apply(&["USER a", "BOGUS"]).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn signals_and_workdirs() {
        assert_eq!(parse_signal("9"), Ok(9));
        assert_eq!(parse_signal("term"), Ok(15));
        assert_eq!(parse_signal("SIGRTMIN+3"), Ok(37));
        assert_eq!(parse_signal("RTMAX-1"), Ok(63));
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("RTMIN3").is_err());
        assert_eq!(normalize_workdir("", "a/b").unwrap(), "/a/b");
        assert_eq!(normalize_workdir("/x", "../../y/.").unwrap(), "/y");
        assert_eq!(normalize_workdir("/x", "/z//w/").unwrap(), "/z/w");
        assert!(normalize_workdir("/x", "").is_err());
    }

    #[test]
    fn no_changes_is_identity() {
        let base = ContainerConfig {
            user: "u".into(),
            ..Default::default()
        };
        assert_eq!(apply_changes(&base, &[]).unwrap(), base);
    }
}
