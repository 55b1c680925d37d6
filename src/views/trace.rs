//! A trace: its name as a label, badges of the processes that wrote into it, status, start
//! time and duration; its spans below, collapsible.

use std::rc::Rc;

use crate::reactive::*;
use user_trace_model::{RunStatus, SpanId, TraceId};
use web_sys::Element;

use crate::views::label::{self, label};
use crate::views::span::{badges, span_view};
use crate::views::virtual_list::virtual_list;
use crate::views::waterfall::{waterfall, Timed};
use crate::views::Ctx;
use crate::{depth, dom, format};

#[derive(Clone, PartialEq)]
struct Header {
    name: String,
    processes: Vec<String>,
    status: RunStatus,
    start: u64,
    end: Option<u64>,
    spans: usize,
    /// The trace's nesting level, shown where indentation no longer does.
    level: Option<usize>,
    /// Whether an error is somewhere below it (`views::errors`).
    error_below: bool,
}

/// Writes the header's parts after its caret; `needle`: what the filter looks for.
fn header_view(row: &Element, caret: &Element, h: &Header, needle: &str) {
    while let Some(n) = caret.next_sibling() {
        let _ = row.remove_child(&n);
    }
    let (class, text) = match &h.status {
        RunStatus::Running => ("utp-running", "running".to_owned()),
        RunStatus::Ok => ("utp-ok", "done".to_owned()),
        RunStatus::Error(m) => ("utp-err", format!("error: {m}")),
    };
    if let Some(level) = h.level {
        let l = dom::add_text(row, "span", "utp-level", &format!("L{level}"));
        dom::set(&l, "title", &format!("nesting level {level}"));
    }
    if h.error_below {
        let mark = dom::add_text(row, "span", "utp-error-below", "⚠");
        dom::set(&mark, "title", "An error below");
        dom::set(&mark, "role", "img");
        dom::set(&mark, "aria-label", "An error below");
    }
    // One line at most in the header (cut with an ellipsis): whole in the tooltip.
    let name = label(row, "span", "utp-label", &h.name, needle);
    dom::set(&name, "title", &crate::label_text::plain(&h.name));
    badges(row, "utp-badge", "", &h.processes);
    label(row, "span", &format!("utp-status {class}"), &text, "");
    let time = dom::add_text(row, "span", "utp-time", &format::clock(h.start));
    dom::set(&time, "title", "start (UTC)");
    if let Some(e) = h.end {
        let d = format::duration(e.saturating_sub(h.start));
        dom::add_text(row, "span", "utp-duration", &d);
    }
    dom::add_text(
        row,
        "span",
        "utp-count",
        &format::count(h.spans as u64, "span", "spans"),
    );
}

/// One trace and its spans.
pub fn trace_view(cx: Ctx, id: TraceId) -> Element {
    let Ctx {
        store,
        fold,
        filter,
        ..
    } = cx;
    let flat = !depth::indents(cx.depth);
    let trigger = store.trace_trigger(id);
    // As the user left it, else as the last collapse-all or expand-all said, else open unless
    // it is an old finished root among many (a virtualized list remounts traces that scroll
    // back into view, so this is asked again then).
    let expanded = RwSignal::new(store.trace_expanded(id).unwrap_or_else(|| {
        let command = fold.get_untracked();
        if command.generation > 0 {
            command.expand
        } else {
            let trace = store.with(|m| {
                m.trace(id)
                    .map(|t| (t.status.is_running(), t.start_ts, t.key.clone()))
            });
            trace.is_none_or(|(running, ts, key)| cx.opens_by_default(running, ts, &key))
        }
    }));
    // Apply collapse-all / expand-all when issued after this view was made.
    let issued = fold.get_untracked().generation;
    dom::effect(move || {
        let command = fold.get();
        if command.generation != issued {
            expanded.set(command.expand);
        }
    });
    let root = dom::el(
        "div",
        if flat {
            "utp-trace utp-flat"
        } else {
            "utp-trace"
        },
    );
    // Found by a reveal (views::reveal) and by an activation (crate::links).
    dom::set(&root, "data-trace", &id.as_u64().to_string());
    // A reveal expands the traces on its way (as the reader would, through the store).
    {
        let trigger = trigger.clone();
        dom::effect(move || {
            trigger.track();
            if !expanded.get_untracked() && store.trace_expanded(id) == Some(true) {
                expanded.set(true);
            }
        });
    }
    let row = dom::add(&root, "div", "utp-trace-header utp-clickable");
    dom::set(&row, "role", "treeitem");
    // Not a Tab stop of its own: the tree is one (src/views/tree.rs).
    dom::set(&row, "tabindex", "-1");
    dom::on(&row, "click", move |_| {
        expanded.update(|e| *e = !*e);
        store.set_trace_expanded(id, expanded.get_untracked());
    });
    let caret = dom::add(&row, "span", "utp-caret");
    {
        let (row, caret) = (row.clone(), caret.clone());
        dom::effect(move || {
            let open = expanded.get();
            dom::set(&row, "aria-expanded", dom::aria_bool(open));
            dom::toggle_class(&caret, "utp-open", open);
        });
    }
    // A child trace's place in its parent's trace, kept current by its own effect.
    let meta = dom::el("span", "utp-meta");
    waterfall(&meta, store, Timed::Trace(id));
    {
        let trigger = trigger.clone();
        // Rebuilt when the header or the filter's needle (what it highlights) changes.
        dom::rebuild_on_change(
            move || {
                trigger.track();
                let header = store.with(|m| {
                    m.trace(id).map(|t| Header {
                        name: t.name.clone(),
                        processes: t.processes.iter().map(|p| p.to_string()).collect(),
                        status: t.status.clone(),
                        start: t.start_ts,
                        end: t.end_ts(),
                        spans: t.spans.len(),
                        level: flat.then(|| m.depth(id)),
                        error_below: false,
                    })
                });
                let header = header.map(|h| Header {
                    error_below: store.errors_above(id),
                    ..h
                });
                (header, label::needle(filter))
            },
            move |(header, needle)| {
                if let Some(h) = header {
                    header_view(&row, &caret, h, needle);
                    let _ = row.append_child(&meta);
                }
            },
        );
    }
    // A memo: the virtualized list and each of its mounted blocks read it; one copy per change.
    let spans = Memo::new(move |_| {
        trigger.track();
        store.with(|m| {
            m.trace(id)
                .map_or_else(Vec::new, |t| t.spans.iter().map(|s| s.as_u64()).collect())
        })
    });
    let row: Rc<dyn Fn(u64) -> Element> = Rc::new(move |s| span_view(cx, SpanId::from_u64(s)));
    dom::show(
        &root,
        move || expanded.get(),
        move || {
            let group = dom::el("div", "utp-spans");
            dom::set(&group, "role", "group");
            virtual_list(&group, spans, cx.viewport, row.clone());
            group
        },
    );
    root
}
