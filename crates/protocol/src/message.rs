//! Messages: what producers, the runtime and panels say to each other.
//!
//! Every message is a JSON object with a `type` tag. Batches of events are decoded leniently:
//! an invalid event becomes an [`EventError`] in its place and the others still decode.

use std::borrow::Cow;
use std::sync::Arc;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, EventError};
use crate::event::Event;
use crate::reader::{ReadError, Reader};
use crate::wire::RawEvent;

/// The first message a server sends on every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Hello {
    /// The protocol version the server speaks; a peer that speaks another refuses it.
    pub protocol: u32,
    /// Changes when the server restarts without its journal: sequence numbers of another
    /// session mean nothing, so a panel that sees a new session starts from scratch.
    pub session: String,
    /// The server's name and version, for diagnostics.
    pub server: String,
    /// What the server accepts on this connection, so that a client learns it rather than
    /// guesses (1.2). The panel's reader skips it: a panel sends only its `subscribe`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub limits: Option<Limits>,
}

/// The limits a server enforces, in its hello (1.2). Over one, a message is refused with an
/// `error` and a close (1009), an event with a reason in the `ack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Limits {
    /// Largest message (one WebSocket message or HTTP body) read from this client, in bytes.
    pub max_message_bytes: u64,
    /// Longest id (event, trace, span), name, title, process or role, in bytes.
    pub max_label_bytes: u64,
    /// Longest text of a span or of a message, with its appends, in bytes.
    pub max_text_bytes: u64,
    /// Largest JSON value of a span (content, a streamed document, a part, arguments), in bytes.
    pub max_json_bytes: u64,
    /// Most items of an `items` span, and most messages of a `messages` span.
    pub max_items: u64,
}

/// Server to panel. `E` is [`Event`] when sending; decoding yields one result per event.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ServerMessage<E = Event> {
    /// Sent first.
    Hello(Hello),
    /// Events numbered `first_seq`, `first_seq + 1`, ... in order.
    Events { first_seq: u64, events: Vec<E> },
    /// Replaces everything the panel holds: the current state, compacted into events, as of
    /// sequence number `seq` (live events continue at `seq + 1`).
    Snapshot { seq: u64, events: Vec<E> },
    /// One part of a snapshot sent in parts, to a panel that asked for them (`parts` in its
    /// subscribe; 1.3): part 0 replaces everything the panel holds, each later part adds to
    /// it, in order; live events continue at `seq + 1` after the part marked `last`. A panel
    /// applies each part as it comes, so it never holds the whole snapshot's text at once.
    SnapshotPart {
        seq: u64,
        part: u32,
        last: bool,
        events: Vec<E>,
    },
    /// Something the panel should show; the connection may close after it.
    Error { message: String },
}

/// Panel to server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum PanelMessage {
    /// Starts the stream. With the session of the server's hello and the last sequence number
    /// the panel holds, the server sends only what follows (or a snapshot when that fell out of
    /// its retained window). Without them the panel gets a snapshot of everything.
    Subscribe {
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        session: Option<String>,
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        last_seq: Option<u64>,
        /// Asks for every later message as a binary frame holding the same UTF-8 JSON. A
        /// browser then hands a frame over as bytes instead of decoding it into a string that
        /// must be copied into wasm again (35–45 ms for a 10 MB snapshot). A server that does
        /// not know the field sends text, which a panel also reads.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "std::ops::Not::not")
        )]
        binary: bool,
        /// Asks for a snapshot in parts of about a MiB ([`ServerMessage::SnapshotPart`])
        /// instead of one message (1.3): the panel applies each as it comes, so the snapshot
        /// of a large state never sits whole in its memory. A server that does not know the
        /// field sends one `snapshot`, which a panel also reads.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "std::ops::Not::not")
        )]
        parts: bool,
    },
}

/// Producer to server (over WebSocket, or one `events` message as the body of an HTTP POST).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ProducerMessage<E = Event> {
    /// Events to accept, in the producer's order.
    Events { events: Vec<E> },
}

