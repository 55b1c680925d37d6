//! The panel's state: the model (not reactive itself) plus fine-grained triggers, one per
//! trace and span that a view shows. Incoming batches are queued and applied once per
//! animation frame; each change notifies only the views of what changed.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::reactive::*;
use user_trace_model::protocol::message::EventResult;
use user_trace_model::protocol::{Event, ServerMessage};
use user_trace_model::{Change, LevelsBelow, Model, Options, Outcome, SpanId, TraceId};

/// Something waiting to be applied at the next animation frame.
pub enum Pending {
    /// A decoded server message (events or snapshot).
    Server(ServerMessage<EventResult>),
    /// Events a host pushed, or a file imported.
    Events(Vec<Event>),
}

/// How serious a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// A message for the status area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

/// Running totals: the status area shows the first three.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub applied: u64,
    pub rejected: u64,
    pub evicted: u64,
    /// Sequence gaps, and snapshot parts out of order; the connection resumes when this
    /// changes. Kept by a clear. (Here rather
    /// than a signal of its own: each signal type costs the wasm its own code, about 1 KB.)
    pub gaps: u64,
}

const MAX_NOTICES: usize = 50;

/// Which views a batch's changes reach.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Those of what changed.
    Changed,
    /// None yet: parts of a snapshot after the first, but the last.
    Later,
    /// Every view shown: the last part of a snapshot after the first.
    All,
}

/// The snapshot parts a batch held. The first part shows at once; the views follow the others
/// once, with the last: each part moves the place of every row after the traces it adds (a
/// million spans are hundreds of parts), and a view told per part paid a layout each time.
/// What the views do not hear of still reaches what is kept from every change (error
/// sources, levels below a way in).
#[derive(Default)]
struct Parts {
    first: bool,
    later: bool,
    last: bool,
}

impl Parts {
    fn note(&mut self, part: u32, last: bool) {
        match (part, last) {
            (0, _) => self.first = true,
            (_, false) => self.later = true,
            (_, true) => self.last = true,
        }
    }

    fn reach(&self) -> Reach {
        if self.last {
            Reach::All
        } else if self.later && !self.first {
            Reach::Later
        } else {
            Reach::Changed
        }
    }
}

/// The model and the rest of the store's state, in one stored value. Leptos' stored values
/// cost the wasm a copy of their code per stored type and per closure given to them (views
/// read the model with about fifty: 12 KB of raw code), so the stored value holds only a
/// shared pointer, taken with one function; each read is then a `RefCell` borrow.
struct Data {
    model: RefCell<Model>,
    /// Never borrowed while the model is, nor the other way round (see `prune_triggers`).
    state: RefCell<State>,
}

/// The store's state besides the model.
#[derive(Default)]
struct State {
    /// Keyed by `as_u64`, as are the span triggers: one map type for both (each map type costs
    /// the wasm its own copy of the hash table's code).
    trace_triggers: HashMap<u64, ArcTrigger>,
    span_triggers: HashMap<u64, ArcTrigger>,
    /// Notified for every change to a span but appended text (see `span_shape_trigger`).
    span_shape_triggers: HashMap<u64, ArcTrigger>,
    queue: Vec<Pending>,
    scheduled: bool,
    /// Changes applied while paused, shown when resumed.
    held: Vec<Change>,
    /// Traces (`as_u64`) the user expanded, and those the user collapsed, by hand, so that a
    /// virtualized list that unmounts and remounts a trace shows it as the user left it. Sets
    /// of numbers, the type the model's duplicate window uses (no hash table code of their own).
    expanded: HashSet<u64>,
    collapsed: HashSet<u64>,
    /// How many levels nest below the traces shown as a way in past the depth cap, kept
    /// current from each batch's changes (see `LevelsBelow`; a walk per batch was O(subtree)).
    /// A trace is listed once per view of it.
    levels: Vec<LevelsBelow>,
    /// The nested traces the reader opened as the tree's root, the current one last (see
    /// `crate::depth`); empty: all traces.
    rooted: Vec<TraceId>,
    /// Traces (`as_u64`) with an error somewhere below them (`views::errors`).
    errors_above: HashSet<u64>,
    session: Option<String>,
    /// The host's links to its program (`crate::links`).
    links: crate::links::Links,
}

