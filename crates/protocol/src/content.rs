//! What a span shows: its kind and its content.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

#[cfg(feature = "serde")]
use serde::{Deserialize, Deserializer, Serialize, Serializer};
#[cfg(feature = "serde")]
use serde_json::value::RawValue;

use crate::conversation::{read_messages, Message};
use crate::outline::Outline;
use crate::reader::{ReadError, Reader};
use crate::stream_text::{StreamText, Text};
use crate::wire::read_items;

/// A JSON value kept exactly as the producer sent it: key order, number text, escapes.
///
/// It is validated once on decode and never turned into a tree of values (a
/// `serde_json::Value` costs about ten times the text's size); the model reads it lazily. The
/// text is shared: cloning a content, or handing it to a view, copies no bytes.
#[derive(Clone)]
pub struct RawJson {
    /// The text that holds the value: the value alone, or the frame it arrived in (then
    /// `big.range` says where in it).
    text: Arc<str>,
    /// What only a large value has (one pointer, so that a small value costs no more).
    big: Option<Arc<Big>>,
}

/// A large value's extras.
struct Big {
    /// The value's place in `text` (all of it, unless `text` is the frame it arrived in).
    range: Range<usize>,
    /// Found by the decoder for a large container, in the pass that validated it.
    outline: Option<Arc<Outline>>,
    /// A streamed document, kept in the chunks it arrived in (`text` is then empty).
    streamed: Option<Streamed>,
}

/// A document kept in its chunks: read through [`RawJson::text`] it is never copied; the
/// readers that need one string ([`RawJson::get`]) join it once, on the first call.
struct Streamed {
    text: StreamText,
    joined: OnceLock<Arc<str>>,
}

/// A value at least this share of its frame (in quarters) keeps the frame's text instead of a
/// copy: a panel's frame is copied into wasm once, and wasm memory never shrinks, so a copy of a
/// 100 MB value would hold twice its size for good. Below it, a value is copied, so that a small
/// value never keeps a large frame alive.
const SHARE_QUARTERS: usize = 3;
/// Smaller values are always copied: sharing a frame costs a small allocation of its own.
const SHARE_FROM: usize = 64 << 10;

