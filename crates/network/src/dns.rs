//! The embedded DNS server (hickory-server), answering at 127.0.0.11:53
//! inside every container on a user-defined network.
//!
//! Design: for each such container, the daemon creates a UDP socket and a
//! TCP listener on 127.0.0.11 with ephemeral ports *inside the container's
//! network namespace* (a thread enters it, binds, and leaves; the sockets
//! stay there), serves them from the daemon's runtime, and a tiny nftables
//! table inside that namespace redirects 127.0.0.11:53 to those ports (so
//! a program in the container may still bind port 53 itself). The
//! namespace is the container's: when it goes, the rules go with it.
//!
//! Names are those of the containers on the networks the asking container
//! is attached to (name, aliases, short ID, hostname, `name.network`).
//! Other names are forwarded to the upstream resolvers (the container's
//! `--dns`, else the daemon's `--dns`, else the host's resolv.conf)
//! *from the daemon's namespace*, so loopback resolvers of the host work.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use berth_api::Error;
use hickory_server::ServerFuture;
use hickory_server::authority::MessageResponseBuilder;
use hickory_server::proto::op::{Header, Message, MessageType, OpCode, ResponseCode};
use hickory_server::proto::rr::rdata::{A, PTR};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where containers find the server.
pub const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
/// Time-to-live of the answers about containers (Docker's).
const TTL: u32 = 600;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

/// The names of one network: name → (address, container ID).
#[derive(Default)]
struct NetNames {
    network_name: String,
    names: BTreeMap<String, Vec<(Ipv4Addr, String)>>,
}

/// The names of every user-defined network.
#[derive(Default)]
pub struct Registry {
    nets: RwLock<HashMap<String, NetNames>>,
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Registry {
    /// Registers `names` for `ip` of `container` on a network.
    pub fn add(
        &self,
        network_id: &str,
        network_name: &str,
        container: &str,
        names: &[String],
        ip: Ipv4Addr,
    ) {
        let mut nets = match self.nets.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let net = nets.entry(network_id.to_string()).or_default();
        net.network_name = network_name.to_string();
        for n in names {
            let list = net.names.entry(norm(n)).or_default();
            if !list.iter().any(|(a, c)| *a == ip && c == container) {
                list.push((ip, container.to_string()));
            }
        }
    }

    /// Removes every name `container` has on a network.
    pub fn remove(&self, network_id: &str, container: &str) {
        let mut nets = match self.nets.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(net) = nets.get_mut(network_id) {
            for list in net.names.values_mut() {
                list.retain(|(_, c)| c != container);
            }
            net.names.retain(|_, l| !l.is_empty());
            if net.names.is_empty() {
                nets.remove(network_id);
            }
        }
    }

    /// Addresses of `name` as seen from the networks `on` (in order);
    /// `name.network` looks in that network only.
    pub fn lookup(&self, on: &[String], name: &str) -> Vec<Ipv4Addr> {
        let name = norm(name);
        let nets = match self.nets.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        for id in on {
            let Some(net) = nets.get(id) else { continue };
            let key =
                match name.strip_suffix(&format!(".{}", net.network_name.to_ascii_lowercase())) {
                    Some(short) => short.to_string(),
                    None => name.clone(),
                };
            if let Some(list) = net.names.get(&key)
                && !list.is_empty()
            {
                return list.iter().map(|(a, _)| *a).collect();
            }
        }
        Vec::new()
    }

    /// The name of `ip` (`name.network`) on the networks `on`.
    pub fn reverse(&self, on: &[String], ip: Ipv4Addr) -> Option<String> {
        let nets = match self.nets.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        for id in on {
            let Some(net) = nets.get(id) else { continue };
            // The first name registered for a container is its name.
            let mut best: Option<&String> = None;
            for (n, list) in &net.names {
                if list.iter().any(|(a, _)| *a == ip) && best.is_none_or(|b| n.len() < b.len()) {
                    best = Some(n);
                }
            }
            if let Some(n) = best {
                return Some(format!("{n}.{}", net.network_name));
            }
        }
        None
    }
}

/// What one container's server needs to know.
pub struct Scope {
    /// The user-defined networks of the container (IDs), in order.
    pub networks: RwLock<Vec<String>>,
    /// Extra names only this container resolves (legacy links).
    pub local: RwLock<HashMap<String, Ipv4Addr>>,
    pub upstreams: Vec<SocketAddr>,
}

struct Handler {
    registry: Arc<Registry>,
    scope: Arc<Scope>,
}

fn ptr_ip(name: &str) -> Option<Ipv4Addr> {
    let rest = norm(name);
    let rest = rest.strip_suffix(".in-addr.arpa")?;
    let parts: Vec<u8> = rest
        .split('.')
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    if parts.len() != 4 {
        return None;
    }
    Some(Ipv4Addr::new(parts[3], parts[2], parts[1], parts[0]))
}

impl Handler {
    /// Local answers: `None` when the name is not ours.
    fn local(&self, name: &str, qtype: RecordType) -> Option<Vec<RData>> {
        let networks = match self.scope.networks.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if qtype == RecordType::PTR {
            let ip = ptr_ip(name)?;
            let target = self.registry.reverse(&networks, ip)?;
            let target = Name::from_ascii(format!("{target}.")).ok()?;
            return Some(vec![RData::PTR(PTR(target))]);
        }
        let mut ips = self.registry.lookup(&networks, name);
        if ips.is_empty() {
            let local = match self.scope.local.read() {
                Ok(g) => g.get(&norm(name)).copied(),
                Err(p) => p.into_inner().get(&norm(name)).copied(),
            };
            ips.extend(local);
        }
        if ips.is_empty() {
            return None;
        }
        Some(match qtype {
            RecordType::A | RecordType::ANY => ips.into_iter().map(|ip| RData::A(A(ip))).collect(),
            // Known name, no record of that type (no IPv6 on Berth's networks).
            _ => Vec::new(),
        })
    }

