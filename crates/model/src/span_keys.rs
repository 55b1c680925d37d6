//! The index of spans by their producer's id. It holds only each span's slab key and reads
//! the id from the span itself, so that the id is stored once, not twice (issue 19: a million
//! small spans; a `HashMap<Box<str>, SpanId>` kept a second copy of every id and twice the
//! entry). `hashbrown` is already in the panel's wasm (Leptos' `indexmap` uses it).

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use crate::node::{Span, SpanId};
use crate::slab::Slab;

#[derive(Default)]
pub(crate) struct SpanKeys {
    table: HashTable<SpanId>,
    hasher: RandomState,
}

impl SpanKeys {
    /// The span whose producer id is `key`.
    pub fn get(&self, key: &str, spans: &Slab<Span>) -> Option<SpanId> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&id| spans.get(id.0).is_some_and(|s| *s.key == *key))
            .copied()
    }

    /// Indexes span `id`, already in `spans`, by its key (which no other indexed span has).
    pub fn insert(&mut self, id: SpanId, spans: &Slab<Span>) {
        let Some(span) = spans.get(id.0) else {
            return;
        };
        let Self { table, hasher } = self;
        let hash = hasher.hash_one(&*span.key);
        // Growing the table hashes the others again, by their keys in the slab.
        let rehash = |&other: &SpanId| spans.get(other.0).map_or(0, |s| hasher.hash_one(&*s.key));
        table.insert_unique(hash, id, rehash);
    }

    /// Forgets span `id`, whose key was `key` (the span may be out of the slab already).
    pub fn remove(&mut self, key: &str, id: SpanId) {
        let hash = self.hasher.hash_one(key);
        if let Ok(entry) = self.table.find_entry(hash, |&other| other == id) {
            entry.remove();
        }
    }

    pub fn clear(&mut self) {
        self.table.clear();
    }

    /// Every indexed span, in no order.
    pub fn iter(&self) -> impl Iterator<Item = SpanId> + '_ {
        self.table.iter().copied()
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
        // 5,000 inserts grow the table many times, each hashing the others from the slab.
        let m = model_with_spans(5_000);
        for i in 0..5_000 {
            let id = m.span_by_key(&format!("s{i}")).expect("found");
            assert_eq!(&*m.span(id).expect("live").key, format!("s{i}"));
        }
        for near in ["s5000", "s", "S1", "s1 ", "t"] {
            assert_eq!(m.span_by_key(near), None, "{near}");
        }
        assert_eq!(m.span_keys.iter().count(), 5_000);
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
