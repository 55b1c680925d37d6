//! Writes messages as JSON text, byte for byte as serde_json writes the same types.
//!
//! The counterpart of [`crate::reader`]: a JSON span's text is copied as it is (serde would
//! validate a 10 MB value again before copying it), the output is sized once, and the panel's
//! wasm carries no serde serializer.

use crate::content::{Content, Item, RawJson};
use crate::conversation::{Message, MessageContent, Part};
use crate::event::{Event, Op, Status};
use crate::message::{Hello, PanelMessage, ProducerMessage, ProducerReply, ServerMessage};
use crate::reader::plain_run;

/// Appends `s` as a JSON string literal: `"` and `\` and control characters escaped, as
/// serde_json does (short escapes where JSON has them, else `\u00XX`); everything else as is.
pub fn string(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    out.push('"');
    let mut run = 0;
    loop {
        let i = plain_run(bytes, run);
        out.push_str(s.get(run..i).unwrap_or_default());
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
        run = i + 1;
    }
    out.push('"');
}

fn key(out: &mut String, name: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
}

fn string_field(out: &mut String, name: &str, value: &str) {
    key(out, name);
    string(out, value);
}

fn number(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits: one append, not one a digit (a timestamp has 16).
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

fn number_field(out: &mut String, name: &str, n: u64) {
    key(out, name);
    number(out, n);
}

/// About how many bytes an event takes (at least its JSON's length, for the events a
/// producer or the OTLP mapping makes), to size a frame once.
pub fn size_hint(e: &Event) -> usize {
    let content = match &e.op {
        Op::SpanCreate { content, .. } => content.heap_bytes(),
        Op::ContentReplace { content, .. } => content.len(),
        Op::TextAppend { text, .. }
        | Op::MessageAppend { text, .. }
        | Op::JsonAppend { text, .. } => text.len(),
        Op::MessagesAdd { messages, .. } => messages.iter().map(Message::heap_bytes).sum(),
        Op::ItemsSet { items, .. } | Op::ItemsAdd { items, .. } => items
            .iter()
            .map(|i| i.name.len() + i.value.len() + 24)
            .sum(),
        _ => 0,
    };
    content + e.id.len() + e.process.len() + 128
}

fn items(out: &mut String, items: &[Item]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        string(out, &item.name);
        out.push_str(",\"value\":");
        item.value.push_to(out);
        out.push('}');
    }
    out.push(']');
}

/// Appends messages as a JSON array, field by field as serde writes [`Message`].
pub fn messages(out: &mut String, list: &[Message]) {
    out.push('[');
    for (i, m) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"role\":");
        string(out, &m.role);
        if let Some(name) = &m.name {
            string_field(out, "name", name);
        }
        key(out, "content");
        match &m.content {
            MessageContent::Text(t) => string(out, t),
            MessageContent::Parts(parts) => {
                out.push('[');
                for (j, p) in parts.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    match p {
                        Part::Text(t) => {
                            out.push_str("{\"type\":\"text\",\"text\":");
                            string(out, t);
                            out.push('}');
                        }
                        Part::Other(raw) => raw.push_to(out),
                    }
                }
                out.push(']');
            }
        }
        if !m.tool_calls.is_empty() {
            key(out, "tool_calls");
            out.push('[');
            for (j, c) in m.tool_calls.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push('{');
                if let Some(id) = &c.id {
                    out.push_str("\"id\":");
                    string(out, id);
                    out.push(',');
                }
                out.push_str("\"name\":");
                string(out, &c.name);
                raw_field(out, "arguments", &c.arguments);
                out.push('}');
            }
            out.push(']');
        }
        if let Some(id) = &m.tool_call_id {
            string_field(out, "tool_call_id", id);
        }
        out.push('}');
    }
    out.push(']');
}

/// Appends a span's content as JSON.
pub fn content(out: &mut String, c: &Content) {
    match c {
        Content::Text(t) => string(out, t),
        Content::Items(list) => items(out, list),
        Content::Error(e) => {
            out.push_str("{\"message\":");
            string(out, &e.message);
            if let Some(d) = &e.details {
                out.push_str(",\"details\":");
                d.push_to(out);
            }
            out.push('}');
        }
        Content::Json(j) => j.push_to(out),
        Content::Messages(list) => messages(out, list),
    }
}

