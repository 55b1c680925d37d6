//! A `json` span whose document arrives in pieces (`json_append`): the partial document as a
//! tree, kept current frame by frame.
//!
//! The model's parser ([`user_trace_model::json_stream`]) says after every piece which
//! containers are open, how many of their members are complete and what token is in
//! progress. This view mirrors the open containers as live nodes (expanded, marked "open",
//! their summary counting up) and adds a row per member that completed since the last frame,
//! reading only those members' text: a frame costs what arrived, however large the document
//! grows. Members past the first page of [`PAGE`] are grouped in collapsed pages as the pages
//! fill, and pages in groups of [`PAGE`], as the static tree groups them. A document arriving
//! faster than anyone reads (pages completing several a frame) shows the group being filled as
//! one row whose range grows, and holds its page in progress back while it does: the frames
//! then change a label, not the tree.
//!
//! When a container closes it becomes what the static tree shows (collapsed, its members read
//! from the text when expanded), unless the reader expanded or collapsed it by hand, or
//! expanded something in it: then it stays as the reader left it, as does everything the
//! reader expanded. At the end a valid document stays as it is shown; an invalid one is shown
//! as its text with the error.

use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use user_trace_model::json::{self, PAGE};
use user_trace_model::json_stream::{JsonStream, Open, Partial};
use user_trace_model::{SpanId, Text};
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::depth::{self, JSON_LEVELS};
use crate::dom;
use crate::format::MAX_SHOWN_CHARS;
use crate::json_partial;
use crate::json_string;
use crate::store::Store;
use crate::views::clipboard::{self, copy_button};
use crate::views::json_tree::{self, expandable, key_text, value_node};
use crate::views::label::label;
use crate::views::long_text::long_text;

/// The streamed document of a span.
pub fn json_stream(store: Store, id: SpanId) -> Element {
    let root = dom::el("div", "utp-json-stream");
    let trigger = store.span_trigger(id);
    // A page held back shows once the clock finds the stream slowed (see `HOLD_MICROS`): a stream
    // that stops after a burst leaves no member unshown.
    let mut view = View {
        root: root.clone(),
        store,
        id,
        tree: None,
        state: None,
        levels: Vec::new(),
        scalar: None,
        scalar_done: false,
        tail: None,
        failed: false,
        held: false,
        busy: None,
    };
    dom::effect(move || {
        use crate::reactive::Track;
        trigger.track();
        store.read(&mut |m| {
            let Some(span) = m.span(id) else {
                return;
            };
            if let Some((stream, text)) = span.streamed_json() {
                view.update(stream, text, span.interrupted().is_some());
            }
        });
        if view.held {
            crate::clock::now_tracked();
        }
    });
    root
}

/// An open container, shown as a live node.
struct Level {
    /// Where it starts in the text (what identifies it from frame to frame).
    start: usize,
    object: bool,
    /// Where its member starts in its parent's text (its key, or itself in an array).
    member_start: usize,
    key: Option<String>,
    path: String,
    /// Its nesting level in the document (0: the document).
    level: usize,
    node: Element,
    summary: Element,
    children: Element,
    /// Its last child while it is open: the node of the level below, or the token in progress.
    tail: Option<Element>,
    /// Members with a row (or in a page row) so far.
    rendered: usize,
    /// Where the last of them ends.
    after: usize,
    /// Members completed as of the last update (how many arrived since tells the rate).
    counted: usize,
    /// When an update last found a page or more new (the clock's microseconds; 0: never).
    fast_at: u64,
    /// Rows of the page being filled.
    page: Vec<Element>,
    /// Page rows of the group being filled (see `add_page`).
    group: Vec<Element>,
    /// Whether pages complete several an update: the group being filled is then one row.
    burst: bool,
    /// The row of the group being filled in a burst, once it has a page.
    arriving: Option<GroupRow>,
    /// Where the first member of the page being filled starts.
    page_start: usize,
    /// The count its summary shows.
    shown: Option<usize>,
}

impl Level {
    /// Whether it stays as it is shown once it closes: the document, a level the reader
    /// folded by hand, or one they expanded something in (they are reading it). Any other
    /// becomes a collapsed row, as the static tree shows a container.
    fn kept(&self) -> bool {
        self.level == 0
            || self.node.has_attribute("data-touched")
            || reader_expanded(&self.children)
    }

    /// Counts its members past those it has rows for, and finds where the last one ends,
    /// making no rows (it is closing, to become one collapsed row): `closed` is the level
    /// below, its member in progress.
    fn count_rest(&mut self, closed: Option<Closed>, text: Text<'_>) {
        if let Some(c) = closed {
            self.tail = None;
            self.rendered += 1;
            self.after = c.end;
        }
        let from = self.after;
        let Some(region) = text.get(from..text.len()) else {
            return;
        };
        let base = region.as_ptr() as usize;
        for m in json::members_in(&region, self.object) {
            self.rendered += 1;
            self.after = from + (m.value.as_ptr() as usize - base) + m.value.len();
        }
    }
}

/// A level that closed, as the member row its parent gets.
struct Closed {
    member_start: usize,
    end: usize,
    row: Element,
}

