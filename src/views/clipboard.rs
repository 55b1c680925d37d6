//! Copying to the clipboard.

use std::rc::Rc;

use crate::reactive::*;
use web_sys::{Element, Node};

use crate::dom;

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

/// Adds a copy button to `el` (or to its first descendant that `into` selects) once the
/// pointer or the keyboard reaches `el`, and again if a re-render dropped it: rows mount many
/// headers and few are ever copied (a button in every row costs mounting time).
pub fn copy_when_reached(
    el: &Element,
    into: &'static str,
    label: &'static str,
    text: Rc<dyn Fn() -> String>,
) {
    for event in ["pointerenter", "focusin"] {
        let text = text.clone();
        dom::on(el, event, move |e| {
            let Some(el) = dom::target(&e) else { return };
            let at = match into {
                "" => Some(el),
                selector => el.query_selector(selector).ok().flatten(),
            };
            let Some(at) = at else { return };
            if at
                .query_selector(":scope > .utp-copy")
                .ok()
                .flatten()
                .is_none()
            {
                copy_button(&at, label, text.clone());
            }
        });
    }
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
