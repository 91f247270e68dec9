//! `-v [src:]dst[:mode]` and `--mount type=…,source=…,target=…` into one
//! [`MountSpec`], with Docker's Linux validation rules and messages.

use std::collections::BTreeMap;
use std::fmt;

use super::tmpfs::validate_destination;
use super::{ParseError, clean_path, parse_bool, ram_in_bytes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountType {
    Bind,
    #[default]
    Volume,
    Tmpfs,
}

impl MountType {
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Volume => "volume",
            MountType::Tmpfs => "tmpfs",
        }
    }
}

impl fmt::Display for MountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Mount propagation (`bind-propagation=`, `-v …:rshared`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Private,
    RPrivate,
    Shared,
    RShared,
    Slave,
    RSlave,
}

impl Propagation {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "private" => Propagation::Private,
            "rprivate" => Propagation::RPrivate,
            "shared" => Propagation::Shared,
            "rshared" => Propagation::RShared,
            "slave" => Propagation::Slave,
            "rslave" => Propagation::RSlave,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Private => "private",
            Propagation::RPrivate => "rprivate",
            Propagation::Shared => "shared",
            Propagation::RShared => "rshared",
            Propagation::Slave => "slave",
            Propagation::RSlave => "rslave",
        }
    }
}

impl fmt::Display for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One mount as the user described it, before the daemon resolves volumes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountSpec {
    pub kind: MountType,
    /// Host path (bind), volume name (empty = anonymous), empty for tmpfs.
    pub source: String,
    /// Absolute path in the container (cleaned).
    pub target: String,
    pub read_only: bool,
    /// Bind propagation; `None` = the default (`rprivate`).
    pub propagation: Option<Propagation>,
    /// `bind-recursive=disabled` / `bind-nonrecursive`.
    pub bind_non_recursive: bool,
    /// `-v` creates a missing bind source directory; `--mount` refuses.
    pub create_source: bool,
    /// SELinux relabel request from `-v …:z` or `:Z`.
    pub selinux_label: Option<char>,
    pub consistency: Option<String>,
    pub volume_nocopy: bool,
    pub volume_driver: Option<String>,
    pub volume_labels: BTreeMap<String, String>,
    pub volume_options: BTreeMap<String, String>,
    pub volume_subpath: Option<String>,
    pub tmpfs_size: Option<i64>,
    pub tmpfs_mode: Option<u32>,
    /// The `-v` mode string as given (Docker shows it as `Mode`).
    pub mode: String,
}

fn invalid_spec(raw: &str) -> ParseError {
    ParseError::new(format!("invalid volume specification: '{raw}'"))
}

fn invalid_mode(mode: &str) -> ParseError {
    ParseError::new(format!("invalid mode: {mode}"))
}

/// Checks a `-v` mode list: at most one of each of rw/ro, z/Z,
/// propagation, nocopy, consistency.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 5];
    for o in mode.split(',') {
        let idx = match o {
            "rw" | "ro" => 0,
            "z" | "Z" => 1,
            "nocopy" => 3,
            "consistent" | "cached" | "delegated" => 4,
            _ if Propagation::parse(o).is_some() => 2,
            _ => return false,
        };
        counts[idx] += 1;
    }
    counts.iter().all(|c| *c <= 1)
}

