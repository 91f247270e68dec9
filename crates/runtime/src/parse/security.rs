//! `--security-opt` values the engine understands.

use super::{ParseError, parse_bool};

/// One `--security-opt` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityOpt {
    /// `no-new-privileges`, `no-new-privileges=true|false` (also `:`).
    NoNewPrivileges(bool),
    /// `seccomp=unconfined`.
    SeccompUnconfined,
    /// `seccomp=<profile>`: a JSON profile (the CLI reads the file).
    SeccompProfile(String),
    /// `apparmor=<profile>`.
    Apparmor(String),
    /// `label=…` (SELinux; accepted and ignored by Berth).
    Label(String),
    /// `systempaths=unconfined`: no masked or read-only paths.
    SystempathsUnconfined,
}

/// Parses one `--security-opt` value (`key=value`, or `key:value` for
/// compatibility, or bare `no-new-privileges`).
pub fn parse_security_opt(s: &str) -> Result<SecurityOpt, ParseError> {
    if s == "no-new-privileges" {
        return Ok(SecurityOpt::NoNewPrivileges(true));
    }
    let (key, value) = s
        .split_once('=')
        .or_else(|| s.split_once(':'))
        .ok_or_else(|| ParseError::new(format!("Invalid --security-opt: {s:?}")))?;
    match key {
        "no-new-privileges" => parse_bool(value)
            .map(SecurityOpt::NoNewPrivileges)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "invalid --security-opt 2: {s:?}: no-new-privileges expects a boolean"
                ))
            }),
        "seccomp" if value == "unconfined" => Ok(SecurityOpt::SeccompUnconfined),
        "seccomp" => Ok(SecurityOpt::SeccompProfile(value.to_string())),
        "apparmor" => Ok(SecurityOpt::Apparmor(value.to_string())),
        "label" => Ok(SecurityOpt::Label(value.to_string())),
        "systempaths" if value == "unconfined" => Ok(SecurityOpt::SystempathsUnconfined),
        _ => Err(ParseError::new(format!("invalid --security-opt 2: {s:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            parse_security_opt("no-new-privileges"),
            Ok(SecurityOpt::NoNewPrivileges(true))
        );
        assert_eq!(
            parse_security_opt("no-new-privileges:false"),
            Ok(SecurityOpt::NoNewPrivileges(false))
        );
        assert_eq!(
            parse_security_opt("seccomp=unconfined"),
            Ok(SecurityOpt::SeccompUnconfined)
        );
        assert_eq!(
            parse_security_opt("systempaths=unconfined"),
            Ok(SecurityOpt::SystempathsUnconfined)
        );
        assert!(parse_security_opt("bogus").is_err());
        assert!(parse_security_opt("systempaths=confined").is_err());
        assert!(parse_security_opt("no-new-privileges=maybe").is_err());
    }
}
