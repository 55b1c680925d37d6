//! Tailing that never fights the reader: while the tree is not following, a pill says how
//! many traces and spans arrived since (pressed, it follows again); the status bar always says
//! whether the tree follows; and a running span can be pinned, so that following keeps the end
//! of that span in view rather than the end of the tree.
//!
//! The pinned span is the store's (`Store::pinned`); the tree's follow mode asks [`follow_top`]
//! where "the end" is.

use crate::reactive::*;
use user_trace_model::{Model, SpanId};
use web_sys::Element;

use crate::dom;
use crate::store::Store;

/// The scroll position following goes to: the end of the pinned span when it is mounted
/// (its bottom at the bottom of the tree), else the end of the tree.
pub fn follow_top(scroller: &Element, store: Store) -> i32 {
    let pinned = store.pinned.try_get_untracked().flatten();
    let span = pinned.and_then(|id| {
        scroller
            .query_selector(&format!("[data-span=\"{id}\"]"))
            .ok()
            .flatten()
    });
    match span {
        Some(s) => {
            let by = s.get_bounding_client_rect().bottom()
                - scroller.get_bounding_client_rect().bottom();
            scroller.scroll_top() + by.round() as i32
        }
        None => scroller.scroll_height(),
    }
}

/// Whether the tree is at the end following goes to (within `slack` pixels).
pub fn at_follow_end(scroller: &Element, store: Store, slack: i32) -> bool {
    let max = scroller.scroll_height() - scroller.client_height();
    let end = follow_top(scroller, store).min(max);
    (end - scroller.scroll_top()).abs() <= slack
}

/// Traces and spans held: what "new" counts.
fn nodes(m: &Model) -> usize {
    m.trace_count() + m.span_count()
}

/// The pill shown while not following: "↓ N new" (or "↓ Jump to newest" when nothing new
/// arrived); pressed, the tree follows again.
pub fn new_pill(parent: &Element, store: Store, follow: RwSignal<bool>) {
    dom::show(
        parent,
        move || !follow.get(),
        move || {
            let b = dom::el("button", "utp-jump");
            dom::set(&b, "type", "button");
            let since = store.with(nodes);
            let node = b.clone();
            dom::effect(move || {
                store.counters.track();
                let n = store.with(nodes).saturating_sub(since);
                let (text, name) = match n {
                    0 => (
                        "↓ Jump to newest".to_owned(),
                        "Jump to newest and follow".to_owned(),
                    ),
                    n => (
                        format!("↓ {n} new"),
                        format!("{n} new traces and spans: follow the newest"),
                    ),
                };
                dom::set_text(&node, &text);
                dom::set(&node, "aria-label", &name);
            });
            dom::on(&b, "click", move |_| follow.set(true));
            b
        },
    );
}

/// The status bar's follow state, always visible: a toggle that says whether the tree follows
/// the newest activity (or a pinned span), and the way to unpin.
pub fn follow_state(section: &Element, store: Store, follow: RwSignal<bool>) {
    let Ok(Some(bar)) = section.query_selector(".utp-statusbar") else {
        return;
    };
    let state = dom::add(&bar, "button", "utp-follow-state");
    dom::set(&state, "type", "button");
    dom::on(&state, "click", move |_| follow.update(|f| *f = !*f));
    let unpin = dom::add_text(&bar, "button", "utp-unpin", "Unpin");
    dom::set(&unpin, "type", "button");
    dom::set(&unpin, "title", "Follow the end of the tree again");
    dom::on(&unpin, "click", move |_| store.pinned.set(None));
    // Pinning a span follows it.
    dom::effect(move || {
        if store.pinned.get().is_some() {
            follow.set(true);
        }
    });
    dom::effect(move || {
        let on = follow.get();
        let pinned = store.pinned.get().is_some();
        let text = match (on, pinned) {
            (true, false) => "● Following",
            (true, true) => "● Following the pinned span",
            (false, _) => "○ Not following",
        };
        dom::set_text(&state, text);
        dom::set(&state, "aria-pressed", dom::aria_bool(on));
        dom::set(
            &state,
            "title",
            if on {
                "Following the newest activity: press to stop"
            } else {
                "Press to follow the newest activity"
            },
        );
        dom::toggle_class(&unpin, "utp-hidden", !pinned);
    });
}

/// Appends to a running span's header the button that pins it (or unpins it).
pub fn pin_button(row: &Element, store: Store, id: SpanId) {
    // Words, not an emoji: a system without an emoji font shows a box.
    let b = dom::add_text(row, "button", "utp-pin", "pin");
    dom::set(&b, "type", "button");
    let pinned = store.pinned.get_untracked() == Some(id.as_u64());
    dom::set(&b, "aria-pressed", dom::aria_bool(pinned));
    let name = if pinned {
        "Unpin: follow the end of the tree"
    } else {
        "Pin: follow the end of this span"
    };
    dom::set(&b, "aria-label", name);
    dom::set(&b, "title", name);
    dom::on(&b, "click", move |e| {
        e.stop_propagation();
        let me = id.as_u64();
        store
            .pinned
            .update(|p| *p = if *p == Some(me) { None } else { Some(me) });
    });
}
