//! A name-value span: a two-column table; object and array values as inline JSON trees.

use std::sync::Arc;

use leptos::prelude::Track;
use user_trace_model::json::{self, JsonKind};
use user_trace_model::protocol::Content;
use user_trace_model::SpanId;
use web_sys::Element;

use crate::dom;
use crate::json_string;
use crate::store::Store;
use crate::views::json_tree::json_tree;
use crate::views::label::label;
use crate::views::long_text::long_text;

/// A value cell's class, by the value's kind.
fn class_of(kind: JsonKind) -> &'static str {
    match kind {
        JsonKind::String => "utp-item-string",
        JsonKind::Number => "utp-item-number",
        JsonKind::Bool => "utp-item-bool",
        JsonKind::Null => "utp-item-null",
        JsonKind::Object => "utp-item-object",
        JsonKind::Array => "utp-item-array",
    }
}

/// The items of a span.
pub fn items_span(store: Store, id: SpanId) -> Element {
    let table = dom::el("table", "utp-items");
    let body = dom::add(&table, "tbody", "");
    let trigger = store.span_trigger(id);
    // Rebuilt only when the items change (not when the span's status or children do), so
    // that values the reader expanded stay expanded.
    // (`Arc<str>` equality compares pointers first: an unchanged value costs no byte compare.)
    let mut shown: Option<Vec<(String, Arc<str>)>> = None;
    dom::effect(move || {
        trigger.track();
        let rows = store.with(|m| match m.span(id).map(|s| &s.content) {
            Some(Content::Items(items)) => items
                .iter()
                .map(|i| (i.name.clone(), i.value.shared()))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        });
        if shown.as_ref() == Some(&rows) {
            return;
        }
        shown = Some(rows.clone());
        body.set_text_content(None);
        for (name, value) in rows {
            let tr = dom::add(&body, "tr", "");
            let th = label(&tr, "th", "", &name, "");
            dom::set(&th, "scope", "row");
            let kind = json::kind(&value);
            let td = dom::add(&tr, "td", class_of(kind));
            if kind.is_container() {
                let _ = td.append_child(&json_tree(value, None, false));
            } else if kind == JsonKind::String {
                // Line breaks and tabs as sent (a stack trace keeps its lines).
                long_text(&td, "div", "", &json_string::decode(&value));
            } else {
                long_text(&td, "div", "", value.trim());
            }
        }
    });
    table
}
