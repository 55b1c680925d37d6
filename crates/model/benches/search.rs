//! Find's walk over a million small spans (B8's data: 10,000 ended traces of 100 spans, text,
//! JSON and items in turn), for a text no span holds, so the whole model is walked, as find
//! does before it shows a match in the newest trace. Two matchers: one that never matches (the
//! walk alone) and an ASCII case-insensitive search (the walk and the looking). Figures:
//! BENCHMARKS.md.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use user_trace_model::protocol::decode_event;
use user_trace_model::search::Search;
use user_trace_model::{Model, Options, Outcome};

const TRACES: u64 = 10_000;
const PER: u64 = 100;

/// B8's events (`xtask/src/bench.rs`, `many_traces`), applied.
fn b8_model() -> Model {
    // All of them held (B8's panel raises its cap the same way).
    let mut m = Model::new(Options {
        max_bytes: 1 << 40,
        ..Options::default()
    });
    let mut out = Outcome::default();
    let mut n = 0u64;
    let mut apply = |rest: String| {
        n += 1;
        let line = format!(
            r#"{{"id":"e{n}","process":"bench@loopback","ts":{},{rest}}}"#,
            1_700_000_000_000_000u64 + n
        );
        let event = decode_event(0, &line).expect("a bench event decodes");
        out.clear();
        m.apply(event, &mut out);
    };
    for t in 0..TRACES {
        apply(format!(
            r#""op":"trace_start","trace":"t{t}","name":"request {t}""#
        ));
        for s in 0..PER {
            let span = match s % 3 {
                0 => format!(
                    r#""kind":"text","title":"step {s}","content":"token {s} of the answer""#
                ),
                1 => format!(r#""kind":"json","title":"result","content":{{"id":{s},"ok":true}}"#),
                _ => format!(
                    r#""kind":"items","title":"usage","content":[{{"name":"tokens","value":{s}}}]"#
                ),
            };
            apply(format!(
                r#""op":"span_create","trace":"t{t}","span":"t{t}s{s}",{span}"#
            ));
            apply(format!(
                r#""op":"span_end","span":"t{t}s{s}","status":"ok""#
            ));
        }
        apply(format!(r#""op":"trace_end","trace":"t{t}","status":"ok""#));
    }
    assert_eq!(m.span_count() as u64, TRACES * PER);
    m
}

/// Whether `hay` holds `needle` (lower-case ASCII) in any ASCII case.
fn ascii_has(hay: &str, needle: &[u8]) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Times `iters` whole walks of `m` with `matches`, as find runs them (a plain query: the walk
/// may read a JSON document in parts).
fn walks(m: &Model, matches: &dyn Fn(&str) -> bool, iters: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        let mut search = Search::new(m).for_parts(4 * 6);
        while !search.run(m, matches, 32 * 1024) {}
        assert!(search.found().is_empty());
    }
    started.elapsed()
}

fn bench(c: &mut Criterion) {
    let m = b8_model();
    let mut group = c.benchmark_group("find a million spans");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TRACES * PER));
    group.bench_function("walk, nothing matches", |b| {
        b.iter_custom(|iters| walks(&m, &|_| false, iters))
    });
    group.bench_function("walk, ASCII any case", |b| {
        b.iter_custom(|iters| walks(&m, &|hay| ascii_has(hay, b"needle"), iters))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
