//! Memory of a 10 MB JSON span, measured with a counting allocator: what the model keeps must
//! stay under 3x the JSON's size (a `serde_json::Value` tree costs about 10x).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use user_trace_model::protocol::{decode_server, ServerMessage};
use user_trace_model::{Model, Outcome};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::SeqCst);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::SeqCst);
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        System.realloc(ptr, layout, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The count is global: tests that measure it run one at a time.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn measuring() -> std::sync::MutexGuard<'static, ()> {
    MEASURING.lock().unwrap_or_else(|p| p.into_inner())
}

fn ten_mb_document() -> String {
    let mut s = String::from("[");
    let mut i = 0u64;
    while s.len() < 10 << 20 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"id":{i},"name":"item {i}","score":{}.5,"tags":["a","b"],"ok":true}}"#,
            i % 97
        ));
        i += 1;
    }
    s.push(']');
    s
}

#[test]
fn a_10_mb_json_span_costs_under_3x_its_size() {
    let _one_at_a_time = measuring();
    let doc = ten_mb_document();
    let frame = format!(
        r#"{{"type":"events","first_seq":1,"events":[{{"id":"1","process":"p","ts":1,"op":"trace_start","trace":"t","name":"T"}},{{"id":"2","process":"p","ts":2,"op":"span_create","trace":"t","span":"s","kind":"json","content":{doc}}}]}}"#
    );
    let size = doc.len();
    drop(doc);
    let before = LIVE.load(Ordering::SeqCst);
    let mut model = Model::default();
    let mut out = Outcome::default();
    let Ok(ServerMessage::Events { first_seq, events }) = decode_server(&frame) else {
        panic!()
    };
    model.apply_batch(first_seq, events, &mut out);
    assert!(out.rejected.is_empty());
    drop(out);
    let kept = LIVE.load(Ordering::SeqCst) - before;
    let ratio = kept as f64 / size as f64;
    println!("10 MB JSON span: model keeps {kept} bytes = {ratio:.2}x the JSON");
    assert!(ratio < 3.0, "{ratio:.2}x");
    // And a serde_json::Value of the same document, for comparison, in the same process.
    let before = LIVE.load(Ordering::SeqCst);
    let start = frame.find(r#""content":"#).unwrap() + 10;
    let value: serde_json::Value = serde_json::from_str(&frame[start..frame.len() - 3]).unwrap();
    let value_bytes = LIVE.load(Ordering::SeqCst) - before;
    println!(
        "the same as serde_json::Value: {value_bytes} bytes = {:.2}x",
        value_bytes as f64 / size as f64
    );
    assert!(value.is_array());
    assert!(kept < value_bytes, "the model must beat a Value tree");
}

/// Issue 19's B8 shape: traces of small spans (text, JSON, items mixed), what the model keeps
/// per span. Printed, for the figure; bounded so that a regression shows.
#[test]
fn small_spans_cost_a_bounded_number_of_bytes_each() {
    let _one_at_a_time = measuring();
    use std::fmt::Write;
    let (traces, per) = (2_000, 100);
    let mut events = String::new();
    let mut n = 0u64;
    let mut push = |events: &mut String, body: String| {
        n += 1;
        if n > 1 {
            events.push(',');
        }
        let _ = write!(
            events,
            r#"{{"id":"{n}","process":"agent@host:42","ts":{n},{body}}}"#
        );
    };
    for t in 0..traces {
        push(
            &mut events,
            format!(r#""op":"trace_start","trace":"t{t}","name":"request {t}""#),
        );
        for s in 0..per {
            let body = match s % 3 {
                0 => format!(
                    r#""op":"span_create","trace":"t{t}","span":"t{t}s{s}","kind":"text","title":"step {s}","content":"token {s} of the answer""#
                ),
                1 => format!(
                    r#""op":"span_create","trace":"t{t}","span":"t{t}s{s}","kind":"json","title":"result","content":{{"id":{s},"ok":true}}"#
                ),
                _ => format!(
                    r#""op":"span_create","trace":"t{t}","span":"t{t}s{s}","kind":"items","title":"usage","content":[{{"name":"tokens","value":{s}}}]"#
                ),
            };
            push(&mut events, body);
            push(
                &mut events,
                format!(r#""op":"span_end","span":"t{t}s{s}","status":"ok""#),
            );
        }
        push(
            &mut events,
            format!(r#""op":"trace_end","trace":"t{t}","status":"ok""#),
        );
    }
    let frame = format!(r#"{{"type":"snapshot","seq":{n},"events":[{events}]}}"#);
    drop(events);
    // What is live now but the frame: the frame and the decoded events are gone once applied.
    let base = LIVE.load(Ordering::SeqCst) - frame.capacity();
    let decoded = decode_server(&frame);
    let Ok(ServerMessage::Snapshot { seq, events }) = decoded else {
        panic!("{:?}", decoded.err())
    };
    drop(frame);
    let mut model = Model::default();
    let mut out = Outcome::default();
    model.apply_snapshot(seq, events, &mut out);
    drop(out);
    let kept = LIVE.load(Ordering::SeqCst) - base;
    let per_span = kept / (traces * per);
    println!(
        "{} small spans: the model keeps {kept} bytes, {per_span} per span",
        traces * per
    );
    // 635 before the rarer parts of a span moved out of it (session 11), 541 after; issue 19
    // asks for 300 in the panel.
    assert!(per_span < 600, "{per_span} bytes per span");
}