/// Parses `-v` / `--volume`: `/ctr` (anonymous volume), `name:/ctr`,
/// `/host:/ctr`, `src:/ctr:ro,z,rshared,nocopy`.
pub fn parse_volume_spec(raw: &str) -> Result<MountSpec, ParseError> {
    let arr: Vec<&str> = raw.splitn(4, ':').collect();
    if arr[0].is_empty() {
        return Err(invalid_spec(raw));
    }
    let mut spec = MountSpec::default();
    let mode = match arr.as_slice() {
        [target] => {
            spec.target = target.to_string();
            ""
        }
        [source, target] => {
            if valid_mode(target) {
                // `/foo:rw` is a destination with a mode: not a volume.
                return Err(invalid_spec(raw));
            }
            spec.source = source.to_string();
            spec.target = target.to_string();
            ""
        }
        [source, target, mode] => {
            spec.source = source.to_string();
            spec.target = target.to_string();
            mode
        }
        _ => return Err(invalid_spec(raw)),
    };
    if !valid_mode(mode) {
        return Err(invalid_mode(mode));
    }
    spec.kind = if spec.source.starts_with('/') {
        MountType::Bind
    } else {
        MountType::Volume
    };
    spec.mode = mode.to_string();
    for o in mode.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => spec.read_only = true,
            "rw" => spec.read_only = false,
            "z" => spec.selinux_label = Some('z'),
            "Z" => spec.selinux_label = Some('Z'),
            "nocopy" => spec.volume_nocopy = true,
            "consistent" | "cached" | "delegated" => spec.consistency = Some(o.to_string()),
            p => spec.propagation = Propagation::parse(p),
        }
    }
    if spec.kind == MountType::Volume && spec.propagation.is_some() {
        // Propagation only applies to binds.
        return Err(invalid_mode(mode));
    }
    if spec.kind == MountType::Bind && spec.volume_nocopy {
        return Err(ParseError::new(format!(
            "{}: invalid mount config for type \"bind\": field VolumeOptions must not be specified",
            invalid_spec(raw)
        )));
    }
    spec.create_source = true;
    spec.validate()
        .map_err(|e| ParseError::new(format!("{}: {e}", invalid_spec(raw))))?;
    spec.target = clean_path(&spec.target);
    if spec.kind == MountType::Bind {
        spec.source = clean_path(&spec.source);
    }
    Ok(spec)
}

/// Splits one CSV record (Go's `encoding/csv` rules: `"…"` quotes a
/// field, `""` inside quotes is a quote).
fn split_csv(s: &str) -> Result<Vec<String>, ParseError> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut in_quotes = false;
    let mut quoted_field = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(std::mem::take(&mut cur));
                quoted_field = false;
            }
            '"' if cur.is_empty() && !quoted_field => {
                in_quotes = true;
                quoted_field = true;
            }
            '"' => return Err(ParseError::new(format!("bare \" in non-quoted field: {s}"))),
            c => cur.push(c),
        }
    }
    if in_quotes {
        return Err(ParseError::new(format!(
            "extraneous or missing \" in quoted field: {s}"
        )));
    }
    fields.push(cur);
    Ok(fields)
}

