//! The GenAI conventions read as a person wants them: the conversation as one `messages` span
//! (roles, names, text or parts, tool calls with their JSON arguments, tool results), the other
//! inputs and outputs (a plain `input.value`, a tool call's arguments and result) as text or
//! JSON spans, and the model, token usage and finish reasons as the first items of the
//! attributes.
//!
//! Read here (see docs/OTEL.md for the table):
//! - OpenTelemetry GenAI: `gen_ai.input.messages`, `gen_ai.output.messages`,
//!   `gen_ai.system_instructions` (JSON, as a string or as a structured value), the older
//!   indexed `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` (OpenLLMetry), the older plain
//!   `gen_ai.prompt` / `gen_ai.completion`, and `gen_ai.tool.call.arguments` / `.result`;
//! - OpenInference: `llm.input_messages.N.message.*`, `llm.output_messages.N.message.*`,
//!   `input.value`, `output.value` (messages when they hold a message list and nothing else
//!   gave that side's conversation);
//! - OpenLLMetry's `traceloop.entity.input` / `traceloop.entity.output`.
//!
//! An attribute meant to hold messages that does not read as them (broken JSON, a list of
//! numbers) is shown whole as text, its title saying why: nothing is lost. A message without a
//! role reads as [`NO_ROLE`]; a role the protocol does not name is kept as it is.
//!
//! JSON is read with the protocol's reader, which does not recurse; the nesting followed here
//! is fixed (messages, their parts, a tool call's function), deeper values are kept as sent.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use user_trace_protocol::reader::{array_elements, decode_string, validate, Reader};
use user_trace_protocol::{Item, Message, MessageContent, RawJson, ReadError, ToolCall};

use super::json;

/// A part of a message's content (the protocol's).
type Piece = user_trace_protocol::Part;

/// Most message parts (other than the conversation) shown for one side of one span; the rest
/// are counted in a last part.
pub const MAX_PARTS: usize = 1000;
/// Most messages shown for one side of one span; the rest are counted in a last message.
pub const MAX_MESSAGES: usize = 10_000;
/// The role of a message that names none.
pub const NO_ROLE: &str = "(no role)";
/// The role of the last message when some were not shown.
pub const MORE_ROLE: &str = "(not shown)";
/// The name of a tool call that names no tool.
pub const NO_TOOL: &str = "(unnamed tool)";

/// What a part shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text(String),
    Json(RawJson),
}

/// A span of its own beside the conversation: a plain input or output value, a tool call's
/// arguments or result, or an attribute that should have held messages and did not.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub title: String,
    pub body: Body,
}

/// What the GenAI reading found in a span's attributes.
#[derive(Debug, Default)]
pub struct GenAi {
    /// The conversation's messages given as the span's input (the prompt, with the system
    /// instructions first).
    pub input_messages: Vec<Message>,
    /// The conversation's messages given as the span's output (the completion).
    pub output_messages: Vec<Message>,
    /// Other parts shown at the span's start: the input value, the tool call's arguments.
    pub input: Vec<Part>,
    /// Other parts shown at the span's end: the output value, the tool's result.
    pub output: Vec<Part>,
    /// Model, usage, finish reasons: the first items of the attributes span.
    pub summary: Vec<Item>,
    /// For each attribute, whether it is shown above (and so not listed again as an item).
    pub consumed: Vec<bool>,
}

