//! What writing a snapshot part allocates, counted with a counting allocator: a large value is
//! written into one buffer of about its size, once. Every byte allocated is a page the system
//! must clear before it is written; for the runtime's first snapshot of a 100 MB span, clearing
//! fresh pages was most of the time it took (BENCHMARKS.md, B11).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use user_trace_protocol::writer::snapshot_parts;
use user_trace_protocol::{decode_server, Content, Event, Op, RawJson, ServerMessage, SpanKind};

struct Counting;
/// Bytes handed out since the start, a grown block counted whole (it is a fresh block unless
/// the allocator grows it in place).
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::SeqCst);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new, Ordering::SeqCst);
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

/// A `json` span whose content is an array of `bytes` bytes or a little more.
fn json_span(id: &str, bytes: usize) -> Event {
    let mut doc = String::with_capacity(bytes + 64);
    doc.push('[');
    let mut i = 0u64;
    while doc.len() < bytes {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(r#"{{"id":{i},"name":"row {i}"}}"#));
        i += 1;
    }
    doc.push(']');
    Event {
        id: id.into(),
        process: "p".into(),
        ts: 1,
        op: Op::SpanCreate {
            trace: "t".into(),
            span: id.into(),
            kind: SpanKind::Json,
            title: None,
            content: Content::Json(RawJson::from_string(doc).expect("valid JSON")),
            source: None,
        },
    }
}

fn small(n: u64) -> Event {
    Event {
        id: format!("e{n}"),
        process: "p".into(),
        ts: n,
        op: Op::TextAppend {
            span: "s".into(),
            text: "token ".into(),
        },
    }
}

/// The bytes allocated while `f` runs, and what it returned.
fn allocated<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATED.load(Ordering::SeqCst);
    let out = f();
    (ALLOCATED.load(Ordering::SeqCst) - before, out)
}

#[test]
fn a_large_value_is_written_once_into_a_buffer_of_its_size() {
    let _m = measuring();
    let big = json_span("big", 10 << 20);
    // Alone, between small events, and first and last: each place a part can start or end.
    let cases: [Vec<Event>; 3] = [
        vec![big.clone()],
        vec![small(1), small(2), big.clone(), small(3)],
        vec![big.clone(), small(4)],
    ];
    for list in cases {
        let (bytes, parts) = allocated(|| snapshot_parts(9, &list, 1 << 20).collect::<Vec<_>>());
        let Some(part) = parts.iter().find(|p| p.len() > 10 << 20) else {
            panic!("no part holds the large value: {:?}", parts.len());
        };
        // The part holding it, and at most 1 MiB (and a little) for the small events' parts.
        let bound = part.len() + part.len() / 10 + (3 << 20);
        assert!(
            bytes <= bound,
            "{} events: {bytes} bytes allocated for parts of {} bytes in all (at most {bound})",
            list.len(),
            parts.iter().map(String::len).sum::<usize>()
        );
        // And the parts still read back as the events, in order.
        let mut read = Vec::new();
        for p in &parts {
            let Ok(ServerMessage::SnapshotPart { events, .. }) = decode_server(p) else {
                panic!("not a part: {}", &p[..p.len().min(200)]);
            };
            read.extend(events.into_iter().map(|e| e.expect("an event")));
        }
        assert_eq!(read, list);
    }
}
