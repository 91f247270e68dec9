//! Detach keys: parsing docker's `--detach-keys` notation (`ctrl-p,ctrl-q`,
//! `a,ctrl-\`, `DEL`) and spotting the sequence in the keyboard input.

/// The default sequence: ctrl-p ctrl-q.
pub const DEFAULT_KEYS: &[u8] = &[16, 17];

/// moby/term's `ToBytes`: comma-separated keys, each one character,
/// `ctrl-@` … `ctrl-_` (`ctrl-a` = 1) or `DEL`.
pub fn parse_keys(keys: &str) -> Result<Vec<u8>, String> {
    const CTRL: &str = "@abcdefghijklmnopqrstuvwxyz[\\]^_";
    let mut codes = Vec::new();
    for key in keys.split(',') {
        if key.len() == 1 {
            codes.push(key.as_bytes()[0]);
            continue;
        }
        if key == "DEL" {
            codes.push(127);
            continue;
        }
        let code = key
            .strip_prefix("ctrl-")
            .filter(|c| c.len() == 1)
            .and_then(|c| CTRL.find(c));
        match code {
            Some(i) => codes.push(i as u8),
            None => return Err(format!("Unknown character: '{key}'")),
        }
    }
    Ok(codes)
}

/// Holds back input that could be the start of the detach sequence and
/// reports the whole sequence (docker's escape proxy, also when the keys
/// arrive in one read).
#[derive(Debug)]
pub struct EscapeDetector {
    keys: Vec<u8>,
    matched: usize,
}

/// What to do with a chunk of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    /// Forward these bytes.
    Forward(Vec<u8>),
    /// The sequence was typed: forward these bytes, then detach.
    Detach(Vec<u8>),
}

impl EscapeDetector {
    /// A detector for `keys`; an empty sequence never detaches.
    pub fn new(keys: Vec<u8>) -> Self {
        Self { keys, matched: 0 }
    }

    pub fn scan(&mut self, input: &[u8]) -> Scan {
        if self.keys.is_empty() {
            return Scan::Forward(input.to_vec());
        }
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    out.push(b);
                }
            }
            if self.matched == self.keys.len() {
                self.matched = 0;
                return Scan::Detach(out);
            }
        }
        Scan::Forward(out)
    }

    /// Input ended: the held-back bytes were not a sequence after all.
    pub fn flush(&mut self) -> Vec<u8> {
        let held = self.keys[..self.matched].to_vec();
        self.matched = 0;
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_notation() {
        assert_eq!(parse_keys("ctrl-p,ctrl-q").unwrap(), DEFAULT_KEYS);
        assert_eq!(parse_keys("ctrl-@,ctrl-a,ctrl-_").unwrap(), [0, 1, 31]);
        assert_eq!(parse_keys("a,ctrl-\\,DEL").unwrap(), [b'a', 28, 127]);
        assert_eq!(parse_keys("ctrl-[,ctrl-]").unwrap(), [27, 29]);
        assert_eq!(
            parse_keys("ctrl-P").unwrap_err(),
            "Unknown character: 'ctrl-P'"
        );
        assert_eq!(parse_keys("ab").unwrap_err(), "Unknown character: 'ab'");
        assert!(parse_keys("").is_err());
    }

    #[test]
    fn detects_sequence_across_reads() {
        let mut d = EscapeDetector::new(DEFAULT_KEYS.to_vec());
        assert_eq!(d.scan(b"ls\r"), Scan::Forward(b"ls\r".to_vec()));
        assert_eq!(d.scan(&[16]), Scan::Forward(vec![]));
        assert_eq!(d.scan(&[17]), Scan::Detach(vec![]));
        assert_eq!(d.scan(&[b'x', 16, 17, b'y']), Scan::Detach(vec![b'x']));
    }

    #[test]
    fn false_starts_are_forwarded() {
        let mut d = EscapeDetector::new(DEFAULT_KEYS.to_vec());
        assert_eq!(d.scan(&[16]), Scan::Forward(vec![]));
        assert_eq!(d.scan(b"a"), Scan::Forward(vec![16, b'a']));
        assert_eq!(d.scan(&[16, 16, 17]), Scan::Detach(vec![16]));
        assert_eq!(d.scan(&[16]), Scan::Forward(vec![]));
        assert_eq!(d.flush(), vec![16]);
        let mut none = EscapeDetector::new(Vec::new());
        assert_eq!(none.scan(&[16, 17]), Scan::Forward(vec![16, 17]));
    }
}
