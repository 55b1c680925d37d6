//! A span: its header (kind, title, who wrote it, status), its content by kind, and the child
//! traces nested in it.

use std::rc::Rc;

use crate::reactive::{Get, Track};
use user_trace_model::protocol::SpanKind;
use user_trace_model::{Parent, RunStatus, SpanId, TraceId};
use web_sys::Element;

use crate::store::Store;
use crate::views::deep::way_in;
use crate::views::error_span::error_span;
use crate::views::generic_span::generic_span;
use crate::views::items_span::items_span;
use crate::views::json_span::json_span;
use crate::views::label::{self, label};
use crate::views::markdown_span::markdown_span;
use crate::views::messages::messages_span;
use crate::views::stream_stats::stream_stats;
use crate::views::tail;
use crate::views::text_span::text_span;
use crate::views::trace::trace_view;
use crate::views::waterfall::{waterfall, Timed};
use crate::views::who::writers_note;
use crate::views::Ctx;
use crate::{badges, label_text, process_colour};
use crate::{depth, dom};

/// The short name of a process (`agent@host:42` -> `agent`), for badges.
pub fn short_process(p: &str) -> &str {
    p.split('@').next().unwrap_or(p)
}

/// Appends a process badge: its short name, the full one as a tooltip.
pub fn badge(parent: &Element, class: &str, text: &str, process: &str) -> Element {
    let b = label(parent, "span", class, text, "");
    dom::set(&b, "title", &label_text::plain(process));
    dom::set(&b, "style", &process_colour::style(process));
    b
}

/// Appends badges for `processes` (in natural order: `worker-2` before `worker-10`), each
/// `prefix`ed; past a few, one "+N" button stands for the rest. Its tooltip lists them one a
/// line for the pointer, its name lists them for a screen reader, and pressed (the keyboard
/// reaches it) it shows their badges after it.
pub fn badges(parent: &Element, class: &str, prefix: &str, processes: &[String]) {
    let mut sorted: Vec<&str> = processes.iter().map(String::as_str).collect();
    badges::sort_natural(&mut sorted);
    let (shown, hidden) = badges::collapse(sorted.len());
    for p in &sorted[..shown] {
        badge(parent, class, &format!("{prefix}{}", short_process(p)), p);
    }
    if hidden == 0 {
        return;
    }
    let rest = &sorted[shown..];
    // Owned, as the other lists joined for a title are: one copy of `join` in the wasm, not one
    // for each type of list.
    let plain: Vec<String> = rest
        .iter()
        .map(|p| label_text::plain(p).into_owned())
        .collect();
    let more = dom::add_text(
        parent,
        "button",
        "utp-badge utp-more",
        &format!("+{hidden}"),
    );
    dom::set(&more, "type", "button");
    dom::set(&more, "title", &plain.join("\n"));
    dom::set(
        &more,
        "aria-label",
        &format!("{hidden} more: {}", plain.join(", ")),
    );
    dom::set(&more, "aria-expanded", "false");
    dom::on(&more, "click", show_more);
    let list = dom::add(parent, "span", "utp-more-list utp-hidden");
    for p in rest {
        badge(&list, class, &format!("{prefix}{}", short_process(p)), p);
    }
}

/// "+N" pressed: shows or hides the badges it stands for (the element after it).
fn show_more(e: web_sys::Event) {
    // The button's, not the row's (a trace header would fold).
    e.stop_propagation();
    let Some(button) = dom::target(&e) else {
        return;
    };
    let open = button.get_attribute("aria-expanded").as_deref() != Some("true");
    dom::set(&button, "aria-expanded", dom::aria_bool(open));
    if let Some(list) = button.next_element_sibling() {
        dom::toggle_class(&list, "utp-hidden", !open);
    }
}

#[derive(Clone, PartialEq)]
struct Header {
    kind: SpanKind,
    /// Whether its content streams (text, a conversation, a JSON document in pieces).
    streamed: bool,
    title: Option<String>,
    process: String,
    writers: Vec<String>,
    status: RunStatus,
    /// Whether the span's trace is still running (see `badges::span_state`).
    trace_running: bool,
    /// Its writer went away without ending it (a runtime's `span_interrupted`).
    interrupted: bool,
    /// Whether following stays inside it (`views::tail`).
    pinned: bool,
}

