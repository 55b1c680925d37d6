//! The few DOM operations the views are built from.
//!
//! Why not `view!`: Leptos' templates compile every element, attribute and reactive closure into
//! its own generic render type, and that code was most of the wasm (B6 in BENCHMARKS.md). Here a
//! view is a plain function that makes its elements once and keeps them current with
//! [`effect`]s that write to those elements; the state stays Leptos' signals and owners. Every
//! function here is non-generic or a thin shim over one that is, so a new view costs its own
//! code only. Text is only ever set as text (`textContent`, `Text` nodes), never parsed as HTML.

use crate::reactive::RenderEffect;
use crate::reactive::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Node};

/// An ARIA state's text (`aria-expanded`, `aria-pressed`, `aria-checked`).
pub fn aria_bool(on: bool) -> &'static str {
    if on {
        "true"
    } else {
        "false"
    }
}

pub fn document() -> web_sys::Document {
    thread_local! {
        static DOCUMENT: Option<web_sys::Document> = web_sys::window().and_then(|w| w.document());
    }
    DOCUMENT
        .with(Clone::clone)
        .expect("the panel runs in a page with a document")
}

/// A new element with `class` (none if empty).
pub fn el(tag: &str, class: &str) -> Element {
    let e = document()
        .create_element(tag)
        // Not `expect`: it would print the `JsValue`, whose `Debug` costs the wasm its code.
        .unwrap_or_else(|_| panic!("the views use valid tag names"));
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

/// A new element with `class`, appended to `parent`.
pub fn add(parent: &Node, tag: &str, class: &str) -> Element {
    let e = el(tag, class);
    let _ = parent.append_child(&e);
    e
}

/// A new element with `class` and `text` as its text, appended to `parent`.
pub fn add_text(parent: &Node, tag: &str, class: &str, text: &str) -> Element {
    let e = add(parent, tag, class);
    e.set_text_content(Some(text));
    e
}

/// A text node appended to `parent`.
pub fn text(parent: &Node, text: &str) -> web_sys::Text {
    let t = document().create_text_node(text);
    let _ = parent.append_child(&t);
    t
}

/// Sets `el`'s text, changing its one Text node in place when it has one. Replacing the node
/// (`set_text_content`) removes one node and inserts another, which costs the page a style
/// recalc on top of the layout any changed text costs: the status bar's counter changes every
/// frame of a stream, and each stream's figures with the clock.
pub fn set_text(el: &Node, text: &str) {
    let only = el
        .first_child()
        .filter(|c| c.next_sibling().is_none())
        .and_then(|c| c.dyn_into::<web_sys::Text>().ok());
    match only {
        Some(t) => t.set_data(text),
        None => el.set_text_content(Some(text)),
    }
}

pub fn set(el: &Element, name: &str, value: &str) {
    let _ = el.set_attribute(name, value);
}

pub fn toggle_class(el: &Element, class: &str, on: bool) {
    let _ = el.class_list().toggle_with_force(class, on);
}

/// Calls `f` on `event` at `target` for as long as the element lives (the browser's garbage
/// collector frees the listener with the element).
///
/// `f` must not hold any element (or anything holding one): what the closure holds is a root
/// to the collector, so an element it holds would keep its own tree, and so this listener,
/// alive for good. A listener finds its elements from the event ([`target`]) instead.
pub fn on(target: &Element, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    listen(target, event, Box::new(f));
}

/// A boolean property of a JavaScript object (`ctrlKey` of a key event, `checked` of a
/// checkbox), read by name: each typed accessor adds its own import to the JavaScript glue.
pub fn flag(o: &wasm_bindgen::JsValue, name: &str) -> bool {
    js_sys::Reflect::get(o, &name.into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// The elements that `selector` finds in `el` (`:scope > ...` for its children), in order.
pub fn select_all(el: &Element, selector: &str) -> Vec<Element> {
    let Ok(list) = el.query_selector_all(selector) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<Element>().ok())
        .collect()
}

/// The element a listener is on (the event's current target).
pub fn target(e: &web_sys::Event) -> Option<Element> {
    e.current_target().and_then(|t| t.dyn_into().ok())
}

fn listen(target: &Element, event: &str, f: Box<dyn FnMut(web_sys::Event)>) {
    let f = Closure::wrap(f).into_js_value();
    let _ = target.add_event_listener_with_callback(event, f.unchecked_ref());
}

/// Runs `f` now and again whenever a signal it read changes, until the current owner is
/// disposed. `f` keeps whatever it needs to compare with its last run.
pub fn effect(f: impl FnMut() + 'static) {
    run_effect(Box::new(f));
}

fn run_effect(mut f: Box<dyn FnMut()>) {
    // Dropping a render effect stops it: the owner's arena keeps it as long as the view.
    StoredValue::new_local(RenderEffect::new(move |_| f()));
}

/// Keeps a part of a view current without rebuilding it needlessly: `read` runs now and
/// whenever a signal it reads changes; `build` runs with its value the first time and then only
/// when the value differs from the one it last built, so that what the reader expanded inside
/// stays expanded. Compare shared text with [`Same`] (by identity), not byte by byte.
pub fn rebuild_on_change<T: PartialEq + 'static>(
    mut read: impl FnMut() -> T + 'static,
    mut build: impl FnMut(&T) + 'static,
) {
    let mut shown: Option<T> = None;
    effect(move || {
        let now = read();
        if shown.as_ref() != Some(&now) {
            build(&now);
            shown = Some(now);
        }
    });
}

/// An element with its own reactive owner: removing it disposes of everything its view made.
pub struct Mounted {
    pub el: Element,
    owner: Owner,
}

impl Mounted {
    /// Builds a view under a new child of `parent` (untracked: a view's reads belong to its own
    /// effects, not to whatever builds it).
    pub fn new(parent: &Owner, build: &dyn Fn() -> Element) -> Mounted {
        let owner = parent.child();
        let el = owner.with(|| untrack(build));
        Mounted { el, owner }
    }

    pub fn remove(self) {
        self.el.remove();
        self.owner.cleanup();
    }
}

/// A place in `parent` (at its end when made) where a view is shown or not: this module's
/// Leptos `<Show>`.
pub fn show(
    parent: &Node,
    when: impl Fn() -> bool + 'static,
    build: impl Fn() -> Element + 'static,
) {
    show_erased(parent, Box::new(when), Box::new(build));
}

fn show_erased(parent: &Node, when: Box<dyn Fn() -> bool>, build: Box<dyn Fn() -> Element>) {
    let anchor: Node = document().create_comment("").into();
    let _ = parent.append_child(&anchor);
    let owner = Owner::current().unwrap_or_default();
    let mut shown: Option<Mounted> = None;
    effect(move || {
        let now = when();
        match (now, shown.take()) {
            (true, Some(m)) => shown = Some(m),
            (true, None) => {
                let m = Mounted::new(&owner, &*build);
                if let Some(p) = anchor.parent_node() {
                    let _ = p.insert_before(&m.el, Some(&anchor));
                }
                shown = Some(m);
            }
            (false, Some(m)) => m.remove(),
            (false, None) => {}
        }
    });
}

/// Keeps one element per key in `parent`, in the order `keys` gives: an element whose key
/// stays is kept as it is (with its state), one whose key goes is removed, a new key's element
/// is built. Appending moves no existing element. Keys are numbers (`TraceId::as_u64`, ...).
pub fn keyed(
    parent: &Node,
    keys: impl Fn() -> Vec<u64> + 'static,
    build: impl Fn(u64) -> Element + 'static,
) {
    keyed_erased(parent, Box::new(keys), Box::new(build));
}

fn keyed_erased(
    parent: &Node,
    keys: Box<dyn Fn() -> Vec<u64>>,
    build: Box<dyn Fn(u64) -> Element>,
) {
    let anchor: Node = document().create_comment("").into();
    let _ = parent.append_child(&anchor);
    let owner = Owner::current().unwrap_or_default();
    let mut rows: Vec<(u64, Mounted)> = Vec::new();
    effect(move || {
        let keys = keys();
        let mut old = std::collections::HashMap::new();
        for (k, m) in rows.drain(..) {
            // Of rows made for a key given twice, one is kept; the other goes now, with its
            // owner, not silently dropped.
            if let Some(twice) = old.insert(k, m) {
                twice.remove();
            }
        }
        let mut new = Vec::with_capacity(keys.len());
        for k in keys {
            let m = match old.remove(&k) {
                Some(m) => m,
                None => Mounted::new(&owner, &|| build(k)),
            };
            new.push((k, m));
        }
        for (_, m) in old {
            m.remove();
        }
        place(&anchor, new.iter().map(|(_, m)| &m.el));
        rows = new;
    });
}

/// Puts `els` in order just before `anchor`, moving only the elements out of place.
fn place<'a>(anchor: &Node, els: impl Iterator<Item = &'a Element>) {
    let Some(parent) = anchor.parent_node() else {
        return;
    };
    let els: Vec<&Element> = els.collect();
    // The first of them already in the DOM is where the run starts; new elements have no parent.
    let mut cursor: Option<Node> = els
        .iter()
        .find(|e| e.parent_node().is_some())
        .map(|e| (**e).clone().into());
    for e in els {
        let node: &Node = e;
        if cursor.as_ref() == Some(node) {
            cursor = node.next_sibling();
        } else {
            let before = cursor.as_ref().unwrap_or(anchor);
            let _ = parent.insert_before(node, Some(before));
        }
    }
}
