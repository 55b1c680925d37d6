//! Applying events: the only place the tree changes.

use std::sync::Arc;

use user_trace_protocol::{
    message::EventResult, Content, Event, Item, Message, MessageContent, Op, Part, RawJson,
    SpanKind, Status,
};

use crate::change::{Change, Gap, Outcome, PartOutOfOrder, Rejection};
use crate::model::{span_entry, waiting_span_order, Model, ORDER_ENTRY_BYTES};
use crate::node::{
    insert_sorted, IdList, Parent, RunStatus, Span, SpanId, SpanMore, Trace, TraceId,
};

type Result<T = ()> = std::result::Result<T, String>;

/// Who wrote an event, and when.
#[derive(Clone, Copy)]
struct Origin<'a> {
    process: &'a str,
    ts: u64,
}

/// A `trace_start`'s fields.
struct NewTrace {
    key: String,
    name: String,
    parent_span: Option<String>,
    source: Option<String>,
}

/// A `span_create`'s fields.
struct NewSpan {
    trace: String,
    key: String,
    kind: SpanKind,
    title: Option<String>,
    content: Content,
    source: Option<String>,
}

impl Model {
    /// Applies a numbered batch: events `first_seq`, `first_seq + 1`, ... Already applied
    /// numbers are skipped as duplicates. A batch starting after the next expected number is a
    /// gap: nothing from it is applied and [`Outcome::gap`] says what to resume from.
    pub fn apply_batch(&mut self, first_seq: u64, batch: Vec<EventResult>, out: &mut Outcome) {
        let expected = self.last_seq.map_or(first_seq, |s| s + 1);
        if first_seq > expected && self.last_seq.is_some() {
            out.gap = Some(Gap {
                expected,
                got: first_seq,
            });
            return;
        }
        for (i, entry) in batch.into_iter().enumerate() {
            let seq = first_seq + i as u64;
            if self.last_seq.is_some_and(|last| seq <= last) {
                out.duplicates += 1;
                continue;
            }
            self.last_seq = Some(seq);
            match entry {
                Ok(event) => self.apply_one(event, Some(seq), true, out),
                Err(e) => out.rejected.push(Rejection {
                    seq: Some(seq),
                    event_id: e.id,
                    reason: e.reason,
                }),
            }
        }
    }

    /// Replaces everything with a snapshot's events, as of sequence number `seq`.
    pub fn apply_snapshot(&mut self, seq: u64, events: Vec<EventResult>, out: &mut Outcome) {
        // Part 0 always applies.
        let _ = self.apply_snapshot_part(seq, 0, true, events, out);
    }

    /// Applies one part of a snapshot sent in parts: part 0 replaces everything, as
    /// [`Model::apply_snapshot`] does, and each later part adds to it. Until the `last` part
    /// the model holds no sequence number: a connection lost in between starts over from a
    /// snapshot, never resumes from part of one. A part that is not the one due (another
    /// snapshot's, or one skipped) applies nothing.
    pub fn apply_snapshot_part(
        &mut self,
        seq: u64,
        part: u32,
        last: bool,
        events: Vec<EventResult>,
        out: &mut Outcome,
    ) -> std::result::Result<(), PartOutOfOrder> {
        if part == 0 {
            self.clear();
            self.seen.clear();
            out.changes.push(Change::Cleared);
        } else if self.snapshot_next != Some((seq, part)) {
            let expected = self.snapshot_next.take();
            self.last_seq = None;
            return Err(PartOutOfOrder {
                seq,
                part,
                expected,
            });
        }
        (self.last_seq, self.snapshot_next) = if last {
            (Some(seq), None)
        } else {
            (None, Some((seq, part.saturating_add(1))))
        };
        for entry in events {
            match entry {
                // Snapshot ids are synthetic: they must not shadow live ids in the dedup window.
                Ok(event) => self.apply_one(event, None, false, out),
                Err(e) => out.rejected.push(Rejection {
                    seq: None,
                    event_id: e.id,
                    reason: e.reason,
                }),
            }
        }
        Ok(())
    }