impl GenAi {
    fn messages(&mut self, side: Side) -> &mut Vec<Message> {
        match side {
            Side::Input => &mut self.input_messages,
            Side::Output => &mut self.output_messages,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Side {
    Input,
    Output,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Input => "input",
            Side::Output => "output",
        }
    }
}

/// The summary's items: (label, attribute keys in the order of preference).
const SUMMARY: &[(&str, &[&str])] = &[
    ("operation", &["gen_ai.operation.name"]),
    (
        "provider",
        &[
            "gen_ai.provider.name",
            "gen_ai.system",
            "llm.provider",
            "llm.system",
        ],
    ),
    (
        "model",
        &[
            "gen_ai.response.model",
            "gen_ai.request.model",
            "llm.model_name",
        ],
    ),
    ("requested model", &["gen_ai.request.model"]),
    ("tool", &["gen_ai.tool.name", "tool.name"]),
    ("tool call id", &["gen_ai.tool.call.id"]),
    (
        "input tokens",
        &[
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        ],
    ),
    (
        "output tokens",
        &[
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        ],
    ),
    (
        "total tokens",
        &["gen_ai.usage.total_tokens", "llm.token_count.total"],
    ),
    ("finish reasons", &["gen_ai.response.finish_reasons"]),
    ("response id", &["gen_ai.response.id"]),
];

/// Reads the GenAI conventions out of a span's attributes.
pub fn read(attrs: &[KeyValue]) -> GenAi {
    let mut g = GenAi {
        consumed: vec![false; attrs.len()],
        ..GenAi::default()
    };
    summary(attrs, &mut g);
    let mut flat: BTreeMap<(Side, u8, u32), Flat<'_>> = BTreeMap::new();
    let mut system: Vec<Message> = Vec::new();
    let mut values: Vec<(Side, Option<&AnyValue>)> = Vec::new();
    let mut finish: Vec<String> = Vec::new();
    for (i, kv) in attrs.iter().enumerate() {
        let key = kv.key.as_str();
        let v = kv.value.as_ref();
        let done = match key {
            "gen_ai.system_instructions" => {
                if let Some(m) = system_instructions(key, v, &mut g) {
                    system.push(m);
                }
                true
            }
            "gen_ai.input.messages" | "gen_ai.prompt" => {
                messages_attr(key, v, Side::Input, &mut g, &mut finish)
            }
            "gen_ai.output.messages" | "gen_ai.completion" => {
                messages_attr(key, v, Side::Output, &mut g, &mut finish)
            }
            // Read once the other sources are known: see below.
            "input.value" => {
                values.push((Side::Input, v));
                true
            }
            "output.value" => {
                values.push((Side::Output, v));
                true
            }
            "llm.prompts" => value_part(v, Side::Input, "prompts", None, &mut g),
            "traceloop.entity.input" => value_part(v, Side::Input, "input", None, &mut g),
            "traceloop.entity.output" => value_part(v, Side::Output, "output", None, &mut g),
            "gen_ai.tool.call.arguments" => {
                value_part(v, Side::Input, "tool call arguments", None, &mut g)
            }
            "gen_ai.tool.call.result" => {
                value_part(v, Side::Output, "tool call result", None, &mut g)
            }
            "input.mime_type" | "output.mime_type" => true,
            _ => flat_entry(key, v, &mut flat),
        };
        if done {
            g.consumed[i] = true;
        }
    }
    for ((side, _, _), m) in flat {
        let message = m.message(&mut finish);
        g.messages(side).push(message);
    }
    // OpenInference's values often repeat the request and response its indexed messages give
    // (`{"messages": [...], "model": ...}`): they are the conversation only when they hold a
    // message list and nothing else gave that side's; else a part of their own.
    let mime_of = |key: &str| {
        attrs
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| string_of(kv.value.as_ref()))
    };
    for (side, v) in values {
        if g.messages(side).is_empty() {
            let mut found = Vec::new();
            let mut reasons = Vec::new();
            if read_messages(&json_text(v), true, &mut found, &mut reasons).is_ok() {
                g.messages(side).extend(found);
                finish.extend(reasons);
                continue;
            }
        }
        let mime = mime_of(&format!("{}.mime_type", side.name()));
        value_part(v, side, side.name(), mime, &mut g);
    }
    if !system.is_empty() {
        system.append(&mut g.input_messages);
        g.input_messages = system;
    }
    if !finish.is_empty() && !g.summary.iter().any(|i| i.name == "finish reasons") {
        // Beside the other summary items that say how the call ended.
        let at = g
            .summary
            .iter()
            .position(|i| i.name == "response id" || i.name.starts_with("usage "))
            .unwrap_or(g.summary.len());
        g.summary.insert(
            at,
            Item {
                name: "finish reasons".into(),
                value: RawJson::from_value(&finish),
            },
        );
    }
    for messages in [&mut g.input_messages, &mut g.output_messages] {
        if messages.len() > MAX_MESSAGES {
            let more = messages.len() - MAX_MESSAGES;
            messages.truncate(MAX_MESSAGES);
            messages.push(Message::text(
                MORE_ROLE,
                &format!("{more} more messages not shown"),
            ));
        }
    }
    for parts in [&mut g.input, &mut g.output] {
        if parts.len() > MAX_PARTS {
            let more = parts.len() - MAX_PARTS;
            parts.truncate(MAX_PARTS);
            parts.push(Part {
                title: "more".into(),
                body: Body::Text(format!("{more} more parts not shown")),
            });
        }
    }
    g
}

fn summary(attrs: &[KeyValue], g: &mut GenAi) {
    let find = |key: &str| attrs.iter().position(|kv| kv.key == key);
    let mut shown_model: Option<usize> = None;
    for (label, keys) in SUMMARY {
        let Some(i) = keys.iter().find_map(|k| find(k)) else {
            continue;
        };
        if *label == "requested model" {
            // Only when the response names another model than the request did.
            let same = shown_model.is_some_and(|m| attrs[m].value == attrs[i].value);
            if shown_model == Some(i) || same {
                g.consumed[i] = true;
                continue;
            }
        }
        if *label == "model" {
            shown_model = Some(i);
        }
        g.consumed[i] = true;
        g.summary.push(Item {
            name: (*label).into(),
            value: json::value(attrs[i].value.as_ref()),
        });
        // The other spellings of the same item are not listed again.
        for k in keys.iter() {
            if let Some(j) = find(k) {
                if attrs[j].value == attrs[i].value {
                    g.consumed[j] = true;
                }
            }
        }
    }
    // Other usage counters (cached tokens, reasoning tokens, ...) keep their own names.
    for (i, kv) in attrs.iter().enumerate() {
        if let Some(rest) = kv.key.strip_prefix("gen_ai.usage.") {
            if !g.consumed[i] {
                g.consumed[i] = true;
                g.summary.push(Item {
                    name: format!("usage {rest}"),
                    value: json::value(kv.value.as_ref()),
                });
            }
        }
    }
}

/// The text of a string attribute.
fn string_of(v: Option<&AnyValue>) -> Option<&str> {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// A JSON text of any attribute value: a string as it is (it may hold JSON), else the value.
fn json_text(v: Option<&AnyValue>) -> std::borrow::Cow<'_, str> {
    match string_of(v) {
        Some(s) => s.into(),
        None => {
            let mut out = String::new();
            if let Some(v) = v {
                json::any_value(&mut out, v);
            }
            out.into()
        }
    }
}

