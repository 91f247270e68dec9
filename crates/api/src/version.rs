//! Engine API versions: the range Berth serves and parsing of `vX.YY`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// An Engine API version such as `1.47`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiVersion {
    pub major: u16,
    pub minor: u16,
}

/// The oldest API version Berth accepts.
pub const MIN_API_VERSION: ApiVersion = ApiVersion::new(1, 24);
/// The newest API version Berth implements (and the default).
pub const API_VERSION: ApiVersion = ApiVersion::new(1, 47);

impl ApiVersion {
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// True when this version is at least `major.minor`.
    pub fn at_least(self, major: u16, minor: u16) -> bool {
        self >= ApiVersion::new(major, minor)
    }
}

impl PartialOrd for ApiVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ApiVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor).cmp(&(other.major, other.minor))
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for ApiVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid API version {s:?}: expected MAJOR.MINOR such as 1.47");
        let (major, minor) = s.split_once('.').ok_or_else(bad)?;
        if major.is_empty() || minor.is_empty() {
            return Err(bad());
        }
        let major = major.parse().map_err(|_| bad())?;
        let minor = minor.parse().map_err(|_| bad())?;
        Ok(Self { major, minor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let v: ApiVersion = "1.47".parse().unwrap();
        assert_eq!(v, ApiVersion::new(1, 47));
        assert!(v > "1.9".parse().unwrap());
        assert!(v.at_least(1, 40));
        assert!(!v.at_least(1, 48));
        assert!("1".parse::<ApiVersion>().is_err());
        assert!("1.x".parse::<ApiVersion>().is_err());
        assert!(".1".parse::<ApiVersion>().is_err());
    }
}
