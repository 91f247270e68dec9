//! Networking end to end over the API: the default bridge (addresses,
//! routes, hosts and resolv.conf inside containers), user-defined networks
//! with the embedded DNS (names, aliases), isolation, `--icc=false`,
//! `--internal`, connect and disconnect while running, published ports
//! (from the host by its own address and 127.0.0.1, from another host's
//! namespace through DNAT, from containers, UDP, `-P`), a port in use,
//! legacy links, the networks API and its events, and recovery after
//! restarts and `kill -9` without leaks. Every daemon has its own bridge,
//! subnets and table (testkit's `NetSlot`), deleted even when a test fails.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::process::Command;
use std::time::Duration;

use berth_testkit::TestDaemon;
use berth_testkit::netslot::udp_echo_in;
use serde_json::{Value, json};

fn daemon_with(args: &[&str]) -> TestDaemon {
    let d = TestDaemon::start_with(args);
    d.import_busybox();
    d
}

fn daemon() -> TestDaemon {
    daemon_with(&[])
}

/// Creates and starts a busybox container; returns its ID.
fn run_bg(d: &TestDaemon, name: &str, body: Value) -> String {
    let mut body = body;
    body["Image"] = json!("busybox");
    let id = d.create(Some(name), &body);
    let r = d.post(&format!("/containers/{id}/start"), b"");
    assert_eq!(r.status, 204, "start {name}: {}", r.text());
    id
}

/// Runs `cmd` to completion in a container created with `extra` (host
/// config, networking config): (exit code, stdout + stderr).
fn run(d: &TestDaemon, cmd: &str, extra: Value) -> (i64, String) {
    let mut body = extra;
    body["Image"] = json!("busybox");
    body["Cmd"] = json!(["sh", "-c", cmd]);
    let (code, out, err) = d.run_with(&body);
    (code, out + &err)
}

