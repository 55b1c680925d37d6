//! The flat wire shape of an event, read in one pass, then checked into a typed [`Event`].

use std::borrow::Cow;
use std::sync::Arc;

use crate::content::{Content, Item, RawJson, SpanKind};
use crate::conversation::{read_messages, Message};
use crate::event::{Event, Op, Status};
use crate::outline::Outline;
use crate::reader::{ReadError, Reader};

/// Every field any op may carry. Unknown fields are ignored (the extension rule); `null` is
/// the same as a missing field.
#[derive(Default)]
pub(crate) struct RawEvent<'a> {
    pub id: Option<String>,
    pub process: Option<String>,
    pub ts: Option<u64>,
    pub op: Option<Cow<'a, str>>,
    pub trace: Option<String>,
    pub span: Option<String>,
    pub name: Option<String>,
    pub parent_span: Option<String>,
    pub kind: Option<Cow<'a, str>>,
    pub title: Option<String>,
    /// A host's opaque name for what made the trace or span (1.2).
    pub source: Option<String>,
    /// Borrowed from the frame: the JSON text is copied once, into the shared `RawJson`.
    pub content: Option<&'a str>,
    /// The content's outline, when it is a large container (found in the same pass).
    pub content_outline: Option<Outline>,
    pub text: Option<String>,
    pub items: Option<Vec<Item>>,
    pub status: Option<Cow<'a, str>>,
    pub message: Option<String>,
    pub messages: Option<Vec<Message>>,
    pub done: Option<bool>,
}

impl<'a> RawEvent<'a> {
    /// Reads an event object at the cursor. A field of the wrong type is an error naming it.
    pub fn read(r: &mut Reader<'a>) -> Result<Self, ReadError> {
        let mut e = RawEvent::default();
        r.object(|r, key| e.field(r, &key).map_err(|err| err.in_field(&key)))?;
        Ok(e)
    }

    fn field(&mut self, r: &mut Reader<'a>, key: &str) -> Result<(), ReadError> {
        let text = |r: &mut Reader<'a>| -> Result<Option<Cow<'a, str>>, ReadError> {
            if r.null() {
                Ok(None)
            } else {
                r.string().map(Some)
            }
        };
        match key {
            "id" => self.id = r.optional_string()?,
            "process" => self.process = r.optional_string()?,
            "ts" => self.ts = if r.null() { None } else { Some(r.u64()?) },
            "op" => self.op = text(r)?,
            "trace" => self.trace = r.optional_string()?,
            "span" => self.span = r.optional_string()?,
            "name" => self.name = r.optional_string()?,
            "parent_span" => self.parent_span = r.optional_string()?,
            "kind" => self.kind = text(r)?,
            "title" => self.title = r.optional_string()?,
            "source" => self.source = r.optional_string()?,
            "content" if r.null() => self.content = None,
            "content" => {
                let (raw, outline) = r.raw_outlined()?;
                self.content = Some(raw);
                self.content_outline = outline;
            }
            "text" => self.text = r.optional_string()?,
            "items" => self.items = if r.null() { None } else { Some(read_items(r)?) },
            "status" => self.status = text(r)?,
            "message" => self.message = r.optional_string()?,
            "messages" => {
                self.messages = if r.null() {
                    None
                } else {
                    Some(read_messages(r)?)
                }
            }
            "done" => self.done = if r.null() { None } else { Some(r.bool()?) },
            _ => r.skip()?,
        }
        Ok(())
    }
}

/// An array of `{name, value}`.
pub(crate) fn read_items(r: &mut Reader<'_>) -> Result<Vec<Item>, ReadError> {
    let mut items = Vec::new();
    r.array(|r| {
        let (mut name, mut value) = (None, None);
        r.object(|r, key| {
            match &*key {
                "name" => name = Some(r.owned_string().map_err(|e| e.in_field("name"))?),
                "value" => value = Some(RawJson::from_validated(r.raw()?)),
                _ => r.skip()?,
            }
            Ok(())
        })?;
        match (name, value) {
            (Some(name), Some(value)) => items.push(Item { name, value }),
            (None, _) => return Err(r.error("missing field `name`")),
            (_, None) => return Err(r.error("missing field `value`")),
        }
        Ok(())
    })?;
    Ok(items)
}

fn need<T>(field: Option<T>, name: &str, op: &str) -> Result<T, String> {
    field.ok_or_else(|| format!("`{op}` needs the field `{name}`"))
}

