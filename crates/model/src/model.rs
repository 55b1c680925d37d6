//! The model: the tree, its indexes, and read access for views.

use std::collections::HashMap;

use crate::node::{Parent, Span, SpanId, Trace, TraceId};
use crate::options::Options;
use crate::seen::Seen;
use crate::slab::Slab;

/// The trace tree. See the crate docs for what it guarantees.
pub struct Model {
    pub(crate) options: Options,
    pub(crate) traces: Slab<Trace>,
    pub(crate) spans: Slab<Span>,
    pub(crate) trace_keys: HashMap<Box<str>, TraceId>,
    pub(crate) span_keys: HashMap<Box<str>, SpanId>,
    /// Root traces, ordered by start time, then id.
    pub(crate) roots: Vec<TraceId>,
    /// Traces whose parent span has not arrived, by that span's id.
    pub(crate) waiting_traces: HashMap<Box<str>, Vec<TraceId>>,
    /// Spans whose trace has not arrived, by that trace's id.
    pub(crate) waiting_spans: HashMap<Box<str>, Vec<SpanId>>,
    pub(crate) seen: Seen,
    pub(crate) last_seq: Option<u64>,
    pub(crate) bytes: usize,
    pub(crate) evicted_total: u64,
}

impl Default for Model {
    fn default() -> Self {
        Self::new(Options::default())
    }
}

