//! Daemon addresses as `-H` / `BERTH_HOST` / `DOCKER_HOST` give them:
//! `unix:///path`, `tcp://host:port[/base]`, `host:port`.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// The default daemon socket.
pub const DEFAULT_SOCKET: &str = "/run/berth.sock";
/// The default daemon address.
pub const DEFAULT_HOST: &str = "unix:///run/berth.sock";
/// Docker's default ports for plain and TLS TCP.
pub const DEFAULT_TCP_PORT: u16 = 2375;
pub const DEFAULT_TLS_PORT: u16 = 2376;

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
        /// A path prefix for every request (`tcp://h:2375/prefix`), no
        /// trailing slash; empty in the usual case.
        base_path: String,
    },
}

impl Host {
    /// Parses an address; `tls` picks the default TCP port.
    pub fn parse(addr: &str, tls: bool) -> Result<Self> {
        let addr = addr.trim();
        if addr.is_empty() {
            return Ok(Host::Unix(PathBuf::from(DEFAULT_SOCKET)));
        }
        let bad = || Error::InvalidHost(format!("invalid bind address format: {addr}"));
        let (proto, rest) = match addr.split_once("://") {
            Some((proto, rest)) => (proto, rest),
            None => ("tcp", addr),
        };
        match proto {
            "unix" => {
                if rest.is_empty() {
                    Ok(Host::Unix(PathBuf::from(DEFAULT_SOCKET)))
                } else if rest.starts_with('/') {
                    Ok(Host::Unix(PathBuf::from(rest)))
                } else {
                    Err(bad())
                }
            }
            "tcp" | "http" => parse_tcp(rest, tls).ok_or_else(bad),
            "ssh" | "npipe" | "fd" => Err(Error::InvalidHost(format!(
                "{proto}:// addresses are not supported by the berth client: {addr}"
            ))),
            _ => Err(bad()),
        }
    }

    /// The `Host` header value: Docker's placeholder for sockets.
    pub fn http_host(&self) -> String {
        match self {
            Host::Unix(_) => "api.moby.localhost".to_string(),
            Host::Tcp { host, port, .. } => join_host_port(host, *port),
        }
    }

    pub fn base_path(&self) -> &str {
        match self {
            Host::Unix(_) => "",
            Host::Tcp { base_path, .. } => base_path,
        }
    }
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn parse_tcp(rest: &str, tls: bool) -> Option<Host> {
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let default_port = if tls {
        DEFAULT_TLS_PORT
    } else {
        DEFAULT_TCP_PORT
    };
    let (host, port) = if let Some(after) = hostport.strip_prefix('[') {
        let (h, tail) = after.split_once(']')?;
        let port = match tail {
            "" => None,
            t => Some(t.strip_prefix(':')?),
        };
        (h, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => return None,
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => default_port,
        Some(p) => p.parse().ok()?,
    };
    if host.chars().any(|c| c.is_whitespace() || c == '@') {
        return None;
    }
    let host = if host.is_empty() { "localhost" } else { host };
    Some(Host::Tcp {
        host: host.to_string(),
        port,
        base_path: path.trim_end_matches('/').to_string(),
    })
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Unix(path) => write!(f, "unix://{}", path.display()),
            Host::Tcp {
                host,
                port,
                base_path,
            } => write!(f, "tcp://{}{}", join_host_port(host, *port), base_path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Host {
        Host::Tcp {
            host: host.into(),
            port,
            base_path: String::new(),
        }
    }

    #[test]
    fn unix_forms() {
        assert_eq!(
            Host::parse("unix:///tmp/x.sock", false).unwrap(),
            Host::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            Host::parse("unix://", false).unwrap(),
            Host::Unix(DEFAULT_SOCKET.into())
        );
        assert_eq!(
            Host::parse("", false).unwrap().to_string(),
            "unix:///run/berth.sock"
        );
        assert!(Host::parse("unix://relative", false).is_err());
    }

    #[test]
    fn tcp_forms() {
        assert_eq!(
            Host::parse("tcp://10.0.0.1:2376", false).unwrap(),
            tcp("10.0.0.1", 2376)
        );
        assert_eq!(
            Host::parse("tcp://example.com", false).unwrap(),
            tcp("example.com", 2375)
        );
        assert_eq!(
            Host::parse("tcp://example.com", true).unwrap(),
            tcp("example.com", 2376)
        );
        assert_eq!(
            Host::parse("127.0.0.1:99", false).unwrap(),
            tcp("127.0.0.1", 99)
        );
        assert_eq!(Host::parse(":99", false).unwrap(), tcp("localhost", 99));
        assert_eq!(Host::parse("tcp://[::1]:5", false).unwrap(), tcp("::1", 5));
        assert_eq!(
            Host::parse("tcp://[::1]:5", false).unwrap().to_string(),
            "tcp://[::1]:5"
        );
        let h = Host::parse("tcp://h:1/base/", false).unwrap();
        assert_eq!(h.base_path(), "/base");
        assert_eq!(h.to_string(), "tcp://h:1/base");
        assert_eq!(h.http_host(), "h:1");
    }

    #[test]
    fn bad_forms() {
        for bad in [
            "tcp://h:notaport",
            "tcp://h:70000",
            "foo://bar",
            "tcp://::1:5",
            "tcp://[::1",
        ] {
            let err = Host::parse(bad, false).unwrap_err();
            assert!(err.to_string().contains(bad), "{bad}: {err}");
        }
        assert!(
            Host::parse("ssh://me@h", false)
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
    }
}
