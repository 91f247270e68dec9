//! Killing berthd (SIGKILL) at random moments while containers with
//! published ports are created, started, stopped and removed in parallel
//! on the default bridge and a user network: after every restart, what is
//! held matches the running containers exactly: one veth each, one DNAT
//! rule and one listening proxy per published port, one address each
//! (never two containers on one address), and nothing else.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::Duration;

use berth_testkit::TestDaemon;
use berth_testkit::http::request;
use serde_json::{Value, json};

const TRAPPING: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];

fn veths(d: &TestDaemon) -> usize {
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let bridges = [d.net.bridge(), d.net.bridge_for(4)];
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| bridges.iter().any(|b| l.contains(&format!(" master {b} "))))
        .count()
}

fn dnat_rules(d: &TestDaemon) -> usize {
    let out = Command::new("nft")
        .args(["list", "table", "ip", &d.net.table()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("dnat to"))
        .count()
}

/// Addresses held per the IPAM files: address → owner.
fn held(d: &TestDaemon) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(d.root.join("network/ipam"))
        .unwrap()
        .flatten()
    {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        for (ip, owner) in v["allocated"].as_object().cloned().unwrap_or_default() {
            out.insert(ip, owner.as_str().unwrap_or("").to_string());
        }
    }
    out
}

fn check(d: &TestDaemon) -> Vec<String> {
    let list = d.get("/containers/json?all=1").json();
    let mut running = HashSet::new();
    let mut ips = HashSet::new();
    let mut ports = Vec::new();
    for c in list.as_array().unwrap() {
        let id = c["Id"].as_str().unwrap().to_string();
        let v = d.inspect(&id);
        if v["State"]["Status"] != "running" {
            let nets = v["NetworkSettings"]["Networks"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (n, e) in nets {
                assert_eq!(
                    e["IPAddress"], "",
                    "{id} is not running but shows an address on {n}"
                );
            }
            continue;
        }
        running.insert(id.clone());
        for (_, e) in v["NetworkSettings"]["Networks"]
            .as_object()
            .cloned()
            .unwrap_or_default()
        {
            let ip = e["IPAddress"].as_str().unwrap_or("").to_string();
            assert!(!ip.is_empty(), "{id} runs without an address");
            assert!(ips.insert(ip.clone()), "address {ip} given twice");
        }
        for (_, b) in v["NetworkSettings"]["Ports"]
            .as_object()
            .cloned()
            .unwrap_or_default()
        {
            for b in b.as_array().cloned().unwrap_or_default() {
                ports.push(b["HostPort"].as_str().unwrap().parse::<u16>().unwrap());
            }
        }
    }
    let held = held(d);
    let owners: HashSet<String> = held.values().cloned().collect();
    assert_eq!(owners, running, "address owners vs running containers");
    assert_eq!(held.len(), ips.len(), "addresses held vs shown: {held:?}");
    // Stopped containers' veths go with their namespace, asynchronously.
    berth_testkit::eventually(std::time::Duration::from_secs(10), || {
        veths(d) == running.len()
    });
    assert_eq!(veths(d), running.len(), "veths vs running containers");
    assert_eq!(dnat_rules(d), ports.len(), "DNAT rules vs published ports");
    for p in &ports {
        assert!(
            std::net::TcpStream::connect_timeout(
                &(std::net::Ipv4Addr::LOCALHOST, *p).into(),
                Duration::from_secs(2)
            )
            .is_ok(),
            "no proxy on published port {p}"
        );
    }
    let sandboxes = std::fs::read_dir(d.root.join("network/sandboxes"))
        .unwrap()
        .count();
    assert_eq!(sandboxes, running.len(), "sandboxes vs running containers");
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["Id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn kill9_during_parallel_network_operations() {
    let mut d = TestDaemon::start();
    d.import_busybox();
    let r = d.post_json(
        "/networks/create",
        &json!({"Name": "app", "IPAM": {"Config": [{"Subnet": d.net.subnet(4)}]},
                "Options": {"com.docker.network.bridge.name": d.net.bridge_for(4)}}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    for round in 0..5u64 {
        let mut workers = Vec::new();
        for w in 0..4u64 {
            let socket = d.socket.clone();
            workers.push(std::thread::spawn(move || {
                for i in 0..5 {
                    let name = format!("n{round}-{w}-{i}");
                    let mode = if (w + i) % 2 == 0 { "bridge" } else { "app" };
                    let body =
                        json!({"Image": "busybox", "Cmd": TRAPPING, "ExposedPorts": {"80/tcp": {}},
                        "HostConfig": {"NetworkMode": mode, "PublishAllPorts": true}})
                        .to_string();
                    let hdr = [("Content-Type", "application/json")];
                    let Ok(r) = request(
                        &socket,
                        "POST",
                        &format!("/containers/create?name={name}"),
                        &hdr,
                        body.as_bytes(),
                    ) else {
                        return;
                    };
                    if r.status != 201 {
                        return;
                    }
                    if request(
                        &socket,
                        "POST",
                        &format!("/containers/{name}/start"),
                        &[],
                        b"",
                    )
                    .is_err()
                    {
                        return;
                    }
                    let path = match (w + i) % 3 {
                        0 => format!("/containers/{name}/stop?t=2"),
                        1 => format!("/containers/{name}?force=1"),
                        _ => continue,
                    };
                    let method = if path.contains("stop") {
                        "POST"
                    } else {
                        "DELETE"
                    };
                    let _ = request(&socket, method, &path, &[], b"");
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(80 + (round * 131) % 500));
        d.kill9();
        for w in workers {
            let _ = w.join();
        }
        d.restart();
        check(&d);
    }
    for id in check(&d) {
        let r = d.delete(&format!("/containers/{id}?force=1"));
        assert_eq!(r.status, 204, "{}", r.text());
    }
    check(&d);
    d.stop();
    assert_eq!(veths(&d), 0);
    let out = Command::new("nft")
        .args(["list", "table", "ip", &d.net.table()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the table outlived the daemon");
}
