//! Decode + apply throughput, with `serde_json` into `Value` as the in-process baseline.
//! Figures and what limits them: BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use user_trace_model::protocol::{
    decode_server, Content, Event, Op, RawJson, ServerMessage, SpanKind,
};
use user_trace_model::{Model, Outcome};

fn ev(n: u64, op: Op) -> Event {
    Event {
        id: format!("agent-{n}"),
        process: "agent@host:4242".into(),
        ts: 1_700_000_000_000_000 + n,
        op,
    }
}

fn frame(first_seq: u64, events: Vec<Event>) -> String {
    ServerMessage::Events { first_seq, events }.to_json()
}

fn apply_frame(model: &mut Model, text: &str) -> Outcome {
    let mut out = Outcome::default();
    match decode_server(text) {
        Ok(ServerMessage::Events { first_seq, events }) => {
            model.apply_batch(first_seq, events, &mut out)
        }
        _ => panic!("bench frame must decode"),
    }
    out
}

fn setup_model() -> Model {
    let mut m = Model::default();
    let f = frame(
        1,
        vec![
            ev(
                0,
                Op::TraceStart {
                    trace: "t".into(),
                    name: "answer".into(),
                    parent_span: None,
                    source: None,
                },
            ),
            ev(
                1,
                Op::SpanCreate {
                    trace: "t".into(),
                    span: "s".into(),
                    kind: SpanKind::Text,
                    title: None,
                    content: Content::Text(String::new()),
                    source: None,
                },
            ),
        ],
    );
    apply_frame(&mut m, &f);
    m
}

fn token_appends(c: &mut Criterion) {
    const N: u64 = 10_000;
    let tokens = [
        " the", " quick", " brown", " fox", " jumps", "\n", " über", " 42",
    ];
    let events = (0..N)
        .map(|i| {
            ev(
                10 + i,
                Op::TextAppend {
                    span: "s".into(),
                    text: tokens[i as usize % tokens.len()].into(),
                },
            )
        })
        .collect();
    let text = frame(3, events);
    let mut g = c.benchmark_group("token_appends");
    g.throughput(Throughput::Elements(N));
    g.bench_function("decode+apply", |b| {
        b.iter_batched(
            setup_model,
            |mut m| apply_frame(&mut m, &text),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("baseline: serde_json Value", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(&text).map(|v| v.is_object()))
    });
    g.finish();
}

fn small_json_spans(c: &mut Criterion) {
    const N: u64 = 5_000;
    let events = (0..N)
        .map(|i| {
            let json = format!(
                r#"{{"tool":"search","args":{{"q":"rust wasm {i}","limit":10}},"ok":true}}"#
            );
            ev(
                10 + i,
                Op::SpanCreate {
                    trace: "t".into(),
                    span: format!("s{i}"),
                    kind: SpanKind::Json,
                    title: Some("tool call".into()),
                    content: Content::Json(RawJson::from_string(json).unwrap()),
                    source: None,
                },
            )
        })
        .collect();
    let text = frame(3, events);
    let mut g = c.benchmark_group("small_json_span_creates");
    g.throughput(Throughput::Elements(N));
    g.bench_function("decode+apply", |b| {
        b.iter_batched(
            setup_model,
            |mut m| apply_frame(&mut m, &text),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("baseline: serde_json Value", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(&text).map(|v| v.is_object()))
    });
    g.finish();
}

/// 50,000 small spans created in one trace, in the order of their start times and newest
/// first: a trace's list of spans is kept sorted, and newest first each span sorts first
/// (with a plain `Vec`, a move of the whole list each: BENCHMARKS.md).
fn span_creates_by_arrival_order(c: &mut Criterion) {
    const N: u64 = 50_000;
    let frame_of = |newest_first: bool| {
        let events = (0..N)
            .map(|i| {
                let mut e = ev(
                    10 + i,
                    Op::SpanCreate {
                        trace: "t".into(),
                        span: format!("s{i}"),
                        kind: SpanKind::Text,
                        title: None,
                        content: Content::Text("x".into()),
                        source: None,
                    },
                );
                if newest_first {
                    e.ts = 1_700_000_000_000_000 + 10 + N - i;
                }
                e
            })
            .collect();
        frame(3, events)
    };
    let mut g = c.benchmark_group("span_creates_by_arrival_order");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    for (name, newest_first) in [("in order", false), ("newest first", true)] {
        let text = frame_of(newest_first);
        g.bench_function(name, |b| {
            b.iter_batched(
                setup_model,
                |mut m| apply_frame(&mut m, &text),
                BatchSize::LargeInput,
            )
        });
    }
    // What the list cost before, alone: ids inserted newest first into a sorted `Vec`.
    g.bench_function("baseline: a sorted Vec of ids, newest first", |b| {
        b.iter(|| {
            let mut v: Vec<u64> = Vec::new();
            for i in 0..N {
                let ts = N - i;
                let pos = v.partition_point(|&o| o <= ts);
                v.insert(pos, ts);
            }
            v.len()
        })
    });
    g.finish();
}

/// A realistic 10 MB document: an array of records with strings, numbers and nesting.
pub fn ten_mb_json() -> String {
    let mut s = String::from("[");
    let mut i = 0u64;
    while s.len() < 10 << 20 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"id":{i},"name":"item {i}","score":{}.{:03},"tags":["a","b\u00e9"],"nested":{{"ok":true,"note":null}}}}"#,
            i % 997,
            i % 1000
        ));
        i += 1;
    }
    s.push(']');
    s
}

