//! Conversions from the Engine API's HostConfig pieces to spec inputs.

use berth_api::types::container::{DeviceMapping, Ulimit as ApiUlimit};

use crate::parse::{DeviceSpec, Ulimit};

impl From<&ApiUlimit> for Ulimit {
    fn from(u: &ApiUlimit) -> Self {
        Ulimit {
            name: u.name.clone(),
            soft: u.soft,
            hard: u.hard,
        }
    }
}

impl From<&DeviceMapping> for DeviceSpec {
    /// An empty container path means the host path; empty permissions
    /// mean `rwm`, as Docker's API.
    fn from(d: &DeviceMapping) -> Self {
        DeviceSpec {
            path_on_host: d.path_on_host.clone(),
            path_in_container: if d.path_in_container.is_empty() {
                d.path_on_host.clone()
            } else {
                d.path_in_container.clone()
            },
            permissions: if d.cgroup_permissions.is_empty() {
                "rwm".to_string()
            } else {
                d.cgroup_permissions.clone()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts() {
        let u = Ulimit::from(&ApiUlimit {
            name: "nofile".into(),
            soft: 1,
            hard: 2,
        });
        assert_eq!((u.soft, u.hard), (1, 2));
        let d = DeviceSpec::from(&DeviceMapping {
            path_on_host: "/dev/fuse".into(),
            ..Default::default()
        });
        assert_eq!(d.path_in_container, "/dev/fuse");
        assert_eq!(d.permissions, "rwm");
    }
}