/// A span's content as a JSON value (valid by construction: not validated again).
pub fn content_json(c: &Content) -> RawJson {
    let mut out = String::new();
    content(&mut out, c);
    RawJson::from_validated(&out)
}

fn status(out: &mut String, s: &Status) {
    match s {
        Status::Ok => string_field(out, "status", "ok"),
        Status::Error { message } => {
            string_field(out, "status", "error");
            string_field(out, "message", message);
        }
    }
}

fn raw_field(out: &mut String, name: &str, raw: &RawJson) {
    key(out, name);
    raw.push_to(out);
}

/// Appends an event as its flat wire object.
pub fn event(out: &mut String, e: &Event) {
    out.push_str("{\"id\":");
    string(out, &e.id);
    string_field(out, "process", &e.process);
    number_field(out, "ts", e.ts);
    string_field(out, "op", e.op.name());
    match &e.op {
        Op::TraceStart {
            trace,
            name,
            parent_span,
            source,
        } => {
            string_field(out, "trace", trace);
            string_field(out, "name", name);
            if let Some(p) = parent_span {
                string_field(out, "parent_span", p);
            }
            if let Some(s) = source {
                string_field(out, "source", s);
            }
        }
        Op::SpanCreate {
            trace,
            span,
            kind,
            title,
            content: c,
            source,
        } => {
            string_field(out, "trace", trace);
            string_field(out, "span", span);
            string_field(out, "kind", kind.as_str());
            if let Some(t) = title {
                string_field(out, "title", t);
            }
            key(out, "content");
            content(out, c);
            if let Some(s) = source {
                string_field(out, "source", s);
            }
        }
        Op::TextAppend { span, text } => {
            string_field(out, "span", span);
            string_field(out, "text", text);
        }
        Op::ContentReplace { span, content } => {
            string_field(out, "span", span);
            raw_field(out, "content", content);
        }
        Op::ItemsSet { span, items: list } | Op::ItemsAdd { span, items: list } => {
            string_field(out, "span", span);
            key(out, "items");
            items(out, list);
        }
        Op::SpanEnd { span, status: s } => {
            string_field(out, "span", span);
            status(out, s);
        }
        Op::TraceEnd { trace, status: s } => {
            string_field(out, "trace", trace);
            status(out, s);
        }
        Op::Clear => {}
        Op::MessagesAdd {
            span,
            messages: list,
        } => {
            string_field(out, "span", span);
            key(out, "messages");
            messages(out, list);
        }
        Op::MessageAppend { span, text } => {
            string_field(out, "span", span);
            string_field(out, "text", text);
        }
        Op::JsonAppend { span, text, done } => {
            string_field(out, "span", span);
            string_field(out, "text", text);
            if *done {
                out.push_str(",\"done\":true");
            }
        }
        Op::SpanInterrupted { span } => string_field(out, "span", span),
    }
    out.push('}');
}

fn events(out: &mut String, list: &[Event]) {
    key(out, "events");
    out.push('[');
    for (i, e) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        event(out, e);
    }
    out.push(']');
}

/// A message of type `kind` carrying `list`, after a numbered field when given; sized once.
fn batch(kind: &str, number: Option<(&str, u64)>, list: &[Event]) -> String {
    let mut out = String::with_capacity(list.iter().map(size_hint).sum::<usize>() + 64);
    out.push_str("{\"type\":");
    string(&mut out, kind);
    if let Some((name, n)) = number {
        number_field(&mut out, name, n);
    }
    events(&mut out, list);
    out.push('}');
    out
}

impl Event {
    /// The event's JSON text (its flat wire object).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(size_hint(self));
        event(&mut out, self);
        out
    }
}

