//! IP address management: one pool per network, allocating addresses
//! serially (the next free one after the last handed out, so a released
//! address is not reused at once), persisted atomically after every change
//! so that an address is never handed out twice, also across a crash.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use berth_api::Error;
use serde::{Deserialize, Serialize};

use crate::cidr::Ipv4Net;

/// The addresses of one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    /// The network (host bits cleared).
    pub subnet: Ipv4Net,
    /// Where container addresses are taken from (`--ip-range`), within
    /// the subnet; the subnet itself by default.
    pub range: Ipv4Net,
    pub gateway: Ipv4Addr,
    /// Allocated addresses and who holds each.
    #[serde(default)]
    pub allocated: BTreeMap<Ipv4Addr, String>,
    /// The last address handed out.
    #[serde(default)]
    pub last: Option<Ipv4Addr>,
}

impl Pool {
    pub fn new(subnet: Ipv4Net, range: Option<Ipv4Net>, gateway: Ipv4Addr) -> Self {
        let subnet = subnet.network();
        Self {
            subnet,
            range: range.map(|r| r.network()).unwrap_or(subnet),
            gateway,
            allocated: BTreeMap::new(),
            last: None,
        }
    }

    /// Addresses never given to a container.
    fn reserved(&self, ip: Ipv4Addr) -> bool {
        let n = u32::from(ip);
        ip == self.gateway
            || (self.subnet.prefix < 31 && (n == self.subnet.first() || n == self.subnet.last()))
    }

    /// Allocates `preferred`, or the next free address of the range.
    pub fn allocate(
        &mut self,
        owner: &str,
        preferred: Option<Ipv4Addr>,
    ) -> Result<Ipv4Addr, Error> {
        if let Some(ip) = preferred {
            if !self.subnet.contains(ip) {
                return Err(Error::invalid(format!(
                    "invalid address {ip}: it does not belong to any of this network's subnets ({})",
                    self.subnet
                )));
            }
            if self.reserved(ip) {
                return Err(Error::invalid(format!(
                    "invalid address {ip}: it is the network, broadcast or gateway address of {}",
                    self.subnet
                )));
            }
            if let Some(holder) = self.allocated.get(&ip)
                && holder != owner
            {
                return Err(Error::conflict(format!(
                    "Address already in use: {ip} is held by another container"
                )));
            }
            self.allocated.insert(ip, owner.to_string());
            return Ok(ip);
        }
        let first = self.range.first();
        let last = self.range.last();
        let span = u64::from(last - first) + 1;
        let start = match self.last {
            Some(l) if self.range.contains(l) => u32::from(l).wrapping_add(1),
            _ => first,
        };
        for i in 0..span {
            let offset = (u64::from(start.wrapping_sub(first)) + i) % span;
            let ip = Ipv4Addr::from(first + offset as u32);
            if self.reserved(ip) || self.allocated.contains_key(&ip) {
                continue;
            }
            self.allocated.insert(ip, owner.to_string());
            self.last = Some(ip);
            return Ok(ip);
        }
        Err(Error::unavailable(format!(
            "no available IPv4 addresses on this network's address pools ({})",
            self.range
        )))
    }

    /// Releases `ip` if `owner` holds it; whether it did.
    pub fn release(&mut self, ip: Ipv4Addr, owner: &str) -> bool {
        if self.allocated.get(&ip).is_some_and(|o| o == owner) {
            self.allocated.remove(&ip);
            return true;
        }
        false
    }

    /// Releases everything `owner` holds; whether anything changed.
    pub fn release_owner(&mut self, owner: &str) -> bool {
        let before = self.allocated.len();
        self.allocated.retain(|_, o| o != owner);
        before != self.allocated.len()
    }
}

/// Pools persisted one file per network under `<dir>`.
pub struct IpamStore {
    dir: PathBuf,
}

impl IpamStore {
    pub fn open(dir: &Path) -> Result<Self, Error> {
        berth_fsutil::create_dir_all_mode(dir, 0o700)
            .map_err(|e| Error::system(format!("cannot create {}: {e}", dir.display())))?;
        let _ = berth_fsutil::sweep_temp_files(dir);
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, network_id: &str) -> PathBuf {
        self.dir.join(format!("{network_id}.json"))
    }

    pub fn load(&self, network_id: &str) -> Result<Option<Pool>, Error> {
        let path = self.path(network_id);
        berth_fsutil::read_json(&path)
            .map_err(|e| Error::system(format!("cannot read {}: {e}", path.display())))
    }

    /// Writes the pool atomically (temporary file, fsync, rename).
    pub fn save(&self, network_id: &str, pool: &Pool) -> Result<(), Error> {
        let path = self.path(network_id);
        berth_fsutil::write_json(&path, pool)
            .map_err(|e| Error::system(format!("cannot save {}: {e}", path.display())))
    }

    pub fn remove(&self, network_id: &str) -> Result<(), Error> {
        let path = self.path(network_id);
        berth_fsutil::remove_file_if_exists(&path)
            .map_err(|e| Error::system(format!("cannot remove {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(subnet: &str, range: Option<&str>) -> Pool {
        let s: Ipv4Net = subnet.parse().unwrap();
        Pool::new(
            s,
            range.map(|r| r.parse().unwrap()),
            s.network().nth(1).unwrap(),
        )
    }

    #[test]
    fn serial_allocation_skips_reserved_and_held() {
        let mut p = pool("10.0.0.0/29", None);
        let a = p.allocate("a", None).unwrap();
        let b = p.allocate("b", None).unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(b, Ipv4Addr::new(10, 0, 0, 3));
        assert!(p.release(a, "a"));
        // Not reused at once: the next one comes after the last.
        assert_eq!(p.allocate("c", None).unwrap(), Ipv4Addr::new(10, 0, 0, 4));
        assert_eq!(p.allocate("d", None).unwrap(), Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(p.allocate("e", None).unwrap(), Ipv4Addr::new(10, 0, 0, 6));
        // Wraps around to the released address; .7 is the broadcast.
        assert_eq!(p.allocate("f", None).unwrap(), a);
        let err = p.allocate("g", None).unwrap_err();
        assert!(err.message().contains("no available"), "{}", err.message());
    }

    #[test]
    fn preferred_and_range() {
        let mut p = pool("10.1.0.0/16", Some("10.1.5.0/24"));
        assert_eq!(p.allocate("a", None).unwrap(), Ipv4Addr::new(10, 1, 5, 0));
        let ip = Ipv4Addr::new(10, 1, 9, 9);
        assert_eq!(p.allocate("b", Some(ip)).unwrap(), ip);
        assert_eq!(
            p.allocate("c", Some(ip)).unwrap_err().kind(),
            berth_api::ErrorKind::Conflict
        );
        assert_eq!(
            p.allocate("c", Some(Ipv4Addr::new(10, 2, 0, 1)))
                .unwrap_err()
                .kind(),
            berth_api::ErrorKind::InvalidParameter
        );
        assert!(p.allocate("c", Some(Ipv4Addr::new(10, 1, 0, 1))).is_err());
        assert!(!p.release(ip, "someone-else"));
        assert!(p.release_owner("b"));
        assert!(!p.allocated.contains_key(&ip));
    }

    #[test]
    fn persisted_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = IpamStore::open(dir.path()).unwrap();
        let mut p = pool("10.2.0.0/24", None);
        p.allocate("x", None).unwrap();
        store.save("n1", &p).unwrap();
        assert_eq!(store.load("n1").unwrap(), Some(p));
        store.remove("n1").unwrap();
        assert_eq!(store.load("n1").unwrap(), None);
    }
}
