//! Streaming tar: framing, headers, PAX, and tar-split records.

mod b64;
mod hash_pipe;
pub mod header;
pub mod pax;
pub mod reader;
pub mod split;

pub use pax::Timestamp;
pub use reader::{Entry, EntryKind, TarReader};
pub use split::{Record, SplitReader, SplitWriter};

use crate::error::Result;

/// Receives the tar stream split into raw (non-content) bytes and
/// references to file contents, in stream order.
pub trait SplitSink {
    /// Bytes of the stream that are not file content, verbatim.
    fn raw(&mut self, bytes: &[u8]) -> Result<()>;
    /// `size` bytes of content of the file at `path` (relative to the
    /// layer); returns the record's position in the split.
    fn file(&mut self, path: &[u8], size: u64) -> Result<u64>;
    /// Where contents of files that a later entry of the same stream
    /// replaces are kept, as `<dir>/<record position>`.
    fn stash_dir(&self) -> Option<&std::path::Path> {
        None
    }
}
