//! The top-level command line: global options, then a command.

use clap::Parser;

use crate::commands::Command;
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
