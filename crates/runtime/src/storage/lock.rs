//! One runtime per data directory: an exclusive lock on `DIR/lock`, which holds the owner's
//! process id so that a second runtime can say who has it.
//!
//! The operating system releases the lock when the process ends, however it ends (kill -9
//! included), so a stale lock file never blocks a restart.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use super::StorageError;

/// Held while the runtime uses its data directory.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    pub fn acquire(dir: &Path) -> Result<DirLock, StorageError> {
        let path = dir.join("lock");
        let other = |e: std::io::Error| {
            StorageError::Other(format!("cannot open the lock file {}: {e}", path.display()))
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(other)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                let owner = owner.trim();
                let who = if owner.is_empty() {
                    "another process".to_owned()
                } else {
                    format!("process {owner}")
                };
                return Err(StorageError::Locked(format!(
                    "the data directory {} is in use by {who} (another user-trace-runtime); \
                     stop it, or give this one another --data",
                    dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(other(e)),
        }
        file.set_len(0).map_err(other)?;
        file.rewind().map_err(other)?;
        write!(file, "{}", std::process::id()).map_err(other)?;
        file.flush().map_err(other)?;
        Ok(DirLock { _file: file })
    }
}
