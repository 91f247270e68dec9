//! What the container commands share: docker's usage and status errors,
//! and running one operation on several containers concurrently with the
//! results reported in order.

use std::future::Future;

use crate::error::{CliError, USAGE_EXIT};
use crate::term;

use super::opts::OptsError;

/// A flag or option error, worded and numbered as docker does (125).
pub fn usage_error(cmd: &str, usage: &str, err: OptsError) -> CliError {
    let text = match err {
        OptsError::Flag {
            flag,
            value,
            message,
        } => format!(
            "invalid argument {value:?} for {flag:?} flag: {message}\n\nUsage:  berth {cmd} {usage}\n\nRun 'berth {cmd} --help' for more information"
        ),
        OptsError::Invalid(message) => with_help(cmd, &message),
    };
    CliError::Plain(text).with_status(USAGE_EXIT)
}

/// `--filter` values, with docker's flag error for a bad one.
pub fn filters(
    cmd: &str,
    usage: &str,
    flag: &'static str,
    values: &[String],
) -> Result<berth_api::filters::Filters, CliError> {
    let mut filters = berth_api::filters::Filters::default();
    for v in values {
        let Some((key, value)) = v.split_once('=') else {
            return Err(usage_error(
                cmd,
                usage,
                OptsError::Flag {
                    flag,
                    value: v.clone(),
                    message: "bad format of filter (expected name=value)".into(),
                },
            ));
        };
        filters.add(&key.trim().to_lowercase(), value.trim());
    }
    Ok(filters)
}

/// `berth: <message>\n\nRun 'berth <cmd> --help' for more information`.
pub fn with_help(cmd: &str, message: &str) -> String {
    format!("berth: {message}\n\nRun 'berth {cmd} --help' for more information")
}

/// Docker's `toStatusError` for `run`: 127 when the command was not
/// found, 126 when it could not be executed, 125 for other daemon
/// errors.
pub fn status_error(cmd: &str, err: CliError) -> CliError {
    if let CliError::Status(..) | CliError::Exit(_) = err {
        return err;
    }
    let message = err.render(false).join("\n");
    let message = message
        .strip_prefix("berth: ")
        .unwrap_or(&message)
        .to_string();
    let code = if message.contains("executable file not found")
        || message.contains("no such file or directory")
        || message.contains("system cannot find the file specified")
    {
        127
    } else if message.contains("permission denied") || message.contains("is a directory") {
        126
    } else {
        125
    };
    CliError::Plain(with_help(cmd, &message)).with_status(code)
}

/// Runs `op` on every container at once (docker runs up to 50 in
/// parallel) and returns the results in the order given.
pub async fn parallel<'a, F, Fut>(items: &'a [String], op: F) -> Vec<Result<(), CliError>>
where
    F: Fn(&'a str) -> Fut,
    Fut: Future<Output = Result<(), CliError>> + 'a,
{
    futures_util::future::join_all(items.iter().map(|i| op(i.as_str()))).await
}

/// Prints each name that succeeded on stdout and fails with every error
/// (docker's `errors.Join`).
pub fn report(names: &[String], results: Vec<Result<(), CliError>>) -> Result<(), CliError> {
    let mut errors = Vec::new();
    let mut out = String::new();
    for (name, r) in names.iter().zip(results) {
        match r {
            Ok(()) => {
                out.push_str(name);
                out.push('\n');
            }
            Err(e) => errors.push(e),
        }
    }
    term::out(&out)?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Many(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_client::StatusCode;

    fn daemon(msg: &str) -> CliError {
        CliError::Client(berth_client::Error::Api {
            status: StatusCode::BAD_REQUEST,
            message: msg.into(),
        })
    }

    #[test]
    fn run_status_codes() {
        let e = status_error(
            "run",
            daemon("exec: \"nope\": executable file not found in $PATH"),
        );
        assert_eq!(e.exit_code(), 127);
        assert_eq!(
            e.render(false),
            vec![
                "berth: Error response from daemon: exec: \"nope\": executable file not found in $PATH\n\nRun 'berth run --help' for more information"
            ]
        );
        assert_eq!(
            status_error("run", daemon("open /x: permission denied")).exit_code(),
            126
        );
        assert_eq!(
            status_error("run", daemon("No such image: x")).exit_code(),
            125
        );
        assert_eq!(status_error("run", CliError::Exit(3)).exit_code(), 3);
    }

    #[test]
    fn usage_errors() {
        let e = usage_error(
            "run",
            "[OPTIONS] IMAGE [COMMAND] [ARG...]",
            OptsError::Flag {
                flag: "-m, --memory",
                value: "20q".into(),
                message: "invalid size: '20q'".into(),
            },
        );
        assert_eq!(e.exit_code(), 125);
        assert_eq!(
            e.render(false)[0],
            "invalid argument \"20q\" for \"-m, --memory\" flag: invalid size: '20q'\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information"
        );
        let e = usage_error(
            "create",
            "x",
            OptsError::Invalid("conflicting options".into()),
        );
        assert_eq!(
            e.render(false)[0],
            "berth: conflicting options\n\nRun 'berth create --help' for more information"
        );
    }
}