/// A plain value shown as one part: JSON when it holds an object or array (or is declared
/// JSON), else text.
fn value_part(
    v: Option<&AnyValue>,
    side: Side,
    title: &str,
    mime: Option<&str>,
    g: &mut GenAi,
) -> bool {
    let body = match string_of(v) {
        Some(s) => match json::embedded(s) {
            Some(j) => Body::Json(j),
            None if mime.is_some_and(|m| m.contains("json")) => {
                match RawJson::from_string(s.to_owned()) {
                    Ok(j) => Body::Json(j),
                    Err(_) => Body::Text(s.to_owned()),
                }
            }
            None => Body::Text(s.to_owned()),
        },
        None => Body::Json(json::value(v)),
    };
    push(g, side, title.to_owned(), body);
    true
}

fn push(g: &mut GenAi, side: Side, title: String, body: Body) {
    let parts = match side {
        Side::Input => &mut g.input,
        Side::Output => &mut g.output,
    };
    parts.push(Part { title, body });
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// An attribute meant to hold messages that does not: its text whole, titled with why.
fn unreadable(g: &mut GenAi, side: Side, key: &str, text: String, e: &ReadError) {
    let title = format!("{} (not read as messages: {e})", clip(key, 128));
    push(g, side, title, Body::Text(text));
}

/// `gen_ai.input.messages` and the like: a message list (or one message) as messages. The
/// older `gen_ai.prompt` / `gen_ai.completion` may be plain text: a part of its own.
fn messages_attr(
    key: &str,
    v: Option<&AnyValue>,
    side: Side,
    g: &mut GenAi,
    finish: &mut Vec<String>,
) -> bool {
    let text = json_text(v);
    let legacy = matches!(key, "gen_ai.prompt" | "gen_ai.completion");
    if legacy && !text.trim_start().starts_with(['[', '{']) {
        push(
            g,
            side,
            side.name().to_owned(),
            Body::Text(text.into_owned()),
        );
        return true;
    }
    let mut found = Vec::new();
    match read_messages(&text, false, &mut found, finish) {
        Ok(()) => g.messages(side).extend(found),
        Err(e) => unreadable(g, side, key, text.into_owned(), &e),
    }
    true
}

/// `gen_ai.system_instructions`: a list of parts (or a string) as one `system` message.
fn system_instructions(key: &str, v: Option<&AnyValue>, g: &mut GenAi) -> Option<Message> {
    let text = json_text(v);
    let t = text.trim();
    let mut m = Message::text("system", "");
    let mut parts = Vec::new();
    let read = if t.starts_with(['[', '{', '"']) {
        validate(t).and_then(|()| content_into(t, &mut m, &mut parts))
    } else {
        parts.push(Piece::Text(text.to_string()));
        Ok(())
    };
    match read {
        Ok(()) => {
            m.content = content_of(parts);
            Some(m)
        }
        Err(e) => {
            unreadable(g, Side::Input, key, text.into_owned(), &e);
            None
        }
    }
}

/// A message list (`[{…}, …]`) or one message object, appended to `out`; the finish reasons
/// the messages carry to `finish`. `strict`: a message must name its role (for values that
/// may hold anything, so that `{"query": "x"}` is not read as a message).
fn read_messages(
    text: &str,
    strict: bool,
    out: &mut Vec<Message>,
    finish: &mut Vec<String>,
) -> Result<(), ReadError> {
    validate(text)?;
    let t = text.trim();
    if t.starts_with('{') {
        out.push(read_message(t, strict, finish)?);
        return Ok(());
    }
    if !t.starts_with('[') {
        return Err(Reader::new(t).expected("a list of messages"));
    }
    let elements = array_elements(t)?;
    if strict && elements.is_empty() {
        return Err(Reader::new(t).error("no messages"));
    }
    for (i, m) in elements.into_iter().enumerate() {
        out.push(read_message(m, strict, finish).map_err(|e| e.in_field(&format!("message {i}")))?);
    }
    Ok(())
}

const MESSAGE: &[&str] = &[
    "role",
    "name",
    "content",
    "parts",
    "tool_calls",
    "tool_call_id",
    "finish_reason",
];

/// One message object: `role`, `name`, and `parts` (the current GenAI shape) or `content` (a
/// string or a list of parts) with OpenAI-style `tool_calls`, `tool_call_id` and
/// `finish_reason`. Unknown fields are skipped.
fn read_message(text: &str, strict: bool, finish: &mut Vec<String>) -> Result<Message, ReadError> {
    let mut f = [None; 7];
    Reader::new(text).fields(MESSAGE, &mut f)?;
    let role = match opt_string(f[0]).map_err(|e| e.in_field("role"))? {
        Some(role) if !role.is_empty() => role,
        _ if strict => return Err(Reader::new(text).error("a message needs a `role`")),
        _ => NO_ROLE.to_owned(),
    };
    let mut m = Message {
        role,
        name: opt_string(f[1]).map_err(|e| e.in_field("name"))?,
        content: MessageContent::default(),
        tool_calls: Vec::new(),
        tool_call_id: opt_string(f[5]).map_err(|e| e.in_field("tool_call_id"))?,
    };
    if let Some(reason) = opt_string(f[6]).map_err(|e| e.in_field("finish_reason"))? {
        finish.push(reason);
    }
    let mut parts = Vec::new();
    for (raw, field) in [(f[3], "parts"), (f[2], "content")] {
        if let Some(raw) = raw {
            content_into(raw, &mut m, &mut parts).map_err(|e| e.in_field(field))?;
        }
    }
    if let Some(calls) = f[4].filter(|t| *t != "null") {
        for call in array_elements(calls).map_err(|e| e.in_field("tool_calls"))? {
            m.tool_calls
                .push(read_call(call).map_err(|e| e.in_field("tool_calls"))?);
        }
    }
    m.content = content_of(parts);
    Ok(m)
}

/// A string field's text (`null` or absent: none).
fn opt_string(raw: Option<&str>) -> Result<Option<String>, ReadError> {
    match raw {
        None | Some("null") => Ok(None),
        Some(t) if t.starts_with('"') => decode_string(t).map(Some),
        Some(t) => Err(Reader::new(t).expected("a string")),
    }
}

/// Whether a message is a tool's result (its content is then shown as JSON when it is).
fn is_result(m: &Message) -> bool {
    m.role == "tool" || m.tool_call_id.is_some()
}

/// A message's `content` or `parts` (validated JSON): text, a list of parts, one part object.
fn content_into(raw: &str, m: &mut Message, parts: &mut Vec<Piece>) -> Result<(), ReadError> {
    match raw.as_bytes().first() {
        Some(b'n') => {}
        Some(b'[') => {
            for p in array_elements(raw)? {
                part_into(p, m, parts)?;
            }
        }
        Some(b'"') if is_result(m) => parts.push(result_piece(raw)?),
        Some(b'"' | b'{') => part_into(raw, m, parts)?,
        // A number or a boolean, as written.
        _ => parts.push(Piece::Text(raw.to_owned())),
    }
    Ok(())
}

const PART: &[&str] = &[
    "type",
    "content",
    "text",
    "id",
    "name",
    "arguments",
    "response",
    "result",
    "call_id",
    "output",
];

/// One part: `{type: "text", content}` (GenAI) or `{type: "text", text}` (OpenAI) as text,
/// `{type: "tool_call", id, name, arguments}` as a tool call of the message,
/// `{type: "tool_call_response", id, response}` as the result it holds; any other part as the
/// object it is (an image, reasoning, a file), shown as JSON.
fn part_into(raw: &str, m: &mut Message, parts: &mut Vec<Piece>) -> Result<(), ReadError> {
    match raw.as_bytes().first() {
        Some(b'"') => {
            parts.push(Piece::Text(decode_string(raw)?));
            return Ok(());
        }
        Some(b'{') => {}
        _ => {
            parts.push(Piece::Text(raw.to_owned()));
            return Ok(());
        }
    }
    let mut f = [None; 10];
    Reader::new(raw).fields(PART, &mut f)?;
    let kind = opt_string(f[0]).ok().flatten().unwrap_or_default();
    match kind.as_str() {
        "tool_call" | "function_call" | "tool_use" => m.tool_calls.push(ToolCall {
            id: opt_string(f[3].or(f[8]))?,
            name: opt_string(f[4])?.unwrap_or_else(|| NO_TOOL.to_owned()),
            arguments: arguments(f[5]),
        }),
        "tool_call_response" | "tool_result" | "function_call_output" => {
            if m.tool_call_id.is_none() {
                m.tool_call_id = opt_string(f[3].or(f[8]))?;
            }
            if let Some(body) = f[6].or(f[7]).or(f[9]).or(f[1]).or(f[2]) {
                parts.push(result_piece(body)?);
            }
        }
        "text" | "" => match f[1].or(f[2]) {
            Some(t) if t.starts_with('"') => parts.push(Piece::Text(decode_string(t)?)),
            _ => parts.push(Piece::Other(RawJson::try_from_str(raw)?)),
        },
        _ => parts.push(Piece::Other(RawJson::try_from_str(raw)?)),
    }
    Ok(())
}

/// A tool's result (validated JSON): an object, or a string holding one, as JSON; other text
/// as text. (A part is an object or text on the wire, so a list stays its JSON text.)
fn result_piece(raw: &str) -> Result<Piece, ReadError> {
    Ok(match raw.as_bytes().first() {
        Some(b'"') => result_text(&decode_string(raw)?),
        Some(b'{') => Piece::Other(RawJson::try_from_str(raw)?),
        _ => Piece::Text(raw.to_owned()),
    })
}

fn result_text(s: &str) -> Piece {
    match json::embedded(s) {
        Some(j) if j.get().starts_with('{') => Piece::Other(j),
        _ => Piece::Text(s.to_owned()),
    }
}

/// A tool call's arguments as JSON: an object as it is, a string holding JSON as that JSON,
/// other text as a JSON string.
fn arguments(raw: Option<&str>) -> RawJson {
    match raw {
        None => RawJson::null(),
        Some(t) if t.starts_with('"') => match decode_string(t) {
            Ok(s) => arguments_text(&s),
            Err(_) => RawJson::null(),
        },
        Some(t) => RawJson::try_from_str(t).unwrap_or_else(|_| RawJson::null()),
    }
}

fn arguments_text(s: &str) -> RawJson {
    RawJson::try_from_str(s).unwrap_or_else(|_| RawJson::from_value(s))
}

/// Parts as a message's content: one text part is plain text.
fn content_of(mut parts: Vec<Piece>) -> MessageContent {
    if let [Piece::Text(_)] = parts.as_slice() {
        if let Some(Piece::Text(t)) = parts.pop() {
            return MessageContent::Text(t);
        }
    }
    if parts.is_empty() {
        return MessageContent::default();
    }
    MessageContent::Parts(parts)
}

const CALL: &[&str] = &["id", "name", "arguments", "function"];

/// An OpenAI-style tool call: `{id, type, function: {name, arguments}}` (or `name` and
/// `arguments` at the top).
fn read_call(raw: &str) -> Result<ToolCall, ReadError> {
    let mut f = [None; 4];
    Reader::new(raw).fields(CALL, &mut f)?;
    let (mut name, mut args) = (f[1], f[2]);
    if let Some(function) = f[3].filter(|t| t.starts_with('{')) {
        let mut g = [None; 2];
        Reader::new(function).fields(&["name", "arguments"], &mut g)?;
        name = g[0].or(name);
        args = g[1].or(args);
    }
    Ok(ToolCall {
        id: opt_string(f[0]).map_err(|e| e.in_field("id"))?,
        name: opt_string(name)
            .map_err(|e| e.in_field("name"))?
            .unwrap_or_else(|| NO_TOOL.to_owned()),
        arguments: arguments(args),
    })
}

/// A message spread over indexed attributes (`gen_ai.prompt.0.role`, ...).
#[derive(Default)]
struct Flat<'a> {
    role: Option<&'a str>,
    name: Option<&'a str>,
    content: Option<&'a AnyValue>,
    /// OpenInference's `contents.K.message_content.<field>`: for each K, its fields.
    contents: BTreeMap<u32, Vec<(&'a str, &'a AnyValue)>>,
    tool_call_id: Option<&'a str>,
    finish_reason: Option<&'a str>,
    calls: BTreeMap<u32, FlatCall<'a>>,
}

