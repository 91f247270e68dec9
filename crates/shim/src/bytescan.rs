//! Word-at-a-time byte searches (eight bytes per step, no SIMD intrinsics
//! and no dependency) for the hot paths: finding line ends and the bytes
//! JSON must escape.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

// Each mask's lowest set bit marks the first matching byte (higher bits
// may be false positives, so only the lowest is used).
#[inline]
fn eq_mask(w: u64, b: u8) -> u64 {
    let x = w ^ (LO * u64::from(b));
    x.wrapping_sub(LO) & !x & HI
}

#[inline]
fn lt_mask(w: u64, n: u8) -> u64 {
    w.wrapping_sub(LO * u64::from(n)) & !w & HI
}

#[inline]
fn words(s: &[u8]) -> impl Iterator<Item = (usize, u64)> + '_ {
    s.chunks_exact(8).enumerate().map(|(k, c)| {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        (k * 8, u64::from_le_bytes(a))
    })
}

#[inline]
fn first(at: usize, mask: u64) -> usize {
    at + (mask.trailing_zeros() / 8) as usize
}

/// Index of the first `b` in `s`.
pub fn find_byte(s: &[u8], b: u8) -> Option<usize> {
    for (at, w) in words(s) {
        let m = eq_mask(w, b);
        if m != 0 {
            return Some(first(at, m));
        }
    }
    let tail = s.len() / 8 * 8;
    s[tail..].iter().position(|&c| c == b).map(|p| tail + p)
}

/// Index of the first of `a`, `b` or `c`.
pub fn find_any3(s: &[u8], a: u8, b: u8, c: u8) -> Option<usize> {
    for (at, w) in words(s) {
        let m = eq_mask(w, a) | eq_mask(w, b) | eq_mask(w, c);
        if m != 0 {
            return Some(first(at, m));
        }
    }
    let tail = s.len() / 8 * 8;
    s[tail..]
        .iter()
        .position(|&x| x == a || x == b || x == c)
        .map(|p| tail + p)
}

/// True for bytes the json-file encoder treats specially: control
/// characters, `"`, `\`, `<`, `>`, `&`, and every non-ASCII byte.
#[inline]
pub fn is_json_special(c: u8) -> bool {
    !(0x20..0x80).contains(&c) || matches!(c, b'"' | b'\\' | b'<' | b'>' | b'&')
}

/// Index of the first byte for which [`is_json_special`] holds.
pub fn find_json_special(s: &[u8]) -> Option<usize> {
    for (at, w) in words(s) {
        let m = lt_mask(w, 0x20)
            | (w & HI)
            | eq_mask(w, b'"')
            | eq_mask(w, b'\\')
            | eq_mask(w, b'<')
            | eq_mask(w, b'>')
            | eq_mask(w, b'&');
        if m != 0 {
            return Some(first(at, m));
        }
    }
    let tail = s.len() / 8 * 8;
    s[tail..]
        .iter()
        .position(|&c| is_json_special(c))
        .map(|p| tail + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_naive_search() {
        let mut data: Vec<u8> = (0..=255u8).collect();
        data.extend_from_slice(b"plain text without anything special in it at all\n");
        for start in 0..data.len() {
            for len in 0..40.min(data.len() - start) {
                let s = &data[start..start + len];
                assert_eq!(find_byte(s, b'\n'), s.iter().position(|&c| c == b'\n'));
                assert_eq!(
                    find_any3(s, b'"', b'\\', b'\n'),
                    s.iter()
                        .position(|&c| c == b'"' || c == b'\\' || c == b'\n')
                );
                assert_eq!(
                    find_json_special(s),
                    s.iter().position(|&c| is_json_special(c))
                );
            }
        }
        let mut long = vec![b'a'; 1000];
        long[999] = b'\n';
        assert_eq!(find_byte(&long, b'\n'), Some(999));
        long[500] = 0x7f;
        assert_eq!(find_json_special(&long), Some(999));
        long[3] = 0x1f;
        assert_eq!(find_json_special(&long), Some(3));
    }
}
