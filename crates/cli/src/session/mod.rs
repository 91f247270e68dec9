//! Interactive sessions with a container or exec process: raw terminal,
//! detach keys, stdin/stdout/stderr over the upgraded connection, TTY
//! resizing and signal forwarding.

pub mod escape;
pub mod rawterm;
pub mod resize;
pub mod signals;
pub mod stream;

pub use stream::{StreamConfig, StreamEnd, stream};

/// Docker's `CheckTty`: a TTY with stdin attached needs a terminal.
pub fn check_tty(attach_stdin: bool, tty: bool) -> Result<(), crate::error::CliError> {
    if tty && attach_stdin && !crate::term::stdin_is_terminal() {
        return Err(crate::error::CliError::Plain(
            "the input device is not a TTY".into(),
        ));
    }
    Ok(())
}
