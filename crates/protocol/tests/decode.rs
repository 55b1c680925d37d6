//! Decoding messages: one bad event loses only itself and says which it was and why; text that
//! is not JSON fails the whole message with where it broke.

use user_trace_protocol::{decode_event, decode_server, ServerMessage};

#[test]
fn an_invalid_event_is_reported_in_its_place_with_its_id() {
    let text = r#"{"type":"events","first_seq":5,"events":[
        {"id":"a","process":"p","ts":1,"op":"trace_start","trace":"t","name":"T"},
        {"process":"p","ts":2,"op":"trace_end","trace":"t","id":"b","extra":{"x":[1,2]},"status":"maybe"},
        {"id":"c","process":"p","ts":"soon","op":"clear"},
        {"ts":3,"id":7},
        [1, 2],
        {"id":"d","process":"p","ts":4,"op":"clear","unknown":{"ignored":true}}
    ]}"#;
    let Ok(ServerMessage::Events { first_seq, events }) = decode_server(text) else {
        panic!("decodes")
    };
    assert_eq!(first_seq, 5);
    let summary: Vec<String> = events
        .iter()
        .map(|e| match e {
            Ok(e) => format!("ok {}", e.id),
            Err(e) => format!("#{} {:?}: {}", e.index, e.id, e.reason),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "ok a",
            "#1 Some(\"b\"): unknown status `maybe` (expected ok or error)",
            "#2 Some(\"c\"): `ts`: expected a non-negative integer, found a string",
            "#3 None: `id`: expected a string, found a number",
            "#4 None: expected an object, found an array",
            "ok d",
        ]
    );
}

#[test]
fn text_that_is_not_json_fails_the_message_with_its_position() {
    for (text, error) in [
        (
            "{\"type\":\"events\",\n\"events\":[{\"id\":\"a\",}]}",
            "malformed message: expected a key (a string) at line 2 column 21",
        ),
        (
            "{\"type\":\"hello\"",
            "malformed message: expected `,` or `}` at line 1 column 16",
        ),
        (
            "",
            "malformed message: expected an object, found the end of the text at line 1 column 1",
        ),
        (
            "{\"type\":\"events\"} x",
            "malformed message: trailing characters after the value at line 1 column 19",
        ),
        (
            "{\"first_seq\":1}",
            "malformed message: missing field `type`",
        ),
        ("{\"type\":\"nope\"}", "unknown message type `nope`"),
    ] {
        assert_eq!(
            decode_server(text).map(drop).unwrap_err().to_string(),
            error,
            "{text:?}"
        );
    }
}

#[test]
fn a_single_event_needs_nothing_after_it() {
    let ok = r#" {"id":"a","process":"p","ts":1,"op":"clear"} "#;
    assert!(decode_event(0, ok).is_ok());
    let e = decode_event(3, &format!("{ok} {{}}")).unwrap_err();
    assert_eq!((e.index, e.id.as_deref()), (3, Some("a")));
    assert_eq!(e.reason, "trailing characters after the value");
}

#[test]
fn traces_and_spans_may_carry_a_source() {
    use user_trace_protocol::{decode_event, Op};
    let t = decode_event(
        0,
        r#"{"id":"1","process":"p","ts":1,"op":"trace_start","trace":"t","name":"n","source":"node-7"}"#,
    )
    .unwrap();
    assert!(matches!(t.op, Op::TraceStart { source: Some(ref s), .. } if s == "node-7"));
    let s = decode_event(
        0,
        r#"{"id":"2","process":"p","ts":1,"op":"span_create","trace":"t","span":"s","kind":"text","source":"graph/a b"}"#,
    )
    .unwrap();
    assert!(matches!(s.op, Op::SpanCreate { source: Some(ref s), .. } if s == "graph/a b"));
    // Near misses: null is no source; a number is a clear error naming the field.
    let none = decode_event(
        0,
        r#"{"id":"3","process":"p","ts":1,"op":"trace_start","trace":"t","name":"n","source":null}"#,
    )
    .unwrap();
    assert!(matches!(none.op, Op::TraceStart { source: None, .. }));
    let bad = decode_event(
        0,
        r#"{"id":"4","process":"p","ts":1,"op":"trace_start","trace":"t","name":"n","source":7}"#,
    )
    .unwrap_err();
    assert!(bad.reason.contains("source"), "{}", bad.reason);
}

#[test]
fn a_snapshot_part_needs_its_number_its_place_and_whether_it_is_the_last() {
    let ok = r#"{"type":"snapshot_part","seq":3,"part":4294967295,"last":false,"events":[]}"#;
    assert!(matches!(
        decode_server(ok),
        Ok(ServerMessage::SnapshotPart {
            seq: 3,
            part: u32::MAX,
            last: false,
            ..
        })
    ));
    for (text, error) in [
        (
            r#"{"type":"snapshot_part","seq":3,"last":true,"events":[]}"#,
            "`snapshot_part` message needs the field `part`",
        ),
        (
            r#"{"type":"snapshot_part","seq":3,"part":0,"events":[]}"#,
            "`snapshot_part` message needs the field `last`",
        ),
        (
            r#"{"type":"snapshot_part","part":0,"last":true,"events":[]}"#,
            "`snapshot_part` message needs the field `seq`",
        ),
        (
            r#"{"type":"snapshot_part","seq":3,"part":0,"last":true}"#,
            "`snapshot_part` message needs the field `events`",
        ),
        (
            r#"{"type":"snapshot_part","seq":3,"part":4294967296,"last":true,"events":[]}"#,
            "`part` is not a part number",
        ),
    ] {
        assert_eq!(
            decode_server(text).map(drop).unwrap_err().to_string(),
            error,
            "{text}"
        );
    }
    let e = decode_server(r#"{"type":"snapshot_part","seq":3,"part":0,"last":"yes","events":[]}"#)
        .map(drop)
        .unwrap_err()
        .to_string();
    assert!(e.contains("last"), "{e}");
}