struct View {
    root: Element,
    store: Store,
    id: SpanId,
    /// The tree (`div.utp-json`), once the first byte arrived.
    tree: Option<Element>,
    /// The line that says the document is still arriving.
    state: Option<Element>,
    levels: Vec<Level>,
    /// The row of a document that is one scalar.
    scalar: Option<Element>,
    scalar_done: bool,
    /// What the innermost level's last row shows (the token in progress), to rebuild it only
    /// when that changed.
    tail: Option<TokenShown>,
    failed: bool,
    /// Whether this update held a page back (see `render`).
    held: bool,
    /// What the tree's `aria-busy` says: set when it changes, not every frame.
    busy: Option<bool>,
}

/// What the token row of the innermost level shows.
#[derive(Clone, Copy, PartialEq, Eq)]
struct TokenShown {
    /// The innermost level shown (by where it starts).
    level: usize,
    partial: Partial,
    /// Bytes of the token shown (it is cut when long: past that, it changes no more).
    bytes: usize,
    /// Levels open past the ones shown.
    hidden: usize,
    /// Whether a key waits for its value.
    key: bool,
}

impl View {
    /// `interrupted`: the span's writer went away (it may come back and go on).
    fn update(&mut self, stream: &JsonStream, text: Text<'_>, interrupted: bool) {
        self.held = false;
        if self.failed {
            return;
        }
        if let Some(e) = stream.error() {
            self.fail(&e.what, text);
            return;
        }
        self.state_line(stream, text, interrupted);
        if text.is_empty() {
            return;
        }
        let tree = match &self.tree {
            Some(t) => t.clone(),
            None => {
                let tree = dom::add(&self.root, "div", "utp-json");
                dom::set(&tree, "role", "group");
                dom::set(&tree, "aria-label", "JSON, arriving");
                let view = dom::add(&tree, "div", "utp-json-view");
                if let Some(o) = stream.open().first() {
                    let mut level = self.new_level(0, o.object, 0, None, "$".into(), 0);
                    let _ = view.append_child(&level.node);
                    self.skip_full_pages(&mut level, o);
                    self.levels.push(level);
                } else if text.is_container() {
                    // The document arrived whole in the first frame: it is shown as it is.
                    let _ = view.append_child(&value_node(
                        Arc::from(text.whole().trim()),
                        None,
                        "$".into(),
                        0,
                        true,
                    ));
                    self.scalar_done = true;
                }
                self.tree = Some(tree.clone());
                tree
            }
        };
        let done = stream.done() || stream.complete();
        let busy = !done && !interrupted;
        if self.busy.replace(busy) != Some(busy) {
            dom::set(&tree, "aria-busy", dom::aria_bool(busy));
        }
        if self.scalar_done {
            return;
        }
        if !text.is_container() {
            // A document that is one scalar: its row as it arrives, then as it is.
            if !self.scalar_done {
                self.scalar_row(&tree, stream, text);
                self.scalar_done = done;
            }
            return;
        }
        self.containers(stream, text);
    }

    /// "receiving · 12.3 KB" while the document arrives, "interrupted · 12.3 KB so far" while
    /// its writer is gone; nothing once it is complete.
    fn state_line(&mut self, stream: &JsonStream, text: Text<'_>, interrupted: bool) {
        let line = state_text(text.len(), interrupted);
        let complete = stream.done() && stream.error().is_none();
        match (&self.state, complete) {
            (Some(s), true) => {
                s.remove();
                self.state = None;
            }
            (Some(s), false) => dom::set_text(s, &line),
            (None, false) => {
                let s = dom::add_text(&self.root, "div", "utp-json-stream-state", &line);
                self.state = Some(s);
            }
            (None, true) => {}
        }
    }

    fn scalar_row(&mut self, tree: &Element, stream: &JsonStream, text: Text<'_>) {
        let view = tree.first_element_child();
        if let Some(old) = self.scalar.take() {
            old.remove();
        }
        let row = if stream.done() || stream.complete() {
            value_node(Arc::from(text.whole().trim()), None, "$".into(), 0, false)
        } else {
            partial_row(
                None,
                &json_partial::partial_scalar(&text.prefix(0, TOKEN_BYTES)),
            )
        };
        if let Some(v) = view {
            let _ = v.append_child(&row);
        }
        self.scalar = Some(row);
    }

