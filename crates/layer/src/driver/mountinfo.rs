//! Reading `/proc/self/mountinfo` to learn what is mounted where.

use std::path::{Path, PathBuf};

/// Mount points listed in mountinfo text (field 5, octal escapes decoded).
pub fn parse_mount_points(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .collect()
}

fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points of this process's mount namespace.
pub fn mount_points() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mount_points(&t))
        .unwrap_or_default()
}

pub fn is_mounted(path: &Path) -> bool {
    mount_points().iter().any(|p| p == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_unescapes() {
        let text = "36 35 98:0 /mnt1 /mnt/with\\040space rw - ext3 /dev/root rw\n\
                    37 35 0:1 / /var/lib/x/merged rw - overlay overlay rw,lowerdir=a\n";
        assert_eq!(
            parse_mount_points(text),
            vec![
                PathBuf::from("/mnt/with space"),
                PathBuf::from("/var/lib/x/merged")
            ]
        );
    }
}
