//! The panel's few lines of JavaScript, in one snippet: wasm-bindgen makes each `inline_js`
//! block a module of its own, which the glue imports before it fetches the wasm, so every
//! block was one more request on a cold start's path.

use wasm_bindgen::prelude::*;

// The custom element is a JavaScript class (a Rust type cannot extend `HTMLElement`); it only
// forwards to `mount` and the handle, so all behaviour stays in Rust.
// `post_task_js` and `queue_microtask_js`: see `reactive::post_task` and
// `reactive::after_effects`; `skipped`: see `views::text_span` (the feature tests cost the wasm
// less here than through `Reflect`).
#[wasm_bindgen(inline_js = r#"
export function define(name, mount) {
  if (customElements.get(name)) return false;
  customElements.define(name, class extends HTMLElement {
    static get observedAttributes() { return ["src", "theme", "max-bytes"]; }
    connectedCallback() { this.#open(); }
    disconnectedCallback() { this.#close(); }
    attributeChangedCallback() { if (this.handle) { this.#close(); this.#open(); } }
    #open() {
      if (this.handle || !this.isConnected) return;
      const options = {};
      const src = this.getAttribute("src");
      const theme = this.getAttribute("theme");
      if (src) options.url = src;
      if (theme) options.theme = theme;
      const cap = this.getAttribute("max-bytes");
      if (cap !== null) options.maxBytes = Number(cap);
      this.handle = mount(this, options);
      // The host's links to its program, as DOM events (see the handle's methods).
      const send = (type, detail) =>
        this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
      this.handle.onActivate((d) => send("user-trace-activate", d));
      this.handle.onErrorSources((s) => send("user-trace-error-sources", s));
    }
    #close() { if (this.handle) { this.handle.dispose(); this.handle.free(); this.handle = null; } }
    push(events) { this.handle?.push(events); }
    clear() { this.handle?.clear(); }
    reveal(source) { return this.handle ? this.handle.reveal(source) : false; }
  });
  return true;
}
const kept = new WeakMap();
export function keep(section, handle) { kept.set(section, handle); }
export function release(section) { kept.delete(section); }
export function post_task_js(f) {
  if (globalThis.scheduler && scheduler.postTask) scheduler.postTask(f);
  else setTimeout(f, 0);
}
export function queue_microtask_js(f) { queueMicrotask(f); }
export function skipped(el) {
  const c = el.firstElementChild;
  return !!c && !!c.checkVisibility && !c.checkVisibility({ contentVisibilityAuto: true });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = define)]
    pub(crate) fn define_custom_element(name: &str, mount: &js_sys::Function) -> bool;
    /// Holds `handle` until `release`: the section lives as long as its panel (its views hold
    /// it), so this keeps the handle until `dispose()` (see `js::mount_js`).
    pub(crate) fn keep(section: &web_sys::Element, handle: &JsValue);
    pub(crate) fn release(section: &web_sys::Element);
    pub(crate) fn post_task_js(f: &JsValue);
    pub(crate) fn queue_microtask_js(f: &JsValue);
    /// Whether the browser is not rendering what `el` holds now: `el` (or a box around it) is
    /// `content-visibility: auto` and off screen (src/views/text_span.rs), or not shown at all.
    /// Reads style, not layout.
    pub(crate) fn skipped(el: &web_sys::Element) -> bool;
}
