//! RFC 3339 timestamps in nanoseconds since the Unix epoch: formatted as
//! Go's `time.RFC3339Nano` does (what Docker writes in json-file logs and
//! state), or with a fixed 9-digit fraction (`docker logs -t`), and parsed
//! from any RFC 3339 form.

use std::time::{SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The current wall-clock time in nanoseconds since the Unix epoch.
pub fn now_unix_nanos() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Appends `nanos` as UTC RFC 3339 with the fraction's trailing zeros
/// trimmed (and no fraction at all when it is zero), like Go's RFC3339Nano.
pub fn push_rfc3339_nano(out: &mut Vec<u8>, nanos: i64) {
    push(out, nanos, false);
}

/// Appends `nanos` as UTC RFC 3339 with exactly nine fraction digits.
pub fn push_rfc3339_nano_fixed(out: &mut Vec<u8>, nanos: i64) {
    push(out, nanos, true);
}

/// [`push_rfc3339_nano`] into a new string.
pub fn format_rfc3339_nano(nanos: i64) -> String {
    let mut v = Vec::with_capacity(30);
    push_rfc3339_nano(&mut v, nanos);
    String::from_utf8(v).unwrap_or_default()
}

/// [`push_rfc3339_nano_fixed`] into a new string.
pub fn format_rfc3339_nano_fixed(nanos: i64) -> String {
    let mut v = Vec::with_capacity(30);
    push_rfc3339_nano_fixed(&mut v, nanos);
    String::from_utf8(v).unwrap_or_default()
}

fn push(out: &mut Vec<u8>, nanos: i64, fixed: bool) {
    let secs = nanos.div_euclid(NANOS_PER_SEC);
    let frac = nanos.rem_euclid(NANOS_PER_SEC) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let mut b = [0u8; 19];
    put4(&mut b[0..4], y);
    b[4] = b'-';
    put2(&mut b[5..7], m);
    b[7] = b'-';
    put2(&mut b[8..10], d);
    b[10] = b'T';
    put2(&mut b[11..13], sod / 3600);
    b[13] = b':';
    put2(&mut b[14..16], sod / 60 % 60);
    b[16] = b':';
    put2(&mut b[17..19], sod % 60);
    out.extend_from_slice(&b);
    let mut digits = [0u8; 9];
    let mut f = frac;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (f % 10) as u8;
        f /= 10;
    }
    let len = if fixed {
        9
    } else {
        9 - digits.iter().rev().take_while(|&&c| c == b'0').count()
    };
    if len > 0 {
        out.push(b'.');
        out.extend_from_slice(&digits[..len]);
    }
    out.push(b'Z');
}

fn put2(b: &mut [u8], v: u32) {
    b[0] = b'0' + (v / 10 % 10) as u8;
    b[1] = b'0' + (v % 10) as u8;
}

fn put4(b: &mut [u8], y: i64) {
    let v = y.clamp(0, 9999) as u32;
    b[0] = b'0' + (v / 1000) as u8;
    b[1] = b'0' + (v / 100 % 10) as u8;
    b[2] = b'0' + (v / 10 % 10) as u8;
    b[3] = b'0' + (v % 10) as u8;
}

/// Parses an RFC 3339 timestamp (`Z` or a numeric offset, any number of
/// fraction digits) into nanoseconds since the Unix epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = num(&b[0..4])? as i64;
    let month = num(&b[5..7])?;
    let day = num(&b[8..10])?;
    let (hh, mm, ss) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac: i64 = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                frac = frac * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            frac *= 10;
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(&b[i + 1..i + 3])? as i64;
            let om = num(&b[i + 4..i + 6])? as i64;
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss) - offset;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)
}

fn num(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

// Howard Hinnant's civil calendar algorithms (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format_rfc3339_nano(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339_nano(1_704_067_200_123_456_789),
            "2024-01-01T00:00:00.123456789Z"
        );
        assert_eq!(
            format_rfc3339_nano(1_704_067_200_120_000_000),
            "2024-01-01T00:00:00.12Z"
        );
        assert_eq!(
            format_rfc3339_nano_fixed(1_704_067_200_120_000_000),
            "2024-01-01T00:00:00.120000000Z"
        );
        assert_eq!(
            format_rfc3339_nano(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
    }

    #[test]
    fn parses_round_trip_and_offsets() {
        for n in [
            0,
            1,
            1_704_067_200_123_456_789,
            951_782_400_000_000_001,
            4_102_444_799_999_999_999,
        ] {
            assert_eq!(parse_rfc3339(&format_rfc3339_nano(n)), Some(n));
            assert_eq!(parse_rfc3339(&format_rfc3339_nano_fixed(n)), Some(n));
        }
        assert_eq!(
            parse_rfc3339("2024-01-01T02:00:00.5+02:00"),
            Some(1_704_067_200_500_000_000)
        );
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00"), None);
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00.Z"), None);
    }

    #[test]
    fn now_is_sane() {
        assert!(now_unix_nanos() > 1_600_000_000 * NANOS_PER_SEC);
    }
}
