//! The nodes of the tree: traces and spans.

use std::sync::Arc;

use user_trace_protocol::{Content, SpanKind, Status};

use crate::json_stream::JsonStream;
use crate::slab::Key;

/// A trace in the model. Stays valid until the trace is evicted or the model is cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub(crate) Key);

/// A span in the model. Stays valid until its trace is evicted or the model is cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub(crate) Key);

impl TraceId {
    /// A number unique among live traces, for keyed rendering.
    pub fn as_u64(self) -> u64 {
        (u64::from(self.0.generation) << 32) | u64::from(self.0.index)
    }

    /// The id [`TraceId::as_u64`] gave that number (an id of no live trace finds nothing).
    pub fn from_u64(n: u64) -> Self {
        TraceId(key_of(n))
    }
}

impl SpanId {
    /// A number unique among live spans, for keyed rendering.
    pub fn as_u64(self) -> u64 {
        (u64::from(self.0.generation) << 32) | u64::from(self.0.index)
    }

    /// The id [`SpanId::as_u64`] gave that number (an id of no live span finds nothing).
    pub fn from_u64(n: u64) -> Self {
        SpanId(key_of(n))
    }
}

fn key_of(n: u64) -> Key {
    Key {
        generation: (n >> 32) as u32,
        index: n as u32,
    }
}

/// Where a node hangs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parent<T> {
    /// A trace without a parent span, or (for spans) never used.
    Root,
    /// Attached to its parent.
    Node(T),
    /// The parent (by its producer id) has not arrived yet.
    Waiting(Box<str>),
}

/// Whether a trace or span is still running, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Ok,
    Error(String),
}

impl RunStatus {
    pub fn is_running(&self) -> bool {
        matches!(self, RunStatus::Running)
    }
}

impl From<Status> for RunStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Ok => RunStatus::Ok,
            Status::Error { message } => RunStatus::Error(message),
        }
    }
}

/// A trace: a named group of spans.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The producer's id of the trace (shared with the model's indexes, which sort by it).
    pub key: Arc<str>,
    /// Shown as the trace's label.
    pub name: String,
    /// The span this trace nests in.
    pub parent: Parent<SpanId>,
    /// Its spans, ordered by start time, then id (the same whatever order events arrived in).
    pub spans: Vec<SpanId>,
    /// Names of the processes that wrote into this trace, sorted.
    pub processes: Vec<Box<str>>,
    pub status: RunStatus,
    /// Microseconds since the Unix epoch.
    pub start_ts: u64,
    pub end_ts: Option<u64>,
    /// The process that started the trace.
    pub process: Box<str>,
}

/// A span: one piece of content in a trace.
#[derive(Debug, Clone)]
pub struct Span {
    /// The producer's id of the span.
    pub key: Box<str>,
    /// The trace this span belongs to.
    pub trace: Parent<TraceId>,
    pub kind: SpanKind,
    pub title: Option<String>,
    pub content: Content,
    /// Child traces nested in this span, ordered by start time, then id.
    pub children: Vec<TraceId>,
    /// The process that created the span.
    pub process: Box<str>,
    /// Other processes that wrote into it (appends, items), sorted; empty when only its creator did.
    pub writers: Vec<Box<str>>,
    pub status: RunStatus,
    pub start_ts: u64,
    pub end_ts: Option<u64>,
    /// A `json` span streamed with `json_append`: the document so far and how it parses
    /// (see [`Span::streamed_json`]).
    pub stream: Option<Box<JsonStream>>,
    /// How many times the content was replaced (not grown): a view that shows the content in
    /// parts starts over when it changes.
    pub revision: u32,
}

/// Fixed cost of a node in the memory accounting, beside its strings and content: the node in
/// its slab (whose storage grows by doubling: half as much again on average), its entry in the
/// id index (a hash table at most 7/8 full: about twice the entry), and the allocator's
/// rounding of its small strings and lists. Measured against a counting allocator by
/// `tests/hostile.rs`: a stream of small traces then holds about the cap, not twice it.
const fn node_overhead(node: usize) -> usize {
    let slot = node + 8;
    let index_entry = std::mem::size_of::<Box<str>>() + 8 + 1;
    slot * 3 / 2 + 2 * index_entry + 4 * 16
}

const TRACE_OVERHEAD: usize = node_overhead(std::mem::size_of::<Trace>());
const SPAN_OVERHEAD: usize = node_overhead(std::mem::size_of::<Span>());

impl Trace {
    pub(crate) fn bytes(&self) -> usize {
        TRACE_OVERHEAD
            + self.key.len()
            + self.name.len()
            + self.spans.len() * 8
            + self.processes.iter().map(|p| p.len() + 16).sum::<usize>()
    }
}

impl Span {
    pub(crate) fn bytes(&self) -> usize {
        SPAN_OVERHEAD
            + self.key.len()
            + self.title.as_ref().map_or(0, String::len)
            + self.content.heap_bytes()
            + self.children.len() * 8
            + self.stream.as_ref().map_or(0, |s| s.heap_bytes())
    }

    /// A streamed JSON span's document: its stream, and its text so far (once the stream is
    /// done and valid, the text is the span's content).
    pub fn streamed_json(&self) -> Option<(&JsonStream, &str)> {
        let stream = self.stream.as_deref()?;
        let text = match &self.content {
            Content::Json(j) if stream.done() && stream.error().is_none() => j.get(),
            _ => stream.text(),
        };
        Some((stream, text))
    }

    /// The text of a text or markdown span.
    pub fn text(&self) -> Option<&str> {
        match (&self.kind, &self.content) {
            (SpanKind::Text | SpanKind::Markdown, Content::Text(t)) => Some(t),
            _ => None,
        }
    }
}

/// Inserts `id` into `list`, kept sorted by `(ts, key)`; O(1) when it sorts last (the usual case).
pub(crate) fn insert_sorted<'a, I: Copy>(
    list: &mut Vec<I>,
    id: I,
    at: (u64, &str),
    sort_key: impl Fn(I) -> (u64, &'a str),
) {
    let before = |other: I| sort_key(other) <= at;
    match list.last() {
        Some(&last) if !before(last) => {
            let pos = list.partition_point(|&o| before(o));
            list.insert(pos, id);
        }
        _ => list.push(id),
    }
}
