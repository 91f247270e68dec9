//! The pidfile, held with an exclusive lock so that a second daemon on the
//! same pidfile refuses to start (stale files from a crash do not count).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

pub struct PidFile {
    path: PathBuf,
    file: File,
}

impl PidFile {
    pub fn acquire(path: &Path) -> Result<Self, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!(
                    "cannot create the directory of pidfile {}: {e}",
                    path.display()
                )
            })?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| format!("cannot open pidfile {}: {e}", path.display()))?;
        // SAFETY: flock on a valid, owned descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(format!(
                "pid file found, ensure berthd is not running or delete {}: process {} holds it",
                path.display(),
                text.trim()
            ));
        }
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())?;
            file.sync_all()
        };
        write(&mut file).map_err(|e| format!("cannot write pidfile {}: {e}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Removes the file; the lock goes with the descriptor.
    pub fn release(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berthd.pid");
        let first = PidFile::acquire(&path).unwrap();
        // A lock from another open file description conflicts even in the
        // same process.
        let err = PidFile::acquire(&path).err().unwrap();
        assert!(err.contains("pid file found"), "{err}");
        first.release();
        assert!(!path.exists());
        let again = PidFile::acquire(&path).unwrap();
        again.release();
    }

    #[test]
    fn stale_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berthd.pid");
        std::fs::write(&path, "999999\n").unwrap();
        let pf = PidFile::acquire(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        pf.release();
    }
}