    async fn forward(&self, request: &Request) -> Option<Message> {
        let mut query = Message::new();
        query
            .set_id(rand::random())
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(request.recursion_desired());
        for q in request.queries() {
            query.add_query(q.original().clone());
        }
        let bytes = query.to_vec().ok()?;
        for upstream in &self.scope.upstreams {
            let answer =
                tokio::time::timeout(UPSTREAM_TIMEOUT, ask(*upstream, &bytes, query.id())).await;
            match answer {
                Ok(Ok(m)) => return Some(m),
                Ok(Err(e)) => tracing::debug!(%upstream, error = %e, "upstream DNS server failed"),
                Err(_) => tracing::debug!(%upstream, "upstream DNS server timed out"),
            }
        }
        None
    }
}

/// One query to an upstream server: UDP, then TCP when truncated.
async fn ask(upstream: SocketAddr, bytes: &[u8], id: u16) -> std::io::Result<Message> {
    let bind: SocketAddr = match upstream {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = tokio::net::UdpSocket::bind(bind).await?;
    sock.connect(upstream).await?;
    sock.send(bytes).await?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).await?;
        let Ok(m) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        if m.id() != id {
            continue;
        }
        if !m.truncated() {
            return Ok(m);
        }
        break;
    }
    let mut tcp = tokio::net::TcpStream::connect(upstream).await?;
    let len = u16::try_from(bytes.len()).map_err(|_| std::io::Error::other("query too long"))?;
    tcp.write_all(&len.to_be_bytes()).await?;
    tcp.write_all(bytes).await?;
    let mut lenbuf = [0u8; 2];
    tcp.read_exact(&mut lenbuf).await?;
    let mut data = vec![0u8; usize::from(u16::from_be_bytes(lenbuf))];
    tcp.read_exact(&mut data).await?;
    Message::from_vec(&data).map_err(std::io::Error::other)
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let mut header = Header::response_from_request(request.header());
        header.set_recursion_available(true);
        let builder = MessageResponseBuilder::from_message_request(request);
        let fail = |code: ResponseCode| {
            let mut h = Header::response_from_request(request.header());
            h.set_response_code(code);
            ResponseInfo::from(h)
        };
        if request.op_code() != OpCode::Query || request.message_type() != MessageType::Query {
            let msg = builder.error_msg(request.header(), ResponseCode::NotImp);
            return response
                .send_response(msg)
                .await
                .unwrap_or_else(|_| fail(ResponseCode::ServFail));
        }
        let Some(q) = request.queries().first() else {
            let msg = builder.error_msg(request.header(), ResponseCode::FormErr);
            return response
                .send_response(msg)
                .await
                .unwrap_or_else(|_| fail(ResponseCode::ServFail));
        };
        let qname: Name = q.name().into();
        let text = qname.to_ascii();
        if let Some(rdatas) = self.local(&text, q.query_type()) {
            header.set_authoritative(true);
            let records: Vec<Record> = rdatas
                .into_iter()
                .map(|r| Record::from_rdata(qname.clone(), TTL, r))
                .collect();
            let msg = builder.build(header, records.iter(), &[], &[], &[]);
            return response
                .send_response(msg)
                .await
                .unwrap_or_else(|_| fail(ResponseCode::ServFail));
        }
        match self.forward(request).await {
            Some(answer) => {
                header.set_response_code(answer.response_code());
                let msg = builder.build(
                    header,
                    answer.answers().iter(),
                    answer.name_servers().iter(),
                    &[],
                    answer.additionals().iter(),
                );
                response
                    .send_response(msg)
                    .await
                    .unwrap_or_else(|_| fail(ResponseCode::ServFail))
            }
            None => {
                let msg = builder.error_msg(request.header(), ResponseCode::ServFail);
                response
                    .send_response(msg)
                    .await
                    .unwrap_or_else(|_| fail(ResponseCode::ServFail))
            }
        }
    }
}

