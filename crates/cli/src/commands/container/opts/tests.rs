//! The request bodies built from flags, compared with what the docker CLI
//! sends for the same flags (captured from `docker create` against a
//! recording fake daemon: `tests/fixtures/docker_create.json`).

use clap::Parser;
use serde_json::Value;

use super::*;
use crate::commands::container::create;

#[derive(Parser, Debug)]
#[command(disable_help_flag = true)]
struct CreateCli {
    #[command(flatten)]
    args: create::Args,
}

fn parse_args(args: &[&str]) -> create::Args {
    let argv = std::iter::once("create").chain(args.iter().copied());
    match CreateCli::try_parse_from(argv) {
        Ok(c) => c.args,
        Err(e) => panic!("{args:?}: {e}"),
    }
}

fn build(args: &[&str]) -> OptsResult<CreateConfig> {
    let a = parse_args(args);
    parse(&a.flags, &a.args[0], &a.args[1..], Some("/home/u"))
}

/// Docker's query for the same flags.
fn query(a: &create::Args) -> String {
    let mut q = berth_client::Query::new()
        .opt("name", a.create.name.as_deref())
        .opt("platform", a.create.platform.as_deref());
    if q.pairs().is_empty() {
        q = berth_client::Query::new();
    }
    q.encode()
}

fn print_differences(path: &str, ours: &Value, theirs: &Value) {
    match (ours.as_object(), theirs.as_object()) {
        (Some(o), Some(t)) => {
            for key in o.keys().chain(t.keys().filter(|k| !o.contains_key(*k))) {
                let (a, b) = (o.get(key), t.get(key));
                if a != b {
                    match (a, b) {
                        (Some(a), Some(b)) => print_differences(&format!("{path}/{key}"), a, b),
                        _ => eprintln!("{path}/{key}:\n  berth:  {a:?}\n  docker: {b:?}"),
                    }
                }
            }
        }
        _ => eprintln!("{path}:\n  berth:  {ours}\n  docker: {theirs}"),
    }
}

#[test]
fn bodies_match_the_docker_cli() {
    let fixtures: Value = serde_json::from_str(include_str!(
        "../../../../tests/fixtures/docker_create.json"
    ))
    .unwrap();
    let cases = fixtures.as_array().unwrap();
    assert!(cases.len() >= 12);
    for case in cases {
        let args: Vec<&str> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let a = parse_args(&args);
        let cfg = parse(&a.flags, &a.args[0], &a.args[1..], None)
            .unwrap_or_else(|e| panic!("{args:?}: {e:?}"));
        let ours = cfg.to_json(berth_api::version::API_VERSION);
        let theirs = &case["body"];
        if &ours != theirs {
            print_differences("", &ours, theirs);
            panic!("body differs for {args:?}");
        }
        assert_eq!(query(&a), case["query"].as_str().unwrap(), "{args:?}");
    }
}

#[test]
fn interactive_tty_and_trailing_command() {
    let a = parse_args(&["-it", "--rm", "busybox", "sh", "-c", "ls -l", "--rm"]);
    assert!(a.flags.interactive && a.flags.tty && a.flags.rm);
    assert_eq!(a.args, ["busybox", "sh", "-c", "ls -l", "--rm"]);
    let a = parse_args(&["--rm=false", "-i=false", "busybox"]);
    assert!(!a.flags.rm && !a.flags.interactive);
    let cfg = build(&["-i", "busybox", "cat"]).unwrap();
    let c = cfg.config();
    assert!(c.open_stdin && c.attach_stdin && c.stdin_once);
    let a = parse_args(&["-h", "myhost", "busybox"]);
    assert_eq!(a.flags.hostname.as_deref(), Some("myhost"));
}