/// The store; `Copy`, so views take it by value.
#[derive(Clone, Copy)]
pub struct Store {
    data: StoredValue<Rc<Data>, LocalStorage>,
    roots: Trigger,
    /// Notified when the reader opens a nested trace as the root, or goes back.
    rooted: Trigger,
    /// While true, events are applied but views are not updated.
    pub paused: RwSignal<bool>,
    pub notices: RwSignal<Vec<Notice>>,
    pub counters: RwSignal<Counters>,
    /// The span (`SpanId::as_u64`) following stays inside (`views::tail`), if any.
    pub pinned: RwSignal<Option<u64>>,
}

impl Store {
    pub fn new(options: Options) -> Self {
        let paused = RwSignal::new(false);
        let store = Store {
            data: StoredValue::new_local(Rc::new(Data {
                model: RefCell::new(Model::new(options)),
                state: RefCell::default(),
            })),
            roots: Trigger::new(),
            rooted: Trigger::new(),
            paused,
            notices: RwSignal::new(Vec::new()),
            counters: RwSignal::new(Counters::default()),
            pinned: RwSignal::new(None),
        };
        // Resuming shows everything that changed while paused.
        crate::dom::effect(move || {
            if !paused.get() {
                let held = store
                    .in_state(|s| std::mem::take(&mut s.held))
                    .unwrap_or_default();
                store.notify(held);
            }
        });
        store
    }

    /// Reads the model.
    pub fn with<R>(&self, f: impl FnOnce(&Model) -> R) -> R {
        let data = self.data.get_value();
        let out = f(&data.model.borrow());
        out
    }

    /// Reads or changes the host's links to its program (`crate::links`), if the store still
    /// exists.
    pub fn links<R>(&self, f: impl FnOnce(&mut crate::links::Links) -> R) -> Option<R> {
        self.in_state(|s| f(&mut s.links))
    }

    /// Reads or changes the state, if the store still exists.
    fn in_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> Option<R> {
        let data = self.data.try_get_value()?;
        let out = f(&mut data.state.borrow_mut());
        Some(out)
    }

    /// Reads the model through one non-generic function, if the store still exists.
    pub fn read(&self, f: &mut dyn FnMut(&Model)) {
        if let Some(data) = self.data.try_get_value() {
            f(&data.model.borrow());
        }
    }

    /// Subscribes the calling view to the list of root traces.
    pub fn track_roots(&self) {
        self.roots.track();
    }

    /// The trigger of a trace's view (its header and span list).
    pub fn trace_trigger(&self, id: TraceId) -> ArcTrigger {
        self.in_state(|s| s.trace_triggers.entry(id.as_u64()).or_default().clone())
            .unwrap_or_default()
    }

    /// The trigger of a span's content: notified for every change to the span, appended text
    /// included (its header and child traces listen to `span_shape_trigger`).
    pub fn span_trigger(&self, id: SpanId) -> ArcTrigger {
        self.in_state(|s| s.span_triggers.entry(id.as_u64()).or_default().clone())
            .unwrap_or_default()
    }

    /// The trigger of a span's header and child traces: notified for every change to the span
    /// but appended text, so that a token stream costs them nothing (the model reports an
    /// append that changes the header, a new writer or an interrupted span resumed, as
    /// `Change::Span` too).
    pub fn span_shape_trigger(&self, id: SpanId) -> ArcTrigger {
        self.in_state(|s| {
            s.span_shape_triggers
                .entry(id.as_u64())
                .or_default()
                .clone()
        })
        .unwrap_or_default()
    }

    pub fn notice(&self, level: Level, text: impl Into<String>) {
        let text = text.into();
        self.notices.update(|n| {
            n.push(Notice { level, text });
            if n.len() > MAX_NOTICES {
                n.remove(0);
            }
        });
    }

    /// Queues a batch and makes sure it is applied at the next animation frame.
    pub fn enqueue(&self, pending: Pending) {
        let first = self.in_state(|s| {
            s.queue.push(pending);
            !std::mem::replace(&mut s.scheduled, true)
        });
        if first == Some(true) {
            let store = *self;
            request_animation_frame(move || store.flush());
        }
    }

