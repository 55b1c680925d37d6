//! The in-memory store (`--in-memory`): keeps nothing, so a restart starts empty with a new
//! session (panels start over from a snapshot).

use super::{Loaded, Record, Storage, StorageError};

pub struct Memory {
    session: String,
}

impl Memory {
    pub fn new(session: String) -> Memory {
        Memory { session }
    }
}

impl Storage for Memory {
    fn append(&mut self, _: &[Record<'_>]) -> Result<(), StorageError> {
        Ok(())
    }

    fn compact(&mut self, _: u64, _: &[String], _: u64) -> Result<(), StorageError> {
        Ok(())
    }

    fn load(&mut self) -> Result<Loaded, StorageError> {
        Ok(Loaded {
            session: self.session.clone(),
            ..Loaded::default()
        })
    }

    fn close(&mut self) {}

    fn disk_bytes(&self) -> u64 {
        0
    }

    fn is_durable(&self) -> bool {
        false
    }
}
