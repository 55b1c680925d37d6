//! Compaction: the current state as the shortest list of events that rebuilds it.
//!
//! The runtime sends this to a panel that fell behind its retained window. Per-append process
//! attribution is not kept (a span's text arrives as one piece from its creator), but the set
//! of processes that wrote into a span is (an empty append, or the same content, from each).

use user_trace_protocol::{Content, Event, Op, Status};

use crate::model::Model;
use crate::node::{Parent, RunStatus, SpanId, TraceId};

impl Model {
    /// Events that rebuild the current tree (including what waits for a parent) when applied
    /// to an empty model. Their ids are `snapshot:<n>`. Root traces come newest first: a panel
    /// that gets the snapshot in parts shows what is newest from the first part on (and a
    /// panel whose cap the snapshot exceeds keeps the newest).
    pub fn snapshot_events(&self) -> Vec<Event> {
        let mut events = Vec::with_capacity(self.trace_count() * 2 + self.span_count() * 2);
        self.snapshot_each(&mut |e| {
            events.push(e);
            true
        });
        events
    }

    /// The events of [`Model::snapshot_events`], in the same order, handed to `sink` one at a
    /// time as the walk makes them; `sink` returns false to stop. A runtime sends the first
    /// part of a snapshot while it makes the rest (the newest traces come first).
    pub fn snapshot_each(&self, sink: &mut dyn FnMut(Event) -> bool) {
        let mut out = Snapshot {
            model: self,
            count: 0,
            sink,
            stopped: false,
        };
        let crate::model::Orphans { traces, spans } = self.orphans();
        // Depth first, in the order a recursive walk would take, on a stack of our own: the
        // data chooses how deep traces nest, so the call stack must not.
        let mut stack: Vec<Step> = Vec::new();
        stack.extend(spans.into_iter().rev().map(Step::Span));
        stack.extend(traces.into_iter().rev().map(Step::Trace));
        let roots: Vec<TraceId> = self.roots().iter().copied().collect();
        // The newest on top of the stack: written first.
        stack.extend(roots.into_iter().map(Step::Trace));
        out.walk(stack);
    }

    /// Events that rebuild trace `id` and everything nested in it, as a root trace (a nested
    /// trace copied alone does not wait for its parent span when imported): what the panel's
    /// "copy trace" puts on the clipboard as JSON Lines. Ids are `copy:<trace id>:<n>`, so that
    /// copies of different traces imported into one panel are not taken for duplicates.
    pub fn trace_events(&self, id: TraceId) -> Vec<Event> {
        let Some(key) = self.trace(id).map(|t| t.key.clone()) else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let mut out = Snapshot {
            model: self,
            count: 0,
            sink: &mut |e| {
                events.push(e);
                true
            },
            stopped: false,
        };
        out.walk(vec![Step::Trace(id)]);
        for (n, e) in events.iter_mut().enumerate() {
            e.id = format!("copy:{key}:{n}");
            if let Op::TraceStart {
                trace, parent_span, ..
            } = &mut e.op
            {
                if **trace == *key {
                    *parent_span = None;
                }
            }
        }
        events
    }
}

/// What is left to write, innermost last.
enum Step {
    Trace(TraceId),
    Span(SpanId),
    TraceEnd(TraceId),
    SpanEnd(SpanId),
}

struct Snapshot<'a> {
    model: &'a Model,
    /// Events made so far (their ids count from 0).
    count: usize,
    sink: &'a mut dyn FnMut(Event) -> bool,
    /// The sink asked to stop.
    stopped: bool,
}

fn status(s: &RunStatus) -> Option<Status> {
    match s {
        RunStatus::Running => None,
        RunStatus::Ok => Some(Status::Ok),
        RunStatus::Error(message) => Some(Status::Error {
            message: message.clone(),
        }),
    }
}

