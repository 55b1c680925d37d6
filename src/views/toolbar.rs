//! The toolbar: filter, fold, follow, pause, clear, export and import.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::filter::{self, Filter};
use crate::store::{Level, Pending, Store};
use crate::views::Fold;

/// Saves what the panel holds as a JSON Lines file of events.
fn export(store: Store) {
    let mut text = String::new();
    for e in store.export_events() {
        user_trace_model::protocol::writer::event(&mut text, &e);
        text.push('\n');
    }
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(&text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/x-ndjson");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = document.create_element("a") {
        let _ = a.set_attribute("href", &url);
        let _ = a.set_attribute("download", "user-traces.jsonl");
        if let Some(a) = a.dyn_ref::<web_sys::HtmlElement>() {
            a.click();
        }
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Reads a JSON Lines file of events into the panel; bad lines are reported and skipped.
pub fn import_text(store: Store, text: &str) {
    let mut events = Vec::new();
    let mut bad = 0;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match user_trace_model::protocol::decode_event(n, line) {
            Ok(e) => events.push(e),
            Err(e) => {
                bad += 1;
                if bad <= 3 {
                    store.notice(
                        Level::Warning,
                        format!("import, line {}: {}", n + 1, e.reason),
                    );
                }
            }
        }
    }
    store.notice(
        Level::Info,
        format!("imported {} events ({bad} lines skipped)", events.len()),
    );
    store.enqueue(Pending::Events(events));
}

fn import(store: Store, input: &web_sys::HtmlInputElement) {
    let Some(file) = input.files().and_then(|f| f.get(0)) else {
        return;
    };
    let promise = file.text();
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(v) => import_text(store, &v.as_string().unwrap_or_default()),
            Err(_) => store.notice(Level::Error, "the file could not be read"),
        }
    });
}

/// The toolbar.
#[component]
pub fn Toolbar(
    /// The store to act on.
    store: Store,
    /// The filter the tree applies.
    filter: RwSignal<Filter>,
    /// Follow mode.
    follow: RwSignal<bool>,
    /// Collapse-all / expand-all commands.
    fold: Fold,
) -> impl IntoView {
    let processes = move || {
        store.track_roots();
        store.with(filter::processes)
    };
    let fold_all = move |expand: bool| {
        store.forget_folds();
        fold.update(|(generation, e)| {
            *generation += 1;
            *e = expand;
        })
    };
    let file_input = NodeRef::<leptos::html::Input>::new();
    view! {
        <div class="utp-toolbar" role="toolbar" aria-label="Trace tools">
            <span class="utp-title">"User Traces"</span>
            <input
                class="utp-filter"
                type="search"
                placeholder="Filter"
                aria-label="Filter traces by text"
                prop:value=move || filter.with(|f| f.text.clone())
                on:input=move |e| filter.update(|f| f.text = event_target_value(&e))
            />
            <select
                class="utp-process-filter"
                aria-label="Filter traces by process"
                on:change=move |e| {
                    let v = event_target_value(&e);
                    filter.update(|f| f.process = (!v.is_empty()).then_some(v));
                }
            >
                <option value="">"All processes"</option>
                {move || processes().into_iter().map(|p| view! { <option value=p.clone()>{p.clone()}</option> }).collect::<Vec<_>>()}
            </select>
            <button on:click=move |_| fold_all(false) title="Collapse all traces">"Collapse"</button>
            <button on:click=move |_| fold_all(true) title="Expand all traces">"Expand"</button>
            <button aria-pressed=move || follow.get().to_string() on:click=move |_| follow.update(|f| *f = !*f) title="Stay on the newest activity">
                "Follow"
            </button>
            <button aria-pressed=move || store.paused.get().to_string() on:click=move |_| store.paused.update(|p| *p = !*p) title="Pause rendering (events are still received)">
                {move || if store.paused.get() { "Resume" } else { "Pause" }}
            </button>
            <button on:click=move |_| store.clear() title="Clear the panel">"Clear"</button>
            <button on:click=move |_| export(store) title="Save everything as JSON Lines">"Export"</button>
            <button on:click=move |_| { if let Some(i) = file_input.get_untracked() { i.click(); } } title="Open a JSON Lines file of events">
                "Import"
            </button>
            <input
                type="file"
                accept=".jsonl,.ndjson,.json,application/x-ndjson"
                class="utp-hidden"
                node_ref=file_input
                on:change=move |_| {
                    if let Some(i) = file_input.get_untracked() {
                        import(store, &i);
                        i.set_value("");
                    }
                }
            />
        </div>
    }
}
