//! Layers: decompression and safe application of layer tar streams,
//! tar-split records that reproduce a layer's exact tar, the storage drivers
//! (overlay2, vfs) and the layer store. All operations are blocking.

pub mod apply;
mod copy;
pub mod decompress;
pub mod digest;
pub mod driver;
pub mod error;
pub mod inroot;
pub mod store;
mod sys;
pub mod tar;
#[cfg(test)]
mod testutil;

pub use digest::Digest;
pub use driver::{ApplyOutcome, OverlayDriver, StorageDriver, VfsDriver, probe};
pub use error::{LayerError, Result};
pub use store::{LayerInfo, LayerRef, LayerStore, chain_id};
