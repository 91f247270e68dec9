//! Typed calls, one module per API area; each is an `impl Client` block.

pub mod images;
pub mod system;
