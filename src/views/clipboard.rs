//! Copying to the clipboard.

use std::rc::Rc;

use crate::reactive::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Node};

use crate::store::Store;
use crate::{copy, dom, links};

/// How long a copy button says "copied" (or "failed") before it says what it said again.
const FEEDBACK: std::time::Duration = std::time::Duration::from_millis(1200);

/// How long a refusal stays on the button (long enough to read why).
const REFUSED: std::time::Duration = std::time::Duration::from_millis(4000);

/// Copies `text`; the button then says whether it worked, for a moment, and if the browser
/// refused the clipboard, why (in its tooltip and, for a screen reader, its name), then
/// `shown` and `label` again (given, not read back: a second click meanwhile would read the
/// feedback).
fn copy(text: &str, button: Element, shown: &'static str, label: String) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(text);
    crate::reactive::spawn_local(async move {
        let result = wasm_bindgen_futures::JsFuture::from(promise).await;
        let wait = match result {
            Ok(_) => {
                button.set_text_content(Some("copied"));
                FEEDBACK
            }
            Err(e) => {
                let why = js_sys::Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "no reason given".to_owned());
                let said = format!(
                    "Not copied: the browser refused the clipboard ({why}). Select the text and copy it instead."
                );
                button.set_text_content(Some("copy failed"));
                dom::set(&button, "title", &said);
                dom::set(&button, "aria-label", &said);
                REFUSED
            }
        };
        set_timeout(
            move || {
                button.set_text_content(Some(shown));
                dom::set(&button, "aria-label", &label);
                dom::set(&button, "title", &label);
            },
            wait,
        );
    });
}

/// Gives a row its copy button once the pointer or the keyboard reaches it, and again if a
/// re-render dropped it: rows mount many headers and few are ever copied (a button in every
/// row costs mounting time). One pair of listeners on the tree serves every row at every depth
/// (a pair on each row was a tenth of the cost of mounting it). The rows: a trace's header
/// (its trace as JSON Lines), a span (its header: the span as JSON) and a text span's text.
pub fn copy_on_reach(tree: &Element, store: Store) {
    // `pointerover`, not `pointerenter`: it bubbles to the tree.
    for event in ["pointerover", "focusin"] {
        dom::on(tree, event, move |e| {
            if let Some(at) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) {
                reached(&at, store);
            }
        });
    }
}

/// The rows around `at` that copy, each given its button if it has none: the innermost span
/// around it (reached anywhere in it: its header's button, and its text's if `at` is in its
/// text) and the innermost trace header.
fn reached(at: &Element, store: Store) {
    let closest = |selector: &str| at.closest(selector).ok().flatten();
    let header = closest("[data-span]")
        .and_then(|s| s.query_selector(":scope > .utp-span-header").ok().flatten());
    let span = header.and_then(|h| links::node_of(&h).0.map(|id| (h, id)));
    if let Some((header, id)) = span {
        if own_copy(&header).is_none() {
            copy_button(
                &header,
                "Copy span as JSON",
                Rc::new(move || store.with(|m| copy::span_json(m, id)).unwrap_or_default()),
            );
        }
        if let Some(text) = closest(".utp-text-span").filter(|t| own_copy(t).is_none()) {
            // Before the text (the block's only child), as the keyboard and a screen reader
            // meet it; it floats over the text's corner.
            let pre = text.first_element_child();
            let copy = copy_button(
                &text,
                "Copy text",
                Rc::new(move || {
                    store.with(|m| m.span(id).and_then(|s| s.text()).unwrap_or("").to_owned())
                }),
            );
            let _ = text.insert_before(&copy, pre.as_ref().map(|p| p.as_ref()));
        }
    }
    if let Some(row) = closest(".utp-trace-header").filter(|r| own_copy(r).is_none()) {
        if let (_, Some(id)) = links::node_of(&row) {
            copy_button(
                &row,
                "Copy trace as JSON Lines",
                Rc::new(move || store.with(|m| copy::trace_jsonl(m, id))),
            );
        }
    }
}

/// `el`'s own copy button (a child, not one of a row nested in it).
fn own_copy(el: &Element) -> Option<Element> {
    el.query_selector(":scope > .utp-copy").ok().flatten()
}

/// The label of the button that copies a JSON value's path (it shows "copy path").
pub const PATH: &str = "Copy path";

/// Appends a small "copy" button that copies what `text` makes when clicked. It holds no
/// reactive state (its feedback is written to the button itself): a row of a large list or
/// JSON tree has one or two, and each costs only its element.
pub fn copy_button(parent: &Node, label: &str, text: Rc<dyn Fn() -> String>) -> Element {
    // Beside a JSON value's "copy", its path's button says which it copies.
    let shown = if label == PATH { "copy path" } else { "copy" };
    let button = dom::add_text(parent, "button", "utp-copy", shown);
    dom::set(&button, "title", label);
    dom::set(&button, "aria-label", label);
    let label = label.to_owned();
    dom::on(&button, "click", move |e| {
        e.stop_propagation();
        if let Some(b) = dom::target(&e) {
            copy(&text(), b, shown, label.clone());
        }
    });
    button
}
