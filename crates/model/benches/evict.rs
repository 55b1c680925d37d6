//! Applying events at the memory cap, where every event evicts: 1,000,000 root traces that
//! never end (issue 14, item 7), and 100,000 traces waiting for a parent that never arrives.
//! Figures: BENCHMARKS.md.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use user_trace_model::protocol::{Event, Op};
use user_trace_model::{Model, Options, Outcome};

const ROOTS: u64 = 1_000_000;
const ORPHANS: u64 = 100_000;
/// Events timed per iteration.
const FRAME: u64 = 100;

/// Fixed-width ids, so that every trace costs the model the same bytes.
fn start(n: u64, parent_span: Option<&str>) -> Event {
    Event {
        id: format!("e{n:010}"),
        process: "agent@host:4242".into(),
        ts: 1_700_000_000_000_000 + n,
        op: Op::TraceStart {
            trace: format!("t{n:010}"),
            name: "step".into(),
            parent_span: parent_span.map(Into::into),
            source: None,
        },
    }
}

/// A model capped at exactly `n` traces made by `make`, holding them.
fn full_model(n: u64, make: impl Fn(u64) -> Event) -> Model {
    let mut probe = Model::default();
    let mut out = Outcome::default();
    for i in 0..1000 {
        probe.apply(make(i), &mut out);
    }
    let per_trace = probe.bytes() / 1000;
    let mut m = Model::new(Options {
        max_bytes: per_trace * n as usize,
        ..Options::default()
    });
    for i in 0..n {
        out.clear();
        m.apply(make(i), &mut out);
    }
    assert_eq!(m.trace_count() as u64, n, "the cap holds exactly n traces");
    m
}

/// Times applying `iters` frames of new traces to `m`, each of which evicts one.
fn at_cap(m: &mut Model, next: &mut u64, iters: u64, make: impl Fn(u64) -> Event) -> Duration {
    let events: Vec<Event> = (0..iters * FRAME).map(|i| make(*next + i)).collect();
    *next += iters * FRAME;
    let mut out = Outcome::default();
    let started = Instant::now();
    for e in events {
        out.clear();
        m.apply(e, &mut out);
    }
    let took = started.elapsed();
    assert!(out.evicted > 0, "every event evicts");
    took
}

fn running_roots(c: &mut Criterion) {
    let make = |i| start(i, None);
    let mut m = full_model(ROOTS, make);
    let mut next = ROOTS;
    let mut g = c.benchmark_group("evict_at_cap");
    g.sample_size(10);
    g.throughput(Throughput::Elements(FRAME));
    g.bench_function("1M running roots: trace_start", |b| {
        b.iter_custom(|iters| at_cap(&mut m, &mut next, iters, make))
    });
    drop(m);
    // Traces waiting for a span that never arrives, and nothing else: orphans are evicted.
    let make = |i| start(i, Some("never"));
    let mut m = full_model(ORPHANS, make);
    let mut next = ORPHANS;
    g.bench_function("100k orphan traces: trace_start", |b| {
        b.iter_custom(|iters| at_cap(&mut m, &mut next, iters, make))
    });
    g.finish();
}

criterion_group!(benches, running_roots);
criterion_main!(benches);