impl Model {
    pub fn new(options: Options) -> Self {
        Self {
            seen: Seen::new(options.dedup_window),
            options,
            traces: Slab::default(),
            spans: Slab::default(),
            trace_keys: HashMap::new(),
            span_keys: HashMap::new(),
            roots: Vec::new(),
            waiting_traces: HashMap::new(),
            waiting_spans: HashMap::new(),
            last_seq: None,
            bytes: 0,
            evicted_total: 0,
        }
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Root traces, ordered by start time, then id.
    pub fn roots(&self) -> &[TraceId] {
        &self.roots
    }

    pub fn trace(&self, id: TraceId) -> Option<&Trace> {
        self.traces.get(id.0)
    }

    pub fn span(&self, id: SpanId) -> Option<&Span> {
        self.spans.get(id.0)
    }

    /// A trace by its producer id.
    pub fn trace_by_key(&self, key: &str) -> Option<TraceId> {
        self.trace_keys.get(key).copied()
    }

    /// A span by its producer id.
    pub fn span_by_key(&self, key: &str) -> Option<SpanId> {
        self.span_keys.get(key).copied()
    }

    /// Traces and spans whose parent has not arrived (yet), ordered by start time, then id.
    pub fn orphans(&self) -> (Vec<TraceId>, Vec<SpanId>) {
        let mut traces: Vec<TraceId> = self.waiting_traces.values().flatten().copied().collect();
        traces.sort_by(|a, b| self.trace_order(*a).cmp(&self.trace_order(*b)));
        let mut spans: Vec<SpanId> = self.waiting_spans.values().flatten().copied().collect();
        spans.sort_by(|a, b| self.span_order(*a).cmp(&self.span_order(*b)));
        (traces, spans)
    }

    pub fn trace_count(&self) -> usize {
        self.traces.len()
    }

    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    /// The last sequence number applied from a numbered stream.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// Approximate bytes held (what [`Options::max_bytes`] caps).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Root traces evicted since the model was made.
    pub fn evicted_total(&self) -> u64 {
        self.evicted_total
    }

    pub(crate) fn trace_order(&self, id: TraceId) -> (u64, &str) {
        self.traces
            .get(id.0)
            .map_or((0, ""), |t| (t.start_ts, &*t.key))
    }

    pub(crate) fn span_order(&self, id: SpanId) -> (u64, &str) {
        self.spans
            .get(id.0)
            .map_or((0, ""), |s| (s.start_ts, &*s.key))
    }

    /// The trace that trace `id` nests in (through its parent span), if it is attached.
    pub fn parent_trace(&self, id: TraceId) -> Option<TraceId> {
        let Parent::Node(span) = &self.trace(id)?.parent else {
            return None;
        };
        match &self.span(*span)?.trace {
            Parent::Node(t) => Some(*t),
            _ => None,
        }
    }

    /// The depth of a trace: 0 for a root, 1 for a trace inside a root's span, ...
    pub fn depth(&self, mut id: TraceId) -> usize {
        let mut depth = 0;
        while let Some(t) = self.parent_trace(id) {
            id = t;
            depth += 1;
        }
        depth
    }

    /// How many levels of child traces nest below trace `id` (0 when none does), found
    /// without recursion: a view that shows only so many levels says how many more there are.
    pub fn levels_below(&self, id: TraceId) -> usize {
        let mut deepest = 0;
        let mut stack = vec![(id, 0)];
        while let Some((t, depth)) = stack.pop() {
            deepest = deepest.max(depth);
            let Some(trace) = self.trace(t) else { continue };
            for s in trace.spans.iter().filter_map(|&s| self.span(s)) {
                stack.extend(s.children.iter().map(|&c| (c, depth + 1)));
            }
        }
        deepest
    }

    /// Removes everything (the `clear` event does this too). Sequence numbers are kept.
    pub fn clear(&mut self) {
        self.traces.clear();
        self.spans.clear();
        self.trace_keys.clear();
        self.span_keys.clear();
        self.roots.clear();
        self.waiting_traces.clear();
        self.waiting_spans.clear();
        self.bytes = 0;
    }

    /// Removes a trace and everything inside it; returns the bytes freed.
    pub(crate) fn remove_trace_tree(&mut self, id: TraceId) -> usize {
        let mut freed = 0;
        let mut stack = vec![id];
        while let Some(tid) = stack.pop() {
            let Some(trace) = self.traces.remove(tid.0) else {
                continue;
            };
            freed += trace.bytes() + trace.key.len();
            self.trace_keys.remove(&trace.key);
            for sid in trace.spans {
                if let Some(span) = self.spans.remove(sid.0) {
                    freed += span.bytes() + span.key.len();
                    self.span_keys.remove(&span.key);
                    stack.extend(span.children);
                }
            }
            // Nothing waits for a node that exists (waiters attach when it arrives), so the
            // waiting maps need no cleanup here.
        }
        freed
    }

    /// Evicts root traces, oldest finished first, then oldest running, then orphans, until
    /// the model is under its cap.
    pub(crate) fn evict(&mut self) -> u64 {
        let mut evicted = 0;
        while self.bytes > self.options.max_bytes {
            let victim = self
                .roots
                .iter()
                .position(|&t| self.trace(t).is_some_and(|t| !t.status.is_running()))
                .or(if self.roots.is_empty() { None } else { Some(0) });
            if let Some(pos) = victim {
                let id = self.roots.remove(pos);
                let freed = self.remove_trace_tree(id);
                self.bytes = self.bytes.saturating_sub(freed);
                evicted += 1;
                continue;
            }
            // Only orphans are left: drop the oldest waiting trace or span.
            let (traces, spans) = self.orphans();
            if let Some(&t) = traces.first() {
                self.unlink_waiting_trace(t);
                let freed = self.remove_trace_tree(t);
                self.bytes = self.bytes.saturating_sub(freed);
                evicted += 1;
            } else if let Some(&s) = spans.first() {
                self.unlink_waiting_span(s);
                if let Some(span) = self.spans.remove(s.0) {
                    let mut freed = span.bytes();
                    self.span_keys.remove(&span.key);
                    for child in span.children {
                        freed += self.remove_trace_tree(child);
                    }
                    self.bytes = self.bytes.saturating_sub(freed);
                }
                evicted += 1;
            } else {
                // Nothing left to evict; the accounting is approximate, so reset it.
                self.bytes = 0;
            }
        }
        self.evicted_total += evicted;
        evicted
    }

    fn unlink_waiting_trace(&mut self, id: TraceId) {
        if let Some(Parent::Waiting(key)) = self.trace(id).map(|t| t.parent.clone()) {
            if let Some(list) = self.waiting_traces.get_mut(&key) {
                list.retain(|&t| t != id);
                if list.is_empty() {
                    self.waiting_traces.remove(&key);
                }
            }
        }
    }

    fn unlink_waiting_span(&mut self, id: SpanId) {
        if let Some(Parent::Waiting(key)) = self.span(id).map(|s| s.trace.clone()) {
            if let Some(list) = self.waiting_spans.get_mut(&key) {
                list.retain(|&s| s != id);
                if list.is_empty() {
                    self.waiting_spans.remove(&key);
                }
            }
        }
    }
}
