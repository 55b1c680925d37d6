//! A name-value span: two columns of names and values, virtualized as every long list is
//! (100,000 items mount only the rows near the viewport); object and array values as inline
//! JSON trees.

use std::rc::Rc;

use crate::reactive::*;
use user_trace_model::json::{self, JsonKind};
use user_trace_model::protocol::Content;
use user_trace_model::SpanId;
use web_sys::Element;

use crate::dom;
use crate::json_string;
use crate::store::Store;
use crate::views::item_history::{item_history, Seen};
use crate::views::json_tree::json_tree;
use crate::views::label::label;
use crate::views::long_text::long_text;
use crate::views::virtual_list::virtual_list;
use crate::views::Ctx;

/// A value cell's class, by the value's kind.
fn class_of(kind: JsonKind) -> &'static str {
    match kind {
        JsonKind::String => "utp-item-value utp-item-string",
        JsonKind::Number => "utp-item-value utp-item-number",
        JsonKind::Bool => "utp-item-value utp-item-bool",
        JsonKind::Null => "utp-item-value utp-item-null",
        JsonKind::Object => "utp-item-value utp-item-object",
        JsonKind::Array => "utp-item-value utp-item-array",
    }
}

/// An item as the list knows it: its position (high half), and its value's text by address
/// (low half: the whole address in wasm32, where the views run). Items are replaced, never
/// changed in place, so a new value is a new address: a row is rebuilt only when its item
/// changed, and what the reader expanded in it stays expanded otherwise.
fn key(index: usize, value: &str) -> u64 {
    ((index as u64) << 32) | u64::from(value.as_ptr() as usize as u32)
}

/// The items of a span.
pub fn items_span(cx: Ctx, id: SpanId) -> Element {
    let store = cx.store;
    let table = dom::el("div", "utp-items");
    dom::set(&table, "role", "table");
    let trigger = store.span_trigger(id);
    let keys = Memo::new(move |_| {
        trigger.track();
        store.with(|m| match m.span(id).map(|s| &s.content) {
            Some(Content::Items(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| key(i, item.value.get()))
                .collect::<Vec<u64>>(),
            _ => Vec::new(),
        })
    });
    let seen = Seen::default();
    let row: Rc<dyn Fn(u64) -> Element> =
        Rc::new(move |k| item_row(store, id, (k >> 32) as usize, &seen));
    virtual_list(&table, keys, cx.viewport, row);
    table
}

/// Item `index` of span `id`: its name and its value.
fn item_row(store: Store, id: SpanId, index: usize, seen: &Seen) -> Element {
    let tr = dom::el("div", "utp-item");
    dom::set(&tr, "role", "row");
    dom::set(&tr, "data-item", &index.to_string());
    let item = store.with(|m| match m.span(id).map(|s| &s.content) {
        Some(Content::Items(items)) => items.get(index).map(|i| (i.name.clone(), i.value.clone())),
        _ => None,
    });
    let Some((name, value)) = item else {
        return tr;
    };
    let th = label(&tr, "div", "utp-item-name", &name, "");
    dom::set(&th, "role", "rowheader");
    let kind = json::kind(value.get());
    let td = dom::add(&tr, "div", class_of(kind));
    dom::set(&td, "role", "cell");
    if kind.is_container() {
        let _ = td.append_child(&json_tree(&value, false));
    } else if kind == JsonKind::String {
        // Line breaks and tabs as sent (a stack trace keeps its lines).
        long_text(&td, "div", "", &json_string::decode(value.get()));
    } else {
        long_text(&td, "div", "", value.get().trim());
    }
    item_history(&tr, &td, store, id, index, seen);
    tr
}
