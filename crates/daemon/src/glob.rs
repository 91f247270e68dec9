//! Shell-style patterns with Go's `path.Match` semantics, used by the
//! `reference` filter: `*` and `?` never match `/`; `[...]` classes.

/// Whether `name` matches `pattern`. A malformed pattern matches nothing.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => {
            let rest = &p[1..];
            let mut i = 0;
            loop {
                if match_from(rest, &n[i..]) {
                    return true;
                }
                if i == n.len() || n[i] == '/' {
                    return false;
                }
                i += 1;
            }
        }
        Some('?') => !n.is_empty() && n[0] != '/' && match_from(&p[1..], &n[1..]),
        Some('[') => {
            let Some(c) = n.first() else { return false };
            match class(&p[1..], *c) {
                Some((ok, used)) => ok && *c != '/' && match_from(&p[1 + used..], &n[1..]),
                None => false,
            }
        }
        Some('\\') if p.len() > 1 => !n.is_empty() && n[0] == p[1] && match_from(&p[2..], &n[1..]),
        Some(c) => !n.is_empty() && n[0] == *c && match_from(&p[1..], &n[1..]),
    }
}

/// Matches `c` against a class body starting after `[`; returns whether
/// it matched and how many pattern chars the class used (through `]`).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = p.first() == Some(&'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = if p[i] == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            p[i]
        };
        i += 1;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|h| *h != ']') {
            let hi = p[i + 1];
            i += 2;
            if lo <= c && c <= hi {
                matched = true;
            }
        } else if lo == c {
            matched = true;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn go_path_match_cases() {
        assert!(matches("busybox", "busybox"));
        assert!(matches("bus*", "busybox"));
        assert!(!matches("bus*", "library/busybox"));
        assert!(matches("*/app", "user/app"));
        assert!(matches("busybox:1.*", "busybox:1.36"));
        assert!(matches("b?sybox", "busybox"));
        assert!(matches("[a-c]usybox", "busybox"));
        assert!(!matches("[^a-c]usybox", "busybox"));
        assert!(!matches("[", "x"));
        assert!(matches("*", ""));
    }
}
