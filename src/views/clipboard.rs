//! Copying to the clipboard.

use std::rc::Rc;

use leptos::prelude::*;
use web_sys::{Element, Node};

use crate::dom;

/// How long a copy button says "copied" (or "failed") before it says "copy" again.
const FEEDBACK: std::time::Duration = std::time::Duration::from_millis(1200);

/// Copies `text`; the button then says whether it worked, for a moment.
pub fn copy(text: &str, button: Element) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(text);
    leptos::task::spawn_local(async move {
        let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
        button.set_text_content(Some(if ok { "copied" } else { "failed" }));
        set_timeout(move || button.set_text_content(Some("copy")), FEEDBACK);
    });
}

/// Appends a small "copy" button that copies what `text` makes when clicked. It holds no
/// reactive state (its feedback is written to the button itself): a row of a large list or
/// JSON tree has one or two, and each costs only its element.
pub fn copy_button(parent: &Node, label: &str, text: Rc<dyn Fn() -> String>) -> Element {
    let button = dom::add_text(parent, "button", "utp-copy", "copy");
    dom::set(&button, "title", label);
    dom::set(&button, "aria-label", label);
    dom::on(&button, "click", move |e| {
        e.stop_propagation();
        if let Some(b) = dom::target(&e) {
            copy(&text(), b);
        }
    });
    button
}
