//! Property tests: the final tree does not depend on how processes' streams interleave, and
//! applying any prefix again changes nothing.

mod common;

use common::Producer;
use proptest::prelude::*;
use user_trace_model::protocol::{Event, Status};
use user_trace_model::{Model, Orphans, Outcome};

/// One process's stream: it writes spans into shared traces (started by process 0), may nest
/// child traces in its own spans, appends to and ends its own spans.
fn process_stream(p: usize, steps: &[(u8, u8)]) -> Vec<Event> {
    let mut prod = Producer::new(&format!("p{p}"));
    // Distinct clocks per process, so that time orders are distinct but interleave.
    prod.ts = 1_000 + p as u64 * 3;
    let mut events = Vec::new();
    if p == 0 {
        events.push(prod.trace("shared", "Shared"));
        events.push(prod.trace("other", "Other"));
    }
    let mut spans: Vec<String> = Vec::new();
    for (i, &(what, arg)) in steps.iter().enumerate() {
        match what % 6 {
            0 | 1 => {
                let trace = if arg.is_multiple_of(2) {
                    "shared"
                } else {
                    "other"
                };
                let span = format!("p{p}s{i}");
                events.push(prod.text(trace, &span, "start "));
                spans.push(span);
            }
            2 if !spans.is_empty() => {
                let span = &spans[arg as usize % spans.len()];
                events.push(prod.append(span, &format!("t{i} ")));
            }
            3 if !spans.is_empty() => {
                let span = spans[arg as usize % spans.len()].clone();
                let child = format!("p{p}c{i}");
                events.push(prod.child_trace(&child, "child", &span));
                let inner = format!("p{p}cs{i}");
                events.push(prod.text(&child, &inner, "inner "));
                spans.push(inner);
            }
            4 if !spans.is_empty() => {
                let span = spans.remove(arg as usize % spans.len());
                events.push(prod.end_span(&span));
            }
            5 => {
                let span = format!("p{p}i{i}");
                events.push(prod.items("shared", &span, &[("n", "1")]));
            }
            _ => {}
        }
    }
    if p == 0 {
        events.push(prod.end_trace("other", Status::Ok));
    }
    events
}

/// Merges streams, taking from stream `choices[k] % live` at each step: every interleaving that
/// keeps each stream's own order is reachable.
fn interleave(mut streams: Vec<Vec<Event>>, choices: &[usize]) -> Vec<Event> {
    for s in &mut streams {
        s.reverse();
    }
    let mut out = Vec::new();
    let mut k = 0;
    loop {
        let live: Vec<usize> = (0..streams.len())
            .filter(|&i| !streams[i].is_empty())
            .collect();
        if live.is_empty() {
            return out;
        }
        let pick = live[choices.get(k).copied().unwrap_or(0) % live.len()];
        k += 1;
        if let Some(e) = streams[pick].pop() {
            out.push(e);
        }
    }
}

fn build(events: &[Event]) -> (Model, Outcome) {
    let mut m = Model::default();
    let mut out = Outcome::default();
    for e in events {
        m.apply(e.clone(), &mut out);
    }
    (m, out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_interleaving_yields_the_same_tree(
        steps in prop::collection::vec(prop::collection::vec((0u8..6, 0u8..8), 0..25), 1..4),
        choices_a in prop::collection::vec(0usize..4, 0..120),
        choices_b in prop::collection::vec(0usize..4, 0..120),
    ) {
        let streams: Vec<Vec<Event>> = steps.iter().enumerate().map(|(p, s)| process_stream(p, s)).collect();
        let (a, out_a) = build(&interleave(streams.clone(), &choices_a));
        let (b, out_b) = build(&interleave(streams, &choices_b));
        prop_assert!(out_a.rejected.is_empty(), "{:?}", out_a.rejected);
        prop_assert!(out_b.rejected.is_empty(), "{:?}", out_b.rejected);
        prop_assert_eq!(a.dump(), b.dump());
        let Orphans { traces: wt, spans: ws } = a.orphans();
        prop_assert!(wt.is_empty() && ws.is_empty(), "everything attached in the end");
    }

    #[test]
    fn applying_a_prefix_again_changes_nothing(
        steps in prop::collection::vec(prop::collection::vec((0u8..6, 0u8..8), 0..25), 1..4),
        choices in prop::collection::vec(0usize..4, 0..120),
        cut in 0usize..200,
    ) {
        let streams: Vec<Vec<Event>> = steps.iter().enumerate().map(|(p, s)| process_stream(p, s)).collect();
        let events = interleave(streams, &choices);
        let (mut m, _) = build(&events);
        let before = m.dump();
        let mut out = Outcome::default();
        for e in &events[..cut.min(events.len())] {
            m.apply(e.clone(), &mut out);
        }
        prop_assert!(out.changes.is_empty());
        prop_assert_eq!(m.dump(), before);
    }

    #[test]
    fn snapshot_is_a_fixpoint(
        steps in prop::collection::vec(prop::collection::vec((0u8..6, 0u8..8), 0..25), 1..4),
        choices in prop::collection::vec(0usize..4, 0..120),
    ) {
        let streams: Vec<Vec<Event>> = steps.iter().enumerate().map(|(p, s)| process_stream(p, s)).collect();
        let (m, _) = build(&interleave(streams, &choices));
        let mut rebuilt = Model::default();
        let mut out = Outcome::default();
        rebuilt.apply_snapshot(7, m.snapshot_events().into_iter().map(Ok).collect(), &mut out);
        prop_assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        prop_assert_eq!(rebuilt.snapshot_events(), m.snapshot_events());
    }
}
