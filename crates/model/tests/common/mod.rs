//! Helpers shared by the model's tests: terse event constructors.
#![allow(dead_code)]

use user_trace_model::protocol::{Content, Event, Item, Op, RawJson, SpanKind, Status};
use user_trace_model::{Model, Outcome};

pub struct Producer {
    pub process: String,
    n: u64,
    pub ts: u64,
}

impl Producer {
    pub fn new(process: &str) -> Self {
        Self {
            process: process.to_owned(),
            n: 0,
            ts: 1_000,
        }
    }

    pub fn event(&mut self, op: Op) -> Event {
        self.n += 1;
        self.ts += 10;
        Event {
            id: format!("{}-{}", self.process, self.n),
            process: self.process.clone(),
            ts: self.ts,
            op,
        }
    }

    pub fn trace(&mut self, trace: &str, name: &str) -> Event {
        self.event(Op::TraceStart {
            trace: trace.into(),
            name: name.into(),
            parent_span: None,
            source: None,
        })
    }

    pub fn child_trace(&mut self, trace: &str, name: &str, parent: &str) -> Event {
        self.event(Op::TraceStart {
            trace: trace.into(),
            name: name.into(),
            parent_span: Some(parent.into()),
            source: None,
        })
    }

    pub fn text(&mut self, trace: &str, span: &str, text: &str) -> Event {
        self.event(Op::SpanCreate {
            trace: trace.into(),
            span: span.into(),
            kind: SpanKind::Text,
            title: None,
            content: Content::Text(text.into()),
            source: None,
        })
    }

    pub fn json(&mut self, trace: &str, span: &str, json: &str) -> Event {
        self.event(Op::SpanCreate {
            trace: trace.into(),
            span: span.into(),
            kind: SpanKind::Json,
            title: Some("data".into()),
            content: Content::Json(RawJson::from_string(json.into()).unwrap()),
            source: None,
        })
    }

    /// A `json` span without content, whose document `json_append`s will stream.
    pub fn streamed_json(&mut self, trace: &str, span: &str) -> Event {
        self.event(Op::SpanCreate {
            trace: trace.into(),
            span: span.into(),
            kind: SpanKind::Json,
            title: None,
            content: Content::Json(RawJson::null()),
            source: None,
        })
    }

    pub fn items(&mut self, trace: &str, span: &str, items: &[(&str, &str)]) -> Event {
        self.event(Op::SpanCreate {
            trace: trace.into(),
            span: span.into(),
            kind: SpanKind::Items,
            title: None,
            content: Content::Items(item_list(items)),
            source: None,
        })
    }

    pub fn append(&mut self, span: &str, text: &str) -> Event {
        self.event(Op::TextAppend {
            span: span.into(),
            text: text.into(),
        })
    }

    pub fn end_span(&mut self, span: &str) -> Event {
        self.event(Op::SpanEnd {
            span: span.into(),
            status: Status::Ok,
        })
    }

    pub fn end_trace(&mut self, trace: &str, status: Status) -> Event {
        self.event(Op::TraceEnd {
            trace: trace.into(),
            status,
        })
    }
}

pub fn item_list(items: &[(&str, &str)]) -> Vec<Item> {
    items
        .iter()
        .map(|(n, v)| Item {
            name: (*n).into(),
            value: RawJson::from_string((*v).into()).unwrap(),
        })
        .collect()
}

/// Applies events one by one; returns the combined outcome.
pub fn apply_all(model: &mut Model, events: impl IntoIterator<Item = Event>) -> Outcome {
    let mut out = Outcome::default();
    for e in events {
        model.apply(e, &mut out);
    }
    out
}

/// Applies and asserts nothing was rejected.
pub fn apply_ok(model: &mut Model, events: impl IntoIterator<Item = Event>) -> Outcome {
    let out = apply_all(model, events);
    assert!(
        out.rejected.is_empty(),
        "unexpected rejections: {:?}",
        out.rejected
    );
    out
}