fn ip_of(d: &TestDaemon, id: &str, network: &str) -> Ipv4Addr {
    let v = d.inspect(id);
    v["NetworkSettings"]["Networks"][network]["IPAddress"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no address on {network}: {}", v["NetworkSettings"]))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// What an HTTP GET of `path` on `ip:port` answers (body only), from the
/// test process.
fn http_get(ip: Ipv4Addr, port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {ip}:{port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

fn create_network(d: &TestDaemon, name: &str, body: Value) -> String {
    let mut body = body;
    body["Name"] = json!(name);
    let r = d.post_json("/networks/create", &body);
    assert_eq!(r.status, 201, "network create {name}: {}", r.text());
    r.json()["Id"].as_str().unwrap_or_default().to_string()
}

/// A user network on the slot's `n`-th /24 with its own bridge name.
fn user_network(d: &TestDaemon, name: &str, n: u32, extra: Value) -> String {
    let mut body = extra;
    body["IPAM"] = json!({"Config": [{"Subnet": d.net.subnet(n)}]});
    let opts = body["Options"].as_object().cloned().unwrap_or_default();
    let mut opts = Value::Object(opts);
    opts["com.docker.network.bridge.name"] = json!(d.net.bridge_for(n));
    body["Options"] = opts;
    create_network(d, name, body)
}

/// The DNAT rules of the daemon's table.
fn dnat_rules(d: &TestDaemon) -> Vec<String> {
    let out = Command::new("nft")
        .args(["list", "table", "ip", &d.net.table()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("dnat to"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// The veths on the test's bridges once `want` remain, or after 10 s: a
/// stopped container's veths go with its network namespace, which the
/// kernel tears down asynchronously (slower under load).
fn settled_veths(d: &TestDaemon, want: usize) -> Vec<String> {
    berth_testkit::eventually(std::time::Duration::from_secs(10), || {
        veths(d).len() == want
    });
    veths(d)
}

/// Veth interfaces attached to the daemon's bridges.
fn veths(d: &TestDaemon) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let mut bridges = vec![d.net.bridge()];
    bridges.extend((1..8).map(|n| d.net.bridge_for(n)));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| bridges.iter().any(|b| l.contains(&format!(" master {b} "))))
        .filter_map(|l| {
            l.split(": ")
                .nth(1)
                .map(|n| n.split('@').next().unwrap_or(n).to_string())
        })
        .collect()
}

#[test]
fn default_bridge_gives_address_route_and_files() {
    let d = daemon();
    let gw = d.net.gateway();
    let id = run_bg(
        &d,
        "one",
        json!({"Cmd": ["sleep", "1000"], "Hostname": "h1", "HostConfig": {"ExtraHosts": ["db:10.1.2.3"]}}),
    );
    let v = d.inspect(&id);
    let ns = &v["NetworkSettings"];
    assert_eq!(v["HostConfig"]["NetworkMode"], "bridge");
    let ip: Ipv4Addr = ns["IPAddress"].as_str().unwrap().parse().unwrap();
    assert_eq!(ns["Gateway"], gw.to_string());
    assert_eq!(ns["IPPrefixLen"], 24);
    let o = ip.octets();
    assert_eq!(
        ns["MacAddress"],
        format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
    );
    assert_eq!(ns["Networks"]["bridge"]["IPAddress"], ip.to_string());
    assert!(
        ns["Networks"]["bridge"]["NetworkID"]
            .as_str()
            .is_some_and(|s| s.len() == 64)
    );
    assert!(ns["SandboxKey"].as_str().is_some_and(|s| !s.is_empty()));
    // Inside: the address, the default route, hosts and resolv.conf.
    let (code, out) = run(
        &d,
        "ip -4 addr show eth0; ip route; cat /etc/hosts; cat /etc/resolv.conf; ping -c1 -W2 $PEER",
        json!({"Env": [format!("PEER={ip}")], "Hostname": "h2"}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("default via {gw} dev eth0")), "{out}");
    assert!(out.contains("\th2\n"), "own hostname in hosts: {out}");
    assert!(
        !out.contains("127.0.0.11"),
        "no embedded DNS on the default bridge: {out}"
    );
    // The first container's own hosts file.
    let hosts = std::fs::read_to_string(v["HostsPath"].as_str().unwrap()).unwrap();
    assert!(hosts.contains(&format!("{ip}\th1\n")), "{hosts}");
    assert!(hosts.contains("10.1.2.3\tdb\n"), "{hosts}");
    // Stopped: the address is released and no longer shown.
    let r = d.post(&format!("/containers/{id}/kill"), b"");
    assert_eq!(r.status, 204);
    d.wait(&id);
    let v = d.inspect(&id);
    assert_eq!(v["NetworkSettings"]["IPAddress"], "");
    assert_eq!(v["NetworkSettings"]["Networks"]["bridge"]["IPAddress"], "");
    let left = settled_veths(&d, 0);
    assert!(left.is_empty(), "veths left: {left:?}");
    // --network none: only lo; host: the host's interfaces.
    let (_, out) = run(
        &d,
        "ip -o link | wc -l",
        json!({"HostConfig": {"NetworkMode": "none"}}),
    );
    assert_eq!(out.trim(), "1", "{out}");
    let host_links = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["-o", "link"])
            .output()
            .unwrap()
            .stdout,
    )
    .lines()
    .count();
    let (_, out) = run(
        &d,
        "ip -o link | wc -l",
        json!({"HostConfig": {"NetworkMode": "host"}}),
    );
    assert!(
        out.trim().parse::<usize>().unwrap_or(0) + 3 >= host_links,
        "{out} vs {host_links}"
    );
}

#[test]
fn user_networks_resolve_names_and_are_isolated() {
    let d = daemon();
    let net = user_network(&d, "app", 4, json!({"Labels": {"team": "a"}}));
    let web = run_bg(
        &d,
        "web",
        json!({
            "Cmd": ["sh", "-c", "echo hello-web > /var/www/index.html; httpd -f -p 80 -h /var/www"],
            "HostConfig": {"NetworkMode": "app"},
            "NetworkingConfig": {"EndpointsConfig": {"app": {"Aliases": ["www"]}}}
        }),
    );
    let web_ip = ip_of(&d, &web, "app");
    let v = d.inspect(&web);
    let names: Vec<String> =
        serde_json::from_value(v["NetworkSettings"]["Networks"]["app"]["DNSNames"].clone())
            .unwrap();
    assert_eq!(names[..2], ["web".to_string(), "www".to_string()]);
    assert!(names.contains(&web[..12].to_string()));
    // By name, by alias, by short ID, and `name.network`.
    let (code, out) = run(
        &d,
        &format!(
            "wget -qO- http://web/; wget -qO- http://www/; wget -qO- http://{}/; wget -qO- http://web.app/; cat /etc/resolv.conf",
            &web[..12]
        ),
        json!({"HostConfig": {"NetworkMode": "app"}}),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("hello-web").count(), 4, "{out}");
    assert!(out.contains("nameserver 127.0.0.11"), "{out}");
    // The default bridge cannot reach the user network.
    let (code, out) = run(&d, &format!("wget -qO- -T 2 http://{web_ip}/"), json!({}));
    assert_ne!(code, 0, "isolation broken: {out}");
    // Network inspect lists the container.
    let r = d.get("/networks/app");
    assert_eq!(r.status, 200);
    let n = r.json();
    assert_eq!(n["Id"], net);
    assert_eq!(n["Containers"][&web]["Name"], "web");
    assert_eq!(n["Containers"][&web]["IPv4Address"], format!("{web_ip}/24"));
    assert_eq!(n["IPAM"]["Config"][0]["Subnet"], d.net.subnet(4));
    assert_eq!(n["Labels"]["team"], "a");
    // Removal refused while in use; predefined networks never.
    assert_eq!(d.delete("/networks/app").status, 409);
    assert_eq!(d.delete("/networks/bridge").status, 403);
    assert_eq!(d.delete("/networks/none").status, 403);
    // Connect a running default-bridge container: it reaches web by name.
    let client = run_bg(&d, "client", json!({"Cmd": ["sleep", "1000"]}));
    let r = d.post_json(
        "/networks/app/connect",
        &json!({"Container": "client", "EndpointConfig": {"Aliases": ["cli"]}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = d.inspect(&client);
    assert!(
        v["NetworkSettings"]["Networks"]["app"]["IPAddress"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    let r = d.post_json("/networks/app/connect", &json!({"Container": "client"}));
    assert_eq!(r.status, 403, "connected twice: {}", r.text());
    // web resolves the newcomer by its alias.
    let (code, out) = run(
        &d,
        "nslookup cli 127.0.0.11",
        json!({"HostConfig": {"NetworkMode": "app"}}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            v["NetworkSettings"]["Networks"]["app"]["IPAddress"]
                .as_str()
                .unwrap()
        ),
        "{out}"
    );
    let r = d.post_json("/networks/app/disconnect", &json!({"Container": "client"}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        d.inspect(&client)["NetworkSettings"]["Networks"]
            .get("app")
            .is_none()
    );
    // An unknown network at create is a 404.
    let r = d.post_json(
        "/containers/create",
        &json!({"Image": "busybox", "HostConfig": {"NetworkMode": "nonet"}}),
    );
    assert_eq!(r.status, 404);
    assert!(r.text().contains("network nonet not found"), "{}", r.text());
    // --ip within the subnet; outside is a 400; on the default bridge too.
    let want = d.net.subnet(4).replace(".0/24", ".200");
    let id = run_bg(
        &d,
        "fixed",
        json!({"Cmd": ["sleep", "100"], "HostConfig": {"NetworkMode": "app"},
        "NetworkingConfig": {"EndpointsConfig": {"app": {"IPAMConfig": {"IPv4Address": want}}}}}),
    );
    assert_eq!(ip_of(&d, &id, "app").to_string(), want);
    let r = d.post_json("/containers/create", &json!({"Image": "busybox", "HostConfig": {"NetworkMode": "app"},
        "NetworkingConfig": {"EndpointsConfig": {"app": {"IPAMConfig": {"IPv4Address": "10.99.0.5"}}}}}));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.post_json("/containers/create", &json!({"Image": "busybox",
        "NetworkingConfig": {"EndpointsConfig": {"bridge": {"IPAMConfig": {"IPv4Address": d.net.gateway().to_string()}}}}}));
    assert_eq!(r.status, 400, "{}", r.text());
    for c in [&web, &client, &id] {
        assert_eq!(d.delete(&format!("/containers/{c}?force=1")).status, 204);
    }
    assert_eq!(d.delete("/networks/app").status, 204);
    assert!(
        !Command::new("ip")
            .args(["link", "show", &d.net.bridge_for(4)])
            .output()
            .unwrap()
            .status
            .success()
    );
}

#[test]
fn icc_false_and_internal_networks() {
    let d = daemon_with(&["--icc=false"]);
    let a = run_bg(&d, "ca", json!({"Cmd": ["sleep", "1000"]}));
    let a_ip = ip_of(&d, &a, "bridge");
    let (code, out) = run(&d, &format!("ping -c1 -W2 {a_ip}"), json!({}));
    assert_ne!(code, 0, "icc=false must block: {out}");
    // A user network keeps its own icc (on by default).
    user_network(&d, "open", 4, json!({}));
    let b = run_bg(
        &d,
        "cb",
        json!({"Cmd": ["sleep", "1000"], "HostConfig": {"NetworkMode": "open"}}),
    );
    let (code, out) = run(
        &d,
        &format!("ping -c1 -W2 {}", ip_of(&d, &b, "open")),
        json!({"HostConfig": {"NetworkMode": "open"}}),
    );
    assert_eq!(code, 0, "{out}");
    // An internal network: containers talk to each other, not beyond.
    user_network(&d, "inner", 5, json!({"Internal": true}));
    let c = run_bg(
        &d,
        "cc",
        json!({"Cmd": ["sleep", "1000"], "HostConfig": {"NetworkMode": "inner"}}),
    );
    let remote = d.net.remote_host();
    let (code, out) = run(
        &d,
        &format!(
            "ping -c1 -W2 cc && ip route && ping -c1 -W2 {}",
            remote.remote_ip
        ),
        json!({"HostConfig": {"NetworkMode": "inner"}}),
    );
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("1 packets received"),
        "containers of an internal network talk: {out}"
    );
    assert!(
        !out.contains("default via"),
        "no default route on an internal network: {out}"
    );
    let _ = c;
}

#[test]
fn published_ports_reach_the_container_from_everywhere() {
    let d = daemon();
    let port = free_port();
    let web = run_bg(
        &d,
        "web",
        json!({
            "Cmd": ["sh", "-c", "echo hello-port > /var/www/index.html; httpd -f -p 80 -h /var/www"],
            "ExposedPorts": {"80/tcp": {}, "81/tcp": {}},
            "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": port.to_string()}]}, "PublishAllPorts": true}
        }),
    );
    std::thread::sleep(Duration::from_millis(300));
    let v = d.inspect(&web);
    assert_eq!(
        v["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"],
        port.to_string()
    );
    assert_eq!(
        v["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"],
        "0.0.0.0"
    );
    let ephemeral: u16 = v["NetworkSettings"]["Ports"]["81/tcp"][0]["HostPort"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ephemeral > 0);
    // The list shows the bindings.
    let list = d.get("/containers/json").json();
    let ports = &list.as_array().unwrap()[0]["Ports"];
    assert!(
        ports
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["PublicPort"] == port && p["PrivatePort"] == 80),
        "{ports}"
    );
    // From the host: 127.0.0.1 (proxy) and the host's own address (DNAT).
    assert_eq!(http_get(Ipv4Addr::LOCALHOST, port, "/"), "hello-port\n");
    assert_eq!(http_get(d.net.gateway(), port, "/"), "hello-port\n");
    // From another host (its own namespace): DNAT on the way in.
    let remote = d.net.remote_host();
    let (_, out) = remote.fetch(remote.host_ip, port, "GET / HTTP/1.0\\r\\n\\r\\n");
    assert!(out.contains("hello-port"), "from the remote host: {out}");
    // From other containers, on the same network and another (hairpin).
    let gw = d.net.gateway();
    let (code, out) = run(&d, &format!("wget -qO- http://{gw}:{port}/"), json!({}));
    assert_eq!((code, out.as_str()), (0, "hello-port\n"));
    user_network(&d, "other", 4, json!({}));
    let (code, out) = run(
        &d,
        &format!("wget -qO- http://{gw}:{port}/"),
        json!({"HostConfig": {"NetworkMode": "other"}}),
    );
    assert_eq!((code, out.as_str()), (0, "hello-port\n"));
    // UDP, through the proxy and through DNAT.
    let uport = free_port();
    let echo = run_bg(
        &d,
        "udp",
        json!({"Cmd": ["sleep", "1000"], "HostConfig": {"PortBindings": {"5353/udp": [{"HostIp": "", "HostPort": uport.to_string()}]}}}),
    );
    let key = d.inspect(&echo)["NetworkSettings"]["SandboxKey"]
        .as_str()
        .unwrap()
        .to_string();
    let server = udp_echo_in(&key, 5353, 10);
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for target in [Ipv4Addr::LOCALHOST, gw] {
        sock.send_to(b"udp-ping", (target, uport)).unwrap();
        let mut buf = [0u8; 64];
        let (n, _) = sock
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("no UDP echo via {target}: {e}"));
        assert_eq!(&buf[..n], b"udp-ping");
    }
    let _ = server.join();
    // Stopped: the ports are free again and the DNAT rules gone.
    assert_eq!(d.delete(&format!("/containers/{web}?force=1")).status, 204);
    assert_eq!(d.delete(&format!("/containers/{echo}?force=1")).status, 204);
    assert!(TcpListener::bind(("0.0.0.0", port)).is_ok());
    assert!(dnat_rules(&d).is_empty(), "{:?}", dnat_rules(&d));
}

#[test]
fn a_port_in_use_fails_the_start_and_leaves_nothing() {
    let d = daemon();
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let id = d.create(
        Some("clash"),
        &json!({"Image": "busybox", "Cmd": ["sleep", "100"], "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": port.to_string()}]}}}),
    );
    let r = d.post(&format!("/containers/{id}/start"), b"");
    assert!(r.status >= 400, "{} {}", r.status, r.text());
    assert!(
        r.text().contains("port is already allocated"),
        "{}",
        r.text()
    );
    let v = d.inspect(&id);
    assert_eq!(v["State"]["Running"], false);
    let left = settled_veths(&d, 0);
    assert!(left.is_empty(), "{left:?}");
    assert!(dnat_rules(&d).is_empty(), "{:?}", dnat_rules(&d));
    // Nothing holds an address: the next container gets the first one.
    drop(taken);
    let other = run_bg(&d, "next", json!({"Cmd": ["sleep", "100"]}));
    let ip = ip_of(&d, &other, "bridge");
    assert!(ip.octets()[3] <= 3, "{ip}");
}

