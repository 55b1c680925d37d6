//! A streamed document as a content (`RawJson::from_streamed`): kept in the chunks it arrived in,
//! read in parts without a copy, written to the wire part by part, and joined into one string
//! only for a reader that asks for one.

use std::borrow::Cow;

use user_trace_protocol::stream_text::StreamText;
use user_trace_protocol::{writer, Content, RawJson};

/// `doc` appended in pieces of `piece` bytes (ASCII), in chunks of `chunk`.
fn streamed(doc: &str, piece: usize, chunk: usize) -> StreamText {
    let mut t = StreamText::with_chunk(chunk);
    for p in doc.as_bytes().chunks(piece) {
        t.push(std::str::from_utf8(p).expect("ASCII"));
    }
    t
}

const DOC: &str = r#"{"a":[1,2,3],"b":{"c":"text","d":null},"e":true}"#;

#[test]
fn a_streamed_document_reads_as_its_text_in_parts_and_whole() {
    let raw = RawJson::from_streamed(streamed(DOC, 5, 8));
    let text = raw.text();
    assert!(text.parts().len() > 3, "kept in chunks: {:?}", text.parts());
    assert_eq!(text.whole(), DOC);
    assert_eq!(raw.len(), DOC.len());
    // A range inside a chunk is borrowed from it.
    assert!(matches!(text.get(0..2), Some(Cow::Borrowed("{\""))));
    let mut out = String::from("x");
    raw.push_to(&mut out);
    assert_eq!(out, format!("x{DOC}"));
    // One string, on demand: the same text.
    assert_eq!(raw.get(), DOC);
    let (shared, range) = raw.shared();
    assert_eq!(&shared[range], DOC);
}

#[test]
fn whitespace_after_the_value_is_not_part_of_it_even_across_chunks() {
    // The trailing whitespace fills whole chunks at the end, and part of the one before.
    let doc = format!("{DOC} \n\t\r   \n      ");
    for chunk in [1, 3, 8, 1 << 20] {
        let raw = RawJson::from_streamed(streamed(&doc, 4, chunk));
        assert_eq!(raw.text().whole(), DOC, "chunks of {chunk}");
        assert_eq!(raw.len(), DOC.len(), "chunks of {chunk}");
        assert_eq!(raw.get(), DOC, "chunks of {chunk}");
        assert!(raw.text().parts().iter().all(|p| !p.is_empty()));
    }
    // Whitespace inside the value stays.
    let inner = "[1, \"a b \"  ]";
    let raw = RawJson::from_streamed(streamed(&format!("{inner}  "), 2, 3));
    assert_eq!(raw.get(), inner);
}

#[test]
fn a_streamed_document_is_written_as_a_span_content_whole() {
    let raw = RawJson::from_streamed(streamed(DOC, 7, 16));
    let mut out = String::new();
    writer::content(&mut out, &Content::Json(raw.clone()));
    assert_eq!(out, DOC);
    // As a whole event's JSON, it reads back as the same value.
    let json = writer::content_json(&Content::Json(raw));
    assert_eq!(json.get(), DOC);
}

#[test]
fn equal_documents_are_equal_however_they_are_kept_and_a_near_miss_is_not() {
    let chunked = RawJson::from_streamed(streamed(DOC, 3, 4));
    let whole = RawJson::try_from_str(DOC).expect("valid");
    assert_eq!(chunked, whole);
    assert_eq!(whole, chunked);
    assert_eq!(chunked, RawJson::from_streamed(streamed(DOC, 11, 32)));
    let near = DOC.replace("true", "trve");
    assert_ne!(chunked, RawJson::from_streamed(streamed(&near, 3, 4)));
    // `same`: a clone shares the value; an equal document streamed again does not.
    assert!(chunked.same(&chunked.clone()));
    assert!(!chunked.same(&RawJson::from_streamed(streamed(DOC, 3, 4))));
    assert!(!chunked.same(&whole));
}

/// What a streamed document holds is its chunks, and stays so: the model adds it when it takes
/// the value and takes it off when it drops it, so a count that grew meanwhile would leave the
/// model's total short of what it holds.
#[test]
fn what_a_streamed_document_holds_is_its_chunks_for_its_whole_life() {
    let doc = format!("[{}]", vec!["1234567"; 2_000].join(","));
    let raw = RawJson::from_streamed(streamed(&doc, 100, 4096));
    let held = raw.held_bytes();
    assert!(held >= doc.len() && held < doc.len() + 8192, "{held}");
    let _ = raw.text().whole();
    assert_eq!(raw.held_bytes(), held, "reading in parts");
    assert_eq!(raw.get(), doc);
    assert_eq!(raw.held_bytes(), held, "joined for a reader of one string");
}
