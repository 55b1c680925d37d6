//! The index of spans by their producer's id. It holds only each span's slab index and a
//! 32-bit hash of its id, and reads the id from the span itself, so that the id is stored once,
//! not twice (issue 19: a million small spans; a `HashMap<Box<str>, SpanId>` kept a second copy
//! of every id and twice the entry). `hashbrown` is already in the panel's wasm (Leptos'
//! `indexmap` uses it).
//!
//! The hash kept beside each index is what the table grows by: growing it re-reads no span
//! and hashes no id again. Reading each span's id from the slab to hash it again, at each
//! doubling, was a third of applying a snapshot of new spans (BENCHMARKS.md, session 24).

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use crate::node::{Span, SpanId};
use crate::slab::Slab;

/// A span's slab index and its id's hash: as small as a `SpanId` (its generation is read from
/// the slab), so the index costs no more memory for the hash it keeps.
#[derive(Clone, Copy)]
struct Entry {
    index: u32,
    hash: u32,
}

#[derive(Default)]
pub(crate) struct SpanKeys {
    table: HashTable<Entry>,
    hasher: RandomState,
}

/// The table's 64-bit hash from a kept 32-bit one. `hashbrown` takes the bucket from the low
/// bits and the control byte from the top seven (of the low 32 on a 32-bit target): both come
/// from the kept bits this way, on either target.
fn wide(hash: u32) -> u64 {
    u64::from(hash) << 32 | u64::from(hash)
}

impl SpanKeys {
    /// The hash [`SpanKeys::find`] and [`SpanKeys::insert`] take: a new span's key is
    /// hashed once for both.
    pub fn hash(&self, key: &str) -> u32 {
        // The high half: SipHash's output is uniform, so either half would do.
        (self.hasher.hash_one(key) >> 32) as u32
    }

    /// The span whose producer id is `key`.
    pub fn get(&self, key: &str, spans: &Slab<Span>) -> Option<SpanId> {
        self.find(self.hash(key), key, spans)
    }

    /// The span whose producer id is `key`, of hash `hash`.
    pub fn find(&self, hash: u32, key: &str, spans: &Slab<Span>) -> Option<SpanId> {
        let found = self.table.find(wide(hash), |e| {
            e.hash == hash && spans.value_at(e.index).is_some_and(|(_, s)| *s.key == *key)
        })?;
        spans.value_at(found.index).map(|(id, _)| SpanId(id))
    }

    /// Indexes span `id` by its key's hash (which no other indexed span's key has).
    pub fn insert(&mut self, hash: u32, id: SpanId) {
        let entry = Entry {
            index: id.0.index,
            hash,
        };
        self.table
            .insert_unique(wide(hash), entry, |e| wide(e.hash));
    }

    /// Forgets span `id`, whose key was `key` (the span may be out of the slab already, but
    /// its slot not yet reused: the entry is found by the slot's index).
    pub fn remove(&mut self, key: &str, id: SpanId) {
        let hash = self.hash(key);
        if let Ok(entry) = self.table.find_entry(wide(hash), |e| e.index == id.0.index) {
            entry.remove();
        }
    }

    pub fn clear(&mut self) {
        self.table.clear();
    }

    /// Every indexed span, in no order.
    pub fn iter<'a>(&'a self, spans: &'a Slab<Span>) -> impl Iterator<Item = SpanId> + 'a {
        self.table
            .iter()
            .filter_map(|e| spans.value_at(e.index).map(|(id, _)| SpanId(id)))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Model, Outcome};

    fn model_with_spans(n: usize) -> Model {
        let mut m = Model::default();
        let mut out = Outcome::default();
        let mut events = vec![
            r#"{"id":"t","process":"p","ts":1,"op":"trace_start","trace":"t","name":"T"}"#
                .to_owned(),
        ];
        for i in 0..n {
            events.push(format!(
                r#"{{"id":"e{i}","process":"p","ts":2,"op":"span_create","trace":"t","span":"s{i}","kind":"text"}}"#
            ));
        }
        let frame = format!(
            r#"{{"type":"events","first_seq":1,"events":[{}]}}"#,
            events.join(",")
        );
        let Ok(user_trace_protocol::ServerMessage::Events { first_seq, events }) =
            user_trace_protocol::decode_server(&frame)
        else {
            panic!("a frame")
        };
        m.apply_batch(first_seq, events, &mut out);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        m
    }

    #[test]
    fn every_span_is_found_by_its_key_across_the_table_growing_and_one_key_off_is_not() {
        // 5,000 inserts grow the table many times, each moving the others by their kept hashes.
        let m = model_with_spans(5_000);
        for i in 0..5_000 {
            let id = m.span_by_key(&format!("s{i}")).expect("found");
            assert_eq!(&*m.span(id).expect("live").key, format!("s{i}"));
        }
        for near in ["s5000", "s", "S1", "s1 ", "t"] {
            assert_eq!(m.span_by_key(near), None, "{near}");
        }
        assert_eq!(m.span_keys.iter(&m.spans).count(), 5_000);
    }

    #[test]
    fn a_removed_span_is_not_found_and_the_others_still_are() {
        let mut m = model_with_spans(3);
        let id = m.span_by_key("s1").expect("found");
        m.span_keys.remove("s1", id);
        assert_eq!(m.span_by_key("s1"), None);
        assert!(m.span_by_key("s0").is_some() && m.span_by_key("s2").is_some());
        // Removing by a key with another span's id leaves that span indexed.
        let s2 = m.span_by_key("s2").expect("found");
        m.span_keys.remove("s0", s2);
        assert_eq!(m.span_by_key("s2"), Some(s2));
        m.span_keys.clear();
        assert_eq!(m.span_by_key("s0"), None);
    }
}
