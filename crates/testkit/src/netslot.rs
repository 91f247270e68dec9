//! A network slot per test daemon, so that tests run in parallel without
//! sharing a bridge, a subnet or a firewall table, and never touch a
//! Berth the user runs: slot `i` (of 64, held with a file lock across test
//! processes) owns the bridge `bt<i>` (and any `bt<i>…`), the table
//! `berth_bt<i>` and the /21 block `198.18.0.0/15 + i·2048` (RFC 2544
//! addresses: local to this machine's bridges). The first /24 of the
//! block is the default bridge's; the daemon's address pool is the whole
//! block; tests that name subnets take them with [`NetSlot::subnet`].
//! Dropping the slot deletes every link and table it owned.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;

const SLOTS: u32 = 64;
const LOCK_DIR: &str = "/tmp/berth-test-net";

pub struct NetSlot {
    pub index: u32,
    _lock: File,
}

impl NetSlot {
    /// Takes a free slot (waiting for one if all are held) and clears
    /// what a crashed run may have left in it.
    pub fn acquire() -> NetSlot {
        let _ = std::fs::create_dir_all(LOCK_DIR);
        let start: u32 = std::process::id().wrapping_mul(7919)
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0));
        loop {
            for k in 0..SLOTS {
                let index = (start.wrapping_add(k)) % SLOTS;
                let path = format!("{LOCK_DIR}/{index}.lock");
                let Ok(file) = File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                else {
                    continue;
                };
                // SAFETY: flock(2) on a descriptor we own.
                let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if rc == 0 {
                    let slot = NetSlot { index, _lock: file };
                    slot.cleanup();
                    return slot;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    fn base(&self) -> u32 {
        u32::from(Ipv4Addr::new(198, 18, 0, 0)) + self.index * 2048
    }

    /// The default bridge: `bt<i>`.
    pub fn bridge(&self) -> String {
        format!("bt{}", self.index)
    }

    /// A bridge name for a test's own network (`bt<i>n<n>`).
    pub fn bridge_for(&self, n: u32) -> String {
        format!("bt{}n{n}", self.index)
    }

    /// The firewall table of the slot's daemon.
    pub fn table(&self) -> String {
        format!("berth_bt{}", self.index)
    }

    /// `--bip`: the first address of the block's first /24.
    pub fn bip(&self) -> String {
        format!("{}/24", Ipv4Addr::from(self.base() + 1))
    }

    /// The gateway of the default bridge.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base() + 1)
    }

    /// `--default-address-pool`: the whole block in /24s.
    pub fn pool(&self) -> String {
        format!("base={}/21,size=24", Ipv4Addr::from(self.base()))
    }

    /// The `n`-th /24 of the block (1 to 7; 0 is the default bridge's).
    /// Tests that create networks with explicit subnets use the high ones
    /// (4 to 7) so that automatic choices (1, 2, 3…) do not collide.
    pub fn subnet(&self, n: u32) -> String {
        format!("{}/24", Ipv4Addr::from(self.base() + (n % 8) * 256))
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        ip >= self.base() && ip < self.base() + 2048
    }

    /// Deletes the slot's links (bridges named `bt<i>…` or holding an
    /// address of the block, and their ports) and its firewall table.
    pub fn cleanup(&self) {
        let mut bridges: Vec<String> = Vec::new();
        if let Ok(out) = Command::new("ip")
            .args(["-o", "-4", "addr", "show"])
            .output()
        {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                let (Some(name), Some(addr)) = (words.get(1), words.get(3)) else {
                    continue;
                };
                let ip = addr
                    .split('/')
                    .next()
                    .and_then(|a| a.parse::<Ipv4Addr>().ok());
                if ip.is_some_and(|ip| self.contains(ip)) {
                    bridges.push(name.to_string());
                }
            }
        }
        let prefix = self.bridge();
        if let Ok(out) = Command::new("ip").args(["-o", "link", "show"]).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let Some(name) = line.split(": ").nth(1) else {
                    continue;
                };
                let name = name.split('@').next().unwrap_or(name);
                let ours = name == prefix
                    || name
                        .strip_prefix(&prefix)
                        .is_some_and(|rest| rest.starts_with('n'));
                if ours && !bridges.iter().any(|b| b == name) {
                    bridges.push(name.to_string());
                }
            }
        }
        for b in &bridges {
            // Ports first: veths whose peer lives on in a namespace.
            if let Ok(out) = Command::new("ip")
                .args(["-o", "link", "show", "master", b])
                .output()
            {
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    if let Some(name) = line.split(": ").nth(1) {
                        let name = name.split('@').next().unwrap_or(name);
                        let _ = Command::new("ip").args(["link", "del", name]).output();
                    }
                }
            }
            let _ = Command::new("ip").args(["link", "del", b]).output();
        }
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &self.table()])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.remote_name()])
            .output();
    }

    fn remote_name(&self) -> String {
        format!("bt{}remote", self.index)
    }

    /// A second network namespace standing for another host on a link to
    /// this one (the block's 7th /24: host side .1, remote .2, default
    /// route via the host). Deleted with the slot.
    pub fn remote_host(&self) -> RemoteHost {
        let ns = self.remote_name();
        let link = self.bridge_for(9);
        let net = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + self.index * 2048 + 7 * 256;
        let host_ip = Ipv4Addr::from(net + 1);
        let remote_ip = Ipv4Addr::from(net + 2);
        let run = |args: &[&str]| {
            let out = Command::new("ip")
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        run(&["netns", "add", &ns]);
        run(&[
            "link", "add", &link, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]);
        run(&["addr", "add", &format!("{host_ip}/24"), "dev", &link]);
        run(&["link", "set", &link, "up"]);
        run(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{remote_ip}/24"),
            "dev",
            "eth0",
        ]);
        run(&["-n", &ns, "link", "set", "eth0", "up"]);
        run(&["-n", &ns, "link", "set", "lo", "up"]);
        run(&[
            "-n",
            &ns,
            "route",
            "add",
            "default",
            "via",
            &host_ip.to_string(),
        ]);
        RemoteHost {
            netns: ns,
            host_ip,
            remote_ip,
        }
    }
}

