//! Image references parsed and normalised exactly as Docker's `distribution/reference` does.
//!
//! Grammar (Docker's):
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] remote-name
//! domain           := host [':' port-number]
//! host             := domain-name | '[' IPv6address ']'
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! remote-name      := path-component ['/' path-component]*
//! path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*
//! separator        := /[._]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" /[0-9a-fA-F]{32,}/
//! ```
//!
//! [`Named::parse_normalized`] is Docker's `ParseNormalizedNamed` (`busybox`
//! → `docker.io/library/busybox`), [`AnyReference::parse`] is
//! `ParseAnyReference` (a bare 64-hex string or `sha256:<hex>` is an image
//! ID), and [`Named::familiar_string`] is `FamiliarString`.

use std::fmt;

use crate::{Digest, ImageError, Result};

/// The domain of Docker Hub.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The legacy name of Docker Hub, normalised to [`DEFAULT_DOMAIN`].
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of official images on Docker Hub.
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag given to a reference that has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Maximum length of the path (remote name) of a repository.
pub const REPOSITORY_NAME_MAX_LEN: usize = 255;

const ERR_INVALID_FORMAT: &str = "invalid reference format";
const ERR_NAME_EMPTY: &str = "repository name must have at least one component";
const ERR_UPPERCASE: &str = "repository name must be lowercase";

fn invalid(msg: impl Into<String>) -> ImageError {
    ImageError::InvalidReference(msg.into())
}

/// A reference with a repository name, and optionally a tag, a digest or
/// both. Names produced by [`Named::parse_normalized`] always have a domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Named {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// What a user may type where an image is expected: an image ID (64 hex
/// digits or `sha256:<hex>`), or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AnyReference {
    /// A full image ID.
    Id(Digest),
    /// A (normalised) name, with optional tag and digest.
    Named(Named),
}

impl AnyReference {
    /// Docker's `ParseAnyReference`: a 64-hex string or a valid
    /// `sha256:<hex>` digest is an ID, anything else is parsed with
    /// [`Named::parse_normalized`].
    pub fn parse(s: &str) -> Result<Self> {
        if is_identifier(s) {
            return Ok(AnyReference::Id(Digest::from_hex(s)?));
        }
        if let Ok(d) = s.parse::<Digest>() {
            return Ok(AnyReference::Id(d));
        }
        Named::parse_normalized(s).map(AnyReference::Named)
    }

    /// The familiar form, as Docker prints it in messages.
    pub fn familiar_string(&self) -> String {
        match self {
            AnyReference::Id(d) => d.to_string(),
            AnyReference::Named(n) => n.familiar_string(),
        }
    }
}

impl fmt::Display for AnyReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyReference::Id(d) => write!(f, "{d}"),
            AnyReference::Named(n) => write!(f, "{n}"),
        }
    }
}

