//! The JavaScript API: `mount(element, options)` returns a handle with `push(events)`,
//! `clear()` and `dispose()`. A host that has its own connection to the runtime pushes events
//! without a WebSocket. `defineElement()` registers `<user-trace-panel src="ws://...">`.

use crate::reactive::*;
use wasm_bindgen::prelude::*;

use crate::links::Activation;
use crate::store::{Level, Pending, Store};

fn option_string(options: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(options, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}

/// The model's options from `mount`'s: `maxBytes`, a whole number of bytes of at least
/// 1 MiB, caps the trace state. Anything else there is refused with the reason, and the
/// default cap kept: a host that mistypes it learns so in the status area.
fn model_options(options: &JsValue) -> (user_trace_model::Options, Option<String>) {
    let mut model = user_trace_model::Options::default();
    let value =
        js_sys::Reflect::get(options, &JsValue::from_str("maxBytes")).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return (model, None);
    }
    match crate::byte_cap::byte_cap(value.as_f64()) {
        Ok(b) => {
            model.max_bytes = b;
            (model, None)
        }
        Err(why) => (model, Some(why)),
    }
}

/// A mounted panel.
#[wasm_bindgen]
pub struct PanelHandle {
    store: Store,
    /// The panel's element and the owner of its state; `None` once disposed.
    mounted: Option<(web_sys::Element, Owner)>,
}

/// Mounts a panel into `element`. `options`: `{ url?: string, theme?: "light" | "dark",
/// styles?: boolean, maxBytes?: number }`; `styles: false` leaves styling to the host (it
/// links `panel.css`); `maxBytes` caps the trace state (256 MiB by default).
#[wasm_bindgen(js_name = mount, unchecked_return_type = "PanelHandle")]
pub fn mount_js(element: web_sys::HtmlElement, options: JsValue) -> JsValue {
    let handle = mount(element, options);
    let section = handle.mounted.as_ref().map(|(s, _)| s.clone());
    let handle = JsValue::from(handle);
    // A mounted panel stays until `dispose()`, as other UI roots do, whether or not the host
    // keeps its handle or its element: the panel's views hold its section, and the section the
    // handle, so the handle's finalizer (which would free it and so unmount the panel) cannot
    // run before.
    if let Some(section) = section {
        crate::js_glue::keep(&section, &handle);
    }
    handle
}

/// [`mount_js`] for Rust callers (the browser tests): the handle is a Rust value, dropped
/// when it goes out of scope, which disposes the panel.
pub fn mount(element: web_sys::HtmlElement, options: JsValue) -> PanelHandle {
    let url = option_string(&options, "url");
    let theme = option_string(&options, "theme");
    let styles = js_sys::Reflect::get(&options, &JsValue::from_str("styles"))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    if styles {
        crate::styles::ensure();
    }
    // The panel is built without a Leptos view (nothing here needs one): the same views, a
    // root owner for their state.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let owner = Owner::new();
    let section = crate::panel::section(theme.as_deref().unwrap_or(""));
    let (model_options, refused) = model_options(&options);
    let store = owner.with(|| {
        let store = Store::new(model_options);
        if let Some(why) = refused {
            store.notice(Level::Warning, why);
        }
        untrack(|| crate::panel::fill(&section, url, store));
        store
    });
    let _ = element.append_child(&section);
    PanelHandle {
        store,
        mounted: Some((section, owner)),
    }
}

