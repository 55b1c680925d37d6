//! Protocol 1.1: `messages` spans (conversations), `messages_add`, `message_append`, and JSON
//! streamed in pieces with `json_append`.

use user_trace_protocol::{
    decode_event, Content, Message, MessageContent, Op, Part, RawJson, SpanKind, ToolCall,
};

fn op(line: &str) -> Op {
    decode_event(0, line)
        .unwrap_or_else(|e| panic!("{line}: {}", e.reason))
        .op
}

fn refused(line: &str) -> String {
    decode_event(0, line).unwrap_err().reason
}

const HEAD: &str = r#""id":"e","process":"p","ts":1"#;

#[test]
fn a_conversation_reads_roles_text_parts_names_tool_calls_and_results() {
    let line = format!(
        r#"{{{HEAD},"op":"span_create","trace":"t","span":"c","kind":"messages","content":[
            {{"role":"system","content":"Be brief."}},
            {{"role":"user","name":"ana","content":[{{"type":"text","text":"What is 2+2?"}},{{"type":"image_url","image_url":{{"url":"x.png"}}}},"plain"]}},
            {{"role":"assistant","content":null,"tool_calls":[{{"id":"call_1","name":"calc","arguments":{{"expr":"2+2","digits":1.50}}}},{{"name":"noop"}}]}},
            {{"role":"tool","tool_call_id":"call_1","content":"4","unknown":[1]}},
            {{"role":"critic","content":"fine"}}
        ]}}"#
    );
    let Op::SpanCreate { kind, content, .. } = op(&line) else {
        panic!()
    };
    assert_eq!(kind, SpanKind::Messages);
    let Content::Messages(m) = content else {
        panic!()
    };
    assert_eq!(m.len(), 5);
    assert_eq!(m[0], Message::text("system", "Be brief."));
    assert_eq!(m[1].name.as_deref(), Some("ana"));
    let MessageContent::Parts(parts) = &m[1].content else {
        panic!()
    };
    assert_eq!(parts[0], Part::Text("What is 2+2?".into()));
    let Part::Other(image) = &parts[1] else {
        panic!()
    };
    assert_eq!(
        image.get(),
        r#"{"type":"image_url","image_url":{"url":"x.png"}}"#
    );
    assert_eq!(parts[2], Part::Text("plain".into()));
    assert_eq!(m[2].content, MessageContent::Text(String::new()));
    assert_eq!(
        m[2].tool_calls,
        [
            ToolCall {
                id: Some("call_1".into()),
                name: "calc".into(),
                // Exactly as sent: key order and number text.
                arguments: RawJson::from_string(r#"{"expr":"2+2","digits":1.50}"#.into()).unwrap(),
            },
            ToolCall {
                id: None,
                name: "noop".into(),
                arguments: RawJson::null(),
            },
        ]
    );
    assert_eq!(m[3].tool_call_id.as_deref(), Some("call_1"));
    // A role the protocol does not name is kept (shown neutrally).
    assert_eq!(m[4].role, "critic");
}

#[test]
fn messages_are_added_and_the_last_one_streamed() {
    let add = op(&format!(
        r#"{{{HEAD},"op":"messages_add","span":"c","messages":[{{"role":"assistant"}}]}}"#
    ));
    assert_eq!(
        add,
        Op::MessagesAdd {
            span: "c".into(),
            messages: vec![Message::text("assistant", "")],
        }
    );
    let append = op(&format!(
        r#"{{{HEAD},"op":"message_append","span":"c","text":"Hel"}}"#
    ));
    assert_eq!(
        append,
        Op::MessageAppend {
            span: "c".into(),
            text: "Hel".into()
        }
    );
    // Appending grows the text, or the last text part, or adds a text part after another.
    let mut m = Message::text("assistant", "Hel");
    assert_eq!(m.append("lo"), 3);
    assert_eq!(m.last_text(), Some("Hello"));
    m.content = MessageContent::Parts(vec![Part::Other(RawJson::null())]);
    assert_eq!(m.last_text(), None);
    assert_eq!(m.append("a"), 0);
    assert_eq!(m.append("b"), 1);
    assert_eq!(m.last_text(), Some("ab"));
}

#[test]
fn a_bad_message_says_which_and_why() {
    for (line, reason) in [
        (
            r#""op":"messages_add","span":"c","messages":[{"content":"x"}]"#,
            "`messages`: `message 0`: missing field `role`",
        ),
        (
            r#""op":"messages_add","span":"c","messages":[{"role":"user"},{"role":""}]"#,
            "`messages`: `message 1`: `role` must not be empty",
        ),
        (
            r#""op":"messages_add","span":"c","messages":[{"role":"user","content":7}]"#,
            "`messages`: `message 0`: `content (a string or an array of parts)`: expected a string, found a number",
        ),
        (
            r#""op":"messages_add","span":"c","messages":[{"role":"user","content":[7]}]"#,
            "`messages`: `message 0`: `content`: expected a part (an object or a string), found a number",
        ),
        (
            r#""op":"messages_add","span":"c","messages":[{"role":"assistant","tool_calls":[{"id":"x"}]}]"#,
            "`messages`: `message 0`: `tool_calls`: a tool call needs the field `name`",
        ),
        (
            r#""op":"messages_add","span":"c""#,
            "`messages_add` needs the field `messages`",
        ),
        (
            r#""op":"message_append","span":"c""#,
            "`message_append` needs the field `text`",
        ),
        (
            r#""op":"json_append","span":"j","text":"[","done":"yes""#,
            "`done`: expected a boolean, found a string",
        ),
    ] {
        let line = format!("{{{HEAD},{line}}}");
        assert_eq!(refused(&line), reason, "{line}");
    }
    let bad_content = format!(
        r#"{{{HEAD},"op":"span_create","trace":"t","span":"c","kind":"messages","content":{{"role":"user"}}}}"#
    );
    assert!(refused(&bad_content).starts_with(
        "content of a `messages` span must be an array of messages {role, content?, ...}: expected an array"
    ));
}

#[test]
fn json_is_streamed_as_text_pieces_and_done_says_it_is_complete() {
    assert_eq!(
        op(&format!(
            r#"{{{HEAD},"op":"json_append","span":"j","text":"{{\"a\": [1, "}}"#
        )),
        Op::JsonAppend {
            span: "j".into(),
            text: "{\"a\": [1, ".into(),
            done: false
        }
    );
    assert_eq!(
        op(&format!(
            r#"{{{HEAD},"op":"json_append","span":"j","text":"2]}}","done":true}}"#
        )),
        Op::JsonAppend {
            span: "j".into(),
            text: "2]}".into(),
            done: true
        }
    );
    // Written back as it was read.
    let e = decode_event(
        0,
        &format!(r#"{{{HEAD},"op":"json_append","span":"j","text":"x","done":true}}"#),
    )
    .unwrap();
    assert_eq!(
        e.to_json(),
        r#"{"id":"e","process":"p","ts":1,"op":"json_append","span":"j","text":"x","done":true}"#
    );
}