fn header_view(row: &Element, h: &Header, needle: &str, pin: Option<(Store, SpanId)>) {
    row.set_text_content(None);
    let status = match &h.status {
        RunStatus::Running if h.interrupted => ("utp-interrupted", "interrupted".to_owned()),
        RunStatus::Running => {
            let (class, text) = badges::span_state(true, h.streamed, h.trace_running);
            (class, text.to_owned())
        }
        RunStatus::Ok => ("utp-ok", "✓".to_owned()),
        RunStatus::Error(m) => ("utp-err", format!("✗ {m}")),
    };
    label(row, "span", "utp-kind", h.kind.as_str(), "");
    let title = h.title.as_deref().unwrap_or("");
    // One line at most in the header (cut with an ellipsis): whole in the tooltip.
    let shown = label(row, "span", "utp-span-title", title, needle);
    dom::set(&shown, "title", &label_text::plain(title));
    badge(row, "utp-badge", short_process(&h.process), &h.process);
    badges(row, "utp-badge utp-writer", "+", &h.writers);
    writers_note(row, &h.process, &h.writers);
    let state = label(
        row,
        "span",
        &format!("utp-status {}", status.0),
        &status.1,
        "",
    );
    if status.0 == "utp-interrupted" {
        dom::set(
            &state,
            "title",
            "Its producer disconnected without ending it and has not come back",
        );
    }
    // A span still streaming can be pinned: following then stays inside it.
    if let (true, true, Some((store, id))) = (h.status.is_running(), h.streamed || h.pinned, pin) {
        tail::pin_button(row, store, id);
    }
    if status.0 == "utp-unfinished" {
        dom::set(
            &state,
            "title",
            "Its trace ended before it did: nothing more will come",
        );
    }
}

/// One span and what nests in it.
pub fn span_view(cx: Ctx, id: SpanId) -> Element {
    let store = cx.store;
    // Not the span's trigger: nothing here changes with appended text.
    let shape = store.span_shape_trigger(id);
    let read = move || {
        store.with(|m| {
            m.span(id).map(|s| Header {
                kind: s.kind.clone(),
                streamed: s.kind.is_streamed() || s.stream.is_some(),
                title: s.title.clone(),
                process: s.process.to_string(),
                writers: s.writers().iter().map(|w| w.to_string()).collect(),
                status: s.status.clone(),
                trace_running: match s.trace {
                    Parent::Node(t) => m.trace(t).is_none_or(|t| t.status.is_running()),
                    _ => true,
                },
                interrupted: s.interrupted().is_some(),
                pinned: false,
            })
        })
    };
    let kind = read().map(|h| h.kind).unwrap_or(SpanKind::Text);
    let root = dom::el("div", "utp-span");
    dom::set(&root, "data-span-kind", kind.as_str());
    // Found by a reveal (views::reveal) and by an activation (crate::links).
    dom::set(&root, "data-span", &id.as_u64().to_string());
    let head = dom::add(&root, "div", "utp-span-header");
    // Kept current by their own effects; moved back to the header's end when it is rewritten.
    let meta = dom::el("span", "utp-meta");
    stream_stats(&meta, store, id);
    waterfall(&meta, store, Timed::Span(id));
    {
        let shape = shape.clone();
        let filter = cx.filter;
        // Read and compared when the header may have changed, not per streamed token (the
        // shape trigger); rebuilt when it or the filter's needle changed.
        dom::rebuild_on_change(
            move || {
                shape.track();
                // The trace's end changes how a running span reads.
                let trace = store.with(|m| match m.span(id).map(|s| &s.trace) {
                    Some(Parent::Node(t)) => Some(*t),
                    _ => None,
                });
                if let Some(t) = trace {
                    store.trace_trigger(t).track();
                }
                let pinned = store.pinned.get() == Some(id.as_u64());
                let now = read().map(|h| Header { pinned, ..h });
                (now, label::needle(filter))
            },
            move |(now, needle)| {
                match now {
                    Some(h) => header_view(&head, h, needle, Some((store, id))),
                    None => head.set_text_content(None),
                }
                let _ = head.append_child(&meta);
            },
        );
    }
    let content = dom::add(&root, "div", "utp-span-content");
    let view = match kind {
        SpanKind::Text => text_span(store, id),
        SpanKind::Json => json_span(store, id),
        SpanKind::Items => items_span(cx, id),
        SpanKind::Markdown => markdown_span(store, id),
        SpanKind::Error => error_span(store, id),
        SpanKind::Messages => messages_span(cx, id),
        SpanKind::Other(_) => generic_span(store, id),
    };
    let _ = content.append_child(&view);
    // Child traces are one level deeper; past the cap, each is a way in (see `crate::depth`).
    let inner = cx.deeper();
    let row: Rc<dyn Fn(_) -> Element> = if depth::trace_is_way_in(inner.depth) {
        Rc::new(move |t| way_in(inner, t))
    } else {
        Rc::new(move |t| trace_view(inner, t))
    };
    dom::keyed(
        &root,
        move || {
            shape.track();
            store.with(|m| {
                m.span(id).map_or_else(Vec::new, |s| {
                    s.children.iter().map(|t| t.as_u64()).collect()
                })
            })
        },
        move |t| row(TraceId::from_u64(t)),
    );
    root
}
