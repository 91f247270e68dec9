//! Small readers and writers for cgroup interface files.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use crate::error::{Result, RuntimeError};

/// The file's contents, `None` when it does not exist.
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        // Some interface files refuse reads on some kernels (EINVAL,
        // EOPNOTSUPP): treat them as absent.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EINVAL | libc::EOPNOTSUPP | libc::ENODEV)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(RuntimeError::io(format!("reading {}", path.display()), e)),
    }
}

/// A single number (`max` = `u64::MAX`); `None` when absent or empty.
pub(crate) fn read_u64(path: &Path) -> Result<Option<u64>> {
    Ok(read_opt(path)?.and_then(|s| parse_u64(s.trim())))
}

pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        return Some(u64::MAX);
    }
    s.parse().ok()
}

/// `key value` lines (`memory.stat`, `cpu.stat`, `memory.events`).
pub(crate) fn parse_kv(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = parse_u64(it.next()?)?;
            Some((k.to_string(), v))
        })
        .collect()
}

pub(crate) fn read_kv(path: &Path) -> Result<BTreeMap<String, u64>> {
    Ok(read_opt(path)?.map(|s| parse_kv(&s)).unwrap_or_default())
}

/// Writes an interface file (no truncation needed for cgroupfs).
pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            RuntimeError::NotFound(format!("cgroup file {} does not exist", path.display()))
        } else {
            RuntimeError::io(format!("writing {value:?} to {}", path.display()), e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        assert_eq!(parse_u64("max"), Some(u64::MAX));
        assert_eq!(parse_u64("12"), Some(12));
        assert_eq!(parse_u64("x"), None);
        let kv = parse_kv("a 1\nb 2\nbad\nc max\nd x\n");
        assert_eq!(kv.len(), 3);
        assert_eq!(kv["c"], u64::MAX);
    }

    #[test]
    fn missing_files() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_u64(&d.path().join("nope")).unwrap(), None);
        assert!(read_kv(&d.path().join("nope")).unwrap().is_empty());
        assert!(matches!(
            write(&d.path().join("no/such"), "1"),
            Err(RuntimeError::NotFound(_))
        ));
    }
}
