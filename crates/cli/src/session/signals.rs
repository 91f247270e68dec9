//! Signals during an attached session: with `--sig-proxy` they are
//! forwarded to the container (`POST /containers/{id}/kill`), as docker
//! does; without it, a signal that would kill `berth` first restores a
//! raw terminal. SIGINT in raw mode ends `berth` with status 1 after a
//! newline, as moby/term does.

use berth_client::Client;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::task::JoinHandle;

use super::rawterm;

/// The signals docker forwards that matter to a process (docker forwards
/// every catchable signal but SIGCHLD, SIGPIPE and SIGURG; SIGWINCH is
/// left to the TTY resize, SIGTTIN/SIGTTOU to the shell).
const FORWARDED: &[(libc::c_int, &str)] = &[
    (libc::SIGHUP, "HUP"),
    (libc::SIGINT, "INT"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGTERM, "TERM"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGUSR2, "USR2"),
    (libc::SIGALRM, "ALRM"),
    (libc::SIGTSTP, "TSTP"),
    (libc::SIGCONT, "CONT"),
];

/// The signals that end `berth` by default and must not leave the
/// terminal raw.
const FATAL: &[libc::c_int] = &[libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM];

/// Handles signals until aborted. `proxy` is the container to forward
/// them to; without it only the terminal is looked after.
pub fn spawn(client: Client, proxy: Option<String>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let wanted: Vec<libc::c_int> = if proxy.is_some() {
            FORWARDED.iter().map(|(n, _)| *n).collect()
        } else {
            FATAL.to_vec()
        };
        let mut streams: Vec<(libc::c_int, Signal)> = wanted
            .into_iter()
            .filter_map(|n| signal(SignalKind::from_raw(n)).ok().map(|s| (n, s)))
            .collect();
        loop {
            let Some(sig) = next_signal(&mut streams).await else {
                return;
            };
            if let Some(id) = &proxy {
                let name = FORWARDED
                    .iter()
                    .find(|(n, _)| *n == sig)
                    .map_or("", |(_, s)| *s);
                let _ = client.container_kill(id, name).await;
            }
            if sig == libc::SIGINT && rawterm::is_raw() {
                rawterm::restore();
                crate::term::err_line("");
                std::process::exit(1);
            }
            if proxy.is_none() {
                die_by(sig);
            }
        }
    })
}

/// Waits for any of the signals.
async fn next_signal(streams: &mut [(libc::c_int, Signal)]) -> Option<libc::c_int> {
    if streams.is_empty() {
        return None;
    }
    std::future::poll_fn(|cx| {
        for (n, s) in streams.iter_mut() {
            if let std::task::Poll::Ready(Some(())) = s.poll_recv(cx) {
                return std::task::Poll::Ready(Some(*n));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Restores the terminal and dies of `sig` the default way, so that the
/// exit status tells the shell what happened.
fn die_by(sig: libc::c_int) {
    rawterm::restore();
    // SAFETY: resetting one signal's disposition and raising it; the
    // process ends here.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
    std::process::exit(128 + sig);
}
