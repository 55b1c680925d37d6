//! Handles to a trace and a span: each method sends one event.

use serde::Serialize;
use user_trace_protocol::{Content, ErrorContent, Item, Message, Op, RawJson, SpanKind, Status};

use crate::tracer::Tracer;

/// A trace being written. Ending it is explicit ([`TraceHandle::end`]).
#[derive(Clone)]
pub struct TraceHandle {
    tracer: Tracer,
    id: String,
    /// The `source` its spans carry (see [`TraceHandle::at`]).
    span_source: Option<String>,
}

/// A span being written. Ending it is explicit ([`SpanHandle::end`]).
#[derive(Clone)]
pub struct SpanHandle {
    tracer: Tracer,
    id: String,
}

fn items<N: Into<String>, V: Serialize>(items: impl IntoIterator<Item = (N, V)>) -> Vec<Item> {
    items
        .into_iter()
        .map(|(name, value)| Item {
            name: name.into(),
            value: RawJson::from_value(&value),
        })
        .collect()
}

fn status(error: Option<&str>) -> Status {
    match error {
        None => Status::Ok,
        Some(m) => Status::Error {
            message: m.to_owned(),
        },
    }
}

impl TraceHandle {
    pub(crate) fn start(
        tracer: &Tracer,
        name: &str,
        parent_span: Option<&str>,
        source: Option<&str>,
    ) -> Self {
        let id = tracer.new_id();
        tracer.send(Op::TraceStart {
            trace: id.clone(),
            name: name.to_owned(),
            parent_span: parent_span.map(str::to_owned),
            source: source.map(str::to_owned),
        });
        TraceHandle {
            tracer: tracer.clone(),
            id,
            span_source: None,
        }
    }

    /// This trace, for spans that carry `source`: the host's name for the part of the program
    /// that makes them (a node of a visual editor), handed back to the host when the reader
    /// activates the span (protocol 1.2). `trace.at("node-7").text("answer", "")`.
    pub fn at(&self, source: &str) -> TraceHandle {
        TraceHandle {
            tracer: self.tracer.clone(),
            id: self.id.clone(),
            span_source: Some(source.to_owned()),
        }
    }

    pub(crate) fn join(tracer: &Tracer, id: &str, name: &str) -> Self {
        tracer.send(Op::TraceStart {
            trace: id.to_owned(),
            name: name.to_owned(),
            parent_span: None,
            source: None,
        });
        TraceHandle {
            tracer: tracer.clone(),
            id: id.to_owned(),
            span_source: None,
        }
    }

    /// The trace's id (give it to another process to [`Tracer::join_trace`]).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn span(&self, kind: SpanKind, title: Option<&str>, content: Content) -> SpanHandle {
        let id = self.tracer.new_id();
        self.tracer.send(Op::SpanCreate {
            trace: self.id.clone(),
            span: id.clone(),
            kind,
            title: title.map(str::to_owned),
            content,
            source: self.span_source.clone(),
        });
        SpanHandle {
            tracer: self.tracer.clone(),
            id,
        }
    }

    /// A text span; stream into it with [`SpanHandle::append`].
    pub fn text(&self, title: &str, initial: &str) -> SpanHandle {
        self.span(
            SpanKind::Text,
            Some(title),
            Content::Text(initial.to_owned()),
        )
    }

    /// A markdown span (raw HTML in it is shown as text); stream into it with `append`.
    pub fn markdown(&self, title: &str, initial: &str) -> SpanHandle {
        self.span(
            SpanKind::Markdown,
            Some(title),
            Content::Text(initial.to_owned()),
        )
    }

    /// A JSON span, shown as a collapsible tree.
    pub fn json<T: Serialize + ?Sized>(&self, title: &str, value: &T) -> SpanHandle {
        self.span(
            SpanKind::Json,
            Some(title),
            Content::Json(RawJson::from_value(value)),
        )
    }

    /// A JSON span from JSON text, kept exactly as given (key order, number text). Invalid
    /// JSON is sent as a string.
    pub fn json_text(&self, title: &str, json: String) -> SpanHandle {
        let raw = RawJson::from_string(json.clone()).unwrap_or_else(|_| RawJson::from_value(&json));
        self.span(SpanKind::Json, Some(title), Content::Json(raw))
    }

    /// A conversation (`messages` span): add messages with [`SpanHandle::add_messages`] and
    /// stream the last one with [`SpanHandle::append_message`].
    pub fn messages(&self, title: &str, messages: impl IntoIterator<Item = Message>) -> SpanHandle {
        let list = messages.into_iter().collect();
        self.span(SpanKind::Messages, Some(title), Content::Messages(list))
    }

    /// A JSON span whose document arrives in pieces: send them with
    /// [`SpanHandle::append_json`], then [`SpanHandle::finish_json`] (or end the span).
    pub fn json_stream(&self, title: &str) -> SpanHandle {
        self.span(SpanKind::Json, Some(title), Content::Json(RawJson::null()))
    }

    /// A name-value span, shown as a table.
    pub fn items<N: Into<String>, V: Serialize>(
        &self,
        title: &str,
        values: impl IntoIterator<Item = (N, V)>,
    ) -> SpanHandle {
        self.span(SpanKind::Items, Some(title), Content::Items(items(values)))
    }

    /// An error span.
    pub fn error<D: Serialize>(&self, message: &str, details: Option<&D>) -> SpanHandle {
        let content = Content::Error(ErrorContent {
            message: message.to_owned(),
            details: details.map(RawJson::from_value),
        });
        self.span(SpanKind::Error, None, content)
    }

    /// Ends the trace successfully.
    pub fn end(&self) {
        self.end_with(None);
    }

    /// Ends the trace with an error.
    pub fn end_error(&self, message: &str) {
        self.end_with(Some(message));
    }

    fn end_with(&self, error: Option<&str>) {
        self.tracer.send(Op::TraceEnd {
            trace: self.id.clone(),
            status: status(error),
        });
    }
}

