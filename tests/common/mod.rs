//! What the browser tests share: waiting for the panel (timers, animation frames) and the page.

#![allow(dead_code)] // each test file uses what it needs

use leptos::prelude::*;
use user_trace_panel::store::Store;
use user_trace_panel::UserTracePanel;
use wasm_bindgen::{JsCast, JsValue};

pub fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

pub async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

/// Lets the store apply what is queued (it does so at the next animation frame).
pub async fn frame() {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .request_animation_frame(&resolve)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
    sleep(0).await;
}

/// Lets the intersection observer report which blocks are near, and the panel mount them.
pub async fn settle() {
    for _ in 0..6 {
        frame().await;
    }
}

/// A panel mounted into the page with its stylesheet, for the view tests.
pub struct Mounted {
    pub el: web_sys::HtmlElement,
    pub store: Store,
    pub _handle: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

/// Puts `el` first in the page, in view: a reader watches a panel on screen, and the browser
/// does not render what is off screen (span contents are `content-visibility: auto`). Each
/// test's panel goes above those of the tests before it.
pub fn add_on_top(el: &web_sys::Element) {
    let body = document().body().unwrap();
    body.insert_before(el, body.first_child().as_ref()).unwrap();
    // A test before may have scrolled the page (focus and reveals do).
    web_sys::window().unwrap().scroll_to_with_x_and_y(0.0, 0.0);
}

/// A panel with its stylesheet, `width` × `height` px, `theme` (or the system's).
pub fn mount(width: u32, height: u32, theme: Option<&'static str>) -> Mounted {
    user_trace_panel::styles::ensure();
    let el: web_sys::HtmlElement = document()
        .create_element("div")
        .unwrap()
        .dyn_into()
        .unwrap();
    add_on_top(&el);
    el.set_attribute("style", &format!("width:{width}px;height:{height}px"))
        .unwrap();
    let slot = std::rc::Rc::new(std::cell::Cell::new(None));
    let out = slot.clone();
    let handle = leptos::mount::mount_to(el.clone(), move || {
        let store = Store::new(Default::default());
        out.set(Some(store));
        match theme {
            Some(t) => view! { <UserTracePanel store theme=t.to_owned() /> }.into_any(),
            None => view! { <UserTracePanel store /> }.into_any(),
        }
    });
    Mounted {
        el,
        store: slot.take().unwrap(),
        _handle: handle,
    }
}

impl Mounted {
    pub fn all(&self, selector: &str) -> Vec<web_sys::HtmlElement> {
        let list = self.el.query_selector_all(selector).unwrap();
        (0..list.length())
            .map(|i| list.item(i).unwrap().dyn_into().unwrap())
            .collect()
    }

    pub fn one(&self, selector: &str) -> web_sys::HtmlElement {
        self.el
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("no element matches {selector}"))
            .dyn_into()
            .unwrap()
    }

    pub fn text(&self, selector: &str) -> String {
        self.one(selector).text_content().unwrap_or_default()
    }
}

/// Puts a hook in place of the clipboard's `writeText`: it records the text (or refuses it, as
/// a browser does without permission), so that a test sees exactly what a copy hands over.
pub fn hook_clipboard(refuse: bool) {
    let script = format!(
        r#"window.__copied = [];
        Object.defineProperty(navigator, 'clipboard', {{ configurable: true, value: {{
          writeText: (t) => {{ window.__copied.push(t); return {refuse}
            ? Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError'))
            : Promise.resolve(); }} }} }});"#
    );
    js_sys::eval(&script).unwrap();
}

/// The pointer moves onto `el`, as a real one says it: a `pointerover` that bubbles (the panel
/// listens for it once, on its tree).
pub fn reach(el: &web_sys::Element) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let e = web_sys::Event::new_with_event_init_dict("pointerover", &init).unwrap();
    el.dispatch_event(&e).unwrap();
}

/// What was copied since [`hook_clipboard`], in order.
pub fn copied() -> Vec<String> {
    let list = js_sys::eval("window.__copied").unwrap();
    js_sys::Array::from(&list)
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect()
}

/// The trace under `root` whose label reads `label` (an end-to-end test's runtime holds other
/// tests' traces too).
pub fn trace_labelled(root: &web_sys::Element, label: &str) -> Option<web_sys::Element> {
    let traces = root.query_selector_all(".utp-trace").ok()?;
    (0..traces.length())
        .filter_map(|i| traces.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
        .find(|t| {
            t.query_selector(".utp-label")
                .ok()
                .flatten()
                .and_then(|l| l.text_content())
                .is_some_and(|l| l == label)
        })
}

/// A weak reference to `x` (it does not keep `x` alive).
pub fn weak(x: &JsValue) -> JsValue {
    js_sys::Function::new_with_args("x", "return new WeakRef(x)")
        .call1(&JsValue::NULL, x)
        .unwrap()
}

/// Whether what `w` refers to is still alive, after collecting garbage (webdriver.json starts
/// Chromium with `--expose-gc`). The collection runs as a task of its own
/// (`execution: 'async'`): a `gc()` called from here scans this stack conservatively for DOM
/// nodes, and a stale word on it can keep a freed node for that round (CI saw it once). A
/// few rounds apart let anything a pending task still holds go; a real leak survives them all.
/// Weak references are cleared between tasks, hence the sleeps.
pub async fn alive_after_gc(w: &JsValue) -> bool {
    let gc = js_sys::Function::new_no_args(
        "if (!globalThis.gc) throw new Error('no gc()'); \
         return gc({ type: 'major', execution: 'async' });",
    );
    let alive = js_sys::Function::new_with_args("w", "return w.deref() !== undefined");
    for round in 0..4 {
        sleep(round * 10).await;
        let collected = gc.call0(&JsValue::NULL).unwrap();
        wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&collected))
            .await
            .unwrap();
        sleep(0).await;
        if !alive.call1(&JsValue::NULL, w).unwrap().as_bool().unwrap() {
            return false;
        }
    }
    true
}

/// Whether the page can collect garbage on demand: Chromium can (`--expose-gc`), Firefox
/// gives pages no way to (then this says the test calling it is skipped). Anything else
/// without it is a broken set-up, not a pass.
pub fn can_collect_garbage() -> bool {
    let has = |expr: &str| {
        js_sys::Function::new_no_args(&format!("return {expr}"))
            .call0(&JsValue::NULL)
            .unwrap()
            .is_truthy()
    };
    if has("typeof globalThis.gc === 'function'") {
        return true;
    }
    assert!(
        has("navigator.userAgent.includes('Firefox')"),
        "no gc(): webdriver.json starts Chromium with --js-flags=--expose-gc"
    );
    web_sys::console::log_1(&"skipped in Firefox: a page cannot collect garbage".into());
    false
}
