//! `--ulimit name=soft[:hard]` (Docker's `units.ParseUlimit`).

use super::ParseError;

/// The rlimit names Docker accepts (`RLIMIT_<NAME>`).
pub const ULIMIT_NAMES: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// One rlimit. `-1` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

impl Ulimit {
    /// Checks the name and that soft ≤ hard (`-1` is unlimited).
    pub fn validate(&self) -> Result<(), ParseError> {
        if !ULIMIT_NAMES.contains(&self.name.as_str()) {
            return Err(ParseError::new(format!(
                "invalid ulimit type: {}",
                self.name
            )));
        }
        for v in [self.soft, self.hard] {
            if v < -1 {
                return Err(ParseError::new(format!(
                    "invalid ulimit value {v} for {}: must be -1 (unlimited) or a positive number",
                    self.name
                )));
            }
        }
        if as_u64(self.soft) > as_u64(self.hard) {
            return Err(ParseError::new(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                self.soft, self.hard
            )));
        }
        Ok(())
    }

    /// The soft limit as the kernel sees it (`-1` → `RLIM_INFINITY`).
    pub fn soft_u64(&self) -> u64 {
        as_u64(self.soft)
    }

    /// The hard limit as the kernel sees it (`-1` → `RLIM_INFINITY`).
    pub fn hard_u64(&self) -> u64 {
        as_u64(self.hard)
    }
}

fn as_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Parses `nofile=1024:2048` or `nofile=1024` (hard = soft).
pub fn parse_ulimit(s: &str) -> Result<Ulimit, ParseError> {
    let (name, values) = s
        .split_once('=')
        .ok_or_else(|| ParseError::new(format!("invalid ulimit argument: {s}")))?;
    let parts: Vec<&str> = values.split(':').collect();
    if parts.len() > 2 {
        return Err(ParseError::new(format!(
            "too many limit value arguments - {values}, can only have up to two, `soft[:hard]`"
        )));
    }
    let number = |t: &str| -> Result<i64, ParseError> {
        t.parse::<i64>()
            .map_err(|_| ParseError::new(format!("invalid ulimit value {t:?} in {s}")))
    };
    let soft = number(parts[0])?;
    let hard = match parts.get(1) {
        Some(h) => number(h)?,
        None => soft,
    };
    let u = Ulimit {
        name: name.to_string(),
        soft,
        hard,
    };
    u.validate()?;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            parse_ulimit("nofile=1024:2048"),
            Ok(Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            })
        );
        let u = parse_ulimit("nproc=512").unwrap();
        assert_eq!((u.soft, u.hard), (512, 512));
        let u = parse_ulimit("core=-1").unwrap();
        assert_eq!(u.hard_u64(), u64::MAX);
        let u = parse_ulimit("core=0:-1").unwrap();
        assert_eq!((u.soft_u64(), u.hard_u64()), (0, u64::MAX));
    }

    #[test]
    fn errors() {
        let msg = |s: &str| parse_ulimit(s).unwrap_err().to_string();
        assert_eq!(msg("nofile"), "invalid ulimit argument: nofile");
        assert_eq!(msg("foo=1"), "invalid ulimit type: foo");
        assert_eq!(
            msg("nofile=2048:1024"),
            "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
        );
        assert!(msg("nofile=1:2:3").starts_with("too many limit value arguments"));
        assert!(msg("nofile=x").contains("invalid ulimit value"));
        assert!(msg("nofile=-1:10").contains("soft limit must be"));
        assert!(msg("nofile=-5").contains("invalid ulimit value -5"));
    }
}
