//! Detection of a layer stream's compression by its magic bytes, and the
//! matching decoder. Decoder failures are tagged so that the tar reader can
//! report them as problems of the input (400), never of the host.

use std::fmt;
use std::io::{self, BufReader, Read};

use crate::error::{LayerError, Result};

/// Compression formats recognised in layer streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

impl Compression {
    pub fn detect(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(b"BZh") {
            Compression::Bzip2
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else {
            Compression::None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }
}

/// A failure of the input stream, with a message meant for the client
/// ("unexpected end of gzip stream"). Carried inside `io::Error`.
#[derive(Debug)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Converts an error met while reading the input into `InvalidArchive`.
pub fn input_error(err: io::Error) -> LayerError {
    let what = match err.get_ref().and_then(|e| e.downcast_ref::<InputError>()) {
        Some(tagged) => tagged.0.clone(),
        None if err.kind() == io::ErrorKind::UnexpectedEof => {
            "unexpected end of stream".to_string()
        }
        None => format!("error reading the layer stream: {err}"),
    };
    LayerError::InvalidArchive(format!("invalid layer archive: {what}"))
}

/// Tags errors of a decoder with the codec's name.
struct Tagged<R> {
    inner: R,
    codec: &'static str,
}

impl<R: Read> Read for Tagged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted
                || e.get_ref().is_some_and(|i| i.is::<InputError>())
            {
                return e;
            }
            let msg = if e.kind() == io::ErrorKind::UnexpectedEof {
                format!("unexpected end of {} stream", self.codec)
            } else {
                format!("corrupt {} data: {e}", self.codec)
            };
            io::Error::new(io::ErrorKind::InvalidData, InputError(msg))
        })
    }
}

/// Tags errors of the raw input (the client connection, a file) so that they
/// are reported as input errors whatever their kind.
struct Source<R> {
    inner: R,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            io::Error::new(
                io::ErrorKind::InvalidData,
                InputError(format!("error reading the layer stream: {e}")),
            )
        })
    }
}

const INPUT_BUFFER: usize = 256 * 1024;

/// Wraps `input` in the decoder its first bytes call for. Returns the
/// decoded stream and the detected compression.
pub fn decompress<'a>(input: impl Read + 'a) -> Result<(Box<dyn Read + 'a>, Compression)> {
    let mut source = Source { inner: input };
    let mut head = [0u8; 6];
    let mut n = 0;
    while n < head.len() {
        match source.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(input_error(e)),
        }
    }
    let compression = Compression::detect(&head[..n]);
    let chained = io::Cursor::new(head[..n].to_vec()).chain(source);
    let buffered = BufReader::with_capacity(INPUT_BUFFER, chained);
    let reader: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(Tagged {
            inner: flate2::bufread::MultiGzDecoder::new(buffered),
            codec: "gzip",
        }),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(buffered).map_err(|e| {
                LayerError::InvalidArchive(format!(
                    "invalid layer archive: cannot start zstd decoder: {e}"
                ))
            })?;
            Box::new(Tagged {
                inner: decoder,
                codec: "zstd",
            })
        }
        Compression::Bzip2 | Compression::Xz => {
            return Err(LayerError::InvalidArchive(format!(
                "invalid layer archive: {} compression is not supported (use gzip, zstd or no compression)",
                compression.name()
            )));
        }
    };
    Ok((reader, compression))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(data: &[u8]) -> Result<Vec<u8>> {
        let (mut r, _) = decompress(data)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(input_error)?;
        Ok(out)
    }

    #[test]
    fn detects_and_decodes() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello gzip").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(read_all(&gz).unwrap(), b"hello gzip");
        let zs = zstd::encode_all(&b"hello zstd"[..], 3).unwrap();
        assert_eq!(read_all(&zs).unwrap(), b"hello zstd");
        assert_eq!(read_all(b"plain").unwrap(), b"plain");
        assert_eq!(read_all(b"").unwrap(), b"");
    }

    #[test]
    fn truncated_and_garbage_gzip_are_invalid_archive() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&vec![7u8; 100_000]).unwrap();
        let gz = gz.finish().unwrap();
        let err = read_all(&gz[..gz.len() / 2]).unwrap_err();
        assert!(matches!(err, LayerError::InvalidArchive(_)), "{err:?}");
        assert!(
            err.to_string().contains("unexpected end of gzip stream"),
            "{err}"
        );
        let mut garbage = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        garbage.extend_from_slice(&[0xff; 64]);
        let err = read_all(&garbage).unwrap_err();
        assert!(matches!(err, LayerError::InvalidArchive(_)), "{err:?}");
        assert!(err.to_string().contains("gzip"), "{err}");
    }

    #[test]
    fn truncated_and_garbage_zstd_are_invalid_archive() {
        let zs = zstd::encode_all(&vec![3u8; 200_000][..], 3).unwrap();
        let err = read_all(&zs[..zs.len() - 5]).unwrap_err();
        assert!(matches!(err, LayerError::InvalidArchive(_)), "{err:?}");
        assert!(err.to_string().contains("zstd"), "{err}");
        let mut garbage = vec![0x28, 0xb5, 0x2f, 0xfd];
        garbage.extend_from_slice(&[0xee; 100]);
        let err = read_all(&garbage).unwrap_err();
        assert!(err.to_string().contains("zstd"), "{err}");
    }

    #[test]
    fn bzip2_and_xz_are_refused_clearly() {
        let err = read_all(b"BZh91AY&SY").err().unwrap();
        assert!(
            err.to_string()
                .contains("bzip2 compression is not supported"),
            "{err}"
        );
        let err = read_all(&[0xfd, b'7', b'z', b'X', b'Z', 0, 1])
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("xz compression is not supported"),
            "{err}"
        );
    }

    #[test]
    fn source_errors_are_input_errors() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("connection reset"))
            }
        }
        let err = decompress(Failing).err().unwrap();
        assert!(matches!(err, LayerError::InvalidArchive(_)));
        assert!(err.to_string().contains("connection reset"));
    }
}
