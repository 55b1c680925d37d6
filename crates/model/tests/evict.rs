//! Eviction at the memory cap (issue 14, item 7): the order indexes choose exactly what the old
//! scan chose (oldest finished root, then oldest running root, then the oldest waiting trace,
//! then the oldest waiting span), and they look at one entry per victim, not at every root.

mod common;

use common::*;
use proptest::prelude::*;
use user_trace_model::protocol::{Event, Status};
use user_trace_model::{fuzz, Model, Options, Orphans, Outcome};

fn capped(max_bytes: usize) -> Model {
    Model::new(Options {
        max_bytes,
        ..Options::default()
    })
}

/// The bytes one more trace like `e` costs `m`.
fn cost(e: Event) -> usize {
    let mut m = Model::default();
    apply_ok(&mut m, [e]);
    m.bytes()
}

fn keys(m: &Model, all: &[&str]) -> Vec<String> {
    all.iter()
        .filter(|k| m.trace_by_key(k).is_some() || m.span_by_key(k).is_some())
        .map(|k| k.to_string())
        .collect()
}

#[test]
fn roots_go_oldest_finished_first_then_oldest_running() {
    let per_root = cost(Producer::new("p").trace("r0", "R"));
    // Room for exactly five roots.
    let mut m = capped(5 * per_root);
    let mut p = Producer::new("p");
    // Start times r1 < f2 < f3 < r4 < f5, started out of order; the f's end, the r's run.
    for (k, ts) in [("r4", 40), ("f5", 50), ("r1", 10), ("f3", 30), ("f2", 20)] {
        apply_ok(
            &mut m,
            [Event {
                ts,
                ..p.trace(k, "R")
            }],
        );
    }
    apply_ok(
        &mut m,
        [
            p.end_trace("f5", Status::Ok),
            p.end_trace("f3", Status::Ok),
            p.end_trace("f2", Status::Ok),
        ],
    );
    // New keys as long as the old, so that each new root costs what one old root frees.
    let all = ["r1", "f2", "f3", "r4", "f5", "n6", "n7", "n8", "n9", "nA"];
    let roots: Vec<_> = m
        .roots()
        .iter()
        .map(|&t| &*m.trace(t).unwrap().key)
        .collect();
    assert_eq!(
        roots,
        ["r1", "f2", "f3", "r4", "f5"],
        "roots in start order"
    );
    // Each new root pushes one out.
    let mut gone = Vec::new();
    for (n, key) in all[5..].iter().enumerate() {
        let before = keys(&m, &all);
        let e = Event {
            ts: 100 + n as u64,
            ..p.trace(key, "R")
        };
        let out = apply_ok(&mut m, [e]);
        assert_eq!(out.evicted, 1);
        let after = keys(&m, &all);
        gone.extend(before.into_iter().filter(|k| !after.contains(k)));
    }
    assert_eq!(gone, ["f2", "f3", "f5", "r1", "r4"]);
    assert_eq!(keys(&m, &all), all[5..]);
    fuzz::check(&m);
}

#[test]
fn orphans_go_oldest_waiting_trace_first_then_oldest_waiting_span() {
    let mut p = Producer::new("p");
    // Waiting traces named so that each costs what a waiting span costs: one out per one in.
    let per_span = cost(Producer::new("p").text("missing", "s0", ""));
    let unnamed = cost(Producer::new("p").child_trace("a", "", "gone"));
    let name = "n".repeat(per_span - unnamed);
    let mut m = capped(4 * per_span);
    let with_ts = |e: Event, ts| Event { ts, ..e };
    // Waiting traces b and a start at the same time: a goes first (then id); spans wait too.
    let events = [
        with_ts(p.text("missing", "s2", ""), 5),
        with_ts(p.child_trace("b", &name, "gone"), 7),
        with_ts(p.text("missing", "s1", ""), 3),
        with_ts(p.child_trace("a", &name, "gone"), 7),
    ];
    apply_ok(&mut m, events);
    let all = ["a", "b", "s1", "s2", "s3", "s4", "s5", "s6"];
    assert_eq!(keys(&m, &all), ["a", "b", "s1", "s2"]);
    let Orphans {
        traces: wt,
        spans: ws,
    } = m.orphans();
    assert_eq!((wt.len(), ws.len()), (2, 2));
    let mut gone = Vec::new();
    for n in 3..=6 {
        let before = keys(&m, &all);
        let e = with_ts(p.text("missing", &format!("s{n}"), ""), 100 + n);
        let out = apply_ok(&mut m, [e]);
        assert_eq!(out.evicted, 1);
        let after = keys(&m, &all);
        gone.extend(before.into_iter().filter(|k| !after.contains(k)));
    }
    assert_eq!(gone, ["a", "b", "s1", "s2"]);
    // The survivors still attach when their trace arrives.
    apply_ok(&mut m, [p.trace("missing", "M")]);
    let Orphans {
        traces: wt,
        spans: ws,
    } = m.orphans();
    assert!(wt.is_empty() && ws.is_empty());
    fuzz::check(&m);
}

