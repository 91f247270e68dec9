//! `docker import`: one layer from a (possibly compressed) root filesystem tarball, a configuration like Docker's, stored and optionally tagged.

use std::io::Read;

use berth_api::types::config::ContainerConfig;
use berth_layer::store::LayerStore;

use crate::changes::apply_changes;
use crate::config::{History, ImageConfig, Platform, ROOTFS_TYPE_LAYERS, RootFs, now};
use crate::image_store::ImageStore;
use crate::reference::Named;
use crate::reference_store::ReferenceStore;
use crate::{Digest, ImageError, Result};

/// The history comment when the client gives no message (input from the
/// request body).
pub const DEFAULT_IMPORT_MESSAGE: &str = "Imported from -";

/// Options of [`import`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Dockerfile instructions applied to the configuration (`--change`).
    pub changes: Vec<String>,
    /// The comment; empty means [`DEFAULT_IMPORT_MESSAGE`].
    pub message: String,
    /// The tag to give the image (`latest` added to a bare name).
    pub reference: Option<Named>,
    /// The platform recorded in the configuration; the host's by default.
    pub platform: Option<Platform>,
}

/// Imports a root filesystem tarball (plain, gzip or zstd) as a one-layer
/// image and returns its ID. Everything the client gave is checked before
/// the input is read; the image is created only after its layer is stored.
pub fn import(
    layers: &LayerStore,
    images: &ImageStore,
    refs: &ReferenceStore,
    input: &mut dyn Read,
    opts: &ImportOptions,
) -> Result<Digest> {
    let platform = opts.platform.clone().unwrap_or_else(Platform::host);
    if platform.os != "linux" {
        return Err(ImageError::InvalidParameter(format!(
            "operating system is not supported: {}",
            platform.os
        )));
    }
    let config = apply_changes(&ContainerConfig::default(), &opts.changes)?;
    if let Some(r) = &opts.reference {
        if r.digest().is_some() {
            return Err(ImageError::InvalidParameter(
                "refusing to create a tag with a digest reference".into(),
            ));
        }
        if r.familiar_name() == "sha256" {
            return Err(ImageError::InvalidParameter(
                "refusing to create an ambiguous tag using digest algorithm as name".into(),
            ));
        }
    }

    // The pin keeps the layer alive until the image refers to it.
    let layer = layers.register(input, None, &mut |_| {})?;
    let diff_id = layer.info().diff_id.clone();

    let message = if opts.message.is_empty() {
        DEFAULT_IMPORT_MESSAGE.to_string()
    } else {
        opts.message.clone()
    };
    let created = now();
    let image = ImageConfig {
        architecture: platform.architecture.clone(),
        variant: platform.variant.clone(),
        os: platform.os.clone(),
        os_version: platform.os_version.clone(),
        created: Some(created),
        comment: message.clone(),
        // Docker's V1Image always carries container_config.
        container_config: Some(ContainerConfig::default()),
        config: Some(config),
        rootfs: Some(RootFs {
            kind: ROOTFS_TYPE_LAYERS.to_string(),
            diff_ids: vec![diff_id],
        }),
        history: vec![History {
            created: Some(created),
            comment: message,
            ..Default::default()
        }],
        ..Default::default()
    };
    let bytes = image.to_json()?;
    let id = images.create(&bytes)?;
    drop(layer);

    if let Some(r) = &opts.reference {
        refs.add_tag(r, &id, true)?;
        images.set_last_updated(&id)?;
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Stores, gzip, layer_tar, named};
    use berth_api::{Classify, ErrorKind};

    fn run(s: &Stores, data: &[u8], opts: ImportOptions) -> Result<Digest> {
        import(&s.layers, &s.images, &s.refs, &mut &data[..], &opts)
    }

    #[test]
    fn imports_like_docker() {
        let s = Stores::new();
        let tar = layer_tar(&[("bin/sh", b"#!"), ("etc/hostname", b"x")]);
        let id = run(
            &s,
            &tar,
            ImportOptions {
                changes: vec!["CMD echo hi".into(), "ENV A=1".into(), "EXPOSE 80".into()],
                reference: Some(named("busybox")),
                ..Default::default()
            },
        )
        .unwrap();
        let img = s.images.get(&id).unwrap();
        let c = &img.config;
        assert_eq!(c.architecture, Platform::host().architecture);
        assert_eq!(c.os, "linux");
        assert_eq!(c.comment, DEFAULT_IMPORT_MESSAGE);
        assert_eq!(c.history.len(), 1);
        assert_eq!(c.history[0].comment, DEFAULT_IMPORT_MESSAGE);
        assert_eq!(c.history[0].created, c.created);
        assert!(!c.history[0].empty_layer);
        assert_eq!(c.diff_ids(), &[Digest::of(&tar)]);
        let rc = c.config.as_ref().unwrap();
        assert_eq!(
            rc.cmd,
            Some(vec!["/bin/sh".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(rc.env, Some(vec!["A=1".into()]));
        assert!(rc.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
        assert_eq!(s.refs.get(&named("busybox:latest")), Some(id.clone()));
        assert!(img.last_updated.is_some());
        assert!(s.layers.exists(img.top_chain_id.as_ref().unwrap()));
        // The stored bytes: sorted keys, Go-style time, container_config.
        let raw = String::from_utf8(s.images.config_bytes(&id).unwrap()).unwrap();
        assert!(raw.starts_with(r#"{"architecture":""#), "{raw}");
        assert!(
            raw.contains(r#""container_config":{"Hostname":"""#),
            "{raw}"
        );
        let created: serde_json::Value = serde_json::from_str(&raw).unwrap();
        let created = created["created"].as_str().unwrap().to_string();
        assert!(created.ends_with('Z') && created.contains('.'), "{created}");
    }

    #[test]
    fn compressed_input_and_message() {
        let s = Stores::new();
        let tar = layer_tar(&[("a", b"b")]);
        let id = run(
            &s,
            &gzip(&tar),
            ImportOptions {
                message: "my rootfs".into(),
                platform: Some(Platform::parse("linux/arm64").unwrap()),
                ..Default::default()
            },
        )
        .unwrap();
        let img = s.images.get(&id).unwrap();
        assert_eq!(img.config.comment, "my rootfs");
        assert_eq!(img.config.architecture, "arm64");
        assert_eq!(img.config.diff_ids(), &[Digest::of(&tar)]);
        assert!(s.refs.all().is_empty());
    }

    struct MustNotRead;
    impl Read for MustNotRead {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            panic!("the input must not be read when the request is invalid")
        }
    }

    #[test]
    fn bad_requests_are_refused_before_reading() {
        let s = Stores::new();
        let d = named(&format!("a@{}", Digest::of(b"x")));
        for opts in [
            ImportOptions {
                changes: vec!["FOO bar".into()],
                ..Default::default()
            },
            ImportOptions {
                changes: vec!["RUN make".into()],
                ..Default::default()
            },
            ImportOptions {
                reference: Some(d),
                ..Default::default()
            },
            ImportOptions {
                platform: Some(Platform::parse("windows/amd64").unwrap()),
                ..Default::default()
            },
        ] {
            let e = import(&s.layers, &s.images, &s.refs, &mut MustNotRead, &opts).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidParameter, "{e}");
        }
        assert!(s.images.is_empty());
    }

    #[test]
    fn garbage_input_creates_nothing() {
        let s = Stores::new();
        for data in [
            b"not a tarball, definitely not".repeat(30),
            gzip(b"x")[..10].to_vec(),
        ] {
            let e = run(
                &s,
                &data,
                ImportOptions {
                    reference: Some(named("x")),
                    ..Default::default()
                },
            )
            .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidParameter, "{e}");
        }
        assert!(s.images.is_empty());
        assert!(s.refs.all().is_empty());
    }
}