fn big_json(c: &mut Criterion) {
    let doc = ten_mb_json();
    let event = ev(
        10,
        Op::SpanCreate {
            trace: "t".into(),
            span: "big".into(),
            kind: SpanKind::Json,
            title: None,
            content: Content::Json(RawJson::from_string(doc.clone()).unwrap()),
            source: None,
        },
    );
    let text = frame(3, vec![event]);
    let mut g = c.benchmark_group("json_10mb_span");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.bench_function("decode+apply", |b| {
        b.iter_batched(
            setup_model,
            |mut m| apply_frame(&mut m, &text),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("baseline: serde_json::from_slice Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(doc.as_bytes()).map(|v| v.is_array()))
    });
    // What a view's first paint reads: the top level's pages and count, one pass.
    g.bench_function("outline of the top level", |b| {
        b.iter(|| user_trace_model::json::pages(&doc, 100).1)
    });
    g.finish();
}

/// A document streamed in pieces (`json_append`, B10): the parser that says what is open
/// after each piece. In 1 KB pieces most members start and end within a piece and are read
/// whole; in 64-byte pieces none is, and every byte goes through the parser's states.
fn json_stream(c: &mut Criterion) {
    let doc = ten_mb_json();
    // ASCII (`\u00e9` is an escape): every cut is at a character boundary.
    assert!(doc.is_ascii());
    let mut g = c.benchmark_group("json_stream_10mb");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(doc.len() as u64));
    for piece in [1024, 64] {
        g.bench_function(format!("appends of {piece} bytes"), |b| {
            b.iter(|| {
                let mut s = user_trace_model::JsonStream::new();
                for part in doc.as_bytes().chunks(piece) {
                    s.append(std::str::from_utf8(part).unwrap_or_default());
                }
                s.finish().is_ok()
            })
        });
    }
    g.bench_function("baseline: the reader validating it whole", |b| {
        b.iter(|| user_trace_model::protocol::reader::validate(&doc).is_ok())
    });
    g.finish();
}

/// The frames that bring a streamed document (B10): its text in 1 KB `json_append` pieces,
/// 50 to a frame (what 10 ms of a 5 MB/s stream makes), decoded as the panel decodes a
/// frame. A piece's text is a JSON string whose every quote is escaped.
fn json_append_frames(c: &mut Criterion) {
    let doc = ten_mb_json();
    let pieces: Vec<Event> = doc
        .as_bytes()
        .chunks(1024)
        .enumerate()
        .map(|(i, p)| {
            let op = Op::JsonAppend {
                span: "j".into(),
                text: std::str::from_utf8(p).unwrap_or_default().into(),
                done: false,
            };
            ev(i as u64, op)
        })
        .collect();
    let frames: Vec<String> = pieces
        .chunks(50)
        .enumerate()
        .map(|(i, c)| frame(1 + i as u64 * 50, c.to_vec()))
        .collect();
    let bytes: usize = frames.iter().map(String::len).sum();
    let mut g = c.benchmark_group("json_append_frames_10mb");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("decode", |b| {
        b.iter(|| frames.iter().filter(|f| decode_server(f).is_ok()).count())
    });
    g.bench_function("baseline: serde_json::from_str Value", |b| {
        b.iter(|| {
            frames
                .iter()
                .filter(|f| serde_json::from_str::<serde_json::Value>(f).is_ok())
                .count()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    token_appends,
    small_json_spans,
    span_creates_by_arrival_order,
    big_json,
    json_stream,
    json_append_frames
);
criterion_main!(benches);