impl Snapshot<'_> {
    fn walk(&mut self, mut stack: Vec<Step>) {
        while let Some(step) = stack.pop().filter(|_| !self.stopped) {
            match step {
                Step::Trace(t) => self.trace(t, &mut stack),
                Step::Span(s) => self.span(s, &mut stack),
                Step::TraceEnd(t) => self.trace_end(t),
                Step::SpanEnd(s) => self.span_end(s),
            }
        }
    }

    fn push(&mut self, process: &str, ts: u64, op: Op) {
        if self.stopped {
            return;
        }
        let id = format!("snapshot:{}", self.count);
        self.count += 1;
        self.stopped = !(self.sink)(Event {
            id,
            process: process.to_owned(),
            ts,
            op,
        });
    }

    /// A trace's start; its spans and its end are pushed on `stack`.
    fn trace(&mut self, id: TraceId, stack: &mut Vec<Step>) {
        let Some(t) = self.model.trace(id) else {
            return;
        };
        let parent_span = match &t.parent {
            Parent::Root => None,
            Parent::Node(s) => self.model.span(*s).map(|s| s.key.to_string()),
            Parent::Waiting(key) => Some(key.to_string()),
        };
        self.push(
            &t.process,
            t.start_ts,
            Op::TraceStart {
                trace: t.key.to_string(),
                name: t.name.clone(),
                parent_span,
                source: t.source.as_deref().map(Into::into),
            },
        );
        // Processes that joined the trace without creating a span in it.
        for p in &t.processes {
            if **p != *t.process {
                self.push(
                    p,
                    t.start_ts,
                    Op::TraceStart {
                        trace: t.key.to_string(),
                        name: t.name.clone(),
                        parent_span: match &t.parent {
                            Parent::Root => None,
                            Parent::Node(s) => self.model.span(*s).map(|s| s.key.to_string()),
                            Parent::Waiting(key) => Some(key.to_string()),
                        },
                        source: None,
                    },
                );
            }
        }
        stack.push(Step::TraceEnd(id));
        stack.extend(t.spans.iter().rev().copied().map(Step::Span));
    }

    fn trace_end(&mut self, id: TraceId) {
        let Some(t) = self.model.trace(id) else {
            return;
        };
        if let (Some(status), Some(end)) = (status(&t.status), t.end_ts()) {
            self.push(
                &t.process,
                end,
                Op::TraceEnd {
                    trace: t.key.to_string(),
                    status,
                },
            );
        }
    }

    /// A span's creation and writers; its child traces and its end are pushed on `stack`.
    fn span(&mut self, id: SpanId, stack: &mut Vec<Step>) {
        let Some(s) = self.model.span(id) else {
            return;
        };
        let trace = match &s.trace {
            Parent::Node(t) => self.model.trace(*t).map(|t| t.key.to_string()),
            Parent::Waiting(key) => Some(key.to_string()),
            Parent::Root => None,
        };
        let Some(trace) = trace else {
            return;
        };
        self.push(
            &s.process,
            s.start_ts,
            Op::SpanCreate {
                trace,
                span: s.key.to_string(),
                kind: s.kind.clone(),
                title: s.title.clone(),
                content: s.content.clone(),
                source: s.source().map(Into::into),
            },
        );
        // A JSON document still streaming (or that ended invalid) is sent as it was: the span
        // without content, then its text (a valid one that ended is the span's content).
        let stream = s
            .stream
            .as_deref()
            .filter(|st| !st.done() || st.error().is_some());
        // Processes that wrote into the span: an event from each that changes nothing else.
        for writer in s.writers() {
            let op = match &s.content {
                _ if stream.is_some() => Op::JsonAppend {
                    span: s.key.to_string(),
                    text: String::new(),
                    done: false,
                },
                Content::Messages(_) => Op::MessagesAdd {
                    span: s.key.to_string(),
                    messages: Vec::new(),
                },
                Content::Text(_) => Op::TextAppend {
                    span: s.key.to_string(),
                    text: String::new(),
                },
                Content::Items(_) => Op::ItemsAdd {
                    span: s.key.to_string(),
                    items: Vec::new(),
                },
                Content::Json(raw) => Op::ContentReplace {
                    span: s.key.to_string(),
                    content: raw.clone(),
                },
                Content::Error(_) => Op::ContentReplace {
                    span: s.key.to_string(),
                    content: user_trace_protocol::writer::content_json(&s.content),
                },
            };
            self.push(writer, s.start_ts, op);
        }
        if let Some(st) = stream {
            self.push(
                &s.process,
                s.start_ts,
                Op::JsonAppend {
                    span: s.key.to_string(),
                    text: st.text().whole().into_owned(),
                    done: st.done(),
                },
            );
        }
        stack.push(Step::SpanEnd(id));
        stack.extend(s.children.iter().rev().copied().map(Step::Trace));
    }

    fn span_end(&mut self, id: SpanId) {
        let Some(s) = self.model.span(id) else {
            return;
        };
        if let Some(at) = s.interrupted() {
            self.push(
                user_trace_protocol::RUNTIME_PROCESS,
                at,
                Op::SpanInterrupted {
                    span: s.key.to_string(),
                },
            );
        }
        if let (Some(status), Some(end)) = (status(&s.status), s.end_ts()) {
            self.push(
                &s.process,
                end,
                Op::SpanEnd {
                    span: s.key.to_string(),
                    status,
                },
            );
        }
    }
}