    /// Keeps the live nodes in step with the open containers.
    fn containers(&mut self, stream: &JsonStream, text: Text<'_>) {
        let open = stream.open();
        let common = self
            .levels
            .iter()
            .zip(open)
            .take_while(|(l, o)| l.start == o.start)
            .count();
        // Levels that closed, innermost first: each gets its last members and becomes a row
        // of the level above.
        let mut closed = None;
        while self.levels.len() > common {
            let Some(mut level) = self.levels.pop() else {
                break;
            };
            let kept = level.kept();
            if kept {
                self.render(&mut level, (usize::MAX, &[]), closed.take(), text);
            } else {
                // It becomes one collapsed row: its last members need counting, not rows (a
                // fast document's last page was a frame of rows built to be dropped).
                level.count_rest(closed.take(), text);
            }
            let end = text
                .get(level.after..text.len())
                .and_then(|rest| json_partial::container_end(&rest, 0))
                .map_or(text.len(), |end| level.after + end);
            closed = Some(self.close(level, end, kept));
        }
        let mut held = false;
        if let Some(i) = common.checked_sub(1) {
            let o = &open[i];
            let mut level = self.levels.pop().expect("the common levels are shown");
            held = self.render(&mut level, (o.count, &o.page_starts), closed, text);
            self.levels.push(level);
        }
        // Levels that opened, unless members arrive too fast to read: the member in progress
        // of a level that held its page back is not shown (the tail says a level is open), so
        // that a level below it always opens after every member before it has its row.
        while !held && self.levels.len() < open.len().min(JSON_LEVELS) && !self.levels.is_empty() {
            let i = self.levels.len();
            let (parent, o) = (&self.levels[i - 1], &open[i - 1]);
            let raw_key = o.key.clone().and_then(|k| text.get(k));
            let raw_key = raw_key.as_deref();
            let index = o.count;
            let key = match raw_key {
                Some(k) => json_string::decode(k).into_owned(),
                None => index.to_string(),
            };
            let path = format!("{}{}", parent.path, json::path_segment(raw_key, index));
            let member_start = o.member.unwrap_or(open[i].start);
            let mut level = self.new_level(
                open[i].start,
                open[i].object,
                member_start,
                Some(key),
                path,
                i,
            );
            self.set_tail(i - 1, Some(level.node.clone()));
            self.skip_full_pages(&mut level, &open[i]);
            held = self.render(
                &mut level,
                (open[i].count, &open[i].page_starts),
                None,
                text,
            );
            self.levels.push(level);
        }
        self.held = held;
        for (level, o) in self.levels.iter_mut().zip(open) {
            if level.shown != Some(o.count) {
                dom::set_text(
                    &level.summary,
                    &json_partial::open_summary(level.object, o.count),
                );
                level.shown = Some(o.count);
            }
        }
        self.token_row(stream, text);
    }

