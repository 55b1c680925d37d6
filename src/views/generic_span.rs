//! A span of a kind this panel does not know (from a newer producer): its JSON, as a tree.

use crate::reactive::Track;
use user_trace_model::protocol::Content;
use user_trace_model::SpanId;
use web_sys::Element;

use crate::dom;
use crate::store::Store;
use crate::views::json_tree::json_tree;
use crate::views::label::label;

/// The raw content of a span of an unknown kind.
pub fn generic_span(store: Store, id: SpanId) -> Element {
    let root = dom::el("div", "utp-generic");
    let trigger = store.span_trigger(id);
    let node = root.clone();
    // Rebuilt only when the content changes (compared as text: a known content under an
    // unknown kind is written anew each time), so that what the reader expanded stays expanded.
    dom::rebuild_on_change(
        move || {
            trigger.track();
            store.with(|m| match m.span(id).map(|s| (&s.kind, &s.content)) {
                Some((kind, Content::Json(j))) => (kind.as_str().to_owned(), Some(j.clone())),
                Some((kind, other)) => (
                    kind.as_str().to_owned(),
                    Some(user_trace_model::protocol::writer::content_json(other)),
                ),
                None => (String::new(), None),
            })
        },
        move |(kind, json)| {
            node.set_text_content(None);
            let note = dom::add(&node, "div", "utp-muted");
            dom::text(&note, "a `");
            label(&note, "span", "", kind, "");
            dom::text(&note, "` span (shown as its JSON)");
            if let Some(j) = json {
                let _ = node.append_child(&json_tree(j, true));
            }
        },
    );
    root
}
