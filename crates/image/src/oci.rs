//! OCI image-spec documents (descriptors, manifests, indexes, layout) and the Docker media types that mirror them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Digest, ImageError, Result};

pub const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TYPE_OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_TYPE_DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_TYPE_DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const MEDIA_TYPE_DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The tag (or full name) of a manifest in an OCI layout's index.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The full image name containerd (and Docker 25+) record in an index.
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// Set on BuildKit attestation manifests inside an index.
pub const ANNOTATION_DOCKER_REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// The content of `oci-layout`.
pub const OCI_LAYOUT_CONTENT: &str = r#"{"imageLayoutVersion": "1.0.0"}"#;

/// A platform in a descriptor of an index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

/// A content descriptor. Field order is the image-spec's, so documents
/// Berth writes look like Docker's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<OciPlatform>,
}

impl Descriptor {
    /// The validated sha256 digest of the described content.
    pub fn sha256(&self) -> Result<Digest> {
        self.digest.parse::<Digest>().map_err(|_| {
            ImageError::InvalidArchive(format!(
                "invalid archive: unsupported or invalid digest {:?} in a descriptor",
                self.digest
            ))
        })
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    pub fn is_index(&self) -> bool {
        self.media_type == MEDIA_TYPE_OCI_INDEX
            || self.media_type == MEDIA_TYPE_DOCKER_MANIFEST_LIST
    }

    pub fn is_manifest(&self) -> bool {
        self.media_type == MEDIA_TYPE_OCI_MANIFEST || self.media_type == MEDIA_TYPE_DOCKER_MANIFEST
    }
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The OCI layout marker file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub image_layout_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_serialises_in_spec_order() {
        let m = Manifest {
            schema_version: 2,
            media_type: MEDIA_TYPE_OCI_MANIFEST.into(),
            config: Descriptor {
                media_type: MEDIA_TYPE_OCI_CONFIG.into(),
                digest: Digest::of(b"c").to_string(),
                size: 1,
                ..Default::default()
            },
            layers: vec![],
            annotations: None,
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:"#), "{text}");
        assert!(text.ends_with(r#","size":1},"layers":[]}"#), "{text}");
        let layout: Layout = serde_json::from_str(OCI_LAYOUT_CONTENT).unwrap();
        assert_eq!(layout.image_layout_version, "1.0.0");
    }
}