    /// Applies everything queued now (also called before resubscribing, so that the last
    /// sequence number is current).
    pub fn flush(&self) {
        // A frame scheduled before the panel was unmounted finds nothing to apply to.
        if self.data.is_disposed() {
            return;
        }
        let queue = self
            .in_state(|s| {
                s.scheduled = false;
                std::mem::take(&mut s.queue)
            })
            .unwrap_or_default();
        if queue.is_empty() {
            return;
        }
        let mut out = Outcome::default();
        let mut applied = 0u64;
        let mut out_of_order = None;
        let mut parts = Parts::default();
        {
            let data = self.data.get_value();
            let m = &mut *data.model.borrow_mut();
            for pending in queue {
                match pending {
                    Pending::Server(ServerMessage::Events { first_seq, events }) => {
                        applied += events.len() as u64;
                        m.apply_batch(first_seq, events, &mut out);
                    }
                    Pending::Server(ServerMessage::Snapshot { seq, events }) => {
                        applied += events.len() as u64;
                        m.apply_snapshot(seq, events, &mut out);
                    }
                    Pending::Server(ServerMessage::SnapshotPart {
                        seq,
                        part,
                        last,
                        events,
                    }) => {
                        applied += events.len() as u64;
                        if let Err(e) = m.apply_snapshot_part(seq, part, last, events, &mut out) {
                            out_of_order = Some(e);
                            break;
                        }
                        parts.note(part, last);
                    }
                    Pending::Server(_) => {}
                    Pending::Events(events) => {
                        applied += events.len() as u64;
                        for e in events {
                            m.apply(e, &mut out);
                        }
                    }
                }
                if out.gap.is_some() {
                    // Nothing after a gap applies; the connection resumes from the last number.
                    break;
                }
            }
        }
        for r in out.rejected.iter().rev().take(5).rev() {
            let id = r.event_id.as_deref().unwrap_or("?");
            self.notice(Level::Warning, format!("event {id} skipped: {}", r.reason));
        }
        if out.rejected.len() > 5 {
            self.notice(
                Level::Warning,
                format!("{} more events skipped", out.rejected.len() - 5),
            );
        }
        if out.evicted > 0 {
            let total = self.with(|m| m.evicted_total());
            self.notice(
                Level::Info,
                format!("memory cap reached: {total} oldest traces evicted so far"),
            );
            self.prune_triggers();
        }
        // Counted as a gap: the connection subscribes again, and the model, which holds no
        // sequence number now, gets a whole snapshot.
        let resume = out.gap.is_some() || out_of_order.is_some();
        self.counters.update(|c| {
            c.applied += applied;
            c.rejected += out.rejected.len() as u64;
            c.evicted += out.evicted;
            c.gaps += u64::from(resume);
        });
        if let Some(e) = out_of_order {
            self.notice(Level::Warning, e.to_string());
            self.in_state(|s| s.queue.clear());
        }
        if let Some(gap) = out.gap {
            self.notice(
                Level::Info,
                format!("missed events {}..{}: resuming", gap.expected, gap.got),
            );
            self.in_state(|s| s.queue.clear());
        }
        if self.paused.get_untracked() {
            self.in_state(|s| s.held.extend(out.changes));
        } else {
            self.notify_views(out.changes, parts.reach());
        }
    }

    fn notify(&self, changes: Vec<Change>) {
        self.notify_views(changes, Reach::Changed);
    }

