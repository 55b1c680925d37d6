//! The content of a `messages` span: a conversation with an LLM, one message after another.
//!
//! On the wire a message is
//! `{"role", "name"?, "content"?, "tool_calls"?: [{"id"?, "name", "arguments"?}], "tool_call_id"?}`,
//! where `content` is a string or an array of parts (`{"type":"text","text":...}` or any other
//! object, shown as JSON). The last message's text grows with `message_append`.

#[cfg(feature = "serde")]
use serde::{Serialize, Serializer};

use crate::content::RawJson;
use crate::reader::{array_elements, decode_string, ReadError, Reader};

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`; any other role is shown as it is.
    pub role: String,
    /// Who spoke, when several of a role take part (an agent's name, a tool's name).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,
    /// A string, or an array of parts; a message with tool calls only may have none (`""`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub content: MessageContent,
    /// The tools an assistant message calls.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub tool_calls: Vec<ToolCall>,
    /// For a `tool` message: the id of the call it is the result of.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub tool_call_id: Option<String>,
}

/// What a message says: text, or parts.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum MessageContent {
    Text(String),
    Parts(Vec<Part>),
}

impl Default for MessageContent {
    fn default() -> Self {
        MessageContent::Text(String::new())
    }
}

/// One part of a message's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// `{"type":"text","text":...}` (a bare string is read as one too).
    Text(String),
    /// Any other object (an image reference, structured data), kept as sent and shown as JSON.
    Other(RawJson),
}

#[cfg(feature = "serde")]
impl Serialize for Part {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::Text(text) => {
                #[derive(Serialize)]
                struct TextPart<'a> {
                    r#type: &'static str,
                    text: &'a str,
                }
                TextPart {
                    r#type: "text",
                    text,
                }
                .serialize(s)
            }
            Part::Other(raw) => raw.serialize(s),
        }
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Part {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Part".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "{\"type\":\"text\",\"text\":...} or a bare string is text; any other object is shown as JSON",
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "text": {"type": "string"}
                    }
                }
            ]
        })
    }
}

/// A tool an assistant message calls.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ToolCall {
    /// The call's id, which its result (a `tool` message) names in `tool_call_id`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub id: Option<String>,
    /// The tool's name.
    pub name: String,
    /// The arguments, any JSON (default `null`), shown as a JSON tree.
    #[cfg_attr(feature = "serde", serde(default = "RawJson::null"))]
    #[cfg_attr(feature = "schema", schemars(with = "serde_json::Value"))]
    pub arguments: RawJson,
}

impl Message {
    /// A message of `role` saying `text`.
    pub fn text(role: &str, text: &str) -> Self {
        Message {
            role: role.to_owned(),
            name: None,
            content: MessageContent::Text(text.to_owned()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// The same message, said by `name`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// The same message, calling tool `name` with `arguments` (call `id` names it for its
    /// result).
    pub fn with_tool_call(mut self, id: &str, name: &str, arguments: RawJson) -> Self {
        self.tool_calls.push(ToolCall {
            id: Some(id.to_owned()),
            name: name.to_owned(),
            arguments,
        });
        self
    }

    /// A `tool` message: the result of call `call_id`.
    pub fn tool_result(call_id: &str, text: &str) -> Self {
        Message {
            tool_call_id: Some(call_id.to_owned()),
            ..Message::text("tool", text)
        }
    }

    /// The text that `message_append` grows: the content when it is text, else the last part
    /// when that is a text part.
    pub fn last_text(&self) -> Option<&str> {
        match &self.content {
            MessageContent::Text(t) => Some(t),
            MessageContent::Parts(parts) => match parts.last() {
                Some(Part::Text(t)) => Some(t),
                _ => None,
            },
        }
    }

    /// Appends `text` to the message: to its text, or to its last part when that is a text
    /// part, else as a new text part. Returns the byte offset it was appended at in that text.
    pub fn append(&mut self, text: &str) -> usize {
        match &mut self.content {
            MessageContent::Text(t) => {
                let from = t.len();
                t.push_str(text);
                from
            }
            MessageContent::Parts(parts) => match parts.last_mut() {
                Some(Part::Text(t)) => {
                    let from = t.len();
                    t.push_str(text);
                    from
                }
                _ => {
                    parts.push(Part::Text(text.to_owned()));
                    0
                }
            },
        }
    }

    /// Bytes of text in the message (its text or its text parts).
    pub fn text_bytes(&self) -> usize {
        match &self.content {
            MessageContent::Text(t) => t.len(),
            MessageContent::Parts(parts) => parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => t.len(),
                    Part::Other(_) => 0,
                })
                .sum(),
        }
    }

    /// Approximate heap bytes, for the model's memory accounting.
    pub fn heap_bytes(&self) -> usize {
        let content = match &self.content {
            MessageContent::Text(t) => t.capacity(),
            MessageContent::Parts(parts) => parts
                .iter()
                .map(|p| {
                    32 + match p {
                        Part::Text(t) => t.capacity(),
                        Part::Other(raw) => raw.get().len(),
                    }
                })
                .sum(),
        };
        let calls: usize = self
            .tool_calls
            .iter()
            .map(|c| {
                64 + c.id.as_ref().map_or(0, String::len) + c.name.len() + c.arguments.get().len()
            })
            .sum();
        96 + self.role.len()
            + self.name.as_ref().map_or(0, String::len)
            + self.tool_call_id.as_ref().map_or(0, String::len)
            + content
            + calls
    }
}

const MESSAGE: &[&str] = &["role", "name", "content", "tool_calls", "tool_call_id"];
const PART: &[&str] = &["type", "text"];
const CALL: &[&str] = &["id", "name", "arguments"];

/// An array of messages. Read field by field from validated text with the reader's
/// non-generic helpers: this is not a hot path, and the protocol crate is built for speed
/// (closures per field would each be inlined into their own copy of the object loop).
pub(crate) fn read_messages(r: &mut Reader<'_>) -> Result<Vec<Message>, ReadError> {
    let raw = r.raw()?;
    let mut messages = Vec::new();
    for (i, m) in array_elements(raw)?.into_iter().enumerate() {
        messages.push(read_message(m).map_err(|e| e.in_field(&format!("message {i}")))?);
    }
    Ok(messages)
}

/// A string field (`null` is no value). Not inlined, nor are the readers below: the crate is
/// built for speed, and each inlined copy would cost the panel's wasm its bytes again.
#[inline(never)]
fn string_field(raw: Option<&str>, name: &str) -> Result<Option<String>, ReadError> {
    match raw {
        None | Some("null") => Ok(None),
        Some(t) => string_text(t).map(Some).map_err(|e| e.in_field(name)),
    }
}

/// A JSON string literal's text.
#[inline(never)]
fn string_text(literal: &str) -> Result<String, ReadError> {
    decode_string(literal)
}

#[inline(never)]
fn read_message(text: &str) -> Result<Message, ReadError> {
    let mut r = Reader::new(text);
    let mut f = [None; 5];
    r.fields(MESSAGE, &mut f)?;
    let role = match string_field(f[0], "role")? {
        Some(role) if role.is_empty() => return Err(r.error("`role` must not be empty")),
        Some(role) => role,
        None => return Err(r.error("missing field `role`")),
    };
    let content = match f[2] {
        None | Some("null") => MessageContent::default(),
        Some(t) if t.starts_with('[') => {
            MessageContent::Parts(read_parts(t).map_err(|e| e.in_field("content"))?)
        }
        Some(t) => MessageContent::Text(
            string_text(t).map_err(|e| e.in_field("content (a string or an array of parts)"))?,
        ),
    };
    let mut tool_calls = Vec::new();
    if let Some(t) = f[3].filter(|t| *t != "null") {
        for call in array_elements(t).map_err(|e| e.in_field("tool_calls"))? {
            tool_calls.push(read_tool_call(call).map_err(|e| e.in_field("tool_calls"))?);
        }
    }
    Ok(Message {
        role,
        name: string_field(f[1], "name")?,
        content,
        tool_calls,
        tool_call_id: string_field(f[4], "tool_call_id")?,
    })
}

#[inline(never)]
fn read_parts(text: &str) -> Result<Vec<Part>, ReadError> {
    let mut parts = Vec::new();
    for p in array_elements(text)? {
        let mut r = Reader::new(p);
        parts.push(match r.peek() {
            Some(b'"') => Part::Text(string_text(p)?),
            Some(b'{') => {
                // A text part is read for its text; any other part is kept as sent.
                let mut f = [None; 2];
                r.fields(PART, &mut f)?;
                match (f[0], f[1]) {
                    (Some("\"text\""), Some(t)) if t.starts_with('"') => {
                        Part::Text(string_text(t)?)
                    }
                    _ => Part::Other(RawJson::from_validated(p)),
                }
            }
            _ => return Err(r.expected("a part (an object or a string)")),
        });
    }
    Ok(parts)
}

#[inline(never)]
fn read_tool_call(text: &str) -> Result<ToolCall, ReadError> {
    let mut r = Reader::new(text);
    let mut f = [None; 3];
    r.fields(CALL, &mut f)?;
    let Some(name) = string_field(f[1], "name")? else {
        return Err(r.error("a tool call needs the field `name`"));
    };
    Ok(ToolCall {
        id: string_field(f[0], "id")?,
        name,
        arguments: f[2].map_or_else(RawJson::null, RawJson::from_validated),
    })
}
