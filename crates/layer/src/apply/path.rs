//! Lexical normalisation of archive member names.

use crate::error::{LayerError, Result};

/// `name` relative to the layer root: leading `/`, `.` and empty components
/// dropped, `..` resolved lexically. As in Docker (`filepath.Clean`), `..`
/// at the root of an absolute name stays at the root, and a relative name
/// that climbs above the root is refused ("breakout"). The empty result is
/// the root itself.
pub fn normalize(name: &[u8]) -> Result<Vec<u8>> {
    let absolute = name.starts_with(b"/");
    let mut parts: Vec<&[u8]> = Vec::new();
    for comp in name.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() && !absolute {
                    return Err(LayerError::InvalidArchive(format!(
                        "invalid layer archive: {:?} points outside the layer",
                        String::from_utf8_lossy(name)
                    )));
                }
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join(&b'/'))
}

/// Splits a normalised, non-empty path into its parent and last component.
pub fn split_last(rel: &[u8]) -> (&[u8], &[u8]) {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(n) => (&rel[..n], &rel[n + 1..]),
        None => (&[], rel),
    }
}

pub fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    if parent.is_empty() {
        return name.to_vec();
    }
    let mut out = Vec::with_capacity(parent.len() + 1 + name.len());
    out.extend_from_slice(parent);
    out.push(b'/');
    out.extend_from_slice(name);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(normalize(b"/abs/x").unwrap(), b"abs/x");
        assert_eq!(normalize(b"./a//b/./c/").unwrap(), b"a/b/c");
        assert_eq!(normalize(b"a/b/../c").unwrap(), b"a/c");
        assert_eq!(normalize(b"./").unwrap(), b"");
        assert!(normalize(b"../x").is_err());
        assert!(normalize(b"a/../../x").is_err());
        assert_eq!(normalize(b"/../x").unwrap(), b"x");
    }

    #[test]
    fn splits() {
        assert_eq!(split_last(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split_last(b"c"), (&b""[..], &b"c"[..]));
        assert_eq!(join(b"", b"c"), b"c");
        assert_eq!(join(b"a", b"c"), b"a/c");
    }
}
