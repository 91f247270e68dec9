//! Was the container OOM-killed? Read from its memory cgroup before the
//! runtime deletes it: cgroup v2 `memory.events` (`oom_kill`), or v1
//! `memory.oom_control` (`oom_kill`, `under_oom`) on v1 and hybrid hosts.

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

/// The memory-controller file to read for `cgroups_path` (the spec's
/// `linux.cgroupsPath`), or `None` for systemd-style paths.
pub fn counter_file(cgroups_path: &str) -> Option<PathBuf> {
    counter_file_in(Path::new(ROOT), cgroups_path)
}

fn counter_file_in(root: &Path, cgroups_path: &str) -> Option<PathBuf> {
    if cgroups_path.contains(':') {
        return None;
    }
    let rel = cgroups_path.trim_start_matches('/');
    if root.join("cgroup.controllers").exists() {
        return Some(root.join(rel).join("memory.events"));
    }
    Some(root.join("memory").join(rel).join("memory.oom_control"))
}

/// True when the counters in `file` show an OOM kill.
pub fn oom_killed(file: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(file) else {
        return false;
    };
    parse(&text)
}

fn parse(text: &str) -> bool {
    text.lines().any(|l| {
        let mut it = l.split_whitespace();
        matches!(
            (it.next(), it.next().and_then(|v| v.parse::<u64>().ok())),
            (Some("oom_kill" | "under_oom"), Some(n)) if n > 0
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counters() {
        assert!(!parse("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"));
        assert!(parse("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"));
        assert!(parse("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n"));
        assert!(!parse("low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n"));
    }

    #[test]
    fn picks_the_file_for_the_layout() {
        let v2 = tempfile::tempdir().unwrap();
        std::fs::write(v2.path().join("cgroup.controllers"), "memory").unwrap();
        assert_eq!(
            counter_file_in(v2.path(), "/berth/abc"),
            Some(v2.path().join("berth/abc/memory.events"))
        );
        let v1 = tempfile::tempdir().unwrap();
        assert_eq!(
            counter_file_in(v1.path(), "/berth/abc"),
            Some(v1.path().join("memory/berth/abc/memory.oom_control"))
        );
        assert_eq!(counter_file_in(v1.path(), "system.slice:berth:abc"), None);
    }
}
