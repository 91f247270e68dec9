//! Images: references, image configurations, the image and reference
//! stores, `--change` instructions (and the Dockerfile syntax they share
//! with the builder), import, and the `docker save` / OCI archive formats.
//! Layers themselves live in `berth-layer`. All operations are blocking;
//! the daemon runs them on blocking threads.

pub mod archive;
pub mod changes;
pub mod config;
pub mod dockerfile;
pub mod error;
pub mod image_store;
pub mod import;
pub mod inspect;
pub mod oci;
pub mod progress;
pub mod reference;
pub mod reference_store;
pub mod resolve;
#[cfg(test)]
pub(crate) mod testutil;

pub use berth_layer::Digest;
pub(crate) use berth_layer::digest::is_sha256_hex;
pub use error::{ImageError, Result};