/// Server to producer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ProducerReply {
    /// Sent first.
    Hello(Hello),
    /// The answer to one `events` message: how many were accepted, and why the others were not.
    Ack {
        accepted: u64,
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Vec::is_empty")
        )]
        rejected: Vec<Rejected>,
    },
    /// The batch (the oldest not yet acknowledged) was not accepted, or a problem with the
    /// connection itself.
    Error {
        message: String,
        /// Set when the connection closes right after, with this close code (1009: a
        /// message over the size limit, 1007: a text frame that is not UTF-8), so that a
        /// client knows at once what to do (halve a batch that is too big) without waiting
        /// for the close frame. Absent: send the batch again (the server is stopping, or its
        /// store could not keep it).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        close: Option<u16>,
    },
}

/// An event the server refused, and why.
pub type Rejected = EventError;

/// One decoded event of a batch, or why it is invalid.
pub type EventResult = Result<Event, EventError>;

/// A batch as decoded: one entry per event, in order, so sequence numbers stay positional.
pub type DecodedBatch = Vec<EventResult>;

/// Every field any message may carry, read in one pass.
#[derive(Default)]
struct RawMessage<'a> {
    kind: Option<Cow<'a, str>>,
    protocol: Option<u64>,
    session: Option<String>,
    server: Option<String>,
    first_seq: Option<u64>,
    seq: Option<u64>,
    part: Option<u64>,
    last: Option<bool>,
    events: Option<DecodedBatch>,
    message: Option<String>,
}

fn field<T>(v: Option<T>, name: &str, kind: &str) -> Result<T, DecodeError> {
    v.ok_or_else(|| DecodeError(format!("`{kind}` message needs the field `{name}`")))
}

fn kind_of(kind: Option<Cow<'_, str>>) -> Result<Cow<'_, str>, DecodeError> {
    kind.ok_or_else(|| DecodeError("malformed message: missing field `type`".into()))
}

fn malformed(e: ReadError) -> DecodeError {
    DecodeError(format!("malformed message: {e}"))
}

/// Reads a message's envelope and its events in one pass. An event that is not a valid event
/// is skipped as any JSON value and reported in its place, so only the invalid ones are lost;
/// text that is not JSON at all is the whole message's error.
fn decode_envelope<'a>(
    text: &'a str,
    frame: Option<&Arc<str>>,
) -> Result<RawMessage<'a>, DecodeError> {
    let mut r = Reader::new(text);
    let mut m = RawMessage::default();
    let optional_u64 = |r: &mut Reader<'_>| {
        if r.null() {
            Ok(None)
        } else {
            r.u64().map(Some)
        }
    };
    r.object(|r, key| {
        match &*key {
            "type" => m.kind = Some(r.string()?),
            "protocol" => m.protocol = optional_u64(r)?,
            "session" => m.session = r.optional_string()?,
            "server" => m.server = r.optional_string()?,
            "first_seq" => m.first_seq = optional_u64(r)?,
            "seq" => m.seq = optional_u64(r)?,
            "part" => m.part = optional_u64(r)?,
            "last" if r.null() => m.last = None,
            "last" => m.last = Some(r.bool().map_err(|e| e.in_field("last"))?),
            "events" if r.null() => m.events = None,
            "events" => m.events = Some(read_events(r, frame, text.len())?),
            "message" => m.message = r.optional_string()?,
            _ => r.skip()?,
        }
        Ok(())
    })
    .and_then(|()| r.end())
    .map_err(malformed)?;
    Ok(m)
}

/// Room for a message's events is made once from its length, not grown by doubling (an event
/// is about 200 bytes in memory, and a producer's batch is hundreds of them): one event a
/// `BYTES_PER_EVENT` bytes of the message (a small event's size on the wire), at most
/// `PRESIZED` (a message of one large event does not reserve room for thousands).
const BYTES_PER_EVENT: usize = 100;
const PRESIZED: usize = 1024;

fn read_events(
    r: &mut Reader<'_>,
    frame: Option<&Arc<str>>,
    message_bytes: usize,
) -> Result<DecodedBatch, ReadError> {
    let mut events = Vec::with_capacity((message_bytes / BYTES_PER_EVENT).min(PRESIZED));
    r.array(|r| {
        r.peek();
        let start = r.position();
        let event = match RawEvent::read(r) {
            Ok(raw) => raw.into_event(frame),
            Err(e) => {
                r.seek(start);
                let id = id_of(r.raw()?);
                Err((id, e.what.into_owned()))
            }
        };
        let index = events.len();
        events.push(event.map_err(|(id, reason)| EventError { index, id, reason }));
        Ok(())
    })?;
    Ok(events)
}

