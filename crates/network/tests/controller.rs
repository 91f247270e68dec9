//! The controller against the real kernel (needs root): a bridge of its
//! own, two namespaces standing in for containers, addresses and routes
//! inside, traffic between them, a published port through the proxy and
//! through DNAT, the embedded DNS, and a clean release. A guard deletes
//! the test's bridges and table even when an assertion fails.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_api::types::network::{Ipam, IpamConfig, NetworkCreateRequest};
use berth_network::netns::NetnsManager;
use berth_network::ports::{PortKey, Request};
use berth_network::{AttachSpec, Controller, EndpointRequest, Options};

struct Guard {
    bridges: Vec<String>,
    table: String,
    netns: std::path::PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Namespaces first: their veths go with them.
        if let Ok(entries) = std::fs::read_dir(&self.netns) {
            for e in entries.flatten() {
                let _ = Command::new("umount").arg("-l").arg(e.path()).output();
            }
        }
        for b in &self.bridges {
            let _ = Command::new("ip").args(["link", "del", b]).output();
        }
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &self.table])
            .output();
    }
}

fn sh(netns: &Path, cmd: &[&str]) -> (bool, String) {
    let out = Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args(cmd)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A one-shot TCP server inside `netns` that answers `reply` to every
/// connection, until the process ends.
fn serve_in(netns: &Path, port: u16, reply: &'static str) {
    let path = netns.to_path_buf();
    std::thread::spawn(move || {
        berth_network::netns::enter(&path).unwrap();
        let l = TcpListener::bind(("0.0.0.0", port)).unwrap();
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(reply.as_bytes());
        }
    });
    std::thread::sleep(Duration::from_millis(100));
}