/// See [`NetSlot::remote_host`].
pub struct RemoteHost {
    pub netns: String,
    /// The host's address on the link (what the remote host connects to).
    pub host_ip: Ipv4Addr,
    pub remote_ip: Ipv4Addr,
}

impl RemoteHost {
    /// Runs a command inside the remote host's namespace: (success,
    /// stdout + stderr).
    pub fn run(&self, cmd: &[&str]) -> (bool, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .args(cmd)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec {cmd:?}: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// Reads what a TCP server at `ip:port` sends, from the remote host.
    pub fn fetch(&self, ip: Ipv4Addr, port: u16, request: &str) -> (bool, String) {
        self.run(&[
            "timeout",
            "10",
            "bash",
            "-c",
            &format!("exec 3<>/dev/tcp/{ip}/{port}; printf '{request}' >&3; cat <&3"),
        ])
    }
}

/// Runs a UDP echo server on `port` inside the network namespace at
/// `netns` (a container's `SandboxKey`) for `secs` seconds: a stand-in
/// for a UDP service in the container.
pub fn udp_echo_in(netns: &str, port: u16, secs: u64) -> std::thread::JoinHandle<()> {
    let file = File::open(netns).unwrap_or_else(|e| panic!("open {netns}: {e}"));
    let handle = std::thread::spawn(move || {
        // SAFETY: setns(2) on a descriptor we own; it moves only this thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        let sock = std::net::UdpSocket::bind(("0.0.0.0", port))
            .unwrap_or_else(|e| panic!("bind udp {port} in the container: {e}"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        let _ = sock.set_read_timeout(Some(std::time::Duration::from_millis(200)));
        let mut buf = [0u8; 1500];
        while std::time::Instant::now() < deadline {
            if let Ok((n, from)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(&buf[..n], from);
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    handle
}

impl Drop for NetSlot {
    fn drop(&mut self) {
        self.cleanup();
    }
}
