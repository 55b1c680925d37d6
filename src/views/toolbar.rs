//! The toolbar: filter, fold, follow, pause, clear, export and import.

use crate::reactive::*;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::dom;
use crate::filter;
use crate::label_text;
use crate::store::{Level, Pending, Store};
use crate::views::PanelCx;

/// Saves what the panel holds as a JSON Lines file of events.
fn export(store: Store) {
    let mut text = String::new();
    for e in store.export_events() {
        user_trace_model::protocol::writer::event(&mut text, &e);
        text.push('\n');
    }
    let document = crate::dom::document();
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
    crate::reactive::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(v) => import_text(store, &v.as_string().unwrap_or_default()),
            Err(_) => store.notice(Level::Error, "the file could not be read"),
        }
    });
}

/// A toolbar button with its words and tooltip, calling `f` when clicked.
fn button(
    parent: &Element,
    text: &str,
    title: &str,
    f: impl FnMut(web_sys::Event) + 'static,
) -> Element {
    let b = dom::add_text(parent, "button", "", text);
    dom::set(&b, "title", title);
    dom::on(&b, "click", f);
    b
}

/// The value of the input or select an event happened on.
fn value_of(e: &web_sys::Event) -> String {
    e.target()
        .and_then(|t| js_sys::Reflect::get(&t, &"value".into()).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// The value of an input or select.
fn value_of_element(el: &Element) -> String {
    js_sys::Reflect::get(el, &"value".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Appends the toolbar to `parent`: it sets the tree's `filter`, toggles `follow`, issues
/// `fold` commands, and pauses, clears, exports and imports through `store`.
pub fn toolbar(parent: &Element, cx: PanelCx) {
    let PanelCx {
        store,
        filter,
        follow,
        fold,
    } = cx;
    let bar = dom::add(parent, "div", "utp-toolbar");
    dom::set(&bar, "role", "toolbar");
    dom::set(&bar, "aria-label", "Trace tools");
    dom::add_text(&bar, "span", "utp-title", "User Traces");
    let input = dom::add(&bar, "input", "utp-filter");
    dom::set(&input, "type", "search");
    dom::set(&input, "placeholder", "Filter");
    dom::set(&input, "aria-label", "Filter traces by text");
    dom::on(&input, "input", move |e| {
        let v = value_of(&e);
        filter.update(|f| f.text = v);
    });
    let select = dom::add(&bar, "select", "utp-process-filter");
    dom::set(&select, "aria-label", "Filter traces by process");
    dom::on(&select, "change", move |e| {
        let v = value_of(&e);
        filter.update(|f| f.process = (!v.is_empty()).then_some(v));
    });
    let (shown_input, shown_select) = (input.clone(), select.clone());
    let all = dom::add_text(&select, "option", "", "All processes");
    dom::set(&all, "value", "");
    dom::rebuild_on_change(
        move || {
            store.track_roots();
            store.with(filter::processes)
        },
        move |now: &Vec<String>| {
            while let Some(o) = all.next_sibling() {
                let _ = select.remove_child(&o);
            }
            for p in now {
                // An option holds text only: markers as text.
                let o = dom::add_text(&select, "option", "", &label_text::plain(p));
                dom::set(&o, "dir", "auto");
                dom::set(&o, "value", p);
                dom::set(&o, "style", &crate::process_colour::style(p));
            }
            // Removing the chosen option reset the select: choose it again.
            let chosen = filter
                .with_untracked(|f| f.process.clone())
                .unwrap_or_default();
            let _ = js_sys::Reflect::set(&select, &"value".into(), &chosen.into());
        },
    );
    // The filter can be cleared from elsewhere (the tree's "Clear the filter"): the inputs show
    // what it is.
    dom::effect(move || {
        let (text, process) = filter.with(|f| (f.text.clone(), f.process.clone()));
        if value_of_element(&shown_input) != text {
            let _ = js_sys::Reflect::set(&shown_input, &"value".into(), &text.into());
        }
        let process = process.unwrap_or_default();
        if value_of_element(&shown_select) != process {
            let _ = js_sys::Reflect::set(&shown_select, &"value".into(), &process.as_str().into());
        }
        // The select is narrower than long names (cut with an ellipsis): its tooltip is whole.
        let whole = match process.as_str() {
            "" => "All processes".to_owned(),
            p => label_text::plain(p).into_owned(),
        };
        dom::set(&shown_select, "title", &whole);
        // The chosen process's colour, as on its badges.
        let colour = match process.as_str() {
            "" => String::new(),
            p => crate::process_colour::style(p),
        };
        dom::set(&shown_select, "style", &colour);
    });
    let fold_all = move |expand: bool| {
        store.forget_folds();
        fold.update(|f| {
            f.generation += 1;
            f.expand = expand;
        })
    };
    button(&bar, "Find", "Find in traces (Ctrl+F or /)", |e| {
        if let Some(b) = dom::target(&e) {
            crate::views::find_bar::open_in(&b);
        }
    });
    button(&bar, "Collapse", "Collapse all traces", move |_| {
        fold_all(false)
    });
    button(&bar, "Expand", "Expand all traces", move |_| fold_all(true));
    let follow_button = button(&bar, "Follow", "Stay on the newest activity", move |_| {
        follow.update(|f| *f = !*f)
    });
    dom::effect(move || {
        let on = dom::aria_bool(follow.get());
        dom::set(&follow_button, "aria-pressed", on);
    });
    let pause = button(
        &bar,
        "Pause",
        "Pause rendering (events are still received)",
        move |_| store.paused.update(|p| *p = !*p),
    );
    dom::effect(move || {
        let paused = store.paused.get();
        dom::set(&pause, "aria-pressed", dom::aria_bool(paused));
        pause.set_text_content(Some(if paused { "Resume" } else { "Pause" }));
    });
    button(&bar, "Clear", "Clear the panel", move |_| store.clear());
    button(&bar, "Export", "Save everything as JSON Lines", move |_| {
        export(store)
    });
    // The file input follows its button; listeners find it from the event (they hold no
    // element, see `dom::on`).
    button(
        &bar,
        "Import",
        "Open a JSON Lines file of events",
        move |e| {
            let file = dom::target(&e).and_then(|b| b.next_element_sibling());
            if let Some(f) = file.and_then(|f| f.dyn_into::<web_sys::HtmlElement>().ok()) {
                f.click();
            }
        },
    );
    let file = dom::add(&bar, "input", "utp-hidden");
    dom::set(&file, "type", "file");
    dom::set(&file, "accept", ".jsonl,.ndjson,.json,application/x-ndjson");
    dom::on(&file, "change", move |e| {
        let input = dom::target(&e).and_then(|i| i.dyn_into::<web_sys::HtmlInputElement>().ok());
        if let Some(i) = input {
            import(store, &i);
            i.set_value("");
        }
    });
    // Narrow panels: the buttons above fold into a menu (src/views/toolbar_menu.rs).
    crate::views::toolbar_menu::toolbar_menu(&bar);
}
