//! The TTY size: read from stdout's terminal, sent on start and on every
//! SIGWINCH (`/containers/{id}/resize` or `/exec/{id}/resize`).

use std::time::Duration;

use berth_client::Client;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

/// Rows and columns of the terminal on stdout; (0, 0) when it is none.
pub fn tty_size() -> (u16, u16) {
    // SAFETY: TIOCGWINSZ fills a plain winsize struct we own.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 {
            (ws.ws_row, ws.ws_col)
        } else {
            (0, 0)
        }
    }
}

/// Which TTY to resize.
#[derive(Debug, Clone)]
pub enum Target {
    Container(String),
    Exec(String),
}

pub async fn resize_to(
    client: &Client,
    target: &Target,
    h: u16,
    w: u16,
) -> berth_client::Result<()> {
    if h == 0 && w == 0 {
        return Ok(());
    }
    match target {
        Target::Container(id) => client.container_resize(id, h, w).await,
        Target::Exec(id) => client.exec_resize(id, h, w).await,
    }
}

/// Sends the current size (retrying ten times with a growing pause, as
/// docker does while the process starts), then follows SIGWINCH.
pub fn monitor(client: Client, target: Target) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut winch = signal(SignalKind::window_change()).ok();
        let (h, w) = tty_size();
        if resize_to(&client, &target, h, w).await.is_err() {
            let mut ok = false;
            for retry in 0..10u64 {
                tokio::time::sleep(Duration::from_millis((retry + 1) * 10)).await;
                let (h, w) = tty_size();
                if resize_to(&client, &target, h, w).await.is_ok() {
                    ok = true;
                    break;
                }
            }
            if !ok {
                crate::term::err_line("failed to resize tty, using default size");
            }
        }
        let Some(winch) = winch.as_mut() else {
            return;
        };
        while winch.recv().await.is_some() {
            let (h, w) = tty_size();
            let _ = resize_to(&client, &target, h, w).await;
        }
    })
}
