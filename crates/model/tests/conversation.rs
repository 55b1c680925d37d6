//! Protocol 1.1 in the model: conversations (`messages` spans, `messages_add`,
//! `message_append`) and JSON streamed in pieces (`json_append`): what is applied, what is
//! refused and why, what snapshots keep.

mod common;

use common::{apply_all, apply_ok, Producer};
use user_trace_model::protocol::{
    Content, Message, MessageContent, Op, Part, RawJson, SpanKind, Status, ToolCall,
};
use user_trace_model::{Change, Limits, Model, Options};

fn messages_span(
    p: &mut Producer,
    span: &str,
    messages: Vec<Message>,
) -> user_trace_model::protocol::Event {
    p.event(Op::SpanCreate {
        trace: "t".into(),
        span: span.into(),
        kind: SpanKind::Messages,
        title: Some("chat".into()),
        content: Content::Messages(messages),
        source: None,
    })
}

fn add(p: &mut Producer, span: &str, messages: Vec<Message>) -> user_trace_model::protocol::Event {
    p.event(Op::MessagesAdd {
        span: span.into(),
        messages,
    })
}

fn say(p: &mut Producer, span: &str, text: &str) -> user_trace_model::protocol::Event {
    p.event(Op::MessageAppend {
        span: span.into(),
        text: text.into(),
    })
}

fn json_append(
    p: &mut Producer,
    span: &str,
    text: &str,
    done: bool,
) -> user_trace_model::protocol::Event {
    p.event(Op::JsonAppend {
        span: span.into(),
        text: text.into(),
        done,
    })
}

fn empty_json(p: &mut Producer, span: &str) -> user_trace_model::protocol::Event {
    p.event(Op::SpanCreate {
        trace: "t".into(),
        span: span.into(),
        kind: SpanKind::Json,
        title: None,
        content: Content::Json(RawJson::null()),
        source: None,
    })
}

fn messages_of(m: &Model, span: &str) -> Vec<Message> {
    match &m.span(m.span_by_key(span).unwrap()).unwrap().content {
        Content::Messages(list) => list.clone(),
        other => panic!("not messages: {other:?}"),
    }
}

fn reasons(out: &user_trace_model::Outcome) -> Vec<String> {
    out.rejected.iter().map(|r| r.reason.clone()).collect()
}

fn call(id: &str, name: &str, args: &str) -> ToolCall {
    ToolCall {
        id: Some(id.into()),
        name: name.into(),
        arguments: RawJson::from_string(args.into()).unwrap(),
    }
}

