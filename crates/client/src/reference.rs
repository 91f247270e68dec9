//! Image references as the client needs them (Docker's
//! `distribution/reference`): parsing and normalising `busybox` to
//! `docker.io/library/busybox`, and the familiar short form for display.

use std::fmt;

pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
const NAME_MAX: usize = 255;

/// A parsed, normalised reference: `domain/path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    /// Docker's `ParseNormalizedNamed`.
    pub fn parse_normalized(s: &str) -> Result<Self, String> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            ));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder.split(':').next().unwrap_or_default();
        if remote.to_lowercase() != remote {
            return Err(format!(
                "invalid reference format: repository name ({remote}) must be lowercase"
            ));
        }
        parse(&format!("{domain}/{remainder}"))
    }

    /// `domain/path`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The short name a user types: `busybox`, `me/app`, `host:5000/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }

    /// The familiar name with tag and digest: `busybox:latest`.
    pub fn familiar_string(&self) -> String {
        let mut out = self.familiar_name();
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }

    /// Adds the `latest` tag when there is neither tag nor digest.
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".to_string());
        }
        self
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// Parses `domain/path[:tag][@digest]` (the domain already split off).
fn parse(s: &str) -> Result<Reference, String> {
    const INVALID: &str = "invalid reference format";
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    let Some((domain, path)) = name.split_once('/') else {
        return Err(INVALID.to_string());
    };
    if !is_domain(domain) || !path.split('/').all(is_path_component) {
        if path
            .split('/')
            .all(|c| is_path_component(&c.to_lowercase()))
        {
            return Err(format!("{INVALID}: repository name must be lowercase"));
        }
        return Err(INVALID.to_string());
    }
    if name.len() > NAME_MAX {
        return Err(format!(
            "{INVALID}: repository name must not be more than {NAME_MAX} characters"
        ));
    }
    if tag.is_some_and(|t| !is_tag(t)) {
        return Err(INVALID.to_string());
    }
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    Ok(Reference {
        domain: domain.to_string(),
        path: path.to_string(),
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
    })
}

fn is_path_component(c: &str) -> bool {
    // [a-z0-9]+ ((?:[._]|__|[-]+) [a-z0-9]+)*
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let ok = match &c[sep..i] {
            "." | "_" | "__" => true,
            s => s.bytes().all(|x| x == b'-'),
        };
        if !ok {
            return false;
        }
    }
}

fn is_domain(d: &str) -> bool {
    let is_port = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(after) = d.strip_prefix('[') {
        let Some((ip, tail)) = after.split_once(']') else {
            return false;
        };
        if ip.is_empty() || !ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        return tail.is_empty() || tail.strip_prefix(':').is_some_and(is_port);
    }
    let host = match d.split_once(':') {
        Some((h, p)) if is_port(p) => h,
        Some(_) => return false,
        None => d,
    };
    !host.is_empty()
        && host.split('.').all(|comp| {
            let b = comp.as_bytes();
            !b.is_empty()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

fn check_digest(d: &str) -> Result<(), String> {
    let Some((alg, hex)) = d.split_once(':') else {
        return Err("invalid reference format".to_string());
    };
    let alg_ok = !alg.is_empty()
        && alg.split(['-', '_', '+', '.']).all(|part| {
            let b = part.as_bytes();
            !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
        });
    if !alg_ok || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("invalid reference format".to_string());
    }
    match alg {
        "sha256" if hex.len() != 64 => Err("invalid checksum digest length".to_string()),
        "sha512" if hex.len() != 128 => Err("invalid checksum digest length".to_string()),
        "sha256" | "sha512" | "sha384" => Ok(()),
        _ => Err("unsupported digest algorithm".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse_normalized(s).unwrap()
    }

    #[test]
    fn normalises_like_docker() {
        let r = p("busybox");
        assert_eq!(r.to_string(), "docker.io/library/busybox");
        assert_eq!(r.familiar_name(), "busybox");
        assert_eq!(
            r.with_default_tag().to_string(),
            "docker.io/library/busybox:latest"
        );
        let r = p("me/app:1.0");
        assert_eq!(r.name(), "docker.io/me/app");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.familiar_name(), "me/app");
        let r = p("localhost:5000/a/b:v");
        assert_eq!(r.domain, "localhost:5000");
        assert_eq!(r.path, "a/b");
        assert_eq!(r.familiar_name(), "localhost:5000/a/b");
        let r = p("index.docker.io/library/busybox");
        assert_eq!(r.familiar_name(), "busybox");
        let r = p("docker.io/library/busybox:latest");
        assert_eq!(r.familiar_name(), "busybox");
        let r = p("localhost/x");
        assert_eq!(r.domain, "localhost");
        let r = p("[::1]:5000/x:1");
        assert_eq!(r.domain, "[::1]:5000");
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = p(&format!("busybox@{digest}"));
        assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
        assert_eq!(r.tag, None);
        let r = p("a_b.c__d-e---f");
        assert_eq!(r.path, "library/a_b.c__d-e---f");
    }

    #[test]
    fn rejects_bad_references() {
        let err = Reference::parse_normalized("Busybox").unwrap_err();
        assert_eq!(
            err,
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        for bad in [
            "",
            "a:",
            "a::b",
            "-a",
            "a/",
            "a//b",
            "a:b c",
            "a@sha256:xyz",
            "a..b",
        ] {
            assert!(Reference::parse_normalized(bad).is_err(), "{bad:?}");
        }
        let hex = "a".repeat(64);
        assert!(
            Reference::parse_normalized(&hex)
                .unwrap_err()
                .contains("64-byte hexadecimal")
        );
        assert!(Reference::parse_normalized(&format!("x:{}", "t".repeat(129))).is_err());
    }
}
