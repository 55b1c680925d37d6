//! The model: the tree, its indexes, and read access for views.

use std::collections::{btree_map, BTreeMap, HashMap};
use std::iter::Peekable;
use std::sync::Arc;

use crate::node::{Parent, RunStatus, Span, SpanId, Trace, TraceId};
use crate::options::Options;
use crate::seen::Seen;
use crate::slab::Slab;

/// Where a root or waiting trace sorts: start time, then producer id (the order views show
/// and eviction follows). Unique, because a trace id is.
pub(crate) type Order = (u64, Arc<str>);

/// Accounted cost of a node's entry in an order index (roots, waiting nodes): a B-tree entry
/// of key and id, in leaves about half full when keys arrive in order.
pub(crate) const ORDER_ENTRY_BYTES: usize =
    2 * (std::mem::size_of::<Order>() + std::mem::size_of::<TraceId>());

/// Nodes waiting for one parent, in arrival order. An evicted waiter stays in `ids` (finding
/// it would scan the list) and is skipped when the parent arrives; the list is compacted when
/// most of it is stale, so it costs O(1) amortized per eviction and stays O(live).
pub(crate) struct Waiters<I> {
    pub ids: Vec<I>,
    pub live: usize,
}

impl<I> Default for Waiters<I> {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            live: 0,
        }
    }
}

impl<I> Waiters<I> {
    pub fn push(&mut self, id: I) {
        self.ids.push(id);
        self.live += 1;
    }
}

/// The next node to evict (see [`Model::evict`]), with its key in its order index: removing
/// exactly that entry makes progress even if the index and the tree ever disagreed.
enum Victim {
    Root(TraceId, Order),
    Trace(TraceId, Order),
    Span(SpanId, Order),
}

/// A node found by its `source` (see [`Model::newest_with_source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sourced {
    Span(SpanId),
    Trace(TraceId),
}

/// The traces and spans waiting for their parent ([`Model::orphans`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Orphans {
    pub traces: Vec<TraceId>,
    pub spans: Vec<SpanId>,
}

