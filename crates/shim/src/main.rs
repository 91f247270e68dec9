//! `berth-shim`: one per container; see the library's `config` module for
//! its command line and `protocol` for its control socket.

mod shim;

fn main() {
    std::process::exit(shim::main())
}
