//! The `X-Docker-Container-Path-Stat` header of `HEAD`/`GET
//! /containers/{id}/archive`: base64 of this JSON.

use serde::{Deserialize, Serialize};

/// Go's `os.FileMode` bits for the file type, as the header carries them.
pub mod mode {
    pub const DIR: u32 = 1 << 31;
    pub const SYMLINK: u32 = 1 << 27;
    pub const DEVICE: u32 = 1 << 26;
    pub const NAMED_PIPE: u32 = 1 << 25;
    pub const SOCKET: u32 = 1 << 24;
    pub const CHAR_DEVICE: u32 = 1 << 21;
    pub const IRREGULAR: u32 = 1 << 19;
    /// Every type bit (Go's `ModeType`).
    pub const TYPE: u32 = DIR | SYMLINK | NAMED_PIPE | SOCKET | DEVICE | CHAR_DEVICE | IRREGULAR;
}

/// Docker's `container.PathStat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPathStat {
    pub name: String,
    pub size: i64,
    /// Go `os.FileMode`: permission bits plus the type bits of [`mode`].
    pub mode: u32,
    /// RFC 3339 time.
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

impl ContainerPathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & mode::DIR != 0
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & mode::SYMLINK != 0
    }

    /// A regular file: no type bit set.
    pub fn is_regular(&self) -> bool {
        self.mode & mode::TYPE == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_header_json() {
        let s: ContainerPathStat = serde_json::from_str(
            r#"{"name":"etc","size":4096,"mode":2147484141,"mtime":"2024-01-01T00:00:00Z","linkTarget":""}"#,
        )
        .unwrap();
        assert!(s.is_dir());
        assert!(!s.is_symlink());
        assert_eq!(s.mode & 0o777, 0o755);
    }
}
