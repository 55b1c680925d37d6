//! Traces nested deeper than one view shows (see [`crate::depth`]): the row that opens one as
//! the tree's root, and the bar that says where the tree is rooted and leads back.

use crate::reactive::*;
use user_trace_model::TraceId;
use web_sys::Element;

use crate::store::Store;
use crate::views::Ctx;
use crate::{depth, dom, label_text};

/// A trace past the view's nesting cap: its name and how many levels it holds, as one row
/// that opens it as the tree's root.
pub fn way_in(cx: Ctx, id: TraceId) -> Element {
    let store = cx.store;
    let root = dom::el("div", "utp-trace utp-way-in");
    let button = dom::add(&root, "button", "utp-open-here");
    dom::set(&button, "role", "treeitem");
    dom::on(&button, "click", move |_| store.open_as_root(Some(id)));
    let trigger = store.trace_trigger(id);
    let mut shown = String::new();
    // What is below grows with events deep below, which do not notify this trace's view: the
    // store keeps the count current from each batch's changes and notifies the trace's trigger
    // when it moves (a walk of the subtree after every batch was O(subtree) per frame).
    store.watch_levels_below(id);
    dom::effect(move || {
        trigger.track();
        let below = store.levels_below(id);
        let text = store.with(|m| {
            let name = m.trace(id).map(|t| t.name.as_str()).unwrap_or("");
            let name = label_text::plain(name);
            format!("▸ {name} · {}", depth::more_levels(below + 1))
        });
        if text != shown {
            dom::set_text(&button, &text);
            shown = text;
        }
    });
    root
}

/// Appends to `parent` the bar shown while the tree is rooted at a nested trace: where it is
/// (its level and the root trace it nests in), a way back to the previous root, and to all
/// traces.
pub fn focus_bar(parent: &Element, store: Store) {
    dom::show(
        parent,
        move || {
            store.track_roots();
            store.rooted().is_some()
        },
        move || {
            let bar = dom::el("div", "utp-focus-bar");
            dom::set(&bar, "role", "navigation");
            dom::set(&bar, "aria-label", "Nested trace shown");
            let back = dom::add_text(&bar, "button", "", "← Back");
            dom::set(&back, "title", "Show the view this trace was opened from");
            dom::on(&back, "click", move |_| store.open_as_root(None));
            let all = dom::add_text(&bar, "button", "", "All traces");
            dom::on(&all, "click", move |_| store.show_all());
            let place = dom::add(&bar, "span", "utp-focus-place");
            dom::effect(move || {
                store.track_roots();
                let Some(id) = store.rooted() else { return };
                let text = store.with(|m| {
                    let name = m.trace(id).map(|t| t.name.as_str()).unwrap_or("");
                    let mut root = id;
                    while let Some(p) = m.parent_trace(root) {
                        root = p;
                    }
                    let top = m.trace(root).map(|t| t.name.as_str()).unwrap_or("");
                    let (name, top) = (label_text::plain(name), label_text::plain(top));
                    format!("{name} · level {} in {top}", m.depth(id))
                });
                dom::set_text(&place, &text);
            });
            bar
        },
    );
}