#[derive(Default)]
struct FlatCall<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
    arguments: Option<&'a AnyValue>,
}

/// The indexed conventions: (prefix, side, its rank among conventions).
const FLAT: &[(&str, Side, u8)] = &[
    ("gen_ai.prompt.", Side::Input, 0),
    ("gen_ai.completion.", Side::Output, 0),
    ("llm.input_messages.", Side::Input, 1),
    ("llm.output_messages.", Side::Output, 1),
];

/// `N.rest` → (N, rest).
fn index(key: &str) -> Option<(u32, &str)> {
    let (n, rest) = key.split_once('.')?;
    Some((n.parse().ok()?, rest))
}

/// Files an indexed attribute under its message; whether it was one. Messages are shown in
/// index order; a missing index leaves no gap.
fn flat_entry<'a>(
    key: &'a str,
    v: Option<&'a AnyValue>,
    flat: &mut BTreeMap<(Side, u8, u32), Flat<'a>>,
) -> bool {
    let Some((rest, side, rank)) = FLAT
        .iter()
        .find_map(|(p, side, rank)| key.strip_prefix(p).map(|r| (r, *side, *rank)))
    else {
        return false;
    };
    let Some((n, field)) = index(rest) else {
        return false;
    };
    let field = field.strip_prefix("message.").unwrap_or(field);
    let s = string_of(v);
    match field {
        "role" | "name" | "content" | "tool_call_id" | "finish_reason" => {
            let m = flat.entry((side, rank, n)).or_default();
            match field {
                "role" => m.role = s,
                "name" => m.name = s,
                "content" => m.content = v,
                "tool_call_id" => m.tool_call_id = s,
                _ => m.finish_reason = s,
            }
            true
        }
        _ => {
            if let Some(c) = field.strip_prefix("contents.") {
                // OpenInference: contents.K.message_content.{type, text, image.image.url}.
                let Some((k, what)) = index(c) else {
                    return false;
                };
                let Some(what) = what.strip_prefix("message_content.") else {
                    return false;
                };
                let m = flat.entry((side, rank, n)).or_default();
                m.contents
                    .entry(k)
                    .or_default()
                    .push((what, v.unwrap_or(&EMPTY)));
                return true;
            }
            let Some(c) = field.strip_prefix("tool_calls.") else {
                return false;
            };
            let Some((k, what)) = index(c) else {
                return false;
            };
            let what = what.strip_prefix("tool_call.").unwrap_or(what);
            let what = what.strip_prefix("function.").unwrap_or(what);
            if !matches!(what, "id" | "name" | "arguments") {
                return false;
            }
            let call = flat
                .entry((side, rank, n))
                .or_default()
                .calls
                .entry(k)
                .or_default();
            match what {
                "id" => call.id = s,
                "name" => call.name = s,
                _ => call.arguments = v,
            }
            true
        }
    }
}

