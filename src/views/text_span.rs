//! A text span: tokens are appended to the DOM as they arrive, never re-rendering what is
//! shown. The text is split into blocks of bounded size ([`crate::text_chunks`]) so that each
//! append costs the same however long the text grows; each block holds whole lines as laid
//! out, so that what is shown and selected is exactly the text sent.

use std::cell::Cell;
use std::rc::Rc;

use crate::reactive::Track;
use user_trace_model::SpanId;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::dom;
use crate::store::Store;
use crate::text_chunks::{self, ends_line, first_on_last_line};

/// Bytes from which a text scrolls inside its span (about 40 lines of a narrow panel).
const LONG_BYTES: usize = 2 * 1024;

/// The streamed text of a span.
pub fn text_span(store: Store, id: SpanId) -> Element {
    let root = dom::el("div", "utp-text-span");
    // An item of the tree: the arrow keys reach it (a long text then scrolls with Page Up and
    // Page Down, and its copy button appears), and it is not a Tab stop of its own: the tree is
    // one (src/views/tree.rs).
    let pre = dom::add(&root, "pre", "utp-text");
    dom::set(&pre, "role", "treeitem");
    dom::set(&pre, "tabindex", "-1");
    let trigger = store.span_trigger(id);
    // Where a long text is scrolled to. Listened to once the text is long (only then does it
    // scroll): most texts never are.
    let place = Rc::new(Place::default());
    let mut listening = false;
    // Bytes of the text already in the DOM.
    let mut shown = 0usize;
    let mut observed = false;
    let node = pre.clone();
    dom::effect(move || {
        trigger.track();
        store.with(|m| {
            let text = m.span(id).and_then(|s| s.text()).unwrap_or("");
            let from = shown;
            let replaced = text.len() < from || !text.is_char_boundary(from);
            if !replaced && text.len() == from {
                // The span changed, not its text (its status, say): nothing to append or scroll.
                return;
            }
            // Before appending: a long text keeps a scrollbar's gutter, which narrows it, and
            // the new blocks are cut at the width they keep.
            let long = text.len() >= LONG_BYTES;
            if replaced || long != (from >= LONG_BYTES) {
                dom::toggle_class(&node, "utp-long", long);
            }
            if long && !listening {
                listening = true;
                // The listeners find the text from the event: one that held it would be held
                // from wasm, and keep it (and the trace around it) after it is unmounted.
                let at = place.clone();
                dom::on(&node, "contentvisibilityautostatechange", move |e| {
                    if let Some(pre) = dom::target(&e) {
                        on_shown(&pre, &at);
                    }
                });
                let place = place.clone();
                dom::on(&node, "scroll", move |e| {
                    let Some(pre) = dom::target(&e) else { return };
                    if crate::js_glue::skipped(&pre) {
                        // Off screen, the browser dropped its place (it reads 0): it is put
                        // back when the text is shown again.
                        place.behind.set(true);
                        return;
                    }
                    let top = pre.scroll_top();
                    place.top.set(top);
                    place
                        .left_end
                        .set(top + pre.client_height() < pre.scroll_height() - 4);
                });
            }
            if replaced {
                // Replaced by shorter content: start over, at the height it needs again.
                dom::toggle_class(&node, "utp-full", false);
                node.set_text_content(None);
                append(&node, text);
            } else {
                append(&node, &text[from..]);
            }
            shown = text.len();
            if !observed && node.child_element_count() > 1 {
                // Lines change with the width: the blocks are cut again when it does.
                RESIZE.with(|r| r.observe(&node));
                observed = true;
            }
            if long && !place.left_end.get() {
                // Past the end: the browser stops at the bottom. A text long when its view is
                // made is not in the page yet (it cannot scroll): it goes to its end once it is.
                if from == 0 {
                    let (pre, place) = (node.clone(), place.clone());
                    crate::reactive::request_animation_frame(move || to_end(&pre, &place));
                }
                to_end_soon(&node, &place);
            }
        });
    });
    let observed = pre.clone();
    crate::reactive::on_cleanup(move || RESIZE.with(|r| r.unobserve(&observed)));
    // Its copy button is made once the pointer or the keyboard reaches it
    // (`clipboard::copy_on_reach`).
    root
}

/// Keeps the blocks of `el` (which [`append`] fills) holding whole lines when its width
/// changes, until the current owner is disposed.
pub(crate) fn recut_on_resize(el: &Element) {
    RESIZE.with(|r| r.observe(el));
    let observed = el.clone();
    crate::reactive::on_cleanup(move || RESIZE.with(|r| r.unobserve(&observed)));
}

/// Appends `text` to the last block of `pre`, or to new blocks where
/// [`crate::text_chunks::cut`] says (each block is a `span.utp-chunk` holding one Text node).
/// A block that does not end a line gives its last line to the next block, so that blocks
/// hold whole lines ([`close`]).
pub(crate) fn append(pre: &Element, text: &str) {
    let last = pre
        .last_element_child()
        .and_then(|c| c.first_child())
        .and_then(|n| n.dyn_into::<web_sys::Text>().ok());
    text_chunks::append(&mut Dom(pre), last, text);
}

/// The blocks of a `pre`: `span.utp-chunk` elements holding one Text node each.
struct Dom<'a>(&'a Element);