fn need_id(field: Option<String>, name: &str, op: &str) -> Result<String, String> {
    let id = need(field, name, op)?;
    if id.is_empty() {
        return Err(format!("`{name}` of `{op}` must not be empty"));
    }
    Ok(id)
}

impl RawEvent<'_> {
    /// The event, or why it is invalid (with its id when it has one). `frame`: the shared text
    /// the event was read from, which a large JSON content may keep instead of a copy.
    pub fn into_event(
        mut self,
        frame: Option<&Arc<str>>,
    ) -> Result<Event, (Option<String>, String)> {
        let id = self.id.take();
        match self.check(id.as_deref(), frame) {
            Ok((process, ts, op)) => Ok(Event {
                id: id.unwrap_or_default(),
                process,
                ts,
                op,
            }),
            Err(reason) => Err((id, reason)),
        }
    }

    fn check(
        self,
        id: Option<&str>,
        frame: Option<&Arc<str>>,
    ) -> Result<(String, u64, Op), String> {
        match id {
            None => return Err("missing field `id`".into()),
            Some("") => return Err("`id` must not be empty".into()),
            Some(_) => {}
        }
        let Some(process) = self.process else {
            return Err("missing field `process`".into());
        };
        let Some(ts) = self.ts else {
            return Err("missing field `ts`".into());
        };
        let Some(op_text) = self.op else {
            return Err("missing field `op`".into());
        };
        let op_name: &str = &op_text;
        let op = match op_name {
            "trace_start" => Op::TraceStart {
                trace: need_id(self.trace, "trace", op_name)?,
                name: need(self.name, "name", op_name)?,
                parent_span: self.parent_span.filter(|s| !s.is_empty()),
                source: self.source,
            },
            "span_create" => {
                let kind = SpanKind::parse(&need(self.kind, "kind", op_name)?);
                let content = match (&kind, self.content) {
                    (SpanKind::Json | SpanKind::Other(_), Some(raw)) => {
                        Content::Json(RawJson::from_outlined(raw, self.content_outline, frame))
                    }
                    _ => Content::decode(&kind, self.content)?,
                };
                Op::SpanCreate {
                    trace: need_id(self.trace, "trace", op_name)?,
                    span: need_id(self.span, "span", op_name)?,
                    kind,
                    title: self.title,
                    content,
                    source: self.source,
                }
            }
            "text_append" => Op::TextAppend {
                span: need_id(self.span, "span", op_name)?,
                text: need(self.text, "text", op_name)?,
            },
            "content_replace" => Op::ContentReplace {
                span: need_id(self.span, "span", op_name)?,
                content: RawJson::from_outlined(
                    need(self.content, "content", op_name)?,
                    self.content_outline,
                    frame,
                ),
            },
            "items_set" | "items_add" => {
                let span = need_id(self.span, "span", op_name)?;
                let items = need(self.items, "items", op_name)?;
                if op_name == "items_set" {
                    Op::ItemsSet { span, items }
                } else {
                    Op::ItemsAdd { span, items }
                }
            }
            "span_end" | "trace_end" => {
                let status = match self.status.as_deref() {
                    None | Some("ok") => Status::Ok,
                    Some("error") => Status::Error {
                        message: self.message.unwrap_or_default(),
                    },
                    Some(other) => {
                        return Err(format!("unknown status `{other}` (expected ok or error)"))
                    }
                };
                if op_name == "span_end" {
                    Op::SpanEnd {
                        span: need_id(self.span, "span", op_name)?,
                        status,
                    }
                } else {
                    Op::TraceEnd {
                        trace: need_id(self.trace, "trace", op_name)?,
                        status,
                    }
                }
            }
            "clear" => Op::Clear,
            "messages_add" => Op::MessagesAdd {
                span: need_id(self.span, "span", op_name)?,
                messages: need(self.messages, "messages", op_name)?,
            },
            "message_append" => Op::MessageAppend {
                span: need_id(self.span, "span", op_name)?,
                text: need(self.text, "text", op_name)?,
            },
            "json_append" => Op::JsonAppend {
                span: need_id(self.span, "span", op_name)?,
                text: need(self.text, "text", op_name)?,
                done: self.done.unwrap_or(false),
            },
            "span_interrupted" => Op::SpanInterrupted {
                span: need_id(self.span, "span", op_name)?,
            },
            other => return Err(format!("unknown op `{other}`")),
        };
        Ok((process, ts, op))
    }
}
