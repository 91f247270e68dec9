//! Raw tar archives for tests, including hostile ones (`..`, absolute
//! paths, links out of the root) that tar libraries refuse to write.

/// One entry of a raw archive.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    /// `b'0'` file, `b'5'` dir, `b'2'` symlink, `b'1'` hard link,
    /// `b'3'` char device, `b'4'` block device, `b'6'` fifo.
    pub kind: u8,
    pub link: String,
    pub data: Vec<u8>,
    pub mode: u32,
    pub dev: (u32, u32),
}

impl Entry {
    pub fn file(name: &str, data: &[u8]) -> Self {
        Self {
            name: name.into(),
            kind: b'0',
            link: String::new(),
            data: data.to_vec(),
            mode: 0o644,
            dev: (0, 0),
        }
    }
    pub fn dir(name: &str) -> Self {
        Self {
            name: name.into(),
            kind: b'5',
            link: String::new(),
            data: Vec::new(),
            mode: 0o755,
            dev: (0, 0),
        }
    }
    pub fn symlink(name: &str, target: &str) -> Self {
        Self {
            name: name.into(),
            kind: b'2',
            link: target.into(),
            data: Vec::new(),
            mode: 0o777,
            dev: (0, 0),
        }
    }
    pub fn hardlink(name: &str, target: &str) -> Self {
        Self {
            name: name.into(),
            kind: b'1',
            link: target.into(),
            data: Vec::new(),
            mode: 0o644,
            dev: (0, 0),
        }
    }
    pub fn chardev(name: &str, major: u32, minor: u32) -> Self {
        Self {
            name: name.into(),
            kind: b'3',
            link: String::new(),
            data: Vec::new(),
            mode: 0o666,
            dev: (major, minor),
        }
    }
}

fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let bytes = text.as_bytes();
    let start = bytes.len().saturating_sub(width);
    field[..width].copy_from_slice(&bytes[start..]);
    field[width] = 0;
}

/// Serialises entries as a ustar archive, names written verbatim
/// (up to 100 bytes), followed by the two zero end blocks.
pub fn build(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = [0u8; 512];
        let name = e.name.as_bytes();
        assert!(name.len() <= 100, "test tar names must fit 100 bytes");
        h[..name.len()].copy_from_slice(name);
        octal(&mut h[100..108], u64::from(e.mode));
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], e.data.len() as u64);
        octal(&mut h[136..148], 1_700_000_000);
        h[156] = e.kind;
        let link = e.link.as_bytes();
        assert!(link.len() <= 100);
        h[157..157 + link.len()].copy_from_slice(link);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        octal(&mut h[329..337], u64::from(e.dev.0));
        octal(&mut h[337..345], u64::from(e.dev.1));
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        octal(&mut h[148..155], u64::from(sum));
        h[155] = b' ';
        out.extend_from_slice(&h);
        out.extend_from_slice(&e.data);
        let pad = (512 - e.data.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}
