//! A name-value span: a two-column table; object and array values as inline JSON trees.

use leptos::prelude::*;
use user_trace_model::json::{self, JsonKind};
use user_trace_model::protocol::Content;
use user_trace_model::SpanId;

use crate::store::Store;
use crate::views::json_tree::JsonTree;

/// The items of a span.
#[component]
pub fn ItemsSpan(
    /// The store to read from.
    store: Store,
    /// The span to show.
    id: SpanId,
) -> impl IntoView {
    let trigger = store.span_trigger(id);
    let rows = move || {
        trigger.track();
        store.with(|m| match m.span(id).map(|s| &s.content) {
            Some(Content::Items(items)) => items
                .iter()
                .map(|i| (i.name.clone(), i.value.shared()))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    };
    view! {
        <table class="utp-items">
            <tbody>
                {move || {
                    rows()
                        .into_iter()
                        .map(|(name, value)| {
                            let kind = json::kind(&value);
                            let cell = if kind.is_container() {
                                view! { <JsonTree text=value /> }.into_any()
                            } else if kind == JsonKind::String {
                                json::decode_string(value.trim()).into_owned().into_any()
                            } else {
                                value.trim().to_owned().into_any()
                            };
                            view! {
                                <tr>
                                    <th scope="row">{name}</th>
                                    <td class=format!("utp-item-{kind:?}").to_lowercase()>{cell}</td>
                                </tr>
                            }
                        })
                        .collect::<Vec<_>>()
                }}
            </tbody>
        </table>
    }
}