    /// Applies one event that has no sequence number (pushed by a host, or imported).
    pub fn apply(&mut self, event: Event, out: &mut Outcome) {
        self.apply_one(event, None, true, out);
    }

    /// Records an event id in the duplicate window without applying anything: for a server
    /// that reads its state back from a snapshot, so that events folded into it are still
    /// recognized when a producer resends them.
    pub fn remember(&mut self, process: &str, id: &str) {
        self.seen.insert(process, id);
    }

    /// Forgets the sequence number, so that the next numbered batch is taken as it comes
    /// (used when the server's session changed).
    pub fn reset_sequence(&mut self) {
        self.last_seq = None;
    }

    fn apply_one(&mut self, event: Event, seq: Option<u64>, dedup: bool, out: &mut Outcome) {
        // Checked before the duplicate window keeps them: it holds ids, not events.
        let labels = self
            .check_label("event id", &event.id)
            .and_then(|()| self.check_label("process", &event.process));
        if let Err(reason) = labels {
            out.rejected.push(Rejection {
                seq,
                event_id: Some(event.id),
                reason,
            });
            return;
        }
        if dedup && !self.seen.insert(&event.process, &event.id) {
            out.duplicates += 1;
            return;
        }
        let Event {
            id,
            process,
            ts,
            op,
            ..
        } = event;
        if let Err(reason) = self.apply_op(op, &process, ts, out) {
            if dedup {
                self.seen.remove(&process, &id);
            }
            out.rejected.push(Rejection {
                seq,
                event_id: Some(id),
                reason,
            });
        }
        if self.bytes > self.options.max_bytes {
            let n = self.evict();
            if n > 0 {
                out.evicted += n;
                out.changes.push(Change::Roots);
                out.changes.push(Change::Orphans);
            }
        }
    }

    fn check_label(&self, what: &str, s: &str) -> Result {
        if s.len() > self.options.limits.max_label_bytes {
            return Err(format!(
                "{what} is {} bytes, over the limit of {}",
                s.len(),
                self.options.limits.max_label_bytes
            ));
        }
        Ok(())
    }

    fn apply_op(&mut self, op: Op, process: &str, ts: u64, out: &mut Outcome) -> Result {
        match op {
            Op::TraceStart {
                trace,
                name,
                parent_span,
                source,
            } => {
                let new = NewTrace {
                    key: trace,
                    name,
                    parent_span,
                    source,
                };
                self.trace_start(new, Origin { process, ts }, out)
            }
            Op::SpanCreate {
                trace,
                span,
                kind,
                title,
                content,
                source,
            } => {
                let new = NewSpan {
                    trace,
                    key: span,
                    kind,
                    title,
                    content,
                    source,
                };
                self.span_create(new, Origin { process, ts }, out)
            }
            Op::TextAppend { span, text } => self.text_append(&span, &text, process, ts, out),
            Op::ContentReplace { span, content } => {
                self.content_replace(&span, content, process, out)
            }
            Op::ItemsSet { span, items } => self.items(&span, items, true, process, out),
            Op::ItemsAdd { span, items } => self.items(&span, items, false, process, out),
            Op::SpanEnd { span, status } => self.span_end(&span, status, ts, out),
            Op::TraceEnd { trace, status } => self.trace_end(&trace, status, ts, out),
            Op::Clear => {
                self.clear();
                out.changes.push(Change::Cleared);
                Ok(())
            }
            Op::MessagesAdd { span, messages } => self.messages_add(&span, messages, process, out),
            Op::MessageAppend { span, text } => self.message_append(&span, &text, process, ts, out),
            Op::JsonAppend { span, text, done } => {
                self.json_append(&span, &text, done, process, ts, out)
            }
            Op::SpanInterrupted { span } => self.span_interrupted(&span, ts, out),
        }
    }

