//! The top-level command line: global options, then a command. The
//! commonest container commands are parsed with only their own part of
//! the command tree: building all of it costs about a millisecond, and
//! `berth run` is measured.

use std::ffi::OsString;

use clap::{ArgMatches, Args, FromArgMatches, Parser};

use crate::commands::Command;
use crate::commands::container::{create, exec, ps, run, start};
use crate::context::GlobalOptions;

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    about = "A self-sufficient runtime for containers",
    disable_version_flag = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,

    /// Print version information and quit
    #[arg(short = 'v', long = "version")]
    pub version: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the process's arguments.
    pub fn parse_args() -> Result<Cli, clap::Error> {
        let args: Vec<OsString> = std::env::args_os().collect();
        match fast_path(&args) {
            Some(result) => result,
            None => Cli::try_parse_from(args),
        }
    }
}

/// Global options that take a value.
const GLOBAL_WITH_VALUE: &[&str] = &[
    "-H",
    "--host",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
    "-l",
    "--log-level",
];

/// The command name after the global options, when every option before
/// it is one the fast path knows.
fn command_name(args: &[OsString]) -> Option<&str> {
    let mut i = 1;
    loop {
        let a = args.get(i)?.to_str()?;
        if GLOBAL_WITH_VALUE.contains(&a) {
            i += 2;
        } else if matches!(a, "--tls" | "--tlsverify" | "-D" | "--debug")
            || (a.starts_with("--") && a.contains('=') && !a.starts_with("--help"))
        {
            i += 1;
        } else if a.starts_with('-') {
            return None;
        } else {
            return Some(a);
        }
    }
}

type Build = fn(clap::Command) -> clap::Command;
type Make = fn(&ArgMatches) -> Result<Command, clap::Error>;

/// Parses with global options and one subcommand, for the commands listed.
fn fast_path(args: &[OsString]) -> Option<Result<Cli, clap::Error>> {
    let name = command_name(args)?;
    let (name, about, build, make, no_help): (&'static str, &'static str, Build, Make, bool) =
        match name {
            "run" => (
                "run",
                "Create and run a new container from an image",
                run::Args::augment_args,
                |m| Ok(Command::Run(run::Args::from_arg_matches(m)?)),
                true,
            ),
            "create" => (
                "create",
                "Create a new container",
                create::Args::augment_args,
                |m| Ok(Command::Create(create::Args::from_arg_matches(m)?)),
                true,
            ),
            "exec" => (
                "exec",
                "Execute a command in a running container",
                exec::Args::augment_args,
                |m| Ok(Command::Exec(exec::Args::from_arg_matches(m)?)),
                false,
            ),
            "start" => (
                "start",
                "Start one or more stopped containers",
                start::Args::augment_args,
                |m| Ok(Command::Start(start::Args::from_arg_matches(m)?)),
                false,
            ),
            "ps" => (
                "ps",
                "List containers",
                ps::Args::augment_args,
                |m| Ok(Command::Ps(ps::Args::from_arg_matches(m)?)),
                false,
            ),
            _ => return None,
        };
    let sub = build(clap::Command::new(name).about(about)).disable_help_flag(no_help);
    let root = GlobalOptions::augment_args(
        clap::Command::new("berth")
            .disable_version_flag(true)
            .max_term_width(100),
    )
    .subcommand(sub);
    let parse = || -> Result<Cli, clap::Error> {
        let m = root.try_get_matches_from(args)?;
        let global = GlobalOptions::from_arg_matches(&m)?;
        let (_, sub) = m
            .subcommand()
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::MissingSubcommand))?;
        Ok(Cli {
            global,
            version: false,
            command: Some(make(sub)?),
        })
    };
    Some(parse())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn fast_path_parses_like_the_full_tree() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let a = args(&[
            "berth",
            "-H",
            "unix:///x.sock",
            "-D",
            "run",
            "--rm",
            "-it",
            "busybox",
            "sh",
        ]);
        assert_eq!(command_name(&a), Some("run"));
        let cli = fast_path(&a).unwrap().unwrap();
        assert_eq!(cli.global.host.as_deref(), Some("unix:///x.sock"));
        assert!(cli.global.debug);
        match cli.command {
            Some(Command::Run(r)) => {
                assert!(r.flags.rm && r.flags.tty && r.flags.interactive);
                assert_eq!(r.args, ["busybox", "sh"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            fast_path(&args(&["berth", "run", "--bogus", "busybox"]))
                .unwrap()
                .is_ok()
        );
        assert!(
            fast_path(&args(&["berth", "ps", "--bogus"]))
                .unwrap()
                .is_err()
        );
        assert_eq!(command_name(&args(&["berth", "-v"])), None);
        assert_eq!(command_name(&args(&["berth", "images"])), Some("images"));
        assert!(fast_path(&args(&["berth", "images"])).is_none());
        let cli = fast_path(&args(&["berth", "--host=unix:///y", "ps", "-aq"]))
            .unwrap()
            .unwrap();
        assert!(matches!(cli.command, Some(Command::Ps(ref p)) if p.all && p.quiet));
    }

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).unwrap()
    }

    #[test]
    fn global_flags_before_the_command() {
        let cli = parse(&[
            "berth",
            "-H",
            "tcp://h:1",
            "--tlsverify",
            "-D",
            "images",
            "-a",
        ]);
        assert_eq!(cli.global.host.as_deref(), Some("tcp://h:1"));
        assert!(cli.global.tlsverify);
        assert!(cli.global.debug);
        assert!(matches!(cli.command, Some(Command::Images(ref a)) if a.all));
    }

    #[test]
    fn history_human_flag_is_not_host() {
        let cli = parse(&["berth", "history", "-H=false", "busybox"]);
        match cli.command {
            Some(Command::History(a)) => assert!(!a.human),
            other => panic!("{other:?}"),
        }
        let cli = parse(&["berth", "history", "busybox"]);
        match cli.command {
            Some(Command::History(a)) => assert!(a.human),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aliases_and_repeatable_flags() {
        for ls in ["ls", "list"] {
            assert!(matches!(
                parse(&["berth", "image", ls, "-q"]).command,
                Some(Command::Image(crate::commands::image::ImageCommand::Ls(_)))
            ));
        }
        for rm in ["rm", "rmi", "remove"] {
            assert!(matches!(
                parse(&["berth", "image", rm, "a", "b"]).command,
                Some(Command::Image(crate::commands::image::ImageCommand::Rm(ref a))) if a.images.len() == 2
            ));
        }
        match parse(&[
            "berth",
            "import",
            "-c",
            "CMD [\"sh\"]",
            "--change",
            "ENV A=b",
            "-",
            "x:y",
        ])
        .command
        {
            Some(Command::Import(a)) => {
                assert_eq!(a.change.len(), 2);
                assert_eq!(a.source, "-");
                assert_eq!(a.reference.as_deref(), Some("x:y"));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["berth", "rmi"]).is_err());
        assert!(Cli::try_parse_from(["berth", "images", "--bogus"]).is_err());
    }
}
