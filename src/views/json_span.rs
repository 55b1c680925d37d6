//! A JSON span: its value as a lazy tree, rebuilt only when the content is replaced; a document
//! still streaming as its own view (`json_stream.rs`).

use std::sync::Arc;

use crate::reactive::Track;
use user_trace_model::protocol::Content;
use user_trace_model::SpanId;
use web_sys::Element;

use crate::dom;
use crate::store::Store;
use crate::views::json_stream::json_stream;
use crate::views::json_tree::json_tree;

/// The JSON value of a span.
pub fn json_span(store: Store, id: SpanId) -> Element {
    let root = dom::el("div", "utp-json-span");
    let trigger = store.span_trigger(id);
    // The shared text shown, compared by identity: the same text is the same value.
    let mut shown: Option<Arc<str>> = None;
    // Whether the document is shown as it streams (see `json_stream`): that view stays once
    // the document is complete, so that what the reader expanded stays expanded.
    let mut streaming: Option<dom::Mounted> = None;
    // The streamed view's effects belong to the span's view, not to this effect's last run.
    let owner = crate::reactive::Owner::current().unwrap_or_default();
    let node = root.clone();
    dom::effect(move || {
        trigger.track();
        let (now, stream) = store.with(|m| {
            let span = m.span(id);
            let now = match span.map(|s| &s.content) {
                Some(Content::Json(j)) => Some((j.shared(), j.outline())),
                _ => None,
            };
            let stream = span
                .and_then(|s| s.stream.as_deref())
                .map(|st| st.done() && st.error().is_none());
            (now, stream)
        });
        match stream {
            Some(false) if streaming.is_none() => {
                node.set_text_content(None);
                let view = dom::Mounted::new(&owner, &|| json_stream(store, id));
                let _ = node.append_child(&view.el);
                streaming = Some(view);
                shown = None;
                return;
            }
            Some(_) if streaming.is_some() => return,
            _ => {}
        }
        let was_streaming = streaming.take().map(dom::Mounted::remove).is_some();
        if now.as_ref().map(|n| &n.0).map(Arc::as_ptr) == shown.as_ref().map(Arc::as_ptr)
            && !was_streaming
        {
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
