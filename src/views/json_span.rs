//! A JSON span: its value as a lazy tree, rebuilt only when the content is replaced.

use leptos::prelude::*;
use user_trace_model::protocol::Content;
use user_trace_model::{json, SpanId};

use crate::store::Store;
use crate::views::json_tree::JsonTree;

/// The JSON value of a span.
#[component]
pub fn JsonSpan(
    /// The store to read from.
    store: Store,
    /// The span to show.
    id: SpanId,
) -> impl IntoView {
    let trigger = store.span_trigger(id);
    // The shared text; the tree is rebuilt only when it is a different value.
    let text = Memo::new(move |_| {
        trigger.track();
        store.with(|m| match m.span(id).map(|s| &s.content) {
            Some(Content::Json(j)) => Some(SharedText(j.shared(), j.outline())),
            _ => None,
        })
    });
    view! {
        <div class="utp-json-span">
            {move || text.get().map(|t| view! { <JsonTree text=t.0 outline=t.1 open=true /> })}
        </div>
    }
}

/// Compares by identity: the same shared text is the same value, without comparing bytes.
/// The outline is the decoder's, when it found one.
#[derive(Clone)]
struct SharedText(std::sync::Arc<str>, Option<std::sync::Arc<json::Outline>>);

impl PartialEq for SharedText {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}
