//! Request and response bodies of the Engine API, field for field as Docker
//! sends them.

pub mod config;
pub mod container;
pub mod event;
pub mod image;
pub mod system;

/// Go's `struct{}` in a map (`ExposedPorts`, `Volumes`): serialises as `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Empty {}