impl RawJson {
    /// Validates `text` as one JSON value (surrounding whitespace is dropped).
    pub fn from_string(text: String) -> Result<Self, ReadError> {
        crate::reader::validate(&text)?;
        let trimmed = text.trim();
        Ok(Self::plain(if trimmed.len() == text.len() {
            Arc::from(text)
        } else {
            Arc::from(trimmed)
        }))
    }
    /// Validates `text` as one JSON value and copies it (without surrounding whitespace) into
    /// the shared text: one pass and one copy.
    pub fn try_from_str(text: &str) -> Result<Self, ReadError> {
        crate::reader::validate(text)?;
        Ok(Self::plain(Arc::from(text.trim())))
    }
    /// A streamed document whose text its incremental parser found to be one complete JSON
    /// value, kept in its chunks (whitespace after the value is dropped): making it one string
    /// would hold it twice at that moment, and in the panel's wasm, whose memory never shrinks,
    /// for good. The model's stream parser is held equal to the validating reader by tests
    /// (`crates/model/tests/json_stream.rs`), so the text is not read again here.
    pub fn from_streamed(mut text: StreamText) -> Self {
        text.trim_end();
        Self {
            // A text of its own, so that only clones of this value are `same` as it.
            text: Arc::from(""),
            big: Some(Arc::new(Big {
                range: 0..text.len(),
                outline: None,
                streamed: Some(Streamed {
                    text,
                    joined: OnceLock::new(),
                }),
            })),
        }
    }
    /// Serializes any value (used by producers and tests).
    #[cfg(feature = "serde")]
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Self {
        // Serializing into a String cannot fail for the types we pass (no non-string map keys).
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        Self::from_string(text).unwrap_or_else(|_| Self::null())
    }
    /// JSON `null`.
    pub fn null() -> Self {
        Self::plain(Arc::from("null"))
    }
    fn plain(text: Arc<str>) -> Self {
        Self { text, big: None }
    }
    /// The JSON text as one string. A streamed document is joined into one on the first call
    /// (and then held twice): readers that can take it in parts use [`RawJson::text`].
    pub fn get(&self) -> &str {
        let (text, range) = self.whole();
        text.get(range).unwrap_or_default()
    }
    /// The JSON text, in the parts it is kept in: never copied.
    pub fn text(&self) -> Text<'_> {
        match self.streamed() {
            Some(s) => s.text.text(),
            None => Text::Whole(self.get()),
        }
    }
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.range().len()
    }
    /// Whether the text is empty (never, for a valid value).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends the JSON text to `out`, part by part.
    pub fn push_to(&self, out: &mut String) {
        match self.streamed() {
            Some(s) => s.text.chunks().iter().for_each(|part| out.push_str(part)),
            None => out.push_str(self.get()),
        }
    }
    fn streamed(&self) -> Option<&Streamed> {
        self.big.as_ref().and_then(|b| b.streamed.as_ref())
    }
    fn range(&self) -> Range<usize> {
        match self.big.as_deref() {
            Some(b) => b.range.clone(),
            None => 0..self.text.len(),
        }
    }
    /// The one string that holds the value (joining a streamed document's parts the first
    /// time), and the value's place in it.
    fn whole(&self) -> (&Arc<str>, Range<usize>) {
        match self.streamed() {
            Some(s) => (s.joined.get_or_init(|| join(&s.text)), self.range()),
            None => (&self.text, self.range()),
        }
    }
    /// The shared text that holds the value, and the value's place in it: the views keep these,
    /// so that no view copies the value (a streamed document is joined: see [`RawJson::get`]).
    pub fn shared(&self) -> (Arc<str>, Range<usize>) {
        let (text, range) = self.whole();
        (text.clone(), range)
    }
    /// Whether both are the same shared value (not only equal text).
    pub fn same(&self, other: &RawJson) -> bool {
        Arc::ptr_eq(&self.text, &other.text) && self.range() == other.range()
    }
    /// The bytes this value keeps alive: its frame's when it shares one, a streamed document's
    /// chunks. The same for the value's whole life, since the model adds it when it takes the
    /// value and takes it off when it drops it: a streamed document's joined copy, made later
    /// for a reader that needs one string, is not counted.
    pub fn held_bytes(&self) -> usize {
        match self.streamed() {
            Some(s) => s.text.heap_bytes(),
            None => self.text.len(),
        }
    }
    /// The top level's outline, when the decoder found it (large containers only).
    pub fn outline(&self) -> Option<Arc<Outline>> {
        self.big.as_ref().and_then(|b| b.outline.clone())
    }
    #[cfg(feature = "serde")]
    pub(crate) fn from_raw(raw: Box<RawValue>) -> Self {
        let text: Box<str> = raw.into();
        Self::plain(Arc::from(text))
    }
    /// From JSON validated in place in a frame: one copy, into the shared text (an owned
    /// string first would make two, and a 10 MB span would peak at three times its size).
    pub(crate) fn from_validated(raw: &str) -> Self {
        Self::plain(Arc::from(raw))
    }
    /// The same, with the outline found while validating it. With the `frame` that `raw` was
    /// read from, a value that is most of it keeps the frame's text instead of a copy.
    pub(crate) fn from_outlined(
        raw: &str,
        outline: Option<Outline>,
        frame: Option<&Arc<str>>,
    ) -> Self {
        let outline = outline.map(Arc::new);
        let shared = frame.filter(|_| raw.len() >= SHARE_FROM).and_then(|f| {
            // `raw` is a `str` inside `f` when it starts and ends within it.
            let start = (raw.as_ptr() as usize).checked_sub(f.as_ptr() as usize)?;
            let inside = start + raw.len() <= f.len();
            let most = raw.len() >= f.len() / 4 * SHARE_QUARTERS;
            (inside && most).then(|| (f.clone(), start..start + raw.len()))
        });
        match shared {
            Some((text, range)) => Self {
                text,
                big: Some(Arc::new(Big {
                    range,
                    outline,
                    streamed: None,
                })),
            },
            None => Self {
                text: Arc::from(raw),
                big: outline.map(|outline| {
                    Arc::new(Big {
                        range: 0..raw.len(),
                        outline: Some(outline),
                        streamed: None,
                    })
                }),
            },
        }
    }
}

