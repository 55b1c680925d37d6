//! A text span: tokens are appended to the DOM as they arrive, never re-rendering what is
//! shown. The text is split into blocks of bounded size ([`crate::text_chunks`]) so that each
//! append costs the same however long the text grows; blocks are Text nodes inside line
//! elements that start only where the text starts a line, so what is shown and selected is
//! exactly the text sent.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::Track;
use user_trace_model::SpanId;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::dom;
use crate::store::Store;
use crate::text_chunks::{cut, ends_line};
use crate::views::clipboard::copy_button;

/// Bytes from which a text scrolls inside its span (about 40 lines of a narrow panel).
const LONG_BYTES: usize = 2 * 1024;

/// The streamed text of a span.
pub fn text_span(store: Store, id: SpanId) -> Element {
    let root = dom::el("div", "utp-text-span");
    // Focusable: the keyboard can scroll a long text and reach its copy button.
    let pre = dom::add(&root, "pre", "utp-text");
    dom::set(&pre, "tabindex", "0");
    let trigger = store.span_trigger(id);
    // Whether a long text is scrolled to its end: it then stays there as tokens arrive, unless
    // the reader scrolls up.
    let at_end = Rc::new(Cell::new(true));
    {
        let at_end = at_end.clone();
        dom::on(&pre, "scroll", move |e| {
            if let Some(pre) = dom::target(&e) {
                let end = pre.scroll_top() + pre.client_height() >= pre.scroll_height() - 4;
                at_end.set(end);
            }
        });
    }
    // Bytes of the text already in the DOM.
    let mut shown = 0usize;
    let node = pre.clone();
    dom::effect(move || {
        trigger.track();
        store.with(|m| {
            let text = m.span(id).and_then(|s| s.text()).unwrap_or("");
            let from = shown;
            let replaced = text.len() < from || !text.is_char_boundary(from);
            if !replaced && text.len() == from {
                // The span changed, not its text (its status, say): nothing to append or scroll.
                return;
            }
            if replaced {
                // Replaced by shorter content: start over.
                node.set_text_content(None);
                append(&node, text);
            } else {
                append(&node, &text[from..]);
            }
            shown = text.len();
            let long = text.len() >= LONG_BYTES;
            if replaced || long != (from >= LONG_BYTES) {
                dom::toggle_class(&node, "utp-long", long);
            }
            if long && at_end.get() {
                // Past the end: the browser stops at the bottom. A text long when its view is
                // made is not in the page yet (it cannot scroll): it goes to its end once it is.
                if from == 0 {
                    let pre = node.clone();
                    leptos::prelude::request_animation_frame(move || pre.set_scroll_top(i32::MAX));
                }
                node.set_scroll_top(i32::MAX);
            }
        });
    });
    // The copy button exists once the pointer or the keyboard reaches the text: a button in
    // every mounted row was a sixth of the cost of mounting a block of rows.
    let reached = Rc::new(Cell::new(false));
    for event in ["pointerenter", "focusin"] {
        let reached = reached.clone();
        dom::on(&root, event, move |e| {
            // The text is the root's last child; the button goes before it.
            let Some(root) = dom::target(&e) else { return };
            if !reached.replace(true) {
                let pre = root.last_element_child();
                let copy = copy_button(
                    &root,
                    "Copy text",
                    Rc::new(move || {
                        store.with(|m| m.span(id).and_then(|s| s.text()).unwrap_or("").to_owned())
                    }),
                );
                let _ = root.insert_before(&copy, pre.as_ref().map(|p| p.as_ref()));
            }
        });
    }
    root
}

/// Appends `text` to the last block of `pre`, or to new blocks where
/// [`crate::text_chunks::cut`] says: each block is a Text node inside a `span.utp-line`, and a
/// new line element starts only after a block that ends a line ([`ends_line`]).
fn append(pre: &Element, mut text: &str) {
    let mut line = pre.last_element_child();
    let mut last = line
        .as_ref()
        .and_then(|l| l.last_child())
        .and_then(|n| n.dyn_into::<web_sys::Text>().ok());
    while !text.is_empty() {
        // UTF-16 units stand in for bytes: only the block's rough size matters.
        let current = last.as_ref().map_or(0, |t| t.length() as usize);
        let n = cut(current, text);
        if n == 0 {
            // The rest starts a new block (a fresh block always takes some).
            last = None;
            continue;
        }
        let (now, rest) = text.split_at(n);
        match (&last, &line) {
            (Some(node), _) => {
                let _ = node.append_data(now);
            }
            (None, Some(l)) if !starts_line(l) => last = Some(dom::text(l, now)),
            _ => {
                let l = dom::add(pre, "span", "utp-line");
                last = Some(dom::text(&l, now));
                line = Some(l);
            }
        }
        text = rest;
        if !text.is_empty() {
            last = None;
        }
    }
}

/// Whether what follows the line element `line` must start a new one: its text ends a line.
fn starts_line(line: &Element) -> bool {
    line.last_child()
        .and_then(|n| n.dyn_into::<web_sys::Text>().ok())
        .is_none_or(|t| {
            let end = t.length().saturating_sub(1);
            ends_line(&t.substring_data(end, 1).unwrap_or_default())
        })
}