#[test]
fn networks_api_and_events() {
    let d = daemon();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Automatic subnet from the daemon's pool, default options.
    let id = create_network(&d, "auto", json!({"Labels": {"k": "v"}}));
    let n = d.get(&format!("/networks/{}", &id[..12])).json();
    assert_eq!(n["Driver"], "bridge");
    assert_eq!(n["Scope"], "local");
    let subnet = n["IPAM"]["Config"][0]["Subnet"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        subnet.ends_with("/24") && subnet != d.net.subnet(0),
        "{subnet}"
    );
    // Duplicate name, bad subnet, overlap, unknown driver.
    assert_eq!(
        d.post_json("/networks/create", &json!({"Name": "auto"}))
            .status,
        409
    );
    assert_eq!(
        d.post_json(
            "/networks/create",
            &json!({"Name": "x1", "IPAM": {"Config": [{"Subnet": "nope"}]}})
        )
        .status,
        400
    );
    assert_eq!(
        d.post_json(
            "/networks/create",
            &json!({"Name": "x2", "IPAM": {"Config": [{"Subnet": subnet}]}})
        )
        .status,
        403
    );
    assert_eq!(
        d.post_json(
            "/networks/create",
            &json!({"Name": "x3", "Driver": "overlay"})
        )
        .status,
        404
    );
    // Gateway, ip-range and options.
    let opts = json!({"com.docker.network.bridge.name": d.net.bridge_for(5), "com.docker.network.driver.mtu": "1280"});
    let sub = d.net.subnet(5);
    let gw = sub.replace(".0/24", ".254");
    let range = sub.replace(".0/24", ".128/25");
    let rid = create_network(
        &d,
        "ranged",
        json!({"IPAM": {"Config": [{"Subnet": sub, "Gateway": gw, "IPRange": range}]}, "Options": opts}),
    );
    let c = run_bg(
        &d,
        "inrange",
        json!({"Cmd": ["sleep", "100"], "HostConfig": {"NetworkMode": "ranged"}}),
    );
    let ip = ip_of(&d, &c, "ranged");
    assert!(ip.octets()[3] >= 128, "{ip} outside {range}");
    assert_eq!(
        d.inspect(&c)["NetworkSettings"]["Networks"]["ranged"]["Gateway"],
        gw
    );
    let (_, out) = run(
        &d,
        "cat /sys/class/net/eth0/mtu",
        json!({"HostConfig": {"NetworkMode": "ranged"}}),
    );
    assert_eq!(out.trim(), "1280");
    // List and filters.
    let names = |q: &str| -> Vec<String> {
        let r = d.get(&format!("/networks{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        let mut v: Vec<String> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["Name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(""), ["auto", "bridge", "host", "none", "ranged"]);
    assert_eq!(
        names("?filters=%7B%22type%22%3A%5B%22custom%22%5D%7D"),
        ["auto", "ranged"]
    );
    assert_eq!(
        names("?filters=%7B%22label%22%3A%5B%22k%3Dv%22%5D%7D"),
        ["auto"]
    );
    assert_eq!(
        names("?filters=%7B%22driver%22%3A%5B%22null%22%5D%7D"),
        ["none"]
    );
    assert_eq!(
        names("?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D"),
        ["auto"]
    );
    assert_eq!(
        names(&format!(
            "?filters=%7B%22id%22%3A%5B%22{}%22%5D%7D",
            &rid[..10]
        )),
        ["ranged"]
    );
    assert_eq!(
        d.get("/networks?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D")
            .status,
        400
    );
    assert_eq!(d.get("/networks/nope").status, 404);
    // Prune removes unused user networks only.
    let r = d.post("/networks/prune", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["NetworksDeleted"], json!(["auto"]));
    assert_eq!(names(""), ["bridge", "host", "none", "ranged"]);
    // Events: create, connect, disconnect, destroy.
    assert_eq!(d.delete(&format!("/containers/{c}?force=1")).status, 204);
    assert_eq!(d.delete("/networks/ranged").status, 204);
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let r = d.get(&format!(
        "/events?since={since}&until={until}&filters=%7B%22type%22%3A%5B%22network%22%5D%7D"
    ));
    let evs = r.json_lines();
    let actions: Vec<(String, String)> = evs
        .iter()
        .map(|e| {
            (
                e["Action"].as_str().unwrap_or("").to_string(),
                e["Actor"]["Attributes"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    for want in [
        ("create", "ranged"),
        ("connect", "ranged"),
        ("disconnect", "ranged"),
        ("destroy", "ranged"),
        ("destroy", "auto"),
    ] {
        assert!(
            actions.iter().any(|(a, n)| a == want.0 && n == want.1),
            "{want:?} missing from {actions:?}"
        );
    }
    let connect = evs.iter().find(|e| e["Action"] == "connect").unwrap();
    assert_eq!(connect["Actor"]["Attributes"]["container"], c);
}

#[test]
fn legacy_links_write_hosts_and_env() {
    let d = daemon();
    let web = run_bg(
        &d,
        "web",
        json!({"Cmd": ["sleep", "1000"], "ExposedPorts": {"80/tcp": {}}, "Env": ["SECRET=s1"]}),
    );
    let ip = ip_of(&d, &web, "bridge");
    let (code, out) = run(
        &d,
        "cat /etc/hosts; env | sort",
        json!({"HostConfig": {"Links": ["web:w"]}}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("{ip}\tw {} web", &web[..12])),
        "{out}"
    );
    assert!(
        out.contains(&format!("W_PORT_80_TCP=tcp://{ip}:80")),
        "{out}"
    );
    assert!(out.contains(&format!("W_PORT_80_TCP_ADDR={ip}")), "{out}");
    assert!(out.contains("W_ENV_SECRET=s1"), "{out}");
    assert!(out.contains("W_NAME=/"), "{out}");
    // A link to a missing container is refused at create.
    let r = d.post_json(
        "/containers/create",
        &json!({"Image": "busybox", "HostConfig": {"Links": ["ghost:g"]}}),
    );
    assert_eq!(r.status, 404, "{}", r.text());
}

#[test]
fn restarts_and_crashes_leave_no_leaks() {
    let mut d = daemon();
    user_network(&d, "app", 4, json!({}));
    let port = free_port();
    let web = run_bg(
        &d,
        "web",
        json!({"Cmd": ["sh", "-c", "echo crash-ok > /var/www/index.html; httpd -f -p 80 -h /var/www"],
               "HostConfig": {"NetworkMode": "app", "PortBindings": {"80/tcp": [{"HostPort": port.to_string()}]}}}),
    );
    let doomed = run_bg(&d, "doomed", json!({"Cmd": ["sleep", "1000"]}));
    let doomed_ip = ip_of(&d, &doomed, "bridge");
    let doomed_pid = d.inspect(&doomed)["State"]["Pid"].as_i64().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(http_get(Ipv4Addr::LOCALHOST, port, "/"), "crash-ok\n");
    for round in 0..2 {
        d.kill9();
        // While the daemon is away, DNAT still works.
        assert_eq!(http_get(d.net.gateway(), port, "/"), "crash-ok\n");
        if round == 0 {
            // And a container dies.
            // SAFETY: plain kill(2) of a container process we started.
            unsafe {
                libc::kill(doomed_pid as i32, libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        d.restart();
        // The proxy, the DNS and the rules are back for the running one.
        assert_eq!(
            http_get(Ipv4Addr::LOCALHOST, port, "/"),
            "crash-ok\n",
            "round {round}"
        );
        let (code, out) = run(
            &d,
            "wget -qO- http://web/",
            json!({"HostConfig": {"NetworkMode": "app"}}),
        );
        assert_eq!((code, out.as_str()), (0, "crash-ok\n"), "round {round}");
        assert_eq!(
            dnat_rules(&d).len(),
            1,
            "round {round}: {:?}",
            dnat_rules(&d)
        );
        // The dead one's veth and address are gone.
        let left = settled_veths(&d, 1);
        assert_eq!(left.len(), 1, "round {round}: {left:?}");
        let v = d.inspect(&doomed);
        assert_eq!(v["State"]["Running"], false);
        // Addresses held: only web's.
        let held: Vec<(String, String)> = std::fs::read_dir(d.root.join("network/ipam"))
            .unwrap()
            .flatten()
            .flat_map(|e| {
                let v: Value =
                    serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
                v["allocated"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(ip, owner)| (ip, owner.as_str().unwrap_or("").to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(held.len(), 1, "round {round}: {held:?}");
        assert_eq!(held[0].1, web, "round {round}: {held:?}");
        assert_ne!(held[0].0, doomed_ip.to_string());
    }
    // A clean stop releases everything and removes the table.
    d.stop();
    let left = settled_veths(&d, 0);
    assert!(left.is_empty(), "{left:?}");
    let out = Command::new("nft")
        .args(["list", "table", "ip", &d.net.table()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the table outlived the daemon");
}

#[test]
fn iptables_false_mtu_and_mac_address() {
    let d = daemon_with(&["--iptables=false", "--mtu", "1300"]);
    // No table at all, and ports still work through the proxy.
    let port = free_port();
    let web = run_bg(
        &d,
        "web",
        json!({
            "Cmd": ["sh", "-c", "echo no-fw > /var/www/index.html; httpd -f -p 80 -h /var/www"],
            "MacAddress": "02:00:00:aa:bb:cc",
            "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": port.to_string()}]}}
        }),
    );
    let out = Command::new("nft")
        .args(["list", "table", "ip", &d.net.table()])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "--iptables=false must not create a table"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(http_get(Ipv4Addr::LOCALHOST, port, "/"), "no-fw\n");
    let v = d.inspect(&web);
    assert_eq!(v["NetworkSettings"]["MacAddress"], "02:00:00:aa:bb:cc");
    assert_eq!(
        v["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"],
        "127.0.0.1"
    );
    let (code, out) = run(
        &d,
        "cat /sys/class/net/eth0/mtu; cat /sys/class/net/eth0/address",
        json!({"MacAddress": "02:00:00:11:22:33"}),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "1300\n02:00:00:11:22:33\n");
}
