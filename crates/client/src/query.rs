//! Query strings and path escaping, encoded as Go's `net/url` does.

use berth_api::filters::Filters;

/// An ordered list of query parameters (a key may repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key=value`.
    pub fn push(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.pairs.push((key.to_string(), value.into()));
        self
    }

    /// Builder form of [`Query::push`].
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.push(key, value);
        self
    }

    /// Adds `key=1` when `on`, nothing otherwise (Docker's boolean form).
    pub fn flag(mut self, key: &str, on: bool) -> Self {
        if on {
            self.push(key, "1");
        }
        self
    }

    /// Adds `key=value` when there is a value.
    pub fn opt(mut self, key: &str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.push(key, v);
        }
        self
    }

    /// Adds `filters={…}` unless the filters are empty.
    pub fn filters(mut self, filters: &Filters) -> Self {
        if !filters.is_empty() {
            self.push("filters", filters.to_json());
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// `a=1&b=x+y`, without the leading `?`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            escape_into(&mut out, k, Mode::Query);
            out.push('=');
            escape_into(&mut out, v, Mode::Query);
        }
        out
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Query,
    Path,
}

fn keep(b: u8, mode: Mode) -> bool {
    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
        return true;
    }
    mode == Mode::Path
        && matches!(
            b,
            b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'@'
        )
}

fn escape_into(out: &mut String, s: &str, mode: Mode) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if keep(b, mode) {
            out.push(b as char);
        } else if b == b' ' && mode == Mode::Query {
            out.push('+');
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Escapes a value placed in a URL path (an image name, a container ID):
/// `/` and `:` stay, `?`, `#`, `%` and spaces are escaped.
pub fn escape_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, Mode::Path);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_go() {
        let q = Query::new()
            .with("repo", "docker.io/library/busybox")
            .with("tag", "a b")
            .with("changes", "CMD [\"sh\"]")
            .flag("all", true)
            .flag("force", false)
            .opt("x", None);
        assert_eq!(
            q.encode(),
            "repo=docker.io%2Flibrary%2Fbusybox&tag=a+b&changes=CMD+%5B%22sh%22%5D&all=1"
        );
    }

    #[test]
    fn filters_param() {
        let mut f = Filters::default();
        assert!(Query::new().filters(&f).is_empty());
        f.add("dangling", "true");
        assert_eq!(
            Query::new().filters(&f).encode(),
            "filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D"
        );
    }

    #[test]
    fn path_escaping() {
        assert_eq!(
            escape_path("localhost:5000/a/b:1.0"),
            "localhost:5000/a/b:1.0"
        );
        assert_eq!(escape_path("sha256:ab"), "sha256:ab");
        assert_eq!(escape_path("a b?c#%"), "a%20b%3Fc%23%25");
    }
}
