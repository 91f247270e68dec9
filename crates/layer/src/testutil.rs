//! Test helpers: a tar builder that writes any header, hostile or not.

use std::io::Write;

/// One header's fields.
#[derive(Clone)]
pub struct Spec {
    pub name: Vec<u8>,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    pub link: Vec<u8>,
    pub devmajor: u32,
    pub devminor: u32,
    /// Size written in the header; `None` means the content's length.
    pub size: Option<u64>,
}

impl Spec {
    pub fn new(name: impl AsRef<[u8]>, typeflag: u8) -> Self {
        Self {
            name: name.as_ref().to_vec(),
            typeflag,
            mode: if typeflag == b'5' { 0o755 } else { 0o644 },
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            link: Vec::new(),
            devmajor: 0,
            devminor: 0,
            size: None,
        }
    }
}

fn octal(field: &mut [u8], value: u64) {
    if value >= 1 << (3 * (field.len() - 1)) {
        // GNU base-256.
        field.fill(0);
        let n = field.len();
        field[n - 8..].copy_from_slice(&value.to_be_bytes());
        field[0] |= 0x80;
        return;
    }
    let s = format!("{:0width$o}\0", value, width = field.len() - 1);
    field.copy_from_slice(s.as_bytes());
}

pub fn header_block(spec: &Spec, size: u64) -> [u8; 512] {
    let mut b = [0u8; 512];
    let n = spec.name.len().min(100);
    b[..n].copy_from_slice(&spec.name[..n]);
    octal(&mut b[100..108], u64::from(spec.mode));
    octal(&mut b[108..116], spec.uid);
    octal(&mut b[116..124], spec.gid);
    octal(&mut b[124..136], size);
    octal(&mut b[136..148], spec.mtime as u64);
    b[156] = spec.typeflag;
    let l = spec.link.len().min(100);
    b[157..157 + l].copy_from_slice(&spec.link[..l]);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[265..269].copy_from_slice(b"root");
    b[297..301].copy_from_slice(b"root");
    octal(&mut b[329..337], u64::from(spec.devmajor));
    octal(&mut b[337..345], u64::from(spec.devminor));
    let sum: u64 = b
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(x)
            }
        })
        .sum();
    b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    b
}

pub fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut out = format!("{len} ").into_bytes();
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

#[derive(Default)]
pub struct TarBuilder {
    pub data: Vec<u8>,
}

impl TarBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn pad(&mut self) {
        while !self.data.len().is_multiple_of(512) {
            self.data.push(0);
        }
    }

    pub fn entry(&mut self, spec: &Spec, content: &[u8]) -> &mut Self {
        let size = spec.size.unwrap_or(content.len() as u64);
        self.data.extend_from_slice(&header_block(spec, size));
        self.data.extend_from_slice(content);
        self.pad();
        self
    }

    /// A PAX `x` header with the given records.
    pub fn pax(&mut self, records: &[(&[u8], &[u8])]) -> &mut Self {
        let mut data = Vec::new();
        for (k, v) in records {
            data.extend(pax_record(k, v));
        }
        self.entry(&Spec::new("PaxHeaders/x", b'x'), &data)
    }

    pub fn gnu_long_name(&mut self, name: &[u8]) -> &mut Self {
        let mut data = name.to_vec();
        data.push(0);
        self.entry(&Spec::new("././@LongLink", b'L'), &data)
    }

    pub fn file(&mut self, name: &str, content: &[u8]) -> &mut Self {
        self.entry(&Spec::new(name, b'0'), content)
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(&Spec::new(name, b'5'), b"")
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut s = Spec::new(name, b'2');
        s.link = target.as_bytes().to_vec();
        s.mode = 0o777;
        self.entry(&s, b"")
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut s = Spec::new(name, b'1');
        s.link = target.as_bytes().to_vec();
        self.entry(&s, b"")
    }

    pub fn device(&mut self, name: &str, typeflag: u8, major: u32, minor: u32) -> &mut Self {
        let mut s = Spec::new(name, typeflag);
        s.devmajor = major;
        s.devminor = minor;
        self.entry(&s, b"")
    }

    pub fn finish(&mut self) -> Vec<u8> {
        self.data.extend_from_slice(&[0u8; 1024]);
        std::mem::take(&mut self.data)
    }

    /// The archive without end-of-archive blocks.
    pub fn unterminated(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.data)
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// Every path below `dir`, relative, sorted (for "nothing else appeared").
pub fn tree(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
