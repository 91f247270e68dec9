//! `/etc/passwd` and `/etc/group` parsing (lenient, like libcontainer's).

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

fn lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect())
}

/// Parses passwd lines; malformed ones are skipped.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    lines(text)
        .filter_map(|f| {
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                home: f.get(5).map(|h| h.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// Parses group lines; malformed ones are skipped.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    lines(text)
        .filter_map(|f| {
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_leniently() {
        let p = parse_passwd(
            "# comment\nroot:x:0:0:root:/root:/bin/sh\n\nbroken\napp:x:1000:1001::/home/app\nbad:x:notanumber:1::/:/bin/sh\n",
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].name, "app");
        assert_eq!((p[1].uid, p[1].gid), (1000, 1001));
        assert_eq!(p[1].home, "/home/app");
        let g = parse_group("root:x:0:\nwheel:x:10:app, other\nx:y\n");
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].members, vec!["app", "other"]);
    }
}
