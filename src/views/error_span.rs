//! An error span: its message, and its details as a JSON tree.

use crate::reactive::Track;
use user_trace_model::protocol::Content;
use user_trace_model::SpanId;
use web_sys::Element;

use crate::dom;
use crate::store::Store;
use crate::views::json_tree::json_tree;
use crate::views::long_text::long_text;

/// The error of a span.
pub fn error_span(store: Store, id: SpanId) -> Element {
    let root = dom::el("div", "utp-error");
    dom::set(&root, "role", "alert");
    let trigger = store.span_trigger(id);
    let node = root.clone();
    // Rebuilt only when the error changes, so that details the reader expanded stay expanded.
    dom::rebuild_on_change(
        move || {
            trigger.track();
            store.with(|m| match m.span(id).map(|s| &s.content) {
                Some(Content::Error(e)) => (e.message.clone(), e.details.clone()),
                _ => (String::new(), None),
            })
        },
        move |(message, details)| {
            node.set_text_content(None);
            long_text(&node, "div", "utp-error-message", message);
            if let Some(d) = details {
                let _ = node.append_child(&json_tree(d, true));
            }
        },
    );
    root
}
