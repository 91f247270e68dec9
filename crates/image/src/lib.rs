//! Images and layers: references, the image, reference and layer stores,
//! storage drivers, safe application of layer tar streams, and the
//! `docker save` / OCI archive formats. All operations are blocking; the
//! daemon runs them on blocking threads.

pub mod digest;
pub mod error;

pub use digest::Digest;
pub use error::{ImageError, Result};
