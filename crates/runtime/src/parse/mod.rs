//! Parsers for Docker's value syntaxes shared by the daemon and the CLI
//! (sizes, `--cpus`, `--ulimit`, `--tmpfs`, `-v`, `--mount`, `--device`,
//! `--sysctl`, `--security-opt`). Pure functions over strings; std only.

mod cpus;
mod device;
mod mount;
mod security;
mod size;
mod tmpfs;
mod ulimit;

use std::fmt;

pub use cpus::{CpuSet, parse_cpuset, parse_nano_cpus};
pub use device::{
    DeviceCgroupRule, DeviceSpec, parse_device, parse_device_cgroup_rule, parse_sysctl,
    validate_device_permissions, validate_sysctl_name,
};
pub(crate) use device::{SysctlNamespace, sysctl_namespace};
pub use mount::{MountSpec, MountType, Propagation, parse_mount_spec, parse_volume_spec};
pub use security::{SecurityOpt, parse_security_opt};
pub use size::{from_human_size, ram_in_bytes};
pub use tmpfs::{TmpfsSpec, merge_tmpfs_options, parse_tmpfs, validate_tmpfs_options};
pub use ulimit::{ULIMIT_NAMES, Ulimit, parse_ulimit};

/// A value that does not parse. The message says what was wrong and with
/// which value; [`ParseError::for_flag`] prefixes the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    message: String,
}

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// `invalid <flag> "<value>": <message>`.
    pub fn for_flag(self, flag: &str, value: &str) -> Self {
        Self::new(format!("invalid {flag} {value:?}: {}", self.message))
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

impl berth_api::Classify for ParseError {
    fn kind(&self) -> berth_api::ErrorKind {
        berth_api::ErrorKind::InvalidParameter
    }
}

impl From<ParseError> for berth_api::Error {
    fn from(err: ParseError) -> Self {
        berth_api::Error::from_classified(err)
    }
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Lexically cleans an absolute or relative path like Go's `path.Clean`.
pub fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_flag_names_flag_and_value() {
        let e = ParseError::new("invalid format").for_flag("--cpuset-cpus", "0-");
        assert_eq!(
            e.to_string(),
            "invalid --cpuset-cpus \"0-\": invalid format"
        );
    }

    #[test]
    fn clean() {
        assert_eq!(clean_path("/a/b/../c/"), "/a/c");
        assert_eq!(clean_path("/../.."), "/");
        assert_eq!(clean_path("a/../../b"), "../b");
        assert_eq!(clean_path(""), ".");
        assert_eq!(clean_path("//x//y"), "/x/y");
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
