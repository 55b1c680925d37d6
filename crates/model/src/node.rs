//! The nodes of the tree: traces and spans.

use std::sync::Arc;

use user_trace_protocol::{Content, RawJson, SpanKind, Status};

use crate::json_stream::JsonStream;
use crate::slab::Key;
use crate::stream_text::Text;

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
    pub spans: IdList<SpanId>,
    /// Names of the processes that wrote into this trace, sorted.
    pub processes: Vec<Arc<str>>,
    pub status: RunStatus,
    /// Microseconds since the Unix epoch.
    pub start_ts: u64,
    /// When it ended (see [`Trace::end_ts`]).
    pub(crate) end: u64,
    /// The process that started the trace (one allocation shared by the nodes it made: `names.rs`).
    pub process: Arc<str>,
    /// The host's name for what made it (`source`, opaque; the first start's).
    pub source: Option<Box<str>>,
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
    pub children: Children,
    /// The process that created the span (one allocation shared by the nodes it made: `names.rs`).
    pub process: Arc<str>,
    pub status: RunStatus,
    pub start_ts: u64,
    /// When it ended (see [`Span::end_ts`]): a number and not an `Option`, whose tag costs 8
    /// bytes a span in the panel's wasm (the status says whether it ended).
    pub(crate) end: u64,
    /// A `json` span streamed with `json_append`: the document so far and how it parses
    /// (see [`Span::streamed_json`]).
    pub stream: Option<Box<JsonStream>>,
    /// How many times the content was replaced (not grown): a view that shows the content in
    /// parts starts over when it changes.
    pub revision: u32,
    /// How many pieces were streamed into it (see [`Span::appends`]).
    pub(crate) pieces: u32,
    /// When its first and last pieces came, once they are not both its start: a span created
    /// with its text (most spans) allocates nothing for them, where `Appends` inline cost every
    /// span 24 bytes in the panel's wasm.
    pub(crate) piece_times: Option<Box<[u64; 2]>>,
    /// What few spans have (see the accessors below): a span without any of it pays 8 bytes
    /// for it, not 80 (a million small spans in the panel, issue 19).
    pub(crate) more: Option<Box<SpanMore>>,
}

/// The rarer parts of a span, allocated on the first one it gets.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanMore {
    pub writers: Vec<Arc<str>>,
    pub item_history: ItemHistories,
    pub interrupted: Option<u64>,
    pub source: Option<Box<str>>,
}

impl SpanMore {
    /// What the model's byte count holds for it: the changes keep the count in step with
    /// this (the histories' `note`), so it leaves out what they do not count.
    fn bytes(&self) -> usize {
        self.item_history.bytes() + self.source.as_ref().map_or(0, |s| s.len())
    }
}

/// Values an item had before: the newest last, at most this many kept.
pub const ITEM_HISTORY: usize = 5;

/// How often an item's value changed and what it was before.
#[derive(Debug, Clone, Default)]
pub struct ItemHistory {
    /// Times `items_set` gave it a different value.
    pub changes: u32,
    /// Its last [`ITEM_HISTORY`] values before the current one, oldest first. (A `Vec`, not a
    /// `VecDeque`: at five values the shift costs nothing, and the wasm has no deque code.)
    pub previous: Vec<RawJson>,
}

/// The histories of a span's items, by position (empty, and allocating nothing, until an item
/// changes; a `content_replace` starts them over). Sorted by position: a table's changing items
/// are few, and a sorted list costs the wasm less than a `BTreeMap` of its own type.
#[derive(Debug, Clone, Default)]
pub struct ItemHistories(Vec<(u32, ItemHistory)>);

impl ItemHistories {
    /// The history of item `index`, if its value ever changed.
    pub fn get(&self, index: usize) -> Option<&ItemHistory> {
        let index = u32::try_from(index).ok()?;
        let at = self.0.binary_search_by_key(&index, |e| e.0).ok()?;
        Some(&self.0[at].1)
    }

    /// Notes that item `index`'s value `old` was replaced by a different one; the bytes this
    /// holds more (or less: a value dropped past the bound) than before.
    pub(crate) fn note(&mut self, index: usize, old: RawJson) -> isize {
        let Ok(index) = u32::try_from(index) else {
            return 0;
        };
        let at = match self.0.binary_search_by_key(&index, |e| e.0) {
            Ok(at) => at,
            Err(at) => {
                self.0.insert(at, (index, ItemHistory::default()));
                at
            }
        };
        let h = &mut self.0[at].1;
        h.changes = h.changes.saturating_add(1);
        let mut delta = old.get().len() as isize + 16;
        h.previous.push(old);
        if h.previous.len() > ITEM_HISTORY {
            let dropped = h.previous.remove(0);
            delta -= dropped.get().len() as isize + 16;
        }
        delta
    }

