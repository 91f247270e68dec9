//! Exec bodies: `POST /containers/{id}/exec`, `POST /exec/{id}/start`,
//! `GET /exec/{id}/json`.

use serde::{Deserialize, Serialize};

/// `POST /containers/{id}/exec` (Docker's `ExecOptions`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecCreateBody {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub tty: bool,
    /// Initial `[height, width]` of the TTY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub detach: bool,
    #[serde(default)]
    pub detach_keys: String,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default, deserialize_with = "crate::strslice::deserialize")]
    pub cmd: Option<Vec<String>>,
}

/// `POST /exec/{id}/start` (Docker's `ExecStartOptions`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecStartBody {
    #[serde(default)]
    pub detach: bool,
    #[serde(default)]
    pub tty: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
}

/// The answer of create calls that return only an ID (`{"Id": …}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdResponse {
    #[serde(rename = "Id")]
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecProcessConfig {
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub entrypoint: String,
    #[serde(default)]
    pub arguments: Vec<String>,
    #[serde(default)]
    pub privileged: Option<bool>,
    #[serde(default)]
    pub user: Option<String>,
}

/// `GET /exec/{id}/json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecInspect {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(default)]
    pub running: bool,
    /// `null` while the process runs.
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub process_config: ExecProcessConfig,
    #[serde(default)]
    pub open_stdin: bool,
    #[serde(default)]
    pub open_stderr: bool,
    #[serde(default)]
    pub open_stdout: bool,
    #[serde(default)]
    pub can_remove: bool,
    #[serde(rename = "ContainerID", default)]
    pub container_id: String,
    #[serde(default)]
    pub detach_keys: String,
    #[serde(default)]
    pub pid: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_like_docker() {
        let body = ExecCreateBody {
            user: "root".into(),
            attach_stdout: true,
            attach_stderr: true,
            env: Some(vec!["A=1".into()]),
            working_dir: "/tmp".into(),
            cmd: Some(vec!["ls".into()]),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"User":"root","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":["A=1"],"WorkingDir":"/tmp","Cmd":["ls"]}"#
        );
        let start = ExecStartBody::default();
        assert_eq!(
            serde_json::to_string(&start).unwrap(),
            r#"{"Detach":false,"Tty":false}"#
        );
    }

    #[test]
    fn inspect_running_has_no_exit_code() {
        let i: ExecInspect =
            serde_json::from_str(r#"{"ID":"e","Running":true,"ExitCode":null,"Pid":42}"#).unwrap();
        assert_eq!(i.exit_code, None);
        assert_eq!(i.pid, 42);
    }
}
