//! Timestamps in the layouts Go's `time` package prints, in local time
//! (through the C library, so `TZ` and `/etc/localtime` apply as for Go).

use std::ffi::CStr;
use std::time::{SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Broken-down local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub year: i64,
    /// 1–12
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// 0 = Sunday
    pub weekday: u32,
    /// Seconds east of UTC.
    pub offset: i64,
    pub zone: String,
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

pub fn local(secs: i64) -> Local {
    let t = secs as libc::time_t;
    // SAFETY: `tm` is plain data; localtime_r writes it and returns either
    // a pointer to it or null, and tm_zone points to static storage.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return utc(secs);
        }
        let zone = if tm.tm_zone.is_null() {
            String::new()
        } else {
            CStr::from_ptr(tm.tm_zone).to_string_lossy().into_owned()
        };
        Local {
            year: i64::from(tm.tm_year) + 1900,
            month: (tm.tm_mon + 1) as u32,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            min: tm.tm_min as u32,
            sec: tm.tm_sec as u32,
            weekday: tm.tm_wday as u32,
            offset: tm.tm_gmtoff,
            zone,
        }
    }
}

/// The same instant in UTC (used when the C library cannot convert).
pub fn utc(secs: i64) -> Local {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (year, month, day) = civil_from_days(days);
    Local {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        min: (rem % 3600 / 60) as u32,
        sec: (rem % 60) as u32,
        weekday: (days + 4).rem_euclid(7) as u32,
        offset: 0,
        zone: "UTC".into(),
    }
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn offset(off: i64, colon: bool) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.abs();
    let (h, m) = (off / 3600, off % 3600 / 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

impl Local {
    /// Go's `Time.String()`: `2006-01-02 15:04:05 -0700 MST`.
    pub fn go_string(&self) -> String {
        let zone = if self.zone.is_empty() {
            offset(self.offset, false)
        } else {
            self.zone.clone()
        };
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {} {zone}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.min,
            self.sec,
            offset(self.offset, false)
        )
    }

    /// `time.RFC3339`: `2006-01-02T15:04:05Z07:00`.
    pub fn rfc3339(&self) -> String {
        let zone = if self.offset == 0 {
            "Z".to_string()
        } else {
            offset(self.offset, true)
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
            self.year, self.month, self.day, self.hour, self.min, self.sec
        )
    }

    /// `time.ANSIC`: `Mon Jan _2 15:04:05 2006`.
    pub fn ansic(&self) -> String {
        format!(
            "{} {} {:>2} {:02}:{:02}:{:02} {}",
            DAYS[self.weekday as usize % 7],
            MONTHS[(self.month as usize + 11) % 12],
            self.day,
            self.hour,
            self.min,
            self.sec,
            self.year
        )
    }
}

/// Parses an RFC 3339 timestamp (with optional fraction) into seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_layouts() {
        let t = utc(1_740_566_228); // 2025-02-26T10:37:08Z, a Wednesday
        assert_eq!(t.go_string(), "2025-02-26 10:37:08 +0000 UTC");
        assert_eq!(t.rfc3339(), "2025-02-26T10:37:08Z");
        assert_eq!(t.ansic(), "Wed Feb 26 10:37:08 2025");
        let t = utc(0);
        assert_eq!(t.ansic(), "Thu Jan  1 00:00:00 1970");
        let t = utc(-1);
        assert_eq!(t.rfc3339(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn offsets() {
        let mut t = utc(0);
        t.offset = 19800;
        t.zone = "IST".into();
        assert_eq!(t.rfc3339(), "1970-01-01T00:00:00+05:30");
        assert_eq!(t.go_string(), "1970-01-01 00:00:00 +0530 IST");
        t.offset = -3600;
        assert_eq!(t.rfc3339(), "1970-01-01T00:00:00-01:00");
    }

    #[test]
    fn parsing() {
        assert_eq!(
            parse_rfc3339("2025-02-26T10:37:08.123456789Z"),
            Some(1_740_566_228)
        );
        assert_eq!(
            parse_rfc3339("2025-02-26T11:37:08+01:00"),
            Some(1_740_566_228)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn local_matches_utc_offset() {
        let secs = 1_740_566_228;
        let l = local(secs);
        let shifted = utc(secs + l.offset);
        assert_eq!(
            (l.year, l.month, l.day),
            (shifted.year, shifted.month, shifted.day)
        );
        assert_eq!(
            (l.hour, l.min, l.sec),
            (shifted.hour, shifted.min, shifted.sec)
        );
    }
}