/// The trace tree. See the crate docs for what it guarantees.
pub struct Model {
    pub(crate) options: Options,
    pub(crate) traces: Slab<Trace>,
    pub(crate) spans: Slab<Span>,
    pub(crate) trace_keys: HashMap<Arc<str>, TraceId>,
    pub(crate) span_keys: crate::span_keys::SpanKeys,
    /// Root traces still running, by [`Order`]. Roots are kept in two indexes so that the
    /// oldest finished root, evicted first, is found without looking at running ones.
    pub(crate) running_roots: BTreeMap<Order, TraceId>,
    /// Root traces that ended, by [`Order`].
    pub(crate) finished_roots: BTreeMap<Order, TraceId>,
    /// Traces whose parent span has not arrived, by that span's id.
    pub(crate) waiting_traces: HashMap<Box<str>, Waiters<TraceId>>,
    /// Spans whose trace has not arrived, by that trace's id.
    pub(crate) waiting_spans: HashMap<Box<str>, Waiters<SpanId>>,
    /// The same waiting traces, by [`Order`]: which one is evicted first.
    pub(crate) orphan_traces: BTreeMap<Order, TraceId>,
    /// The same waiting spans, by start time, then span id. A span's slab key is kept in a
    /// `TraceId` (see [`span_entry`]): one B-tree type for every index, because each type's
    /// B-tree code costs the panel's wasm several KB.
    pub(crate) orphan_spans: BTreeMap<Order, TraceId>,
    pub(crate) seen: Seen,
    /// Process names shared between nodes.
    pub(crate) names: crate::names::Names,
    pub(crate) last_seq: Option<u64>,
    /// The part due next of a snapshot being received in parts: `(seq, part)`.
    pub(crate) snapshot_next: Option<(u64, u32)>,
    pub(crate) bytes: usize,
    pub(crate) evicted_total: u64,
    /// Traces and spans that ended with an error, and `error` spans (see [`Model::errors`]).
    pub(crate) errors: usize,
    /// Index entries and nodes looked at to choose victims (see [`Model::eviction_visits`]).
    eviction_visits: u64,
    /// Choose victims by scanning, as the model did before it kept order indexes: the
    /// reference that tests compare the indexes against (native only: not in the panel's wasm).
    #[cfg(not(target_arch = "wasm32"))]
    evict_by_scan: bool,
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
            names: Default::default(),
            options,
            traces: Slab::default(),
            spans: Slab::default(),
            trace_keys: HashMap::new(),
            span_keys: Default::default(),
            running_roots: BTreeMap::new(),
            finished_roots: BTreeMap::new(),
            waiting_traces: HashMap::new(),
            waiting_spans: HashMap::new(),
            orphan_traces: BTreeMap::new(),
            orphan_spans: BTreeMap::new(),
            last_seq: None,
            snapshot_next: None,
            bytes: 0,
            evicted_total: 0,
            errors: 0,
            eviction_visits: 0,
            #[cfg(not(target_arch = "wasm32"))]
            evict_by_scan: false,
        }
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Root traces, ordered by start time, then id.
    pub fn roots(&self) -> RootList<'_> {
        RootList {
            running: &self.running_roots,
            finished: &self.finished_roots,
        }
    }

    pub fn trace(&self, id: TraceId) -> Option<&Trace> {
        self.traces.get(id.0)
    }

    /// The newest span carrying `source` (by start time, then id), else the newest trace: what
    /// a host's "reveal" shows. A walk of every node: for a reader's action, not per event.
    pub fn newest_with_source(&self, source: &str) -> Option<Sourced> {
        let span = self
            .span_keys
            .iter(&self.spans)
            .filter_map(|id| Some((id, self.spans.get(id.0)?)))
            .filter(|(_, s)| s.source() == Some(source))
            .max_by(|(_, a), (_, b)| (a.start_ts, &a.key).cmp(&(b.start_ts, &b.key)))
            .map(|(id, _)| Sourced::Span(id));
        span.or_else(|| {
            self.trace_keys
                .values()
                .filter_map(|&id| Some((id, self.traces.get(id.0)?)))
                .filter(|(_, t)| t.source.as_deref() == Some(source))
                .max_by(|(_, a), (_, b)| (a.start_ts, &a.key).cmp(&(b.start_ts, &b.key)))
                .map(|(id, _)| Sourced::Trace(id))
        })
    }

    /// The producer keys of the spans still open that `keep` accepts. A walk of every span: for
    /// rare questions (a producer went away), not per event.
    pub fn open_span_keys(&self, keep: impl Fn(&Span) -> bool) -> Vec<String> {
        self.span_keys
            .iter(&self.spans)
            .filter_map(|id| self.spans.get(id.0))
            .filter(|s| s.status.is_running() && keep(s))
            .map(|s| s.key.to_string())
            .collect()
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
        self.span_keys.get(key, &self.spans)
    }

    /// Traces and spans whose parent has not arrived (yet), ordered by start time, then id.
    pub fn orphans(&self) -> Orphans {
        Orphans {
            traces: self.orphan_traces.values().copied().collect(),
            spans: self.orphan_spans.values().map(|&e| entry_span(e)).collect(),
        }
    }

    /// Whether any trace or span waits for its parent (without listing them).
    pub fn has_orphans(&self) -> bool {
        !self.orphan_traces.is_empty() || !self.orphan_spans.is_empty()
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

    #[cfg(not(target_arch = "wasm32"))]
    fn trace_order(&self, id: TraceId) -> (u64, &str) {
        self.traces
            .get(id.0)
            .map_or((0, ""), |t| (t.start_ts, &*t.key))
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn span_order(&self, id: SpanId) -> (u64, &str) {
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
        self.deepest_below(id).0
    }

    /// [`Model::levels_below`] and a trace that deep (`id` itself when nothing nests in it):
    /// a walk of the subtree. [`crate::LevelsBelow`] keeps the count current from the changes.
    pub fn deepest_below(&self, id: TraceId) -> (usize, TraceId) {
        let mut deepest = (0, id);
        let mut stack = vec![(id, 0)];
        while let Some((t, depth)) = stack.pop() {
            if depth > deepest.0 {
                deepest = (depth, t);
            }
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
        self.running_roots.clear();
        self.finished_roots.clear();
        self.waiting_traces.clear();
        self.waiting_spans.clear();
        self.orphan_traces.clear();
        self.orphan_spans.clear();
        self.names.clear();
        self.bytes = 0;
        self.errors = 0;
    }

    /// How many traces and spans ended with an error, plus `error` spans, kept current by
    /// every event and eviction (`search::Search::errors` lists them in order).
    pub fn errors(&self) -> usize {
        self.errors
    }

    /// Whether a trace or span removed counted as an error.
    fn forget_error(&mut self, error: bool) {
        self.errors -= usize::from(error && self.errors > 0);
    }

    /// Removes a trace and everything inside it; returns the bytes freed. The caller takes
    /// the trace out of the order index it is in (if any).
    pub(crate) fn remove_trace_tree(&mut self, id: TraceId) -> usize {
        let mut freed = 0;
        let mut stack = vec![id];
        while let Some(tid) = stack.pop() {
            let Some(trace) = self.traces.remove(tid.0) else {
                continue;
            };
            freed += trace.bytes() + trace.key.len() + indexed(&trace.parent);
            self.trace_keys.remove(&trace.key);
            self.forget_error(matches!(trace.status, RunStatus::Error(_)));
            for &sid in trace.spans.iter() {
                if let Some(span) = self.spans.remove(sid.0) {
                    self.forget_error(crate::search::is_error(&span));
                    freed += span.bytes();
                    self.span_keys.remove(&span.key, sid);
                    for &c in span.children.iter() {
                        stack.push(c);
                    }
                }
            }
            // Nothing waits for a node that exists (waiters attach when it arrives), so the
            // waiting maps need no cleanup here.
        }
        freed
    }

    /// Evicts root traces, oldest finished first, then oldest running, then orphans (oldest
    /// waiting trace, then oldest waiting span), until the model is under its cap. Each victim
    /// is the first entry of an order index: O(log n).
    pub(crate) fn evict(&mut self) -> u64 {
        let mut evicted = 0;
        while self.bytes > self.options.max_bytes {
            #[cfg(not(target_arch = "wasm32"))]
            let victim = if self.evict_by_scan {
                self.victim_by_scan()
            } else {
                self.eviction_visits += 1;
                self.victim()
            };
            #[cfg(target_arch = "wasm32")]
            let victim = {
                self.eviction_visits += 1;
                self.victim()
            };
            let freed = match victim {
                Some(Victim::Root(id, order)) => {
                    self.running_roots.remove(&order);
                    self.finished_roots.remove(&order);
                    self.remove_trace_tree(id)
                }
                Some(Victim::Trace(id, order)) => {
                    self.orphan_traces.remove(&order);
                    self.unlink_waiting_trace(id);
                    self.remove_trace_tree(id)
                }
                Some(Victim::Span(id, order)) => {
                    self.orphan_spans.remove(&order);
                    self.unlink_waiting_span(id);
                    match self.spans.remove(id.0) {
                        Some(span) => {
                            self.forget_error(crate::search::is_error(&span));
                            let mut freed = span.bytes() + indexed(&span.trace);
                            self.span_keys.remove(&span.key, id);
                            for &child in span.children.iter() {
                                freed += self.remove_trace_tree(child);
                            }
                            freed
                        }
                        None => 0,
                    }
                }
                None => {
                    // Nothing left to evict; the accounting is approximate, so reset it.
                    self.bytes = 0;
                    break;
                }
            };
            self.bytes = self.bytes.saturating_sub(freed);
            evicted += 1;
        }
        self.evicted_total += evicted;
        evicted
    }

    /// The first entry of the first non-empty index, in eviction order.
    fn victim(&self) -> Option<Victim> {
        let first = |index: &BTreeMap<Order, TraceId>| {
            index.first_key_value().map(|(o, &t)| (t, o.clone()))
        };
        let root = first(&self.finished_roots).or_else(|| first(&self.running_roots));
        if let Some((t, o)) = root {
            return Some(Victim::Root(t, o));
        }
        if let Some((t, o)) = first(&self.orphan_traces) {
            return Some(Victim::Trace(t, o));
        }
        first(&self.orphan_spans).map(|(s, o)| Victim::Span(entry_span(s), o))
    }

    /// The same choice made the way it was before the indexes: scan the roots in order for a
    /// finished one, else take the first; else sort the orphans. Kept as the tests' reference.
    #[cfg(not(target_arch = "wasm32"))]
    fn victim_by_scan(&mut self) -> Option<Victim> {
        let roots: Vec<TraceId> = self.roots().iter().copied().collect();
        let mut visits = 0;
        let finished = roots.iter().position(|&t| {
            visits += 1;
            self.trace(t).is_some_and(|t| !t.status.is_running())
        });
        let root = finished.or(if roots.is_empty() { None } else { Some(0) });
        let (mut traces, mut spans) = (Vec::new(), Vec::new());
        if root.is_none() {
            traces = self
                .waiting_traces
                .values()
                .flat_map(|w| &w.ids)
                .copied()
                .collect();
            traces.retain(|&t| {
                self.trace(t)
                    .is_some_and(|t| matches!(t.parent, Parent::Waiting(_)))
            });
            traces.sort_by(|a, b| self.trace_order(*a).cmp(&self.trace_order(*b)));
            spans = self
                .waiting_spans
                .values()
                .flat_map(|w| &w.ids)
                .copied()
                .collect();
            spans.retain(|&s| {
                self.span(s)
                    .is_some_and(|s| matches!(s.trace, Parent::Waiting(_)))
            });
            spans.sort_by(|a, b| self.span_order(*a).cmp(&self.span_order(*b)));
            visits += traces.len() + spans.len();
        }
        self.eviction_visits += visits as u64;
        let order = |t| self.order(t).expect("a listed trace is live");
        if let Some(pos) = root {
            return Some(Victim::Root(roots[pos], order(roots[pos])));
        }
        if let Some(&t) = traces.first() {
            return Some(Victim::Trace(t, order(t)));
        }
        let span = |s| {
            self.span(s)
                .map(waiting_span_order)
                .expect("a listed span is live")
        };
        spans.first().map(|&s| Victim::Span(s, span(s)))
    }

    /// Where trace `id` sorts among roots or waiting traces.
    #[cfg(not(target_arch = "wasm32"))]
    fn order(&self, id: TraceId) -> Option<Order> {
        self.trace(id).map(|t| (t.start_ts, t.key.clone()))
    }

    /// For tests: index entries and nodes looked at to choose what to evict, since the model
    /// was made. With the order indexes this is one per victim, whatever the model holds.
    #[doc(hidden)]
    pub fn eviction_visits(&self) -> u64 {
        self.eviction_visits
    }

    /// For tests: choose what to evict by scanning the roots and sorting the orphans, as the
    /// model did before it kept order indexes (a reference to compare them against).
    #[cfg(not(target_arch = "wasm32"))]
    #[doc(hidden)]
    pub fn set_evict_by_scan(&mut self, on: bool) {
        self.evict_by_scan = on;
    }

    fn unlink_waiting_trace(&mut self, id: TraceId) {
        let traces = &self.traces;
        if let Some(Parent::Waiting(key)) = traces.get(id.0).map(|t| &t.parent) {
            if let Some(w) = self.waiting_traces.get_mut(key) {
                w.live -= 1;
                if w.live == 0 {
                    self.waiting_traces.remove(key);
                } else if w.ids.len() > 2 * w.live {
                    // Each compaction drops at least half the list: amortized O(1).
                    w.ids.retain(|&t| {
                        t != id
                            && traces.get(t.0).is_some_and(
                                |t| matches!(&t.parent, Parent::Waiting(k) if k == key),
                            )
                    });
                }
            }
        }
    }

    fn unlink_waiting_span(&mut self, id: SpanId) {
        let spans = &self.spans;
        if let Some(Parent::Waiting(key)) = spans.get(id.0).map(|s| &s.trace) {
            if let Some(w) = self.waiting_spans.get_mut(key) {
                w.live -= 1;
                if w.live == 0 {
                    self.waiting_spans.remove(key);
                } else if w.ids.len() > 2 * w.live {
                    w.ids.retain(|&s| {
                        s != id
                            && spans
                                .get(s.0)
                                .is_some_and(|s| matches!(&s.trace, Parent::Waiting(k) if k == key))
                    });
                }
            }
        }
    }
}

/// A waiting span's entry in [`Model::orphan_spans`].
pub(crate) fn span_entry(id: SpanId) -> TraceId {
    TraceId(id.0)
}

fn entry_span(entry: TraceId) -> SpanId {
    SpanId(entry.0)
}

/// Where a waiting span sorts among waiting spans.
pub(crate) fn waiting_span_order(span: &Span) -> Order {
    (span.start_ts, Arc::from(&*span.key))
}

/// Accounted bytes of a node's entry in an order index: roots and waiting nodes have one.
pub(crate) fn indexed<T>(parent: &Parent<T>) -> usize {
    match parent {
        Parent::Node(_) => 0,
        Parent::Root | Parent::Waiting(_) => ORDER_ENTRY_BYTES,
    }
}

/// Root traces in order (start time, then id), as [`Model::roots`] gives them: the running
/// and the finished roots' indexes, merged.
#[derive(Clone, Copy)]
pub struct RootList<'a> {
    running: &'a BTreeMap<Order, TraceId>,
    finished: &'a BTreeMap<Order, TraceId>,
}

impl<'a> RootList<'a> {
    pub fn len(&self) -> usize {
        self.running.len() + self.finished.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> RootIter<'a> {
        RootIter {
            running: self.running.iter().peekable(),
            finished: self.finished.iter().peekable(),
        }
    }

    /// The oldest root.
    pub fn first(&self) -> Option<&'a TraceId> {
        self.iter().next()
    }

    /// The root at `index`; O(index).
    pub fn get(&self, index: usize) -> Option<&'a TraceId> {
        self.iter().nth(index)
    }
}