impl text_chunks::Blocks for Dom<'_> {
    type Block = web_sys::Text;
    fn len(&self, block: &web_sys::Text) -> usize {
        // UTF-16 units stand in for bytes: only the block's rough size matters.
        block.length() as usize
    }
    fn push(&mut self, block: &web_sys::Text, text: &str) {
        let _ = block.append_data(text);
    }
    fn start(&mut self, text: &str) -> web_sys::Text {
        let block = dom::add(self.0, "span", "utp-chunk");
        dom::text(&block, text)
    }
    fn close(&mut self, block: &web_sys::Text) -> Option<web_sys::Text> {
        close(self.0, block)
    }
}

/// Ends the block of `node`: unless it ends a line, its last line as laid out moves to a new
/// block, which is returned to append to. Where the block is not laid out (not in the page),
/// it ends as it is, and the width is not known to match (`data-w`): it is cut again once laid
/// out.
fn close(pre: &Element, node: &web_sys::Text) -> Option<web_sys::Text> {
    let len = node.length();
    if len == 0 || ends_line(&node.substring_data(len - 1, 1).unwrap_or_default()) {
        return None;
    }
    let Some(start) = last_line_start(node) else {
        let _ = pre.remove_attribute("data-w");
        return None;
    };
    dom::set(pre, "data-w", &pre.client_width().to_string());
    if start == 0 {
        return None;
    }
    let tail = node.split_text(start).ok()?;
    let block = dom::add(pre, "span", "utp-chunk");
    let _ = block.append_child(&tail);
    Some(tail)
}

/// The UTF-16 offset in `node` where its last line as laid out starts.
fn last_line_start(node: &web_sys::Text) -> Option<u32> {
    let range = dom::document().create_range().ok()?;
    let top = |i: u32| {
        range.set_start(node, i).ok()?;
        range.set_end(node, i + 1).ok()?;
        let r = range.get_bounding_client_rect();
        (r.height() > 0.0).then(|| r.top())
    };
    let start = first_on_last_line(node.length(), top)?;
    // Never between the halves of a surrogate pair.
    let data: js_sys::JsString = js_sys::Reflect::get(node, &"data".into()).ok()?.into();
    let before = start.checked_sub(1).map(|b| data.char_code_at(b));
    Some(match before {
        Some(c) if (0xD800..0xDC00).contains(&(c as u32)) => start - 1,
        _ => start,
    })
}

/// Where a long text is scrolled to.
#[derive(Default)]
struct Place {
    /// Scrolled up from its end by the reader. At its end, it stays there as tokens arrive.
    left_end: Cell<bool>,
    /// Where the reader left it.
    top: Cell<i32>,
    /// Not rendered (off screen, see [`to_end`]) when it grew or lost its place: [`on_shown`]
    /// puts it right.
    behind: Cell<bool>,
}

/// Cuts the blocks of `pre` again when its width is not the one they were cut at (not while
/// it is not laid out: [`on_shown`] does, once it is).
fn recut(pre: &Element) {
    if crate::js_glue::skipped(pre) {
        return;
    }
    let width = pre.client_width().to_string();
    if pre.child_element_count() < 2 || pre.get_attribute("data-w") == Some(width) {
        return;
    }
    let text = pre.text_content().unwrap_or_default();
    let at_end = pre.scroll_top() + pre.client_height() >= pre.scroll_height() - 4;
    pre.set_text_content(None);
    append(pre, &text);
    if at_end {
        pre.set_scroll_top(i32::MAX);
    }
}

/// Scrolls `pre` to its end once the other views' changes of this turn are made: setting
/// `scrollTop` lays the page out, and a text scrolled as soon as it grew made one layout per
/// streaming text in view (ten, each after the last text's append, in B9); the texts scrolled
/// after all the appends share one.
fn to_end_soon(pre: &Element, place: &Rc<Place>) {
    let (pre, place) = (pre.clone(), place.clone());
    crate::reactive::after_effects(move || to_end(&pre, &place));
}

/// Scrolls `pre` to its end, unless the browser is not rendering it: off screen, a full text
/// is skipped (`content-visibility: auto`), and scrolling would lay it out, the cost that
/// skipping saves (ten streams mounted, two on screen: B9 in BENCHMARKS.md). It goes to its
/// end when it is shown again ([`on_shown`]).
fn to_end(pre: &Element, place: &Place) {
    if crate::js_glue::skipped(pre) {
        place.behind.set(true);
        return;
    }
    pre.set_scroll_top(i32::MAX);
    // Full to its height: that height is fixed from now on, so that the text growing inside
    // lays out only itself, not the page around it (`utp-full`).
    if pre.scroll_top() > 0 {
        dom::toggle_class(pre, "utp-full", true);
    }
}

/// When a full text is shown again (`content-visibility`): cut again if its width changed
/// while it was not, and, if it fell behind, at its end again or back where the reader left it.
fn on_shown(pre: &Element, place: &Place) {
    if crate::js_glue::skipped(pre) {
        return;
    }
    recut(pre);
    if place.behind.replace(false) {
        if place.left_end.get() {
            pre.set_scroll_top(place.top.get());
        } else {
            to_end(pre, place);
        }
    }
}

thread_local! {
    /// One observer for every long text: it cuts a text again when its width changes.
    static RESIZE: web_sys::ResizeObserver = {
        let f = wasm_bindgen::closure::Closure::<dyn FnMut(js_sys::Array)>::new(|entries: js_sys::Array| {
            for e in entries.iter() {
                if let Ok(e) = e.dyn_into::<web_sys::ResizeObserverEntry>() {
                    recut(&e.target());
                }
            }
        })
        .into_js_value();
        web_sys::ResizeObserver::new(f.unchecked_ref())
            .unwrap_or_else(|_| panic!("ResizeObserver exists"))
    };
}