#[test]
fn a_conversation_grows_message_by_message_and_token_by_token() {
    let mut m = Model::new(Options::default());
    let mut p = Producer::new("agent");
    apply_ok(
        &mut m,
        [
            p.trace("t", "chat"),
            messages_span(&mut p, "c", vec![Message::text("system", "Be brief.")]),
            add(
                &mut p,
                "c",
                vec![Message::text("user", "Weather in Lisbon?")],
            ),
            add(
                &mut p,
                "c",
                vec![Message {
                    tool_calls: vec![call("call_1", "weather", r#"{"city":"Lisbon"}"#)],
                    ..Message::text("assistant", "")
                }],
            ),
            add(
                &mut p,
                "c",
                vec![Message {
                    tool_call_id: Some("call_1".into()),
                    ..Message::text("tool", r#"{"temp": 21}"#)
                }],
            ),
            add(&mut p, "c", vec![Message::text("assistant", "")]),
        ],
    );
    let id = m.span_by_key("c").unwrap();
    let mut out = user_trace_model::Outcome::default();
    let mut from = Vec::new();
    for token in ["It is ", "21 °C ", "and sunny."] {
        out.clear();
        m.apply(say(&mut p, "c", token), &mut out);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        for c in &out.changes {
            if let Change::TextAppended { span, from: f } = c {
                assert_eq!(*span, id);
                from.push(*f);
            }
        }
    }
    // Each token says where in the last message's text it went.
    assert_eq!(from, [0, 6, 13]);
    let list = messages_of(&m, "c");
    assert_eq!(list.len(), 5);
    assert_eq!(list[4].last_text(), Some("It is 21 °C and sunny."));
    assert_eq!(
        list[2].tool_calls[0].arguments.get(),
        r#"{"city":"Lisbon"}"#
    );
    assert_eq!(list[3].tool_call_id.as_deref(), Some("call_1"));
    // The content was never replaced: views keep their rows.
    assert_eq!(m.span(id).unwrap().revision, 0);
}

#[test]
fn appends_to_parts_go_to_the_last_text_part() {
    let mut m = Model::new(Options::default());
    let mut p = Producer::new("agent");
    let image =
        Part::Other(RawJson::from_string(r#"{"type":"image","url":"a.png"}"#.into()).unwrap());
    apply_ok(
        &mut m,
        [
            p.trace("t", "chat"),
            messages_span(
                &mut p,
                "c",
                vec![Message {
                    content: MessageContent::Parts(vec![image.clone()]),
                    ..Message::text("user", "")
                }],
            ),
            say(&mut p, "c", "What is "),
            say(&mut p, "c", "this?"),
        ],
    );
    let list = messages_of(&m, "c");
    assert_eq!(
        list[0].content,
        MessageContent::Parts(vec![image, Part::Text("What is this?".into())])
    );
}

#[test]
fn bad_conversation_events_are_refused_with_a_reason() {
    let limits = Limits {
        max_text_bytes: 20,
        max_items: 3,
        max_label_bytes: 16,
        ..Limits::default()
    };
    let mut m = Model::new(Options {
        limits,
        ..Options::default()
    });
    let mut p = Producer::new("agent");
    apply_ok(
        &mut m,
        [
            p.trace("t", "chat"),
            messages_span(&mut p, "c", vec![]),
            p.text("t", "plain", ""),
        ],
    );
    let out = apply_all(
        &mut m,
        [
            say(&mut p, "c", "orphan token"),
            add(&mut p, "plain", vec![Message::text("user", "x")]),
            say(&mut p, "plain", "x"),
            add(&mut p, "c", vec![Message::text(&"r".repeat(17), "x")]),
            add(&mut p, "c", vec![Message::text("user", &"x".repeat(21))]),
            add(
                &mut p,
                "c",
                vec![
                    Message::text("user", "1"),
                    Message::text("user", "2"),
                    Message::text("user", "3"),
                    Message::text("user", "4"),
                ],
            ),
            add(&mut p, "c", vec![Message::text("user", "0123456789")]),
            say(&mut p, "c", "0123456789X"),
            add(&mut p, "nope", vec![]),
        ],
    );
    assert_eq!(
        reasons(&out),
        [
            "span `c` has no message to append to (add one with messages_add)",
            "cannot add messages to span `plain` of kind `text`",
            "cannot append to a message of span `plain` of kind `text`",
            "message role is 17 bytes, over the limit of 16",
            "the text of a message is over the limit of 20 bytes",
            "span `c` would hold over the limit of 3 messages",
            "the last message of span `c` would be over the limit of 20 bytes",
            "unknown span `nope` (never created, or evicted)",
        ]
    );
    // Once the span ended, its last message is complete.
    let out = apply_all(&mut m, [p.end_span("c"), say(&mut p, "c", "late")]);
    assert_eq!(reasons(&out), ["span `c` has ended"]);
    assert_eq!(messages_of(&m, "c")[0].last_text(), Some("0123456789"));
}

#[test]
fn a_replaced_conversation_is_a_new_revision() {
    let mut m = Model::new(Options::default());
    let mut p = Producer::new("agent");
    apply_ok(
        &mut m,
        [
            p.trace("t", "chat"),
            messages_span(&mut p, "c", vec![Message::text("user", "a")]),
            p.event(Op::ContentReplace {
                span: "c".into(),
                content: RawJson::from_string(
                    r#"[{"role":"user","content":"b"},{"role":"assistant"}]"#.into(),
                )
                .unwrap(),
            }),
        ],
    );
    let s = m.span(m.span_by_key("c").unwrap()).unwrap();
    assert_eq!(s.revision, 1);
    assert_eq!(messages_of(&m, "c")[0].last_text(), Some("b"));
}

#[test]
fn streamed_json_becomes_the_content_when_done_and_valid() {
    let mut m = Model::new(Options::default());
    let mut p = Producer::new("llm");
    apply_ok(
        &mut m,
        [
            p.trace("t", "tool call"),
            empty_json(&mut p, "args"),
            json_append(&mut p, "args", "{\"query\": \"rust w", false),
            json_append(&mut p, "args", "asm\", \"max\": 3", false),
        ],
    );
    let id = m.span_by_key("args").unwrap();
    {
        let s = m.span(id).unwrap();
        let (stream, text) = s.streamed_json().expect("streaming");
        assert_eq!(text, "{\"query\": \"rust wasm\", \"max\": 3");
        assert_eq!(stream.open().len(), 1);
        assert_eq!(stream.open()[0].count, 1, "3 may go on: not complete yet");
        assert!(!stream.done());
    }
    apply_ok(&mut m, [json_append(&mut p, "args", "}", true)]);
    let s = m.span(id).unwrap();
    let Content::Json(j) = &s.content else {
        panic!()
    };
    assert_eq!(j.get(), "{\"query\": \"rust wasm\", \"max\": 3}");
    let (stream, text) = s.streamed_json().unwrap();
    assert!(stream.done() && stream.error().is_none());
    assert_eq!(text, j.get(), "the text moved into the content");
    assert!(
        s.status.is_running(),
        "done completes the document, not the span"
    );
    // A complete document takes no more.
    let out = apply_all(&mut m, [json_append(&mut p, "args", " ", false)]);
    assert_eq!(reasons(&out), ["the JSON of span `args` is complete"]);
}

#[test]
fn ending_the_span_completes_the_document_and_an_invalid_one_keeps_its_text_and_error() {
    let mut m = Model::new(Options::default());
    let mut p = Producer::new("llm");
    apply_ok(
        &mut m,
        [
            p.trace("t", "structured output"),
            empty_json(&mut p, "ok"),
            json_append(&mut p, "ok", "[1, 2", false),
            json_append(&mut p, "ok", "]", false),
            p.end_span("ok"),
            empty_json(&mut p, "cut"),
            json_append(&mut p, "cut", "{\"a\": [1, 2", false),
            p.end_span("cut"),
            empty_json(&mut p, "bad"),
            json_append(&mut p, "bad", "{\"a\" 1}", false),
        ],
    );
    let span = |key: &str| m.span(m.span_by_key(key).unwrap()).unwrap();
    assert_eq!(
        span("ok").content,
        Content::Json(RawJson::from_string("[1, 2]".into()).unwrap())
    );
    let (cut, text) = span("cut").streamed_json().unwrap();
    assert_eq!(text, "{\"a\": [1, 2");
    assert_eq!(
        cut.error().unwrap().what,
        "the text ends with 2 containers still open at line 1 column 12"
    );
    assert_eq!(span("cut").content, Content::Json(RawJson::null()));
    // An error found mid-stream is known at once; the text still grows until the end.
    let (bad, _) = span("bad").streamed_json().unwrap();
    assert_eq!(bad.error().unwrap().what, "expected `:` at line 1 column 6");
    apply_ok(&mut m, [json_append(&mut p, "bad", " more", true)]);
    let bad = m.span(m.span_by_key("bad").unwrap()).unwrap();
    let (bad, text) = bad.streamed_json().unwrap();
    assert!(bad.done());
    assert_eq!(text, "{\"a\" 1} more");
}

#[test]
fn json_streams_only_into_a_json_span_without_content_that_runs() {
    let mut m = Model::new(Options {
        limits: Limits {
            max_json_bytes: 10,
            ..Limits::default()
        },
        ..Options::default()
    });
    let mut p = Producer::new("llm");
    apply_ok(
        &mut m,
        [
            p.trace("t", "t"),
            p.json("t", "full", "[1]"),
            p.text("t", "text", ""),
            empty_json(&mut p, "ended"),
            p.end_span("ended"),
            empty_json(&mut p, "small"),
        ],
    );
    let out = apply_all(
        &mut m,
        [
            json_append(&mut p, "full", "[", false),
            json_append(&mut p, "text", "[", false),
            json_append(&mut p, "ended", "[", false),
            json_append(&mut p, "small", "[1,2,3,4,", false),
            json_append(&mut p, "small", "5,6", false),
        ],
    );
    assert_eq!(
        reasons(&out),
        [
            "span `full` holds a complete JSON value: stream into a json span created without content",
            "cannot stream JSON into span `text` of kind `text`",
            "span `ended` has ended",
            "the JSON of span `small` would be over the limit of 10 bytes",
        ]
    );
    // A replaced content ends the stream: it is a value like any other.
    apply_ok(
        &mut m,
        [p.event(Op::ContentReplace {
            span: "small".into(),
            content: RawJson::from_string("{}".into()).unwrap(),
        })],
    );
    let s = m.span(m.span_by_key("small").unwrap()).unwrap();
    assert!(s.stream.is_none() && s.revision == 1);
}

/// Rebuilds a model from another's snapshot: the same tree.
fn round_trip(m: &Model) -> Model {
    let mut copy = Model::new(Options::default());
    apply_ok(&mut copy, m.snapshot_events());
    assert_eq!(copy.dump(), m.dump());
    copy
}

#[test]
fn snapshots_keep_conversations_and_documents_streaming_done_or_invalid() {
    let mut m = Model::new(Options::default());
    let mut p = Producer::new("agent");
    let mut q = Producer::new("helper");
    apply_ok(
        &mut m,
        [
            p.trace("t", "chat"),
            messages_span(&mut p, "c", vec![Message::text("user", "hi")]),
            add(&mut p, "c", vec![Message::text("assistant", "")]),
            say(&mut p, "c", "Hel"),
            say(&mut q, "c", "lo"),
            empty_json(&mut p, "streaming"),
            json_append(&mut p, "streaming", "{\"a\": [1, 2", false),
            json_append(&mut q, "streaming", ", 3", false),
            empty_json(&mut p, "valid"),
            json_append(&mut p, "valid", "[true]", true),
            empty_json(&mut p, "invalid"),
            json_append(&mut p, "invalid", "[tru", false),
            p.end_span("invalid"),
        ],
    );
    let dump = m.dump();
    assert!(dump.contains(r#"stream "{\"a\": [1, 2, 3""#), "{dump}");
    assert!(dump.contains(r#"stream "[tru" done error "#), "{dump}");
    assert!(dump.contains(r#"= [true]"#), "{dump}");
    let copy = round_trip(&m);
    // The copy goes on streaming where the original was.
    let mut copy = copy;
    apply_ok(
        &mut copy,
        [
            json_append(&mut p, "streaming", "]}", true),
            say(&mut p, "c", "!"),
        ],
    );
    let s = copy.span(copy.span_by_key("streaming").unwrap()).unwrap();
    assert_eq!(
        s.content,
        Content::Json(RawJson::from_string("{\"a\": [1, 2, 3]}".into()).unwrap())
    );
    assert_eq!(messages_of(&copy, "c")[1].last_text(), Some("Hello!"));
    let writers = copy
        .span(copy.span_by_key("streaming").unwrap())
        .unwrap()
        .writers();
    assert_eq!(writers.len(), 1, "the helper still wrote into it");
    let _ = Status::Ok;
}

#[test]
fn memory_accounting_follows_streams_and_conversations() {
    let mut m = Model::new(Options::default());
    let mut p = Producer::new("agent");
    apply_ok(
        &mut m,
        [
            p.trace("t", "t"),
            messages_span(&mut p, "c", vec![Message::text("assistant", "")]),
            empty_json(&mut p, "j"),
        ],
    );
    let start = m.bytes();
    let piece = "x".repeat(1000);
    for _ in 0..1000 {
        apply_ok(&mut m, [say(&mut p, "c", &piece)]);
    }
    apply_ok(&mut m, [json_append(&mut p, "j", "[", false)]);
    for _ in 0..1000 {
        apply_ok(
            &mut m,
            [json_append(
                &mut p,
                "j",
                &format!("\"{}\",", &piece[2..]),
                false,
            )],
        );
    }
    let grown = m.bytes() - start;
    // 1 MB of message text and 1 MB of JSON: counted, with their storage's doubling.
    assert!((2_000_000..5_000_000).contains(&grown), "{grown}");
    apply_ok(&mut m, [json_append(&mut p, "j", "0]", true)]);
    let done = m.bytes() - start;
    assert!((2_000_000..5_000_000).contains(&done), "{done}");
}

/// The first piece of a streamed document changes the span's header (it shows stream stats
/// from then on): reported as `Change::Span`, which the panel's header listens to; later pieces
/// change only the content.
#[test]
fn the_first_json_piece_changes_the_header_and_later_ones_only_the_content() {
    let mut m = Model::new(Options::default());
    let mut p = Producer::new("llm");
    apply_ok(
        &mut m,
        [p.trace("t", "tool call"), empty_json(&mut p, "args")],
    );
    let id = m.span_by_key("args").unwrap();
    let first = apply_ok(&mut m, [json_append(&mut p, "args", "{\"a\":", false)]);
    assert_eq!(
        first.changes,
        vec![Change::TextAppended { span: id, from: 0 }, Change::Span(id)]
    );
    let next = apply_ok(&mut m, [json_append(&mut p, "args", " 1", false)]);
    assert_eq!(
        next.changes,
        vec![Change::TextAppended { span: id, from: 5 }]
    );
}