    fn notify_views(&self, changes: Vec<Change>, reach: Reach) {
        self.note_error_sources(&changes);
        let mut roots = false;
        // Way-in rows whose count of levels below moved are notified as their trace.
        let mut traces: Vec<TraceId> = self
            .in_state(|s| {
                self.with(|m| {
                    s.levels
                        .iter_mut()
                        .filter_map(|l| {
                            let before = l.levels;
                            l.update(m, &changes);
                            (l.levels != before).then_some(l.root())
                        })
                        .collect()
                })
            })
            .unwrap_or_default();
        let mut spans = Vec::new();
        let mut shapes = Vec::new();
        for c in changes {
            match c {
                Change::Roots | Change::Orphans => roots = true,
                Change::Cleared => {
                    roots = true;
                    // Every view is rebuilt from the roots; old triggers are dropped.
                    self.in_state(|s| {
                        s.trace_triggers.clear();
                        s.span_triggers.clear();
                        s.span_shape_triggers.clear();
                    });
                    traces.clear();
                    spans.clear();
                    shapes.clear();
                }
                Change::TraceSpans(t) | Change::Trace(t) => traces.push(t),
                Change::Nested(_) => {}
                Change::Span(s) | Change::Content(s) | Change::SpanChildren(s) => {
                    spans.push(s);
                    shapes.push(s);
                }
                Change::TextAppended { span: s, .. } => spans.push(s),
            }
        }
        // A trigger notified twice updates its view once; dropping repeats in a row (a token
        // stream's appends to one span) only saves the lookups. Not sorted: a sort of each id
        // type cost the wasm a copy of the standard library's sort.
        traces.dedup();
        spans.dedup();
        shapes.dedup();
        match reach {
            Reach::Changed => {}
            Reach::Later => return,
            Reach::All => {
                // Every view shown reads the model again, and the list of traces.
                self.in_state(|state| {
                    let all = state.trace_triggers.values();
                    let all = all.chain(state.span_triggers.values());
                    for trigger in all.chain(state.span_shape_triggers.values()) {
                        trigger.notify();
                    }
                });
                self.roots.notify();
                return;
            }
        }
        // Notifying only marks views to update later: nothing borrows the state meanwhile.
        self.in_state(|state| {
            for t in &traces {
                if let Some(trigger) = state.trace_triggers.get(&t.as_u64()) {
                    trigger.notify();
                }
            }
            for s in &spans {
                if let Some(trigger) = state.span_triggers.get(&s.as_u64()) {
                    trigger.notify();
                }
            }
            for s in &shapes {
                if let Some(trigger) = state.span_shape_triggers.get(&s.as_u64()) {
                    trigger.notify();
                }
            }
        });
        if roots {
            self.roots.notify();
        }
    }

    fn prune_triggers(&self) {
        self.with(|m| {
            self.in_state(|s| {
                s.trace_triggers
                    .retain(|&id, _| m.trace(TraceId::from_u64(id)).is_some());
                s.span_triggers
                    .retain(|&id, _| m.span(SpanId::from_u64(id)).is_some());
                s.span_shape_triggers
                    .retain(|&id, _| m.span(SpanId::from_u64(id)).is_some());
            })
        });
    }

    /// Whether the user left trace `id` expanded (`None`: never toggled by hand).
    pub fn trace_expanded(&self, id: TraceId) -> Option<bool> {
        let id = id.as_u64();
        self.in_state(|s| {
            if s.expanded.contains(&id) {
                Some(true)
            } else {
                s.collapsed.contains(&id).then_some(false)
            }
        })
        .flatten()
    }

    /// Remembers that the user expanded or collapsed trace `id`.
    pub fn set_trace_expanded(&self, id: TraceId, expanded: bool) {
        let id = id.as_u64();
        self.in_state(|s| {
            let (to, from) = if expanded {
                (&mut s.expanded, &mut s.collapsed)
            } else {
                (&mut s.collapsed, &mut s.expanded)
            };
            from.remove(&id);
            to.insert(id);
        });
    }

    /// How many levels nest below trace `id`, kept current while the calling view lives (its
    /// trace's trigger notifies it when the count moves): the way-in rows past the depth cap.
    pub fn watch_levels_below(&self, id: TraceId) {
        let count = self.with(|m| LevelsBelow::new(m, id));
        self.in_state(|s| s.levels.push(count));
        let store = *self;
        on_cleanup(move || {
            store.in_state(|s| {
                if let Some(i) = s.levels.iter().position(|l| l.root() == id) {
                    s.levels.swap_remove(i);
                }
            });
        });
    }

    /// Levels below trace `id` as last counted (see [`Store::watch_levels_below`]); a walk of
    /// its subtree if it is not watched.
    pub fn levels_below(&self, id: TraceId) -> usize {
        let kept = self
            .in_state(|s| s.levels.iter().find(|l| l.root() == id).map(|l| l.levels))
            .flatten();
        kept.unwrap_or_else(|| self.with(|m| m.levels_below(id)))
    }

