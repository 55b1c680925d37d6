//! A generational arena: stable small ids for nodes, and a stale id (of an evicted node whose
//! slot was reused) never reaches the wrong node.
//!
//! The slots live in segments that never move: the first holds [`FIRST`] slots and each next
//! one as many as all before it, so the arena doubles like a `Vec` without copying what it
//! holds. A `Vec` copied every node at each doubling (a span is a few hundred bytes), and the
//! copy into fresh pages was a tenth of the runtime's OTLP ingest (BENCHMARKS.md).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub index: u32,
    pub generation: u32,
}

enum Slot<T> {
    Used {
        generation: u32,
        value: T,
    },
    Free {
        generation: u32,
        next_free: Option<u32>,
    },
}

/// Slots in the first segment: small, so that a panel with a few nodes holds little.
const FIRST: usize = 16;

/// The segment holding slot `index`, and the slot's place in it. Segment 0 holds slots
/// `0..FIRST`; segment `s >= 1` holds `FIRST << (s - 1) .. FIRST << s`.
fn locate(index: usize) -> (usize, usize) {
    let q = index / FIRST;
    if q == 0 {
        return (0, index);
    }
    let segment = (usize::BITS - q.leading_zeros()) as usize;
    (segment, index - (FIRST << (segment - 1)))
}

/// How many slots segment `s` holds.
fn segment_len(s: usize) -> usize {
    if s == 0 {
        FIRST
    } else {
        FIRST << (s - 1)
    }
}

pub(crate) struct Slab<T> {
    segments: Vec<Vec<Slot<T>>>,
    /// Slots ever handed out (used or free): the next new slot's index.
    slots: usize,
    free: Option<u32>,
    len: usize,
    /// The generation of a new slot: past every generation handed out before the last
    /// [`Slab::clear`], so that no id from before it finds a node after it (views key their
    /// rows by id: a snapshot that replaced everything would otherwise leave a row showing
    /// another node).
    base: u32,
    /// One past the highest generation handed out: the next clear's `base`.
    next_base: u32,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            segments: Vec::new(),
            slots: 0,
            free: None,
            len: 0,
            base: 0,
            next_base: 1,
        }
    }
}