    /// What the histories hold, in bytes (as [`ItemHistories::note`] counts them).
    pub(crate) fn bytes(&self) -> usize {
        self.0
            .iter()
            .map(|(_, h)| h.previous.iter().map(|v| v.get().len() + 16).sum::<usize>() + 48)
            .sum()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// The pieces streamed into a span (`text_append`, `message_append`, `json_append`; text a
/// `text` span was created with counts as its first piece): a stream's statistics. A snapshot
/// folds the pieces into the content, so after one the counts start from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appends {
    /// How many pieces arrived (a producer sends one per token: its tokens).
    pub count: u32,
    /// When the first and the last arrived (event `ts`, microseconds); 0 before the first.
    pub first_ts: u64,
    pub last_ts: u64,
}

impl Appends {
    /// Counts a piece sent at `ts`.
    pub fn note(&mut self, ts: u64) {
        if self.count == 0 {
            self.first_ts = ts;
        }
        self.count = self.count.saturating_add(1);
        self.last_ts = self.last_ts.max(ts);
    }
}

/// Fixed cost of a node in the memory accounting, beside its strings and content: the node in
/// its slab (whose storage grows by doubling: half as much again on average), its entry in the
/// id index (`index_entry` bytes and a control byte, in a hash table at most 7/8 full: about
/// twice that), and the allocator's rounding of its small strings and lists. Measured against
/// a counting allocator by `tests/hostile.rs`: a stream of small traces then holds about the
/// cap, not twice it.
const fn node_overhead(node: usize, index_entry: usize) -> usize {
    let slot = node + 8;
    slot * 3 / 2 + 2 * (index_entry + 1) + 4 * 16
}

/// A trace's index entry is its shared key and its id; a span's, its id alone (`span_keys.rs`).
const TRACE_OVERHEAD: usize = node_overhead(
    std::mem::size_of::<Trace>(),
    std::mem::size_of::<(Arc<str>, TraceId)>(),
);
const SPAN_OVERHEAD: usize =
    node_overhead(std::mem::size_of::<Span>(), std::mem::size_of::<SpanId>());

impl Trace {
    /// When it ended (event `ts`); none while it runs.
    pub fn end_ts(&self) -> Option<u64> {
        (!self.status.is_running()).then_some(self.end)
    }

    pub(crate) fn bytes(&self) -> usize {
        TRACE_OVERHEAD
            + self.key.len()
            + self.name.len()
            + self.spans.len() * 8
            + self.processes.iter().map(|p| p.len() + 16).sum::<usize>()
            + self.source.as_ref().map_or(0, |s| s.len())
    }
}

/// What a span's `piece_times` adds to the model's byte count.
pub(crate) const PIECE_TIMES_BYTES: usize = 16;

impl Span {
    /// When it ended (event `ts`); none while it runs.
    pub fn end_ts(&self) -> Option<u64> {
        (!self.status.is_running()).then_some(self.end)
    }

    /// Its streamed pieces so far, for its stream stats (time to first token, tokens per second).
    pub fn appends(&self) -> Appends {
        match (self.pieces, self.piece_times.as_deref()) {
            (0, _) => Appends::default(),
            (count, Some(&[first_ts, last_ts])) => Appends {
                count,
                first_ts,
                last_ts,
            },
            (count, None) => Appends {
                count,
                first_ts: self.start_ts,
                last_ts: self.start_ts,
            },
        }
    }

