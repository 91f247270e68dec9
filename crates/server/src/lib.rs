//! The Engine API over HTTP: routers (one module per API area) that call
//! small backend traits, the API version middleware, listeners, and the one
//! mapping from error classes to HTTP statuses.

pub mod backend;
pub mod error;
pub mod listener;
pub mod params;
pub mod progress;
pub mod routes;
pub mod version;

pub use backend::Backend;
pub use error::{ApiError, status_for};
pub use routes::app;