    /// The last row of the innermost level: the token in progress, or how many more levels
    /// are open past the ones shown.
    fn token_row(&mut self, stream: &JsonStream, text: Text<'_>) {
        let open = stream.open();
        let Some(i) = self.levels.len().checked_sub(1) else {
            return;
        };
        let o = &open[i];
        let hidden = open.len() - self.levels.len() + stream.deeper();
        let partial = stream.partial();
        // What the row shows changes only while the token is short enough to be shown whole.
        let bytes = match partial {
            Partial::Key(s) | Partial::Value(s) => (text.len() - s).min(TOKEN_BYTES),
            Partial::None => 0,
        };
        // With levels open past those shown, the row says only how many: the token in
        // progress in them changes nothing (a fast stream's frames each end in one).
        let (partial, bytes, keyed) = match hidden {
            0 => (partial, bytes, o.key.is_some()),
            _ => (Partial::None, 0, false),
        };
        let now = TokenShown {
            level: self.levels[i].start,
            partial,
            bytes,
            hidden,
            key: keyed,
        };
        if self.tail == Some(now) {
            return;
        }
        self.tail = Some(now);
        let level = &self.levels[i];
        let key = |text: Text<'_>| match (&o.key, level.object) {
            (Some(k), true) => text
                .get(k.clone())
                .map(|k| json_string::decode(&k).into_owned()),
            _ => Some(o.count.to_string()),
        };
        let row = if hidden > 0 {
            let r = dom::el("div", "utp-json-row utp-json-partial");
            dom::set(&r, "role", "treeitem");
            dom::set(&r, "tabindex", "-1");
            dom::add(&r, "span", "utp-caret-space");
            let words = match hidden {
                1 => "⋯ 1 more level still open".to_owned(),
                n => format!("⋯ {n} more levels still open"),
            };
            dom::add_text(&r, "span", "utp-json-summary", &words);
            Some(r)
        } else {
            match partial {
                Partial::Key(s) => Some(partial_row(
                    None,
                    &json_partial::partial_key(&text.prefix(s, TOKEN_BYTES)),
                )),
                Partial::Value(s) => Some(partial_row(
                    key(text).as_deref(),
                    &json_partial::partial_scalar(&text.prefix(s, TOKEN_BYTES)),
                )),
                Partial::None if level.object && o.key.is_some() => {
                    Some(partial_row(key(text).as_deref(), "…"))
                }
                Partial::None => None,
            }
        };
        self.set_tail(i, row);
    }

    /// Makes `row` the last child of level `i` (replacing what was there).
    fn set_tail(&mut self, i: usize, row: Option<Element>) {
        let level = &mut self.levels[i];
        if let Some(old) = level.tail.take() {
            old.remove();
        }
        if let Some(r) = &row {
            let _ = level.children.append_child(r);
        }
        level.tail = row;
    }

    fn new_level(
        &self,
        start: usize,
        object: bool,
        member_start: usize,
        key: Option<String>,
        path: String,
        level: usize,
    ) -> Level {
        let node = dom::el("div", "utp-json-node utp-json-live");
        // Its summary ("[1234 items") is short: a long key takes the rest of the row.
        let row = dom::add(&node, "div", "utp-json-row utp-clickable utp-json-short");
        dom::set(&row, "role", "treeitem");
        dom::set(&row, "tabindex", "-1");
        dom::set(&row, "aria-expanded", "true");
        dom::add(&row, "span", "utp-caret utp-open");
        if let Some(k) = &key {
            label(&row, "span", "utp-json-key", &key_text(k), "");
            dom::add_text(&row, "span", "utp-json-colon", ": ");
        }
        let summary = dom::add_text(
            &row,
            "span",
            "utp-json-summary",
            &json_partial::open_summary(object, 0),
        );
        let badge = dom::add_text(&row, "span", "utp-json-open-badge", "open");
        dom::set(&badge, "title", "Still arriving: more members may come");
        let class = if depth::indents(level + 1) {
            "utp-json-children"
        } else {
            "utp-json-children utp-flat"
        };
        let children = dom::add(&node, "div", class);
        dom::set(&children, "role", "group");
        // Folding by hand: the node then stays as the reader left it when it closes. The
        // listener holds no element: it finds them from the row.
        dom::on(&row, "click", |e| {
            let Some(row) = dom::target(&e) else { return };
            let (Some(node), Some(caret), Some(children)) = (
                row.parent_element(),
                row.first_element_child(),
                row.next_element_sibling(),
            ) else {
                return;
            };
            let open = row.get_attribute("aria-expanded").as_deref() != Some("true");
            dom::set(&row, "aria-expanded", dom::aria_bool(open));
            dom::toggle_class(&caret, "utp-open", open);
            if open {
                let _ = children.remove_attribute("hidden");
            } else {
                dom::set(&children, "hidden", "");
            }
            dom::set(&node, "data-touched", "");
        });
        Level {
            start,
            object,
            member_start,
            key,
            path,
            level,
            node,
            summary,
            children,
            tail: None,
            rendered: 0,
            after: start + 1,
            counted: 0,
            fast_at: 0,
            page: Vec::new(),
            group: Vec::new(),
            burst: false,
            arriving: None,
            page_start: start + 1,
            shown: None,
        }
    }

    /// Adds rows for the members of `level` that completed, up to `target` of them (all, for a
    /// level that closed): first the level below that closed (it was the member in progress),
    /// then the others, read from the text from where the last one ended. Says whether it held
    /// back the page in progress (members arriving a page a frame or faster).
    fn render(
        &self,
        level: &mut Level,
        (target, starts): (usize, &[usize]),
        closed: Option<Closed>,
        text: Text<'_>,
    ) -> bool {
        if let Some(c) = closed {
            // Its row is in place already (where the level's node was).
            level.tail = None;
            self.add_row(level, c.row, c.member_start, true);
            level.after = c.end;
        }
        // Whole pages that fill up within this call get no member rows, only their page row,
        // which reads them from the text when expanded (as `skip_full_pages` does for a level
        // shown mid-stream): a document arriving fast completes hundreds of members a frame,
        // and each row was built to be removed at once (B10).
        let full_before = if target == usize::MAX {
            0
        } else {
            target / PAGE * PAGE
        };
        // A level that completed a page or more in an update within the last `HOLD_MICROS`
        // arrives faster than anyone reads: its page in progress waits too (its rows would go
        // a frame or two later, when its page fills), and shows once it fills (as a page row),
        // or as member rows once the stream slowed (the clock ticks while a page is held).
        // Frames of a fast stream do not each bring a page: the rate is over `HOLD_MICROS`.
        let now = crate::clock::now();
        if target != usize::MAX && target.saturating_sub(level.counted) >= PAGE {
            level.fast_at = now;
        }
        let fast = target != usize::MAX && now.saturating_sub(level.fast_at) < HOLD_MICROS;
        if target != usize::MAX {
            level.counted = target;
        }
        let target = if fast { full_before } else { target };
        // Pages completing several an update (thousands of members a second) go into one row
        // for their group, which says how far it has filled: a row per page would be laid
        // out and painted each frame for nobody to read (B10).
        if fast && full_before / PAGE >= level.rendered / PAGE + 2 {
            level.burst = true;
        }
        if level.rendered < target {
            self.read_members(level, (target, full_before), starts, text);
        }
        if fast && level.page.len() == PAGE {
            // The rows that completed the page before the one held back: its page row now,
            // not when the next member is added.
            self.flush_page(level, None);
        }
        fast
    }

    /// Adds rows for the members of `level` up to `target`, read from where the last one
    /// ended: what arrived since (borrowed from the text, unless it spans a seam of a streamed
    /// text's chunks). Whole pages up to `full_before` get a page row and no member rows; the
    /// parser's `starts` of pages (an open level's) spare reading them.
    fn read_members(
        &self,
        level: &mut Level,
        (target, full_before): (usize, usize),
        starts: &[usize],
        text: Text<'_>,
    ) {
        let from = level.after;
        let Some(region) = text.get(from..text.len()) else {
            return;
        };
        let base = region.as_ptr() as usize;
        let at = |s: &str| from + (s.as_ptr() as usize - base);
        let mut members = json::members_in(&region, level.object);
        while level.rendered < target {
            // A whole page gets its page row, from where the parser says it and the next one
            // start (an open level's); without the next start (the text ends right after the
            // page), its members get rows, which become its page row when the next arrives.
            let page = level.rendered / PAGE;
            if level.rendered.is_multiple_of(PAGE) && level.rendered + PAGE <= full_before {
                if let Some(&[start, end, ..]) = starts.get(page..) {
                    members.seek(end - from);
                    self.flush_page(level, None);
                    level.after = end;
                    self.add_page(level, (level.rendered, start..end), Vec::new(), None);
                    level.rendered += PAGE;
                    continue;
                }
            }
            let Some(m) = members.next() else {
                break;
            };
            let member_start = at(m.key.unwrap_or(m.value));
            let value_end = at(m.value) + m.value.len();
            let row = member_row(
                (self.store, self.id),
                (&level.path, level.level + 1),
                &m,
                level.rendered,
                at(m.value),
            );
            self.add_row(level, row, member_start, false);
            level.after = value_end;
        }
    }

    /// A level that had whole pages of members before it was shown (mounted mid-stream):
    /// those pages as collapsed page rows, from where the parser says each starts, without
    /// reading them.
    fn skip_full_pages(&self, level: &mut Level, o: &Open) {
        // What arrived before the level was shown is not a rate: its page in progress shows.
        level.counted = o.count;
        let full = (o.count / PAGE).min(o.page_starts.len().saturating_sub(1));
        for p in 0..full {
            let range = o.page_starts[p]..o.page_starts[p + 1];
            self.add_page(level, (p * PAGE, range), Vec::new(), None);
        }
        if full > 0 {
            level.rendered = full * PAGE;
            level.after = o.page_starts[full];
            level.page_start = o.page_starts[full];
        }
    }

    /// Adds `row` (already in the DOM when `placed`) as member `level.rendered`; a page that
    /// fills up becomes one collapsed page row, unless the reader expanded something in it.
    fn add_row(&self, level: &mut Level, row: Element, member_start: usize, placed: bool) {
        if level.rendered.is_multiple_of(PAGE) {
            // Before the rows of the new page: this row when it is in place, else the tail.
            self.flush_page(level, placed.then_some(&row));
            level.page_start = member_start;
        }
        if !placed {
            let before = level.tail.as_ref().map(|t| t.as_ref());
            let _ = level.children.insert_before(&row, before);
        }
        level.page.push(row);
        level.rendered += 1;
    }

    /// At a page's end: the full page's rows become one collapsed page row, placed before
    /// `before` (else before the tail). No rows when the page was made without reading them.
    fn flush_page(&self, level: &mut Level, before: Option<&Element>) {
        if level.rendered > 0 && !level.page.is_empty() {
            let rows = std::mem::take(&mut level.page);
            let first = level.rendered - PAGE;
            // Called before `after` moves past the new page's first member.
            let range = level.page_start..level.after;
            self.add_page(level, (first, range), rows, before.map(|r| r.as_ref()));
        }
    }

    /// Members `first` to `first + count - 1` of `level`, at `range` in the text: a row that
    /// shows them when expanded (read from the text then). `rows` are the rows they had.
    fn page_row(
        &self,
        level: &Level,
        (first, count): (usize, usize),
        range: Range<usize>,
        rows: Vec<Element>,
    ) -> Element {
        page_element(self.view_ref(level), (first, count), range, rows)
    }

    /// What a page row of `level` needs to read its members.
    fn view_ref(&self, level: &Level) -> ViewRef {
        ViewRef {
            store: self.store,
            id: self.id,
            object: level.object,
            path: level.path.clone(),
            below: level.level + 1,
        }
    }

    /// Places the row of page `first` to `first + PAGE - 1` (at `range` in the text; `rows`:
    /// the rows its members had) before `before` (else before the tail). The [`PAGE`]th page
    /// row of a group becomes one group row, as the static tree shows 10,000 members: a long
    /// document keeps a few hundred rows in the DOM, not one per page. While pages complete
    /// several an update (`Level::burst`), the group's row is made at once and grows instead.
    fn add_page(
        &self,
        level: &mut Level,
        (first, range): (usize, Range<usize>),
        rows: Vec<Element>,
        before: Option<&web_sys::Node>,
    ) {
        if let Some(a) = &level.arriving {
            let spec = LazyPage {
                view: self.view_ref(level),
                first,
                range,
            };
            // A page the reader expanded nothing in is made into a row only when it is shown:
            // a fast document completes several a frame, and the group is seldom opened.
            let pages = if rows.is_empty() {
                a.add_lazy(spec)
            } else {
                a.add(spec.made(rows))
            };
            if pages == PAGE {
                // The group is whole: its row stays as the group's.
                level.arriving = None;
                level.burst = false;
            }
            return;
        }
        let page = self.page_row(level, (first, PAGE), range, rows);
        let before = before.or(level.tail.as_ref().map(|t| t.as_ref()));
        let _ = level.children.insert_before(&page, before);
        level.group.push(page);
        if level.group.len() < PAGE && !level.burst {
            return;
        }
        // The group's pages (the last rows before `before`) become one row where they were:
        // the group's, once whole, or (pages completing several a frame) the group's so far.
        let pages = std::mem::take(&mut level.group);
        let at = pages.last().and_then(|p| p.next_sibling());
        for p in &pages {
            p.remove();
        }
        let whole = pages.len() == PAGE;
        let group_first = first / (PAGE * PAGE) * (PAGE * PAGE);
        let a = GroupRow::new(level.level + 1, group_first, pages);
        let _ = level.children.insert_before(&a.node, at.as_ref());
        if whole {
            level.burst = false;
        } else {
            level.arriving = Some(a);
        }
    }

    /// A level that closed: its summary final; kept as it is when `kept` ([`Level::kept`]),
    /// else collapsed as the static tree shows a container.
    fn close(&mut self, level: Level, end: usize, kept: bool) -> Closed {
        if let Some(t) = &level.tail {
            t.remove();
        }
        self.tail = None;
        let kind = if level.object {
            json::JsonKind::Object
        } else {
            json::JsonKind::Array
        };
        let mut level = level;
        if let Some(a) = level.arriving.take().filter(|_| kept) {
            // Complete, a container shows its pages as the static tree does.
            a.dissolve();
        }
        if kept && level.rendered > PAGE && !level.page.is_empty() {
            // Paged as the static tree pages it: the last page too.
            let rows = std::mem::take(&mut level.page);
            let first = (level.rendered - 1) / PAGE * PAGE;
            let count = level.rendered - first;
            let range = level.page_start..level.after;
            let page = self.page_row(&level, (first, count), range, rows);
            let _ = level.children.append_child(&page);
        }
        let row = if kept {
            dom::set_text(
                &level.summary,
                &json::container_summary(kind, level.rendered),
            );
            if let Ok(Some(badge)) = level.node.query_selector(".utp-json-open-badge") {
                badge.remove();
            }
            let _ = level.node.class_list().remove_1("utp-json-live");
            level.node.clone()
        } else {
            let key = level.key.clone().unwrap_or_default();
            let row = container_row(
                (self.store, self.id),
                (level.start, end, level.object),
                key,
                level.path.clone(),
                level.level,
                level.rendered,
            );
            let _ = level.node.replace_with_with_node_1(&row);
            row
        };
        Closed {
            member_start: level.member_start,
            end,
            row,
        }
    }

    /// The document cannot be JSON: its text, and why.
    fn fail(&mut self, what: &str, text: Text<'_>) {
        self.failed = true;
        self.root.set_text_content(None);
        self.levels.clear();
        let block = dom::add(&self.root, "div", "utp-json-invalid");
        dom::set(&block, "role", "alert");
        dom::add_text(
            &block,
            "div",
            "utp-error-message",
            &format!("Invalid JSON: {what}"),
        );
        long_text(&block, "div", "utp-json-text", &text.whole());
    }
}

