//! The scrolling tree of root traces: filtering, follow mode, keyboard navigation, and what
//! waits for a parent that has not arrived.

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::dom;
use crate::filter::Filter;
use crate::store::Store;
use crate::views::span::span_view;
use crate::views::trace::trace_view;
use crate::views::virtual_list::{virtual_list, Viewport};
use crate::views::{Ctx, Fold};

/// Moves focus among the tree's items with the arrow keys (the ARIA tree pattern).
fn on_key(e: web_sys::KeyboardEvent, root: &Element) {
    let key = e.key();
    if !matches!(
        key.as_str(),
        "ArrowDown" | "ArrowUp" | "ArrowLeft" | "ArrowRight" | "Home" | "End"
    ) {
        return;
    }
    let Ok(list) = root.query_selector_all("[role=treeitem]") else {
        return;
    };
    let items: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    if items.is_empty() {
        return;
    }
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let pos = active.and_then(|a| items.iter().position(|i| **i == a));
    let expanded =
        |i: &web_sys::HtmlElement| i.get_attribute("aria-expanded").as_deref() == Some("true");
    let target = match (key.as_str(), pos) {
        ("ArrowDown", Some(p)) => items.get(p + 1),
        ("ArrowUp", Some(p)) => p.checked_sub(1).and_then(|p| items.get(p)),
        ("ArrowDown" | "Home", None) | ("Home", Some(_)) => items.first(),
        ("ArrowUp" | "End", _) => items.last(),
        ("ArrowRight", Some(p)) if !expanded(&items[p]) => {
            items[p].click();
            None
        }
        ("ArrowLeft", Some(p)) if expanded(&items[p]) => {
            items[p].click();
            None
        }
        _ => None,
    };
    e.prevent_default();
    if let Some(t) = target {
        let _ = t.focus();
    }
}

/// Appends to `parent` all root traces and the orphans waiting for their parent (in a
/// scroller), and the button that returns to the newest activity.
pub fn tree(
    parent: &Element,
    store: Store,
    filter: RwSignal<Filter>,
    follow: RwSignal<bool>,
    fold: Fold,
) {
    let scroller = dom::add(parent, "div", "utp-tree");
    dom::set(&scroller, "role", "tree");
    dom::set(&scroller, "aria-label", "Traces");
    // Lists at every depth virtualize against this scroller.
    let viewport = Viewport::new(scroller.clone());
    on_cleanup(move || viewport.disconnect());
    let cx = Ctx {
        store,
        fold,
        viewport: Some(viewport),
    };
    let roots = Memo::new(move |_| {
        store.track_roots();
        let f = filter.get();
        store.with(|m| {
            m.roots()
                .iter()
                .copied()
                .filter(|&t| f.is_empty() || f.matches(m, t))
                .collect::<Vec<_>>()
        })
    });
    // Follow: after each applied frame, stay at the bottom.
    let el = scroller.clone();
    dom::effect(move || {
        store.counters.track();
        if follow.get_untracked() {
            let el = el.clone();
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
    });
    let el = scroller.clone();
    dom::effect(move || {
        if follow.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    dom::on(&scroller, "scroll", move |e| {
        let Some(el) = dom::target(&e) else { return };
        let at_bottom = el.scroll_height() - el.scroll_top() - el.client_height() < 48;
        if follow.get_untracked() != at_bottom {
            follow.set(at_bottom);
        }
    });
    dom::on(&scroller, "keydown", move |e| {
        let Some(el) = dom::target(&e) else { return };
        if let Ok(e) = e.dyn_into::<web_sys::KeyboardEvent>() {
            on_key(e, &el);
        }
    });
    let empty = move || {
        store.track_roots();
        store.with(|m| m.roots().is_empty() && m.orphans().0.is_empty() && m.orphans().1.is_empty())
    };
    dom::show(&scroller, empty, || {
        let e = dom::el("div", "utp-empty");
        e.set_text_content(Some("No traces yet. They appear here as the program runs."));
        e
    });
    virtual_list(
        &scroller,
        roots,
        cx.viewport,
        Rc::new(move |t| trace_view(cx, t)),
    );
    let has_orphans = move || {
        store.track_roots();
        store.with(|m| !m.orphans().0.is_empty() || !m.orphans().1.is_empty())
    };
    dom::show(&scroller, has_orphans, move || {
        let box_ = dom::el("div", "utp-orphans");
        dom::add_text(
            &box_,
            "div",
            "utp-muted",
            "Waiting for their parent to arrive:",
        );
        dom::keyed(
            &box_,
            move || {
                store.track_roots();
                store.with(|m| m.orphans().0)
            },
            move |t| trace_view(cx, t),
        );
        dom::keyed(
            &box_,
            move || {
                store.track_roots();
                store.with(|m| m.orphans().1)
            },
            move |s| span_view(cx, s),
        );
        box_
    });
    dom::show(
        parent,
        move || !follow.get(),
        move || {
            let b = dom::el("button", "utp-jump");
            b.set_text_content(Some("↓ Jump to newest"));
            dom::on(&b, "click", move |_| follow.set(true));
            b
        },
    );
}