static EMPTY: AnyValue = AnyValue { value: None };

impl Flat<'_> {
    fn message(self, finish: &mut Vec<String>) -> Message {
        let mut m = Message {
            role: self
                .role
                .filter(|r| !r.is_empty())
                .unwrap_or(NO_ROLE)
                .to_owned(),
            name: self.name.map(str::to_owned),
            content: MessageContent::default(),
            tool_calls: Vec::new(),
            tool_call_id: self.tool_call_id.map(str::to_owned),
        };
        if let Some(f) = self.finish_reason {
            finish.push(f.to_owned());
        }
        let mut parts = Vec::new();
        if let Some(c) = self.content {
            parts.push(match string_of(Some(c)) {
                Some(s) if is_result(&m) => result_text(s),
                Some(s) => Piece::Text(s.to_owned()),
                None => value_piece(c),
            });
        }
        for (_, fields) in self.contents {
            match fields.iter().find(|(f, _)| *f == "text") {
                Some((_, v)) => parts.push(Piece::Text(json::text(Some(v)))),
                // An image or another part: its fields as an object.
                None => {
                    let mut text = String::from("{");
                    for (i, (f, v)) in fields.iter().enumerate() {
                        if i > 0 {
                            text.push(',');
                        }
                        user_trace_protocol::writer::string(&mut text, f);
                        text.push(':');
                        text.push_str(json::value(Some(v)).get());
                    }
                    text.push('}');
                    if let Ok(j) = RawJson::from_string(text) {
                        parts.push(Piece::Other(j));
                    }
                }
            }
        }
        for (_, c) in self.calls {
            m.tool_calls.push(ToolCall {
                id: c.id.map(str::to_owned),
                name: c.name.unwrap_or(NO_TOOL).to_owned(),
                arguments: match c.arguments {
                    Some(a) => match string_of(Some(a)) {
                        Some(s) => arguments_text(s),
                        None => json::value(Some(a)),
                    },
                    None => RawJson::null(),
                },
            });
        }
        m.content = content_of(parts);
        m
    }
}