/// Parses `--mount type=bind,source=/a,target=/b,readonly,…` like the
/// Docker CLI (`opts.MountOpt`), then validates like the daemon. A source
/// of `.` or `./…` is made absolute against `cwd` when given (the CLI's
/// behaviour) and is otherwise an error for binds.
pub fn parse_mount_spec(raw: &str, cwd: Option<&str>) -> Result<MountSpec, ParseError> {
    let mut spec = MountSpec::default();
    let mut kind = "volume".to_string();
    let (mut has_bind, mut has_volume, mut has_tmpfs) = (false, false, false);
    let mut recursive_readonly = None::<&str>;
    for field in split_csv(raw)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
            None => (field.to_ascii_lowercase(), None),
        };
        let bad_value = |v: &str| ParseError::new(format!("invalid value for {key}: {v}"));
        let Some(val) = val else {
            match key.as_str() {
                "readonly" | "ro" => spec.read_only = true,
                "volume-nocopy" => {
                    spec.volume_nocopy = true;
                    has_volume = true;
                }
                "bind-nonrecursive" => {
                    spec.bind_non_recursive = true;
                    has_bind = true;
                }
                _ => {
                    return Err(ParseError::new(format!(
                        "invalid field '{field}' must be a key=value pair"
                    )));
                }
            }
            continue;
        };
        match key.as_str() {
            "type" => kind = val.to_ascii_lowercase(),
            "source" | "src" => {
                spec.source = match cwd {
                    Some(cwd) if val == "." || val.starts_with("./") => {
                        clean_path(&format!("{cwd}/{val}"))
                    }
                    _ => val,
                }
            }
            "target" | "dst" | "destination" => spec.target = val,
            "readonly" | "ro" => {
                spec.read_only = parse_bool(&val).ok_or_else(|| bad_value(&val))?
            }
            "consistency" => spec.consistency = Some(val.to_ascii_lowercase()),
            "bind-propagation" => {
                has_bind = true;
                let p = val.to_ascii_lowercase();
                spec.propagation =
                    Some(Propagation::parse(&p).ok_or_else(|| {
                        ParseError::new(format!("invalid propagation mode: {p}"))
                    })?);
            }
            "bind-nonrecursive" => {
                has_bind = true;
                spec.bind_non_recursive = parse_bool(&val).ok_or_else(|| bad_value(&val))?;
            }
            "bind-recursive" => {
                has_bind = true;
                match val.as_str() {
                    "enabled" => {}
                    "disabled" => spec.bind_non_recursive = true,
                    "writable" => recursive_readonly = Some("writable"),
                    "readonly" => recursive_readonly = Some("readonly"),
                    _ => {
                        return Err(ParseError::new(format!(
                            "invalid value for {key}: {val} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                        )));
                    }
                }
            }
            "volume-subpath" => {
                has_volume = true;
                spec.volume_subpath = Some(val);
            }
            "volume-nocopy" => {
                has_volume = true;
                spec.volume_nocopy = parse_bool(&val).ok_or_else(|| {
                    ParseError::new(format!("invalid value for volume-nocopy: {val}"))
                })?;
            }
            "volume-label" => {
                has_volume = true;
                let (k, v) = val.split_once('=').unwrap_or((&val, ""));
                if !k.is_empty() {
                    spec.volume_labels.insert(k.to_string(), v.to_string());
                }
            }
            "volume-driver" => {
                has_volume = true;
                spec.volume_driver = Some(val);
            }
            "volume-opt" => {
                has_volume = true;
                let (k, v) = val.split_once('=').unwrap_or((&val, ""));
                if !k.is_empty() {
                    spec.volume_options.insert(k.to_string(), v.to_string());
                }
            }
            "tmpfs-size" => {
                has_tmpfs = true;
                spec.tmpfs_size = Some(ram_in_bytes(&val).map_err(|_| bad_value(&val))?);
            }
            "tmpfs-mode" => {
                has_tmpfs = true;
                let mode = u32::from_str_radix(&val, 8).map_err(|_| bad_value(&val))?;
                spec.tmpfs_mode = Some(mode);
            }
            _ => {
                return Err(ParseError::new(format!(
                    "unexpected key '{key}' in '{field}'"
                )));
            }
        }
    }
    spec.kind = match kind.as_str() {
        "bind" => MountType::Bind,
        "volume" => MountType::Volume,
        "tmpfs" => MountType::Tmpfs,
        "" => return Err(ParseError::new("type is required")),
        other => {
            return Err(ParseError::new(format!(
                "invalid mount config for type \"{other}\": mount type unknown"
            )));
        }
    };
    if spec.target.is_empty() {
        return Err(ParseError::new("target is required"));
    }
    for (used, group) in [
        (has_volume, "volume"),
        (has_bind, "bind"),
        (has_tmpfs, "tmpfs"),
    ] {
        if used && spec.kind.as_str() != group {
            return Err(ParseError::new(format!(
                "cannot mix '{group}-*' options with mount type '{}'",
                spec.kind
            )));
        }
    }
    match recursive_readonly {
        Some("writable") if !spec.read_only => {
            return Err(ParseError::new(
                "option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction",
            ));
        }
        Some("readonly") if !spec.read_only => {
            return Err(ParseError::new(
                "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction",
            ));
        }
        _ => {}
    }
    spec.validate()?;
    spec.target = clean_path(&spec.target);
    if spec.kind == MountType::Bind {
        spec.source = clean_path(&spec.source);
    }
    Ok(spec)
}

/// A valid local volume name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn valid_volume_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

impl MountSpec {
    /// Docker's `validateMountConfig` without touching the filesystem (the
    /// daemon checks that a bind source exists).
    pub fn validate(&self) -> Result<(), ParseError> {
        let config_err = |e: String| {
            ParseError::new(format!(
                "invalid mount config for type \"{}\": {e}",
                self.kind
            ))
        };
        if self.target.is_empty() {
            return Err(config_err("field Target must not be empty".into()));
        }
        validate_destination(&self.target).map_err(|e| config_err(e.to_string()))?;
        match self.kind {
            MountType::Bind => {
                if self.source.is_empty() {
                    return Err(config_err("field Source must not be empty".into()));
                }
                if !self.source.starts_with('/') {
                    return Err(config_err(format!(
                        "invalid mount path: '{}' mount path must be absolute",
                        self.source
                    )));
                }
            }
            MountType::Volume => {
                if self.source.is_empty() && self.read_only {
                    return Err(config_err(
                        "must not set ReadOnly mode when using anonymous volumes".into(),
                    ));
                }
                if !self.source.is_empty() && !valid_volume_name(&self.source) {
                    return Err(ParseError::new(format!(
                        "{:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
                        self.source
                    )));
                }
            }
            MountType::Tmpfs => {
                if !self.source.is_empty() {
                    return Err(config_err("field Source must not be specified".into()));
                }
                if let Some(size) = self.tmpfs_size
                    && size < 0
                {
                    return Err(config_err(format!("invalid tmpfs size {size}")));
                }
                if let Some(mode) = self.tmpfs_mode
                    && mode > 0o7777
                {
                    return Err(config_err(format!("invalid tmpfs mode {mode:o}")));
                }
            }
        }
        Ok(())
    }

    /// The tmpfs data options of a tmpfs mount (`ro`, `mode=`, `size=`),
    /// as Docker's `ConvertTmpfsOptions` writes them.
    pub fn tmpfs_options(&self) -> Vec<String> {
        let mut opts = Vec::new();
        if self.read_only {
            opts.push("ro".to_string());
        }
        if let Some(mode) = self.tmpfs_mode
            && mode != 0
        {
            opts.push(format!("mode={mode:o}"));
        }
        if let Some(size) = self.tmpfs_size
            && size != 0
        {
            let (mut n, mut suffix) = (size, "");
            for (s, div) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
                if size % div == 0 {
                    n = size / div;
                    suffix = s;
                    break;
                }
            }
            opts.push(format!("size={n}{suffix}"));
        }
        opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_forms() {
        let m = parse_volume_spec("/data").unwrap();
        assert_eq!(
            (m.kind, m.source.as_str(), m.target.as_str()),
            (MountType::Volume, "", "/data")
        );

        let m = parse_volume_spec("myvol:/data").unwrap();
        assert_eq!((m.kind, m.source.as_str()), (MountType::Volume, "myvol"));
        assert!(!m.read_only);

        let m = parse_volume_spec("/host/dir/:/ctr:ro,z").unwrap();
        assert_eq!(m.kind, MountType::Bind);
        assert_eq!(m.source, "/host/dir");
        assert_eq!(m.target, "/ctr");
        assert!(m.read_only);
        assert!(m.create_source);
        assert_eq!(m.selinux_label, Some('z'));
        assert_eq!(m.mode, "ro,z");

        let m = parse_volume_spec("/a:/b:rshared").unwrap();
        assert_eq!(m.propagation, Some(Propagation::RShared));

        let m = parse_volume_spec("vol:/b:nocopy").unwrap();
        assert!(m.volume_nocopy);
    }

    #[test]
    fn volume_errors() {
        let msg = |s: &str| parse_volume_spec(s).unwrap_err().to_string();
        assert_eq!(msg(""), "invalid volume specification: ''");
        assert_eq!(msg(":/x"), "invalid volume specification: ':/x'");
        assert_eq!(msg("/foo:rw"), "invalid volume specification: '/foo:rw'");
        assert_eq!(
            msg("/a:/b:c:d"),
            "invalid volume specification: '/a:/b:c:d'"
        );
        assert_eq!(msg("/a:/b:rx"), "invalid mode: rx");
        assert_eq!(msg("/a:/b:ro,rw"), "invalid mode: ro,rw");
        assert_eq!(msg("vol:/b:rshared"), "invalid mode: rshared");
        assert_eq!(
            msg("/a:b"),
            "invalid volume specification: '/a:b': invalid mount config for type \"bind\": invalid mount path: 'b' mount path must be absolute"
        );
        assert_eq!(
            msg("/a:/"),
            "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
        );
        assert!(
            msg("bad name!:/x").contains("includes invalid characters for a local volume name")
        );
    }

    #[test]
    fn mount_forms() {
        let m = parse_mount_spec(
            "type=bind,source=/a,target=/b,readonly,bind-propagation=rslave",
            None,
        )
        .unwrap();
        assert_eq!(m.kind, MountType::Bind);
        assert_eq!((m.source.as_str(), m.target.as_str()), ("/a", "/b"));
        assert!(m.read_only);
        assert!(!m.create_source);
        assert_eq!(m.propagation, Some(Propagation::RSlave));

        let m = parse_mount_spec("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770", None).unwrap();
        assert_eq!(m.kind, MountType::Tmpfs);
        assert_eq!(m.tmpfs_size, Some(64 << 20));
        assert_eq!(m.tmpfs_mode, Some(0o1770));
        assert_eq!(m.tmpfs_options(), vec!["mode=1770", "size=64m"]);

        let m = parse_mount_spec("source=v1,target=/v,volume-nocopy,volume-opt=type=nfs,\"volume-opt=o=addr=1.2.3.4,rw\"", None)
            .unwrap();
        assert_eq!(m.kind, MountType::Volume);
        assert!(m.volume_nocopy);
        assert_eq!(
            m.volume_options.get("type").map(String::as_str),
            Some("nfs")
        );
        assert_eq!(
            m.volume_options.get("o").map(String::as_str),
            Some("addr=1.2.3.4,rw")
        );

        let m = parse_mount_spec(
            "type=bind,src=/a,dst=/b,ro=false,bind-recursive=disabled",
            None,
        )
        .unwrap();
        assert!(!m.read_only);
        assert!(m.bind_non_recursive);

        let m = parse_mount_spec("type=bind,src=./x,dst=/b", Some("/home/u")).unwrap();
        assert_eq!(m.source, "/home/u/x");
        assert!(parse_mount_spec("type=bind,src=./x,dst=/b", None).is_err());
    }

    #[test]
    fn mount_errors() {
        let msg = |s: &str| parse_mount_spec(s, None).unwrap_err().to_string();
        assert_eq!(msg("type=bind,source=/a"), "target is required");
        assert_eq!(
            msg("type=bind,target=/b,foo"),
            "invalid field 'foo' must be a key=value pair"
        );
        assert_eq!(
            msg("type=bind,target=/b,foo=1"),
            "unexpected key 'foo' in 'foo=1'"
        );
        assert_eq!(
            msg("type=tmpfs,target=/b,bind-propagation=rshared"),
            "cannot mix 'bind-*' options with mount type 'tmpfs'"
        );
        assert_eq!(
            msg("type=bind,target=/b,volume-nocopy"),
            "cannot mix 'volume-*' options with mount type 'bind'"
        );
        assert_eq!(
            msg("type=bind,src=/a,target=/b,ro=maybe"),
            "invalid value for ro: maybe"
        );
        assert_eq!(
            msg("type=tmpfs,target=/b,tmpfs-size=20q"),
            "invalid value for tmpfs-size: 20q"
        );
        assert_eq!(
            msg("type=bind,src=/a,target=/b,bind-propagation=sideways"),
            "invalid propagation mode: sideways"
        );
        assert_eq!(
            msg("type=nfs,target=/b"),
            "invalid mount config for type \"nfs\": mount type unknown"
        );
        assert_eq!(
            msg("type=bind,target=/b"),
            "invalid mount config for type \"bind\": field Source must not be empty"
        );
        assert_eq!(
            msg("type=bind,source=rel,target=/b"),
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            msg("type=tmpfs,source=x,target=/b"),
            "invalid mount config for type \"tmpfs\": field Source must not be specified"
        );
        assert_eq!(
            msg("type=volume,target=/b,readonly"),
            "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes"
        );
        assert!(
            msg("type=bind,src=/a,target=/b,bind-recursive=readonly")
                .contains("requires 'readonly'")
        );
        assert!(msg("type=bind,src=\"/a,target=/b").contains("quoted field"));
    }
}
