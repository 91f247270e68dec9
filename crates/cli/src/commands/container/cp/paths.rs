//! Path rules of `docker cp` (go-archive's copy helpers): a trailing `/`
//! or `/.` says "directory" or "its contents", and archive entries are
//! renamed when the destination's base name differs.

use std::path::{Path, PathBuf};

/// `filepath.Clean`.
pub fn clean(p: &str) -> String {
    berth_runtime::parse::clean_path(p)
}

fn has_trailing_separator(p: &str) -> bool {
    p.ends_with('/')
}

/// `specifiesCurrentDir`: the last element is `.`.
pub fn specifies_current_dir(p: &str) -> bool {
    base(p) == "."
}

/// True when the path says it must be a directory (`dir/`, `dir/.`).
pub fn asserts_directory(p: &str) -> bool {
    has_trailing_separator(p) || specifies_current_dir(p)
}

/// `filepath.Base`.
pub fn base(p: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return if p.is_empty() { ".".into() } else { "/".into() };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// `filepath.Dir`: everything before the last element, cleaned.
pub fn dir(p: &str) -> String {
    match p.rfind('/') {
        Some(i) => clean(&p[..=i]),
        None => ".".into(),
    }
}

/// `SplitPathDirEntry`: the directory and the entry, keeping `.`.
pub fn split_dir_entry(p: &str) -> (String, String) {
    let mut cleaned = clean(p);
    if specifies_current_dir(p) {
        cleaned = if cleaned == "/" {
            "/.".into()
        } else {
            format!("{cleaned}/.")
        };
    }
    (dir(&cleaned), base(&cleaned))
}

/// `PreserveTrailingDotOrSeparator`.
pub fn preserve_trailing(cleaned: &str, original: &str) -> String {
    let mut out = cleaned.to_string();
    if !specifies_current_dir(&out) && specifies_current_dir(original) {
        if !has_trailing_separator(&out) {
            out.push('/');
        }
        out.push('.');
    }
    if !has_trailing_separator(&out) && has_trailing_separator(original) {
        out.push('/');
    }
    out
}

/// `filepath.Join`.
pub fn join(a: &str, b: &str) -> String {
    clean(&format!("{a}/{b}"))
}

/// An absolute local path that keeps a trailing `/` or `/.`.
pub fn resolve_local(p: &str) -> std::io::Result<String> {
    let abs: PathBuf = if Path::new(p).is_absolute() {
        PathBuf::from(p)
    } else {
        std::env::current_dir()?.join(p)
    };
    Ok(preserve_trailing(&clean(&abs.to_string_lossy()), p))
}

/// `GetRebaseName`: the resolved path keeps the original's trailing
/// markers; the original's base name is the new name when they differ.
pub fn rebase_name(path: &str, resolved: &str) -> (String, Option<String>) {
    let mut resolved = resolved.to_string();
    if specifies_current_dir(path) && !specifies_current_dir(&resolved) {
        resolved.push_str("/.");
    }
    if has_trailing_separator(path) && !has_trailing_separator(&resolved) {
        resolved.push('/');
    }
    let rebase = (base(path) != base(&resolved)).then(|| base(path));
    (resolved, rebase)
}

/// go-archive's name rebaser: `old/…` becomes `new/…`.
pub fn rebase(name: &str, old: &str, new: &str) -> String {
    let old = old.trim_end_matches('/');
    let new = new.trim_end_matches('/');
    if old.is_empty() {
        let name = name.trim_start_matches('/');
        return if new.is_empty() {
            name.to_string()
        } else {
            format!("{new}/{name}")
        };
    }
    match name.strip_prefix(old) {
        Some(suffix) if suffix.is_empty() || suffix.starts_with('/') => format!("{new}{suffix}"),
        _ => name.to_string(),
    }
}

/// `splitCpArg`: `container:path`, unless the argument is a local path.
pub fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') => (Some(c), p),
        _ => (None, arg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_helpers() {
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(base("/"), "/");
        assert_eq!(dir("/a/b"), "/a");
        assert_eq!(dir("a"), ".");
        assert_eq!(dir("/a"), "/");
        assert_eq!(split_dir_entry("/a/b/."), ("/a/b".into(), ".".into()));
        assert_eq!(split_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(split_dir_entry("/"), ("/".into(), "/".into()));
        assert_eq!(preserve_trailing("/a/b", "a/b/."), "/a/b/.");
        assert_eq!(preserve_trailing("/a/b", "a/b/"), "/a/b/");
        assert!(asserts_directory("x/") && asserts_directory("x/.") && !asserts_directory("x"));
    }

    #[test]
    fn rebasing() {
        assert_eq!(rebase("etc/passwd", "etc", "conf"), "conf/passwd");
        assert_eq!(rebase("etc/", "etc", "conf"), "conf/");
        assert_eq!(rebase("etcetera", "etc", "conf"), "etcetera");
        assert_eq!(rebase("./a", ".", "dst"), "dst/a");
        assert_eq!(rebase(".", ".", "dst"), "dst");
        assert_eq!(rebase("a", "", "dst"), "dst/a");
        assert_eq!(
            rebase_name("/ln/", "/real/target"),
            ("/real/target/".into(), Some("ln".into()))
        );
    }

    #[test]
    fn cp_arguments() {
        assert_eq!(split_cp_arg("web:/etc"), (Some("web"), "/etc"));
        assert_eq!(split_cp_arg("/tmp/a:b"), (None, "/tmp/a:b"));
        assert_eq!(split_cp_arg("./a:b"), (None, "./a:b"));
        assert_eq!(split_cp_arg("file"), (None, "file"));
        assert_eq!(split_cp_arg("-"), (None, "-"));
    }
}
