//! Docker-style progress lines: human sizes (`2.798MB`), progress bars, and the rate limiting of progress updates.

use berth_api::progress::{ProgressDetail, ProgressMessage};

/// Go's `units.HumanSize`: decimal units, four significant digits.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", format_g4(size), UNITS[i])
}

/// Go's `%.4g` for values in [0, 1000].
fn format_g4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    // The exponent after rounding to four significant digits.
    let sci = format!("{v:.3e}");
    let exp: i32 = sci
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if !(-4..4).contains(&exp) {
        return sci;
    }
    let decimals = (3 - exp).max(0) as usize;
    let fixed = format!("{v:.decimals$}");
    if fixed.contains('.') {
        fixed
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        fixed
    }
}

/// The progress bar Docker's daemon attaches to progress lines (as
/// `JSONProgress.String()` renders it for a wide terminal):
/// `[=====>        ]  1.234MB/5.678MB`.
pub fn progress_bar(current: u64, total: u64) -> String {
    if total == 0 {
        return if current == 0 {
            String::new()
        } else {
            format!("{:>8}", human_size(current))
        };
    }
    let pct = ((current as f64 / total as f64 * 100.0) as u64 / 2).min(50) as usize;
    let bar = format!("[{}>{}] ", "=".repeat(pct), " ".repeat(50 - pct));
    let numbers = if current > total {
        format!("{:>8}", human_size(current))
    } else {
        format!("{:>8}/{}", human_size(current), human_size(total))
    };
    bar + &numbers
}

/// Docker's short form of an ID: no algorithm, 12 characters.
pub fn truncate_id(id: &str) -> String {
    let hex = id.split_once(':').map_or(id, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// One progress line: `{"status":action,"progressDetail":{…},"progress":bar,"id":id}`.
pub fn progress_message(id: &str, action: &str, current: u64, total: u64) -> ProgressMessage {
    ProgressMessage {
        status: Some(action.to_string()),
        id: Some(id.to_string()),
        progress_detail: Some(ProgressDetail {
            current: Some(current as i64),
            total: Some(total as i64),
        }),
        progress: Some(progress_bar(current, total)),
        ..Default::default()
    }
}

/// Decides when a progress line is worth sending: every 1% (at most every
/// 512 KiB), and always at the end, as Docker's progress reader does.
pub struct Throttle {
    total: u64,
    last: u64,
    step: u64,
}

impl Throttle {
    pub fn new(total: u64) -> Self {
        let step = if total > 0 {
            (total / 100).min(512 * 1024)
        } else {
            512 * 1024
        };
        Throttle {
            total,
            last: 0,
            step,
        }
    }

    /// True when a line should be sent for `current` bytes.
    pub fn due(&mut self, current: u64) -> bool {
        let finished = current == self.total && self.last != self.total;
        if finished || current.saturating_sub(self.last) > self.step {
            self.last = current;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_like_go() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(2_798_123), "2.798MB");
        assert_eq!(human_size(1_234_567), "1.235MB");
        assert_eq!(human_size(999_999), "1000kB");
        assert_eq!(human_size(4_400_000_000), "4.4GB");
    }

    #[test]
    fn bars() {
        assert_eq!(
            progress_bar(2_798_123, 2_798_123),
            format!("[{}>]  2.798MB/2.798MB", "=".repeat(50))
        );
        assert_eq!(
            progress_bar(50, 100),
            format!("[{}>{}]      50B/100B", "=".repeat(25), " ".repeat(25))
        );
        assert_eq!(progress_bar(0, 0), "");
        assert_eq!(truncate_id("sha256:0123456789abcdef"), "0123456789ab");
        let m = progress_message("abc", "Loading layer", 1, 2);
        let line = String::from_utf8(m.to_line()).unwrap();
        assert!(line.starts_with(r#"{"status":"Loading layer","progressDetail":{"current":1,"total":2},"progress":"["#), "{line}");
    }

    #[test]
    fn throttle() {
        let mut t = Throttle::new(1000);
        assert!(!t.due(5));
        assert!(t.due(11));
        assert!(!t.due(15));
        assert!(t.due(1000));
        assert!(!t.due(1000), "the end is reported once");
    }
}
