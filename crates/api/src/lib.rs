//! Wire types of the Docker Engine API as Berth serves them, and the error
//! classes shared by every crate. No I/O lives here.

pub mod error;
pub mod filters;
pub mod progress;
pub mod strslice;
pub mod types;
pub mod version;

pub use error::{Classify, Error, ErrorKind, ErrorResponse, Result};