    fn trace_start(&mut self, new: NewTrace, at: Origin<'_>, out: &mut Outcome) -> Result {
        let NewTrace {
            key,
            name,
            parent_span,
            source,
        } = new;
        let Origin { process, ts } = at;
        self.check_label("trace id", &key)?;
        self.check_label("trace name", &name)?;
        if let Some(s) = &source {
            self.check_label("trace source", s)?;
        }
        if let Some(&id) = self.trace_keys.get(key.as_str()) {
            // Several processes may each announce a shared trace: the first one wins, the
            // others join it. A different parent is a real conflict.
            let same_parent = match (&parent_span, self.trace(id).map(|t| &t.parent)) {
                (None, Some(Parent::Root)) => true,
                (Some(p), Some(Parent::Waiting(w))) => **w == **p,
                (Some(p), Some(Parent::Node(s))) => self.span(*s).is_some_and(|s| *s.key == **p),
                _ => false,
            };
            if !same_parent {
                return Err(format!(
                    "trace `{key}` already exists with another parent span"
                ));
            }
            self.add_trace_process(id, process, out);
            return Ok(());
        }
        // A span waiting for this trace that is itself an ancestor of the new trace's parent
        // would make a cycle that never reaches a root.
        if let Some(p) = &parent_span {
            if self.waiting_spans.contains_key(key.as_str())
                && self.span_chain_waits_for_trace(p, &key)
            {
                return Err(format!(
                    "trace `{key}` would be nested inside itself (via span `{p}`)"
                ));
            }
        }
        let key: Arc<str> = key.into();
        let process = self.names.get(process);
        let trace = Trace {
            key: key.clone(),
            name,
            parent: Parent::Root,
            spans: IdList::default(),
            processes: vec![process.clone()],
            status: RunStatus::Running,
            start_ts: ts,
            end: 0,
            process,
            source: source.map(Into::into),
        };
        self.bytes += trace.bytes() + key.len();
        let id = TraceId(self.traces.insert(trace));
        self.trace_keys.insert(key.clone(), id);
        match parent_span {
            None => {
                self.running_roots.insert((ts, key.clone()), id);
                self.bytes += ORDER_ENTRY_BYTES;
                out.changes.push(Change::Roots);
            }
            Some(p) => match self.span_keys.get(p.as_str(), &self.spans) {
                Some(span) => self.attach_trace(id, span, out),
                None => {
                    if let Some(t) = self.traces.get_mut(id.0) {
                        t.parent = Parent::Waiting(p.as_str().into());
                    }
                    self.waiting_traces.entry(p.into()).or_default().push(id);
                    self.orphan_traces.insert((ts, key.clone()), id);
                    self.bytes += ORDER_ENTRY_BYTES;
                    out.changes.push(Change::Orphans);
                }
            },
        }
        if let Some(waiting) = self.waiting_spans.remove(&*key) {
            for span in waiting.ids {
                // Evicted waiters are left in the list: skip them.
                let Some(s) = self.spans.get(span.0) else {
                    continue;
                };
                if !matches!(&s.trace, Parent::Waiting(k) if **k == *key) {
                    continue;
                }
                self.orphan_spans.remove(&waiting_span_order(s));
                self.bytes = self.bytes.saturating_sub(ORDER_ENTRY_BYTES);
                self.attach_span(span, id, out);
            }
            out.changes.push(Change::Orphans);
        }
        Ok(())
    }

    /// Whether following span `span_key` up through its trace and that trace's parents ends
    /// waiting for trace `trace_key`.
    fn span_chain_waits_for_trace(&self, span_key: &str, trace_key: &str) -> bool {
        let mut span = self.span_keys.get(span_key, &self.spans);
        // Bounded by the number of traces: a chain never visits a trace twice.
        for _ in 0..=self.traces.len() {
            let Some(s) = span.and_then(|s| self.span(s)) else {
                return false;
            };
            let trace = match &s.trace {
                Parent::Waiting(k) => return **k == *trace_key,
                Parent::Node(t) => *t,
                Parent::Root => return false,
            };
            match self.trace(trace).map(|t| &t.parent) {
                Some(Parent::Node(p)) => span = Some(*p),
                _ => return false,
            }
        }
        false
    }

    /// Whether following trace `trace` up through its parents ends waiting for span `span_key`.
    fn trace_chain_waits_for_span(&self, mut trace: TraceId, span_key: &str) -> bool {
        for _ in 0..=self.traces.len() {
            let parent_span = match self.trace(trace).map(|t| &t.parent) {
                Some(Parent::Waiting(k)) => return **k == *span_key,
                Some(Parent::Node(s)) => *s,
                _ => return false,
            };
            match self.span(parent_span).map(|s| &s.trace) {
                Some(Parent::Node(t)) => trace = *t,
                _ => return false,
            }
        }
        false
    }

