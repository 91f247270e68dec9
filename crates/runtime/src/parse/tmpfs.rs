//! `--tmpfs /dst[:opts]` and tmpfs mount options (validation and Docker's
//! `MergeTmpfsOptions`: the last of conflicting options wins).

use super::{ParseError, clean_path};

/// A parsed `--tmpfs` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsSpec {
    pub destination: String,
    /// Raw options (`rw`, `noexec`, `size=64m`, …), validated.
    pub options: Vec<String>,
}

/// The option group a mount flag belongs to: flags of one group conflict
/// (`exec`/`noexec`); all propagation flags are one group.
fn flag_group(opt: &str) -> Option<&'static str> {
    Some(match opt {
        "ro" | "rw" => "rdonly",
        "suid" | "nosuid" => "nosuid",
        "dev" | "nodev" => "nodev",
        "exec" | "noexec" => "noexec",
        "sync" | "async" => "sync",
        "dirsync" => "dirsync",
        "remount" => "remount",
        "mand" | "nomand" => "mand",
        "atime" | "noatime" => "noatime",
        "diratime" | "nodiratime" => "nodiratime",
        "bind" => "bind",
        "rbind" => "rbind",
        "relatime" | "norelatime" => "relatime",
        "strictatime" | "nostrictatime" => "strictatime",
        "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
        | "runbindable" => "propagation",
        _ => return None,
    })
}

/// tmpfs data options (`key=value`) Docker passes to the kernel.
const DATA_KEYS: &[&str] = &[
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
    "huge",
];

fn validate_data(key: &str, value: &str, opt: &str) -> Result<(), ParseError> {
    let bad = |why: &str| ParseError::new(format!("invalid tmpfs option {opt:?}: {why}"));
    match key {
        "size" | "nr_blocks" | "nr_inodes" => {
            let digits = value.trim_end_matches(|c: char| "kKmMgGtTpPeE%".contains(c));
            if digits.is_empty()
                || value.len() - digits.len() > 1
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad(
                    "expected a number with an optional k, m, g or % suffix",
                ));
            }
        }
        "mode" => {
            if u32::from_str_radix(value, 8).map_or(true, |m| m > 0o7777) {
                return Err(bad("expected an octal mode"));
            }
        }
        "uid" | "gid" => {
            if value.parse::<u32>().is_err() {
                return Err(bad("expected a number"));
            }
        }
        _ => {
            if value.is_empty() {
                return Err(bad("empty value"));
            }
        }
    }
    Ok(())
}

/// Checks every option: a known mount flag or a known `key=value`.
pub fn validate_tmpfs_options<S: AsRef<str>>(options: &[S]) -> Result<(), ParseError> {
    for opt in options {
        let opt = opt.as_ref();
        if opt == "defaults" || flag_group(opt).is_some() {
            continue;
        }
        match opt.split_once('=') {
            Some((k, v)) if DATA_KEYS.contains(&k) => validate_data(k, v, opt)?,
            _ => return Err(ParseError::new(format!("invalid tmpfs option {opt:?}"))),
        }
    }
    Ok(())
}

/// Docker's `MergeTmpfsOptions`: drops `defaults`, keeps only the last of
/// conflicting flags and of repeated data keys, in their original order.
pub fn merge_tmpfs_options<S: AsRef<str>>(options: &[S]) -> Result<Vec<String>, ParseError> {
    validate_tmpfs_options(options)?;
    let mut seen_flags: Vec<&str> = Vec::new();
    let mut seen_keys: Vec<&str> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for opt in options.iter().rev() {
        let opt = opt.as_ref();
        if opt == "defaults" {
            continue;
        }
        if let Some(group) = flag_group(opt) {
            if !seen_flags.contains(&group) {
                seen_flags.push(group);
                out.push(opt.to_string());
            }
            continue;
        }
        let key = opt.split_once('=').map_or(opt, |(k, _)| k);
        if !seen_keys.contains(&key) {
            seen_keys.push(key);
            out.push(opt.to_string());
        }
    }
    out.reverse();
    Ok(out)
}

/// Checks a tmpfs or mount destination: absolute and not `/`.
pub(crate) fn validate_destination(dest: &str) -> Result<(), ParseError> {
    if !dest.starts_with('/') {
        return Err(ParseError::new(format!(
            "invalid mount path: '{dest}' mount path must be absolute"
        )));
    }
    if clean_path(dest) == "/" {
        return Err(ParseError::new(
            "invalid specification: destination can't be '/'",
        ));
    }
    Ok(())
}

/// Parses `--tmpfs /run:rw,noexec,size=64m`.
pub fn parse_tmpfs(s: &str) -> Result<TmpfsSpec, ParseError> {
    let (dest, opts) = s.split_once(':').unwrap_or((s, ""));
    validate_destination(dest)?;
    let options: Vec<String> = opts
        .split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect();
    validate_tmpfs_options(&options)?;
    Ok(TmpfsSpec {
        destination: clean_path(dest),
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tmpfs() {
        let t = parse_tmpfs("/run:rw,noexec,nosuid,size=65536k").unwrap();
        assert_eq!(t.destination, "/run");
        assert_eq!(t.options, vec!["rw", "noexec", "nosuid", "size=65536k"]);
        let t = parse_tmpfs("/tmp/").unwrap();
        assert_eq!(t.destination, "/tmp");
        assert!(t.options.is_empty());
        assert!(parse_tmpfs("/x:size=1g,mode=1777,uid=1000").is_ok());
    }

    #[test]
    fn tmpfs_errors() {
        let msg = |s: &str| parse_tmpfs(s).unwrap_err().to_string();
        assert_eq!(
            msg("run"),
            "invalid mount path: 'run' mount path must be absolute"
        );
        assert_eq!(msg("/"), "invalid specification: destination can't be '/'");
        assert_eq!(msg("/x:bogus"), "invalid tmpfs option \"bogus\"");
        assert!(msg("/x:size=lots").contains("size=lots"));
        assert!(msg("/x:mode=999").contains("octal"));
        assert!(msg("/x:uid=root").contains("uid=root"));
        assert!(msg("/x:size=1mm").contains("size=1mm"));
    }

    #[test]
    fn merge_last_wins() {
        let merged = merge_tmpfs_options(&[
            "noexec", "nosuid", "nodev", "rprivate", "exec", "size=1m", "size=2m", "shared",
            "defaults",
        ])
        .unwrap();
        assert_eq!(merged, vec!["nosuid", "nodev", "exec", "size=2m", "shared"]);
        assert!(merge_tmpfs_options(&["nope"]).is_err());
    }
}
