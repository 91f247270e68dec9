//! Request and response bodies of the Engine API, field for field as Docker
//! sends them.

pub mod archive;
pub mod config;
pub mod container;
pub mod event;
pub mod exec;
pub mod image;
pub mod network;
pub mod system;
pub mod volume;

/// Go's `struct{}` in a map (`ExposedPorts`, `Volumes`): serialises as `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Empty {}