impl Named {
    /// Docker's `ParseNormalizedNamed`: parses a familiar or full name
    /// (`busybox`, `user/app:1.0`, `localhost:5000/a/b@sha256:…`) into its
    /// fully qualified form (`docker.io/library/busybox`). Does not add a
    /// default tag; see [`Named::tag_name_only`].
    pub fn parse_normalized(s: &str) -> Result<Self> {
        if is_identifier(s) {
            return Err(invalid(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = match remainder.find(':') {
            Some(i) => &remainder[..i],
            None => &remainder[..],
        };
        if remote.to_lowercase() != remote {
            return Err(invalid(format!(
                "{ERR_INVALID_FORMAT}: repository name ({remote}) must be lowercase"
            )));
        }
        Self::parse(&format!("{domain}/{remainder}"))
    }

    /// Docker's `ParseDockerRef`: normalised, `latest` added when there is
    /// neither tag nor digest, and only the digest kept when both are given.
    pub fn parse_docker_ref(s: &str) -> Result<Self> {
        let named = Self::parse_normalized(s)?;
        if named.digest.is_some() {
            return Ok(Named { tag: None, ..named });
        }
        Ok(named.tag_name_only())
    }

    /// Docker's `Parse` restricted to named references: the string as
    /// written, without normalisation (no default domain).
    pub fn parse(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(invalid(ERR_NAME_EMPTY));
        }
        let parts = match split_reference(s) {
            Some(p) => p,
            None => {
                let lower = s.to_lowercase();
                if lower != s && split_reference(&lower).is_some() {
                    return Err(invalid(ERR_UPPERCASE));
                }
                return Err(invalid(ERR_INVALID_FORMAT));
            }
        };
        let (domain, path) = split_domain(parts.name);
        if path.len() > REPOSITORY_NAME_MAX_LEN {
            return Err(invalid(format!(
                "repository name must not be more than {REPOSITORY_NAME_MAX_LEN} characters"
            )));
        }
        let digest = match parts.digest {
            Some(d) => Some(parse_digest(d)?),
            None => None,
        };
        Ok(Named {
            domain: domain.to_string(),
            path: path.to_string(),
            tag: parts.tag.map(str::to_string),
            digest,
        })
    }

    /// The full repository name, `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The registry part (`docker.io`, `localhost:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// True when the reference has neither tag nor digest.
    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// Docker's `TagNameOnly`: adds the tag `latest` to a bare name.
    pub fn tag_name_only(self) -> Self {
        if self.is_name_only() {
            Named {
                tag: Some(DEFAULT_TAG.to_string()),
                ..self
            }
        } else {
            self
        }
    }

    /// The name alone, without tag or digest (Docker's `TrimNamed`).
    pub fn trim(&self) -> Self {
        Named {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    /// This name with `tag` (keeping any digest); the tag is validated.
    pub fn with_tag(&self, tag: &str) -> Result<Self> {
        if !is_tag(tag) {
            return Err(invalid("invalid tag format"));
        }
        Ok(Named {
            tag: Some(tag.to_string()),
            ..self.clone()
        })
    }

    /// This name with `digest` and without tag.
    pub fn with_digest(&self, digest: Digest) -> Self {
        Named {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// Docker's `FamiliarName`: `busybox`, `user/app`, `localhost:5000/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            if let Some(rest) = self.path.strip_prefix(OFFICIAL_REPO_PREFIX)
                && !rest.contains('/')
            {
                return rest.to_string();
            }
            return self.path.clone();
        }
        self.name()
    }

    /// Docker's `FamiliarString`: the familiar name with tag and digest.
    pub fn familiar_string(&self) -> String {
        let mut out = self.familiar_name();
        self.push_suffix(&mut out);
        out
    }

    fn push_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(d) = &self.digest {
            out.push('@');
            out.push_str(&d.to_string());
        }
    }
}

impl fmt::Display for Named {
    /// The full string: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_suffix(&mut out);
        f.write_str(&out)
    }
}

impl std::str::FromStr for Named {
    type Err = ImageError;

    /// Same as [`Named::parse_normalized`].
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_normalized(s)
    }
}

/// True for exactly 64 lowercase hex digits (Docker's "identifier").
pub fn is_identifier(s: &str) -> bool {
    crate::is_sha256_hex(s)
}

/// Splits a familiar name into domain and remainder, as Docker's
/// `splitDockerDomain` does (including `library/` for official images).
fn split_docker_domain(name: &str) -> (&str, String) {
    let Some((maybe_domain, maybe_remote)) = name.split_once('/') else {
        return (DEFAULT_DOMAIN, format!("{OFFICIAL_REPO_PREFIX}{name}"));
    };
    let (domain, remote) = if maybe_domain == "localhost" {
        (maybe_domain, maybe_remote)
    } else if maybe_domain == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN, maybe_remote)
    } else if maybe_domain.contains(['.', ':']) || maybe_domain.to_lowercase() != maybe_domain {
        (maybe_domain, maybe_remote)
    } else {
        (DEFAULT_DOMAIN, name)
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        (domain, format!("{OFFICIAL_REPO_PREFIX}{remote}"))
    } else {
        (domain, remote.to_string())
    }
}