/// At the cap with many running roots, choosing each victim looks at one index entry; the old
/// scan (kept as the reference) looks at every root. Counted, not timed.
#[test]
fn choosing_a_victim_does_not_look_at_every_root() {
    const ROOTS: u64 = 20_000;
    const MORE: u64 = 500;
    let key = |i: u64| format!("t{i:06}");
    let per_root = cost(Producer::new("p").trace(&key(0), "R"));
    let run = |scan: bool| {
        let mut m = capped(per_root * ROOTS as usize);
        m.set_evict_by_scan(scan);
        let mut p = Producer::new("p");
        let mut out = Outcome::default();
        for i in 0..ROOTS {
            m.apply(p.trace(&key(i), "R"), &mut out);
        }
        assert_eq!(out.evicted, 0);
        assert_eq!(m.eviction_visits(), 0);
        for i in ROOTS..ROOTS + MORE {
            m.apply(p.trace(&key(i), "R"), &mut out);
        }
        assert!(out.rejected.is_empty());
        assert_eq!(out.evicted, MORE, "one root out per root in");
        assert_eq!(m.roots().len() as u64, ROOTS);
        (m.eviction_visits(), m.dump())
    };
    let (indexed, dump) = run(false);
    let (scanned, scan_dump) = run(true);
    assert_eq!(dump, scan_dump, "the same roots are kept");
    assert_eq!(indexed, MORE, "one index entry per victim");
    assert!(
        scanned >= MORE * ROOTS,
        "the reference scan looks at every running root: {scanned}"
    );
}

/// The same for orphans: the old code collected and sorted every waiting trace per victim.
#[test]
fn choosing_an_orphan_victim_does_not_look_at_every_orphan() {
    const ORPHANS: u64 = 5_000;
    const MORE: u64 = 2_000;
    let key = |i: u64| format!("t{i:06}");
    let per = cost(Producer::new("p").child_trace(&key(0), "W", "never"));
    let run = |scan: bool| {
        let mut m = capped(per * ORPHANS as usize);
        m.set_evict_by_scan(scan);
        let mut p = Producer::new("p");
        let mut out = Outcome::default();
        for i in 0..ORPHANS + MORE {
            m.apply(p.child_trace(&key(i), "W", "never"), &mut out);
        }
        assert!(out.rejected.is_empty());
        assert_eq!(out.evicted, MORE);
        // The survivors are the newest.
        assert!(m.trace_by_key(&key(MORE - 1)).is_none());
        assert!(m.trace_by_key(&key(MORE)).is_some());
        assert_eq!(m.orphans().traces.len() as u64, ORPHANS);
        let visits = m.eviction_visits();
        (visits, m.dump())
    };
    let (indexed, dump) = run(false);
    let (scanned, scan_dump) = run(true);
    assert_eq!(dump, scan_dump);
    assert_eq!(indexed, MORE);
    assert!(scanned >= MORE * ORPHANS, "{scanned}");
}

/// Evicted waiters are left in their parent's list and skipped: when the parent arrives, exactly
/// the surviving waiters attach, in order.
#[test]
fn survivors_attach_when_their_parent_arrives_after_evictions() {
    let key = |i: u64| format!("t{i:06}");
    let per = cost(Producer::new("p").child_trace(&key(0), "W", "never"));
    let run = |scan: bool| {
        let mut m = capped(per * 1000);
        m.set_evict_by_scan(scan);
        let mut p = Producer::new("p");
        for i in 0..990 {
            apply_ok(&mut m, [p.child_trace(&key(i), "W", "never")]);
        }
        // A large span waiting for its trace: the oldest waiting traces make room for it.
        let big = "x".repeat(per * 600);
        let out = apply_ok(&mut m, [p.text("zz", "big", &big)]);
        assert!(out.evicted > 500, "{}", out.evicted);
        let survivors = m.orphans().traces.len();
        assert_eq!(survivors as u64, 990 - out.evicted);
        // Its trace arrives as a root, and is the first to go, with the large span. (Its name
        // is as large as a waiting trace, so that it does not fit in what the evictions left
        // under the cap, which is less than one waiting trace.)
        let out = apply_ok(&mut m, [p.trace("zz", &"Z".repeat(per))]);
        assert_eq!(out.evicted, 1);
        assert!(m.trace_by_key("zz").is_none());
        // Now the waited-for span arrives.
        apply_ok(&mut m, [p.trace("r", "R"), p.text("r", "never", "")]);
        let Orphans {
            traces: wt,
            spans: ws,
        } = m.orphans();
        assert!(wt.is_empty() && ws.is_empty());
        let span = m.span(m.span_by_key("never").unwrap()).unwrap();
        let children: Vec<_> = span
            .children
            .iter()
            .map(|&t| m.trace(t).unwrap().key.to_string())
            .collect();
        let newest: Vec<_> = (990 - survivors as u64..990).map(key).collect();
        assert_eq!(children, newest);
        fuzz::check(&m);
        m.dump()
    };
    assert_eq!(run(false), run(true));
}