impl<T> Slab<T> {
    pub fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if let Some(index) = self.free {
            if let Some(slot) = self.slot_mut(index as usize) {
                if let Slot::Free {
                    generation,
                    next_free,
                } = *slot
                {
                    let generation = generation.wrapping_add(1);
                    *slot = Slot::Used { generation, value };
                    self.free = next_free;
                    self.next_base = self.next_base.max(generation.wrapping_add(1));
                    return Key { index, generation };
                }
            }
        }
        let index = self.slots;
        let (segment, _) = locate(index);
        if segment == self.segments.len() {
            self.segments.push(Vec::with_capacity(segment_len(segment)));
        }
        let generation = self.base;
        self.segments[segment].push(Slot::Used { generation, value });
        self.slots += 1;
        Key {
            index: index as u32,
            generation,
        }
    }

    fn slot(&self, index: usize) -> Option<&Slot<T>> {
        let (segment, at) = locate(index);
        self.segments.get(segment)?.get(at)
    }

    fn slot_mut(&mut self, index: usize) -> Option<&mut Slot<T>> {
        let (segment, at) = locate(index);
        self.segments.get_mut(segment)?.get_mut(at)
    }

    pub fn get(&self, key: Key) -> Option<&T> {
        match self.slot(key.index as usize) {
            Some(Slot::Used { generation, value }) if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    /// The value in slot `index`, if one is, with its key (of its current generation).
    pub fn value_at(&self, index: u32) -> Option<(Key, &T)> {
        match self.slot(index as usize) {
            Some(Slot::Used { generation, value }) => Some((
                Key {
                    index,
                    generation: *generation,
                },
                value,
            )),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slot_mut(key.index as usize) {
            Some(Slot::Used { generation, value }) if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    pub fn remove(&mut self, key: Key) -> Option<T> {
        let free = self.free;
        let slot = self.slot_mut(key.index as usize)?;
        match slot {
            Slot::Used { generation, .. } if *generation == key.generation => {
                let old = std::mem::replace(
                    slot,
                    Slot::Free {
                        generation: key.generation,
                        next_free: free,
                    },
                );
                self.free = Some(key.index);
                self.len -= 1;
                match old {
                    Slot::Used { value, .. } => Some(value),
                    Slot::Free { .. } => None,
                }
            }
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn clear(&mut self) {
        self.segments.clear();
        self.slots = 0;
        self.free = None;
        self.len = 0;
        self.base = self.next_base;
        self.next_base = self.base.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_tile_the_indices_without_gaps_or_overlaps() {
        let mut expected = (0, 0);
        for index in 0..FIRST * 64 {
            assert_eq!(locate(index), expected, "slot {index}");
            expected.1 += 1;
            if expected.1 == segment_len(expected.0) {
                expected = (expected.0 + 1, 0);
            }
        }
        // The last index a u32 key can name lands in a segment of its own size.
        let (s, at) = locate(u32::MAX as usize);
        assert!(at < segment_len(s));
    }

    #[test]
    fn values_stay_reachable_across_many_segments() {
        let mut slab = Slab::default();
        let keys: Vec<Key> = (0..5_000u32).map(|n| slab.insert(n)).collect();
        assert_eq!(slab.len(), 5_000);
        for (n, k) in keys.iter().enumerate() {
            assert_eq!(slab.get(*k), Some(&(n as u32)));
        }
        // Segments were sized, never grown: no segment beyond its length.
        for (s, seg) in slab.segments.iter().enumerate() {
            assert_eq!(seg.capacity(), segment_len(s), "segment {s}");
        }
        if let Some(v) = slab.get_mut(keys[4_999]) {
            *v = 7;
        }
        assert_eq!(slab.get(keys[4_999]), Some(&7));
    }

    #[test]
    fn a_freed_slot_is_reused_and_its_old_key_is_stale() {
        let mut slab = Slab::default();
        let keys: Vec<Key> = (0..40).map(|n| slab.insert(n)).collect();
        assert_eq!(slab.remove(keys[17]), Some(17));
        assert_eq!(slab.remove(keys[17]), None, "removed twice");
        assert_eq!(slab.remove(keys[33]), Some(33));
        assert_eq!(slab.len(), 38);
        // The last freed slot first, with a new generation.
        let a = slab.insert(100);
        assert_eq!((a.index, a.generation), (33, 1));
        let b = slab.insert(101);
        assert_eq!((b.index, b.generation), (17, 1));
        assert_eq!(slab.get(keys[17]), None);
        assert_eq!(slab.get(keys[33]), None);
        assert_eq!(slab.get(b), Some(&101));
        // Then new slots again.
        assert_eq!(slab.insert(102).index, 40);
        assert_eq!(slab.len(), 41);
    }

    #[test]
    fn keys_out_of_range_or_of_another_generation_find_nothing() {
        let mut slab = Slab::default();
        let k = slab.insert("a");
        let far = Key {
            index: 1_000_000,
            generation: 0,
        };
        assert_eq!(slab.get(far), None);
        assert_eq!(slab.get_mut(far), None);
        assert_eq!(slab.remove(far), None);
        let other = Key {
            index: k.index,
            generation: 1,
        };
        assert_eq!(slab.get(other), None);
        assert_eq!(slab.remove(other), None);
        assert_eq!(slab.get(k), Some(&"a"));
    }

    #[test]
    fn clear_forgets_everything_and_no_key_from_before_finds_what_comes_after() {
        let mut slab = Slab::default();
        let mut keys: Vec<Key> = (0..100).map(|n| slab.insert(n)).collect();
        // Slot 3 reused three times: generation 3, the highest handed out.
        for n in 0..3 {
            slab.remove(keys[3]);
            keys[3] = slab.insert(200 + n);
        }
        assert_eq!(keys[3].generation, 3);
        slab.clear();
        assert_eq!(slab.len(), 0);
        assert_eq!(slab.get(keys[0]), None);
        let after: Vec<Key> = (0..100).map(|n| slab.insert(1000 + n)).collect();
        for k in &keys {
            assert_eq!(slab.get(*k), None, "{k:?} from before the clear");
        }
        assert!(after.iter().all(|k| k.generation == 4), "{:?}", after[0]);
        // And again: each clear moves past everything before it.
        slab.clear();
        let k = slab.insert(9);
        assert_eq!((k.index, k.generation), (0, 5));
        assert_eq!(slab.get(after[0]), None);
    }
}
