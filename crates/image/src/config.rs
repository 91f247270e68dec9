//! The image configuration document (Docker's image JSON, a superset of OCI's), its validation and platform names.
//!
//! An image's ID is the sha256 of the exact bytes of its configuration, so a
//! stored configuration is parsed to read it but never re-serialised;
//! [`ImageConfig::to_json`] is only for configurations Berth creates
//! (import, commit), and writes keys sorted as Docker does.

use std::collections::BTreeMap;

use berth_api::types::config::ContainerConfig;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Digest, ImageError, Result};

/// The only root filesystem type images have.
pub const ROOTFS_TYPE_LAYERS: &str = "layers";

/// An image configuration. Unknown top-level fields are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub architecture: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(
        rename = "os.features",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub variant: String,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<FixedOffset>>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub author: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub docker_version: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub comment: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<ContainerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<RootFs>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub history: Vec<History>,
    /// The legacy parent image ID (`sha256:…`), set by old builders only.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub parent: String,
    /// Fields this type does not know, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// `rootfs`: the layers of the image, bottom first, by diff ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub kind: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub diff_ids: Vec<Digest>,
}

/// One entry of `history`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<FixedOffset>>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub created_by: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub author: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub comment: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub empty_layer: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Go decodes `null` into a field as its zero value; so do we.
fn null_default<'de, D, T>(de: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// RFC 3339 timestamps, written as Go's `time.RFC3339Nano` writes them.
mod rfc3339_opt {
    use super::*;

    pub fn serialize<S: Serializer>(
        t: &Option<DateTime<FixedOffset>>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_rfc3339_nano(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        de: D,
    ) -> std::result::Result<Option<DateTime<FixedOffset>>, D::Error> {
        match Option::<String>::deserialize(de)? {
            None => Ok(None),
            Some(s) => DateTime::parse_from_rfc3339(&s)
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("invalid timestamp {s:?}: {e}"))),
        }
    }
}

/// Formats a time as Go's `time.RFC3339Nano` does: fractional seconds
/// without trailing zeros (none at all when zero), `Z` for UTC.
pub fn format_rfc3339_nano(t: &DateTime<FixedOffset>) -> String {
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos() % 1_000_000_000;
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    if t.offset().local_minus_utc() == 0 {
        out.push('Z');
    } else {
        out.push_str(&t.format("%:z").to_string());
    }
    out
}

/// The current time in UTC, as a configuration timestamp.
pub fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

impl ImageConfig {
    /// Parses and validates configuration bytes: valid JSON object, a
    /// `rootfs` of type `layers` with valid diff IDs, valid timestamps, and
    /// no more non-empty history entries than layers.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ImageError::InvalidConfig(format!("invalid image config: {e}")))?;
        if !value.is_object() {
            return Err(ImageError::InvalidConfig(
                "invalid image config: not a JSON object".into(),
            ));
        }
        let config: ImageConfig = serde_json::from_value(value)
            .map_err(|e| ImageError::InvalidConfig(format!("invalid image config: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// The checks of [`ImageConfig::parse`] on an already built value.
    pub fn validate(&self) -> Result<()> {
        let Some(rootfs) = &self.rootfs else {
            return Err(ImageError::InvalidConfig(
                "invalid image config: no rootfs key".into(),
            ));
        };
        if rootfs.kind != ROOTFS_TYPE_LAYERS {
            return Err(ImageError::InvalidConfig(format!(
                "invalid image config: rootfs type {:?} is not supported (expected \"layers\")",
                rootfs.kind
            )));
        }
        let non_empty = self.history.iter().filter(|h| !h.empty_layer).count();
        if non_empty > rootfs.diff_ids.len() {
            return Err(ImageError::InvalidConfig(
                "invalid image config: too many non-empty layers in History section".into(),
            ));
        }
        Ok(())
    }

    /// The diff IDs of the layers, bottom first.
    pub fn diff_ids(&self) -> &[Digest] {
        self.rootfs
            .as_ref()
            .map(|r| r.diff_ids.as_slice())
            .unwrap_or(&[])
    }

    /// The chain ID of each layer, bottom first.
    pub fn chain_ids(&self) -> Vec<Digest> {
        chain_ids(self.diff_ids())
    }

    /// The chain ID of the top layer; `None` for an image without layers.
    pub fn top_chain_id(&self) -> Option<Digest> {
        self.chain_ids().pop()
    }

    /// The operating system, `linux` when unset (as Docker defaults it).
    pub fn os_or_default(&self) -> &str {
        if self.os.is_empty() {
            "linux"
        } else {
            &self.os
        }
    }

    /// Serialises a configuration Berth built as Docker's
    /// `Image.MarshalJSON` does: top-level keys sorted, nested objects in
    /// field order. Never use it on a stored image: its ID is the digest of
    /// its original bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        fn put<T: Serialize>(m: &mut BTreeMap<String, String>, key: &str, v: &T) -> Result<()> {
            let text = serde_json::to_string(v).map_err(|e| {
                ImageError::InvalidConfig(format!("cannot encode image config: {e}"))
            })?;
            m.insert(key.to_string(), text);
            Ok(())
        }
        let mut m = BTreeMap::new();
        for (k, v) in &self.extra {
            put(&mut m, k, v)?;
        }
        let strings = [
            ("architecture", &self.architecture),
            ("os", &self.os),
            ("os.version", &self.os_version),
            ("variant", &self.variant),
            ("author", &self.author),
            ("docker_version", &self.docker_version),
            ("comment", &self.comment),
            ("container", &self.container),
            ("parent", &self.parent),
        ];
        for (k, v) in strings {
            if !v.is_empty() {
                put(&mut m, k, v)?;
            }
        }
        if !self.os_features.is_empty() {
            put(&mut m, "os.features", &self.os_features)?;
        }
        if let Some(t) = &self.created {
            put(&mut m, "created", &format_rfc3339_nano(t))?;
        }
        if let Some(c) = &self.container_config {
            put(&mut m, "container_config", c)?;
        }
        if let Some(c) = &self.config {
            put(&mut m, "config", c)?;
        }
        if let Some(r) = &self.rootfs {
            put(&mut m, "rootfs", r)?;
        }
        if !self.history.is_empty() {
            put(&mut m, "history", &self.history)?;
        }
        let mut out = String::from("{");
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::Value::String(k.clone()).to_string());
            out.push(':');
            out.push_str(v);
        }
        out.push('}');
        Ok(out.into_bytes())
    }
}