/// A running server for one container; dropping it stops it.
pub struct ContainerDns {
    pub scope: Arc<Scope>,
    pub udp_port: u16,
    pub tcp_port: u16,
    _server: ServerFuture<Handler>,
}

/// The name of the table inside container namespaces.
pub const NETNS_TABLE: &str = "berth_dns";

/// Starts the server of a container whose namespace is `netns`: binds
/// the sockets inside it, serves them on `rt` and installs the redirect.
pub fn serve(
    rt: &tokio::runtime::Handle,
    registry: Arc<Registry>,
    scope: Arc<Scope>,
    netns: &Path,
) -> Result<ContainerDns, Error> {
    let (udp, tcp) = crate::netns::run_in(netns, || {
        let udp = std::net::UdpSocket::bind((DNS_ADDR, 0)).map_err(|e| {
            Error::system(format!("cannot bind the DNS socket in the container: {e}"))
        })?;
        let tcp = std::net::TcpListener::bind((DNS_ADDR, 0)).map_err(|e| {
            Error::system(format!(
                "cannot bind the DNS listener in the container: {e}"
            ))
        })?;
        Ok((udp, tcp))
    })?;
    let io = |e: std::io::Error| Error::system(format!("DNS socket: {e}"));
    let udp_port = udp.local_addr().map_err(io)?.port();
    let tcp_port = tcp.local_addr().map_err(io)?.port();
    udp.set_nonblocking(true).map_err(io)?;
    tcp.set_nonblocking(true).map_err(io)?;
    let _enter = rt.enter();
    let udp = tokio::net::UdpSocket::from_std(udp).map_err(io)?;
    let tcp = tokio::net::TcpListener::from_std(tcp).map_err(io)?;
    let mut server = ServerFuture::new(Handler {
        registry,
        scope: scope.clone(),
    });
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(10));
    crate::firewall::apply(
        &crate::firewall::render_dns(NETNS_TABLE, udp_port, tcp_port),
        Some(netns),
    )?;
    Ok(ContainerDns {
        scope,
        udp_port,
        tcp_port,
        _server: server,
    })
}