impl SpanHandle {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends text (text and markdown spans): the streaming case.
    pub fn append(&self, text: &str) {
        self.tracer.send(Op::TextAppend {
            span: self.id.clone(),
            text: text.to_owned(),
        });
    }

    /// Appends messages to a conversation.
    pub fn add_messages(&self, messages: impl IntoIterator<Item = Message>) {
        self.tracer.send(Op::MessagesAdd {
            span: self.id.clone(),
            messages: messages.into_iter().collect(),
        });
    }

    /// Appends text to the last message of a conversation: the streaming case, a call a token.
    pub fn append_message(&self, text: &str) {
        self.tracer.send(Op::MessageAppend {
            span: self.id.clone(),
            text: text.to_owned(),
        });
    }

    /// Appends a piece of a streamed JSON document (raw JSON text: it may end anywhere, even
    /// inside a string).
    pub fn append_json(&self, text: &str) {
        self.tracer.send(Op::JsonAppend {
            span: self.id.clone(),
            text: text.to_owned(),
            done: false,
        });
    }

    /// Says the streamed JSON document is complete: the panel validates it (ending the span
    /// does too).
    pub fn finish_json(&self) {
        self.tracer.send(Op::JsonAppend {
            span: self.id.clone(),
            text: String::new(),
            done: true,
        });
    }

    /// Replaces the content of a JSON span.
    pub fn replace_json<T: Serialize + ?Sized>(&self, value: &T) {
        self.tracer.send(Op::ContentReplace {
            span: self.id.clone(),
            content: RawJson::from_value(value),
        });
    }

    /// Sets items of a name-value span (same name: replaced in place).
    pub fn set_items<N: Into<String>, V: Serialize>(
        &self,
        values: impl IntoIterator<Item = (N, V)>,
    ) {
        self.tracer.send(Op::ItemsSet {
            span: self.id.clone(),
            items: items(values),
        });
    }

    /// Appends items to a name-value span.
    pub fn add_items<N: Into<String>, V: Serialize>(
        &self,
        values: impl IntoIterator<Item = (N, V)>,
    ) {
        self.tracer.send(Op::ItemsAdd {
            span: self.id.clone(),
            items: items(values),
        });
    }

    /// Starts a child trace nested in this span (a tool call, a sub-step).
    pub fn child_trace(&self, name: &str) -> TraceHandle {
        TraceHandle::start(&self.tracer, name, Some(&self.id), None)
    }

    pub fn end(&self) {
        self.tracer.send(Op::SpanEnd {
            span: self.id.clone(),
            status: Status::Ok,
        });
    }

    pub fn end_error(&self, message: &str) {
        self.tracer.send(Op::SpanEnd {
            span: self.id.clone(),
            status: status(Some(message)),
        });
    }
}