/// The chain IDs of a stack of layers given by diff ID, bottom first:
/// the first is the diff ID itself, then `sha256("<parent> <diff>")`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = berth_layer::store::chain_id(out.last(), d);
        out.push(next);
    }
    out
}

/// A platform as Docker names it (`linux/amd64`, `linux/arm64/v8`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
    pub os_version: String,
}

impl Platform {
    /// The host's platform, with Go's architecture names.
    pub fn host() -> Self {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", ""),
            "x86" => ("386", ""),
            "aarch64" => ("arm64", "v8"),
            "arm" => ("arm", "v7"),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", ""),
            "powerpc64" => ("ppc64", ""),
            "loongarch64" => ("loong64", ""),
            "mips64" if cfg!(target_endian = "little") => ("mips64le", ""),
            other => (other, ""),
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: variant.into(),
            os_version: String::new(),
        }
    }

    /// Parses `os[/arch[/variant]]` (or a bare architecture), normalising
    /// names as containerd's `platforms.Parse` does.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            ImageError::InvalidParameter(format!(
                "invalid platform {s:?}: expected os[/arch[/variant]]"
            ))
        };
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 {
            return Err(bad());
        }
        let host = Platform::host();
        let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
        let (os, arch, variant) = match lower.as_slice() {
            [one] if is_known_os(one) => {
                (one.clone(), host.architecture.clone(), host.variant.clone())
            }
            [one] => ("linux".to_string(), one.clone(), String::new()),
            [os, arch] => (os.clone(), arch.clone(), String::new()),
            [os, arch, variant] => (os.clone(), arch.clone(), variant.clone()),
            _ => return Err(bad()),
        };
        let (arch, variant) = normalize_arch(&arch, &variant);
        Ok(Platform {
            os,
            architecture: arch,
            variant,
            os_version: String::new(),
        })
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

fn is_known_os(s: &str) -> bool {
    matches!(
        s,
        "linux"
            | "windows"
            | "darwin"
            | "freebsd"
            | "netbsd"
            | "openbsd"
            | "solaris"
            | "illumos"
            | "android"
            | "ios"
            | "aix"
            | "plan9"
    )
}

fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let (a, v) = match (arch, variant) {
        ("i386", _) => ("386", ""),
        ("x86_64" | "x86-64" | "amd64", v) => ("amd64", if v == "v1" { "" } else { v }),
        ("aarch64" | "arm64", "8" | "v8" | "") => ("arm64", ""),
        ("aarch64" | "arm64", v) => ("arm64", v),
        ("armhf", _) => ("arm", "v7"),
        ("armel", _) => ("arm", "v6"),
        ("arm", "" | "7") => ("arm", "v7"),
        ("arm", v @ ("5" | "6" | "8")) => {
            return ("arm".into(), format!("v{v}"));
        }
        (a, v) => (a, v),
    };
    (a.to_string(), v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "sha256:84ff92691f909a05b224e1c56abb4864f01b4f8e3c854e4bb4c7baf1d3f6d652";

    #[test]
    fn parses_docker_import_config_and_keeps_unknown_fields() {
        let raw = format!(
            r#"{{"architecture":"amd64","comment":"Imported from -","config":{{"Cmd":["sh"],"Env":null}},"container_config":{{"Hostname":"","Cmd":null}},"created":"2013-06-13T14:03:50.821769-07:00","docker_version":"0.4.0","history":[{{"created":"2013-06-13T14:03:50.821769-07:00","comment":"Imported from -"}}],"os":"linux","rootfs":{{"type":"layers","diff_ids":["{DIFF}"]}},"moby.extra":{{"a":1}},"id":"abc"}}"#
        );
        let c = ImageConfig::parse(raw.as_bytes()).unwrap();
        assert_eq!(c.architecture, "amd64");
        assert_eq!(c.config.as_ref().unwrap().cmd, Some(vec!["sh".to_string()]));
        assert_eq!(c.diff_ids(), &[DIFF.parse::<Digest>().unwrap()]);
        assert_eq!(c.history[0].comment, "Imported from -");
        assert_eq!(c.extra["moby.extra"]["a"], 1);
        assert_eq!(c.extra["id"], "abc");
        assert_eq!(
            format_rfc3339_nano(c.created.as_ref().unwrap()),
            "2013-06-13T14:03:50.821769-07:00"
        );
        // Unknown fields survive a round trip through to_json.
        let again = ImageConfig::parse(&c.to_json().unwrap()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn nulls_are_zero_values() {
        let c = ImageConfig::parse(br#"{"author":null,"history":null,"rootfs":{"type":"layers","diff_ids":null},"created":null}"#).unwrap();
        assert!(c.author.is_empty() && c.history.is_empty() && c.created.is_none());
        assert!(c.diff_ids().is_empty());
        assert_eq!(c.top_chain_id(), None);
    }

    #[test]
    fn rejects_invalid_configs() {
        let cases: &[(&[u8], &str)] = &[
            (b"not json", "invalid image config"),
            (b"[1,2]", "not a JSON object"),
            (b"{}", "no rootfs key"),
            (br#"{"rootfs":{"type":"tarsum"}}"#, "rootfs type \"tarsum\""),
            (
                br#"{"rootfs":{"type":"layers","diff_ids":["sha256:abc"]}}"#,
                "invalid digest",
            ),
            (
                br#"{"rootfs":{"type":"layers"},"created":"yesterday"}"#,
                "invalid timestamp",
            ),
            (
                br#"{"rootfs":{"type":"layers"},"history":[{"created_by":"x"}]}"#,
                "too many non-empty layers",
            ),
            (
                br#"{"rootfs":{"type":"layers"},"config":{"Env":"A=1"}}"#,
                "invalid image config",
            ),
        ];
        for (raw, want) in cases {
            let e = ImageConfig::parse(raw).unwrap_err();
            assert!(matches!(e, ImageError::InvalidConfig(_)), "{e:?}");
            assert!(
                e.to_string().contains(want),
                "{} does not contain {want}",
                e
            );
            assert_eq!(
                berth_api::Classify::kind(&e),
                berth_api::ErrorKind::InvalidParameter
            );
        }
    }

    #[test]
    fn go_style_timestamps() {
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:20:30.120000000Z").unwrap();
        assert_eq!(format_rfc3339_nano(&t), "2024-05-01T10:20:30.12Z");
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:20:30+02:00").unwrap();
        assert_eq!(format_rfc3339_nano(&t), "2024-05-01T10:20:30+02:00");
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:20:30.000000001Z").unwrap();
        assert_eq!(format_rfc3339_nano(&t), "2024-05-01T10:20:30.000000001Z");
    }

    #[test]
    fn chain_ids_follow_the_oci_rule() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::of(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn keys_are_sorted_when_serialised() {
        let c = ImageConfig {
            os: "linux".into(),
            architecture: "amd64".into(),
            rootfs: Some(RootFs {
                kind: "layers".into(),
                diff_ids: vec![],
            }),
            ..Default::default()
        };
        let text = String::from_utf8(c.to_json().unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}"#
        );
        // Nested objects keep their field order (Docker sorts the top level only).
        let c = ImageConfig {
            config: Some(ContainerConfig {
                user: "u".into(),
                ..Default::default()
            }),
            ..c
        };
        let text = String::from_utf8(c.to_json().unwrap()).unwrap();
        assert!(
            text.contains(r#""config":{"Hostname":"","Domainname":"","User":"u","#),
            "{text}"
        );
    }

    #[test]
    fn platforms() {
        let host = Platform::host();
        assert_eq!(host.os, "linux");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(host.architecture, "amd64");
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(
            Platform::parse("linux/arm").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(Platform::parse("arm64").unwrap().to_string(), "linux/arm64");
        assert!(Platform::parse("linux//").is_err());
        assert!(Platform::parse("a/b/c/d").is_err());
    }
}
