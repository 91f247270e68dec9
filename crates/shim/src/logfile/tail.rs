//! Finding where the last N lines of a file start by reading backwards in
//! blocks from its end, so `tail` costs the same on a 1 GB log as on a
//! small one.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

const BLOCK: usize = 64 << 10;

/// Where the last `n` complete (`\n`-terminated) lines in `file[..len]`
/// begin, and how many complete lines were found (fewer than `n` when the
/// file is shorter; the offset is then 0). An unterminated tail is ignored.
pub fn tail_start(file: &File, len: u64, n: usize) -> io::Result<(u64, usize)> {
    let mut buf = vec![0u8; BLOCK.min(len as usize).max(1)];
    let mut end = len;
    let mut found = 0usize;
    let mut seen_terminator = false;
    let mut last_nl_end: Option<u64> = None;
    while end > 0 {
        let size = (end as usize).min(buf.len());
        let start = end - size as u64;
        file.read_exact_at(&mut buf[..size], start)?;
        for (i, &b) in buf[..size].iter().enumerate().rev() {
            if b != b'\n' {
                continue;
            }
            let pos = start + i as u64;
            if !seen_terminator {
                // The newline ending the last complete line.
                seen_terminator = true;
                last_nl_end = Some(pos + 1);
                if n == 0 {
                    return Ok((pos + 1, 0));
                }
                found = 1;
                continue;
            }
            if found == n {
                return Ok((pos + 1, n));
            }
            found += 1;
        }
        end = start;
    }
    if n == 0 {
        return Ok((last_nl_end.unwrap_or(0), 0));
    }
    Ok((0, found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(content: &[u8]) -> (tempfile::NamedTempFile, u64) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        (f, content.len() as u64)
    }

    #[test]
    fn finds_last_lines() {
        let (f, len) = file_with(b"a\nbb\nccc\n");
        let t = |n| tail_start(f.as_file(), len, n).unwrap();
        assert_eq!(t(1), (5, 1));
        assert_eq!(t(2), (2, 2));
        assert_eq!(t(3), (0, 3));
        assert_eq!(t(10), (0, 3));
        assert_eq!(t(0), (9, 0));
    }

    #[test]
    fn ignores_unterminated_tail() {
        let (f, len) = file_with(b"a\nbb\ncc");
        assert_eq!(tail_start(f.as_file(), len, 1).unwrap(), (2, 1));
        let (g, glen) = file_with(b"partial");
        assert_eq!(tail_start(g.as_file(), glen, 1).unwrap(), (0, 0));
        let (h, hlen) = file_with(b"");
        assert_eq!(tail_start(h.as_file(), hlen, 5).unwrap(), (0, 0));
    }

    #[test]
    fn crosses_block_boundaries() {
        let mut content = Vec::new();
        for i in 0..50_000 {
            content.extend_from_slice(format!("line number {i}\n").as_bytes());
        }
        let (f, len) = file_with(&content);
        let (off, found) = tail_start(f.as_file(), len, 20_000).unwrap();
        assert_eq!(found, 20_000);
        assert!(content[off as usize..].starts_with(b"line number 30000\n"));
    }
}
