//! Events: the unit producers send and panels apply.

#[cfg(feature = "serde")]
use serde::{Deserialize, Deserializer, Serialize};

use crate::content::{Content, Item, RawJson, SpanKind};
use crate::conversation::Message;

/// One change to the trace tree, as a producer sent it.
///
/// On the wire an event is one flat JSON object: `{"id", "process", "ts", "op", ...op fields}`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Event {
    /// Chosen by the producer, unique among its process's events (e.g. a counter). The pair
    /// `(process, id)` names the event: a second event with the same pair is a duplicate and
    /// changes nothing. At most 4096 bytes.
    pub id: String,
    /// The producing process, as shown in the panel's process badges (e.g. `"agent@host:4242"`).
    /// Unique across machines (host and pid, or a random suffix). At most 4096 bytes.
    pub process: String,
    /// When the producer made the event: microseconds since the Unix epoch.
    pub ts: u64,
    /// What the event does.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub op: Op,
}

/// What an event does. Ids of traces and spans are chosen by producers and are unique across
/// processes; several processes may write into the same trace.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "op", rename_all = "snake_case"))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Op {
    /// Starts a trace. Without `parent_span` it is a root trace; with it, it nests inside that span.
    TraceStart {
        trace: String,
        name: String,
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        parent_span: Option<String>,
        /// What made it in the host's program (a node of a visual editor): an opaque string
        /// a panel hands back to its host when the reader activates the trace (1.2).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        source: Option<String>,
    },
    /// Creates a span in a trace. Without `content`, a span starts empty (`""`, `null`, `[]`
    /// by kind).
    #[cfg_attr(
        feature = "schema",
        schemars(transform = optional_field("content"))
    )]
    SpanCreate {
        trace: String,
        span: String,
        kind: SpanKind,
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        title: Option<String>,
        content: Content,
        /// What made it in the host's program, as for a trace (1.2).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        source: Option<String>,
    },
    /// Appends text to a `text` or `markdown` span (the streaming case).
    TextAppend { span: String, text: String },
    /// Replaces a span's content; it is read according to the span's kind.
    ContentReplace {
        span: String,
        #[cfg_attr(feature = "schema", schemars(with = "serde_json::Value"))]
        content: RawJson,
    },
    /// Sets items of an `items` span: an item whose name exists is replaced in place, others are appended.
    ItemsSet { span: String, items: Vec<Item> },
    /// Appends items to an `items` span, even when a name repeats.
    ItemsAdd { span: String, items: Vec<Item> },
    /// Ends a span.
    SpanEnd {
        span: String,
        #[cfg_attr(feature = "serde", serde(flatten))]
        status: Status,
    },
    /// Ends a trace.
    TraceEnd {
        trace: String,
        #[cfg_attr(feature = "serde", serde(flatten))]
        status: Status,
    },
    /// Drops everything: a new run begins.
    Clear,
    /// Appends messages to a `messages` span (protocol 1.1).
    MessagesAdd {
        span: String,
        messages: Vec<Message>,
    },
    /// Appends text to the last message of a `messages` span: the streaming case (1.1).
    MessageAppend { span: String, text: String },
    /// Appends raw JSON text to a `json` span created without content: the document arrives in
    /// pieces; `done` says it is complete (ending the span says so too) (1.1).
    JsonAppend {
        span: String,
        text: String,
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "std::ops::Not::not")
        )]
        done: bool,
    },
    /// Sent by a runtime, not a producer: the process that was writing into an open span
    /// disconnected and did not come back within the runtime's grace period. A later write to
    /// the span, or its end, clears it (1.2).
    SpanInterrupted { span: String },
}

/// The `process` of the events a runtime makes itself (`span_interrupted`).
pub const RUNTIME_PROCESS: &str = "user-trace-runtime";

/// How a span or trace ended: `ok` when `status` is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "status", rename_all = "snake_case"))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(transform = status_ok_by_default))]
pub enum Status {
    Ok,
    Error { message: String },
}

/// The schema says what the reader does: a field the reader defaults is not required.
#[cfg(feature = "schema")]
fn optional_field(name: &'static str) -> impl Fn(&mut schemars::Schema) {
    move |schema: &mut schemars::Schema| {
        if let Some(serde_json::Value::Array(required)) = schema.get_mut("required") {
            required.retain(|field| field != name);
        }
    }
}

/// `{"status": "ok"}` and no `status` at all mean the same: only `error` needs the field.
#[cfg(feature = "schema")]
fn status_ok_by_default(schema: &mut schemars::Schema) {
    let Some(serde_json::Value::Array(branches)) = schema.get_mut("oneOf") else {
        return;
    };
    for branch in branches {
        if branch.pointer("/properties/status/const") == Some(&serde_json::json!("ok")) {
            if let Some(object) = branch.as_object_mut() {
                object.remove("required");
            }
        }
    }
}

impl Op {
    /// The op's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Op::TraceStart { .. } => "trace_start",
            Op::SpanCreate { .. } => "span_create",
            Op::TextAppend { .. } => "text_append",
            Op::ContentReplace { .. } => "content_replace",
            Op::ItemsSet { .. } => "items_set",
            Op::ItemsAdd { .. } => "items_add",
            Op::SpanEnd { .. } => "span_end",
            Op::TraceEnd { .. } => "trace_end",
            Op::Clear => "clear",
            Op::MessagesAdd { .. } => "messages_add",
            Op::MessageAppend { .. } => "message_append",
            Op::JsonAppend { .. } => "json_append",
            Op::SpanInterrupted { .. } => "span_interrupted",
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for Event {
    /// For native serde users: the event's text is read by the protocol's own reader
    /// ([`crate::decode_event`]), as on the wire.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        crate::decode_event(0, raw.get()).map_err(|e| serde::de::Error::custom(e.reason))
    }
}
