//! Raw mode for the terminal on stdin, as moby/term's `MakeRaw` sets it,
//! restored on every way out: the guard's drop, a panic (hook), and
//! signals (the session's signal task calls [`restore`]).

use std::io;
use std::os::fd::RawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The terminal settings before raw mode, while raw mode is on.
static SAVED: Mutex<Option<(RawFd, libc::termios)>> = Mutex::new(None);
static HOOK: AtomicBool = AtomicBool::new(false);

/// Raw mode while alive.
pub struct RawGuard(());

impl Drop for RawGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal on stdin in raw mode. `None` when stdin is not a
/// terminal (or `NORAW` is set, as docker allows).
pub fn enable() -> io::Result<Option<RawGuard>> {
    if std::env::var_os("NORAW").is_some() || !crate::term::stdin_is_terminal() {
        return Ok(None);
    }
    enable_on(libc::STDIN_FILENO).map(Some)
}

/// Puts the terminal `fd` in raw mode.
pub fn enable_on(fd: RawFd) -> io::Result<RawGuard> {
    install_panic_hook();
    // SAFETY: tcgetattr fills a termios we own.
    let mut state: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut state) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let raw = make_raw(state);
    {
        let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
        if saved.is_none() {
            *saved = Some((fd, state));
        }
    }
    // SAFETY: applying a termios derived from the current one.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
        let err = io::Error::last_os_error();
        restore();
        return Err(err);
    }
    Ok(RawGuard(()))
}

/// moby/term's `MakeRaw`: no echo, no canonical mode, no signals from
/// keys, no output processing, 8-bit characters, reads of one byte.
pub fn make_raw(mut t: libc::termios) -> libc::termios {
    t.c_iflag &= !(libc::IGNBRK
        | libc::BRKINT
        | libc::PARMRK
        | libc::ISTRIP
        | libc::INLCR
        | libc::IGNCR
        | libc::ICRNL
        | libc::IXON);
    t.c_oflag &= !libc::OPOST;
    t.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
    t.c_cflag &= !(libc::CSIZE | libc::PARENB);
    t.c_cflag |= libc::CS8;
    t.c_cc[libc::VMIN] = 1;
    t.c_cc[libc::VTIME] = 0;
    t
}

/// True while raw mode is on.
pub fn is_raw() -> bool {
    SAVED.lock().map(|s| s.is_some()).unwrap_or(false)
}

/// Restores the saved terminal settings; does nothing when raw mode is
/// off. Safe to call any number of times, from anywhere.
pub fn restore() {
    let saved = match SAVED.lock() {
        Ok(mut s) => s.take(),
        Err(e) => e.into_inner().take(),
    };
    if let Some((fd, state)) = saved {
        // SAFETY: restoring settings read from this terminal earlier.
        unsafe {
            libc::tcsetattr(fd, libc::TCSANOW, &state);
        }
    }
}

/// A panic must not leave the terminal raw: restore before the default
/// hook prints the message.
fn install_panic_hook() {
    if HOOK.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_flags_like_moby() {
        // SAFETY: an all-zero termios is a valid value to compute on.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        t.c_iflag = libc::ICRNL | libc::IXON | libc::IUTF8;
        t.c_oflag = libc::OPOST | libc::ONLCR;
        t.c_lflag = libc::ECHO | libc::ICANON | libc::ISIG | libc::IEXTEN | libc::ECHOE;
        t.c_cflag = libc::CS7 | libc::PARENB | libc::CREAD;
        let r = make_raw(t);
        assert_eq!(r.c_iflag, libc::IUTF8);
        assert_eq!(r.c_oflag, libc::ONLCR);
        assert_eq!(r.c_lflag, libc::ECHOE);
        assert_eq!(r.c_cflag, libc::CS8 | libc::CREAD);
        assert_eq!(r.c_cc[libc::VMIN], 1);
        assert_eq!(r.c_cc[libc::VTIME], 0);
    }

    fn pty() -> (RawFd, RawFd) {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two descriptors we then own.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0);
        (master, slave)
    }

    fn lflag(fd: RawFd) -> libc::tcflag_t {
        // SAFETY: reading the settings of a terminal we opened.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(fd, &mut t), 0);
            t.c_lflag
        }
    }

    /// One test for the whole sequence: the saved state is process-wide.
    #[test]
    fn restored_on_drop_on_panic_and_on_demand() {
        let (master, slave) = pty();
        let before = lflag(slave);
        assert_ne!(before & libc::ICANON, 0);

        let guard = enable_on(slave).unwrap();
        assert!(is_raw());
        assert_eq!(lflag(slave) & (libc::ICANON | libc::ECHO | libc::ISIG), 0);
        drop(guard);
        assert!(!is_raw());
        assert_eq!(lflag(slave), before);

        let result = std::panic::catch_unwind(|| {
            let _guard = enable_on(slave).unwrap();
            panic!("boom");
        });
        assert!(result.is_err());
        assert_eq!(lflag(slave), before);

        let guard = enable_on(slave).unwrap();
        restore();
        assert_eq!(lflag(slave), before);
        drop(guard);
        restore();
        assert_eq!(lflag(slave), before);
        // SAFETY: closing the descriptors openpty gave us.
        unsafe {
            libc::close(master);
            libc::close(slave);
        }
    }
}
