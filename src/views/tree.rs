//! The scrolling tree of root traces: filtering, follow mode, keyboard navigation, and what
//! waits for a parent that has not arrived.

use std::cell::Cell;
use std::rc::Rc;

use crate::reactive::*;
use user_trace_model::{Model, SpanId, TraceId};
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::dom;
use crate::filter::Filter;
use crate::store::Store;
use crate::views::clipboard::copy_on_reach;
use crate::views::deep::focus_bar;
use crate::views::label::label;
use crate::views::span::span_view;
use crate::views::tail;
use crate::views::trace::trace_view;
use crate::views::virtual_list::{virtual_list, Viewport};
use crate::views::{Ctx, PanelCx};
use crate::windowing;

/// The tree's keys (the WAI-ARIA tree pattern): arrows move focus among the items, Right
/// expands and Left collapses, Home and End go to the first and last item, Enter and Space
/// toggle. Keys on something inside an item (a copy button) are that thing's.
fn on_key(e: web_sys::KeyboardEvent, root: &Element) {
    let key = e.key();
    if !matches!(
        key.as_str(),
        "ArrowDown" | "ArrowUp" | "ArrowLeft" | "ArrowRight" | "Home" | "End" | "Enter" | " "
    ) {
        return;
    }
    // Inside an item (its copy button, say): the key is that element's.
    let inside_item = e
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|t| Some((t.closest("[role=treeitem]").ok()??, t)))
        .is_some_and(|(item, t)| item != t);
    if inside_item && !matches!(key.as_str(), "ArrowDown" | "ArrowUp" | "Home" | "End") {
        return;
    }
    let items = tree_items(root);
    if items.is_empty() {
        return;
    }
    let active = dom::document().active_element();
    let pos = active.and_then(|a| items.iter().position(|i| **i == a));
    let expanded =
        |i: &web_sys::HtmlElement| i.get_attribute("aria-expanded").as_deref() == Some("true");
    let expandable = |i: &web_sys::HtmlElement| i.has_attribute("aria-expanded");
    let target = match (key.as_str(), pos) {
        ("ArrowDown", Some(p)) => items.get(p + 1),
        ("ArrowUp", Some(p)) => p.checked_sub(1).and_then(|p| items.get(p)),
        ("ArrowDown" | "Home", None) | ("Home", Some(_)) => items.first(),
        ("ArrowUp" | "End", _) => items.last(),
        ("ArrowRight", Some(p)) if expandable(&items[p]) && !expanded(&items[p]) => {
            items[p].click();
            None
        }
        ("ArrowLeft", Some(p)) if expanded(&items[p]) => {
            items[p].click();
            None
        }
        ("Enter" | " ", Some(p)) if expandable(&items[p]) => {
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

/// The tree's items in document order (only those mounted: collapsed content is not).
fn tree_items(root: &Element) -> Vec<web_sys::HtmlElement> {
    let Ok(list) = root.query_selector_all("[role=treeitem]") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

/// The tree is one Tab stop (roving tabindex): the item last focused has `tabindex=0` while
/// focus is inside; when focus leaves, the tree itself takes the Tab stop (the item may be
/// unmounted or collapsed away meanwhile) and hands focus on to that item, or the first one.
fn roving_focus(scroller: &Element) {
    dom::set(scroller, "tabindex", "0");
    // Entering the tree (`focus` is the tree's own; `focusin` is its items'): on to the item it
    // left from, if still shown, else the first. Two listeners: the second runs nested in the
    // first, and a listener cannot run inside itself.
    dom::on(scroller, "focus", |e| {
        let Some(tree) = dom::target(&e) else { return };
        if tree.has_attribute("data-pointer") {
            // A click on the tree's content (to select text, say) focuses the tree: focus stays
            // there, and the view does not jump to an item.
            return;
        }
        let last = tree.query_selector(".utp-active[role=treeitem]");
        let next = match last {
            Ok(Some(l)) => Some(l),
            _ => tree.query_selector("[role=treeitem]").ok().flatten(),
        };
        if let Some(item) = next.and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = item.focus();
        }
    });
    for (event, down) in [("pointerdown", true), ("pointerup", false)] {
        dom::on(scroller, event, move |e| match dom::target(&e) {
            Some(tree) if down => dom::set(&tree, "data-pointer", ""),
            Some(tree) => {
                let _ = tree.remove_attribute("data-pointer");
            }
            None => {}
        });
    }
    dom::on(scroller, "focusin", focus_in);
    dom::on(scroller, "focusout", |e| {
        let Some(tree) = dom::target(&e) else { return };
        let to = e
            .dyn_ref::<web_sys::FocusEvent>()
            .and_then(|f| f.related_target())
            .and_then(|t| t.dyn_into::<web_sys::Node>().ok());
        if to.is_some_and(|n| tree.contains(Some(&n))) {
            return;
        }
        if let Ok(Some(old)) = tree.query_selector(".utp-active") {
            dom::set(&old, "tabindex", "-1");
        }
        dom::set(&tree, "tabindex", "0");
    });
}

/// Focus reached the tree or one of its items: the item becomes the tree's Tab stop.
fn focus_in(e: web_sys::Event) {
    let Some(tree) = dom::target(&e) else { return };
    let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
        return;
    };
    if t.get_attribute("role").as_deref() != Some("treeitem") {
        return;
    }
    if let Ok(Some(old)) = tree.query_selector(".utp-active") {
        if old != t {
            dom::set(&old, "tabindex", "-1");
            dom::toggle_class(&old, "utp-active", false);
        }
    }
    dom::toggle_class(&t, "utp-active", true);
    dom::set(&t, "tabindex", "0");
    dom::set(&t, "aria-level", &level(&tree, &t).to_string());
    dom::set(&tree, "tabindex", "-1");
}

/// An item's level in the tree: one more than the groups it is in (ARIA's `aria-level`).
fn level(tree: &Element, item: &Element) -> u32 {
    let mut n = 1;
    let mut at = item.parent_element();
    while let Some(e) = at {
        if e == *tree {
            break;
        }
        if e.get_attribute("role").as_deref() == Some("group") {
            n += 1;
        }
        at = e.parent_element();
    }
    n
}

/// What the tree shows when the filter keeps no trace: what it looked for, and a button that
/// clears it.
fn no_match(filter: RwSignal<Filter>) -> Element {
    let e = dom::el("div", "utp-empty utp-no-match");
    dom::set(&e, "role", "status");
    let f = filter.get_untracked();
    dom::text(&e, "No traces match ");
    let text = f.text.trim();
    if !text.is_empty() {
        label(&e, "q", "", text, "");
    }
    if let Some(p) = &f.process {
        dom::text(
            &e,
            if text.is_empty() {
                "process "
            } else {
                " from "
            },
        );
        label(&e, "q", "", p, "");
    }
    dom::text(&e, ". ");
    let clear = dom::add_text(&e, "button", "utp-clear-filter", "Clear the filter");
    dom::on(&clear, "click", move |_| filter.set(Filter::default()));
    e
}

/// Frames a pin lasts at most, and how many frames the bottom must hold still to end it.
const PIN_FRAMES: u32 = 120;

/// A pin to the bottom: frames it lasts still, and where it last scrolled to.
#[derive(Default)]
struct Pin {
    frames: Cell<u32>,
    top: Cell<i32>,
}
const PIN_STILL: u32 = 3;

/// Scrolls `el` to its bottom, and again at each frame while that moves: rows near the bottom
/// mount and measure only once they are near (blocks' placeholders are estimates), so one
/// scroll can land short of the newest row. Meanwhile the browser's scroll anchoring is off:
/// it would move the view with the rows above as they measure (a scroll the tree would take
/// for the reader leaving the bottom). Any other scroll away from the bottom ends follow mode,
/// and with it the pin.
fn pin_to_bottom(el: &Element, follow: RwSignal<bool>, pinned: &Rc<Pin>, store: Store) {
    dom::toggle_class(el, "utp-pinned", true);
    el.set_scroll_top(tail::follow_top(el, store));
    pinned.top.set(el.scroll_top());
    if pinned.frames.replace(PIN_FRAMES) == 0 {
        pin(el.clone(), follow, pinned.clone(), 0, -1, store);
    }
}

fn pin(el: Element, follow: RwSignal<bool>, pinned: Rc<Pin>, still: u32, last: i32, store: Store) {
    request_animation_frame(move || {
        let left = pinned.frames.get();
        if left == 0 || !follow.try_get_untracked().unwrap_or(false) {
            pinned.frames.set(0);
            dom::toggle_class(&el, "utp-pinned", false);
            return;
        }
        let height = el.scroll_height();
        // The end of the tree, or of the span pinned (views::tail).
        let at_bottom = tail::at_follow_end(&el, store, 1);
        if !at_bottom {
            el.set_scroll_top(tail::follow_top(&el, store));
            pinned.top.set(el.scroll_top());
        }
        let still = if at_bottom && height == last {
            still + 1
        } else {
            0
        };
        if still >= PIN_STILL || left == 1 {
            pinned.frames.set(0);
            dom::toggle_class(&el, "utp-pinned", false);
            return;
        }
        pinned.frames.set(left - 1);
        pin(el, follow, pinned, still, height, store);
    });
}

/// Appends to `parent` all root traces and the orphans waiting for their parent (in a
/// scroller), and the button that returns to the newest activity.
pub fn tree(parent: &Element, cx: PanelCx) {
    let PanelCx {
        store,
        filter,
        follow,
        fold,
    } = cx;
    focus_bar(parent, store);
    let scroller = dom::add(parent, "div", "utp-tree");
    dom::set(&scroller, "role", "tree");
    dom::set(&scroller, "aria-label", "Traces");
    // Lists at every depth virtualize against this scroller.
    let viewport = Viewport::new(scroller.clone());
    on_cleanup(move || viewport.disconnect());
    let roots = Memo::new(move |_| {
        store.track_roots();
        let f = filter.get();
        // Rooted at a nested trace the reader opened: that trace alone, as a root, if the
        // filter keeps it (it or something in it matches).
        if let Some(id) = store.rooted() {
            let kept = f.is_empty() || store.with(|m| f.matches(m, id));
            return if kept { vec![id.as_u64()] } else { Vec::new() };
        }
        store.with(|m| {
            m.roots()
                .iter()
                .copied()
                .filter(|&t| f.is_empty() || f.matches(m, t))
                .map(TraceId::as_u64)
                .collect::<Vec<_>>()
        })
    });
    // The newest root traces open by default, as many as the browser can lay out.
    let open_from = Memo::new(move |_| {
        roots.with(|r| {
            store.with(|m| {
                let rows = |&t: &u64| m.trace(TraceId::from_u64(t)).map_or(0, |t| t.spans.len());
                let open = windowing::open_by_default(r.iter().rev().map(rows));
                let oldest_open = r.len().checked_sub(open).filter(|&i| i > 0)?;
                let t = m.trace(TraceId::from_u64(r[oldest_open]))?;
                Some((t.start_ts, t.key.clone()))
            })
        })
    });
    let cx = Ctx {
        store,
        fold,
        filter,
        viewport: Some(viewport),
        depth: 0,
        open_from: Some(open_from),
    };
    // A new root starts at its top.
    let el = scroller.clone();
    let mut rooted = None;
    dom::effect(move || {
        let now = store.rooted();
        if now != rooted {
            rooted = now;
            follow.set(false);
            el.set_scroll_top(0);
        }
    });
    // Follow: after each applied frame, and when asked to (Jump to newest), go to the bottom
    // and stay there while the rows near it mount and measure (see `pin`). After the views'
    // effects of the frame: the bottom is then where their changes put it, and the frame is
    // laid out once, not once before them and again after.
    let pinned = Rc::new(Pin::default());
    let (el, pins) = (scroller.clone(), pinned.clone());
    dom::effect(move || {
        store.counters.track();
        if follow.get_untracked() {
            let (el, pins) = (el.clone(), pins.clone());
            after_effects(move || pin_to_bottom(&el, follow, &pins, store));
        }
    });
    let (el, pins) = (scroller.clone(), pinned.clone());
    dom::effect(move || {
        // Pinning or unpinning a span moves the end that following goes to.
        store.pinned.track();
        if follow.get() {
            pin_to_bottom(&el, follow, &pins, store);
        }
    });
    // Rows mounting near the bottom (when the observer says so, which can be frames later
    // on a busy machine) move it: a following tree goes there again.
    let pins = pinned.clone();
    viewport.after_change(Rc::new(move |el| {
        if follow.try_get_untracked().unwrap_or(false) {
            pin_to_bottom(el, follow, &pins, store);
        }
    }));
    dom::on(&scroller, "scroll", move |e| {
        let Some(el) = dom::target(&e) else { return };
        let at_bottom = tail::at_follow_end(&el, store, 47);
        if !at_bottom && pinned.frames.get() > 0 && el.scroll_top() >= pinned.top.get() - 1 {
            // The pin's own scroll, reported after rows below it grew: the reader did not
            // leave the bottom (anyone scrolling up does, and ends follow mode).
            return;
        }
        // A scroll may still arrive for a panel just disposed.
        if follow.try_get_untracked().is_some_and(|f| f != at_bottom) {
            follow.set(at_bottom);
        }
    });
    roving_focus(&scroller);
    copy_on_reach(&scroller, store);
    dom::on(&scroller, "keydown", move |e| {
        let Some(el) = dom::target(&e) else { return };
        if let Ok(e) = e.dyn_into::<web_sys::KeyboardEvent>() {
            on_key(e, &el);
        }
    });
    let empty = move || {
        store.track_roots();
        store.with(|m| m.roots().is_empty() && !m.has_orphans())
    };
    dom::show(&scroller, empty, || {
        let e = dom::el("div", "utp-empty");
        e.set_text_content(Some("No traces yet. They appear here as the program runs."));
        e
    });
    // Traces there are, but the filter keeps none: say so, and offer the way back.
    let none_match = move || {
        store.track_roots();
        !filter.with(Filter::is_empty)
            && roots.with(Vec::is_empty)
            && store.with(|m| !m.roots().is_empty())
    };
    dom::show(&scroller, none_match, move || no_match(filter));
    virtual_list(
        &scroller,
        roots,
        cx.viewport,
        Rc::new(move |t| trace_view(cx, TraceId::from_u64(t))),
    );
    let has_orphans = move || {
        store.track_roots();
        store.with(Model::has_orphans)
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
                store.with(|m| {
                    m.orphans()
                        .traces
                        .into_iter()
                        .map(TraceId::as_u64)
                        .collect()
                })
            },
            move |t| trace_view(cx, TraceId::from_u64(t)),
        );
        dom::keyed(
            &box_,
            move || {
                store.track_roots();
                store.with(|m| m.orphans().spans.into_iter().map(SpanId::as_u64).collect())
            },
            move |s| span_view(cx, SpanId::from_u64(s)),
        );
        box_
    });
    tail::new_pill(parent, store, follow);
}
