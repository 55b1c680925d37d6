//! A streamed document's text in chunks (`stream_text.rs`): every range reads as the whole
//! text's would, wherever the chunks' seams fall, and the text is written once, never moved.
//!
//! Allocations are counted per thread, so that the other tests of this file, running in
//! parallel, do not disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::cell::Cell;

mod common;

use common::{apply_ok, Producer};
use proptest::prelude::*;
use user_trace_model::protocol::{Content, Op};
use user_trace_model::stream_text::{StreamText, CHUNK};
use user_trace_model::{Model, Options};

struct PerThread;

thread_local! {
    /// Bytes of large blocks allocated (a reallocation counts its new size): what the panel's
    /// wasm cannot give back, and whose freed space small blocks mostly fill.
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
    /// Bytes a reallocation that cannot grow in place copies (its old size).
    static MOVED: Cell<usize> = const { Cell::new(0) };
}

/// Blocks this size or more are counted.
const LARGE: usize = 64 << 10;

fn add(cell: &'static std::thread::LocalKey<Cell<usize>>, n: usize) {
    if n >= LARGE {
        let _ = cell.try_with(|c| c.set(c.get() + n));
    }
}

unsafe impl GlobalAlloc for PerThread {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(&ALLOCATED, layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        add(&ALLOCATED, new);
        add(&MOVED, layout.size());
        System.realloc(ptr, layout, new)
    }
}

#[global_allocator]
static GLOBAL: PerThread = PerThread;

fn counted<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let (a, m) = (ALLOCATED.with(Cell::get), MOVED.with(Cell::get));
    let out = f();
    (
        out,
        ALLOCATED.with(Cell::get) - a,
        MOVED.with(Cell::get) - m,
    )
}

/// `text` appended in pieces cut at `cuts` (in any order; character boundaries only), in
/// chunks of `chunk`.
fn chunked(text: &str, mut cuts: Vec<usize>, chunk: usize) -> StreamText {
    cuts.sort_unstable();
    let mut t = StreamText::with_chunk(chunk);
    let mut from = 0;
    for &c in cuts.iter().chain([text.len()].iter()) {
        if c >= from && text.is_char_boundary(c) {
            t.push(&text[from..c]);
            from = c;
        }
    }
    t
}

const SAMPLE: &str = "{\"ключ\":\"значение\",\"a\":[1,2,3],\"ع\":\"مرحبا\",\"e\":\"😀🎉\"}";

proptest! {
    #[test]
    fn every_range_reads_as_the_whole_texts(
        cuts in proptest::collection::vec(0..SAMPLE.len(), 0..12),
        chunk in 1usize..24,
    ) {
        let stream = chunked(SAMPLE, cuts, chunk);
        let text = stream.text();
        prop_assert_eq!(text.whole(), SAMPLE);
        prop_assert_eq!(text.len(), SAMPLE.len());
        prop_assert!(text.is_container());
        // Where each part lies: a range inside one is borrowed, not copied.
        let mut seams = vec![0];
        for p in text.parts() {
            prop_assert!(!p.is_empty());
            seams.push(seams.last().unwrap() + p.len());
        }
        for a in 0..=SAMPLE.len() + 1 {
            for b in 0..=SAMPLE.len() + 1 {
                let ours = text.get(a..b);
                prop_assert_eq!(ours.as_deref(), SAMPLE.get(a..b), "{}..{}", a, b);
                let inside = seams.windows(2).any(|w| w[0] <= a && b <= w[1]);
                if inside && a < b && ours.is_some() {
                    prop_assert!(matches!(ours, Some(Cow::Borrowed(_))), "{}..{} copied", a, b);
                }
            }
            // A prefix is cut back to a character, never past `max`.
            for max in 0..10 {
                let p = text.prefix(a, max);
                if SAMPLE.is_char_boundary(a) {
                    let mut end = (a + max).min(SAMPLE.len());
                    while !SAMPLE.is_char_boundary(end) {
                        end -= 1;
                    }
                    prop_assert_eq!(&*p, &SAMPLE[a..end]);
                } else {
                    prop_assert_eq!(&*p, "");
                }
            }
        }
    }

    #[test]
    fn a_search_sees_every_place_a_needle_can_be(
        cuts in proptest::collection::vec(0..SAMPLE.len(), 0..12),
        chunk in 1usize..24,
    ) {
        let stream = chunked(SAMPLE, cuts, chunk);
        let text = stream.text();
        let chars: Vec<(usize, char)> = SAMPLE.char_indices().collect();
        for i in 0..chars.len() {
            for n in 1..=4.min(chars.len() - i) {
                let end = chars.get(i + n).map_or(SAMPLE.len(), |c| c.0);
                let needle = &SAMPLE[chars[i].0..end];
                prop_assert!(text.any(needle.len(), &mut |s| s.contains(needle)), "{:?}", needle);
            }
        }
        // A near miss: the same characters in another order is not found.
        prop_assert!(!text.any(4, &mut |s| s.contains("2,1")));
    }
}

