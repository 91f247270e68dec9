//! The shim: protocol, client, log format.
