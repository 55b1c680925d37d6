//! The reactive primitives the panel is built on: Leptos' reactive graph (`reactive_graph`, the
//! crate under `leptos::prelude`'s signals), used on its own.
//!
//! Why not `leptos::prelude`: the views are plain functions over the DOM (see [`crate::dom`]),
//! so the panel needs signals, effects and owners, not Leptos' renderer or server functions.
//! Through `leptos`, every build also carried `server_fn`'s browser streams, whose
//! `#[wasm_bindgen]` classes are exported and so never dropped (code in the wasm, classes in
//! the JavaScript glue). A JavaScript host's package is built without the `component`
//! feature, so without `leptos`; the Rust component ([`crate::UserTracePanel`]) is the only
//! part that needs it.

use std::time::Duration;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub use reactive_graph::callback::{Callable, Callback};
pub use reactive_graph::computed::Memo;
pub use reactive_graph::effect::RenderEffect;
pub use reactive_graph::graph::untrack;
pub use reactive_graph::owner::{on_cleanup, LocalStorage, Owner, StoredValue};
pub use reactive_graph::prelude::*;
pub use reactive_graph::signal::{ArcTrigger, RwSignal, Trigger};

/// `f` as a JavaScript function to call once. Boxed, so that every caller shares one copy of
/// wasm-bindgen's glue for it rather than one per closure type.
fn once(f: Box<dyn FnOnce()>) -> JsValue {
    Closure::once_into_js(f)
}

/// Runs `f` once, before the browser's next repaint.
pub fn request_animation_frame(f: impl FnOnce() + 'static) {
    let f = once(Box::new(f));
    if let Some(w) = web_sys::window() {
        let _ = w.request_animation_frame(f.unchecked_ref());
    }
}

/// A timer [`set_timeout`] started, to stop before it fires.
#[derive(Clone, Copy, Debug)]
pub struct TimeoutHandle(i32);

impl TimeoutHandle {
    /// Stops the timer (nothing if it already fired).
    pub fn clear(self) {
        if let Some(w) = web_sys::window() {
            w.clear_timeout_with_handle(self.0);
        }
    }
}

/// Runs `f` once, after `after`.
pub fn set_timeout(f: impl FnOnce() + 'static, after: Duration) -> Option<TimeoutHandle> {
    let f = once(Box::new(f));
    let ms = i32::try_from(after.as_millis()).unwrap_or(i32::MAX);
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(f.unchecked_ref(), ms)
        .ok()
        .map(TimeoutHandle)
}

/// Runs `f` once, as a task of its own after those queued: `scheduler.postTask` where the
/// browser has it, `setTimeout(0)` elsewhere. Work cut into slices that each queue the next
/// (find) lets the browser paint and take input between them; chained timeouts are held back
/// at least 4 ms each after the fifth, which left the page idle half of a find's time.
pub fn post_task(f: impl FnOnce() + 'static) {
    crate::js_glue::post_task_js(&once(Box::new(f)));
}

/// Runs `f` once, when the work of this turn is done but before the page is painted (a
/// microtask): after the views' effects that are queued now.
pub fn after_effects(f: impl FnOnce() + 'static) {
    crate::js_glue::queue_microtask_js(&once(Box::new(f)));
}

/// Runs a future on the page's task queue (the executor `js::mount` and the component set up).
pub fn spawn_local(f: impl std::future::Future<Output = ()> + 'static) {
    any_spawner::Executor::spawn_local(f);
}
