//! Berth's default seccomp profile: allow by default, refuse (EPERM) the
//! system calls Docker's profile keeps from containers, each unless the
//! container holds the capability Docker gates it on. `clone3` gets
//! ENOSYS so libc falls back to `clone`, whose namespace flags are refused
//! without CAP_SYS_ADMIN.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompOperator,
    LinuxSyscall,
};

/// (capability that lifts the block, system calls). `None` = always.
const BLOCKED: &[(Option<&str>, &[&str])] = &[
    (
        None,
        &[
            "add_key",
            "keyctl",
            "request_key",
            "kexec_load",
            "kexec_file_load",
            "nfsservctl",
            "get_kernel_syms",
            "query_module",
            "create_module",
            "uselib",
            "ustat",
            "sysfs",
            "_sysctl",
            "vm86",
            "vm86old",
            "afs_syscall",
            "tuxcall",
            "security",
            "putpmsg",
            "getpmsg",
            "vserver",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
        ],
    ),
    (
        Some("CAP_SYS_ADMIN"),
        &[
            "mount",
            "umount",
            "umount2",
            "unshare",
            "setns",
            "pivot_root",
            "swapon",
            "swapoff",
            "sethostname",
            "setdomainname",
            "quotactl",
            "quotactl_fd",
            "fanotify_init",
            "lookup_dcookie",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "mount_setattr",
            "move_mount",
            "open_tree",
        ],
    ),
    (Some("CAP_SYS_BOOT"), &["reboot"]),
    (
        Some("CAP_SYS_MODULE"),
        &["init_module", "finit_module", "delete_module"],
    ),
    (Some("CAP_SYS_PACCT"), &["acct"]),
    (
        Some("CAP_SYS_PTRACE"),
        &[
            "ptrace",
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "userfaultfd",
        ],
    ),
    (Some("CAP_SYS_RAWIO"), &["iopl", "ioperm"]),
    (
        Some("CAP_SYS_TIME"),
        &[
            "settimeofday",
            "stime",
            "clock_settime",
            "clock_settime64",
            "clock_adjtime",
            "clock_adjtime64",
        ],
    ),
    (Some("CAP_SYS_TTY_CONFIG"), &["vhangup"]),
    (
        Some("CAP_SYS_NICE"),
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
            "move_pages",
        ],
    ),
    (Some("CAP_SYSLOG"), &["syslog"]),
    (Some("CAP_BPF"), &["bpf"]),
    (Some("CAP_PERFMON"), &["perf_event_open"]),
    (Some("CAP_DAC_READ_SEARCH"), &["open_by_handle_at"]),
];

/// `CLONE_NEW*` flags refused in `clone` without CAP_SYS_ADMIN.
const CLONE_NS_FLAGS: &[u64] = &[
    0x0002_0000, // CLONE_NEWNS
    0x0200_0000, // CLONE_NEWCGROUP
    0x0400_0000, // CLONE_NEWUTS
    0x0800_0000, // CLONE_NEWIPC
    0x1000_0000, // CLONE_NEWUSER
    0x2000_0000, // CLONE_NEWPID
    0x4000_0000, // CLONE_NEWNET
];

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

fn errno_rule(names: Vec<String>, errno: u32) -> LinuxSyscall {
    let mut s = LinuxSyscall::default();
    s.set_names(names);
    s.set_action(LinuxSeccompAction::ScmpActErrno);
    s.set_errno_ret(Some(errno));
    s
}

fn architectures() -> Vec<Arch> {
    if cfg!(target_arch = "x86_64") {
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    } else if cfg!(target_arch = "aarch64") {
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    } else {
        vec![Arch::ScmpArchNative]
    }
}

/// The default profile for a container holding `caps` (`CAP_…` names).
pub fn default_profile(caps: &[String]) -> LinuxSeccomp {
    let has = |c: &str| caps.iter().any(|x| x == c);
    let mut blocked: Vec<String> = Vec::new();
    for (cap, names) in BLOCKED {
        let lifted = match cap {
            None => false,
            // CAP_SYS_ADMIN also lifts the bpf and perf blocks, as Docker's.
            Some(c @ ("CAP_BPF" | "CAP_PERFMON")) => has(c) || has("CAP_SYS_ADMIN"),
            Some(c) => has(c),
        };
        if !lifted {
            blocked.extend(names.iter().map(|n| n.to_string()));
        }
    }
    let mut syscalls = vec![errno_rule(blocked, EPERM)];
    if !has("CAP_SYS_ADMIN") {
        syscalls.push(errno_rule(vec!["clone3".into()], ENOSYS));
        for flag in CLONE_NS_FLAGS {
            let arg = LinuxSeccompArgBuilder::default()
                .index(0usize)
                .value(*flag)
                .value_two(*flag)
                .op(LinuxSeccompOperator::ScmpCmpMaskedEq)
                .build();
            // (The builder cannot fail with every field set; without an
            // argument filter the rule would refuse every clone, so it is
            // left out rather than built wrong.)
            if let Ok(arg) = arg {
                let mut rule = errno_rule(vec!["clone".into()], EPERM);
                rule.set_args(Some(vec![arg]));
                syscalls.push(rule);
            }
        }
    }
    let mut p = LinuxSeccomp::default();
    p.set_default_action(LinuxSeccompAction::ScmpActAllow);
    p.set_architectures(Some(architectures()));
    p.set_syscalls(Some(syscalls));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::caps::DEFAULT_CAPABILITIES;

    fn names(p: &LinuxSeccomp) -> Vec<String> {
        p.syscalls()
            .as_ref()
            .map(|s| s.iter().flat_map(|r| r.names().clone()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn gated_on_capabilities() {
        let defaults: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect();
        let p = default_profile(&defaults);
        let n = names(&p);
        for blocked in [
            "mount", "ptrace", "keyctl", "reboot", "clone3", "clone", "unshare", "bpf",
        ] {
            assert!(n.contains(&blocked.to_string()), "{blocked}");
        }
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActAllow);

        let mut more = defaults.clone();
        more.push("CAP_SYS_ADMIN".into());
        more.push("CAP_SYS_PTRACE".into());
        let n = names(&default_profile(&more));
        for allowed in ["mount", "ptrace", "clone", "clone3", "unshare", "bpf"] {
            assert!(!n.contains(&allowed.to_string()), "{allowed}");
        }
        assert!(n.contains(&"keyctl".to_string()));
        // Serializes to what runc expects.
        let json = serde_json::to_value(default_profile(&defaults)).unwrap();
        assert_eq!(json["defaultAction"], "SCMP_ACT_ALLOW");
        assert_eq!(json["syscalls"][1]["errnoRet"], 38);
        assert_eq!(json["syscalls"][2]["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
    }
}
