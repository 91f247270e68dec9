//! Opens the listeners named by `-H`: unix sockets (group `berth` when it
//! exists), TCP with TLS (plain TCP only with an explicit `--tls=false` and
//! a loud warning), and sockets inherited through systemd activation.

use std::os::fd::{FromRawFd, RawFd};

use berth_server::listener::{Listener, TlsFiles, bind_unix, tls_acceptor};

use crate::config::{Settings, TlsSettings};
use crate::hosts::HostSpec;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: RawFd = 3;

pub fn open(settings: &Settings) -> Result<(Vec<Listener>, Vec<String>), String> {
    let mut listeners = Vec::new();
    let mut warnings = Vec::new();
    let gid = group_id(&settings.group);
    for host in &settings.hosts {
        match host {
            HostSpec::Unix(path) => listeners.push(
                bind_unix(path, gid)
                    .map_err(|e| format!("cannot listen on unix://{}: {e}", path.display()))?,
            ),
            HostSpec::Tcp(addr) => {
                let tls = tcp_tls(&settings.tls, addr, &mut warnings)?;
                let std_listener = std::net::TcpListener::bind(addr.as_str())
                    .map_err(|e| format!("cannot listen on tcp://{addr}: {e}"))?;
                std_listener
                    .set_nonblocking(true)
                    .map_err(|e| format!("cannot listen on tcp://{addr}: {e}"))?;
                let listener = tokio::net::TcpListener::from_std(std_listener)
                    .map_err(|e| format!("cannot listen on tcp://{addr}: {e}"))?;
                listeners.push(Listener::Tcp { listener, tls });
            }
            HostSpec::Fd(which) => listeners.extend(inherited(*which)?),
        }
    }
    Ok((listeners, warnings))
}

fn tcp_tls(
    tls: &TlsSettings,
    addr: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<tokio_rustls::TlsAcceptor>, String> {
    let wants_tls =
        tls.verify || tls.tls == Some(true) || (tls.tls.is_none() && tls.cert.is_some());
    if !wants_tls {
        if tls.tls != Some(false) {
            return Err(format!(
                "refusing to listen on tcp://{addr} without TLS: pass --tlsverify with --tlscacert, --tlscert and --tlskey, or --tls=false to accept unauthenticated plaintext connections"
            ));
        }
        let warning = format!(
            "WARNING: API is accessible on tcp://{addr} without encryption and without authentication: anyone who can reach this address has root on this host"
        );
        tracing::warn!("{warning}");
        warnings.push(warning);
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&tls.cert, &tls.key) else {
        return Err(format!("TLS on tcp://{addr} needs --tlscert and --tlskey"));
    };
    if tls.verify && tls.ca.is_none() {
        return Err("--tlsverify needs --tlscacert to verify client certificates".to_string());
    }
    if !tls.verify {
        let warning = format!(
            "WARNING: API on tcp://{addr} uses TLS without client verification (--tlsverify): any client can connect"
        );
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    let files = TlsFiles {
        cert,
        key,
        client_ca: if tls.verify { tls.ca.as_deref() } else { None },
    };
    tls_acceptor(&files)
        .map(Some)
        .map_err(|e| format!("cannot set up TLS for tcp://{addr}: {e}"))
}

/// Sockets passed by systemd (`LISTEN_PID`, `LISTEN_FDS`).
fn inherited(which: Option<RawFd>) -> Result<Vec<Listener>, String> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let count: RawFd = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if !pid_ok || count == 0 {
        return Err(
            "fd:// was given but no sockets were passed by the service manager (LISTEN_FDS)"
                .to_string(),
        );
    }
    let fds: Vec<RawFd> = (LISTEN_FDS_START..LISTEN_FDS_START + count).collect();
    let chosen: Vec<RawFd> = match which {
        None => fds,
        Some(fd) if fds.contains(&fd) => vec![fd],
        Some(fd) => return Err(format!("fd://{fd} was not passed by the service manager")),
    };
    let mut out = Vec::new();
    for fd in chosen {
        out.push(listener_from_fd(fd)?);
    }
    Ok(out)
}

fn listener_from_fd(fd: RawFd) -> Result<Listener, String> {
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into `addr`.
    let rc = unsafe {
        libc::getsockname(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(format!(
            "fd {fd} is not a socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    let family = i32::from(addr.ss_family);
    if family == libc::AF_UNIX {
        // SAFETY: the descriptor was handed to this process to own.
        let std_listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
        std_listener
            .set_nonblocking(true)
            .map_err(|e| format!("fd {fd}: {e}"))?;
        let listener = tokio::net::UnixListener::from_std(std_listener)
            .map_err(|e| format!("fd {fd}: {e}"))?;
        Ok(Listener::Unix {
            listener,
            path: None,
        })
    } else if family == libc::AF_INET || family == libc::AF_INET6 {
        // SAFETY: as above.
        let std_listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
        std_listener
            .set_nonblocking(true)
            .map_err(|e| format!("fd {fd}: {e}"))?;
        let listener =
            tokio::net::TcpListener::from_std(std_listener).map_err(|e| format!("fd {fd}: {e}"))?;
        Ok(Listener::Tcp {
            listener,
            tls: None,
        })
    } else {
        Err(format!(
            "fd {fd} is a socket of an unsupported family {family}"
        ))
    }
}

/// The gid of `group`, when such a group exists.
fn group_id(group: &str) -> Option<u32> {
    if group.is_empty() {
        return None;
    }
    nix::unistd::Group::from_name(group)
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw())
}
