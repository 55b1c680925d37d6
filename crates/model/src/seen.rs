//! The window of recently seen event ids, for duplicate detection with bounded memory.
//!
//! Two generations of hashes: when the current one is full it becomes the previous one, so at
//! least the last `window` events are always remembered and at most `2 * window` are kept.
//! Both tables are allocated in full on the first event and reused (cleared, not freed), so the
//! window's memory is flat from then on (about 36 bytes per id of window, for both).

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

/// The sets hold hashes already keyed at random: they are their own hash.
type Hashes = HashSet<u64, BuildHasherDefault<AsIs>>;

#[derive(Default)]
struct AsIs(u64);

impl Hasher for AsIs {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    // Only u64s are hashed here; any other input still gets a deterministic value.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
}

pub(crate) struct Seen {
    current: Hashes,
    previous: Hashes,
    window: usize,
    // Keyed at random so that a producer cannot craft colliding ids to hide others' events.
    hasher: RandomState,
}

impl Seen {
    pub fn new(window: usize) -> Self {
        Self {
            current: Hashes::default(),
            previous: Hashes::default(),
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
        if self.current.capacity() == 0 {
            self.current.reserve(self.window);
            self.previous.reserve(self.window);
        }
        let h = self.hash(process, id);
        if self.previous.contains(&h) || !self.current.insert(h) {
            return false;
        }
        if self.current.len() >= self.window {
            std::mem::swap(&mut self.previous, &mut self.current);
            self.current.clear();
        }
        true
    }

    /// Forgets an id [`Seen::insert`] just recorded: its event was refused, and a refused
    /// event sent again is judged again rather than taken for a duplicate.
    pub fn remove(&mut self, process: &str, id: &str) {
        let h = self.hash(process, id);
        if !self.current.remove(&h) {
            self.previous.remove(&h);
        }
    }

    pub fn clear(&mut self) {
        self.current.clear();
        self.previous.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_taken_on_the_first_event_and_never_again() {
        let mut seen = Seen::new(1000);
        assert_eq!(seen.current.capacity() + seen.previous.capacity(), 0);
        assert!(seen.insert("p", "e0"));
        let held = (seen.current.capacity(), seen.previous.capacity());
        assert!(held.0 >= 1000 && held.1 >= 1000);
        // Three turnovers of the window.
        for i in 1..3_500 {
            assert!(seen.insert("p", &format!("e{i}")));
        }
        assert_eq!((seen.current.capacity(), seen.previous.capacity()), held);
        // The last `window` ids are still remembered.
        assert!(!seen.insert("p", "e3499"));
        assert!(!seen.insert("p", "e2500"));
    }
}