/// A structured attribute value as a part: an object as JSON, anything else as its JSON text.
fn value_piece(v: &AnyValue) -> Piece {
    let j = json::value(Some(v));
    if j.get().starts_with('{') {
        Piece::Other(j)
    } else {
        Piece::Text(j.get().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            key_strindex: 0,
        }
    }
    fn s(key: &str, v: &str) -> KeyValue {
        kv(key, Value::StringValue(v.into()))
    }
    fn i(key: &str, v: i64) -> KeyValue {
        kv(key, Value::IntValue(v))
    }
    fn shown(parts: &[Part]) -> Vec<String> {
        parts
            .iter()
            .map(|p| match &p.body {
                Body::Text(t) => format!("{} = text {t:?}", p.title),
                Body::Json(j) => format!("{} = json {}", p.title, j.get()),
            })
            .collect()
    }
    /// Messages as the protocol writes them, one a line.
    fn said(messages: &[Message]) -> Vec<String> {
        messages
            .iter()
            .map(|m| serde_json::to_string(m).expect("serializes"))
            .collect()
    }
    fn items(g: &GenAi) -> Vec<String> {
        g.summary
            .iter()
            .map(|i| format!("{}={}", i.name, i.value.get()))
            .collect()
    }

    #[test]
    fn current_genai_messages_with_parts_tool_calls_and_results() {
        let input = r#"[
          {"role":"system","parts":[{"type":"text","content":"Be brief."}]},
          {"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]},
          {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}]},
          {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"{\"temp\":21}"}]}
        ]"#;
        let output = r#"[{"role":"assistant","parts":[{"type":"text","content":"21 °C."}],"finish_reason":"stop"}]"#;
        let attrs = vec![
            s("gen_ai.operation.name", "chat"),
            s("gen_ai.request.model", "gpt-4o"),
            s("gen_ai.response.model", "gpt-4o-2024-08-06"),
            i("gen_ai.usage.input_tokens", 31),
            i("gen_ai.usage.output_tokens", 7),
            i("gen_ai.usage.cache_read.input_tokens", 4),
            s("gen_ai.input.messages", input),
            s("gen_ai.output.messages", output),
            s("server.address", "api.example.com"),
        ];
        let g = read(&attrs);
        assert_eq!(
            said(&g.input_messages),
            [
                r#"{"role":"system","content":"Be brief."}"#,
                r#"{"role":"user","content":"Weather in Paris?"}"#,
                r#"{"role":"assistant","content":"","tool_calls":[{"id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}]}"#,
                r#"{"role":"tool","content":[{"temp":21}],"tool_call_id":"call_1"}"#,
            ]
        );
        assert_eq!(
            said(&g.output_messages),
            [r#"{"role":"assistant","content":"21 °C."}"#]
        );
        assert!(g.input.is_empty() && g.output.is_empty());
        assert_eq!(
            items(&g),
            [
                r#"operation="chat""#,
                r#"model="gpt-4o-2024-08-06""#,
                r#"requested model="gpt-4o""#,
                "input tokens=31",
                "output tokens=7",
                r#"finish reasons=["stop"]"#,
                "usage cache_read.input_tokens=4",
            ]
        );
        // Everything but the server address is shown above the plain items.
        assert_eq!(
            g.consumed,
            [true, true, true, true, true, true, true, true, false]
        );
    }

    #[test]
    fn openai_style_content_tool_calls_names_and_unknown_roles() {
        let input = r#"[{"role":"user","name":"ann","content":"Hi"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c9","type":"function","function":{"name":"search","arguments":"{\"q\":\"x\"}"}}]},
          {"role":"tool","tool_call_id":"c9","content":"[1,2]"},
          {"role":"critic","content":"Too long."},
          {"content":"who said this?"},
          {"role":"user","content":[{"type":"text","text":"and?"},{"type":"image_url","image_url":{"url":"u"}}]}]"#;
        let g = read(&[s("gen_ai.prompt", input)]);
        assert_eq!(
            said(&g.input_messages),
            [
                r#"{"role":"user","name":"ann","content":"Hi"}"#,
                r#"{"role":"assistant","content":"","tool_calls":[{"id":"c9","name":"search","arguments":{"q":"x"}}]}"#,
                r#"{"role":"tool","content":"[1,2]","tool_call_id":"c9"}"#,
                // A role the protocol does not name is kept; a missing one is said so.
                r#"{"role":"critic","content":"Too long."}"#,
                r#"{"role":"(no role)","content":"who said this?"}"#,
                r#"{"role":"user","content":[{"type":"text","text":"and?"},{"type":"image_url","image_url":{"url":"u"}}]}"#,
            ]
        );
    }

    #[test]
    fn same_model_in_request_and_response_is_one_item() {
        let g = read(&[
            s("gen_ai.request.model", "m"),
            s("gen_ai.response.model", "m"),
        ]);
        assert_eq!(items(&g), [r#"model="m""#]);
        assert_eq!(g.consumed, [true, true]);
    }

    #[test]
    fn indexed_openllmetry_attributes_in_index_order_with_gaps() {
        let attrs = vec![
            s("gen_ai.prompt.3.content", "What is 2+2?"),
            s("gen_ai.prompt.3.role", "user"),
            s("gen_ai.prompt.0.role", "system"),
            s("gen_ai.prompt.0.content", "You add."),
            s("gen_ai.prompt.4.content", "No role here."),
            s("gen_ai.prompt.5.role", "tool"),
            s("gen_ai.prompt.5.tool_call_id", "t0"),
            s("gen_ai.prompt.5.content", r#"{"sum":4}"#),
            s("gen_ai.completion.0.role", "assistant"),
            s("gen_ai.completion.0.finish_reason", "tool_calls"),
            s("gen_ai.completion.0.tool_calls.0.name", "add"),
            s("gen_ai.completion.0.tool_calls.0.id", "t1"),
            s(
                "gen_ai.completion.0.tool_calls.0.arguments",
                r#"{"a":2,"b":2}"#,
            ),
            s("gen_ai.completion.0.tool_calls.1.arguments", "not json"),
            s("gen_ai.prompt.x.role", "not an index"),
            i("gen_ai.usage.prompt_tokens", 12),
        ];
        let g = read(&attrs);
        assert_eq!(
            said(&g.input_messages),
            [
                r#"{"role":"system","content":"You add."}"#,
                r#"{"role":"user","content":"What is 2+2?"}"#,
                r#"{"role":"(no role)","content":"No role here."}"#,
                r#"{"role":"tool","content":[{"sum":4}],"tool_call_id":"t0"}"#,
            ]
        );
        assert_eq!(
            said(&g.output_messages),
            [
                r#"{"role":"assistant","content":"","tool_calls":[{"id":"t1","name":"add","arguments":{"a":2,"b":2}},{"name":"(unnamed tool)","arguments":"not json"}]}"#
            ]
        );
        assert_eq!(
            items(&g),
            ["input tokens=12", r#"finish reasons=["tool_calls"]"#]
        );
        // The attribute whose index is not a number stays an item.
        assert!(!g.consumed[14]);
        assert!(g.consumed.iter().enumerate().all(|(i, &c)| c || i == 14));
    }

    #[test]
    fn openinference_messages_and_values() {
        let attrs = vec![
            s("llm.input_messages.0.message.role", "user"),
            s("llm.input_messages.0.message.content", "Tell me a joke"),
            s("llm.input_messages.1.message.role", "user"),
            s(
                "llm.input_messages.1.message.contents.0.message_content.type",
                "image",
            ),
            s(
                "llm.input_messages.1.message.contents.0.message_content.image.image.url",
                "https://x/cat.png",
            ),
            s("llm.output_messages.0.message.role", "assistant"),
            s("llm.output_messages.0.message.name", "jester"),
            s(
                "llm.output_messages.0.message.contents.0.message_content.text",
                "Why...",
            ),
            s(
                "llm.output_messages.0.message.contents.0.message_content.type",
                "text",
            ),
            s(
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
                "laugh",
            ),
            s(
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
                r#"{"loud":true}"#,
            ),
            s("llm.model_name", "claude"),
            i("llm.token_count.prompt", 5),
            i("llm.token_count.completion", 9),
            i("llm.token_count.total", 14),
            // The request again, beside the indexed messages: a part of its own.
            s("input.value", r#"{"query":"joke"}"#),
            s("output.value", "plain answer"),
            s("input.mime_type", "application/json"),
        ];
        let g = read(&attrs);
        assert_eq!(
            said(&g.input_messages),
            [
                r#"{"role":"user","content":"Tell me a joke"}"#,
                r#"{"role":"user","content":[{"type":"image","image.image.url":"https://x/cat.png"}]}"#,
            ]
        );
        assert_eq!(
            said(&g.output_messages),
            [
                r#"{"role":"assistant","name":"jester","content":"Why...","tool_calls":[{"name":"laugh","arguments":{"loud":true}}]}"#
            ]
        );
        assert_eq!(shown(&g.input), [r#"input = json {"query":"joke"}"#]);
        assert_eq!(shown(&g.output), [r#"output = text "plain answer""#]);
        assert_eq!(
            items(&g),
            [
                r#"model="claude""#,
                "input tokens=5",
                "output tokens=9",
                "total tokens=14"
            ]
        );
        assert!(g.consumed.iter().all(|&c| c));
    }

    #[test]
    fn values_that_hold_messages_are_the_conversation() {
        let g = read(&[
            s(
                "input.value",
                r#"[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]"#,
            ),
            s("output.value", r#"{"role":"assistant","content":"Bye"}"#),
        ]);
        assert_eq!(
            said(&g.input_messages),
            [
                r#"{"role":"user","content":"Hi"}"#,
                r#"{"role":"assistant","content":"Hello"}"#,
            ]
        );
        assert_eq!(
            said(&g.output_messages),
            [r#"{"role":"assistant","content":"Bye"}"#]
        );
        assert!(g.input.is_empty() && g.output.is_empty());
        // Near misses: a list with a message without a role, an empty list, an object.
        let g = read(&[
            s(
                "input.value",
                r#"[{"role":"user","content":"Hi"},{"content":"x"}]"#,
            ),
            s("output.value", "[]"),
        ]);
        assert!(g.input_messages.is_empty() && g.output_messages.is_empty());
        assert_eq!(
            shown(&g.input),
            [r#"input = json [{"role":"user","content":"Hi"},{"content":"x"}]"#]
        );
        assert_eq!(shown(&g.output), ["output = json []"]);
    }

    #[test]
    fn declared_json_scalars_and_tool_spans() {
        let g = read(&[
            s("input.mime_type", "application/json"),
            s("input.value", "42"),
            s("gen_ai.tool.name", "get_weather"),
            s("gen_ai.tool.call.arguments", r#"{"city":"Paris"}"#),
            s("gen_ai.tool.call.result", "sunny"),
        ]);
        assert_eq!(
            shown(&g.input),
            [
                r#"tool call arguments = json {"city":"Paris"}"#,
                "input = json 42",
            ]
        );
        assert_eq!(shown(&g.output), [r#"tool call result = text "sunny""#]);
        assert_eq!(items(&g), [r#"tool="get_weather""#]);
    }

    #[test]
    fn text_that_is_not_a_message_list_is_shown_whole_with_why() {
        // Near misses: plain text in the older attribute (valid), a JSON array of numbers, a
        // broken list, a role that is not a string.
        let g = read(&[
            s("gen_ai.prompt", "Say hello"),
            s("gen_ai.completion", "[1, 2]"),
            s("gen_ai.input.messages", r#"[{"role": "user", "parts": ["#),
            s("gen_ai.output.messages", r#"[{"role": 5}]"#),
        ]);
        assert!(g.input_messages.is_empty() && g.output_messages.is_empty());
        assert_eq!(
            shown(&g.input),
            [
                r#"input = text "Say hello""#,
                r#"gen_ai.input.messages (not read as messages: expected a value, found the end of the text at line 1 column 29) = text "[{\"role\": \"user\", \"parts\": [""#,
            ]
        );
        assert_eq!(
            shown(&g.output),
            [
                r#"gen_ai.completion (not read as messages: `message 0`: expected an object, found a number at line 1 column 1) = text "[1, 2]""#,
                r#"gen_ai.output.messages (not read as messages: `message 0`: `role`: expected a string, found a number at line 1 column 1) = text "[{\"role\": 5}]""#,
            ]
        );
        assert!(g.consumed.iter().all(|&c| c));
    }

    #[test]
    fn structured_values_and_system_instructions() {
        use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
        let part = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(v.into())),
            }),
            key_strindex: 0,
        };
        let obj = |members: Vec<KeyValue>| AnyValue {
            value: Some(Value::KvlistValue(KeyValueList { values: members })),
        };
        let parts = AnyValue {
            value: Some(Value::ArrayValue(ArrayValue {
                values: vec![obj(vec![part("type", "text"), part("content", "Hi")])],
            })),
        };
        let message = obj(vec![
            part("role", "user"),
            KeyValue {
                key: "parts".into(),
                value: Some(parts),
                key_strindex: 0,
            },
        ]);
        let g = read(&[
            kv(
                "gen_ai.input.messages",
                Value::ArrayValue(ArrayValue {
                    values: vec![message],
                }),
            ),
            s(
                "gen_ai.system_instructions",
                r#"[{"type":"text","content":"Be kind."}]"#,
            ),
        ]);
        // The system instructions first, whatever the order of the attributes.
        assert_eq!(
            said(&g.input_messages),
            [
                r#"{"role":"system","content":"Be kind."}"#,
                r#"{"role":"user","content":"Hi"}"#,
            ]
        );
        // Plain text instructions are one system message; broken ones are shown with why.
        let g = read(&[s("gen_ai.system_instructions", "Be kind.")]);
        assert_eq!(
            said(&g.input_messages),
            [r#"{"role":"system","content":"Be kind."}"#]
        );
        let g = read(&[s("gen_ai.system_instructions", "[{")]);
        assert!(g.input_messages.is_empty());
        assert_eq!(g.input.len(), 1);
        assert!(g.input[0]
            .title
            .starts_with("gen_ai.system_instructions (not read as messages:"));
    }

    #[test]
    fn messages_past_the_cap_are_counted() {
        let list: Vec<String> = (0..MAX_MESSAGES + 5)
            .map(|n| format!(r#"{{"role":"user","content":"m{n}"}}"#))
            .collect();
        let g = read(&[s("gen_ai.prompt", &format!("[{}]", list.join(",")))]);
        assert_eq!(g.input_messages.len(), MAX_MESSAGES + 1);
        assert_eq!(
            said(&g.input_messages[MAX_MESSAGES..]),
            [r#"{"role":"(not shown)","content":"5 more messages not shown"}"#]
        );
    }

    #[test]
    fn clip_cuts_at_a_character_boundary() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("héllo", 3), "hé");
        assert_eq!(clip("abc", 10), "abc");
    }
}
