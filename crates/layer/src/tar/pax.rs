//! PAX extended header records (`x` and `g` entries).

use super::header::invalid;
use crate::error::Result;

/// A point in time with nanoseconds, as tar headers and PAX records give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

/// The PAX keys that matter when applying a layer. `None` means "not set";
/// for global headers an empty value removes an earlier setting.
#[derive(Debug, Clone, Default)]
pub struct PaxExt {
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<u64>,
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    pub mtime: Option<Timestamp>,
    pub atime: Option<Timestamp>,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl PaxExt {
    /// Parses the data of a PAX header, applying it on top of `self`.
    pub fn merge_records(&mut self, data: &[u8]) -> Result<()> {
        let mut rest = data;
        while !rest.is_empty() {
            // Tolerate NUL padding after the last record, as GNU tar does.
            if rest.iter().all(|&b| b == 0) {
                break;
            }
            let space = rest
                .iter()
                .position(|&b| b == b' ')
                .ok_or_else(|| invalid("malformed PAX record: no length"))?;
            let len: usize = std::str::from_utf8(&rest[..space])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| invalid("malformed PAX record: bad length"))?;
            if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
                return Err(invalid("malformed PAX record: bad length"));
            }
            let record = &rest[space + 1..len - 1];
            rest = &rest[len..];
            let eq = record
                .iter()
                .position(|&b| b == b'=')
                .ok_or_else(|| invalid("malformed PAX record: no '='"))?;
            self.set(&record[..eq], &record[eq + 1..])?;
        }
        Ok(())
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let text = || {
            std::str::from_utf8(value)
                .map_err(|_| invalid(format!("PAX {} is not text", String::from_utf8_lossy(key))))
        };
        let empty = value.is_empty();
        match key {
            b"path" | b"linkpath" => {
                if value.contains(&0) {
                    return Err(invalid("NUL byte in a PAX path"));
                }
                let v = (!empty).then(|| value.to_vec());
                if key == b"path" {
                    self.path = v;
                } else {
                    self.linkpath = v;
                }
            }
            b"size" => {
                self.size = if empty {
                    None
                } else {
                    Some(parse_uint(text()?, "size")?)
                }
            }
            b"uid" => {
                self.uid = if empty {
                    None
                } else {
                    Some(parse_uint(text()?, "uid")?)
                }
            }
            b"gid" => {
                self.gid = if empty {
                    None
                } else {
                    Some(parse_uint(text()?, "gid")?)
                }
            }
            b"mtime" => {
                self.mtime = if empty {
                    None
                } else {
                    Some(parse_time(text()?)?)
                }
            }
            b"atime" => {
                self.atime = if empty {
                    None
                } else {
                    Some(parse_time(text()?)?)
                }
            }
            _ if key.starts_with(b"SCHILY.xattr.") => {
                let name = key[b"SCHILY.xattr.".len()..].to_vec();
                self.xattrs.retain(|(n, _)| *n != name);
                if !empty {
                    self.xattrs.push((name, value.to_vec()));
                }
            }
            _ if key.starts_with(b"GNU.sparse.") => {
                return Err(invalid("sparse files are not supported"));
            }
            // uname, gname, ctime, comment, charset, vendor keys: not needed.
            _ => {}
        }
        Ok(())
    }

    /// `self` (a global header) overlaid with `local` (the entry's own).
    pub fn overlay(&self, local: PaxExt) -> PaxExt {
        let mut xattrs = self.xattrs.clone();
        for (n, v) in local.xattrs {
            xattrs.retain(|(m, _)| *m != n);
            xattrs.push((n, v));
        }
        PaxExt {
            path: local.path.or_else(|| self.path.clone()),
            linkpath: local.linkpath.or_else(|| self.linkpath.clone()),
            size: local.size.or(self.size),
            uid: local.uid.or(self.uid),
            gid: local.gid.or(self.gid),
            mtime: local.mtime.or(self.mtime),
            atime: local.atime.or(self.atime),
            xattrs,
        }
    }
}

fn parse_uint(s: &str, what: &str) -> Result<u64> {
    s.parse()
        .map_err(|_| invalid(format!("PAX {what} is not a valid number: {s:?}")))
}

/// `secs[.fraction]`, possibly negative.
pub fn parse_time(s: &str) -> Result<Timestamp> {
    let bad = || invalid(format!("PAX time is not valid: {s:?}"));
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let secs: i64 = whole.parse().map_err(|_| bad())?;
    let mut nanos: u32 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    Ok(if !negative {
        Timestamp { secs, nanos }
    } else if nanos == 0 {
        Timestamp {
            secs: -secs,
            nanos: 0,
        }
    } else {
        Timestamp {
            secs: -secs - 1,
            nanos: 1_000_000_000 - nanos,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(k: &str, v: &str) -> Vec<u8> {
        let body = format!(" {k}={v}\n");
        let mut len = body.len() + 1;
        if (len + body.len()).to_string().len() > len.to_string().len() {
            len += 1;
        }
        let len = body.len() + len.to_string().len();
        format!("{len}{body}").into_bytes()
    }

    #[test]
    fn parses_records() {
        let mut data = record("path", "a/very/long/name");
        data.extend(record("mtime", "1700000000.5"));
        data.extend(record("SCHILY.xattr.user.k", "v"));
        let mut p = PaxExt::default();
        p.merge_records(&data).unwrap();
        assert_eq!(p.path.as_deref(), Some(&b"a/very/long/name"[..]));
        assert_eq!(
            p.mtime,
            Some(Timestamp {
                secs: 1_700_000_000,
                nanos: 500_000_000
            })
        );
        assert_eq!(p.xattrs, vec![(b"user.k".to_vec(), b"v".to_vec())]);
    }

    #[test]
    fn rejects_nul_and_sparse_and_garbage() {
        let mut p = PaxExt::default();
        assert!(p.merge_records(&record("path", "a\0b")).is_err());
        assert!(p.merge_records(&record("GNU.sparse.map", "1")).is_err());
        assert!(p.merge_records(b"99 path=x\n").is_err());
        assert!(p.merge_records(b"garbage").is_err());
    }

    #[test]
    fn negative_fractional_time() {
        assert_eq!(
            parse_time("-1.25").unwrap(),
            Timestamp {
                secs: -2,
                nanos: 750_000_000
            }
        );
        assert!(parse_time("1e5").is_err());
    }
}