/// A streamed document's parts as one shared string: copied once, straight into the shared
/// allocation (a `String` first would hold it a third time meanwhile).
fn join(text: &StreamText) -> Arc<str> {
    let parts = text.chunks();
    let mut joined = Arc::<[u8]>::new_uninit_slice(text.len());
    let Some(dst) = Arc::get_mut(&mut joined) else {
        // Never: a new `Arc` is not shared.
        return Arc::default();
    };
    let mut filled = 0;
    for part in parts {
        // SAFETY: the parts are `text.len()` bytes in all, so each fits where it is copied to.
        unsafe {
            std::ptr::copy_nonoverlapping(
                part.as_ptr(),
                dst.as_mut_ptr().add(filled).cast::<u8>(),
                part.len(),
            );
        }
        filled += part.len();
    }
    // SAFETY: all the bytes were written just above.
    let bytes = unsafe { joined.assume_init() };
    // SAFETY: the bytes are the `str` parts one after another, so UTF-8, and `str` has the
    // layout of `[u8]`.
    unsafe { Arc::from_raw(Arc::into_raw(bytes) as *const str) }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        // The same shared text is the same value, without reading it (a view compares what it
        // shows on every change of its span).
        self.same(other) || self.get() == other.get()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.get())
    }
}

#[cfg(feature = "serde")]
impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Borrowing the text as a RawValue re-validates it (a fast scan, no allocation); it was
        // valid when made, so this does not fail.
        let raw: &RawValue = serde_json::from_str(self.get()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(Self::from_raw)
    }
}

/// The kind of a span, which says how its content is shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// Plain text, usually streamed with `text_append`.
    Text,
    /// Any JSON value, shown as a collapsible tree.
    Json,
    /// Labeled name-value items, shown as a table.
    Items,
    /// Markdown, rendered without raw HTML; streamed like text.
    Markdown,
    /// An error: a message and optional JSON details.
    Error,
    /// A conversation: messages with roles, tool calls and their results; the last message
    /// streamed with `message_append`.
    Messages,
    /// A kind from a newer producer; its content is any JSON and is shown generically.
    Other(String),
}

impl SpanKind {
    /// The kind's name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            SpanKind::Text => "text",
            SpanKind::Json => "json",
            SpanKind::Items => "items",
            SpanKind::Markdown => "markdown",
            SpanKind::Error => "error",
            SpanKind::Messages => "messages",
            SpanKind::Other(name) => name,
        }
    }
    /// Parses a wire name; unknown names become [`SpanKind::Other`].
    pub fn parse(name: &str) -> Self {
        match name {
            "text" => SpanKind::Text,
            "json" => SpanKind::Json,
            "items" => SpanKind::Items,
            "markdown" => SpanKind::Markdown,
            "error" => SpanKind::Error,
            "messages" => SpanKind::Messages,
            other => SpanKind::Other(other.to_owned()),
        }
    }
    /// Whether `text_append` applies to spans of this kind.
    pub fn is_textual(&self) -> bool {
        matches!(self, SpanKind::Text | SpanKind::Markdown)
    }
    /// Whether spans of this kind are streamed (their text grows until they end), so that one
    /// that never ended may be cut short.
    pub fn is_streamed(&self) -> bool {
        matches!(
            self,
            SpanKind::Text | SpanKind::Markdown | SpanKind::Messages
        )
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for SpanKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SpanKind".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "text, json, items, markdown, error, messages; any other name is a kind from a newer producer, shown generically",
            "type": "string",
            "examples": ["text", "json", "items", "markdown", "error", "messages"]
        })
    }
}

#[cfg(feature = "serde")]
impl Serialize for SpanKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for SpanKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(SpanKind::parse(&name))
    }
}

/// One row of an `items` span.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Item {
    /// The label.
    pub name: String,
    /// Any JSON value; objects and arrays are shown as an inline tree.
    #[cfg_attr(feature = "schema", schemars(with = "serde_json::Value"))]
    pub value: RawJson,
}

