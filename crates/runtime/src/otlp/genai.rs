//! The GenAI conventions read as a person wants them: the conversation as one span per message
//! part (text as text, tool calls and their results as JSON), and the model, token usage and
//! finish reasons as the first items of the attributes.
//!
//! Read here (see docs/OTEL.md for the table):
//! - OpenTelemetry GenAI: `gen_ai.input.messages`, `gen_ai.output.messages`,
//!   `gen_ai.system_instructions` (JSON, as a string or as a structured value), the older
//!   indexed `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` (OpenLLMetry), the older plain
//!   `gen_ai.prompt` / `gen_ai.completion`, and `gen_ai.tool.call.arguments` / `.result`;
//! - OpenInference: `llm.input_messages.N.message.*`, `llm.output_messages.N.message.*`,
//!   `input.value`, `output.value`;
//! - OpenLLMetry's `traceloop.entity.input` / `traceloop.entity.output`.
//!
//! JSON is read with the protocol's reader, which does not recurse; the nesting followed here
//! is fixed (messages, their parts, a tool call's function), deeper values are kept as text.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use user_trace_protocol::reader::Reader;
use user_trace_protocol::{Item, RawJson, ReadError};

use super::json;

/// Most message parts shown for one side of one span; the rest are counted in a last part.
pub const MAX_PARTS: usize = 1000;

/// What a part shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text(String),
    Json(RawJson),
}

/// One span of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub title: String,
    pub body: Body,
}

