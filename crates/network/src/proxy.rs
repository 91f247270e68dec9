//! The userland proxy: for each published port, berthd binds the host
//! port itself (so that a port already in use is an error at once, and the
//! port stays reserved) and relays what reaches that socket to the
//! container, in async tasks of the daemon (no process per port).
//!
//! Traffic from other hosts and from the host to its non-loopback
//! addresses is DNATed by the firewall before it reaches the socket; the
//! proxy serves 127.0.0.1 (which DNAT cannot reach without
//! `route_localnet`), and everything when `--iptables=false`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_api::Error;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{AbortHandle, JoinSet};

use crate::ports::Proto;

/// A UDP flow without traffic for this long is forgotten (Docker's).
const UDP_IDLE: Duration = Duration::from_secs(90);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Per direction and connection: large enough for bulk transfers.
const COPY_BUFFER: usize = 256 * 1024;

/// A host socket bound for a published port, not yet serving.
pub enum Bound {
    Tcp(std::net::TcpListener),
    Udp(std::net::UdpSocket),
}

impl Bound {
    pub fn port(&self) -> u16 {
        match self {
            Bound::Tcp(l) => l.local_addr().map(|a| a.port()).unwrap_or(0),
            Bound::Udp(s) => s.local_addr().map(|a| a.port()).unwrap_or(0),
        }
    }
}

/// Binds `ip:port` (`port` 0: an ephemeral one). A port in use is a
/// conflict in Docker's words.
pub fn bind(proto: Proto, ip: Option<Ipv4Addr>, port: u16) -> Result<Bound, Error> {
    let addr = SocketAddrV4::new(ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port);
    let failed = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            Error::conflict(format!(
                "driver failed programming external connectivity: Bind for {addr} failed: port is already allocated"
            ))
        } else if e.kind() == std::io::ErrorKind::AddrNotAvailable {
            Error::invalid(format!(
                "driver failed programming external connectivity: cannot bind {addr}: the host has no such address"
            ))
        } else {
            Error::system(format!(
                "driver failed programming external connectivity: cannot bind {addr}/{}: {e}",
                proto.as_str()
            ))
        }
    };
    let bound = match proto {
        Proto::Tcp => Bound::Tcp(std::net::TcpListener::bind(addr).map_err(failed)?),
        Proto::Udp => Bound::Udp(std::net::UdpSocket::bind(addr).map_err(failed)?),
    };
    let nb = match &bound {
        Bound::Tcp(l) => l.set_nonblocking(true),
        Bound::Udp(s) => s.set_nonblocking(true),
    };
    nb.map_err(|e| Error::system(format!("cannot configure the socket of {addr}: {e}")))?;
    Ok(bound)
}

