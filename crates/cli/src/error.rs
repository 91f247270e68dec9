//! Command errors, how they are printed and the exit status they give:
//! daemon errors as `Error response from daemon: …`, others as
//! `berth: …`.

use std::io;

/// Exit status for usage errors (bad flags), as docker uses.
pub const USAGE_EXIT: i32 = 125;
/// Exit status for a template that does not parse (docker's inspect).
pub const TEMPLATE_EXIT: i32 = 64;

#[derive(Debug)]
pub enum CliError {
    /// An error from the client: daemon errors keep their "Error response
    /// from daemon" wording, the rest get the `berth:` prefix.
    Client(berth_client::Error),
    /// A message printed as `berth: <message>`.
    Msg(String),
    /// A message printed as is.
    Plain(String),
    /// Several errors, one per line (rmi, inspect of several objects).
    Many(Vec<CliError>),
    /// A message and a specific exit status.
    Status(Box<CliError>, i32),
    /// Nothing to print (already reported, or a declined prompt).
    Exit(i32),
}

pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    pub fn msg(text: impl Into<String>) -> Self {
        CliError::Msg(text.into())
    }

    pub fn with_status(self, code: i32) -> Self {
        CliError::Status(Box::new(self), code)
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Status(_, code) | CliError::Exit(code) => *code,
            _ => 1,
        }
    }

    /// The lines for stderr; with `debug`, client errors show their causes.
    pub fn render(&self, debug: bool) -> Vec<String> {
        match self {
            CliError::Client(e) if e.is_daemon_error() => vec![e.to_string()],
            CliError::Client(e) => {
                let mut line = format!("berth: {e}");
                if debug {
                    let mut source = std::error::Error::source(e);
                    while let Some(s) = source {
                        line.push_str(&format!(": {s}"));
                        source = s.source();
                    }
                }
                vec![line]
            }
            CliError::Msg(m) => vec![format!("berth: {m}")],
            CliError::Plain(m) => vec![m.clone()],
            CliError::Many(list) => list.iter().flat_map(|e| e.render(debug)).collect(),
            CliError::Status(inner, _) => inner.render(debug),
            CliError::Exit(_) => Vec::new(),
        }
    }
}

impl From<berth_client::Error> for CliError {
    fn from(e: berth_client::Error) -> Self {
        CliError::Client(e)
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Msg(os_error_text(&e))
    }
}

/// An OS error as Go words it: `no such file or directory`.
pub fn os_error_text(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `open <path>: no such file or directory`.
pub fn path_error(op: &str, path: &std::path::Path, e: &io::Error) -> CliError {
    CliError::Msg(format!("{op} {}: {}", path.display(), os_error_text(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_client::Error;

    #[test]
    fn daemon_errors_keep_their_wording() {
        let e = CliError::from(Error::Api {
            status: berth_client::StatusCode::NOT_FOUND,
            message: "No such image: x:latest".into(),
        });
        assert_eq!(
            e.render(false),
            vec!["Error response from daemon: No such image: x:latest"]
        );
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn other_errors_get_the_prefix() {
        let e = CliError::from(Error::Connect {
            host: "unix:///run/berth.sock".into(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        });
        assert_eq!(
            e.render(false),
            vec![
                "berth: Cannot connect to the Berth daemon at unix:///run/berth.sock. Is berthd running?"
            ]
        );
        assert!(e.render(true)[0].contains("refused"));
        assert_eq!(CliError::msg("x").render(false), vec!["berth: x"]);
        assert_eq!(
            CliError::Plain("Error: y".into()).render(false),
            vec!["Error: y"]
        );
        let many = CliError::Many(vec![CliError::msg("a"), CliError::Plain("b".into())]);
        assert_eq!(many.render(false), vec!["berth: a", "b"]);
        assert_eq!(CliError::msg("t").with_status(64).exit_code(), 64);
        assert!(CliError::Exit(0).render(false).is_empty());
    }

    #[test]
    fn os_errors_read_like_go() {
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(os_error_text(&e), "no such file or directory");
        let e = path_error("open", std::path::Path::new("x.tar"), &e);
        assert_eq!(
            e.render(false),
            vec!["berth: open x.tar: no such file or directory"]
        );
    }
}