#[derive(Debug, Clone)]
enum Step {
    Root(u8, u8),
    Child(u8, u8, u8),
    Span(u8, u8, u8, u8),
    Append(u8, u8),
    EndTrace(u8),
    EndSpan(u8),
    Clear,
}

fn step() -> impl Strategy<Value = Step> {
    // Few ids and start times: collisions, ties broken by id, and out-of-order starts.
    prop_oneof![
        4 => (0..12u8, 0..8u8).prop_map(|(t, ts)| Step::Root(t, ts)),
        2 => (0..12u8, 0..12u8, 0..8u8).prop_map(|(t, s, ts)| Step::Child(t, s, ts)),
        4 => (0..12u8, 0..12u8, 0..8u8, 0..200u8).prop_map(|(t, s, ts, n)| Step::Span(t, s, ts, n)),
        2 => (0..12u8, 0..250u8).prop_map(|(s, n)| Step::Append(s, n)),
        3 => (0..12u8).prop_map(Step::EndTrace),
        1 => (0..12u8).prop_map(Step::EndSpan),
        1 => Just(Step::Clear),
    ]
}

fn event(p: &mut Producer, step: &Step) -> Event {
    let (t, s) = (|i: u8| format!("t{i}"), |i: u8| format!("s{i}"));
    let (e, ts) = match *step {
        Step::Root(i, ts) => (p.trace(&t(i), "R"), Some(ts)),
        Step::Child(i, j, ts) => (p.child_trace(&t(i), "C", &s(j)), Some(ts)),
        Step::Span(i, j, ts, n) => (p.text(&t(i), &s(j), &"x".repeat(n.into())), Some(ts)),
        Step::Append(j, n) => (p.append(&s(j), &"y".repeat(n.into())), None),
        Step::EndTrace(i) => (p.end_trace(&t(i), Status::Ok), None),
        Step::EndSpan(j) => (p.end_span(&s(j)), None),
        Step::Clear => (p.event(user_trace_model::protocol::Op::Clear), None),
    };
    match ts {
        Some(ts) => Event {
            ts: u64::from(ts),
            ..e
        },
        None => e,
    }
}

/// Roots and orphans are listed in (start time, id) order.
fn assert_ordered(m: &Model) {
    let roots: Vec<_> = m
        .roots()
        .iter()
        .map(|&t| {
            let t = m.trace(t).expect("a root is live");
            (t.start_ts, t.key.to_string())
        })
        .collect();
    assert_eq!(roots.len(), m.roots().len());
    assert!(roots.windows(2).all(|w| w[0] < w[1]), "{roots:?}");
    let Orphans {
        traces: wt,
        spans: ws,
    } = m.orphans();
    let wt: Vec<_> = wt
        .iter()
        .map(|&t| m.trace(t).map(|t| (t.start_ts, t.key.to_string())).unwrap())
        .collect();
    assert!(wt.windows(2).all(|w| w[0] < w[1]), "{wt:?}");
    let ws: Vec<_> = ws
        .iter()
        .map(|&s| m.span(s).map(|s| (s.start_ts, s.key.to_string())).unwrap())
        .collect();
    assert!(ws.windows(2).all(|w| w[0] < w[1]), "{ws:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Random streams under a small cap into a model that evicts by its indexes and one that
    /// evicts by the old scan: after every event both hold the same tree and report the same.
    #[test]
    fn the_indexes_evict_what_the_scan_evicted(
        steps in prop::collection::vec(step(), 1..250),
        cap in 1500usize..6000,
    ) {
        let mut indexed = capped(cap);
        let mut scanned = capped(cap);
        scanned.set_evict_by_scan(true);
        let mut p = Producer::new("p");
        let mut evicted = 0;
        for step in &steps {
            let e = event(&mut p, step);
            let (mut a, mut b) = (Outcome::default(), Outcome::default());
            indexed.apply(e.clone(), &mut a);
            scanned.apply(e, &mut b);
            prop_assert_eq!(a.evicted, b.evicted);
            prop_assert_eq!(&a.changes, &b.changes);
            let reasons = |o: &Outcome| o.rejected.iter().map(|r| r.reason.clone()).collect::<Vec<_>>();
            prop_assert_eq!(reasons(&a), reasons(&b));
            prop_assert_eq!(indexed.dump(), scanned.dump(), "after {:?}", step);
            prop_assert_eq!(indexed.bytes(), scanned.bytes());
            prop_assert!(indexed.bytes() <= cap);
            assert_ordered(&indexed);
            evicted += a.evicted;
        }
        prop_assert_eq!(indexed.evicted_total(), evicted);
        fuzz::check(&indexed);
    }
}
