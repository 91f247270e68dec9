//! Images and layers: references, the image, reference and layer stores,
//! storage drivers, safe application of layer tar streams, and the
//! `docker save` / OCI archive formats. All operations are blocking; the
//! daemon runs them on blocking threads.

pub mod changes;
pub mod config;
pub mod dockerfile;
pub mod error;
pub mod image_store;
pub mod reference;
pub mod reference_store;

pub use berth_layer::Digest;
pub(crate) use berth_layer::digest::is_sha256_hex;
pub use error::{ImageError, Result};