/// How long a level that completed a page or more in an update holds its page in progress back
/// (see `View::render`): about the clock's tick, so that a stream that stops shows every member
/// within two ticks.
const HOLD_MICROS: u64 = 250_000;

/// What a page row needs to read its members when expanded (no element: listeners hold it).
#[derive(Clone)]
struct ViewRef {
    store: Store,
    id: SpanId,
    /// Whether the container is an object (its members have keys).
    object: bool,
    path: String,
    below: usize,
}

impl ViewRef {
    fn fill_page(&self, children: &Element, first: usize, range: &Range<usize>) {
        self.store.read(&mut |m| {
            let Some((_, text)) = m.span(self.id).and_then(|s| s.streamed_json()) else {
                return;
            };
            let Some(page) = text.get(range.clone()) else {
                return;
            };
            let base = page.as_ptr() as usize;
            for (i, member) in json::members_in(&page, self.object).take(PAGE).enumerate() {
                let value_at = range.start + (member.value.as_ptr() as usize - base);
                let row = member_row(
                    (self.store, self.id),
                    (&self.path, self.below),
                    &member,
                    first + i,
                    value_at,
                );
                let _ = children.append_child(&row);
            }
        });
    }
}

/// Members `first` to `first + count - 1`, which start at `start`, as a collapsed row that
/// reads them when expanded (expanded already, with `rows` as they were, when the reader
/// expanded one of the rows they had; collapsed, it drops them).
fn page_element(
    view: ViewRef,
    (first, count): (usize, usize),
    range: Range<usize>,
    rows: Vec<Element>,
) -> Element {
    let expanded = rows.iter().any(reader_expanded);
    if !expanded {
        for r in &rows {
            r.remove();
        }
    }
    let below = view.below;
    // Held by the row's listener, so only until the first fill, which `expandable` makes at
    // once when the row is open: rows kept there past it would keep the span's view alive
    // (`dom::on`).
    let kept = std::cell::Cell::new(expanded.then_some(rows));
    let fill = move |children: &Element| {
        // The first time, the rows the reader expanded are kept as they were.
        if let Some(rows) = kept.take() {
            for r in rows {
                let _ = children.append_child(&r);
            }
            return;
        }
        view.fill_page(children, first, &range);
    };
    range_row(below, (first, count), expanded, Box::new(fill))
}

