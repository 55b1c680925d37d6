//! A text span: tokens are appended to the DOM as they arrive, never re-rendering what is
//! shown. The text is split into blocks of bounded size ([`crate::text_chunks`]) so that each
//! append costs the same however long the text grows.

use leptos::prelude::*;
use user_trace_model::SpanId;
use wasm_bindgen::JsCast;

use crate::store::Store;
use crate::text_chunks::cut;
use crate::views::clipboard::CopyButton;

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
    // Whether a long text is scrolled to its end: it then stays there as tokens arrive, unless
    // the reader scrolls up.
    let at_end = StoredValue::new(true);
    let on_scroll = move |_| {
        if let Some(pre) = pre.get_untracked() {
            let end = pre.scroll_top() + pre.client_height() >= pre.scroll_height() - 4;
            at_end.set_value(end);
        }
    };
    Effect::new(move |_| {
        trigger.track();
        let Some(pre) = pre.get() else { return };
        store.with(|m| {
            let text = m.span(id).and_then(|s| s.text()).unwrap_or("");
            let from = shown.get_value();
            let replaced = text.len() < from || !text.is_char_boundary(from);
            if !replaced && text.len() == from {
                // The span changed, not its text (its status, say): nothing to append or scroll.
                return;
            }
            if replaced {
                // Replaced by shorter content: start over.
                pre.set_text_content(None);
                append(&pre, text);
            } else {
                append(&pre, &text[from..]);
            }
            shown.set_value(text.len());
            let long = text.len() >= LONG_BYTES;
            if replaced || long != (from >= LONG_BYTES) {
                let _ = pre.class_list().toggle_with_force("utp-long", long);
            }
            if long && at_end.get_value() {
                // Past the end: the browser stops at the bottom.
                pre.set_scroll_top(i32::MAX);
            }
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
            <pre class="utp-text" tabindex="0" node_ref=pre on:scroll=on_scroll></pre>
        </div>
    }
}

/// Appends `text` to the last block of `pre`, or to new blocks where
/// [`crate::text_chunks::cut`] says (each block is a `span.utp-chunk` holding one Text node).
fn append(pre: &web_sys::HtmlPreElement, mut text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let mut last = pre
        .last_element_child()
        .and_then(|c| c.first_child())
        .and_then(|n| n.dyn_into::<web_sys::Text>().ok());
    while !text.is_empty() {
        // UTF-16 units stand in for bytes: only the block's rough size matters.
        let current = last.as_ref().map_or(0, |t| t.length() as usize);
        let n = cut(current, text);
        if n == 0 {
            // The rest starts a new block (a fresh block always takes some).
            last = None;
            continue;
        }
        let (now, rest) = text.split_at(n);
        match &last {
            Some(node) => {
                let _ = node.append_data(now);
            }
            None => last = new_block(&document, pre, now),
        }
        text = rest;
        if !text.is_empty() {
            last = None;
        }
    }
}

fn new_block(
    document: &web_sys::Document,
    pre: &web_sys::HtmlPreElement,
    text: &str,
) -> Option<web_sys::Text> {
    let block = document.create_element("span").ok()?;
    block.set_class_name("utp-chunk");
    let node = document.create_text_node(text);
    block.append_child(&node).ok()?;
    pre.append_child(&block).ok()?;
    Some(node)
}