    fn attach_trace(&mut self, id: TraceId, span: SpanId, out: &mut Outcome) {
        let (ts, key) = match self.traces.get_mut(id.0) {
            Some(t) => {
                t.parent = Parent::Node(span);
                (t.start_ts, t.key.clone())
            }
            None => return,
        };
        let traces = &self.traces;
        if let Some(s) = self.spans.get_mut(span.0) {
            insert_sorted(s.children.list(), id, (ts, &key), |t| {
                traces.get(t.0).map_or((0, ""), |t| (t.start_ts, &*t.key))
            });
            self.bytes += 8;
        }
        out.changes.push(Change::SpanChildren(span));
        out.changes.push(Change::Nested(id));
    }

    fn attach_span(&mut self, id: SpanId, trace: TraceId, out: &mut Outcome) {
        let Some(s) = self.spans.get_mut(id.0) else {
            return;
        };
        s.trace = Parent::Node(trace);
        let process = s.process.clone();
        let spans = &self.spans;
        if let (Some(t), Some(s)) = (self.traces.get_mut(trace.0), spans.get(id.0)) {
            insert_sorted(&mut t.spans, id, (s.start_ts, &s.key), |s| {
                spans.get(s.0).map_or((0, ""), |s| (s.start_ts, &*s.key))
            });
            self.bytes += 8;
        }
        // A snapshot attaches thousands of spans to one trace in a row: said once.
        if out.changes.last() != Some(&Change::TraceSpans(trace)) {
            out.changes.push(Change::TraceSpans(trace));
        }
        if let Some(s) = self.spans.get(id.0) {
            // Child traces that arrived while the span waited join `trace`'s tree with it.
            out.changes
                .extend(s.children.iter().map(|&c| Change::Nested(c)));
        }
        self.add_trace_process(trace, &process, out);
    }

    fn add_trace_process(&mut self, id: TraceId, process: &str, out: &mut Outcome) {
        let Some(t) = self.traces.get(id.0) else {
            return;
        };
        if let Err(pos) = t.processes.binary_search_by(|p| (**p).cmp(process)) {
            let name = self.names.get(process);
            if let Some(t) = self.traces.get_mut(id.0) {
                t.processes.insert(pos, name);
                self.bytes += process.len() + 16;
                out.changes.push(Change::Trace(id));
            }
        }
    }

