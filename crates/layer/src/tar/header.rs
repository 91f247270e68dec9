//! Decoding of one 512-byte tar header block (V7, ustar, GNU).

use crate::error::{LayerError, Result};

pub const BLOCK: usize = 512;

/// Largest entry size accepted (1 TiB): anything bigger is hostile or
/// damaged, and sizes near `u64::MAX` would overflow padding arithmetic.
pub const MAX_ENTRY_SIZE: u64 = 1 << 40;

/// The fields of one header block, as found in the block.
#[derive(Debug, Clone)]
pub struct RawHeader {
    pub name: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: i64,
    pub typeflag: u8,
    pub linkname: Vec<u8>,
    pub devmajor: u32,
    pub devminor: u32,
    /// GNU headers carry an access time.
    pub atime: Option<i64>,
}

pub fn invalid(what: impl std::fmt::Display) -> LayerError {
    LayerError::InvalidArchive(format!("invalid layer archive: {what}"))
}

pub fn is_zero_block(block: &[u8]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// Bytes up to the first NUL.
fn cstr(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(n) => &field[..n],
        None => field,
    }
}

/// A numeric field: octal (with optional spaces/NULs) or GNU base-256.
fn number(field: &[u8], what: &str) -> Result<i64> {
    if let Some(&first) = field.first()
        && first & 0x80 != 0
    {
        // Base-256: two's complement, big endian, the top bit of the first
        // byte is the marker; 0xff means negative.
        let negative = first & 0x40 != 0;
        let mut value: i128 = if negative { -1 } else { 0 };
        for (i, &b) in field.iter().enumerate() {
            let b = if i == 0 {
                b & 0x7f | if negative { 0x80 } else { 0 }
            } else {
                b
            };
            value = (value << 8) | i128::from(b);
            if !(i64::MIN as i128..=i64::MAX as i128).contains(&value) {
                return Err(invalid(format!("{what} field out of range")));
            }
        }
        return Ok(value as i64);
    }
    let text = cstr(field);
    let digits: &[u8] = {
        let start = text.iter().position(|&b| b != b' ').unwrap_or(text.len());
        let end = text
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(start, |n| n + 1);
        &text[start..end.max(start)]
    };
    let mut value: i64 = 0;
    for &b in digits {
        if !(b'0'..=b'7').contains(&b) {
            return Err(invalid(format!(
                "{what} field is not an octal number: {:?}",
                String::from_utf8_lossy(text)
            )));
        }
        value = value
            .checked_mul(8)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or_else(|| invalid(format!("{what} field out of range")))?;
    }
    Ok(value)
}

fn unsigned(field: &[u8], what: &str) -> Result<u64> {
    let v = number(field, what)?;
    u64::try_from(v).map_err(|_| invalid(format!("negative {what} field: {v}")))
}

fn checksum_ok(block: &[u8]) -> Result<()> {
    let stored = number(&block[148..156], "checksum")?;
    let mut unsigned_sum: i64 = 0;
    let mut signed_sum: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned_sum += i64::from(b);
        signed_sum += i64::from(b as i8);
    }
    if stored == unsigned_sum || stored == signed_sum {
        Ok(())
    } else {
        Err(invalid("bad tar header checksum"))
    }
}

/// Parses and validates one header block.
pub fn parse(block: &[u8; BLOCK]) -> Result<RawHeader> {
    checksum_ok(block)?;
    let magic = &block[257..263];
    let version = &block[263..265];
    let ustar = magic == b"ustar\0" && version == b"00";
    let gnu = magic == b"ustar " && version == b" \0";

    let mut name = cstr(&block[0..100]).to_vec();
    if ustar {
        let prefix = cstr(&block[345..500]);
        if !prefix.is_empty() {
            let mut full = prefix.to_vec();
            full.push(b'/');
            full.extend_from_slice(&name);
            name = full;
        }
    }
    let size = unsigned(&block[124..136], "size")?;
    if size > MAX_ENTRY_SIZE {
        return Err(invalid(format!("entry size {size} is too large")));
    }
    let atime = if gnu && !is_zero_block(&block[345..357]) {
        Some(number(&block[345..357], "atime")?)
    } else {
        None
    };
    let (devmajor, devminor) = if ustar || gnu {
        (
            u32::try_from(unsigned(&block[329..337], "devmajor")?)
                .map_err(|_| invalid("devmajor field out of range"))?,
            u32::try_from(unsigned(&block[337..345], "devminor")?)
                .map_err(|_| invalid("devminor field out of range"))?,
        )
    } else {
        (0, 0)
    };
    Ok(RawHeader {
        name,
        mode: (unsigned(&block[100..108], "mode")? & 0o7777) as u32,
        uid: unsigned(&block[108..116], "uid")?,
        gid: unsigned(&block[116..124], "gid")?,
        size,
        mtime: number(&block[136..148], "mtime")?,
        typeflag: block[156],
        linkname: cstr(&block[157..257]).to_vec(),
        devmajor,
        devminor,
        atime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_with(f: impl FnOnce(&mut [u8; BLOCK])) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        b[0..5].copy_from_slice(b"hello");
        b[100..108].copy_from_slice(b"0000644\0");
        b[108..116].copy_from_slice(b"0000000\0");
        b[116..124].copy_from_slice(b"0000000\0");
        b[124..136].copy_from_slice(b"00000000005\0");
        b[136..148].copy_from_slice(b"00000000001\0");
        b[156] = b'0';
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        f(&mut b);
        let sum: u32 = b
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(x)
                }
            })
            .sum();
        b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        b
    }

    #[test]
    fn parses_ustar_with_prefix() {
        let b = block_with(|b| b[345..348].copy_from_slice(b"dir"));
        let h = parse(&b).unwrap();
        assert_eq!(h.name, b"dir/hello");
        assert_eq!(h.size, 5);
        assert_eq!(h.mode, 0o644);
        assert_eq!(h.mtime, 1);
    }

    #[test]
    fn base256_numbers() {
        let b = block_with(|b| {
            b[124..136].fill(0);
            b[124] = 0x80;
            b[135] = 0x10;
        });
        assert_eq!(parse(&b).unwrap().size, 16);
        // Negative size.
        let b = block_with(|b| b[124..136].fill(0xff));
        assert!(parse(&b).is_err());
        // Negative mtime is fine.
        let b = block_with(|b| b[136..148].fill(0xff));
        assert_eq!(parse(&b).unwrap().mtime, -1);
    }

    #[test]
    fn rejects_bad_checksum_and_huge_size() {
        let mut b = block_with(|_| {});
        b[0] = b'j';
        let err = parse(&b).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
        let b = block_with(|b| {
            b[124..136].fill(0);
            b[124] = 0x80;
            b[128] = 1;
        });
        assert!(parse(&b).unwrap_err().to_string().contains("too large"));
    }
}