/// The upstream servers: explicit ones, else the nameservers of the
/// host's resolv.conf text (all of them: queries leave from the host's
/// namespace, where loopback resolvers answer).
pub fn upstreams(explicit: &[IpAddr], host_resolv: &str) -> Vec<SocketAddr> {
    let ips: Vec<IpAddr> = if explicit.is_empty() {
        host_resolv
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some("nameserver")).then(|| w.next()).flatten()
            })
            .filter_map(|ns| ns.split('%').next().and_then(|n| n.parse().ok()))
            .collect()
    } else {
        explicit.to_vec()
    };
    ips.into_iter().map(|ip| SocketAddr::new(ip, 53)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let r = Registry::default();
        r.add(
            "n1",
            "app",
            "c1",
            &["web".into(), "www".into(), "abc123".into()],
            Ipv4Addr::new(10, 0, 0, 2),
        );
        r.add(
            "n2",
            "other",
            "c2",
            &["db".into()],
            Ipv4Addr::new(10, 1, 0, 2),
        );
        r
    }

    #[test]
    fn lookups_are_scoped_to_networks() {
        let r = registry();
        let n1 = vec!["n1".to_string()];
        assert_eq!(r.lookup(&n1, "web"), vec![Ipv4Addr::new(10, 0, 0, 2)]);
        assert_eq!(r.lookup(&n1, "WWW."), vec![Ipv4Addr::new(10, 0, 0, 2)]);
        assert_eq!(r.lookup(&n1, "web.app"), vec![Ipv4Addr::new(10, 0, 0, 2)]);
        assert!(r.lookup(&n1, "db").is_empty());
        assert!(r.lookup(&n1, "web.other").is_empty());
        assert_eq!(
            r.reverse(&n1, Ipv4Addr::new(10, 0, 0, 2)).as_deref(),
            Some("web.app")
        );
        r.remove("n1", "c1");
        assert!(r.lookup(&n1, "web").is_empty());
    }

    #[test]
    fn ptr_names() {
        assert_eq!(
            ptr_ip("2.0.0.10.in-addr.arpa."),
            Some(Ipv4Addr::new(10, 0, 0, 2))
        );
        assert_eq!(ptr_ip("example.com."), None);
    }

    #[test]
    fn upstream_choice() {
        let host = "nameserver 127.0.0.53\nnameserver 10.0.0.1\nsearch x\n";
        assert_eq!(upstreams(&[], host).len(), 2);
        let explicit: Vec<IpAddr> = vec!["1.1.1.1".parse().unwrap()];
        assert_eq!(
            upstreams(&explicit, host),
            vec!["1.1.1.1:53".parse::<SocketAddr>().unwrap()]
        );
    }

    /// A query over UDP answered locally, another forwarded to a fake
    /// upstream on loopback.
    #[test]
    fn serves_and_forwards() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // The fake upstream answers every query with 192.0.2.99.
            let up = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let up_addr = up.local_addr().unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                while let Ok((n, from)) = up.recv_from(&mut buf).await {
                    let q = Message::from_vec(&buf[..n]).unwrap();
                    let mut a = Message::new();
                    a.set_id(q.id()).set_message_type(MessageType::Response);
                    let name = q.queries()[0].name().clone();
                    a.add_query(q.queries()[0].clone());
                    a.add_answer(Record::from_rdata(
                        name,
                        5,
                        RData::A(A(Ipv4Addr::new(192, 0, 2, 99))),
                    ));
                    up.send_to(&a.to_vec().unwrap(), from).await.unwrap();
                }
            });
            let registry = Arc::new(registry());
            let scope = Arc::new(Scope {
                networks: RwLock::new(vec!["n1".to_string()]),
                local: RwLock::new(HashMap::new()),
                upstreams: vec![up_addr],
            });
            let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let addr = sock.local_addr().unwrap();
            let mut server = ServerFuture::new(Handler { registry, scope });
            server.register_socket(sock);
            let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for (name, want) in [
                ("web.", Ipv4Addr::new(10, 0, 0, 2)),
                ("example.test.", Ipv4Addr::new(192, 0, 2, 99)),
            ] {
                let mut q = Message::new();
                q.set_id(7).set_recursion_desired(true);
                q.add_query(hickory_server::proto::op::Query::query(
                    Name::from_ascii(name).unwrap(),
                    RecordType::A,
                ));
                client.send_to(&q.to_vec().unwrap(), addr).await.unwrap();
                let mut buf = [0u8; 512];
                let (n, _) =
                    tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf))
                        .await
                        .unwrap()
                        .unwrap();
                let a = Message::from_vec(&buf[..n]).unwrap();
                assert_eq!(a.id(), 7);
                let got: Vec<Ipv4Addr> = a
                    .answers()
                    .iter()
                    .filter_map(|r| match r.data() {
                        RData::A(A(ip)) => Some(*ip),
                        _ => None,
                    })
                    .collect();
                assert_eq!(got, vec![want], "{name}");
            }
            drop(server);
        });
    }
}
