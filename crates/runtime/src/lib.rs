//! OCI runtime support for Berth: Docker value parsers ([`parse`]), OCI
//! spec generation ([`spec`]), users and working directories inside the
//! rootfs ([`user`]), cgroups v1/v2/hybrid ([`cgroup`]) and OCI runtime
//! selection and invocation ([`runtimes`]). All operations are blocking.

pub mod cgroup;
pub mod error;
pub mod parse;
pub mod runtimes;
pub mod spec;
pub mod user;

pub use error::{Result, RuntimeError};
