//! A span of a kind this panel does not know (from a newer producer): its JSON, as a tree.

use leptos::prelude::*;
use user_trace_model::protocol::Content;
use user_trace_model::SpanId;

use crate::store::Store;
use crate::views::json_tree::JsonTree;

/// The raw content of a span of an unknown kind.
#[component]
pub fn GenericSpan(
    /// The store to read from.
    store: Store,
    /// The span to show.
    id: SpanId,
) -> impl IntoView {
    let trigger = store.span_trigger(id);
    let content = move || {
        trigger.track();
        store.with(|m| match m.span(id).map(|s| (&s.kind, &s.content)) {
            Some((kind, Content::Json(j))) => (kind.as_str().to_owned(), Some(j.shared())),
            Some((kind, other)) => (
                kind.as_str().to_owned(),
                Some(user_trace_model::protocol::writer::content_json(other).shared()),
            ),
            None => (String::new(), None),
        })
    };
    view! {
        {move || {
            let (kind, json) = content();
            view! {
                <div class="utp-generic">
                    <div class="utp-muted">{format!("a `{kind}` span (shown as its JSON)")}</div>
                    {json.map(|j| view! { <JsonTree text=j open=true /> })}
                </div>
            }
        }}
    }
}
