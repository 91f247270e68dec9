//! `berth-shim`: see the library's `config` module for the command line.

fn main() {}
