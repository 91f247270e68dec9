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
    opts: ImportOptions,
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
