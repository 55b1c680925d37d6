//! Messages: what producers, the runtime and panels say to each other.
//!
//! Every message is a JSON object with a `type` tag. Batches of events are decoded leniently:
//! an invalid event becomes an [`EventError`] in its place and the others still decode.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{DecodeError, EventError};
use crate::event::Event;

/// The first message a server sends on every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub struct Hello {
    /// The protocol version the server speaks; a peer that speaks another refuses it.
    pub protocol: u32,
    /// Changes when the server restarts without its journal: sequence numbers of another
    /// session mean nothing, so a panel that sees a new session starts from scratch.
    pub session: String,
    /// The server's name and version, for diagnostics.
    pub server: String,
}

/// Server to panel. `E` is [`Event`] when sending; decoding yields one result per event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub enum ServerMessage<E = Event> {
    /// Sent first.
    Hello(Hello),
    /// Events numbered `first_seq`, `first_seq + 1`, ... in order.
    Events { first_seq: u64, events: Vec<E> },
    /// Replaces everything the panel holds: the current state, compacted into events, as of
    /// sequence number `seq` (live events continue at `seq + 1`).
    Snapshot { seq: u64, events: Vec<E> },
    /// Something the panel should show; the connection may close after it.
    Error { message: String },
}

/// Panel to server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub enum PanelMessage {
    /// Starts the stream. With the session of the server's hello and the last sequence number
    /// the panel holds, the server sends only what follows (or a snapshot when that fell out of
    /// its retained window). Without them the panel gets a snapshot of everything.
    Subscribe {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seq: Option<u64>,
        /// Asks for every later message as a binary frame holding the same UTF-8 JSON. A
        /// browser then hands a frame over as bytes instead of decoding it into a string that
        /// must be copied into wasm again (35–45 ms for a 10 MB snapshot). A server that does
        /// not know the field sends text, which a panel also reads.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        binary: bool,
    },
}

/// Producer to server (over WebSocket, or one `events` message as the body of an HTTP POST).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub enum ProducerMessage<E = Event> {
    /// Events to accept, in the producer's order.
    Events { events: Vec<E> },
}

/// Server to producer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub enum ProducerReply {
    /// Sent first.
    Hello(Hello),
    /// The answer to one `events` message: how many were accepted, and why the others were not.
    Ack {
        accepted: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rejected: Vec<Rejected>,
    },
    /// A problem with the connection itself; it closes after this.
    Error { message: String },
}

/// An event the server refused, and why.
pub type Rejected = EventError;

/// One decoded event of a batch, or why it is invalid.
pub type EventResult = Result<Event, EventError>;

/// A batch as decoded: one entry per event, in order, so sequence numbers stay positional.
pub type DecodedBatch = Vec<EventResult>;

#[derive(Deserialize)]
struct RawMessage<'a, E> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    protocol: Option<u32>,
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    first_seq: Option<u64>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default = "none")]
    events: Option<Vec<E>>,
    #[serde(default)]
    message: Option<String>,
}

fn none<T>() -> Option<T> {
    None
}

fn field<T>(v: Option<T>, name: &str, kind: &str) -> Result<T, DecodeError> {
    v.ok_or_else(|| DecodeError(format!("`{kind}` message needs the field `{name}`")))
}

/// Decodes a message's envelope and its events: the fast path decodes all events in one pass;
/// if any is invalid, the events are decoded one by one so that only the invalid ones are lost.
fn decode_envelope(text: &str) -> Result<RawMessage<'_, EventResult>, DecodeError> {
    match serde_json::from_str::<RawMessage<'_, Event>>(text) {
        Ok(m) => Ok(RawMessage {
            kind: m.kind,
            protocol: m.protocol,
            session: m.session,
            server: m.server,
            first_seq: m.first_seq,
            seq: m.seq,
            events: m.events.map(|v| v.into_iter().map(Ok).collect()),
            message: m.message,
        }),
        Err(_) => {
            // Either the envelope is bad (reported from here) or some event is (reported per event).
            let m = serde_json::from_str::<RawMessage<'_, &RawValue>>(text)?;
            let events = m.events.map(|raws| {
                raws.into_iter()
                    .enumerate()
                    .map(|(index, raw)| decode_event(index, raw.get()))
                    .collect()
            });
            Ok(RawMessage {
                kind: m.kind,
                protocol: m.protocol,
                session: m.session,
                server: m.server,
                first_seq: m.first_seq,
                seq: m.seq,
                events,
                message: m.message,
            })
        }
    }
}

/// Decodes one event; on failure, says which (by id when readable) and why.
pub fn decode_event(index: usize, text: &str) -> EventResult {
    serde_json::from_str::<Event>(text).map_err(|e| {
        #[derive(Deserialize)]
        struct IdOnly {
            id: Option<String>,
        }
        let id = serde_json::from_str::<IdOnly>(text).ok().and_then(|x| x.id);
        EventError {
            index,
            id,
            reason: strip_position(&e),
        }
    })
}

/// serde_json appends "at line 1 column 80" to messages; within one event that is noise.
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Decodes a server message (what a panel receives).
pub fn decode_server(text: &str) -> Result<ServerMessage<EventResult>, DecodeError> {
    let m = decode_envelope(text)?;
    let kind: &str = &m.kind;
    Ok(match kind {
        "hello" => ServerMessage::Hello(Hello {
            protocol: field(m.protocol, "protocol", kind)?,
            session: field(m.session, "session", kind)?,
            server: m.server.unwrap_or_default(),
        }),
        "events" => ServerMessage::Events {
            first_seq: field(m.first_seq, "first_seq", kind)?,
            events: field(m.events, "events", kind)?,
        },
        "snapshot" => ServerMessage::Snapshot {
            seq: field(m.seq, "seq", kind)?,
            events: field(m.events, "events", kind)?,
        },
        "error" => ServerMessage::Error {
            message: m.message.unwrap_or_default(),
        },
        other => return Err(DecodeError(format!("unknown message type `{other}`"))),
    })
}

/// Decodes a producer message (what the server receives on its ingest path).
pub fn decode_producer(text: &str) -> Result<ProducerMessage<EventResult>, DecodeError> {
    let m = decode_envelope(text)?;
    let kind: &str = &m.kind;
    match kind {
        "events" => Ok(ProducerMessage::Events {
            events: field(m.events, "events", kind)?,
        }),
        other => Err(DecodeError(format!("unknown message type `{other}`"))),
    }
}

/// Decodes a panel message (what the server receives on its panel path).
pub fn decode_panel(text: &str) -> Result<PanelMessage, DecodeError> {
    Ok(serde_json::from_str(text)?)
}

impl<E: Serialize> ServerMessage<E> {
    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        // Our types serialize infallibly (string keys only).
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl<E: Serialize> ProducerMessage<E> {
    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
