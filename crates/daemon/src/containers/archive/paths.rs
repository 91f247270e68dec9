//! Docker's rules for the `path` of `/containers/{id}/archive`: the path
//! is made absolute and cleaned, keeping a trailing `/` or `/.` (which
//! assert a directory and make a final symlink be followed), the archive
//! is named after its last element, and the stat header carries Go's
//! `os.FileMode` bits and an RFC 3339 time.

use berth_api::types::archive::{ContainerPathStat, mode};
use chrono::DateTime;

/// Go's `filepath.Clean` of an absolute path.
fn clean_abs(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Go's `filepath.Base`: the last element, trailing slashes ignored; `/`
/// for the root, `.` for an empty path.
pub fn base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

fn specifies_current_dir(path: &str) -> bool {
    base(path) == "."
}

/// `archive.PreserveTrailingDotOrSeparator(filepath.Join("/", path),
/// path)`: the absolute, cleaned form of a request's path, with its
/// trailing `/.` or `/` kept.
pub fn container_path(path: &str) -> String {
    let mut cleaned = clean_abs(path);
    if !specifies_current_dir(&cleaned) && specifies_current_dir(path) {
        if !cleaned.ends_with('/') {
            cleaned.push('/');
        }
        cleaned.push('.');
    }
    if !cleaned.ends_with('/') && path.ends_with('/') {
        cleaned.push('/');
    }
    cleaned
}

/// Whether the path asserts a directory (ends in `/` or `/.`); its last
/// element is then followed when it is a symlink.
pub fn asserts_dir(path: &str) -> bool {
    path.ends_with('/') || specifies_current_dir(path)
}

/// Go's `os.FileMode` of a `st_mode`.
pub fn go_mode(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    m |= match st_mode & libc::S_IFMT {
        libc::S_IFBLK => mode::DEVICE,
        libc::S_IFCHR => mode::DEVICE | mode::CHAR_DEVICE,
        libc::S_IFDIR => mode::DIR,
        libc::S_IFIFO => mode::NAMED_PIPE,
        libc::S_IFLNK => mode::SYMLINK,
        libc::S_IFSOCK => mode::SOCKET,
        _ => 0,
    };
    if st_mode & libc::S_ISGID != 0 {
        m |= SETGID;
    }
    if st_mode & libc::S_ISUID != 0 {
        m |= SETUID;
    }
    if st_mode & libc::S_ISVTX != 0 {
        m |= STICKY;
    }
    m
}

const SETUID: u32 = 1 << 23;
const SETGID: u32 = 1 << 22;
const STICKY: u32 = 1 << 20;

/// A time as Go's JSON writes it (`time.RFC3339Nano`, trailing zeros of
/// the fraction dropped), in UTC.
pub fn rfc3339(secs: i64, nanos: i64) -> String {
    let nanos = u32::try_from(nanos.clamp(0, 999_999_999)).unwrap_or(0);
    let Some(t) = DateTime::from_timestamp(secs, nanos) else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The stat header of `abs` (the request's container path) from its
/// `lstat` (or `stat` when the path asserts a directory).
pub fn path_stat(abs: &str, st: &libc::stat, link_target: String) -> ContainerPathStat {
    ContainerPathStat {
        name: base(abs).to_string(),
        size: st.st_size,
        mode: go_mode(st.st_mode),
        mtime: rfc3339(st.st_mtime, st.st_mtime_nsec),
        link_target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_like_docker() {
        let cases = [
            ("foo", "/foo"),
            ("/foo/", "/foo/"),
            ("foo/.", "/foo/."),
            ("foo/./", "/foo/./"),
            ("/a/../b", "/b"),
            ("../../etc/passwd", "/etc/passwd"),
            ("/", "/"),
            (".", "/."),
            ("/.", "/."),
            ("./", "/./"),
            ("a//b///", "/a/b/"),
            ("/etc/..", "/"),
        ];
        for (given, want) in cases {
            assert_eq!(container_path(given), want, "{given}");
        }
        assert!(asserts_dir("/foo/"));
        assert!(asserts_dir("/foo/."));
        assert!(asserts_dir("/."));
        assert!(!asserts_dir("/foo"));
        assert!(!asserts_dir("/foo/.x"));
    }

    #[test]
    fn base_like_go() {
        assert_eq!(base("/foo/bar"), "bar");
        assert_eq!(base("/foo/bar/"), "bar");
        assert_eq!(base("/foo/."), ".");
        assert_eq!(base("/"), "/");
        assert_eq!(base("//"), "/");
        assert_eq!(base(""), ".");
        assert_eq!(base("x"), "x");
    }

    #[test]
    fn go_file_modes() {
        assert_eq!(go_mode(libc::S_IFDIR | 0o755), (1 << 31) | 0o755);
        assert_eq!(go_mode(libc::S_IFREG | 0o644), 0o644);
        assert_eq!(go_mode(libc::S_IFLNK | 0o777), (1 << 27) | 0o777);
        assert_eq!(
            go_mode(libc::S_IFCHR | 0o666),
            (1 << 26) | (1 << 21) | 0o666
        );
        assert_eq!(go_mode(libc::S_IFBLK | 0o660), (1 << 26) | 0o660);
        assert_eq!(go_mode(libc::S_IFIFO | 0o600), (1 << 25) | 0o600);
        assert_eq!(go_mode(libc::S_IFSOCK | 0o755), (1 << 24) | 0o755);
        assert_eq!(go_mode(libc::S_IFREG | 0o4755), (1 << 23) | 0o755);
        assert_eq!(go_mode(libc::S_IFREG | 0o2755), (1 << 22) | 0o755);
        assert_eq!(
            go_mode(libc::S_IFDIR | 0o1777),
            (1 << 31) | (1 << 20) | 0o777
        );
        // The header Docker sends for /etc (drwxr-xr-x).
        assert_eq!(go_mode(libc::S_IFDIR | 0o755), 2147484141);
    }

    #[test]
    fn times_like_go() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_700_000_000, 500_000_000),
            "2023-11-14T22:13:20.5Z"
        );
        assert_eq!(
            rfc3339(1_700_000_000, 123),
            "2023-11-14T22:13:20.000000123Z"
        );
    }

    #[test]
    fn stat_header_names() {
        // SAFETY: an all-zero `stat` is a valid value.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        st.st_mode = libc::S_IFDIR | 0o755;
        st.st_size = 4096;
        let s = path_stat("/etc/", &st, String::new());
        assert_eq!((s.name.as_str(), s.size, s.is_dir()), ("etc", 4096, true));
        assert_eq!(path_stat("/", &st, String::new()).name, "/");
        assert_eq!(path_stat("/etc/.", &st, String::new()).name, ".");
        st.st_mode = libc::S_IFLNK | 0o777;
        let s = path_stat("/lib", &st, "/usr/lib".into());
        assert!(s.is_symlink());
        assert_eq!(s.link_target, "/usr/lib");
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"linkTarget\":\"/usr/lib\""), "{json}");
    }
}
