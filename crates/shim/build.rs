//! Links `berth-shim` as a position-dependent executable: its relocated
//! data then stays clean and shared between shims instead of being copied
//! into every one (the shim's memory per container is a design goal).

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
