//! `LevelsBelow` kept current from each batch's changes equals a walk of the subtree, whatever
//! the shape of the tree and the order in which its parts arrive (children before parents).

mod common;

use common::Producer;
use proptest::prelude::*;
use user_trace_model::{LevelsBelow, Model, Outcome};

/// Traces `t0..n`, each with one text span `s{i}`; trace `i > 0` nests in the span of trace
/// `parents[i - 1] % i` (an earlier one), so any tree shape comes out.
fn tree(parents: &[usize]) -> Vec<user_trace_model::protocol::Event> {
    let mut p = Producer::new("p");
    let mut events = vec![p.trace("t0", "t0"), p.text("t0", "s0", "x")];
    for (k, parent) in parents.iter().enumerate() {
        let i = k + 1;
        let parent = parent % i;
        events.push(p.child_trace(&format!("t{i}"), "t", &format!("s{parent}")));
        events.push(p.text(&format!("t{i}"), &format!("s{i}"), "x"));
    }
    events
}

proptest! {
    #[test]
    fn kept_current_from_changes_it_equals_a_walk(
        parents in prop::collection::vec(0usize..1000, 1..60),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        batch in 1usize..8,
    ) {
        let mut events = tree(&parents);
        // Some events move earlier: children arrive before their parents and wait.
        for (k, ix) in order.iter().enumerate() {
            let from = ix.index(events.len());
            let to = k % events.len();
            let e = events.remove(from);
            events.insert(to.min(events.len()), e);
        }
        let mut m = Model::default();
        let mut counts: Vec<(String, Option<LevelsBelow>)> =
            ["t0", "t1", "t2", "t5"].iter().map(|t| (t.to_string(), None)).collect();
        for chunk in events.chunks(batch) {
            let mut out = Outcome::default();
            for e in chunk {
                m.apply(e.clone(), &mut out);
            }
            for (key, count) in counts.iter_mut() {
                let Some(id) = m.trace_by_key(key) else { continue };
                match count {
                    Some(c) => c.update(&m, &out.changes),
                    None => *count = Some(LevelsBelow::new(&m, id)),
                }
                let c = count.as_ref().unwrap();
                prop_assert_eq!(c.levels, m.levels_below(id), "below {}", key);
            }
        }
    }
}

#[test]
fn a_chain_growing_at_its_end_costs_no_walk() {
    // 20,000 levels, one trace a batch: with a walk per batch this is 200 million visits
    // (minutes in a debug build); kept current it is one step each.
    let mut p = Producer::new("p");
    let mut m = Model::default();
    let mut out = Outcome::default();
    m.apply(p.trace("t0", "t0"), &mut out);
    m.apply(p.text("t0", "s0", "x"), &mut out);
    let root = m.trace_by_key("t0").unwrap();
    let mut count = LevelsBelow::new(&m, root);
    let start = std::time::Instant::now();
    for i in 1..20_000 {
        let mut out = Outcome::default();
        m.apply(
            p.child_trace(&format!("t{i}"), "t", &format!("s{}", i - 1)),
            &mut out,
        );
        m.apply(p.text(&format!("t{i}"), &format!("s{i}"), "x"), &mut out);
        count.update(&m, &out.changes);
        assert_eq!(count.levels, i);
    }
    assert_eq!(m.levels_below(root), 19_999);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}
