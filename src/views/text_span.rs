//! A text span: tokens are appended to the DOM as they arrive, never re-rendering what is
//! shown. The text is split into Text nodes of bounded size so that each append costs the
//! same however long the text grows.

use leptos::prelude::*;
use user_trace_model::SpanId;
use wasm_bindgen::JsCast;

use crate::store::Store;
use crate::views::clipboard::CopyButton;

/// Largest Text node, in bytes, before a new one is started.
const CHUNK_BYTES: usize = 16 * 1024;
/// Bytes from which a text scrolls inside its span (about 40 lines of a narrow panel).
const LONG_BYTES: usize = 2 * 1024;

/// The streamed text of a span.
#[component]
pub fn TextSpan(
    /// The store to read from.
    store: Store,
    /// The span to show.
    id: SpanId,
) -> impl IntoView {
    let pre = NodeRef::<leptos::html::Pre>::new();
    let trigger = store.span_trigger(id);
    // Bytes of the text already in the DOM.
    let shown = StoredValue::new(0usize);
    Effect::new(move |_| {
        trigger.track();
        let Some(pre) = pre.get() else { return };
        store.with(|m| {
            let text = m.span(id).and_then(|s| s.text()).unwrap_or("");
            let from = shown.get_value();
            if text.len() < from || !text.is_char_boundary(from) {
                // Replaced by shorter content: start over.
                pre.set_text_content(None);
                shown.set_value(0);
                append(&pre, text);
            } else {
                append(&pre, &text[from..]);
            }
            shown.set_value(text.len());
            // `toggle` with `force` writes nothing when the class is already as wanted.
            let _ = pre
                .class_list()
                .toggle_with_force("utp-long", text.len() >= LONG_BYTES);
        });
    });
    let copy = Callback::new(move |_| {
        store.with(|m| m.span(id).and_then(|s| s.text()).unwrap_or("").to_owned())
    });
    // The copy button exists once the pointer or the keyboard reaches the text: a button in
    // every mounted row was a sixth of the cost of mounting a block of rows.
    let reached = RwSignal::new(false);
    let reach = move || {
        if !reached.get_untracked() {
            reached.set(true);
        }
    };
    view! {
        <div class="utp-text-span" on:pointerenter=move |_| reach() on:focusin=move |_| reach()>
            <Show when=move || reached.get()>
                <CopyButton text=copy label="Copy text" />
            </Show>
            // Focusable: the keyboard can scroll a long text and reach its copy button.
            <pre class="utp-text" tabindex="0" node_ref=pre></pre>
        </div>
    }
}

/// Appends `text` to the last Text node of `pre`, or to a new one when that is full.
fn append(pre: &web_sys::HtmlPreElement, mut text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    while !text.is_empty() {
        let last = pre
            .last_child()
            .and_then(|n| n.dyn_into::<web_sys::Text>().ok())
            .filter(|t| (t.length() as usize) < CHUNK_BYTES);
        let room = last
            .as_ref()
            .map_or(CHUNK_BYTES, |t| {
                CHUNK_BYTES.saturating_sub(t.length() as usize)
            })
            .max(1);
        let mut cut = room.min(text.len());
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        let (now, rest) = text.split_at(cut);
        match last {
            Some(node) => {
                let _ = node.append_data(now);
            }
            None => {
                let _ = pre.append_child(&document.create_text_node(now));
            }
        }
        text = rest;
    }
}