/// A document of `rows` rows, about 100 bytes each.
fn document(rows: usize) -> String {
    let mut doc = String::from("[");
    for i in 0..rows {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(
            "{{\"id\":{i},\"name\":\"row {i} — ряд\",\"tags\":[\"a\",\"b\"],\"score\":{}.5}}",
            i % 97
        ));
    }
    doc.push(']');
    doc
}

#[test]
fn a_streamed_document_is_written_once_and_never_moved() {
    let doc = document(80_000);
    assert!(doc.len() > 5 * CHUNK, "{} bytes", doc.len());
    let pieces: Vec<&str> = {
        let mut out = Vec::new();
        let mut from = 0;
        while from < doc.len() {
            let mut to = (from + 1_000).min(doc.len());
            while !doc.is_char_boundary(to) {
                to += 1;
            }
            out.push(&doc[from..to]);
            from = to;
        }
        out
    };
    let (stream, allocated, moved) = counted(|| {
        let mut s = StreamText::default();
        pieces.iter().for_each(|p| s.push(p));
        s
    });
    assert_eq!(stream.text().whole(), doc);
    // A `String` would have allocated about three times the text and moved twice (its
    // doublings); chunks are filled in place.
    assert!(
        allocated <= doc.len() + 3 * CHUNK,
        "{allocated} bytes allocated for {} of text",
        doc.len()
    );
    assert_eq!(moved, 0, "bytes moved");

    // Through the model: the complete document becomes the span's content in its chunks, with
    // no copy (a copy would hold it twice: what B10's memory measured).
    let mut m = Model::new(Options::default());
    let mut p = Producer::new("p");
    apply_ok(&mut m, [p.trace("t", "t"), p.streamed_json("t", "s")]);
    let appends: Vec<_> = pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            p.event(Op::JsonAppend {
                span: "s".into(),
                text: (*piece).into(),
                done: i + 1 == pieces.len(),
            })
        })
        .collect();
    let (_, allocated, moved) = counted(|| apply_ok(&mut m, appends));
    let span = m
        .span(m.span_by_key("s").expect("the span"))
        .expect("the span");
    let (stream, text) = span.streamed_json().expect("streamed");
    assert!(stream.done() && stream.error().is_none());
    assert_eq!(text.whole(), doc, "the content is the document");
    assert!(text.parts().len() > 1, "the content is kept in chunks");
    let Content::Json(content) = &span.content else {
        panic!("a JSON content: {:?}", span.content);
    };
    assert_eq!(content.len(), doc.len());
    assert!(
        allocated <= doc.len() + 3 * CHUNK,
        "{allocated} bytes allocated for {} of JSON",
        doc.len()
    );
    // What moves is the outcome's list of changes, a few entries a piece, not the text.
    assert!(moved <= 256 << 10, "{moved} bytes moved");
}

/// The model counts a streamed document's bytes when it becomes the content and takes the same
/// count off when it is replaced, even if a reader joined it into one string meanwhile (the
/// static tree, find): otherwise its total would fall short of what it holds, and the memory
/// cap would act late.
#[test]
fn a_joined_streamed_document_leaves_the_models_byte_count_as_it_was() {
    let doc = document(20_000);
    let run = |join: bool| {
        let mut m = Model::new(Options::default());
        let mut p = Producer::new("p");
        apply_ok(&mut m, [p.trace("t", "t"), p.streamed_json("t", "s")]);
        let (mut appends, mut from) = (Vec::new(), 0);
        while from < doc.len() {
            let mut to = (from + 10_000).min(doc.len());
            while !doc.is_char_boundary(to) {
                to += 1;
            }
            appends.push(p.event(Op::JsonAppend {
                span: "s".into(),
                text: doc[from..to].into(),
                done: false,
            }));
            from = to;
        }
        apply_ok(&mut m, appends);
        apply_ok(&mut m, [p.end_span("s")]);
        let span = m
            .span(m.span_by_key("s").expect("the span"))
            .expect("the span");
        let Content::Json(content) = &span.content else {
            panic!("a JSON content: {:?}", span.content);
        };
        if join {
            assert!(content.get() == doc, "joined, the document reads whole");
        }
        apply_ok(
            &mut m,
            [p.event(Op::ContentReplace {
                span: "s".into(),
                content: user_trace_model::protocol::RawJson::null(),
            })],
        );
        m.bytes()
    };
    assert_eq!(run(true), run(false));
}
