//! Docker's timestamps in filters and queries (`until`, `since`): Unix
//! seconds with an optional fraction, RFC 3339 dates, or a Go duration
//! (`10m`, `1h30m`) counted back from now.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use berth_api::Error;

/// Parses `text` into Unix seconds (fractional).
pub fn parse(text: &str, now: DateTime<Utc>) -> Result<f64, Error> {
    let text = text.trim();
    let bad = || {
        Error::invalid(format!(
            "invalid timestamp {text:?}: expected Unix seconds, an RFC 3339 date or a duration such as 10m"
        ))
    };
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Ok(secs);
    }
    if let Some(d) = parse_duration(text) {
        return Ok(now.timestamp() as f64 + now.timestamp_subsec_nanos() as f64 / 1e9 - d);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp() as f64 + t.timestamp_subsec_nanos() as f64 / 1e9);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Ok(t.and_utc().timestamp() as f64);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc().timestamp() as f64);
    }
    Err(bad())
}

/// A Go duration (`1h30m`, `10s`, `1.5h`, `300ms`) in seconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let value: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(parse("12.5", now).unwrap(), 12.5);
        assert_eq!(parse("10m", now).unwrap(), 1_000_000.0 - 600.0);
        assert_eq!(parse("1h30m", now).unwrap(), 1_000_000.0 - 5400.0);
        assert_eq!(parse("1970-01-02T00:00:00Z", now).unwrap(), 86400.0);
        assert_eq!(parse("1970-01-02", now).unwrap(), 86400.0);
        assert!(parse("soon", now).is_err());
        assert!(parse("", now).is_err());
        assert_eq!(parse_duration("300ms"), Some(0.3));
        assert_eq!(parse_duration("5x"), None);
    }
}
