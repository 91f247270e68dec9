//! `berth`: the command-line client of the Berth engine, with the
//! commands, flags and output of the docker CLI.

mod cli;
mod commands;
mod context;
mod error;
mod format;
mod goparse;
mod progress;
mod prompt;
mod session;
mod term;

use std::io::Write;

use clap::CommandFactory;

use crate::error::USAGE_EXIT;

fn main() {
    term::default_sigpipe();
    let code = run();
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn run() -> i32 {
    let cli = match cli::Cli::parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => USAGE_EXIT,
            };
            let _ = e.print();
            return code;
        }
    };
    if cli.version {
        println!(
            "Berth version {}, build {}",
            env!("CARGO_PKG_VERSION"),
            env!("BERTH_GIT_COMMIT")
        );
        return 0;
    }
    let Some(command) = cli.command else {
        let _ = cli::Cli::command().print_help();
        return 0;
    };
    let ctx = match cli.global.context() {
        Ok(ctx) => ctx,
        Err(e) => {
            for line in e.render(cli.global.debug) {
                term::err_line(&line);
            }
            return e.exit_code();
        }
    };
    // One thread: a command is a handful of requests, and start-up time
    // counts (`berth run` is benchmarked).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            term::err_line(&format!("berth: cannot start the runtime: {e}"));
            return 1;
        }
    };
    let result = runtime.block_on(command.run(&ctx));
    // Do not wait for a blocking read of stdin that may still be pending.
    runtime.shutdown_background();
    match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = std::io::stdout().flush();
            for line in e.render(ctx.debug) {
                term::err_line(&line);
            }
            e.exit_code()
        }
    }
}