    fn span_create(&mut self, new: NewSpan, at: Origin<'_>, out: &mut Outcome) -> Result {
        let NewSpan {
            trace: trace_key,
            key,
            kind,
            title,
            content,
            source,
        } = new;
        let Origin { process, ts } = at;
        self.check_label("span id", &key)?;
        if let Some(s) = &source {
            self.check_label("span source", s)?;
        }
        self.check_label("trace id", &trace_key)?;
        self.check_label("span kind", kind.as_str())?;
        if let Some(t) = &title {
            self.check_label("span title", t)?;
        }
        self.check_content(&content)?;
        let hash = self.span_keys.hash(&key);
        if let Some(existing) = self.span_keys.find(hash, &key, &self.spans) {
            let owner = self.span(existing).map_or("", |s| &*s.process);
            return Err(format!(
                "span `{key}` already exists (created by process `{owner}`)"
            ));
        }
        let trace = self.trace_keys.get(trace_key.as_str()).copied();
        // Traces wait for a span only while some arrive before their parent: most of the
        // time there are none, and the lookups below are skipped.
        let waited_for = !self.waiting_traces.is_empty() && self.waiting_traces.contains_key(&*key);
        if let (Some(trace), true) = (trace, waited_for) {
            if self.trace_chain_waits_for_span(trace, &key) {
                return Err(format!(
                    "span `{key}` would be nested inside itself (via trace `{trace_key}`)"
                ));
            }
        }
        // Text it was created with counts as its first piece.
        let pieces = u32::from(matches!(&content, Content::Text(t) if !t.is_empty()));
        let span = Span {
            key: key.into(),
            trace: match trace {
                Some(trace) => Parent::Node(trace),
                None => Parent::Waiting(trace_key.as_str().into()),
            },
            kind,
            title,
            content,
            children: Default::default(),
            process: self.names.get(process),
            status: RunStatus::Running,
            start_ts: ts,
            end: 0,
            stream: None,
            revision: 0,
            pieces,
            piece_times: None,
            more: source.map(|s| {
                Box::new(SpanMore {
                    source: Some(s.into()),
                    ..SpanMore::default()
                })
            }),
        };
        self.bytes += span.bytes();
        self.errors += usize::from(crate::search::is_error(&span));
        let id = SpanId(self.spans.insert(span));
        self.span_keys.insert(hash, id);
        // The key now lives in the span alone; the rarer paths below copy it.
        let key_of = |m: &Self| m.spans.get(id.0).map(|s| s.key.clone()).unwrap_or_default();
        match trace {
            Some(trace) => self.attach_span(id, trace, out),
            None => {
                self.waiting_spans
                    .entry(trace_key.into())
                    .or_default()
                    .push(id);
                self.orphan_spans
                    .insert((ts, Arc::from(&*key_of(self))), span_entry(id));
                self.bytes += ORDER_ENTRY_BYTES;
                out.changes.push(Change::Orphans);
            }
        }
        if !waited_for {
            return Ok(());
        }
        let key = key_of(self);
        if let Some(waiting) = self.waiting_traces.remove(&*key) {
            for trace in waiting.ids {
                // Evicted waiters are left in the list: skip them.
                let Some(t) = self.traces.get(trace.0) else {
                    continue;
                };
                if !matches!(&t.parent, Parent::Waiting(k) if **k == *key) {
                    continue;
                }
                self.orphan_traces.remove(&(t.start_ts, t.key.clone()));
                self.bytes = self.bytes.saturating_sub(ORDER_ENTRY_BYTES);
                self.attach_trace(trace, id, out);
            }
            out.changes.push(Change::Orphans);
        }
        Ok(())
    }

    fn check_items(&self, items: &[Item]) -> Result {
        let max_json = self.options.limits.max_json_bytes;
        for item in items {
            self.check_label("item name", &item.name)?;
            if item.value.get().len() > max_json {
                return Err(format!(
                    "value of item `{}` is over the limit of {max_json} bytes",
                    item.name
                ));
            }
        }
        Ok(())
    }

    fn check_content(&self, content: &Content) -> Result {
        let limits = &self.options.limits;
        match content {
            Content::Text(t) if t.len() > limits.max_text_bytes => Err(format!(
                "text of {} bytes is over the limit of {}",
                t.len(),
                limits.max_text_bytes
            )),
            Content::Json(j) if j.get().len() > limits.max_json_bytes => Err(format!(
                "JSON of {} bytes is over the limit of {}",
                j.get().len(),
                limits.max_json_bytes
            )),
            Content::Items(items) if items.len() > limits.max_items => Err(format!(
                "{} items are over the limit of {}",
                items.len(),
                limits.max_items
            )),
            Content::Items(items) => self.check_items(items),
            Content::Error(e) if e.message.len() > limits.max_text_bytes => Err(format!(
                "error message is over the limit of {} bytes",
                limits.max_text_bytes
            )),
            Content::Messages(list) if list.len() > limits.max_items => Err(format!(
                "{} messages are over the limit of {}",
                list.len(),
                limits.max_items
            )),
            Content::Messages(list) => self.check_messages(list),
            _ => Ok(()),
        }
    }

    fn span_mut(&mut self, key: &str) -> Result<(SpanId, &mut Span)> {
        let id = self
            .span_keys
            .get(key, &self.spans)
            .ok_or_else(|| format!("unknown span `{key}` (never created, or evicted)"))?;
        match self.spans.get_mut(id.0) {
            Some(s) => Ok((id, s)),
            None => Err(format!("unknown span `{key}`")),
        }
    }