/// O(index): for tests and the first few roots; iterate to walk them all.
impl std::ops::Index<usize> for RootList<'_> {
    type Output = TraceId;

    fn index(&self, index: usize) -> &TraceId {
        match self.get(index) {
            Some(id) => id,
            None => panic!("root {index} of {}", self.len()),
        }
    }
}

impl<'a> IntoIterator for RootList<'a> {
    type Item = &'a TraceId;
    type IntoIter = RootIter<'a>;

    fn into_iter(self) -> RootIter<'a> {
        self.iter()
    }
}

/// Iterates [`RootList`] in order.
pub struct RootIter<'a> {
    running: Peekable<btree_map::Iter<'a, Order, TraceId>>,
    finished: Peekable<btree_map::Iter<'a, Order, TraceId>>,
}

impl<'a> Iterator for RootIter<'a> {
    type Item = &'a TraceId;

    fn next(&mut self) -> Option<&'a TraceId> {
        let take_running = match (self.running.peek(), self.finished.peek()) {
            (Some((r, _)), Some((f, _))) => r < f,
            (r, _) => r.is_some(),
        };
        let side = if take_running {
            &mut self.running
        } else {
            &mut self.finished
        };
        side.next().map(|(_, id)| id)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.running.len() + self.finished.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for RootIter<'_> {}