impl ServerMessage<Event> {
    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        match self {
            ServerMessage::Hello(h) => hello(h),
            ServerMessage::Events {
                first_seq,
                events: list,
            } => batch("events", Some(("first_seq", *first_seq)), list),
            ServerMessage::Snapshot { seq, events: list } => {
                batch("snapshot", Some(("seq", *seq)), list)
            }
            ServerMessage::SnapshotPart {
                seq,
                part,
                last,
                events: list,
            } => {
                let mut out = snapshot_part_head(*seq, *part, *last);
                out.reserve(list.iter().map(size_hint).sum::<usize>() + 16);
                events(&mut out, list);
                out.push('}');
                out
            }
            ServerMessage::Error { message } => {
                let mut out = String::from("{\"type\":\"error\"");
                string_field(&mut out, "message", message);
                out.push('}');
                out
            }
        }
    }
}

/// A `snapshot_part` message up to its `events` field.
fn snapshot_part_head(seq: u64, part: u32, last: bool) -> String {
    let mut out = String::from("{\"type\":\"snapshot_part\"");
    number_field(&mut out, "seq", seq);
    number_field(&mut out, "part", u64::from(part));
    out.push_str(if last {
        ",\"last\":true"
    } else {
        ",\"last\":false"
    });
    out
}

/// A snapshot as of `seq` in `snapshot_part` messages of about `part_bytes` each (at least
/// one event per part, and one part when there are no events; an event of `part_bytes` or
/// more alone), each written when it is
/// asked for: the first can be on its way before the rest is written, and only one is held.
pub fn snapshot_parts(seq: u64, list: &[Event], part_bytes: usize) -> SnapshotParts<'_> {
    SnapshotParts {
        rest: list,
        writer: Some(PartWriter::new(seq, part_bytes)),
    }
}

/// The parts [`snapshot_parts`] writes, in order.
pub struct SnapshotParts<'a> {
    /// Events not yet written.
    rest: &'a [Event],
    /// `None` once the last part was written.
    writer: Option<PartWriter>,
}

impl Iterator for SnapshotParts<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let writer = self.writer.as_mut()?;
        while let Some((e, rest)) = self.rest.split_first() {
            self.rest = rest;
            if let Some(part) = writer.push(e) {
                return Some(part);
            }
        }
        self.writer.take().map(PartWriter::finish)
    }
}

/// The largest WebSocket frame the runtime and the SDK send: a longer message goes out in
/// fragments (continuation frames) of at most this many bytes. A WebSocket library keeps its
/// write buffer at the largest frame it sent, and its reader its read buffer at the largest it
/// read, for the connection's life: in fragments, neither side keeps a large message.
pub const FRAGMENT_BYTES: usize = 1 << 20;

/// Where fragments of at most `max` bytes of `text` end, each on a character boundary (a
/// character longer than `max` goes whole).
pub fn fragment_ends(text: &str, max: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(text.len() / max.max(1) + 1);
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + max).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end == at {
            end = at + text[at..].chars().next().map_or(1, char::len_utf8);
        }
        out.push(end);
        at = end;
    }
    out
}

/// Room for a part's head and tail (`{"type":"snapshot_part","seq":…,"part":…,"last":false,
/// "events":[` and `]}`, at most 94 bytes), reserved with its first event.
const HEAD_ROOM: usize = 128;

/// Writes a snapshot as of `seq` as `snapshot_part` messages from its events given one at a
/// time, for a snapshot that is still being made: a part ends once its events' hinted size
/// reaches `part_bytes` (at least one event a part, and one part when there are none), an event
/// of `part_bytes` or more is a part of its own, and a part is
/// handed out when the event after it comes (so it is not the last) or at [`PartWriter::finish`].
pub struct PartWriter {
    seq: u64,
    part: u32,
    part_bytes: usize,
    /// The events of the part being filled, as JSON (`{…},{…}`), how many, and their hinted size.
    body: String,
    count: usize,
    hinted: usize,
}

impl PartWriter {
    pub fn new(seq: u64, part_bytes: usize) -> Self {
        PartWriter {
            seq,
            part: 0,
            part_bytes,
            body: String::new(),
            count: 0,
            hinted: 0,
        }
    }

