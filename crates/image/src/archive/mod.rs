//! Image archives: `docker load` (Docker's `docker save` format and OCI image layouts) and `docker save`.

pub mod extract;
pub mod load;
pub mod save;

pub use load::{LoadOptions, LoadedImage, load, load_with_options};
pub use save::{SaveItem, resolve_names, save, save_names};

#[cfg(test)]
mod tests;
