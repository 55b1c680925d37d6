//! An error span: its message, and its details as a JSON tree.

use leptos::prelude::*;
use user_trace_model::protocol::Content;
use user_trace_model::SpanId;

use crate::store::Store;
use crate::views::json_tree::JsonTree;

/// The error of a span.
#[component]
pub fn ErrorSpan(
    /// The store to read from.
    store: Store,
    /// The span to show.
    id: SpanId,
) -> impl IntoView {
    let trigger = store.span_trigger(id);
    let content = move || {
        trigger.track();
        store.with(|m| match m.span(id).map(|s| &s.content) {
            Some(Content::Error(e)) => (e.message.clone(), e.details.as_ref().map(|d| d.shared())),
            _ => (String::new(), None),
        })
    };
    view! {
        {move || {
            let (message, details) = content();
            view! {
                <div class="utp-error" role="alert">
                    <div class="utp-error-message">{message}</div>
                    {details.map(|d| view! { <JsonTree text=d open=true /> })}
                </div>
            }
        }}
    }
}