#[wasm_bindgen]
impl PanelHandle {
    // Objects go through `JSON.stringify`, so their numbers are JavaScript numbers: `1e400`
    // becomes `null`, `-0` becomes `0`, and digits beyond a double's precision are lost. Push
    // JSON text (a string) when numbers must be shown exactly as sent (the README says so;
    // doc comments here are copied into the JavaScript glue, which B6 measures).
    /// Adds events: an array of event objects, a JSON array string, or JSON Lines text.
    /// Invalid events are reported in the status area and skipped.
    pub fn push(&self, events: JsValue) {
        // A disposed panel has no store left to push into.
        if self.mounted.is_none() {
            return;
        }
        let text = match events.as_string() {
            Some(s) => s,
            // Lossy for numbers JavaScript cannot hold (documented above, and in the README).
            None => js_sys::JSON::stringify(&events)
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default(),
        };
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            match user_trace_model::protocol::reader::array_elements(trimmed) {
                Ok(raws) => {
                    let mut good = Vec::new();
                    for (i, raw) in raws.into_iter().enumerate() {
                        match user_trace_model::protocol::decode_event(i, raw) {
                            Ok(e) => good.push(e),
                            Err(e) => self.store.notice(Level::Warning, format!("pushed {e}")),
                        }
                    }
                    self.store.enqueue(Pending::Events(good));
                }
                Err(e) => self
                    .store
                    .notice(Level::Warning, format!("push: not a JSON array: {e}")),
            }
        } else {
            crate::views::toolbar::import_text(self.store, &text);
        }
    }

    /// Drops everything shown.
    pub fn clear(&self) {
        if self.mounted.is_some() {
            self.store.clear();
        }
    }

    // (Short doc comments on exports: wasm-bindgen copies them into the JavaScript glue, which
    // B6 measures. The README says more.) `{trace, span, source}`: producer ids (`span`
    // `null` for a trace's header) and the nearest source (`null` if none).
    /// Calls `callback({trace, span, source})` when the reader activates an item.
    #[wasm_bindgen(js_name = onActivate)]
    pub fn on_activate(&self, callback: js_sys::Function) {
        let f = move |a: &Activation| {
            let o = js_sys::Object::new();
            let text = |v: &Option<String>| v.as_deref().map_or(JsValue::NULL, JsValue::from_str);
            let _ = js_sys::Reflect::set(&o, &"trace".into(), &JsValue::from_str(&a.trace));
            let _ = js_sys::Reflect::set(&o, &"span".into(), &text(&a.span));
            let _ = js_sys::Reflect::set(&o, &"source".into(), &text(&a.source));
            let _ = callback.call1(&JsValue::NULL, &o);
        };
        self.store
            .links(|l| l.on_activate = Some(std::rc::Rc::new(f)));
    }

    // Sorted; now, whenever the set grows, and `[]` after a clear.
    /// Calls `callback(sources)` with the sources that have errors.
    #[wasm_bindgen(js_name = onErrorSources)]
    pub fn on_error_sources(&self, callback: js_sys::Function) {
        let f = move |sources: &[String]| {
            let list: js_sys::Array = sources.iter().map(|s| JsValue::from_str(s)).collect();
            let _ = callback.call1(&JsValue::NULL, &list);
        };
        let f = std::rc::Rc::new(f);
        self.store.links(|l| l.on_error_sources = Some(f.clone()));
        f(&self.store.error_sources());
    }

    // Expands the traces it is in, stops following, scrolls to it and highlights it.
    /// Shows the newest span of `source`; false if none.
    pub fn reveal(&self, source: &str) -> bool {
        self.mounted.is_some() && self.store.reveal(source)
    }

    /// Unmounts the panel and closes its connection.
    pub fn dispose(&mut self) {
        if let Some((section, owner)) = self.mounted.take() {
            crate::js_glue::release(&section);
            section.remove();
            owner.cleanup();
        }
    }
}

/// A handle freed from JavaScript (`free()`) without `dispose()` still unmounts its panel, as
/// dropping a Leptos mount does. (The garbage collector never frees a mounted panel's handle:
/// see [`mount_js`].)
impl Drop for PanelHandle {
    fn drop(&mut self) {
        self.dispose();
    }
}

/// Registers the custom element `<user-trace-panel>` (see the README).
// It mounts a panel when added to the page (`src="ws://..."`, `theme="dark"`,
// `max-bytes="1073741824"`), disposes it when
// removed, and reconnects when `src` changes. It also has `push(events)`, `clear()` and
// `reveal(source)`, and sends `user-trace-activate` and `user-trace-error-sources` events.
// Calling this again does nothing. (Details in `//`: wasm-bindgen copies `///` into the glue,
// which B6 measures; npm/index.d.ts documents all of it for editors.)
#[wasm_bindgen(js_name = defineElement)]
pub fn define_element() {
    let mount_fn = Closure::<dyn Fn(web_sys::HtmlElement, JsValue) -> JsValue>::new(mount_js);
    if crate::js_glue::define_custom_element("user-trace-panel", mount_fn.as_ref().unchecked_ref())
    {
        // The element class calls it for the page's lifetime.
        mount_fn.forget();
    }
}
