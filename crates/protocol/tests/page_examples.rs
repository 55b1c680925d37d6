//! Every example message in docs/PROTOCOL.md is valid against the checked-in JSON Schemas and
//! reads with the protocol's own decoder: the page, the schemas and the code cannot drift apart
//! without this failing. Each section listed in `SECTIONS_WITH_EXAMPLES` must keep at least one.

use std::path::Path;

use serde_json::{json, Value};

/// Sections (headings as written, without the `#`s) that must show at least one example.
const SECTIONS_WITH_EXAMPLES: &[&str] = &[
    "`trace_start`",
    "`span_create`",
    "`text_append`",
    "`content_replace`",
    "`items_set`, `items_add`",
    "Conversations: `messages_add`, `message_append` (1.1)",
    "Streaming JSON: `json_append` (1.1)",
    "`span_end`, `trace_end`",
    "`clear`",
    "Producer ↔ server",
    "Server ↔ panel",
];

struct Example {
    section: String,
    value: Value,
}

/// The JSON objects written in the page, in inline code or fenced blocks, by section. Text that is
/// not JSON (`{"type":"events","events":[event, …]}`) is prose, not an example.
fn examples(page: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut fence: Option<String> = None;
    for line in page.lines() {
        if let Some(block) = fence.as_mut() {
            if line.starts_with("```") {
                if let Ok(value) = serde_json::from_str::<Value>(block) {
                    out.push(Example {
                        section: section.clone(),
                        value,
                    });
                }
                fence = None;
            } else {
                block.push_str(line);
                block.push('\n');
            }
            continue;
        }
        if line.starts_with("```") {
            fence = Some(String::new());
            continue;
        }
        if line.starts_with('#') {
            section = line.trim_start_matches('#').trim().to_string();
            continue;
        }
        for (i, code) in line.split('`').enumerate() {
            // Odd pieces are inside backticks.
            if i % 2 == 1 && code.starts_with('{') {
                if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(code) {
                    out.push(Example {
                        section: section.clone(),
                        value,
                    });
                }
            }
        }
    }
    out
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("read schema");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// An event example shows only its op's fields; the page says every event also has these.
fn as_event(mut value: Value) -> Value {
    if let Value::Object(fields) = &mut value {
        fields.entry("id").or_insert(json!("e1"));
        fields.entry("process").or_insert(json!("agent@host:1"));
        fields
            .entry("ts")
            .or_insert(json!(1_700_000_000_000_000u64));
    }
    value
}

/// Checks one example; `Err` says why it fails.
fn check(example: &Value, schemas: &Schemas) -> Result<(), String> {
    if example.get("op").is_some() {
        let event = as_event(example.clone());
        if let Some(error) = schemas.event.iter_errors(&event).next() {
            return Err(format!("not valid against event.schema.json: {error}"));
        }
        let text = event.to_string();
        return user_trace_protocol::decode_event(0, &text)
            .map(|_| ())
            .map_err(|e| format!("the decoder refuses it: {}", e.reason));
    }
    if example.get("type").is_some() {
        let text = example.to_string();
        // A message is valid if one side's schema and decoder both take it.
        let sides = [
            (
                &schemas.server,
                user_trace_protocol::decode_server(&text).is_ok(),
            ),
            (
                &schemas.panel,
                user_trace_protocol::decode_panel(&text).is_ok(),
            ),
            (
                &schemas.producer,
                user_trace_protocol::decode_producer(&text).is_ok(),
            ),
            // Replies to producers are read by the SDKs with serde.
            (
                &schemas.reply,
                serde_json::from_str::<user_trace_protocol::ProducerReply>(&text).is_ok(),
            ),
        ];
        return if sides
            .iter()
            .any(|(schema, decodes)| *decodes && schema.is_valid(example))
        {
            Ok(())
        } else {
            Err("no side's schema and decoder both take it".to_string())
        };
    }
    if example.get("role").is_some() {
        // A message of a conversation: checked inside a `messages_add` event.
        let event = as_event(json!({"op": "messages_add", "span": "c1", "messages": [example]}));
        if let Some(error) = schemas.event.iter_errors(&event).next() {
            return Err(format!("as a message of `messages_add`: {error}"));
        }
        return user_trace_protocol::decode_event(0, &event.to_string())
            .map(|_| ())
            .map_err(|e| format!("the decoder refuses it in `messages_add`: {}", e.reason));
    }
    Err("neither an event (`op`), a message (`type`) nor a conversation message (`role`)".into())
}

struct Schemas {
    event: jsonschema::Validator,
    server: jsonschema::Validator,
    panel: jsonschema::Validator,
    producer: jsonschema::Validator,
    reply: jsonschema::Validator,
}

fn schemas() -> Schemas {
    Schemas {
        event: schema("event.schema.json"),
        server: schema("server-message.schema.json"),
        panel: schema("panel-message.schema.json"),
        producer: schema("producer-message.schema.json"),
        reply: schema("producer-reply.schema.json"),
    }
}

fn page() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/PROTOCOL.md");
    std::fs::read_to_string(path).expect("read docs/PROTOCOL.md")
}

#[test]
fn every_example_on_the_page_is_valid_and_decodes() {
    let schemas = schemas();
    let found = examples(&page());
    let failures: Vec<String> = found
        .iter()
        .filter_map(|ex| {
            check(&ex.value, &schemas)
                .err()
                .map(|why| format!("[{}] {}: {why}", ex.section, ex.value))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "PROTOCOL.md examples that fail:\n{}",
        failures.join("\n")
    );
    for section in SECTIONS_WITH_EXAMPLES {
        assert!(
            found.iter().any(|ex| ex.section == *section),
            "PROTOCOL.md section `{section}` has no example message any more"
        );
    }
}

/// The checker itself: near-miss examples the page must never show are refused.
#[test]
fn the_checker_refuses_near_misses() {
    let schemas = schemas();
    for bad in [
        json!({"op": "span_create", "trace": "t1", "span": "s1"}), // no kind
        json!({"op": "span_end", "span": "s1", "status": "error"}), // error without a message
        json!({"op": "text_append", "span": "s1", "text": 7}),
        json!({"op": "trace_begin", "trace": "t1", "name": "x"}),
        json!({"type": "subscribe", "last_seq": "12"}),
        json!({"type": "hello", "session": "s"}),
        json!({"role": "", "content": "hi"}),
        json!({"name": "no op, no type"}),
    ] {
        assert!(check(&bad, &schemas).is_err(), "accepted {bad}");
    }
    // Defaults the page promises: no content, no status.
    for good in [
        json!({"op": "span_create", "trace": "t1", "span": "s1", "kind": "text"}),
        json!({"op": "span_end", "span": "s1"}),
        json!({"op": "trace_end", "trace": "t1"}),
    ] {
        check(&good, &schemas).unwrap_or_else(|why| panic!("{good}: {why}"));
    }
}
