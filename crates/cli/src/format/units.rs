//! Sizes and durations as Docker prints them (`docker/go-units`):
//! `4.26MB`, `1.5GiB`, `2 minutes`, `About an hour`.

use super::gofmt::float_g;

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

fn scaled(mut size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// `units.HumanSizeWithPrecision`: decimal units, `precision` significant
/// digits (`docker images` uses 3).
pub fn human_size_with_precision(size: f64, precision: usize) -> String {
    let (v, unit) = scaled(size, 1000.0, &DECIMAL);
    format!("{}{unit}", float_g(v, precision))
}

/// `units.HumanSize`: four significant digits.
pub fn human_size(size: f64) -> String {
    human_size_with_precision(size, 4)
}

/// `units.BytesSize`: binary units, four significant digits.
pub fn bytes_size(size: f64) -> String {
    let (v, unit) = scaled(size, 1024.0, &BINARY);
    format!("{}{unit}", float_g(v, 4))
}

/// `units.HumanDuration` of a number of seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // Go rounds to the nearest hour here (half away from zero).
    let hours = (seconds + 1800) / 3600;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", seconds / 3600 / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size_with_precision(4261266.0, 3), "4.26MB");
        assert_eq!(human_size_with_precision(0.0, 3), "0B");
        assert_eq!(human_size_with_precision(999.0, 3), "999B");
        assert_eq!(human_size_with_precision(1000.0, 3), "1kB");
        assert_eq!(human_size_with_precision(999_999.0, 3), "1e+03kB");
        assert_eq!(human_size_with_precision(77_800_000.0, 3), "77.8MB");
        assert_eq!(human_size_with_precision(1_234_567_890.0, 3), "1.23GB");
        assert_eq!(human_size(4261266.0), "4.261MB");
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(1e30), "1e+06YB");
        assert_eq!(bytes_size(33_300_000_000.0), "31.01GiB");
        assert_eq!(bytes_size(1024.0), "1KiB");
        assert_eq!(bytes_size(512.0), "512B");
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(-5), "Less than a second");
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(119), "About a minute");
        assert_eq!(human_duration(120), "2 minutes");
        assert_eq!(human_duration(59 * 60 + 59), "59 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5399), "About an hour");
        assert_eq!(human_duration(5400), "2 hours");
        assert_eq!(human_duration(47 * 3600), "47 hours");
        assert_eq!(human_duration(48 * 3600), "2 days");
        assert_eq!(human_duration(13 * 86400), "13 days");
        assert_eq!(human_duration(14 * 86400), "2 weeks");
        assert_eq!(human_duration(21 * 86400), "3 weeks");
        assert_eq!(human_duration(60 * 86400), "2 months");
        assert_eq!(human_duration(729 * 86400), "24 months");
        assert_eq!(human_duration(730 * 86400), "2 years");
    }
}
