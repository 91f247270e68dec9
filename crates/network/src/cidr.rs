//! IPv4 subnets (`172.17.0.0/16`): parsing, containment, overlap, and the
//! MAC address Docker derives from a container's IPv4 address.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use berth_api::Error;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 network: an address and a prefix length. The address may have
/// host bits set (`172.17.0.1/16` names the gateway inside its subnet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, Error> {
        if prefix > 32 {
            return Err(Error::invalid(format!(
                "invalid prefix length /{prefix}: must be at most 32"
            )));
        }
        Ok(Self { addr, prefix })
    }

    /// The netmask as a number.
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// The same prefix with the host bits cleared.
    pub fn network(&self) -> Ipv4Net {
        Ipv4Net {
            addr: Ipv4Addr::from(u32::from(self.addr) & self.mask()),
            prefix: self.prefix,
        }
    }

    pub fn first(&self) -> u32 {
        u32::from(self.addr) & self.mask()
    }

    pub fn last(&self) -> u32 {
        self.first() | !self.mask()
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.last())
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == self.first()
    }

    /// Whether `other` lies entirely within this network.
    pub fn contains_net(&self, other: &Ipv4Net) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }

    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// The address `n` positions after the network address.
    pub fn nth(&self, n: u32) -> Option<Ipv4Addr> {
        let ip = self.first().checked_add(n)?;
        (ip <= self.last()).then_some(Ipv4Addr::from(ip))
    }

    /// Number of addresses in the network.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// Whether the network address carries host bits.
    pub fn has_host_bits(&self) -> bool {
        u32::from(self.addr) != self.first()
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Net {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let (addr, prefix) = s.split_once('/').ok_or_else(|| {
            Error::invalid(format!(
                "invalid CIDR address: {s}: expected ADDRESS/PREFIX such as 172.30.0.0/16"
            ))
        })?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| {
            if addr.contains(':') {
                Error::invalid(format!(
                    "invalid CIDR address: {s}: IPv6 networks are not supported by this berthd"
                ))
            } else {
                Error::invalid(format!("invalid CIDR address: {s}"))
            }
        })?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| Error::invalid(format!("invalid CIDR address: {s}")))?;
        if prefix > 32 {
            return Err(Error::invalid(format!("invalid CIDR address: {s}")));
        }
        Ok(Self { addr, prefix })
    }
}

impl Serialize for Ipv4Net {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Net {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e: Error| serde::de::Error::custom(e.message().to_string()))
    }
}

/// A MAC address as six bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// Docker's MAC for an IPv4 address: `02:42` then the four bytes of
    /// the address (locally administered, unicast).
    pub fn from_ip(ip: Ipv4Addr) -> Mac {
        let o = ip.octets();
        Mac([0x02, 0x42, o[0], o[1], o[2], o[3]])
    }

    /// A random locally administered unicast address (for bridges).
    pub fn random() -> Mac {
        let mut b: [u8; 6] = rand::random();
        b[0] = (b[0] & 0xfe) | 0x02;
        Mac(b)
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for Mac {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::invalid(format!("invalid MAC address: {s}"));
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in out.iter_mut() {
            let p = parts.next().ok_or_else(bad)?;
            if p.len() != 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        if out[0] & 1 == 1 {
            return Err(Error::invalid(format!(
                "invalid MAC address: {s}: a multicast address cannot be given to an interface"
            )));
        }
        Ok(Mac(out))
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e: Error| serde::de::Error::custom(e.message().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_arithmetic() {
        let n = net("172.17.0.1/16");
        assert_eq!(n.network().to_string(), "172.17.0.0/16");
        assert!(n.has_host_bits());
        assert_eq!(n.broadcast(), Ipv4Addr::new(172, 17, 255, 255));
        assert_eq!(n.nth(1), Some(Ipv4Addr::new(172, 17, 0, 1)));
        assert_eq!(n.size(), 65536);
        assert!(n.contains(Ipv4Addr::new(172, 17, 3, 4)));
        assert!(!n.contains(Ipv4Addr::new(172, 18, 0, 1)));
        assert!(net("10.0.0.0/8").contains_net(&net("10.1.0.0/16")));
        assert!(!net("10.1.0.0/16").contains_net(&net("10.0.0.0/8")));
        assert!(net("10.0.0.0/8").overlaps(&net("10.200.0.0/24")));
        assert!(!net("10.0.0.0/24").overlaps(&net("10.0.1.0/24")));
        assert!(net("0.0.0.0/0").overlaps(&net("1.2.3.4/32")));
        for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "fd00::/64", "10.0.0/8"] {
            assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
        }
        assert_eq!(net("0.0.0.0/0").mask(), 0);
    }

    #[test]
    fn macs() {
        let m = Mac::from_ip(Ipv4Addr::new(172, 17, 0, 2));
        assert_eq!(m.to_string(), "02:42:ac:11:00:02");
        assert_eq!("02:42:ac:11:00:02".parse::<Mac>().unwrap(), m);
        assert!("01:00:00:00:00:01".parse::<Mac>().is_err());
        assert!("02:42:ac:11:00".parse::<Mac>().is_err());
        assert!("02:42:ac:11:00:02:03".parse::<Mac>().is_err());
        let r = Mac::random();
        assert_eq!(r.0[0] & 3, 2);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"02:42:ac:11:00:02\"");
    }
}