/// A full page of a group being filled, not yet a row: what its row needs.
struct LazyPage {
    view: ViewRef,
    first: usize,
    range: Range<usize>,
}

impl LazyPage {
    /// Its row, holding `rows` (the rows its members had, if any).
    fn made(self, rows: Vec<Element>) -> Element {
        page_element(self.view, (self.first, PAGE), self.range, rows)
    }
}

/// The pages of a group not made into rows yet: they come after its made pages.
type Lazy = Rc<std::cell::RefCell<Vec<LazyPage>>>;

/// The row of a group of pages, `[first … last]`: [`PAGE`] of them (a long document keeps a
/// few hundred rows in the DOM, not one per page, as the static tree shows 10,000 members), or
/// those so far of a group whose pages complete several a frame. Expanded, it shows them (and
/// those that complete meanwhile); it is expanded already when the reader expanded something
/// in them.
struct GroupRow {
    node: Element,
    first: usize,
    /// Its pages made into rows (elements), in order.
    pages: js_sys::Array,
    /// Its pages after those, made when the group is shown or dissolved.
    lazy: Lazy,
}

impl GroupRow {
    /// A row for `pages`, from member `first` on; expanded when the reader expanded one of
    /// them.
    fn new(below: usize, first: usize, pages: Vec<Element>) -> GroupRow {
        let expanded = pages.iter().any(reader_expanded);
        let count = pages.len() * PAGE;
        let pages: js_sys::Array = pages.into_iter().collect();
        let lazy = Lazy::default();
        let shown = lazy.clone();
        let node = range_row(
            below,
            (first, count),
            expanded,
            Box::new(move |children| show_pages(children, &shown)),
        );
        // The pages hang on the row's node, not in its listener: what a listener holds is held
        // from wasm, and pages shown below the row lead back to it, so a span cleared away
        // with the group open would be kept for good. (The lazy pages hold no element.)
        let _ = js_sys::Reflect::set(&node, &PAGES.into(), &pages);
        if let Some(children) = node.last_element_child().filter(|_| expanded) {
            show_pages(&children, &lazy);
        }
        GroupRow {
            node,
            first,
            pages,
            lazy,
        }
    }

