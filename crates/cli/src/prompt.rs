//! Yes/no confirmation, as docker asks before pruning.

use std::io::{self, BufRead};

use crate::term;

/// Prints `message [y/N] ` and reads one line; only `y` or `Y` confirms.
pub fn confirm(message: &str) -> io::Result<bool> {
    term::out(&format!("{message} [y/N] "))?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().eq_ignore_ascii_case("y"))
}
