//! Cuts a byte stream into log lines the way Docker's log copier does: a
//! line ends at `\n` (kept); a line that grows past 16 KiB without one is
//! logged in 16 KiB partial pieces; what is left when the stream ends is
//! logged as a partial line. Incomplete lines wait for more data.

use crate::bytescan::find_byte;

/// Docker's copier buffer: the longest line logged in one piece.
pub const MAX_LINE: usize = 16 * 1024;

/// Per-stream line assembly.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `data`; calls `emit(line, partial)` for each finished piece.
    /// `line` includes the `\n` of complete lines.
    pub fn push(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8], bool)) {
        while !data.is_empty() {
            let nl = find_byte(data, b'\n');
            let need = nl.map_or(data.len(), |i| i + 1);
            let have = self.pending.len();
            if nl.is_some() && have + need <= MAX_LINE {
                if have == 0 {
                    emit(&data[..need], false);
                } else {
                    self.pending.extend_from_slice(&data[..need]);
                    emit(&self.pending, false);
                    self.pending.clear();
                }
                data = &data[need..];
            } else if nl.is_none() && have + need < MAX_LINE {
                self.pending.extend_from_slice(data);
                return;
            } else {
                let take = MAX_LINE - have;
                if have == 0 {
                    emit(&data[..take], true);
                } else {
                    self.pending.extend_from_slice(&data[..take]);
                    emit(&self.pending, true);
                    self.pending.clear();
                }
                data = &data[take..];
            }
        }
        if self.pending.capacity() > 2 * MAX_LINE {
            self.pending.shrink_to(MAX_LINE);
        }
    }

    /// The stream ended: emits the unfinished line, if any, as partial.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8], bool)) {
        if !self.pending.is_empty() {
            emit(&self.pending, true);
            self.pending = Vec::new();
        }
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, |l, p| out.push((l.to_vec(), p)));
        }
        s.finish(|l, p| out.push((l.to_vec(), p)));
        out
    }

    #[test]
    fn lines_and_partials() {
        let out = run(&[b"a\nb", b"c\n\nd"]);
        assert_eq!(
            out,
            vec![
                (b"a\n".to_vec(), false),
                (b"bc\n".to_vec(), false),
                (b"\n".to_vec(), false),
                (b"d".to_vec(), true),
            ]
        );
    }

    #[test]
    fn long_lines_split_at_16k() {
        let mut line = vec![b'x'; MAX_LINE + 10];
        line.push(b'\n');
        let out = run(&[&line[..100], &line[100..]]);
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].0.len(), out[0].1), (MAX_LINE, true));
        assert_eq!((out[1].0.len(), out[1].1), (11, false));
        // Exactly 16 KiB including the newline is one complete line.
        let mut exact = vec![b'y'; MAX_LINE - 1];
        exact.push(b'\n');
        assert_eq!(run(&[&exact]), vec![(exact.clone(), false)]);
        // 16 KiB without a newline is flushed as a partial at once.
        let full = vec![b'z'; MAX_LINE];
        let mut s = LineSplitter::default();
        let mut n = 0;
        s.push(&full, |_, p| {
            assert!(p);
            n += 1
        });
        assert_eq!((n, s.has_pending()), (1, false));
    }
}
