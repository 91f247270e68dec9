//! SHA-256 of a stream computed on a helper thread, fed whole buffers, so
//! that hashing overlaps with decompression and file writes.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::digest::{Digest, Hasher};
use crate::error::{LayerError, Result};

/// Buffers in flight between the reader and the hashing thread.
const POOL: usize = 4;

pub enum HashPipe {
    Threaded {
        tx: SyncSender<(Box<[u8]>, usize)>,
        free: Receiver<Box<[u8]>>,
        handle: JoinHandle<Hasher>,
        allocated: usize,
        buffer_size: usize,
    },
    /// When no thread can be started: hash in place.
    Inline(Hasher),
}

fn lost() -> LayerError {
    LayerError::io(
        "hash layer stream",
        std::io::Error::other("hashing thread failed"),
    )
}

impl HashPipe {
    pub fn new(buffer_size: usize) -> Self {
        let (tx, rx) = sync_channel::<(Box<[u8]>, usize)>(POOL);
        let (free_tx, free) = sync_channel::<Box<[u8]>>(POOL);
        let spawned = std::thread::Builder::new()
            .name("layer-hash".into())
            .spawn(move || {
                let mut hasher = Hasher::new();
                for (buf, len) in rx {
                    hasher.update(&buf[..len]);
                    // The reader may be gone; the buffer is then just dropped.
                    let _ = free_tx.try_send(buf);
                }
                hasher
            });
        match spawned {
            Ok(handle) => HashPipe::Threaded {
                tx,
                free,
                handle,
                allocated: 1,
                buffer_size,
            },
            Err(_) => HashPipe::Inline(Hasher::new()),
        }
    }

    /// Hands over `buf`, whose first `len` bytes were read from the stream,
    /// and returns an empty buffer to read into.
    pub fn swap(&mut self, buf: Box<[u8]>, len: usize) -> Result<Box<[u8]>> {
        match self {
            HashPipe::Inline(h) => {
                h.update(&buf[..len]);
                Ok(buf)
            }
            HashPipe::Threaded {
                tx,
                free,
                allocated,
                buffer_size,
                ..
            } => {
                if len == 0 {
                    return Ok(buf);
                }
                tx.send((buf, len)).map_err(|_| lost())?;
                if let Ok(b) = free.try_recv() {
                    return Ok(b);
                }
                if *allocated < POOL {
                    *allocated += 1;
                    return Ok(vec![0u8; *buffer_size].into_boxed_slice());
                }
                free.recv().map_err(|_| lost())
            }
        }
    }

    /// Hashes the last `len` bytes of `buf` and returns the digest.
    pub fn finish(self, buf: Box<[u8]>, len: usize) -> Result<Digest> {
        match self {
            HashPipe::Inline(mut h) => {
                h.update(&buf[..len]);
                Ok(h.finish())
            }
            HashPipe::Threaded { tx, handle, .. } => {
                if len > 0 {
                    tx.send((buf, len)).map_err(|_| lost())?;
                }
                drop(tx);
                handle.join().map(Hasher::finish).map_err(|_| lost())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_plain_hashing() {
        let data: Vec<u8> = (0..10_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut pipe = HashPipe::new(4096);
        let mut buf = vec![0u8; 4096].into_boxed_slice();
        let mut chunks = data.chunks(4000).peekable();
        while let Some(chunk) = chunks.next() {
            buf[..chunk.len()].copy_from_slice(chunk);
            if chunks.peek().is_none() {
                assert_eq!(pipe.finish(buf, chunk.len()).unwrap(), Digest::of(&data));
                return;
            }
            buf = pipe.swap(buf, chunk.len()).unwrap();
        }
    }
}