fn fetch(addr: (Ipv4Addr, u16)) -> String {
    let mut s = TcpStream::connect_timeout(&addr.into(), Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn bridge_ports_dns_and_release() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: skipping");
        return;
    }
    let tag = format!("{:04x}", rand::random::<u16>());
    let bridge = format!("btu{tag}");
    let table = format!("berth_{bridge}");
    let third = 200 + (rand::random::<u8>() % 50);
    let dir = tempfile::tempdir().unwrap();
    let _guard = Guard {
        bridges: vec![bridge.clone(), format!("btu{tag}n")],
        table: table.clone(),
        netns: dir.path().join("netns"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ctl = Controller::open(
        Options {
            root: dir.path().join("network"),
            bridge: None,
            default_bridge_name: bridge.clone(),
            bip: Some(format!("198.18.{third}.1/24").parse().unwrap()),
            pools: vec![],
            iptables: true,
            icc: true,
            mtu: None,
            dns: vec![],
            table: table.clone(),
            host_resolv: String::new(),
        },
        rt.handle().clone(),
    )
    .unwrap();
    ctl.sweep();
    let netns = NetnsManager::new(&dir.path().join("netns")).unwrap();
    let ns1 = netns.create("c1").unwrap();
    let ns2 = netns.create("c2").unwrap();

    // Default bridge, with a published port.
    let sb1 = ctl
        .attach(AttachSpec {
            container_id: "c1".into(),
            container_name: "one".into(),
            netns: ns1.clone(),
            endpoints: vec![EndpointRequest {
                network: "bridge".into(),
                ..Default::default()
            }],
            ports: vec![Request {
                key: PortKey {
                    port: 80,
                    proto: berth_network::ports::Proto::Tcp,
                },
                host_ip: None,
                host_ports: (0, 0),
            }],
            ..Default::default()
        })
        .unwrap();
    let ip1 = sb1.endpoints[0].ip;
    assert_eq!(
        ip1,
        format!("198.18.{third}.2").parse::<Ipv4Addr>().unwrap()
    );
    let (ok, out) = sh(&ns1, &["ip", "-4", "addr", "show", "eth0"]);
    assert!(ok && out.contains(&format!("{ip1}/24")), "{out}");
    let (_, out) = sh(&ns1, &["ip", "route"]);
    assert!(
        out.contains(&format!("default via 198.18.{third}.1")),
        "{out}"
    );
    let (_, out) = sh(&ns1, &["ip", "link", "show", "eth0"]);
    assert!(
        out.contains(&format!("02:42:c6:12:{third:02x}:02")),
        "{out}"
    );

    serve_in(&ns1, 80, "hello from c1");
    let port = sb1.ports[0].binding.host_port;
    assert!(port > 0);
    // Through the proxy (loopback) …
    assert_eq!(fetch((Ipv4Addr::LOCALHOST, port)), "hello from c1");
    // … and through DNAT, by the bridge's own address.
    assert_eq!(
        fetch((format!("198.18.{third}.1").parse().unwrap(), port)),
        "hello from c1"
    );

    // A user network with DNS; c2 on it and on the default bridge.
    let net = ctl
        .create(&NetworkCreateRequest {
            name: format!("app{tag}"),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: format!("198.19.{third}.0/24"),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            options: Some(
                [(
                    "com.docker.network.bridge.name".to_string(),
                    format!("btu{tag}n"),
                )]
                .into(),
            ),
            ..Default::default()
        })
        .unwrap();
    assert!(
        ctl.create(&NetworkCreateRequest {
            name: format!("app{tag}"),
            ..Default::default()
        })
        .is_err()
    );
    let sb2 = ctl
        .attach(AttachSpec {
            container_id: "c2".into(),
            container_name: "two".into(),
            netns: ns2.clone(),
            endpoints: vec![EndpointRequest {
                network: net.name.clone(),
                dns_names: vec!["two".into(), "alias2".into()],
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(sb2.endpoints[0].ifname, "eth0");
    // c2 reaches the published port of c1 through the host (DNAT from
    // another network), but not c1 directly (isolation).
    let (ok, out) = sh(
        &ns2,
        &[
            "timeout",
            "5",
            "bash",
            "-c",
            &format!("cat < /dev/tcp/198.18.{third}.1/{port}"),
        ],
    );
    assert!(out.contains("hello from c1"), "{ok} {out}");
    let (ok, _) = sh(&ns2, &["busybox", "ping", "-c1", "-W1", &ip1.to_string()]);
    assert!(!ok, "networks must be isolated");
    // The embedded DNS answers for c2's names inside c2.
    let (ok, out) = sh(&ns2, &["busybox", "nslookup", "alias2", "127.0.0.11"]);
    assert!(
        ok && out.contains(&sb2.endpoints[0].ip.to_string()),
        "{out}"
    );
    // Connect c1 to the network too, while "running": then they talk.
    let ep = ctl
        .connect(
            "c1",
            EndpointRequest {
                network: net.id.clone(),
                dns_names: vec!["one".into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ep.ifname, "eth1");
    let (ok, out) = sh(&ns2, &["busybox", "ping", "-c1", "-W2", &ep.ip.to_string()]);
    assert!(ok, "{out}");
    let (ok, out) = sh(&ns2, &["busybox", "nslookup", "one", "127.0.0.11"]);
    assert!(ok && out.contains(&ep.ip.to_string()), "{out}");
    // A network in use cannot be removed.
    assert_eq!(
        ctl.remove(&net.name).unwrap_err().kind(),
        berth_api::ErrorKind::Conflict
    );
    ctl.disconnect("c1", &net.name).unwrap();

    // Release: the veths, addresses and ports go.
    let veth1 = sb1.endpoints[0].veth.clone();
    ctl.release("c1");
    ctl.release("c2");
    let (ok, _) = (
        Command::new("ip")
            .args(["link", "show", &veth1])
            .output()
            .unwrap()
            .status
            .success(),
        (),
    );
    assert!(!ok, "veth left behind");
    assert!(
        TcpListener::bind(("0.0.0.0", port)).is_ok(),
        "port still held"
    );
    ctl.remove(&net.name).unwrap();
    netns.remove("c1").unwrap();
    netns.remove("c2").unwrap();
    ctl.shutdown();
    assert!(!berth_network::firewall::table_exists(&table));
    drop(rt);
}