/// The content of an `error` span.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorContent {
    /// What went wrong, in one line.
    pub message: String,
    /// Anything else (a stack, a response body), shown as a JSON tree.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<serde_json::Value>"))]
    pub details: Option<RawJson>,
}

/// The content of a span; which variant is given by the span's kind.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Content {
    /// For `text` and `markdown` spans: a JSON string.
    Text(String),
    /// For `items` spans: an array of `{name, value}`.
    Items(Vec<Item>),
    /// For `error` spans: `{message, details?}`.
    Error(ErrorContent),
    /// For `messages` spans: an array of messages.
    Messages(Vec<Message>),
    /// For `json` spans and unknown kinds: any JSON value.
    Json(#[cfg_attr(feature = "schema", schemars(with = "serde_json::Value"))] RawJson),
}

impl Content {
    /// Interprets raw JSON as the content of a span of `kind`. A missing content is the
    /// kind's empty value (empty text, no items, `null`).
    pub fn decode(kind: &SpanKind, raw: Option<&str>) -> Result<Content, String> {
        let wrong = |what: &str, e: ReadError| {
            format!(
                "content of a `{}` span must be {what}: {}",
                kind.as_str(),
                e.what
            )
        };
        let whole = |text: &str, read: fn(&mut Reader<'_>) -> Result<Content, ReadError>| {
            let mut r = Reader::new(text);
            let content = read(&mut r)?;
            r.end()?;
            Ok(content)
        };
        Ok(match (kind, raw) {
            (SpanKind::Text | SpanKind::Markdown, None) => Content::Text(String::new()),
            (SpanKind::Text | SpanKind::Markdown, Some(t)) => {
                whole(t, |r| r.owned_string().map(Content::Text))
                    .map_err(|e| wrong("a string", e))?
            }
            (SpanKind::Items, None) => Content::Items(Vec::new()),
            (SpanKind::Items, Some(t)) => whole(t, |r| read_items(r).map(Content::Items))
                .map_err(|e| wrong("an array of {name, value}", e))?,
            (SpanKind::Messages, None) => Content::Messages(Vec::new()),
            (SpanKind::Messages, Some(t)) => whole(t, |r| read_messages(r).map(Content::Messages))
                .map_err(|e| wrong("an array of messages {role, content?, ...}", e))?,
            (SpanKind::Error, None) => {
                return Err("an `error` span needs content {message, details?}".into())
            }
            // A bare string is accepted as the message: producers often have nothing more.
            (SpanKind::Error, Some(t)) => whole(t, |r| {
                if r.peek() == Some(b'"') {
                    return r.owned_string().map(|message| {
                        Content::Error(ErrorContent {
                            message,
                            details: None,
                        })
                    });
                }
                let (mut message, mut details) = (None, None);
                r.object(|r, key| {
                    match &*key {
                        "message" => {
                            message = Some(r.owned_string().map_err(|e| e.in_field("message"))?)
                        }
                        "details" if r.null() => details = None,
                        "details" => details = Some(RawJson::from_validated(r.raw()?)),
                        _ => r.skip()?,
                    }
                    Ok(())
                })?;
                match message {
                    Some(message) => Ok(Content::Error(ErrorContent { message, details })),
                    None => Err(r.error("missing field `message`")),
                }
            })
            .map_err(|e| wrong("{message, details?} or a string", e))?,
            (SpanKind::Json | SpanKind::Other(_), None) => Content::Json(RawJson::null()),
            (SpanKind::Json | SpanKind::Other(_), Some(t)) => {
                Content::Json(RawJson::from_validated(t))
            }
        })
    }

    /// Approximate heap bytes, for the model's memory accounting. A text counts its capacity:
    /// streamed in appends, its storage grows by doubling.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Content::Text(t) => t.capacity(),
            Content::Json(j) => j.held_bytes(),
            Content::Items(items) => items
                .iter()
                .map(|i| i.name.len() + i.value.get().len() + 48)
                .sum(),
            Content::Error(e) => e.message.len() + e.details.as_ref().map_or(0, |d| d.get().len()),
            Content::Messages(list) => list.iter().map(Message::heap_bytes).sum(),
        }
    }
}
