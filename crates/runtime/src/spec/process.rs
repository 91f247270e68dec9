//! The container process's environment (Docker's defaults and override
//! rules) and rlimits (`--ulimit`, capped at the host's hard limits).

use std::str::FromStr;

use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};

use super::host::HostInfo;
use crate::error::{Result, RuntimeError};
use crate::parse::Ulimit;

/// The `PATH` a container gets when the image sets none.
pub const DEFAULT_PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's default open-files limit for containers.
pub const DEFAULT_NOFILE: u64 = 1_048_576;

/// Builds the environment as Docker's `CreateDaemonEnvironment`: `PATH`,
/// `HOSTNAME` and (with a tty) `TERM=xterm` first, then the container's
/// variables replacing those or appended; `NAME` without `=` unsets.
pub(crate) fn build_env(env: &[String], hostname: &str, tty: bool) -> Result<Vec<String>> {
    let mut out: Vec<Option<String>> = vec![Some(format!("PATH={DEFAULT_PATH_ENV}"))];
    if !hostname.is_empty() {
        out.push(Some(format!("HOSTNAME={hostname}")));
    }
    if tty {
        out.push(Some("TERM=xterm".to_string()));
    }
    let key_of = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    for e in env {
        let key = key_of(e);
        if key.is_empty() || e.contains('\0') {
            return Err(RuntimeError::invalid(format!(
                "invalid environment variable {e:?}"
            )));
        }
        let pos = out
            .iter()
            .position(|x| x.as_deref().is_some_and(|x| key_of(x) == key));
        match (pos, e.contains('=')) {
            (Some(i), true) => out[i] = Some(e.clone()),
            (Some(i), false) => out[i] = None,
            (None, true) => out.push(Some(e.clone())),
            (None, false) => {}
        }
    }
    Ok(out.into_iter().flatten().collect())
}

fn rlimit_type(name: &str) -> Result<PosixRlimitType> {
    PosixRlimitType::from_str(&format!("RLIMIT_{}", name.to_ascii_uppercase()))
        .map_err(|_| RuntimeError::invalid(format!("invalid ulimit type: {name}")))
}

/// The rlimits: `RLIMIT_NOFILE` 1048576 (Docker's) unless set, then every
/// `--ulimit`. A limit above what the host allows ([`HostInfo::rlimit_max`]:
/// the daemon's hard limit without CAP_SYS_RESOURCE) is capped, with a
/// warning for values the user gave.
pub(crate) fn build_rlimits(
    ulimits: &[Ulimit],
    host: &HostInfo,
    warnings: &mut Vec<String>,
) -> Result<Vec<PosixRlimit>> {
    let mut list: Vec<(String, u64, u64, bool)> =
        vec![("nofile".to_string(), DEFAULT_NOFILE, DEFAULT_NOFILE, false)];
    for u in ulimits {
        u.validate()
            .map_err(|e| RuntimeError::invalid(format!("invalid --ulimit {}: {e}", u.name)))?;
        let entry = (u.name.clone(), u.soft_u64(), u.hard_u64(), true);
        match list.iter_mut().find(|(n, ..)| *n == u.name) {
            Some(slot) => *slot = entry,
            None => list.push(entry),
        }
    }
    let mut out = Vec::new();
    for (name, mut soft, mut hard, from_user) in list {
        if let Some(max) = host.rlimit_max.get(&name).copied()
            && hard > max
        {
            if from_user {
                warnings.push(format!(
                    "ulimit {name}: hard limit {hard} exceeds this host's limit {max} and was lowered to it"
                ));
            }
            hard = max;
            soft = soft.min(hard);
        }
        let r = PosixRlimitBuilder::default()
            .typ(rlimit_type(&name)?)
            .soft(soft)
            .hard(hard)
            .build()
            .map_err(|e| RuntimeError::oci("rlimit", e))?;
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::CgroupLayout;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn env_like_docker() {
        let e = build_env(&[], "abc", false).unwrap();
        assert_eq!(e, s(&[&format!("PATH={DEFAULT_PATH_ENV}"), "HOSTNAME=abc"]));
        let e = build_env(&s(&["PATH=/bin", "FOO=1", "TERM", "A=b=c"]), "h", true).unwrap();
        assert_eq!(e, s(&["PATH=/bin", "HOSTNAME=h", "FOO=1", "A=b=c"]));
        let e = build_env(&s(&["HOSTNAME"]), "h", false).unwrap();
        assert_eq!(e.len(), 1);
        assert!(build_env(&s(&["=x"]), "h", false).is_err());
    }

    #[test]
    fn rlimits_capped() {
        let mut host = HostInfo::synthetic(CgroupLayout::Unified);
        host.cap_sys_resource = false;
        host.rlimit_max.insert("nofile".into(), 20000);
        host.rlimit_max.insert("nproc".into(), 1000);
        let mut w = Vec::new();
        let r = build_rlimits(&[], &host, &mut w).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].typ(), r[0].soft(), r[0].hard()),
            (PosixRlimitType::RlimitNofile, 20000, 20000)
        );
        assert!(w.is_empty());

        let ul = vec![
            Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048,
            },
            Ulimit {
                name: "nproc".into(),
                soft: 500,
                hard: 5000,
            },
            Ulimit {
                name: "core".into(),
                soft: -1,
                hard: -1,
            },
        ];
        let r = build_rlimits(&ul, &host, &mut w).unwrap();
        assert_eq!((r[0].soft(), r[0].hard()), (1024, 2048));
        assert_eq!(
            (r[1].typ(), r[1].soft(), r[1].hard()),
            (PosixRlimitType::RlimitNproc, 500, 1000)
        );
        assert_eq!(
            (r[2].typ(), r[2].soft()),
            (PosixRlimitType::RlimitCore, u64::MAX)
        );
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("nproc"));

        host.rlimit_max.insert("nofile".into(), 1 << 21);
        let r = build_rlimits(&[], &host, &mut w).unwrap();
        assert_eq!(r[0].hard(), DEFAULT_NOFILE);

        let bad = vec![Ulimit {
            name: "bogus".into(),
            soft: 1,
            hard: 1,
        }];
        assert!(build_rlimits(&bad, &host, &mut w).is_err());
    }
}
