//! Typed calls, one module per API area; each is an `impl Client` block.

pub mod archive;
pub mod containers;
pub mod exec;
pub mod images;
pub mod lifecycle;
pub mod monitor;
pub mod networks;
pub mod streams;
pub mod system;
pub mod volumes;
