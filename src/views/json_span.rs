//! A JSON span: its value as a lazy tree, rebuilt only when the content is replaced.

use std::sync::Arc;

use leptos::prelude::Track;
use user_trace_model::protocol::Content;
use user_trace_model::SpanId;
use web_sys::Element;

use crate::dom;
use crate::store::Store;
use crate::views::json_tree::json_tree;

/// The JSON value of a span.
pub fn json_span(store: Store, id: SpanId) -> Element {
    let root = dom::el("div", "utp-json-span");
    let trigger = store.span_trigger(id);
    // The shared text shown, compared by identity: the same text is the same value.
    let mut shown: Option<Arc<str>> = None;
    let node = root.clone();
    dom::effect(move || {
        trigger.track();
        let now = store.with(|m| match m.span(id).map(|s| &s.content) {
            Some(Content::Json(j)) => Some((j.shared(), j.outline())),
            _ => None,
        });
        if now.as_ref().map(|n| &n.0).map(Arc::as_ptr) == shown.as_ref().map(Arc::as_ptr) {
            return;
        }
        node.set_text_content(None);
        shown = now.as_ref().map(|n| n.0.clone());
        if let Some((text, outline)) = now {
            let _ = node.append_child(&json_tree(text, outline, true));
        }
    });
    root
}