    /// The nested trace the tree is rooted at (and subscribes the caller): the last one the
    /// reader opened that still exists.
    pub fn rooted(&self) -> Option<TraceId> {
        self.rooted.track();
        let mut id = None;
        self.in_state(|s| id = s.rooted.last().copied());
        let id = id?;
        self.with(|m| m.trace(id).is_some()).then_some(id)
    }

    /// The nested trace the tree is rooted at, without subscribing the caller.
    pub fn rooted_untracked(&self) -> Option<TraceId> {
        self.in_state(|s| s.rooted.last().copied()).flatten()
    }

    /// Whether trace `id` has an error below it (its header is marked).
    pub fn errors_above(&self, id: TraceId) -> bool {
        self.in_state(|s| s.errors_above.contains(&id.as_u64()))
            .unwrap_or(false)
    }

    /// The traces with an error below them; the views of those that changed are told.
    pub fn set_errors_above(&self, now: HashSet<u64>) {
        let changed: Vec<u64> = self
            .in_state(|s| {
                let old = std::mem::replace(&mut s.errors_above, now);
                old.symmetric_difference(&s.errors_above).copied().collect()
            })
            .unwrap_or_default();
        for t in changed {
            self.trace_trigger(TraceId::from_u64(t)).notify();
        }
    }

    /// Expands trace `id` for a reveal (`views::reveal`): as if the reader had, and its view
    /// is told.
    pub fn reveal_trace(&self, id: TraceId) {
        self.set_trace_expanded(id, true);
        self.trace_trigger(id).notify();
    }

    /// Roots the tree at trace `id`, or with `None` goes back to the root before (all traces
    /// after the first one opened; `show_all` goes there at once).
    pub fn open_as_root(&self, id: Option<TraceId>) {
        self.in_state(|s| match id {
            Some(id) => s.rooted.push(id),
            None => {
                s.rooted.pop();
            }
        });
        self.rooted.notify();
    }

    /// Shows every trace again, however deep the reader went.
    pub fn show_all(&self) {
        self.in_state(|s| s.rooted.clear());
        self.rooted.notify();
    }

    /// Forgets every hand toggle: collapse-all and expand-all apply to every trace.
    pub fn forget_folds(&self) {
        self.in_state(|s| {
            s.expanded.clear();
            s.collapsed.clear();
        });
    }

    /// Drops everything shown (the toolbar's Clear, or a host's `clear()`).
    pub fn clear(&self) {
        self.data.get_value().model.borrow_mut().clear();
        self.notify(vec![Change::Cleared]);
        self.counters.update(|c| {
            *c = Counters {
                gaps: c.gaps,
                ..Counters::default()
            }
        });
    }

    /// The runtime session the model's sequence numbers belong to.
    pub fn session(&self) -> Option<String> {
        self.in_state(|s| s.session.clone()).flatten()
    }

    /// Records the server's session; a different one means our sequence numbers are void.
    pub fn set_session(&self, session: &str) {
        let same = self.in_state(|s| s.session.as_deref() == Some(session));
        if same == Some(false) {
            self.data.get_value().model.borrow_mut().reset_sequence();
            self.in_state(|s| s.session = Some(session.to_owned()));
        }
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.with(Model::last_seq)
    }

    /// Every event needed to rebuild what is shown (for export).
    pub fn export_events(&self) -> Vec<Event> {
        self.with(Model::snapshot_events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(parts: &[(u32, bool)]) -> Reach {
        let mut p = Parts::default();
        for &(part, last) in parts {
            p.note(part, last);
        }
        p.reach()
    }

    #[test]
    fn the_views_hear_of_the_first_part_at_once_and_of_the_others_with_the_last() {
        assert!(reach(&[]) == Reach::Changed, "no parts: what changed");
        assert!(
            reach(&[(0, true)]) == Reach::Changed,
            "a snapshot in one part"
        );
        assert!(reach(&[(0, false)]) == Reach::Changed, "the first paint");
        assert!(reach(&[(1, false)]) == Reach::Later);
        assert!(reach(&[(1, false), (2, false)]) == Reach::Later);
        assert!(reach(&[(0, false), (1, false)]) == Reach::Changed);
        assert!(reach(&[(3, true)]) == Reach::All);
        assert!(reach(&[(2, false), (3, true)]) == Reach::All);
    }
}
