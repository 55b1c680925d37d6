//! The scrolling tree of root traces: filtering, follow mode, keyboard navigation, and what
//! waits for a parent that has not arrived.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::filter::Filter;
use crate::store::Store;
use crate::views::span::SpanView;
use crate::views::trace::TraceView;
use crate::views::virtual_list::{Viewport, VirtualList};
use crate::views::Fold;

/// Moves focus among the tree's items with the arrow keys (the ARIA tree pattern).
fn on_key(e: web_sys::KeyboardEvent, root: &web_sys::HtmlElement) {
    let key = e.key();
    if !matches!(
        key.as_str(),
        "ArrowDown" | "ArrowUp" | "ArrowLeft" | "ArrowRight" | "Home" | "End"
    ) {
        return;
    }
    let Ok(list) = root.query_selector_all("[role=treeitem]") else {
        return;
    };
    let items: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    if items.is_empty() {
        return;
    }
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let pos = active.and_then(|a| items.iter().position(|i| **i == a));
    let expanded =
        |i: &web_sys::HtmlElement| i.get_attribute("aria-expanded").as_deref() == Some("true");
    let target = match (key.as_str(), pos) {
        ("ArrowDown", Some(p)) => items.get(p + 1),
        ("ArrowUp", Some(p)) => p.checked_sub(1).and_then(|p| items.get(p)),
        ("ArrowDown" | "Home", None) | ("Home", Some(_)) => items.first(),
        ("ArrowUp" | "End", _) => items.last(),
        ("ArrowRight", Some(p)) if !expanded(&items[p]) => {
            items[p].click();
            None
        }
        ("ArrowLeft", Some(p)) if expanded(&items[p]) => {
            items[p].click();
            None
        }
        _ => None,
    };
    e.prevent_default();
    if let Some(t) = target {
        let _ = t.focus();
    }
}

/// All root traces, and the orphans waiting for their parent.
#[component]
pub fn Tree(
    /// The store to read from.
    store: Store,
    /// What to show.
    filter: RwSignal<Filter>,
    /// Whether the view follows the newest activity.
    follow: RwSignal<bool>,
    /// Collapse-all / expand-all commands.
    fold: Fold,
) -> impl IntoView {
    let scroller = NodeRef::<leptos::html::Div>::new();
    // Lists at every depth virtualize against this scroller.
    let viewport = Viewport::new(scroller);
    provide_context(viewport);
    on_cleanup(move || viewport.disconnect());
    let roots = Memo::new(move |_| {
        store.track_roots();
        let f = filter.get();
        store.with(|m| {
            m.roots()
                .iter()
                .copied()
                .filter(|&t| f.is_empty() || f.matches(m, t))
                .collect::<Vec<_>>()
        })
    });
    let orphans = move || {
        store.track_roots();
        store.with(|m| m.orphans())
    };
    // Follow: after each applied frame, stay at the bottom.
    Effect::new(move |_| {
        store.counters.track();
        if follow.get_untracked() {
            request_animation_frame(move || {
                // The panel may have been unmounted before the frame.
                if let Some(el) = scroller.try_get_untracked().flatten() {
                    el.set_scroll_top(el.scroll_height());
                }
            });
        }
    });
    Effect::new(move |_| {
        if follow.get() {
            if let Some(el) = scroller.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = scroller.get_untracked() {
            let at_bottom = el.scroll_height() - el.scroll_top() - el.client_height() < 48;
            if follow.get_untracked() != at_bottom {
                follow.set(at_bottom);
            }
        }
    };
    let on_keydown = move |e: web_sys::KeyboardEvent| {
        if let Some(el) = scroller.get_untracked() {
            on_key(e, &el);
        }
    };
    let empty = move || {
        store.track_roots();
        store.with(|m| m.roots().is_empty() && m.orphans().0.is_empty() && m.orphans().1.is_empty())
    };
    view! {
        <div class="utp-tree" role="tree" aria-label="Traces" node_ref=scroller on:scroll=on_scroll on:keydown=on_keydown>
            <Show when=empty>
                <div class="utp-empty">"No traces yet. They appear here as the program runs."</div>
            </Show>
            <VirtualList items=roots row=move |t| view! { <TraceView store id=t fold /> } />
            {move || {
                let (traces, spans) = orphans();
                (!traces.is_empty() || !spans.is_empty()).then(|| {
                    view! {
                        <div class="utp-orphans">
                            <div class="utp-muted">"Waiting for their parent to arrive:"</div>
                            {traces.into_iter().map(|t| view! { <TraceView store id=t fold /> }).collect::<Vec<_>>()}
                            {spans.into_iter().map(|s| view! { <SpanView store id=s fold /> }).collect::<Vec<_>>()}
                        </div>
                    }
                })
            }}
        </div>
        <Show when=move || !follow.get()>
            <button class="utp-jump" on:click=move |_| follow.set(true)>"↓ Jump to newest"</button>
        </Show>
    }
}
