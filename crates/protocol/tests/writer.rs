//! The protocol's writer produces, byte for byte, what serde_json produces for the same
//! messages, and what it writes reads back as the same message.

use user_trace_protocol::writer::snapshot_parts;
use user_trace_protocol::{
    decode_event, decode_server, Content, ErrorContent, Event, Hello, Item, Message,
    MessageContent, Op, PanelMessage, Part, ProducerMessage, RawJson, ServerMessage, SpanKind,
    Status, ToolCall,
};

const AWKWARD: &[&str] = &[
    "",
    "plain",
    "quote \" backslash \\ slash /",
    "lines\nand\r\ttabs",
    "controls \u{0} \u{1} \u{8} \u{c} \u{1f} \u{7f}",
    "ünïcödé 😀 \u{2028}",
    "a longer string that spans several eight-byte words with a \" late quote",
];

fn events() -> Vec<Event> {
    let mut ops = Vec::new();
    for (i, s) in AWKWARD.iter().enumerate() {
        let s = s.to_string();
        // Ids must not be empty; names and texts may.
        let id = format!("id {s}");
        ops.push(Op::TraceStart {
            trace: id.clone(),
            name: s.clone(),
            parent_span: i.is_multiple_of(2).then(|| id.clone()),
            source: i.is_multiple_of(3).then(|| s.clone()),
        });
        ops.push(Op::TextAppend {
            span: "t".into(),
            text: s.clone(),
        });
        ops.push(Op::SpanEnd {
            span: id.clone(),
            status: if i.is_multiple_of(2) {
                Status::Ok
            } else {
                Status::Error { message: s.clone() }
            },
        });
        ops.push(Op::TraceEnd {
            trace: id.clone(),
            status: Status::Error { message: s.clone() },
        });
        for (kind, content) in [
            (SpanKind::Text, Content::Text(s.clone())),
            (SpanKind::Markdown, Content::Text(s.clone())),
            (
                SpanKind::Items,
                Content::Items(vec![
                    Item {
                        name: s.clone(),
                        value: RawJson::from_value(&s),
                    },
                    Item {
                        name: "n".into(),
                        value: RawJson::from_string(r#"{"a": [1, 2.5e3, null]}"#.into()).unwrap(),
                    },
                ]),
            ),
            (
                SpanKind::Error,
                Content::Error(ErrorContent {
                    message: s.clone(),
                    details: (i % 2 == 1).then(|| RawJson::from_value(&[s.as_str()])),
                }),
            ),
            (SpanKind::Json, Content::Json(RawJson::from_value(&s))),
            (
                SpanKind::Other("chart".into()),
                Content::Json(RawJson::from_string("[1,2]".into()).unwrap()),
            ),
        ] {
            ops.push(Op::SpanCreate {
                trace: "t".into(),
                span: id.clone(),
                kind,
                title: i.is_multiple_of(3).then(|| s.clone()),
                content,
                source: None,
            });
        }
        let messages = vec![
            Message::text("system", &s),
            Message {
                role: "assistant".into(),
                name: i.is_multiple_of(2).then(|| s.clone()),
                content: MessageContent::Parts(vec![
                    Part::Text(s.clone()),
                    Part::Other(
                        RawJson::from_string(r#"{"type":"image","url":"x"}"#.into()).unwrap(),
                    ),
                ]),
                tool_calls: vec![
                    ToolCall {
                        id: Some(s.clone()),
                        name: "search".into(),
                        arguments: RawJson::from_string(r#"{"q": [1, 2.50]}"#.into()).unwrap(),
                    },
                    ToolCall {
                        id: None,
                        name: s.clone(),
                        arguments: RawJson::null(),
                    },
                ],
                tool_call_id: None,
            },
            Message {
                tool_call_id: Some(s.clone()),
                ..Message::text("tool", "result")
            },
        ];
        ops.push(Op::SpanCreate {
            trace: "t".into(),
            span: id.clone(),
            kind: SpanKind::Messages,
            title: None,
            content: Content::Messages(messages.clone()),
            source: Some(format!("node:{s}")),
        });
        ops.push(Op::MessagesAdd {
            span: id.clone(),
            messages,
        });
        ops.push(Op::MessageAppend {
            span: id.clone(),
            text: s.clone(),
        });
        ops.push(Op::JsonAppend {
            span: id.clone(),
            text: s.clone(),
            done: i.is_multiple_of(2),
        });
        ops.push(Op::SpanInterrupted { span: id.clone() });
        ops.push(Op::ContentReplace {
            span: id.clone(),
            content: RawJson::from_string(" {\"k\" : \"v\"} ".into()).unwrap(),
        });
        ops.push(Op::ItemsSet {
            span: id.clone(),
            items: vec![],
        });
        ops.push(Op::ItemsAdd {
            span: id.clone(),
            items: vec![Item {
                name: s.clone(),
                value: RawJson::null(),
            }],
        });
    }
    ops.push(Op::Clear);
    ops.into_iter()
        .enumerate()
        .map(|(n, op)| Event {
            id: format!("e-{n}\"{}", AWKWARD[n % AWKWARD.len()]),
            process: AWKWARD[(n + 3) % AWKWARD.len()].to_owned(),
            ts: [0, 1, 1_700_000_000_000_000, u64::MAX][n % 4],
            op,
        })
        .collect()
}

#[test]
fn events_are_written_as_serde_json_writes_them_and_read_back() {
    let all = events();
    assert_eq!(all.len(), 127);
    for (i, e) in all.iter().enumerate() {
        let ours = e.to_json();
        assert_eq!(ours, serde_json::to_string(e).unwrap());
        assert_eq!(decode_event(i, &ours).as_ref(), Ok(e));
    }
}

#[test]
fn messages_are_written_as_serde_json_writes_them() {
    let all = events();
    let messages = [
        ServerMessage::Hello(Hello {
            protocol: 1,
            session: "s\"1".into(),
            server: "user-trace-runtime 0.1".into(),
            limits: None,
        }),
        ServerMessage::Hello(Hello {
            protocol: 1,
            session: "s".into(),
            server: "r".into(),
            limits: Some(user_trace_protocol::Limits {
                max_message_bytes: 16 << 20,
                max_label_bytes: 4096,
                max_text_bytes: u64::MAX,
                max_json_bytes: 1,
                max_items: 0,
            }),
        }),
        ServerMessage::Events {
            first_seq: 7,
            events: all.clone(),
        },
        ServerMessage::Snapshot {
            seq: 0,
            events: vec![],
        },
        ServerMessage::SnapshotPart {
            seq: 0,
            part: 0,
            last: true,
            events: vec![],
        },
        ServerMessage::SnapshotPart {
            seq: 12,
            part: u32::MAX,
            last: false,
            events: all.clone(),
        },
        ServerMessage::Error {
            message: "bad\nthing".into(),
        },
    ];
    for m in &messages {
        assert_eq!(m.to_json(), serde_json::to_string(m).unwrap());
    }
    let Ok(ServerMessage::Events { first_seq, events }) = decode_server(&messages[2].to_json())
    else {
        panic!()
    };
    assert_eq!(first_seq, 7);
    assert_eq!(
        events.into_iter().collect::<Result<Vec<_>, _>>().unwrap(),
        all
    );

    // A snapshot cut into parts: the same messages as serde writes, the events in order.
    for bound in [1, 200, 1 << 20] {
        let parts: Vec<String> = snapshot_parts(12, &all, bound).collect();
        let mut rest = &all[..];
        for (i, text) in parts.iter().enumerate() {
            let Ok(ServerMessage::SnapshotPart { events, .. }) = decode_server(text) else {
                panic!("{text}")
            };
            let (these, after) = rest.split_at(events.len());
            let expected = ServerMessage::SnapshotPart {
                seq: 12,
                part: i as u32,
                last: i + 1 == parts.len(),
                events: these.to_vec(),
            };
            assert_eq!(*text, serde_json::to_string(&expected).unwrap());
            assert!(!these.is_empty(), "every part holds an event");
            rest = after;
        }
        assert!(rest.is_empty(), "every event is in a part");
        if bound == 1 {
            assert_eq!(parts.len(), all.len());
        }
        if bound == 1 << 20 {
            assert_eq!(parts.len(), 1);
        }
    }

    let producer = ProducerMessage::Events { events: all };
    assert_eq!(
        producer.to_json(),
        serde_json::to_string(&producer).unwrap()
    );

    for (session, last_seq, binary, parts) in [
        (None, None, false, false),
        (Some("s".to_owned()), Some(9), true, false),
        (None, Some(0), true, true),
        (None, None, false, true),
    ] {
        let m = PanelMessage::Subscribe {
            session,
            last_seq,
            binary,
            parts,
        };
        assert_eq!(m.to_json(), serde_json::to_string(&m).unwrap());
    }
}

/// PROTOCOL.md: JSON values are kept as the text sent, wherever they are (a `json` span, an
/// item's value, an error's details, an unknown kind's content, tool-call arguments): numbers
/// exactly as written, a repeated key kept with each of its members, in order. What the runtime
/// forwards is normalised only where the page says so: an `error` given as a string becomes
/// `{"message": …}`.
#[test]
fn forwarded_events_keep_json_as_sent_and_normalise_only_error_strings() {
    let exact = r#"{"n":12345678901234567890.000,"x":1e400,"k":1,"k":2}"#;
    let cases = [
        (
            format!(r#"{{"id":"e","process":"p","ts":1,"op":"span_create","trace":"t","span":"s","kind":"json","content":{exact}}}"#),
            exact.to_string(),
        ),
        (
            format!(r#"{{"id":"e","process":"p","ts":1,"op":"items_set","span":"s","items":[{{"name":"v","value":{exact}}}]}}"#),
            exact.to_string(),
        ),
        (
            format!(r#"{{"id":"e","process":"p","ts":1,"op":"span_create","trace":"t","span":"s","kind":"error","content":{{"message":"m","details":{exact}}}}}"#),
            exact.to_string(),
        ),
        (
            format!(r#"{{"id":"e","process":"p","ts":1,"op":"span_create","trace":"t","span":"s","kind":"chart","content":{exact}}}"#),
            exact.to_string(),
        ),
        (
            format!(r#"{{"id":"e","process":"p","ts":1,"op":"messages_add","span":"s","messages":[{{"role":"assistant","tool_calls":[{{"name":"f","arguments":{exact}}}]}}]}}"#),
            exact.to_string(),
        ),
        (
            r#"{"id":"e","process":"p","ts":1,"op":"span_create","trace":"t","span":"s","kind":"error","content":"boom"}"#.to_string(),
            r#""content":{"message":"boom"}"#.to_string(),
        ),
    ];
    for (sent, kept) in cases {
        let event = user_trace_protocol::decode_event(0, &sent)
            .unwrap_or_else(|e| panic!("{sent}: {}", e.reason));
        let mut forwarded = String::new();
        user_trace_protocol::writer::event(&mut forwarded, &event);
        assert!(
            forwarded.contains(&kept),
            "sent {sent}\nforwarded {forwarded}\nwhich lost {kept}"
        );
    }
}

#[test]
fn producer_replies_are_written_as_serde_json_writes_them() {
    use user_trace_protocol::{ProducerReply, Rejected};
    let replies = [
        ProducerReply::Hello(Hello {
            protocol: 1,
            session: "s\u{1}\"".into(),
            server: "r".into(),
            limits: Some(user_trace_protocol::Limits {
                max_message_bytes: 1,
                max_label_bytes: 2,
                max_text_bytes: 3,
                max_json_bytes: 4,
                max_items: 5,
            }),
        }),
        ProducerReply::Ack {
            accepted: 41,
            rejected: vec![],
        },
        ProducerReply::Ack {
            accepted: 0,
            rejected: vec![
                Rejected {
                    index: 3,
                    id: Some("agent-17".into()),
                    reason: "unknown span `s9`\n".into(),
                },
                Rejected {
                    index: usize::MAX,
                    id: None,
                    reason: String::new(),
                },
            ],
        },
        ProducerReply::Error {
            message: "too big: \u{2028}".into(),
            close: Some(1009),
        },
        ProducerReply::Error {
            message: String::new(),
            close: None,
        },
    ];
    for r in &replies {
        assert_eq!(r.to_json(), serde_json::to_string(r).unwrap());
        assert_eq!(
            &serde_json::from_str::<ProducerReply>(&r.to_json()).unwrap(),
            r
        );
    }
}

/// A `text_append` of `text` to span `span` (its size hint is the text's length and 130 bytes).
fn append(n: usize, text: &str) -> Event {
    Event {
        id: format!("e{n}"),
        process: "p".into(),
        ts: n as u64,
        op: Op::TextAppend {
            span: "s".into(),
            text: text.into(),
        },
    }
}

/// How many events each part of a snapshot of `all` in parts of `bound` bytes holds.
fn part_sizes(all: &[Event], bound: usize) -> Vec<usize> {
    snapshot_parts(1, all, bound)
        .map(|text| match decode_server(&text) {
            Ok(ServerMessage::SnapshotPart { events, .. }) => events.len(),
            _ => panic!("{text}"),
        })
        .collect()
}

#[test]
fn an_event_of_a_part_or_more_is_a_part_of_its_own() {
    let small = "x".repeat(100);
    let mut all: Vec<Event> = (0..4).map(|n| append(n, &small)).collect();
    all.push(append(4, &"y".repeat(1_000)));
    all.extend((5..8).map(|n| append(n, &small)));
    // Four small events (about 920 bytes) share a part, the one of a part's size or more is
    // alone, and the three after it share the next.
    assert_eq!(part_sizes(&all, 1_000), [4, 1, 3]);
    // Just under a part's size, it joins the part before it (which it takes over the bound).
    all[4] = append(4, &"y".repeat(600));
    assert_eq!(part_sizes(&all, 1_000), [5, 3]);
}

/// A long message's fragments end on character boundaries and make it whole; a character
/// longer than the limit goes whole.
#[test]
fn fragments_end_on_character_boundaries_and_make_the_text_whole() {
    use user_trace_protocol::writer::fragment_ends;
    // 'é' is two bytes and '€' three: a cut at 2 or 4 would split one.
    let text = "aéé€x";
    for max in 1..=text.len() {
        let ends = fragment_ends(text, max);
        let mut start = 0;
        for &end in &ends {
            assert!(end > start && end - start <= max.max(3), "{max}: {ends:?}");
            assert!(text.is_char_boundary(end), "{max}: {ends:?}");
            start = end;
        }
        assert_eq!(start, text.len(), "{max}: {ends:?}");
    }
    assert!(fragment_ends("", 4).is_empty());
    assert_eq!(fragment_ends("abcdef", 3), vec![3, 6]);
    assert_eq!(fragment_ends("abcdefg", 3), vec![3, 6, 7]);
}
