//! A JSON span: its value as a lazy tree, rebuilt only when the content is replaced; a document
//! still streaming as its own view (`json_stream.rs`).

use crate::reactive::Track;
use user_trace_model::protocol::{Content, RawJson};
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
    // The value shown.
    let mut shown: Option<RawJson> = None;
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
                Some(Content::Json(j)) => Some(j.clone()),
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
        // The same shared value compares without reading it; an equal one is not rebuilt.
        if now == shown && !was_streaming {
            return;
        }
        node.set_text_content(None);
        if let Some(json) = &now {
            let _ = node.append_child(&json_tree(json, true));
        }
        shown = now;
    });
    root
}