    /// Its pages in its place, as they are (an open one stays open).
    fn dissolve(self) {
        make_pages(&self.pages, &self.lazy);
        let _ = self.node.replace_with_with_node(&self.pages);
    }

    /// Its children while it is expanded (collapsed, it shows none).
    fn shown_children(&self) -> Option<Element> {
        self.node
            .last_element_child()
            .filter(|c| c.has_child_nodes())
    }

    /// Adds a page made into a row (shown at once when the row is expanded); returns how
    /// many it has.
    fn add(&self, page: Element) -> usize {
        // In order: the pages before it become rows first. (A shown group has none left
        // to make: showing it made them.)
        make_pages(&self.pages, &self.lazy);
        self.pages.push(&page);
        if let Some(children) = self.shown_children() {
            let _ = children.append_child(&page);
        }
        self.relabel()
    }

    /// Adds a page, made into a row only when it is shown; returns how many it has.
    fn add_lazy(&self, page: LazyPage) -> usize {
        match self.shown_children() {
            Some(_) => self.add(page.made(Vec::new())),
            None => {
                self.lazy.borrow_mut().push(page);
                self.relabel()
            }
        }
    }

    /// Its label for the pages it has; returns how many.
    fn relabel(&self) -> usize {
        let n = self.pages.length() as usize + self.lazy.borrow().len();
        let row = self.node.first_element_child();
        if let Some(label) = row.and_then(|r| r.last_child()) {
            dom::set_text(
                &label,
                &json_tree::range_label(self.first, self.first + n * PAGE - 1),
            );
        }
        n
    }
}

/// Makes a group's lazy pages into rows, after its made ones.
fn make_pages(pages: &js_sys::Array, lazy: &Lazy) {
    for page in lazy.borrow_mut().drain(..) {
        pages.push(&page.made(Vec::new()));
    }
}

/// The property of a group row's node that holds its pages (a JavaScript array).
const PAGES: &str = "utpPages";

/// Shows a group row's pages in `children`, the row's group, its lazy ones made into rows
/// first (before they are set on the node, when the row is made expanded: none).
fn show_pages(children: &Element, lazy: &Lazy) {
    let Some(node) = children.parent_element() else {
        return;
    };
    let pages = js_sys::Reflect::get(&node, &PAGES.into()).unwrap_or_default();
    if pages.is_undefined() {
        return;
    }
    let pages: js_sys::Array = pages.unchecked_into();
    make_pages(&pages, lazy);
    for p in pages.iter() {
        let _ = children.append_child(p.unchecked_ref());
    }
}

