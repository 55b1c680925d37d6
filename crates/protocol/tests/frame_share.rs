//! A large JSON value decoded from a shared frame keeps the frame's text instead of a copy of
//! itself (a panel's wasm memory never shrinks, so a copy would double a large span's cost for
//! good), and only when it is most of the frame: a small value never keeps a large frame alive.

use std::sync::Arc;

use user_trace_protocol::{
    decode_server, decode_server_frame, Content, Op, RawJson, ServerMessage,
};

/// A `{"k":[0,1,2,...]}` document of about `bytes` bytes.
fn document(bytes: usize) -> String {
    let mut doc = String::from(r#"{"k":["#);
    let mut i = 0;
    while doc.len() < bytes {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&i.to_string());
        i += 1;
    }
    doc.push_str("]}");
    doc
}

/// A snapshot part holding a trace, a JSON span with `content`, a content_replace with
/// `replaced`, and at least `padding` bytes of other events (about 1 KB each).
fn frame(content: &str, replaced: &str, padding: usize) -> Arc<str> {
    let mut events = vec![
        r#"{"id":"t","process":"p","ts":1,"op":"trace_start","trace":"t","name":"T"}"#.to_owned(),
        format!(
            r#"{{"id":"s","process":"p","ts":2,"op":"span_create","trace":"t","span":"s","kind":"json","content":{content}}}"#
        ),
        format!(
            r#"{{"id":"r","process":"p","ts":3,"op":"content_replace","span":"s","content":{replaced}}}"#
        ),
    ];
    let (mut n, mut padded) = (0, 0);
    while padded < padding {
        let pad = format!(
            r#"{{"id":"pad{n}","process":"p","ts":4,"op":"text_append","span":"x","text":"{}"}}"#,
            "x".repeat(1000)
        );
        padded += pad.len() + 1;
        events.push(pad);
        n += 1;
    }
    Arc::from(format!(
        r#"{{"type":"snapshot_part","seq":9,"part":0,"last":true,"events":[{}]}}"#,
        events.join(",")
    ))
}

/// The JSON of the span_create and of the content_replace.
fn values(m: ServerMessage<user_trace_protocol::message::EventResult>) -> (RawJson, RawJson) {
    let ServerMessage::SnapshotPart { events, .. } = m else {
        panic!("a snapshot part")
    };
    let mut json = events.into_iter().filter_map(|e| match e.ok()?.op {
        Op::SpanCreate {
            content: Content::Json(j),
            ..
        } => Some(j),
        Op::ContentReplace { content, .. } => Some(content),
        _ => None,
    });
    (
        json.next().expect("span_create"),
        json.next().expect("content_replace"),
    )
}

#[test]
fn a_large_value_that_is_most_of_its_frame_keeps_the_frame() {
    let doc = document(200_000);
    let text = frame(&doc, "[0]", 0);
    let (big, small) = values(decode_server_frame(&text).unwrap());
    assert_eq!(big.get(), doc);
    assert_eq!(big.held_bytes(), text.len(), "the frame, not a copy");
    assert_eq!(Arc::strong_count(&text), 2, "the frame and the value");
    let outline = big.outline().expect("the decoder's outline comes along");
    assert_eq!(outline.count, 1);
    let (shared, range) = big.shared();
    assert!(Arc::ptr_eq(&shared, &text));
    assert_eq!(&shared[range], doc);
    // The small value beside it is a copy of its own.
    assert_eq!(small.get(), "[0]");
    assert_eq!(small.held_bytes(), 3);
    // The same frame decoded without sharing gives equal values, each a copy.
    let (copy, _) = values(decode_server(&text).unwrap());
    assert_eq!(copy, big);
    assert_eq!(copy.held_bytes(), doc.len());
    assert!(!copy.same(&big), "equal text, not the same value");
    assert!(big.same(&big.clone()));
}

#[test]
fn a_value_under_three_quarters_of_its_frame_is_copied() {
    let doc = document(200_000);
    // Just over a third of the frame is other events: the value is under 3/4 of it.
    let text = frame(&doc, "[0]", doc.len() / 3 + 2_000);
    let (big, _) = values(decode_server_frame(&text).unwrap());
    assert_eq!(big.get(), doc);
    assert_eq!(big.held_bytes(), doc.len(), "a copy");
    assert_eq!(Arc::strong_count(&text), 1);
    assert!(big.outline().is_some(), "the outline stays with the copy");
    // Just under a third: the value is over 3/4 of it, and keeps it.
    let text = frame(&doc, "[0]", doc.len() / 3 - 2_000);
    let (big, _) = values(decode_server_frame(&text).unwrap());
    assert_eq!(big.held_bytes(), text.len());
}

#[test]
fn a_small_value_alone_in_its_frame_is_copied() {
    // 60 KB: nearly all of its frame, but under the 64 KiB that sharing needs.
    let doc = document(60_000);
    let text = frame(&doc, "[0]", 0);
    let (value, _) = values(decode_server_frame(&text).unwrap());
    assert_eq!(value.get(), doc);
    assert_eq!(value.held_bytes(), doc.len());
    assert_eq!(Arc::strong_count(&text), 1);
}

#[test]
fn a_replaced_content_keeps_its_frame_too() {
    let doc = document(200_000);
    let text = frame("[0]", &doc, 0);
    let (_, replaced) = values(decode_server_frame(&text).unwrap());
    assert_eq!(replaced.get(), doc);
    assert_eq!(replaced.held_bytes(), text.len());
}