/// A serving proxy; dropping it closes the port and every relayed
/// connection.
pub struct Proxy {
    task: AbortHandle,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts relaying `bound` to `target` on `rt`.
pub fn serve(
    rt: &tokio::runtime::Handle,
    bound: Bound,
    target: SocketAddrV4,
) -> Result<Proxy, Error> {
    let _enter = rt.enter();
    let io = |e: std::io::Error| Error::system(format!("cannot serve a published port: {e}"));
    let task = match bound {
        Bound::Tcp(l) => {
            let listener = TcpListener::from_std(l).map_err(io)?;
            rt.spawn(tcp_loop(listener, target)).abort_handle()
        }
        Bound::Udp(s) => {
            let sock = UdpSocket::from_std(s).map_err(io)?;
            rt.spawn(udp_loop(Arc::new(sock), target)).abort_handle()
        }
    };
    Ok(Proxy { task })
}

async fn tcp_loop(listener: TcpListener, target: SocketAddrV4) {
    // Connections live in this set: aborting the loop drops them all.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((mut client, _)) => {
                    conns.spawn(async move {
                        let Ok(Ok(mut backend)) =
                            tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await
                        else {
                            return;
                        };
                        let _ = client.set_nodelay(true);
                        let _ = backend.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional_with_sizes(
                            &mut client,
                            &mut backend,
                            COPY_BUFFER,
                            COPY_BUFFER,
                        )
                        .await;
                    });
                }
                Err(e) => {
                    tracing::debug!(error = %e, "proxy accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

struct Flow {
    backend: Arc<UdpSocket>,
    last: Instant,
}

async fn udp_loop(front: Arc<UdpSocket>, target: SocketAddrV4) {
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut replies = JoinSet::new();
    let mut buf = vec![0u8; 65536];
    let mut sweep = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            got = front.recv_from(&mut buf) => {
                let Ok((n, client)) = got else { continue };
                let now = Instant::now();
                let flow = match flows.get_mut(&client) {
                    Some(f) => f,
                    None => {
                        let Ok(backend) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await else { continue };
                        if backend.connect(target).await.is_err() {
                            continue;
                        }
                        let backend = Arc::new(backend);
                        let (b, f) = (backend.clone(), front.clone());
                        replies.spawn(async move {
                            let mut buf = vec![0u8; 65536];
                            loop {
                                match tokio::time::timeout(UDP_IDLE, b.recv(&mut buf)).await {
                                    Ok(Ok(n)) => {
                                        let _ = f.send_to(&buf[..n], client).await;
                                    }
                                    _ => return client,
                                }
                            }
                        });
                        flows.entry(client).or_insert(Flow { backend, last: now })
                    }
                };
                flow.last = now;
                let _ = flow.backend.send(&buf[..n]).await;
            }
            Some(done) = replies.join_next(), if !replies.is_empty() => {
                if let Ok(client) = done
                    && flows.get(&client).is_some_and(|f| f.last.elapsed() >= UDP_IDLE) {
                        flows.remove(&client);
                    }
            }
            _ = sweep.tick() => {
                flows.retain(|_, f| f.last.elapsed() < UDP_IDLE * 2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn relays_tcp_and_udp_and_reports_ports_in_use() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        rt.block_on(async move {
            // Echo servers standing in for a container.
            let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let echo_addr = match echo.local_addr().unwrap() {
                SocketAddr::V4(a) => a,
                _ => unreachable!(),
            };
            tokio::spawn(async move {
                while let Ok((mut s, _)) = echo.accept().await {
                    tokio::spawn(async move {
                        let mut b = [0u8; 64];
                        while let Ok(n) = s.read(&mut b).await {
                            if n == 0 || s.write_all(&b[..n]).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            let uecho = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let uecho_addr = match uecho.local_addr().unwrap() {
                SocketAddr::V4(a) => a,
                _ => unreachable!(),
            };
            tokio::spawn(async move {
                let mut b = [0u8; 64];
                while let Ok((n, from)) = uecho.recv_from(&mut b).await {
                    let _ = uecho.send_to(&b[..n], from).await;
                }
            });

            let bound = bind(Proto::Tcp, Some(Ipv4Addr::LOCALHOST), 0).unwrap();
            let port = bound.port();
            assert!(port > 0);
            // The port is taken now.
            let err = bind(Proto::Tcp, Some(Ipv4Addr::LOCALHOST), port)
                .err()
                .unwrap();
            assert_eq!(err.kind(), berth_api::ErrorKind::Conflict);
            assert!(err.message().contains("port is already allocated"));
            let proxy = serve(&handle, bound, echo_addr).unwrap();
            let mut c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut b = [0u8; 4];
            c.read_exact(&mut b).await.unwrap();
            assert_eq!(&b, b"ping");

            let ubound = bind(Proto::Udp, Some(Ipv4Addr::LOCALHOST), 0).unwrap();
            let uport = ubound.port();
            let _uproxy = serve(&handle, ubound, uecho_addr).unwrap();
            let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            client
                .send_to(b"hello", ("127.0.0.1", uport))
                .await
                .unwrap();
            let mut b = [0u8; 16];
            let (n, _) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut b))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&b[..n], b"hello");

            // Dropping the proxy frees the port and ends its connections.
            drop(proxy);
            tokio::time::sleep(Duration::from_millis(100)).await;
            let again = bind(Proto::Tcp, Some(Ipv4Addr::LOCALHOST), port);
            assert!(again.is_ok());
            let mut b = [0u8; 4];
            let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut b))
                .await
                .unwrap();
            assert!(matches!(n, Ok(0) | Err(_)));
        });
    }
}