struct Parts<'a> {
    name: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// Matches the whole reference grammar; `None` when it does not match.
fn split_reference(s: &str) -> Option<Parts<'_>> {
    let (name_tag, digest) = match s.split_once('@') {
        Some((nt, d)) => {
            if !is_digest_pattern(d) {
                return None;
            }
            (nt, Some(d))
        }
        None => (s, None),
    };
    // A tag cannot contain ':' or '/'; a port is always followed by '/'.
    let (name, tag) = match name_tag.rfind(':') {
        Some(i) if !name_tag[i + 1..].contains('/') => (&name_tag[..i], Some(&name_tag[i + 1..])),
        _ => (name_tag, None),
    };
    if let Some(t) = tag
        && !is_tag(t)
    {
        return None;
    }
    if !is_name(name) {
        return None;
    }
    Some(Parts { name, tag, digest })
}

/// Splits a valid name into (domain, path), preferring a domain when the
/// first component can be one (like the greedy optional group of Docker's
/// anchored name regexp).
fn split_domain(name: &str) -> (&str, &str) {
    if let Some((first, rest)) = name.split_once('/')
        && is_domain_and_port(first)
        && is_remote_name(rest)
    {
        return (first, rest);
    }
    ("", name)
}

fn is_name(name: &str) -> bool {
    if is_remote_name(name) {
        return true;
    }
    match name.split_once('/') {
        Some((first, rest)) => is_domain_and_port(first) && is_remote_name(rest),
        None => false,
    }
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let mut i = 0;
    loop {
        // One run of alphanumerics is required here.
        let start = i;
        while i < b.len() && is_lower_alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        // A separator.
        let sep_start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        debug_assert!(i > sep_start);
    }
}

fn is_remote_name(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
}

/// host [':' port], host being a domain name or a bracketed IPv6 address.
fn is_domain_and_port(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((addr, after)) = rest.split_once(']') else {
            return false;
        };
        let addr_ok = !addr.is_empty() && addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return addr_ok && port_ok;
    }
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    host.split('.').all(is_domain_component) && port.is_none_or(is_port)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `[\w][\w.-]{0,127}`
pub fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && is_word(b[0])
        && b[1..].iter().all(|&x| is_word(x) || x == b'.' || x == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
fn is_digest_pattern(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    if hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|x| x.is_ascii_alphanumeric())
    })
}

