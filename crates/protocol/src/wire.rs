//! The flat wire shape of an event, decoded in one pass, then checked into a typed [`Event`].

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::content::{Content, Item, RawJson, SpanKind};
use crate::event::{Event, Op, Status};

/// Every field any op may carry. Unknown fields are ignored (the extension rule).
#[derive(Deserialize)]
pub(crate) struct RawEvent<'a> {
    pub id: String,
    pub process: String,
    pub ts: u64,
    #[serde(borrow)]
    pub op: Cow<'a, str>,
    #[serde(default)]
    pub trace: Option<String>,
    #[serde(default)]
    pub span: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub parent_span: Option<String>,
    #[serde(default, borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default)]
    pub title: Option<String>,
    /// Borrowed from the frame: the JSON text is copied once, into the shared `RawJson`.
    #[serde(default, borrow)]
    pub content: Option<&'a RawValue>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub items: Option<Vec<Item>>,
    #[serde(default, borrow)]
    pub status: Option<Cow<'a, str>>,
    #[serde(default)]
    pub message: Option<String>,
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
    pub fn into_event(self) -> Result<Event, String> {
        if self.id.is_empty() {
            return Err("`id` must not be empty".into());
        }
        let op_name: &str = &self.op;
        let op = match op_name {
            "trace_start" => Op::TraceStart {
                trace: need_id(self.trace, "trace", op_name)?,
                name: need(self.name, "name", op_name)?,
                parent_span: self.parent_span.filter(|s| !s.is_empty()),
            },
            "span_create" => {
                let kind = SpanKind::parse(&need(self.kind, "kind", op_name)?);
                let content = Content::decode(&kind, self.content)?;
                Op::SpanCreate {
                    trace: need_id(self.trace, "trace", op_name)?,
                    span: need_id(self.span, "span", op_name)?,
                    kind,
                    title: self.title,
                    content,
                }
            }
            "text_append" => Op::TextAppend {
                span: need_id(self.span, "span", op_name)?,
                text: need(self.text, "text", op_name)?,
            },
            "content_replace" => Op::ContentReplace {
                span: need_id(self.span, "span", op_name)?,
                content: RawJson::from_borrowed(need(self.content, "content", op_name)?),
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
            other => return Err(format!("unknown op `{other}`")),
        };
        Ok(Event {
            id: self.id,
            process: self.process,
            ts: self.ts,
            op,
        })
    }
}