    /// Notes a write into `span` by `process`: true when its header changes (a new writer, or
    /// an interrupted span resumed).
    fn note_writer(span: &mut Span, process: &str) -> bool {
        if span.resume() {
            Self::add_writer(span, process);
            return true;
        }
        Self::add_writer(span, process)
    }

    fn add_writer(span: &mut Span, process: &str) -> bool {
        if *span.process == *process {
            return false;
        }
        match span.writers().binary_search_by(|p| (**p).cmp(process)) {
            Ok(_) => false,
            Err(pos) => {
                span.more_mut().writers.insert(pos, process.into());
                true
            }
        }
    }

    fn text_append(
        &mut self,
        key: &str,
        text: &str,
        process: &str,
        ts: u64,
        out: &mut Outcome,
    ) -> Result {
        let max = self.options.limits.max_text_bytes;
        let (id, span) = self.span_mut(key)?;
        if !span.kind.is_textual() {
            return Err(format!(
                "cannot append text to span `{key}` of kind `{}`",
                span.kind.as_str()
            ));
        }
        if !span.status.is_running() {
            return Err(format!("span `{key}` has ended"));
        }
        let Content::Text(existing) = &mut span.content else {
            return Err(format!("span `{key}` holds no text"));
        };
        if existing.len() + text.len() > max {
            return Err(format!(
                "text of span `{key}` would be over the limit of {max} bytes"
            ));
        }
        let from = existing.len();
        let capacity = existing.capacity();
        existing.push_str(text);
        let grown = existing.capacity() - capacity;
        let grown = grown + span.note_piece(ts);
        let new_writer = Self::note_writer(span, process);
        self.bytes += grown;
        out.changes.push(Change::TextAppended { span: id, from });
        if new_writer {
            out.changes.push(Change::Span(id));
        }
        Ok(())
    }

    fn content_replace(
        &mut self,
        key: &str,
        raw: RawJson,
        process: &str,
        out: &mut Outcome,
    ) -> Result {
        let kind = self.span_mut(key)?.1.kind.clone();
        let content = match kind {
            // Keep a large JSON value's text as is, without a second copy.
            SpanKind::Json | SpanKind::Other(_) => Content::Json(raw),
            _ => Content::decode(&kind, Some(raw.get()))?,
        };
        self.check_content(&content)?;
        let (id, span) = self.span_mut(key)?;
        let old = span.content.heap_bytes() + span.stream.as_ref().map_or(0, |s| s.heap_bytes());
        let new = content.heap_bytes();
        span.content = content;
        span.stream = None;
        span.revision = span.revision.wrapping_add(1);
        let old_history = span.more.as_mut().map_or(0, |m| {
            let bytes = m.item_history.bytes();
            m.item_history.clear();
            bytes
        });
        let new_writer = Self::note_writer(span, process);
        self.bytes = self.bytes.saturating_sub(old + old_history) + new;
        out.changes.push(Change::Content(id));
        if new_writer {
            out.changes.push(Change::Span(id));
        }
        Ok(())
    }

    fn items(
        &mut self,
        key: &str,
        items: Vec<Item>,
        upsert: bool,
        process: &str,
        out: &mut Outcome,
    ) -> Result {
        let max_items = self.options.limits.max_items;
        self.check_items(&items)?;
        let (id, span) = self.span_mut(key)?;
        let Content::Items(list) = &mut span.content else {
            return Err(format!(
                "cannot set items of span `{key}` of kind `{}`",
                span.kind.as_str()
            ));
        };
        if list.len() + items.len() > max_items {
            return Err(format!(
                "span `{key}` would hold over the limit of {max_items} items"
            ));
        }
        let mut added = 0usize;
        let mut history = 0isize;
        for item in items {
            added += item.name.len() + item.value.get().len() + 48;
            if upsert {
                if let Some(pos) = list.iter().position(|i| i.name == item.name) {
                    let old = std::mem::replace(&mut list[pos], item);
                    // A live table: the value it replaced is kept (bounded) when it differs.
                    if old.value.get() != list[pos].value.get() {
                        // The field, not `more_mut`: `list` borrows the content meanwhile.
                        let more = span.more.get_or_insert_with(Default::default);
                        history += more.item_history.note(pos, old.value);
                    }
                    continue;
                }
            }
            list.push(item);
        }
        added = added.saturating_add_signed(history);
        let new_writer = Self::note_writer(span, process);
        self.bytes += added;
        out.changes.push(Change::Content(id));
        if new_writer {
            out.changes.push(Change::Span(id));
        }
        Ok(())
    }

