//! Values parsed the way the Go standard library and Docker's `opts`
//! parse them, with their error wording: booleans (`strconv.ParseBool`),
//! integers, durations (`time.ParseDuration`), and the `since`/`until`
//! timestamps of logs and events (`timetypes.GetTimestamp`).

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};

/// Go's `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}

/// A clap value parser for docker's boolean flags (`--rm=false`).
pub fn bool_flag(s: &str) -> Result<bool, String> {
    parse_bool(s)
}

/// Go's `strconv.ParseInt(s, 10, 64)` with its error wording.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseInt: parsing {s:?}: invalid syntax"));
    }
    s.parse()
        .map_err(|_| format!("strconv.ParseInt: parsing {s:?}: value out of range"))
}

/// Go's `strconv.ParseUint(s, 10, bits)`.
pub fn parse_uint(s: &str, bits: u32) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseUint: parsing {s:?}: invalid syntax"));
    }
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    match s.parse::<u64>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(format!(
            "strconv.ParseUint: parsing {s:?}: value out of range"
        )),
    }
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            other => return Err(format!("time: unknown unit {other:?} in duration {s:?}")),
        };
        let value: f64 = number.parse().map_err(|_| invalid())?;
        total += value * scale;
        if total > i64::MAX as f64 {
            return Err(invalid());
        }
    }
    let nanos = total.round() as i64;
    Ok(if neg { -nanos } else { nanos })
}

/// Docker's `timetypes.GetTimestamp`: a duration before `now` (`10m`),
/// an RFC 3339 date or date-time (local time when it names no zone), or
/// a Unix timestamp, as the `seconds[.nanoseconds]` the API takes.
pub fn get_timestamp(value: &str, now: DateTime<Local>) -> Result<String, String> {
    if value != "0"
        && let Ok(d) = parse_duration(value)
    {
        let t = now.timestamp_nanos_opt().unwrap_or(0) - d;
        return Ok(t.div_euclid(1_000_000_000).to_string());
    }
    let in_location = !(value.contains(['z', 'Z', '+']) || value.matches('-').count() == 3);
    let parsed = if in_location {
        parse_local(value)
    } else {
        parse_zoned(value)
    };
    match parsed {
        Some(t) => Ok(format!(
            "{}.{:09}",
            t.timestamp(),
            t.timestamp_subsec_nanos()
        )),
        None if value.contains('-') => Err(format!("parsing time {value:?}: invalid format")),
        None if is_unix_timestamp(value) => Ok(value.to_string()),
        None => Err(format!(
            "failed to parse value as time or duration: {value:?}"
        )),
    }
}

/// `seconds[.nanoseconds]`.
fn is_unix_timestamp(value: &str) -> bool {
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !secs.is_empty()
        && digits(secs.strip_prefix('-').unwrap_or(secs))
        && digits(frac)
        && frac.len() <= 9
}

fn parse_local(value: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let naive = if value.contains('T') {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
            .or_else(|| {
                // chrono needs minutes; `2006-01-02T15` has only the hour.
                NaiveDateTime::parse_from_str(&format!("{value}:00"), "%Y-%m-%dT%H:%M").ok()
            })?
    } else {
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
    };
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.fixed_offset())
}

fn parse_zoned(value: &str) -> Option<DateTime<chrono::FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t);
    }
    let normalized = value.replace(['z'], "Z").replace('Z', "+00:00");
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H%:z",
        "%Y-%m-%d%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(&normalized, f) {
            return Some(t);
        }
    }
    if let Some((date, zone)) = normalized.split_at_checked(10)
        && let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        && let Ok(z) = DateTime::parse_from_str(
            &format!("2000-01-01T00:00:00{zone}"),
            "%Y-%m-%dT%H:%M:%S%:z",
        )
    {
        return d
            .and_hms_opt(0, 0, 0)
            .and_then(|n| n.and_local_timezone(*z.offset()).single());
    }
    None
}

/// Go's `strconv.Quote` for display (`ps` quotes the command).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_and_ints() {
        assert_eq!(parse_bool("True"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert_eq!(
            parse_bool("yes").unwrap_err(),
            "strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
        assert_eq!(parse_int("-12"), Ok(-12));
        assert_eq!(
            parse_int("x").unwrap_err(),
            "strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(parse_uint("65535", 16), Ok(65535));
        assert!(
            parse_uint("65536", 16)
                .unwrap_err()
                .contains("value out of range")
        );
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("5s"), Ok(5_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("300ms"), Ok(300_000_000));
        assert_eq!(parse_duration("-2m"), Ok(-120_000_000_000));
        assert_eq!(
            parse_duration("5x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(
            parse_duration("5").unwrap_err(),
            "time: missing unit in duration \"5\""
        );
        assert_eq!(
            parse_duration("abc").unwrap_err(),
            "time: invalid duration \"abc\""
        );
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn timestamps() {
        let now = Local.timestamp_opt(1_700_000_000, 0).unwrap();
        assert_eq!(get_timestamp("10m", now).unwrap(), "1699999400");
        assert_eq!(get_timestamp("0s", now).unwrap(), "1700000000");
        assert_eq!(
            get_timestamp("2023-11-14T22:13:20Z", now).unwrap(),
            "1700000000.000000000"
        );
        assert_eq!(
            get_timestamp("2023-11-14T23:13:20+01:00", now).unwrap(),
            "1700000000.000000000"
        );
        assert_eq!(
            get_timestamp("2023-11-14T22:13:20.5Z", now).unwrap(),
            "1700000000.500000000"
        );
        assert_eq!(get_timestamp("1700000000", now).unwrap(), "1700000000");
        assert_eq!(get_timestamp("1700000000.5", now).unwrap(), "1700000000.5");
        assert_eq!(get_timestamp("0", now).unwrap(), "0");
        assert!(get_timestamp("yesterday", now).is_err());
        assert!(get_timestamp("2023-13-45", now).is_err());
        // Local dates: compare with chrono's own local conversion.
        let local = Local
            .with_ymd_and_hms(2023, 11, 14, 0, 0, 0)
            .unwrap()
            .timestamp();
        assert_eq!(
            get_timestamp("2023-11-14", now).unwrap(),
            format!("{local}.000000000")
        );
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("sh -c \"x\""), "\"sh -c \\\"x\\\"\"");
        assert_eq!(quote("a\tb\u{1}"), "\"a\\tb\\x01\"");
        assert_eq!(quote("…"), "\"…\"");
    }
}
