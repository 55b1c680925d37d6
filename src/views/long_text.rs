//! A value shown as multi-line text: its line breaks and tabs kept (`white-space: pre-wrap`),
//! isolated from what is around it (`dir="auto"`), and cut after
//! [`MAX_SHOWN_CHARS`](crate::format::MAX_SHOWN_CHARS) characters with a button that shows
//! all of it, so that a 1 MiB value neither floods the DOM nor widens the panel.

use std::rc::Rc;

use web_sys::{Element, Node};

use crate::dom;
use crate::format::{self, MAX_SHOWN_CHARS};

/// Appends a `tag` element of `class` (plus `utp-value`) showing `text`.
pub fn long_text(parent: &Node, tag: &str, class: &str, text: &str) -> Element {
    let el = dom::add(parent, tag, &format!("utp-value {class}"));
    dom::set(&el, "dir", "auto");
    let Some(cut) = format::cut_at(text, MAX_SHOWN_CHARS) else {
        el.set_text_content(Some(text));
        return el;
    };
    dom::text(&el, &text[..cut]);
    let label = format!("… show all ({} bytes)", text.len());
    let more = dom::add_text(&el, "button", "utp-show-all", &label);
    // The listener holds the text, never an element: it finds the button from the event.
    let all: Rc<str> = Rc::from(text);
    dom::on(&more, "click", move |e| {
        e.stop_propagation();
        if let Some(button) = dom::target(&e) {
            if let Some(text) = button.previous_sibling() {
                text.set_text_content(Some(&all));
            }
            button.remove();
        }
    });
    el
}
