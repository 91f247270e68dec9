//! An async client for the Docker Engine API as `berthd` serves it: unix
//! socket or TCP (plain or TLS), API version negotiation, typed calls,
//! streamed bodies in both directions and connection upgrades.

pub mod api;
pub mod body;
pub mod client;
pub mod error;
pub mod host;
mod pool;
pub mod query;
pub mod reference;
pub mod stdcopy;
pub mod tls;
mod transport;
pub mod upgrade;

pub use api::archive::CopyToOptions;
pub use api::containers::{ContainerListOptions, RemoveOptions};
pub use api::images::{ImageListOptions, ImportOptions, ImportSource};
pub use api::lifecycle::{StopOptions, WaitCondition, Waiter};
pub use api::monitor::EventsOptions;
pub use api::streams::{AttachOptions, LogsOptions};
pub use body::{Body, JsonStream, ResponseBody};
pub use client::{Client, ClientBuilder, Ping, Request, Response};
pub use error::{Error, Result};
pub use host::Host;
pub use query::Query;
pub use tls::TlsOptions;
pub use upgrade::Upgraded;

pub use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