/// go-digest's `Parse` for a string that matched the digest pattern.
fn parse_digest(d: &str) -> Result<Digest> {
    let (alg, hex) = d.split_once(':').unwrap_or((d, ""));
    if alg != "sha256" {
        return Err(invalid("unsupported digest algorithm"));
    }
    if hex.len() != 64 {
        return Err(invalid("invalid checksum digest length"));
    }
    Digest::from_hex(hex).map_err(|_| invalid("invalid checksum digest format"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_F: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    fn err(s: &str) -> String {
        Named::parse_normalized(s).unwrap_err().to_string()
    }

    #[test]
    fn normalises_familiar_names() {
        let cases = [
            ("busybox", "docker.io/library/busybox"),
            ("busybox:latest", "docker.io/library/busybox:latest"),
            ("library/busybox", "docker.io/library/busybox"),
            ("docker.io/busybox", "docker.io/library/busybox"),
            ("index.docker.io/busybox", "docker.io/library/busybox"),
            ("index.docker.io/user/app", "docker.io/user/app"),
            ("user/app:1.0", "docker.io/user/app:1.0"),
            ("localhost/app", "localhost/app"),
            ("localhost:5000/a/b:tag", "localhost:5000/a/b:tag"),
            ("127.0.0.1:5000/debian", "127.0.0.1:5000/debian"),
            ("example.com/a", "example.com/a"),
            ("Docker/docker", "Docker/docker"),
            ("LOCALDOMAIN/fooo/bar", "LOCALDOMAIN/fooo/bar"),
            ("[fc00::1]:5000/docker", "[fc00::1]:5000/docker"),
        ];
        for (input, want) in cases {
            let n = Named::parse_normalized(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.to_string(), want, "{input}");
        }
    }

    #[test]
    fn default_tag_and_docker_ref() {
        let n = Named::parse_normalized("busybox").unwrap().tag_name_only();
        assert_eq!(n.to_string(), "docker.io/library/busybox:latest");
        assert_eq!(n.familiar_string(), "busybox:latest");
        let d = format!("sha256:{HEX_F}");
        let n = Named::parse_normalized(&format!("busybox@{d}"))
            .unwrap()
            .tag_name_only();
        assert_eq!(n.tag(), None, "a digested name gets no tag");
        let cases = [
            ("busybox", "docker.io/library/busybox:latest".to_string()),
            (
                "docker.io/busybox:latest",
                "docker.io/library/busybox:latest".to_string(),
            ),
            (
                "gcr.io/library/busybox",
                "gcr.io/library/busybox:latest".to_string(),
            ),
            (
                &*format!("gcr.io/library/busybox:latest@{d}"),
                format!("gcr.io/library/busybox@{d}"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Named::parse_docker_ref(input).unwrap().to_string(), want);
        }
    }

    #[test]
    fn tag_and_digest_together() {
        let s = "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
        let n = Named::parse_normalized(s).unwrap();
        assert_eq!(n.to_string(), format!("docker.io/library/{s}"));
        assert_eq!(n.tag(), Some("latest"));
        assert!(n.digest().is_some());
        assert_eq!(n.familiar_string(), s);
    }

    // Docker's TestValidateReferenceName.
    #[test]
    fn valid_and_invalid_repository_names() {
        let valid = [
            "docker/docker",
            "library/debian",
            "debian",
            "localhost/library/debian",
            "localhost/debian",
            "LOCALDOMAIN/library/debian",
            "LOCALDOMAIN/debian",
            "docker.io/docker/docker",
            "docker.io/library/debian",
            "docker.io/debian",
            "index.docker.io/docker/docker",
            "index.docker.io/library/debian",
            "index.docker.io/debian",
            "127.0.0.1:5000/docker/docker",
            "127.0.0.1:5000/library/debian",
            "127.0.0.1:5000/debian",
            "192.168.0.1",
            "192.168.0.1:80",
            "192.168.0.1:8/debian",
            "192.168.0.2:25000/debian",
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000/docker/docker",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "Docker/docker",
            "DOCKER/docker",
            // TestValidateRemoteName
            "docker-rules/docker",
            "docker---rules/docker",
            "doc/docker",
            "d/docker",
            "jess/t",
            "dock__er/docker",
        ];
        for name in valid {
            if let Err(e) = Named::parse_normalized(name) {
                panic!("{name} should be valid: {e}");
            }
        }
        let long_ns = format!(
            "{}/docker",
            "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_".repeat(4)
        );
        let invalid = [
            "https://github.com/docker/docker",
            "docker/Docker",
            "-docker",
            "-docker/docker",
            "-docker.io/docker/docker",
            "docker///docker",
            "docker.io/docker/Docker",
            "docker.io/docker///docker",
            "[fc00::1]",
            "[fc00::1]:5000",
            "fc00::1:5000/debian",
            "[fe80::1%eth0]:5000/debian",
            "[2001:db8:3:4::192.0.2.33]:5000/debian",
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "docker-/docker",
            "-docker-/docker",
            "____/____",
            "_docker/_docker",
            "dock..er/docker",
            "dock_.er/docker",
            "dock-.er/docker",
            "dock___er/docker",
            "docker/",
            "",
            ":tag",
            "busybox:",
            "busybox@",
            "a b",
            &long_ns,
        ];
        for name in invalid {
            assert!(
                Named::parse_normalized(name).is_err(),
                "{name:?} should be invalid"
            );
        }
    }

    // Docker's TestParseRepositoryInfo.
    #[test]
    fn familiar_and_full_names() {
        // (remote name, familiar, full, ambiguous spellings, domain)
        let cases: &[(&str, &str, &str, &[&str], &str)] = &[
            ("fooo", "localhost/fooo", "localhost/fooo", &[], "localhost"),
            (
                "fooo/bar",
                "localhost/fooo/bar",
                "localhost/fooo/bar",
                &[],
                "localhost",
            ),
            (
                "fooo",
                "LOCALDOMAIN/fooo",
                "LOCALDOMAIN/fooo",
                &[],
                "LOCALDOMAIN",
            ),
            (
                "fooo/bar",
                "fooo/bar",
                "docker.io/fooo/bar",
                &["index.docker.io/fooo/bar"],
                "docker.io",
            ),
            (
                "library/ubuntu",
                "ubuntu",
                "docker.io/library/ubuntu",
                &["library/ubuntu"],
                "docker.io",
            ),
            (
                "nonlibrary/ubuntu",
                "nonlibrary/ubuntu",
                "docker.io/nonlibrary/ubuntu",
                &[],
                "docker.io",
            ),
            (
                "other/library",
                "other/library",
                "docker.io/other/library",
                &[],
                "docker.io",
            ),
            (
                "private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                &[],
                "127.0.0.1:8000",
            ),
            (
                "privatebase",
                "example.com:8000/privatebase",
                "example.com:8000/privatebase",
                &[],
                "example.com:8000",
            ),
            (
                "library/ubuntu-12.04-base",
                "ubuntu-12.04-base",
                "docker.io/library/ubuntu-12.04-base",
                &["index.docker.io/library/ubuntu-12.04-base"],
                "docker.io",
            ),
            (
                "library/foo",
                "foo",
                "docker.io/library/foo",
                &["docker.io/foo"],
                "docker.io",
            ),
            (
                "library/foo/bar",
                "library/foo/bar",
                "docker.io/library/foo/bar",
                &[],
                "docker.io",
            ),
            (
                "store/foo/bar",
                "store/foo/bar",
                "docker.io/store/foo/bar",
                &[],
                "docker.io",
            ),
            ("bar", "Foo/bar", "Foo/bar", &[], "Foo"),
        ];
        for (remote, familiar, full, ambiguous, domain) in cases {
            let mut inputs = vec![*familiar, *full];
            inputs.extend_from_slice(ambiguous);
            for input in inputs {
                let n = Named::parse_normalized(input).unwrap();
                assert_eq!(n.familiar_name(), *familiar, "{input}");
                assert_eq!(n.to_string(), *full, "{input}");
                assert_eq!(n.domain(), *domain, "{input}");
                assert_eq!(n.path(), *remote, "{input}");
            }
        }
    }

    // Docker's TestNormalizedSplitHostname.
    #[test]
    fn split_hostname() {
        let cases = [
            ("test.com/foo", "test.com", "foo"),
            ("test_com/foo", "docker.io", "test_com/foo"),
            ("docker/migrator", "docker.io", "docker/migrator"),
            ("test.com:8080/foo", "test.com:8080", "foo"),
            ("test-com:8080/foo", "test-com:8080", "foo"),
            ("foo", "docker.io", "library/foo"),
            ("xn--n3h.com/foo", "xn--n3h.com", "foo"),
            ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
            ("docker.io/foo", "docker.io", "library/foo"),
            ("docker.io/library/foo", "docker.io", "library/foo"),
            ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
        ];
        for (input, domain, path) in cases {
            let n = Named::parse_normalized(input).unwrap();
            assert_eq!((n.domain(), n.path()), (domain, path), "{input}");
        }
    }

    // Docker's TestReferenceParse (the non-normalising parser).
    #[test]
    fn raw_parse() {
        let ok: &[(&str, &str, &str, Option<&str>, bool)] = &[
            // input, domain, name, tag, has digest
            ("test_com", "", "test_com", None, false),
            ("test.com:tag", "", "test.com", Some("tag"), false),
            ("test.com:5000", "", "test.com", Some("5000"), false),
            (
                "test.com/repo:tag",
                "test.com",
                "test.com/repo",
                Some("tag"),
                false,
            ),
            ("test:5000/repo", "test:5000", "test:5000/repo", None, false),
            (
                "test:5000/repo:tag",
                "test:5000",
                "test:5000/repo",
                Some("tag"),
                false,
            ),
            (
                "lowercase:Uppercase",
                "",
                "lowercase",
                Some("Uppercase"),
                false,
            ),
            (
                "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
                "sub-dom1.foo.com",
                "sub-dom1.foo.com/bar/baz/quux",
                Some("some-long-tag"),
                false,
            ),
            (
                "b.gcr.io/test.example.com/my-app:test.example.com",
                "b.gcr.io",
                "b.gcr.io/test.example.com/my-app",
                Some("test.example.com"),
                false,
            ),
            ("foo_bar.com:8080", "", "foo_bar.com", Some("8080"), false),
            (
                "foo/foo_bar.com:8080",
                "foo",
                "foo/foo_bar.com",
                Some("8080"),
                false,
            ),
            ("192.168.1.1", "", "192.168.1.1", None, false),
            (
                "192.168.1.1:5000/repo:5050",
                "192.168.1.1:5000",
                "192.168.1.1:5000/repo",
                Some("5050"),
                false,
            ),
            (
                "[2001:db8::1]/repo",
                "[2001:db8::1]",
                "[2001:db8::1]/repo",
                None,
                false,
            ),
            (
                "[2001:db8::1]:5000/repo:tag",
                "[2001:db8::1]:5000",
                "[2001:db8::1]:5000/repo",
                Some("tag"),
                false,
            ),
            (
                "[::1]:5000/repo",
                "[::1]:5000",
                "[::1]:5000/repo",
                None,
                false,
            ),
        ];
        for (input, domain, name, tag, _) in ok {
            let n = Named::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.to_string(), *input);
            assert_eq!(n.domain(), *domain, "{input}");
            assert_eq!(n.name(), *name, "{input}");
            assert_eq!(n.tag(), *tag, "{input}");
        }
        let d = format!("test:5000/repo:tag@sha256:{HEX_F}");
        let n = Named::parse(&d).unwrap();
        assert_eq!(n.to_string(), d);
        assert_eq!(n.digest().unwrap().hex(), HEX_F);
        let long_path = format!("{}a:tag-puts-this-over-max", "a/".repeat(127));
        assert_eq!(Named::parse(&long_path).unwrap().domain(), "a");
        let fits = format!("example.com/{}:tag", "a".repeat(255));
        assert!(Named::parse(&fits).is_ok());

        let bad: &[(String, &str)] = &[
            (String::new(), ERR_NAME_EMPTY),
            (":justtag".into(), ERR_INVALID_FORMAT),
            (format!("@sha256:{HEX_F}"), ERR_INVALID_FORMAT),
            (
                "repo@sha256:ffffffffffffffffffffffffffffffffff".into(),
                "invalid checksum digest length",
            ),
            (
                format!("validname@invaliddigest:{HEX_F}"),
                "unsupported digest algorithm",
            ),
            ("Uppercase:tag".into(), ERR_UPPERCASE),
            ("test:5000/Uppercase/lowercase:tag".into(), ERR_UPPERCASE),
            (
                format!("domain/{}:tag", "a".repeat(256)),
                "repository name must not be more than 255 characters",
            ),
            ("aa/asdf$$^/aa".into(), ERR_INVALID_FORMAT),
            ("[2001:db8::1]".into(), ERR_INVALID_FORMAT),
            ("[2001:db8::1]:5000".into(), ERR_INVALID_FORMAT),
            ("[2001:db8::1]:tag".into(), ERR_INVALID_FORMAT),
            ("[fe80::1%eth0]:5000/repo".into(), ERR_INVALID_FORMAT),
            (
                "[fe80::1%@invalidzone]:5000/repo".into(),
                ERR_INVALID_FORMAT,
            ),
            (format!("a:{}", "t".repeat(129)), ERR_INVALID_FORMAT),
            ("a:-tag".into(), ERR_INVALID_FORMAT),
        ];
        for (input, want) in bad {
            let e = Named::parse(input).unwrap_err();
            assert_eq!(e.to_string(), *want, "{input:?}");
        }
    }

    #[test]
    fn docker_error_wording() {
        assert_eq!(
            err("Busybox"),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        assert_eq!(
            err("docker.io/docker/Docker:tag"),
            "invalid reference format: repository name (docker/Docker) must be lowercase"
        );
        assert_eq!(err("busybox:"), "invalid reference format");
        assert_eq!(err("-docker"), "invalid reference format");
        let id = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";
        assert_eq!(
            err(id),
            format!("invalid repository name ({id}), cannot specify 64-byte hexadecimal strings")
        );
        let e = Named::parse_normalized("a b").unwrap_err();
        assert_eq!(
            berth_api::Classify::kind(&e),
            berth_api::ErrorKind::InvalidParameter
        );
    }

    // Docker's TestParseAnyReference.
    #[test]
    fn any_reference() {
        let id = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
        let cases = [
            ("redis".to_string(), "docker.io/library/redis".to_string()),
            (
                "redis:latest".into(),
                "docker.io/library/redis:latest".into(),
            ),
            (
                "docker.io/library/redis:latest".into(),
                "docker.io/library/redis:latest".into(),
            ),
            (
                format!("redis@sha256:{id}"),
                format!("docker.io/library/redis@sha256:{id}"),
            ),
            ("dmcgowan/myapp".into(), "docker.io/dmcgowan/myapp".into()),
            (
                "docker.io/mcgowan/myapp:latest".into(),
                "docker.io/mcgowan/myapp:latest".into(),
            ),
            (
                id[..63].to_string(),
                format!("docker.io/library/{}", &id[..63]),
            ),
            ("dbcc1".into(), "docker.io/library/dbcc1".into()),
        ];
        for (input, want) in cases {
            let r = AnyReference::parse(&input).unwrap();
            assert!(matches!(r, AnyReference::Named(_)), "{input}");
            assert_eq!(r.to_string(), want);
        }
        for input in [id.to_string(), format!("sha256:{id}")] {
            match AnyReference::parse(&input).unwrap() {
                AnyReference::Id(d) => assert_eq!(d.hex(), id),
                other => panic!("{input}: {other:?}"),
            }
        }
        // A short digest is a name with a tag, as in Docker.
        match AnyReference::parse("sha256:dbcc1").unwrap() {
            AnyReference::Named(n) => {
                assert_eq!(n.familiar_name(), "sha256");
                assert_eq!(n.tag(), Some("dbcc1"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn with_tag_and_digest() {
        let n = Named::parse_normalized("busybox").unwrap();
        assert!(n.with_tag("-foo").is_err());
        assert_eq!(
            n.with_tag("1.36").unwrap().familiar_string(),
            "busybox:1.36"
        );
        let d = Digest::of(b"x");
        let c = n.with_tag("t").unwrap().with_digest(d.clone());
        assert_eq!(c.tag(), None);
        assert_eq!(c.familiar_string(), format!("busybox@{d}"));
        assert_eq!(c.trim().to_string(), "docker.io/library/busybox");
    }
}