    /// A runtime says the writer of an open span went away (an ended span stays as it ended:
    /// the report may cross the end on the way).
    fn span_interrupted(&mut self, key: &str, ts: u64, out: &mut Outcome) -> Result {
        let (id, span) = self.span_mut(key)?;
        if span.status.is_running() && span.interrupted().is_none() {
            span.more_mut().interrupted = Some(ts);
            out.changes.push(Change::Span(id));
        }
        Ok(())
    }

    fn span_end(&mut self, key: &str, status: Status, ts: u64, out: &mut Outcome) -> Result {
        let (id, span) = self.span_mut(key)?;
        // Ending twice keeps the first end: a retried end must not change the outcome.
        if span.status.is_running() {
            let freed = finish_stream(span);
            self.bytes = self.bytes.saturating_sub(freed);
            let (_, span) = self.span_mut(key)?;
            let was = crate::search::is_error(span);
            span.status = status.into();
            span.end = ts;
            span.resume();
            let now = crate::search::is_error(span);
            self.errors = self.errors + usize::from(now) - usize::from(was);
            out.changes.push(Change::Span(id));
        }
        Ok(())
    }

    fn check_messages(&self, list: &[Message]) -> Result {
        let limits = &self.options.limits;
        for m in list {
            self.check_label("message role", &m.role)?;
            if let Some(n) = &m.name {
                self.check_label("message name", n)?;
            }
            if let Some(n) = &m.tool_call_id {
                self.check_label("tool call id", n)?;
            }
            if m.text_bytes() > limits.max_text_bytes {
                return Err(format!(
                    "the text of a message is over the limit of {} bytes",
                    limits.max_text_bytes
                ));
            }
            let parts = match &m.content {
                MessageContent::Parts(parts) => parts.as_slice(),
                MessageContent::Text(_) => &[],
            };
            let json = parts
                .iter()
                .filter_map(|p| match p {
                    Part::Other(raw) => Some(raw),
                    Part::Text(_) => None,
                })
                .chain(m.tool_calls.iter().map(|c| &c.arguments));
            for raw in json {
                if raw.get().len() > limits.max_json_bytes {
                    return Err(format!(
                        "JSON in a message is over the limit of {} bytes",
                        limits.max_json_bytes
                    ));
                }
            }
            for c in &m.tool_calls {
                self.check_label("tool name", &c.name)?;
                if let Some(id) = &c.id {
                    self.check_label("tool call id", id)?;
                }
            }
        }
        Ok(())
    }

    fn messages_add(
        &mut self,
        key: &str,
        messages: Vec<Message>,
        process: &str,
        out: &mut Outcome,
    ) -> Result {
        let max = self.options.limits.max_items;
        self.check_messages(&messages)?;
        let (id, span) = self.span_mut(key)?;
        let Content::Messages(list) = &mut span.content else {
            return Err(format!(
                "cannot add messages to span `{key}` of kind `{}`",
                span.kind.as_str()
            ));
        };
        if list.len() + messages.len() > max {
            return Err(format!(
                "span `{key}` would hold over the limit of {max} messages"
            ));
        }
        let added: usize = messages.iter().map(Message::heap_bytes).sum();
        list.extend(messages);
        let new_writer = Self::note_writer(span, process);
        self.bytes += added;
        out.changes.push(Change::Content(id));
        if new_writer {
            out.changes.push(Change::Span(id));
        }
        Ok(())
    }

