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
