//! Human-readable sizes: `RAMInBytes` (binary, `20m` = 20 MiB) and
//! `FromHumanSize` (decimal, `20MB` = 20,000,000), as Docker's go-units.

use super::ParseError;

/// Splits `<number>[ ]<unit letter>[i][b]`; returns the number text and
/// the unit letter (lowercase), or `None` when the syntax does not match
/// `^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`.
fn split_size(s: &str) -> Option<(&str, Option<char>)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    // \d+(\.\d+)*
    let start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return None;
    }
    while i < bytes.len() && bytes[i] == b'.' {
        let dot = i;
        i += 1;
        let ds = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == ds {
            // A trailing dot is not part of the number.
            i = dot;
            break;
        }
    }
    let number = &s[..i];
    let mut rest = &s[i..];
    if let Some(r) = rest.strip_prefix(' ') {
        rest = r;
    }
    let mut unit = None;
    if let Some(c) = rest.chars().next()
        && "kKmMgGtTpP".contains(c)
    {
        unit = Some(c.to_ascii_lowercase());
        rest = &rest[1..];
    }
    if let Some(c) = rest.chars().next()
        && (c == 'i' || c == 'I')
    {
        rest = &rest[1..];
    }
    if let Some(c) = rest.chars().next()
        && (c == 'b' || c == 'B')
    {
        rest = &rest[1..];
    }
    rest.is_empty().then_some((number, unit))
}

fn parse_with(s: &str, base: f64) -> Result<i64, ParseError> {
    let invalid = || ParseError::new(format!("invalid size: '{s}'"));
    let (number, unit) = split_size(s).ok_or_else(invalid)?;
    let value: f64 = number.parse().map_err(|_| invalid())?;
    let power = match unit {
        None => 0,
        Some('k') => 1,
        Some('m') => 2,
        Some('g') => 3,
        Some('t') => 4,
        Some('p') => 5,
        Some(_) => return Err(invalid()),
    };
    let bytes = value * base.powi(power);
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(invalid());
    }
    Ok(bytes as i64)
}

/// Docker's `RAMInBytes`: a size with binary multiples (`k` = 1024), e.g.
/// `20m`, `1g`, `512k`, `1.5GiB`, `100` (bytes). Used by `--memory`,
/// `--memory-swap`, `--shm-size`, `tmpfs-size`, ….
pub fn ram_in_bytes(s: &str) -> Result<i64, ParseError> {
    parse_with(s, 1024.0)
}

/// Docker's `FromHumanSize`: decimal multiples (`k` = 1000).
pub fn from_human_size(s: &str) -> Result<i64, ParseError> {
    parse_with(s, 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_sizes() {
        assert_eq!(ram_in_bytes("20m"), Ok(20 << 20));
        assert_eq!(ram_in_bytes("1g"), Ok(1 << 30));
        assert_eq!(ram_in_bytes("512k"), Ok(512 << 10));
        assert_eq!(ram_in_bytes("32"), Ok(32));
        assert_eq!(ram_in_bytes("32b"), Ok(32));
        assert_eq!(ram_in_bytes("32 MB"), Ok(32 << 20));
        assert_eq!(ram_in_bytes("32MiB"), Ok(32 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Ok(3 << 29));
        assert_eq!(ram_in_bytes("0.5k"), Ok(512));
        assert_eq!(ram_in_bytes("2T"), Ok(2 << 40));
        assert_eq!(ram_in_bytes("1p"), Ok(1 << 50));
    }

    #[test]
    fn ram_errors() {
        for bad in [
            "20q", "", "m", "-1", "1.2.3m", "20mm", " 20m", "20m ", "1.", "abc", "9999999p",
        ] {
            let err = ram_in_bytes(bad).unwrap_err();
            assert_eq!(err.to_string(), format!("invalid size: '{bad}'"), "{bad}");
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(from_human_size("20M"), Ok(20_000_000));
        assert_eq!(from_human_size("1k"), Ok(1000));
        assert_eq!(from_human_size("1.5kB"), Ok(1500));
        assert!(from_human_size("x").is_err());
    }
}