/// What the GenAI reading found in a span's attributes.
#[derive(Debug, Default)]
pub struct GenAi {
    /// Shown at the span's start: the prompt, the tool call's arguments, the input value.
    pub input: Vec<Part>,
    /// Shown at the span's end: the completion, the tool's result, the output value.
    pub output: Vec<Part>,
    /// Model, usage, finish reasons: the first items of the attributes span.
    pub summary: Vec<Item>,
    /// For each attribute, whether it is shown above (and so not listed again as an item).
    pub consumed: Vec<bool>,
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
    // Declared before or after its value.
    let mime_of = |key: &str| {
        attrs
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| string_of(kv.value.as_ref()))
    };
    let mime = [mime_of("input.mime_type"), mime_of("output.mime_type")];
    for (i, kv) in attrs.iter().enumerate() {
        let key = kv.key.as_str();
        let v = kv.value.as_ref();
        let done = match key {
            "gen_ai.system_instructions" => messages(v, Side::Input, Some("system"), &mut g),
            "gen_ai.input.messages" | "gen_ai.prompt" | "llm.prompts" => {
                messages(v, Side::Input, None, &mut g)
            }
            "gen_ai.output.messages" | "gen_ai.completion" => {
                messages(v, Side::Output, None, &mut g)
            }
            "input.value" | "traceloop.entity.input" => {
                value_part(v, Side::Input, "input", mime[0], &mut g)
            }
            "output.value" | "traceloop.entity.output" => {
                value_part(v, Side::Output, "output", mime[1], &mut g)
            }
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
        m.render(side, &mut g);
    }
    for parts in [&mut g.input, &mut g.output] {
        if parts.len() > MAX_PARTS {
            let more = parts.len() - MAX_PARTS;
            parts.truncate(MAX_PARTS);
            parts.push(Part {
                title: "more".into(),
                body: Body::Text(format!("{more} more message parts not shown")),
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

fn title(side: Side, role: &str, what: &str) -> String {
    let mut t = format!("{} · {}", side.name(), clip(role, 128));
    if !what.is_empty() {
        t.push_str(" · ");
        t.push_str(what);
    }
    t
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

/// A message list (`[{role, parts | content, tool_calls, ...}]`, one message object, or for
/// system instructions a list of parts) as parts. Text that is not such JSON is one part.
fn messages(v: Option<&AnyValue>, side: Side, role: Option<&str>, g: &mut GenAi) -> bool {
    let text = json_text(v);
    let mut found = Vec::new();
    let read = match role {
        Some(role) => read_parts_list(&text, side, role, &mut found),
        None => read_messages(&text, side, &mut found),
    };
    match read {
        Ok(()) => {
            for p in found {
                push(g, side, p.title, p.body);
            }
        }
        Err(_) => {
            let what = match role {
                Some(r) => title(side, r, ""),
                None => side.name().to_owned(),
            };
            let body = match json::embedded(&text) {
                Some(j) => Body::Json(j),
                None => Body::Text(text.into_owned()),
            };
            push(g, side, what, body);
        }
    }
    true
}

fn read_messages(text: &str, side: Side, out: &mut Vec<Part>) -> Result<(), ReadError> {
    let mut r = Reader::new(text);
    match r.peek() {
        Some(b'[') => r.array(|r| read_message(r, side, out))?,
        _ => read_message(&mut r, side, out)?,
    }
    r.end()
}

fn read_parts_list(
    text: &str,
    side: Side,
    role: &str,
    out: &mut Vec<Part>,
) -> Result<(), ReadError> {
    let mut r = Reader::new(text);
    if r.peek() == Some(b'"') {
        let s = r.owned_string()?;
        r.end()?;
        out.push(Part {
            title: title(side, role, ""),
            body: Body::Text(s),
        });
        return Ok(());
    }
    r.array(|r| read_part(r, side, role, out))?;
    r.end()
}

/// A JSON value read as text when it is a string (holding JSON or not), else as JSON.
fn loose_body(raw: &str) -> Body {
    if raw.starts_with('"') {
        if let Ok(s) = user_trace_protocol::reader::decode_string(raw) {
            return match json::embedded(&s) {
                Some(j) => Body::Json(j),
                None => Body::Text(s),
            };
        }
    }
    match RawJson::from_string(raw.to_owned()) {
        Ok(j) => Body::Json(j),
        Err(_) => Body::Text(raw.to_owned()),
    }
}

/// JSON for a tool call's arguments: an object as it is, a string holding JSON as that JSON.
fn json_body(raw: &str) -> Body {
    match loose_body(raw) {
        Body::Text(s) => Body::Json(RawJson::from_value(&s)),
        j => j,
    }
}

#[derive(Default)]
struct Call<'a> {
    id: Option<String>,
    name: Option<String>,
    arguments: Option<&'a str>,
}

impl Call<'_> {
    fn part(&self, side: Side, role: &str) -> Part {
        let mut what = format!(
            "tool call {}",
            clip(self.name.as_deref().unwrap_or("?"), 256)
        );
        if let Some(id) = &self.id {
            what.push_str(&format!(" ({})", clip(id, 128)));
        }
        Part {
            title: title(side, role, &what),
            body: self
                .arguments
                .map_or(Body::Json(RawJson::null()), json_body),
        }
    }
}

/// One message object: `role`, and `parts` (the current GenAI shape) or `content` (a string
/// or a list of parts) with OpenAI-style `tool_calls`, `tool_call_id` and `finish_reason`.
fn read_message(r: &mut Reader<'_>, side: Side, out: &mut Vec<Part>) -> Result<(), ReadError> {
    let mut role = String::from("message");
    let mut parts: Option<&str> = None;
    let mut content: Option<&str> = None;
    let mut calls: Vec<Call<'_>> = Vec::new();
    let mut tool_call_id: Option<String> = None;
    let mut finish: Option<String> = None;
    let text = r.raw()?;
    let mut m = Reader::new(text);
    m.object(|m, key| {
        match &*key {
            "role" if m.peek() == Some(b'"') => role = m.owned_string()?,
            "parts" => parts = Some(m.raw()?),
            "content" => content = Some(m.raw()?),
            "tool_call_id" if m.peek() == Some(b'"') => tool_call_id = Some(m.owned_string()?),
            "finish_reason" if m.peek() == Some(b'"') => finish = Some(m.owned_string()?),
            "tool_calls" if m.peek() == Some(b'[') => m.array(|m| {
                let mut call = Call::default();
                m.object(|m, key| {
                    match &*key {
                        "id" if m.peek() == Some(b'"') => call.id = Some(m.owned_string()?),
                        "name" if m.peek() == Some(b'"') => call.name = Some(m.owned_string()?),
                        "arguments" => call.arguments = Some(m.raw()?),
                        "function" if m.peek() == Some(b'{') => m.object(|m, key| {
                            match &*key {
                                "name" if m.peek() == Some(b'"') => {
                                    call.name = Some(m.owned_string()?)
                                }
                                "arguments" => call.arguments = Some(m.raw()?),
                                _ => m.skip()?,
                            }
                            Ok(())
                        })?,
                        _ => m.skip()?,
                    }
                    Ok(())
                })?;
                calls.push(call);
                Ok(())
            })?,
            _ => m.skip()?,
        }
        Ok(())
    })?;
    let role = match &finish {
        Some(f) => format!("{role} ({})", clip(f, 64)),
        None => role,
    };
    if let Some(parts) = parts {
        let mut p = Reader::new(parts);
        if p.peek() == Some(b'[') {
            p.array(|p| read_part(p, side, &role, out))?;
        }
    }
    if let Some(content) = content {
        let mut c = Reader::new(content);
        match c.peek() {
            Some(b'[') => c.array(|c| read_part(c, side, &role, out))?,
            Some(b'n') => {}
            _ => {
                let what = match &tool_call_id {
                    Some(id) => format!("result of {}", clip(id, 128)),
                    None => String::new(),
                };
                out.push(Part {
                    title: title(side, &role, &what),
                    body: loose_body(content),
                });
            }
        }
    }
    for call in &calls {
        out.push(call.part(side, &role));
    }
    Ok(())
}

/// One part of a message: `{type: "text", content}`, `{type: "tool_call", id, name,
/// arguments}`, `{type: "tool_call_response", id, response}`, OpenAI's `{type: "text", text}`;
/// any other part as its JSON.
fn read_part(
    r: &mut Reader<'_>,
    side: Side,
    role: &str,
    out: &mut Vec<Part>,
) -> Result<(), ReadError> {
    let raw = r.raw()?;
    if raw.starts_with('"') {
        out.push(Part {
            title: title(side, role, ""),
            body: loose_body(raw),
        });
        return Ok(());
    }
    let mut kind = String::new();
    let mut text: Option<&str> = None;
    let mut call = Call::default();
    let mut response: Option<&str> = None;
    let mut p = Reader::new(raw);
    p.object(|p, key| {
        match &*key {
            "type" if p.peek() == Some(b'"') => kind = p.owned_string()?,
            "content" | "text" => text = Some(p.raw()?),
            "id" if p.peek() == Some(b'"') => call.id = Some(p.owned_string()?),
            "name" if p.peek() == Some(b'"') => call.name = Some(p.owned_string()?),
            "arguments" => call.arguments = Some(p.raw()?),
            "response" | "result" => response = Some(p.raw()?),
            _ => p.skip()?,
        }
        Ok(())
    })?;
    let part = match kind.as_str() {
        "tool_call" | "function_call" | "tool_use" => call.part(side, role),
        "tool_call_response" | "tool_result" | "function_call_output" => {
            let what = format!(
                "tool result{}",
                call.id
                    .as_deref()
                    .map_or(String::new(), |id| format!(" ({})", clip(id, 128)))
            );
            Part {
                title: title(side, role, &what),
                body: response
                    .or(text)
                    .map_or(Body::Json(RawJson::null()), loose_body),
            }
        }
        "text" | "" | "reasoning" | "thinking" if text.is_some() => {
            let what = if kind == "reasoning" || kind == "thinking" {
                "reasoning"
            } else {
                ""
            };
            Part {
                title: title(side, role, what),
                body: text.map_or(Body::Text(String::new()), loose_body),
            }
        }
        other => Part {
            title: title(side, role, clip(other, 64)),
            body: loose_body(raw),
        },
    };
    out.push(part);
    Ok(())
}

/// A message spread over indexed attributes (`gen_ai.prompt.0.role`, ...).
#[derive(Default)]
struct Flat<'a> {
    role: Option<&'a str>,
    content: Option<&'a AnyValue>,
    contents: BTreeMap<u32, &'a AnyValue>,
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

/// Files an indexed attribute under its message; whether it was one.
fn flat_entry<'a>(
    key: &str,
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
    let m = flat.entry((side, rank, n)).or_default();
    match field {
        "role" => m.role = s,
        "content" => m.content = v,
        "tool_call_id" => m.tool_call_id = s,
        "finish_reason" => m.finish_reason = s,
        _ => {
            if let Some(c) = field.strip_prefix("contents.") {
                // OpenInference: contents.K.message_content.text (and .type, read as text).
                let Some((k, what)) = index(c) else {
                    return false;
                };
                if what.ends_with(".text") {
                    m.contents.insert(k, v.unwrap_or(&EMPTY));
                }
                return what.starts_with("message_content.");
            }
            let Some(c) = field.strip_prefix("tool_calls.") else {
                return false;
            };
            let Some((k, what)) = index(c) else {
                return false;
            };
            let what = what.strip_prefix("tool_call.").unwrap_or(what);
            let what = what.strip_prefix("function.").unwrap_or(what);
            let call = m.calls.entry(k).or_default();
            match what {
                "id" => call.id = s,
                "name" => call.name = s,
                "arguments" => call.arguments = v,
                _ => return false,
            }
        }
    }
    true
}

static EMPTY: AnyValue = AnyValue { value: None };

impl Flat<'_> {
    fn render(self, side: Side, g: &mut GenAi) {
        let mut role = self.role.unwrap_or("message").to_owned();
        if let Some(f) = self.finish_reason {
            role = format!("{role} ({})", clip(f, 64));
        }
        if let Some(c) = self.content {
            let what = self
                .tool_call_id
                .map_or(String::new(), |id| format!("result of {}", clip(id, 128)));
            let body = match string_of(Some(c)) {
                Some(s) => match json::embedded(s) {
                    Some(j) => Body::Json(j),
                    None => Body::Text(s.to_owned()),
                },
                None => Body::Json(json::value(Some(c))),
            };
            push(g, side, title(side, &role, &what), body);
        }
        for (_, c) in self.contents {
            push(
                g,
                side,
                title(side, &role, ""),
                Body::Text(json::text(Some(c))),
            );
        }
        for (_, c) in self.calls {
            let call = Call {
                id: c.id.map(str::to_owned),
                name: c.name.map(str::to_owned),
                arguments: None,
            };
            let mut part = call.part(side, &role);
            if let Some(a) = c.arguments {
                part.body = match string_of(Some(a)) {
                    Some(s) => {
                        Body::Json(json::embedded(s).unwrap_or_else(|| RawJson::from_value(s)))
                    }
                    None => Body::Json(json::value(Some(a))),
                };
            }
            push(g, side, part.title, part.body);
        }
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
            shown(&g.input),
            [
                r#"input · system = text "Be brief.""#,
                r#"input · user = text "Weather in Paris?""#,
                r#"input · assistant · tool call get_weather (call_1) = json {"city":"Paris"}"#,
                r#"input · tool · tool result (call_1) = json {"temp":21}"#,
            ]
        );
        assert_eq!(
            shown(&g.output),
            [r#"output · assistant (stop) = text "21 °C.""#]
        );
        assert_eq!(
            items(&g),
            [
                r#"operation="chat""#,
                r#"model="gpt-4o-2024-08-06""#,
                r#"requested model="gpt-4o""#,
                "input tokens=31",
                "output tokens=7",
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
    fn openai_style_content_and_tool_calls() {
        let input = r#"[{"role":"user","content":"Hi"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c9","type":"function","function":{"name":"search","arguments":"{\"q\":\"x\"}"}}]},
          {"role":"tool","tool_call_id":"c9","content":"[1,2]"},
          {"role":"user","content":[{"type":"text","text":"and?"},{"type":"image_url","image_url":{"url":"u"}}]}]"#;
        let g = read(&[s("gen_ai.prompt", input)]);
        assert_eq!(
            shown(&g.input),
            [
                r#"input · user = text "Hi""#,
                r#"input · assistant · tool call search (c9) = json {"q":"x"}"#,
                r#"input · tool · result of c9 = json [1,2]"#,
                r#"input · user = text "and?""#,
                r#"input · user · image_url = json {"type":"image_url","image_url":{"url":"u"}}"#,
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
    fn indexed_openllmetry_attributes() {
        let attrs = vec![
            s("gen_ai.prompt.1.content", "What is 2+2?"),
            s("gen_ai.prompt.1.role", "user"),
            s("gen_ai.prompt.0.role", "system"),
            s("gen_ai.prompt.0.content", "You add."),
            s("gen_ai.completion.0.role", "assistant"),
            s("gen_ai.completion.0.finish_reason", "tool_calls"),
            s("gen_ai.completion.0.tool_calls.0.name", "add"),
            s("gen_ai.completion.0.tool_calls.0.id", "t1"),
            s(
                "gen_ai.completion.0.tool_calls.0.arguments",
                r#"{"a":2,"b":2}"#,
            ),
            s("gen_ai.prompt.x.role", "not an index"),
            i("gen_ai.usage.prompt_tokens", 12),
        ];
        let g = read(&attrs);
        assert_eq!(
            shown(&g.input),
            [
                r#"input · system = text "You add.""#,
                r#"input · user = text "What is 2+2?""#,
            ]
        );
        assert_eq!(
            shown(&g.output),
            [r#"output · assistant (tool_calls) · tool call add (t1) = json {"a":2,"b":2}"#]
        );
        assert_eq!(items(&g), ["input tokens=12"]);
        // The attribute whose index is not a number stays an item.
        assert!(!g.consumed[9]);
        assert!(g.consumed.iter().enumerate().all(|(i, &c)| c || i == 9));
    }

    #[test]
    fn openinference_messages_and_values() {
        let attrs = vec![
            s("llm.input_messages.0.message.role", "user"),
            s("llm.input_messages.0.message.content", "Tell me a joke"),
            s("llm.output_messages.0.message.role", "assistant"),
            s(
                "llm.output_messages.0.message.contents.0.message_content.text",
                "Why...",
            ),
            s(
                "llm.output_messages.0.message.contents.0.message_content.type",
                "text",
            ),
            s("llm.model_name", "claude"),
            i("llm.token_count.prompt", 5),
            i("llm.token_count.completion", 9),
            i("llm.token_count.total", 14),
            s("input.value", r#"{"query":"joke"}"#),
            s("output.value", "plain answer"),
            s("input.mime_type", "application/json"),
        ];
        let g = read(&attrs);
        assert_eq!(
            shown(&g.input),
            [
                r#"input = json {"query":"joke"}"#,
                r#"input · user = text "Tell me a joke""#,
            ]
        );
        assert_eq!(
            shown(&g.output),
            [
                r#"output = text "plain answer""#,
                r#"output · assistant = text "Why...""#,
            ]
        );
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
                "input = json 42",
                r#"tool call arguments = json {"city":"Paris"}"#,
            ]
        );
        assert_eq!(shown(&g.output), [r#"tool call result = text "sunny""#]);
        assert_eq!(items(&g), [r#"tool="get_weather""#]);
    }

    #[test]
    fn text_that_is_not_a_message_list_is_one_part() {
        // A near miss: a JSON array of numbers, and a broken list.
        let g = read(&[
            s("gen_ai.prompt", "Say hello"),
            s("gen_ai.completion", "[1, 2]"),
            s("gen_ai.input.messages", r#"[{"role": "user", "parts": ["#),
        ]);
        assert_eq!(
            shown(&g.input),
            [
                r#"input = text "Say hello""#,
                r#"input = text "[{\"role\": \"user\", \"parts\": [""#,
            ]
        );
        assert_eq!(shown(&g.output), [r#"output = json [1, 2]"#]);
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
        assert_eq!(
            shown(&g.input),
            [
                r#"input · user = text "Hi""#,
                r#"input · system = text "Be kind.""#,
            ]
        );
    }

    #[test]
    fn parts_past_the_cap_are_counted() {
        let list: Vec<String> = (0..MAX_PARTS + 5)
            .map(|n| format!(r#"{{"role":"user","content":"m{n}"}}"#))
            .collect();
        let g = read(&[s("gen_ai.prompt", &format!("[{}]", list.join(",")))]);
        assert_eq!(g.input.len(), MAX_PARTS + 1);
        assert_eq!(
            shown(&g.input[MAX_PARTS..]),
            [r#"more = text "5 more message parts not shown""#]
        );
    }

    #[test]
    fn clip_cuts_at_a_character_boundary() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("héllo", 3), "hé");
        assert_eq!(clip("abc", 10), "abc");
    }
}