    /// Adds `e`; the part before it when `e` starts a new one.
    pub fn push(&mut self, e: &Event) -> Option<String> {
        let hint = size_hint(e);
        // An event of a part's size or more travels alone: a panel keeps a large JSON value
        // in the frame it came in rather than copy it out, when it is most of that frame.
        let full = (self.count > 0 && (self.hinted >= self.part_bytes || hint >= self.part_bytes))
            .then(|| self.close(false));
        // Room for the event as hinted, and for the part's head when it is the first: a large
        // event is written once, without its buffer doubling its way up (each step a fresh
        // copy of pages the system must clear), and closing the part moves it in place.
        if self.count == 0 {
            self.body.reserve(hint.max(self.part_bytes) + HEAD_ROOM);
        } else {
            self.body.reserve(hint);
            self.body.push(',');
        }
        event(&mut self.body, e);
        self.count += 1;
        self.hinted += hint;
        full
    }

    /// The last part.
    pub fn finish(mut self) -> String {
        self.close(true)
    }

    fn close(&mut self, last: bool) -> String {
        let mut head = snapshot_part_head(self.seq, self.part, last);
        key(&mut head, "events");
        head.push('[');
        let mut out = std::mem::take(&mut self.body);
        out.insert_str(0, &head);
        out.push_str("]}");
        self.count = 0;
        self.hinted = 0;
        self.part = self.part.saturating_add(1);
        out
    }
}

impl ProducerMessage<Event> {
    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        let ProducerMessage::Events { events: list } = self;
        Self::events_json(list)
    }

    /// The `events` message of `list`, without owning the events.
    pub fn events_json(list: &[Event]) -> String {
        batch("events", None, list)
    }
}

/// A hello, to a panel or a producer alike.
fn hello(h: &Hello) -> String {
    let mut out = String::from("{\"type\":\"hello\"");
    number_field(&mut out, "protocol", u64::from(h.protocol));
    string_field(&mut out, "session", &h.session);
    string_field(&mut out, "server", &h.server);
    if let Some(l) = &h.limits {
        out.push_str(",\"limits\":{\"max_message_bytes\":");
        number(&mut out, l.max_message_bytes);
        number_field(&mut out, "max_label_bytes", l.max_label_bytes);
        number_field(&mut out, "max_text_bytes", l.max_text_bytes);
        number_field(&mut out, "max_json_bytes", l.max_json_bytes);
        number_field(&mut out, "max_items", l.max_items);
        out.push('}');
    }
    out.push('}');
    out
}

impl ProducerReply {
    /// The JSON text frame (or HTTP body) of a reply to a producer.
    pub fn to_json(&self) -> String {
        match self {
            ProducerReply::Hello(h) => hello(h),
            ProducerReply::Ack { accepted, rejected } => {
                let mut out = String::from("{\"type\":\"ack\"");
                number_field(&mut out, "accepted", *accepted);
                if !rejected.is_empty() {
                    out.push_str(",\"rejected\":[");
                    for (i, r) in rejected.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str("{\"index\":");
                        number(&mut out, r.index as u64);
                        if let Some(id) = &r.id {
                            string_field(&mut out, "id", id);
                        }
                        string_field(&mut out, "reason", &r.reason);
                        out.push('}');
                    }
                    out.push(']');
                }
                out.push('}');
                out
            }
            ProducerReply::Error { message, close } => {
                let mut out = String::from("{\"type\":\"error\"");
                string_field(&mut out, "message", message);
                if let Some(code) = close {
                    number_field(&mut out, "close", u64::from(*code));
                }
                out.push('}');
                out
            }
        }
    }
}

impl PanelMessage {
    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        let PanelMessage::Subscribe {
            session,
            last_seq,
            binary,
            parts,
        } = self;
        let mut out = String::from("{\"type\":\"subscribe\"");
        if let Some(s) = session {
            string_field(&mut out, "session", s);
        }
        if let Some(n) = last_seq {
            number_field(&mut out, "last_seq", *n);
        }
        if *binary {
            out.push_str(",\"binary\":true");
        }
        if *parts {
            out.push_str(",\"parts\":true");
        }
        out.push('}');
        out
    }
}