/// The `id` of an event that could not be read, if it can be found.
fn id_of(raw: &str) -> Option<String> {
    let mut id = None;
    let _ = Reader::new(raw).object(|r, key| {
        if key == "id" && id.is_none() {
            if let Ok(s) = r.owned_string() {
                id = Some(s);
                return Ok(());
            }
        }
        r.skip()
    });
    id
}

/// Decodes one event; on failure, says which (by id when readable) and why.
pub fn decode_event(index: usize, text: &str) -> EventResult {
    let mut r = Reader::new(text);
    let result = match RawEvent::read(&mut r).and_then(|e| r.end().map(|()| e)) {
        Ok(raw) => raw.into_event(None),
        Err(e) => Err((id_of(text), e.what.into_owned())),
    };
    result.map_err(|(id, reason)| EventError { index, id, reason })
}

/// Decodes a server message (what a panel receives).
pub fn decode_server(text: &str) -> Result<ServerMessage<EventResult>, DecodeError> {
    server_message(text, None)
}

/// Decodes a server message held in shared text: a JSON content that is most of the frame (a
/// large span's in a snapshot) keeps the frame's text rather than a copy of itself.
pub fn decode_server_frame(frame: &Arc<str>) -> Result<ServerMessage<EventResult>, DecodeError> {
    server_message(frame, Some(frame))
}

fn server_message(
    text: &str,
    frame: Option<&Arc<str>>,
) -> Result<ServerMessage<EventResult>, DecodeError> {
    let m = decode_envelope(text, frame)?;
    let kind: &str = &kind_of(m.kind)?;
    Ok(match kind {
        "hello" => ServerMessage::Hello(Hello {
            protocol: u32::try_from(field(m.protocol, "protocol", kind)?)
                .map_err(|_| DecodeError("`protocol` is not a version number".into()))?,
            session: field(m.session, "session", kind)?,
            server: m.server.unwrap_or_default(),
            limits: None,
        }),
        "events" => ServerMessage::Events {
            first_seq: field(m.first_seq, "first_seq", kind)?,
            events: field(m.events, "events", kind)?,
        },
        "snapshot" => ServerMessage::Snapshot {
            seq: field(m.seq, "seq", kind)?,
            events: field(m.events, "events", kind)?,
        },
        "snapshot_part" => ServerMessage::SnapshotPart {
            seq: field(m.seq, "seq", kind)?,
            part: u32::try_from(field(m.part, "part", kind)?)
                .map_err(|_| DecodeError("`part` is not a part number".into()))?,
            last: field(m.last, "last", kind)?,
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
    let m = decode_envelope(text, None)?;
    let kind: &str = &kind_of(m.kind)?;
    match kind {
        "events" => Ok(ProducerMessage::Events {
            events: field(m.events, "events", kind)?,
        }),
        other => Err(DecodeError(format!("unknown message type `{other}`"))),
    }
}

/// Decodes a panel message (what the server receives on its panel path).
/// Read with the protocol's own reader, as every other message is: one JSON path per job.
pub fn decode_panel(text: &str) -> Result<PanelMessage, DecodeError> {
    let mut r = Reader::new(text);
    let (mut kind, mut session, mut last_seq) = (None, None, None);
    let (mut binary, mut parts) = (false, false);
    r.object(|r, key| {
        match &*key {
            "type" => kind = Some(r.string()?.into_owned()),
            "session" => session = r.optional_string()?,
            "last_seq" if r.null() => last_seq = None,
            "last_seq" => last_seq = Some(r.u64().map_err(|e| e.in_field("last_seq"))?),
            "binary" if r.null() => binary = false,
            "binary" => binary = r.bool().map_err(|e| e.in_field("binary"))?,
            "parts" if r.null() => parts = false,
            "parts" => parts = r.bool().map_err(|e| e.in_field("parts"))?,
            _ => r.skip()?,
        }
        Ok(())
    })
    .and_then(|()| r.end())
    .map_err(malformed)?;
    match kind.as_deref() {
        Some("subscribe") => Ok(PanelMessage::Subscribe {
            session,
            last_seq,
            binary,
            parts,
        }),
        Some(other) => Err(DecodeError(format!("unknown message type `{other}`"))),
        None => Err(DecodeError(
            "malformed message: missing field `type`".into(),
        )),
    }
}
