//! A fast path for the exact line shape the json-file driver writes,
//! `{"log":"…","stream":"stdout","time":"…"}`, decoding in one pass over
//! the buffer; anything else (extra fields, other key order) goes to the
//! general JSON parser.

use super::Stream;
use crate::bytescan::find_any3;
use crate::timefmt::parse_rfc3339;

pub(crate) enum Fast {
    /// A parsed entry; `next` is the index after its `\n`.
    Entry {
        stream: Stream,
        time: Option<i64>,
        line: Vec<u8>,
        next: usize,
    },
    /// The buffer ends inside the line.
    Incomplete,
    /// Not the common shape.
    Other,
}

/// Remembers the last whole-second prefix so most timestamps cost only
/// their fraction.
#[derive(Debug, Default)]
pub(crate) struct TimeCache {
    prefix: [u8; 19],
    secs_nanos: i64,
    valid: bool,
}

impl TimeCache {
    pub fn parse(&mut self, t: &[u8]) -> Option<i64> {
        if self.valid
            && t.len() >= 20
            && t[..19] == self.prefix
            && let Some(frac) = zulu_fraction(&t[19..])
        {
            return Some(self.secs_nanos + frac);
        }
        let full = parse_rfc3339(std::str::from_utf8(t).ok()?)?;
        if t.len() >= 20
            && let Some(frac) = zulu_fraction(&t[19..])
        {
            self.prefix.copy_from_slice(&t[..19]);
            self.secs_nanos = full - frac;
            self.valid = true;
        }
        Some(full)
    }
}

/// Parses `.ddddZ` or `Z` into nanoseconds.
fn zulu_fraction(b: &[u8]) -> Option<i64> {
    match b {
        [b'Z'] => Some(0),
        [b'.', digits @ .., b'Z'] if !digits.is_empty() && digits.len() <= 9 => {
            let mut v: i64 = 0;
            for &d in digits {
                if !d.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + i64::from(d - b'0');
            }
            for _ in digits.len()..9 {
                v *= 10;
            }
            Some(v)
        }
        _ => None,
    }
}

macro_rules! expect {
    ($buf:expr, $i:expr, $lit:expr) => {{
        let lit: &[u8] = $lit;
        let avail = &$buf[$i.min($buf.len())..];
        if avail.len() < lit.len() {
            if lit.starts_with(avail) {
                return Fast::Incomplete;
            }
            return Fast::Other;
        }
        if &avail[..lit.len()] != lit {
            return Fast::Other;
        }
        $i += lit.len();
    }};
}

pub(crate) fn parse_entry(buf: &[u8], cache: &mut TimeCache) -> Fast {
    let mut i = 0;
    expect!(buf, i, b"{\"log\":\"");
    let mut line = Vec::with_capacity(64);
    let mut run = i;
    loop {
        let Some(off) = find_any3(&buf[i..], b'"', b'\\', b'\n') else {
            return Fast::Incomplete;
        };
        i += off;
        match buf[i] {
            b'"' => {
                line.extend_from_slice(&buf[run..i]);
                i += 1;
                break;
            }
            b'\\' => {
                line.extend_from_slice(&buf[run..i]);
                let Some(&e) = buf.get(i + 1) else {
                    return Fast::Incomplete;
                };
                i += 2;
                match e {
                    b'n' => line.push(b'\n'),
                    b'r' => line.push(b'\r'),
                    b't' => line.push(b'\t'),
                    b'"' | b'\\' | b'/' => line.push(e),
                    b'b' => line.push(8),
                    b'f' => line.push(12),
                    b'u' => {
                        let Some(hex) = buf.get(i..i + 4) else {
                            return Fast::Incomplete;
                        };
                        let Some(mut cp) = hex4(hex) else {
                            return Fast::Other;
                        };
                        i += 4;
                        if (0xd800..0xdc00).contains(&cp) {
                            let Some(next) = buf.get(i..i + 6) else {
                                return Fast::Incomplete;
                            };
                            match (next[0], next[1], hex4(&next[2..])) {
                                (b'\\', b'u', Some(lo)) if (0xdc00..0xe000).contains(&lo) => {
                                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                    i += 6;
                                }
                                _ => cp = 0xfffd,
                            }
                        }
                        let c = char::from_u32(cp).unwrap_or('\u{fffd}');
                        let mut tmp = [0u8; 4];
                        line.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                    }
                    _ => return Fast::Other,
                }
                run = i;
            }
            // A raw newline cannot be inside a JSON string.
            _ => return Fast::Other,
        }
    }
    expect!(buf, i, b",\"stream\":\"std");
    let stream = match buf.get(i..i + 4) {
        Some(b"out\"") => Stream::Stdout,
        Some(b"err\"") => Stream::Stderr,
        Some(_) => return Fast::Other,
        None => return Fast::Incomplete,
    };
    i += 4;
    expect!(buf, i, b",\"time\":\"");
    let t0 = i;
    while let Some(&b) = buf.get(i) {
        if b == b'"' || b == b'\n' {
            break;
        }
        i += 1;
    }
    if i >= buf.len() {
        return Fast::Incomplete;
    }
    let time = cache.parse(&buf[t0..i]);
    expect!(buf, i, b"\"}\n");
    Fast::Entry {
        stream,
        time,
        line,
        next: i,
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Fast {
        parse_entry(s.as_bytes(), &mut TimeCache::default())
    }

    #[test]
    fn common_shape() {
        let l = "{\"log\":\"a\\u003cb\\\"\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-01T00:00:00.5Z\"}\nrest";
        match parse(l) {
            Fast::Entry {
                stream,
                time,
                line,
                next,
            } => {
                assert_eq!(stream, Stream::Stderr);
                assert_eq!(time, Some(1_704_067_200_500_000_000));
                assert_eq!(line, b"a<b\"\n");
                assert_eq!(&l[next..], "rest");
            }
            _ => panic!(),
        }
        let emoji = "{\"log\":\"\\ud83d\\ude00\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}\n";
        assert!(matches!(parse(emoji), Fast::Entry { line, .. } if line == "😀".as_bytes()));
    }

    #[test]
    fn incomplete_and_other() {
        let full = "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}\n";
        for cut in 0..full.len() {
            assert!(matches!(parse(&full[..cut]), Fast::Incomplete), "cut {cut}");
        }
        assert!(matches!(
            parse("{\"stream\":\"stdout\",\"log\":\"x\"}\n"),
            Fast::Other
        ));
        assert!(matches!(
            parse("{\"log\":\"x\",\"stream\":\"stdout\",\"attrs\":{},\"time\":\"t\"}\n"),
            Fast::Other
        ));
    }

    #[test]
    fn time_cache() {
        let mut c = TimeCache::default();
        let a = c.parse(b"2024-01-01T00:00:00.1Z").unwrap();
        let b = c.parse(b"2024-01-01T00:00:00.25Z").unwrap();
        assert_eq!(b - a, 150_000_000);
        assert_eq!(c.parse(b"2024-01-01T00:00:00Z"), Some(a - 100_000_000));
        assert_eq!(
            c.parse(b"2024-01-01T00:00:00+01:00"),
            Some(a - 100_000_000 - 3_600_000_000_000)
        );
    }
}