    fn message_append(
        &mut self,
        key: &str,
        text: &str,
        process: &str,
        ts: u64,
        out: &mut Outcome,
    ) -> Result {
        let max = self.options.limits.max_text_bytes;
        let (id, span) = self.span_mut(key)?;
        if !span.status.is_running() {
            return Err(format!("span `{key}` has ended"));
        }
        let Content::Messages(list) = &mut span.content else {
            return Err(format!(
                "cannot append to a message of span `{key}` of kind `{}`",
                span.kind.as_str()
            ));
        };
        let Some(last) = list.last_mut() else {
            return Err(format!(
                "span `{key}` has no message to append to (add one with messages_add)"
            ));
        };
        if last.text_bytes() + text.len() > max {
            return Err(format!(
                "the last message of span `{key}` would be over the limit of {max} bytes"
            ));
        }
        let before = last.heap_bytes();
        let from = last.append(text);
        let grown = last.heap_bytes().saturating_sub(before);
        let grown = grown + span.note_piece(ts);
        let new_writer = Self::note_writer(span, process);
        self.bytes += grown;
        out.changes.push(Change::TextAppended { span: id, from });
        if new_writer {
            out.changes.push(Change::Span(id));
        }
        Ok(())
    }

    fn json_append(
        &mut self,
        key: &str,
        text: &str,
        done: bool,
        process: &str,
        ts: u64,
        out: &mut Outcome,
    ) -> Result {
        let max = self.options.limits.max_json_bytes;
        let (id, span) = self.span_mut(key)?;
        // The header shows a streamed span's stats from its first piece on.
        let first_piece = span.stream.is_none();
        if span.kind != SpanKind::Json {
            return Err(format!(
                "cannot stream JSON into span `{key}` of kind `{}`",
                span.kind.as_str()
            ));
        }
        if !span.status.is_running() {
            return Err(format!("span `{key}` has ended"));
        }
        let stream = match &mut span.stream {
            Some(s) if s.done() => {
                return Err(format!("the JSON of span `{key}` is complete"));
            }
            Some(s) => s,
            None => {
                let Content::Json(j) = &span.content else {
                    return Err(format!("span `{key}` holds no JSON"));
                };
                if j.get().trim() != "null" {
                    return Err(format!(
                        "span `{key}` holds a complete JSON value: stream into a json span created without content"
                    ));
                }
                span.stream.insert(Box::default())
            }
        };
        if stream.len() + text.len() > max {
            return Err(format!(
                "the JSON of span `{key}` would be over the limit of {max} bytes"
            ));
        }
        let before = stream.heap_bytes();
        let from = stream.len();
        stream.append(text);
        let grown = stream.heap_bytes().saturating_sub(before) + span.note_piece(ts);
        let freed = if done { finish_stream(span) } else { 0 };
        let new_writer = Self::note_writer(span, process);
        self.bytes = (self.bytes + grown).saturating_sub(freed);
        out.changes.push(Change::TextAppended { span: id, from });
        if new_writer || first_piece {
            out.changes.push(Change::Span(id));
        }
        Ok(())
    }

    fn trace_end(&mut self, key: &str, status: Status, ts: u64, out: &mut Outcome) -> Result {
        let id = self
            .trace_keys
            .get(key)
            .copied()
            .ok_or_else(|| format!("unknown trace `{key}` (never started, or evicted)"))?;
        if let Some(t) = self.traces.get_mut(id.0) {
            if t.status.is_running() {
                t.status = status.into();
                t.end = ts;
                if matches!(t.status, RunStatus::Error(_)) {
                    self.errors += 1;
                }
                out.changes.push(Change::Trace(id));
                if t.parent == Parent::Root {
                    // A root that ends moves to the index evicted first.
                    let order = (t.start_ts, t.key.clone());
                    if let Some(id) = self.running_roots.remove(&order) {
                        self.finished_roots.insert(order, id);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Ends the JSON stream of `span`, if it has one that is not done: a valid document becomes
/// the span's content (its text moves there, in its chunks: not copied); an invalid one keeps
/// its text and error. Returns the bytes freed.
fn finish_stream(span: &mut Span) -> usize {
    let Some(stream) = span.stream.as_deref_mut().filter(|s| !s.done()) else {
        return 0;
    };
    if stream.finish().is_err() {
        return 0;
    }
    let before = stream.heap_bytes();
    let raw = RawJson::from_streamed(stream.take_text());
    let freed = before.saturating_sub(stream.heap_bytes());
    let kept = raw.held_bytes();
    span.content = Content::Json(raw);
    freed.saturating_sub(kept)
}
