//! Parsing of `-H` listen addresses: `unix://PATH`, `tcp://HOST:PORT`,
//! `fd://` and `fd://N`.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSpec {
    Unix(PathBuf),
    Tcp(String),
    /// Socket activation: all inherited sockets, or one by number.
    Fd(Option<i32>),
}

pub fn parse_host(text: &str) -> Result<HostSpec, String> {
    let bad = |why: &str| format!("invalid host {text:?}: {why}");
    if let Some(path) = text.strip_prefix("unix://") {
        let path = if path.is_empty() {
            "/run/berth.sock"
        } else {
            path
        };
        if !path.starts_with('/') {
            return Err(bad("a unix socket path must be absolute"));
        }
        return Ok(HostSpec::Unix(PathBuf::from(path)));
    }
    if let Some(addr) = text.strip_prefix("tcp://") {
        let addr = addr.trim_end_matches('/');
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| bad("expected tcp://HOST:PORT"))?;
        let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        return Ok(HostSpec::Tcp(format!("{host}:{port}")));
    }
    if let Some(n) = text.strip_prefix("fd://") {
        if n.is_empty() || n == "*" {
            return Ok(HostSpec::Fd(None));
        }
        let fd: i32 = n
            .parse()
            .map_err(|_| bad("fd:// takes a descriptor number"))?;
        return Ok(HostSpec::Fd(Some(fd)));
    }
    if text.starts_with('/') {
        return Ok(HostSpec::Unix(PathBuf::from(text)));
    }
    Err(bad("expected unix://PATH, tcp://HOST:PORT or fd://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            parse_host("unix:///tmp/b.sock").unwrap(),
            HostSpec::Unix("/tmp/b.sock".into())
        );
        assert_eq!(
            parse_host("tcp://:2376").unwrap(),
            HostSpec::Tcp("0.0.0.0:2376".into())
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1:2375").unwrap(),
            HostSpec::Tcp("127.0.0.1:2375".into())
        );
        assert_eq!(parse_host("fd://").unwrap(), HostSpec::Fd(None));
        assert_eq!(parse_host("fd://3").unwrap(), HostSpec::Fd(Some(3)));
        assert!(parse_host("tcp://x").is_err());
        assert!(parse_host("unix://rel.sock").is_err());
        assert!(parse_host("http://x:1").is_err());
    }
}