    /// Counts a piece sent at `ts`; the bytes this allocated.
    pub(crate) fn note_piece(&mut self, ts: u64) -> usize {
        let mut a = self.appends();
        a.note(ts);
        self.pieces = a.count;
        let times = [a.first_ts, a.last_ts];
        match &mut self.piece_times {
            Some(t) => {
                **t = times;
                0
            }
            None if times == [self.start_ts; 2] => 0,
            None => {
                self.piece_times = Some(Box::new(times));
                PIECE_TIMES_BYTES
            }
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        SPAN_OVERHEAD
            + self.piece_times.as_ref().map_or(0, |_| PIECE_TIMES_BYTES)
            + self.key.len()
            + self.title.as_ref().map_or(0, String::len)
            + self.content.heap_bytes()
            + self.children.len() * 8
            + self.stream.as_ref().map_or(0, |s| s.heap_bytes())
            + self.more.as_ref().map_or(0, |m| m.bytes())
    }

    /// Other processes that wrote into it (appends, items), sorted; empty when only its
    /// creator did.
    pub fn writers(&self) -> &[Arc<str>] {
        self.more.as_ref().map_or(&[], |m| &m.writers)
    }

    /// The values that `items_set` replaced in item `index` of an `items` span (a live table).
    pub fn item_history(&self, index: usize) -> Option<&ItemHistory> {
        self.more.as_ref()?.item_history.get(index)
    }

    /// When a runtime said its writer disconnected and did not come back (`span_interrupted`,
    /// event `ts`); cleared by a later write or its end.
    pub fn interrupted(&self) -> Option<u64> {
        self.more.as_ref()?.interrupted
    }

    /// The host's name for what made it (`source`, opaque).
    pub fn source(&self) -> Option<&str> {
        self.more.as_ref()?.source.as_deref()
    }

    pub(crate) fn more_mut(&mut self) -> &mut SpanMore {
        self.more.get_or_insert_with(Default::default)
    }

    /// Clears the interruption; returns whether there was one.
    pub(crate) fn resume(&mut self) -> bool {
        self.more
            .as_mut()
            .is_some_and(|m| m.interrupted.take().is_some())
    }

    /// A streamed JSON span's document: its stream, and its text so far (once the stream is
    /// done and valid, the text is the span's content).
    pub fn streamed_json(&self) -> Option<(&JsonStream, Text<'_>)> {
        let stream = self.stream.as_deref()?;
        let text = match &self.content {
            Content::Json(j) if stream.done() && stream.error().is_none() => j.text(),
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
    list: &mut IdList<I>,
    id: I,
    at: (u64, &str),
    sort_key: impl Fn(I) -> (u64, &'a str),
) {
    let before = |other: I| sort_key(other) <= at;
    match list.last() {
        Some(&last) if !before(last) => {
            let pos = list.partition_point(|&o| before(o));
            list.insert_at(pos, id);
        }
        _ => list.all.push(id),
    }
}

/// A trace's spans or a span's child traces, in order ([`insert_sorted`]): a `Vec` with room
/// kept before its first id, so that a node that sorts first (nodes arriving newest first)
/// takes that room instead of moving every id after it. With a plain `Vec`, 100,000 spans
/// arriving in reverse order took 1.3 s natively (0.26 s in order), each a move of the whole
/// list, under the runtime's lock. An id inserted elsewhere moves the shorter side: runs that
/// interleave out of order (two processes each sending newest first) still move up to half the
/// list an id. Reads as a slice (`Deref`), as the `Vec` did: 16 bytes against a `Vec`'s 12 in
/// the panel's wasm (a span's list is boxed, [`Children`]).
#[derive(Debug, Clone)]
pub struct IdList<I> {
    /// The ids are `all[head..]`; `all[..head]` is room (copies of ids, never read).
    all: Vec<I>,
    head: usize,
}

impl<I> Default for IdList<I> {
    fn default() -> Self {
        IdList {
            all: Vec::new(),
            head: 0,
        }
    }
}

impl<I> std::ops::Deref for IdList<I> {
    type Target = [I];
    fn deref(&self) -> &[I] {
        &self.all[self.head..]
    }
}

/// A span's child traces ([`IdList`]): most spans have none, and pay 4 bytes for them in the
/// panel's wasm (8 natively), not a list's 16.
#[derive(Debug, Clone, Default)]
pub struct Children(Option<Box<IdList<TraceId>>>);

impl Children {
    /// The list, made on the first child.
    pub(crate) fn list(&mut self) -> &mut IdList<TraceId> {
        self.0.get_or_insert_with(Box::default)
    }
}

impl std::ops::Deref for Children {
    type Target = [TraceId];
    fn deref(&self) -> &[TraceId] {
        match &self.0 {
            Some(list) => list,
            None => &[],
        }
    }
}

impl<I: Copy> IdList<I> {
    /// How many ids (without making the slice).
    pub fn len(&self) -> usize {
        self.all.len() - self.head
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts `id` at `pos` (at most the length).
    fn insert_at(&mut self, pos: usize, id: I) {
        let len = self.len();
        if pos >= len / 2 {
            #[cfg(test)]
            tests::moved(len - pos);
            self.all.insert(self.head + pos, id);
            return;
        }
        if self.head == 0 {
            // As much room as there are ids, by doubling the list (the first half then holds
            // copies that are never read): the front grows as a `Vec`'s end does.
            #[cfg(test)]
            tests::moved(len);
            self.all.extend_from_within(..);
            self.head = len;
        }
        #[cfg(test)]
        tests::moved(pos);
        // The ids before `pos` move one place towards the front.
        let h = self.head - 1;
        for i in h..h + pos {
            self.all[i] = self.all[i + 1];
        }
        self.all[h + pos] = id;
        self.head = h;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;

    thread_local! {
        /// Ids moved (or copied) by inserts on this thread.
        static MOVED: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn moved(n: usize) {
        MOVED.with(|m| m.set(m.get() + n));
    }

    /// Inserts ids `0..` with these sort keys, each as it comes; returns the list and the ids
    /// moved.
    fn build(keys: &[(u64, String)]) -> (IdList<usize>, usize) {
        MOVED.with(|m| m.set(0));
        let mut list = IdList::default();
        for (id, (ts, key)) in keys.iter().enumerate() {
            insert_sorted(&mut list, id, (*ts, key), |o| (keys[o].0, &*keys[o].1));
        }
        (list, MOVED.with(Cell::get))
    }

    /// The same rule on a plain `Vec`: after every id that sorts at or before it.
    fn reference(keys: &[(u64, String)]) -> Vec<usize> {
        let mut v: Vec<usize> = Vec::new();
        for (id, (ts, key)) in keys.iter().enumerate() {
            let pos = v.partition_point(|&o| (keys[o].0, &*keys[o].1) <= (*ts, &**key));
            v.insert(pos, id);
        }
        v
    }

    proptest! {
        #[test]
        fn ids_come_out_as_a_sorted_vec_would_have_them_in_any_arrival_order(
            keys in proptest::collection::vec((0u64..6, "[a-c]{0,2}"), 0..200)
        ) {
            let (list, _) = build(&keys);
            prop_assert_eq!(list.to_vec(), reference(&keys));
            prop_assert_eq!(list.len(), keys.len());
            prop_assert_eq!(list.is_empty(), keys.is_empty());
        }
    }

    #[test]
    fn ids_arriving_newest_first_are_not_a_move_of_the_whole_list_each() {
        let n = 10_000;
        let reversed: Vec<(u64, String)> = (0..n).map(|i| (n - i, String::new())).collect();
        let (list, moved) = build(&reversed);
        assert_eq!(list.to_vec(), reference(&reversed));
        // The room at the front doubles as the list grows: about n copies in all. A `Vec`
        // moved every id each time: n * (n - 1) / 2, 50 million here.
        assert!(moved <= 2 * n as usize, "{moved} ids moved");
        // In order: nothing moves.
        let in_order: Vec<(u64, String)> = (0..n).map(|i| (i, String::new())).collect();
        assert_eq!(build(&in_order).1, 0);
        // The near-miss of the front: one old id stays first, and the rest arrive newest
        // first, each second in the list: one id moves for each.
        let second: Vec<(u64, String)> = std::iter::once((0, String::new()))
            .chain((1..n).map(|i| (n - i, String::new())))
            .collect();
        let (list, moved) = build(&second);
        assert_eq!(list.to_vec(), reference(&second));
        assert!(moved <= 3 * n as usize, "{moved} ids moved");
    }
}

#[cfg(test)]
mod item_history_tests {
    use super::*;

    fn raw(s: &str) -> RawJson {
        RawJson::from_string(s.to_owned()).expect("JSON")
    }

    #[test]
    fn items_that_change_in_any_order_each_keep_their_own_history() {
        let mut h = ItemHistories::default();
        // Positions out of order, one twice, the first and the last of a long table.
        for (index, old) in [
            (5, "a"),
            (2, "b"),
            (9, "c"),
            (2, "d"),
            (0, "e"),
            (70_000, "f"),
        ] {
            assert!(h.note(index, raw(&format!("\"{old}\""))) > 0);
        }
        let previous = |i: usize| -> Option<(u32, Vec<String>)> {
            let e = h.get(i)?;
            Some((
                e.changes,
                e.previous.iter().map(|v| v.get().to_owned()).collect(),
            ))
        };
        assert_eq!(previous(2), Some((2, vec!["\"b\"".into(), "\"d\"".into()])));
        assert_eq!(previous(5), Some((1, vec!["\"a\"".into()])));
        assert_eq!(previous(0), Some((1, vec!["\"e\"".into()])));
        assert_eq!(previous(70_000), Some((1, vec!["\"f\"".into()])));
        // Positions next to changed ones, and beyond the table, never changed.
        for never in [1, 3, 4, 6, 8, 10, 69_999, 70_001, usize::MAX] {
            assert!(h.get(never).is_none(), "{never}");
        }
        // The bytes counted as each was noted are the bytes held.
        let noted: isize = 6 * (3 + 16);
        assert_eq!(h.bytes() as isize, noted + 5 * 48);
    }
}