/// A row `[first … last]` at level `below` that builds its children with `fill` when
/// expanded.
fn range_row(
    below: usize,
    (first, count): (usize, usize),
    expanded: bool,
    fill: Box<dyn Fn(&Element)>,
) -> Element {
    let label_text = json_tree::range_label(first, first + count - 1);
    let head = move |row: &Element| {
        dom::text(row, &label_text);
    };
    expandable(
        "utp-json-row utp-clickable utp-json-page",
        expanded,
        !depth::indents(below),
        &head,
        fill,
    )
}

/// Whether the reader expanded something in `node` (a member's or a page's node, which holds
/// its row).
fn reader_expanded(node: &Element) -> bool {
    node.query_selector("[aria-expanded=true]")
        .ok()
        .flatten()
        .is_some()
}

/// A complete member (number `index`, its value at `value_at` in the text) of a container at
/// `path` as a row at level `below`: a scalar as the static tree shows it, a container as a
/// collapsed row whose members are read when it is expanded.
fn member_row(
    span: (Store, SpanId),
    (path, below): (&str, usize),
    m: &json::Member<'_>,
    index: usize,
    value_at: usize,
) -> Element {
    let key = match m.key {
        Some(k) => json_string::decode(k).into_owned(),
        None => index.to_string(),
    };
    let path = format!("{path}{}", json::path_segment(m.key, index));
    if json::kind(m.value).is_container() && m.count > 0 {
        let end = value_at + m.value.len();
        let object = json::kind(m.value) == json::JsonKind::Object;
        return container_row(span, (value_at, end, object), key, path, below, m.count);
    }
    value_node(Arc::from(m.value), Some(key), path, below, false)
}

/// A complete container (at `start..end` in the text), collapsed: expanding it reads its text
/// from the model (once) and shows it as the static tree does.
fn container_row(
    (store, id): (Store, SpanId),
    (start, end, object): (usize, usize, bool),
    key: String,
    path: String,
    level: usize,
    count: usize,
) -> Element {
    let kind = if object {
        json::JsonKind::Object
    } else {
        json::JsonKind::Array
    };
    let summary = json::container_summary(kind, count);
    let shown_key = key.clone();
    let copy_path = path.clone();
    let head = move |row: &Element| {
        label(row, "span", "utp-json-key", &key_text(&shown_key), "");
        dom::add_text(row, "span", "utp-json-colon", ": ");
        label(row, "span", "utp-json-summary", &summary, "");
        let actions = dom::add(row, "span", "utp-json-actions");
        copy_button(
            &actions,
            "Copy value",
            Rc::new(move || {
                text_of(store, id, start..end).map_or_else(String::new, |t| t.to_string())
            }),
        );
        let path = copy_path.clone();
        copy_button(&actions, clipboard::PATH, Rc::new(move || path.clone()));
    };
    // Expanding swaps this row's node for the static tree's node of the value.
    let fill = Box::new(move |children: &Element| {
        let value = text_of(store, id, start..end);
        let (Some(value), Some(node)) = (value, children.parent_element()) else {
            return;
        };
        let full = value_node(value, Some(key.clone()), path.clone(), level, true);
        let _ = node.replace_with_with_node_1(&full);
        if let Some(row) = full
            .first_element_child()
            .and_then(|r| r.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = row.focus();
        }
    });
    // In a wrapper that stays when the row is swapped (the live view keeps its rows).
    let member = dom::el("div", "utp-json-member");
    let _ = member.append_child(&expandable(
        "utp-json-row utp-clickable",
        false,
        !depth::indents(level + 1),
        &head,
        fill,
    ));
    member
}

/// The row of a token still arriving: its key (if any) and what it shows so far.
fn partial_row(key: Option<&str>, shown: &str) -> Element {
    let row = dom::el("div", "utp-json-row utp-json-partial");
    dom::set(&row, "role", "treeitem");
    dom::set(&row, "tabindex", "-1");
    dom::add(&row, "span", "utp-caret-space");
    if let Some(k) = key {
        label(&row, "span", "utp-json-key", &key_text(k), "");
        dom::add_text(&row, "span", "utp-json-colon", ": ");
    }
    label(&row, "span", "utp-json-arriving", shown, "");
    row
}

/// Bytes of a token in progress read for its row: enough for what the row shows of it (at
/// most [`MAX_SHOWN_CHARS`] characters and a few more), however long the token grows.
const TOKEN_BYTES: usize = 4 * MAX_SHOWN_CHARS + 8;

fn state_text(bytes: usize, interrupted: bool) -> String {
    let size = json_partial::size(bytes);
    if interrupted {
        format!("interrupted · {size} so far")
    } else {
        format!("receiving · {size}")
    }
}

/// Bytes `range` of the streamed document of span `id` (its content once complete).
fn text_of(store: Store, id: SpanId, range: Range<usize>) -> Option<Arc<str>> {
    let mut out = None;
    store.read(&mut |m| {
        out = m
            .span(id)
            .and_then(|s| s.streamed_json())
            .and_then(|(_, t)| t.get(range.clone()))
            .map(|t| Arc::from(&*t));
    });
    out
}
