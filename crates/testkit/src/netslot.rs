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
        if let Ok(out) = Command::new("ip").args(["-o", "-4", "addr", "show"]).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                let (Some(name), Some(addr)) = (words.get(1), words.get(3)) else {
                    continue;
                };
                let ip = addr.split('/').next().and_then(|a| a.parse::<Ipv4Addr>().ok());
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
            if let Ok(out) = Command::new("ip").args(["-o", "link", "show", "master", b]).output() {
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
    }
}

impl Drop for NetSlot {
    fn drop(&mut self) {
        self.cleanup();
    }
}
