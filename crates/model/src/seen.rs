//! The window of recently seen event ids, for duplicate detection with bounded memory.
//!
//! Two generations of hashes: when the current one is full it becomes the previous one, so at
//! least the last `window` events are always remembered and at most `2 * window` are kept.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};

pub(crate) struct Seen {
    current: HashSet<u64>,
    previous: HashSet<u64>,
    window: usize,
    // Keyed at random so that a producer cannot craft colliding ids to hide others' events.
    hasher: RandomState,
}

impl Seen {
    pub fn new(window: usize) -> Self {
        Self {
            current: HashSet::new(),
            previous: HashSet::new(),
            window: window.max(1),
            hasher: RandomState::new(),
        }
    }

    fn hash(&self, process: &str, id: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        process.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    }

    /// Records the id; returns false when it was already seen.
    pub fn insert(&mut self, process: &str, id: &str) -> bool {
        let h = self.hash(process, id);
        if self.previous.contains(&h) || !self.current.insert(h) {
            return false;
        }
        if self.current.len() >= self.window {
            self.previous = std::mem::take(&mut self.current);
        }
        true
    }

    pub fn clear(&mut self) {
        self.current.clear();
        self.previous.clear();
    }
}
