//! `Config` of a container (Docker's `container.Config`), which is also the
//! `config` section of an image's configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Empty;

/// Docker's `HealthConfig`; durations are nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// Docker's `container.Config`. Field order and null-vs-absent follow the
/// Go struct's JSON tags so that clients see what Docker would send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub domainname: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub open_stdin: bool,
    #[serde(default)]
    pub stdin_once: bool,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::strslice::deserialize")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub args_escaped: bool,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, Empty>>,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default, deserialize_with = "crate::strslice::deserialize")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub network_disabled: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    #[serde(default)]
    pub on_build: Option<Vec<String>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::strslice::deserialize"
    )]
    pub shell: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmd_as_string_and_nulls() {
        let c: ContainerConfig =
            serde_json::from_str(r#"{"Cmd":"sh","Env":null,"Labels":{"a":"b"}}"#).unwrap();
        assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
        let out = serde_json::to_value(&c).unwrap();
        assert!(out["Env"].is_null());
        assert!(out.get("ExposedPorts").is_none());
        assert!(out.get("Healthcheck").is_none());
        assert_eq!(out["Labels"]["a"], "b");
    }

    #[test]
    fn exposed_ports_are_empty_objects() {
        let mut c = ContainerConfig::default();
        let mut ports = BTreeMap::new();
        ports.insert("80/tcp".to_string(), Empty {});
        c.exposed_ports = Some(ports);
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains(r#""ExposedPorts":{"80/tcp":{}}"#), "{text}");
    }
}