#[test]
fn flag_errors_name_the_flag() {
    let err = |args: &[&str]| build(args).unwrap_err();
    assert_eq!(
        err(&["-m", "20q", "busybox"]),
        OptsError::Flag {
            flag: "-m, --memory",
            value: "20q".into(),
            message: "invalid size: '20q'".into()
        }
    );
    assert!(matches!(
        err(&["--cpus", "abc", "busybox"]),
        OptsError::Flag { flag: "--cpus", .. }
    ));
    assert!(matches!(
        err(&["--ulimit", "foo=1", "busybox"]),
        OptsError::Flag {
            flag: "--ulimit",
            ..
        }
    ));
    assert!(matches!(
        err(&["--health-interval", "5x", "busybox"]),
        OptsError::Flag { flag: "--health-interval", ref message, .. }
            if message == "time: unknown unit \"x\" in duration \"5x\""
    ));
    assert!(matches!(
        err(&["-a", "stdbogus", "busybox"]),
        OptsError::Flag {
            flag: "-a, --attach",
            ..
        }
    ));
    assert_eq!(
        err(&["--rm", "--restart", "always", "busybox"]),
        OptsError::Invalid("conflicting options: cannot specify both --restart and --rm".into())
    );
    assert_eq!(
        err(&["-p", "80:abc", "busybox"]),
        OptsError::Invalid("invalid containerPort: abc".into())
    );
    assert_eq!(
        err(&["--restart", "on-failure:x", "busybox"]),
        OptsError::Invalid(
            "invalid restart policy format: maximum retry count must be an integer".into()
        )
    );
    assert_eq!(
        err(&["--env-file", "/nonexistent", "busybox"]),
        OptsError::Invalid("open /nonexistent: no such file or directory".into())
    );
    assert_eq!(
        err(&["--memory-swappiness", "101", "busybox"]),
        OptsError::Invalid("invalid value: 101. Valid memory swappiness range is 0-100".into())
    );
    assert_eq!(
        err(&["--no-healthcheck", "--health-cmd", "x", "busybox"]),
        OptsError::Invalid("--no-healthcheck conflicts with --health-* options".into())
    );
    assert_eq!(
        err(&["--pid", "bogus", "busybox"]),
        OptsError::Invalid("--pid: invalid PID mode".into())
    );
    assert!(matches!(
        err(&["-v", "/a:b", "busybox"]),
        OptsError::Invalid(ref m) if m.contains("must be absolute")
    ));
}

#[test]
fn relative_binds_and_mounts_use_the_working_directory() {
    let cfg = build(&[
        "-v",
        "./data:/data",
        "--mount",
        "type=bind,src=./m,dst=/m",
        "busybox",
    ])
    .unwrap();
    assert_eq!(
        cfg.host_config().binds.as_deref(),
        Some(&["/home/u/data:/data".to_string()][..])
    );
    assert_eq!(cfg.mounts[0]["Source"], "/home/u/m");
}

#[test]
fn options_end_at_the_image() {
    let a = parse_args(&["--name", "x", "busybox", "-c", "--memory", "1"]);
    assert_eq!(a.args, ["busybox", "-c", "--memory", "1"]);
    assert!(a.flags.cpu_shares.is_none() && a.flags.memory.is_none());
    let err = create::split_image("run", "U", &["--bogus".into()]).unwrap_err();
    assert_eq!(err.exit_code(), 125);
    assert!(err.render(false)[0].starts_with("unknown flag: --bogus\n"));
    let err = create::split_image("run", "U", &["-x".into()]).unwrap_err();
    assert!(err.render(false)[0].starts_with("unknown shorthand flag: 'x' in -x"));
}

#[test]
fn entrypoint_reset_and_stop_timeout() {
    let cfg = build(&["--entrypoint=", "--stop-timeout", "0", "busybox"]).unwrap();
    assert_eq!(cfg.config().entrypoint, Some(vec![String::new()]));
    assert_eq!(cfg.config().stop_timeout, Some(0));
    let cfg = build(&["busybox"]).unwrap();
    assert_eq!(cfg.config().entrypoint, None);
    assert_eq!(cfg.config().stop_timeout, None);
    assert_eq!(cfg.host_config().init, None);
    let cfg = build(&["--init=false", "busybox"]).unwrap();
    assert_eq!(cfg.host_config().init, Some(false));
}
