//! The terminal and standard streams: terminal checks, width, writing to
//! stdout, and the default SIGPIPE behaviour of a Unix tool.

use std::io::{self, IsTerminal, Write};

pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

pub fn stdin_is_terminal() -> bool {
    io::stdin().is_terminal()
}

/// Columns of the terminal on stdout, if it is one (0 when it does not
/// say, as under `script`).
pub fn width() -> Option<u16> {
    // SAFETY: TIOCGWINSZ fills a plain winsize struct we own.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 {
            Some(ws.ws_col)
        } else {
            None
        }
    }
}

/// `berth images | head -1` ends quietly instead of failing with EPIPE.
pub fn default_sigpipe() {
    // SAFETY: restoring the default disposition of one signal at start-up,
    // before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Writes text to stdout.
pub fn out(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Writes bytes to stdout (archives from `save`).
pub fn out_bytes(data: &[u8]) -> io::Result<()> {
    io::stdout().lock().write_all(data)
}

pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Writes text to stderr.
pub fn err(text: &str) -> io::Result<()> {
    let mut stderr = io::stderr().lock();
    stderr.write_all(text.as_bytes())?;
    stderr.flush()
}

/// Discards text (`-q`).
pub fn discard(_: &str) -> io::Result<()> {
    Ok(())
}

/// Writes a line to stderr; nothing useful can be done if that fails.
pub fn err_line(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}
