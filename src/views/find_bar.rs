//! The find bar: Ctrl/Cmd+F or `/` while the panel has focus (or the toolbar's Find) opens it.
//! It searches the model, not the DOM (`user_trace_model::search`), so it finds what is
//! collapsed or virtualized away; in slices of a few milliseconds between frames, so that a
//! large model never freezes the tab, and a new keystroke drops the search in progress. Enter
//! and Shift+Enter (or the arrows) go to the next and previous match, which is revealed
//! ([`crate::views::reveal`]) and highlighted; the counter says where the reader is.

use std::rc::Rc;

use crate::reactive::*;
use user_trace_model::search::Search;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::dom;
use crate::find::{Matcher, Query};
use crate::views::reveal::{reveal, FOUND};
use crate::views::PanelCx;

/// Milliseconds of searching per slice; the rest of the frame is the page's.
const SLICE_MS: f64 = 4.0;
/// Bytes the model's walk looks at between two looks at the clock.
const STEP_BYTES: usize = 32 * 1024;

/// The bar's state, owned by the panel (listeners hold this handle, never an element).
struct State {
    bar: Element,
    /// Bumped by every change of the query: a slice of an older search stops.
    generation: u32,
    matcher: Option<Rc<Matcher>>,
    search: Option<Search>,
    /// The match shown (an index into the search's places).
    current: Option<usize>,
    /// Why the pattern is not a regular expression.
    error: Option<String>,
}

type Handle = StoredValue<State, LocalStorage>;

/// A toggle of the bar: its symbol, name and tooltip.
fn toggle(bar: &Element, text: &str, name: &str, h: Handle, cx: PanelCx) -> Element {
    let b = dom::add_text(bar, "button", "utp-find-toggle", text);
    dom::set(&b, "type", "button");
    dom::set(&b, "aria-label", name);
    dom::set(&b, "title", name);
    dom::set(&b, "aria-pressed", "false");
    dom::on(&b, "click", move |e| {
        if let Some(b) = dom::target(&e) {
            let on = b.get_attribute("aria-pressed").as_deref() != Some("true");
            dom::set(&b, "aria-pressed", dom::aria_bool(on));
        }
        restart(h, cx);
    });
    b
}

fn button(bar: &Element, text: &str, name: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let b = dom::add_text(bar, "button", "", text);
    dom::set(&b, "type", "button");
    dom::set(&b, "aria-label", name);
    dom::set(&b, "title", name);
    dom::on(&b, "click", f);
}

/// Appends the (hidden) find bar to the panel's `section`, and the keys that open it.
pub fn find_bar(section: &Element, cx: PanelCx) {
    let bar = dom::add(section, "div", "utp-find");
    dom::set(&bar, "role", "search");
    dom::set(&bar, "aria-label", "Find in traces");
    dom::set(&bar, "hidden", "");
    let h: Handle = StoredValue::new_local(State {
        bar: bar.clone(),
        generation: 0,
        matcher: None,
        search: None,
        current: None,
        error: None,
    });
    let input = dom::add(&bar, "input", "utp-find-input");
    dom::set(&input, "type", "search");
    dom::set(&input, "placeholder", "Find");
    dom::set(&input, "aria-label", "Find in traces");
    dom::set(&input, "aria-describedby", "");
    dom::on(&input, "input", move |_| restart(h, cx));
    dom::on(&input, "keydown", move |e| {
        let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        match k.key().as_str() {
            "Enter" => {
                e.prevent_default();
                go(h, cx, if dom::flag(k, "shiftKey") { -1 } else { 1 });
            }
            "Escape" => {
                e.prevent_default();
                close(h);
            }
            _ => {}
        }
    });
    toggle(&bar, "Aa", "Match case", h, cx);
    toggle(&bar, ".*", "Regular expression", h, cx);
    let count = dom::add(&bar, "span", "utp-find-count");
    dom::set(&count, "role", "status");
    dom::set(&count, "aria-live", "polite");
    button(&bar, "↑", "Previous match (Shift+Enter)", move |_| {
        go(h, cx, -1)
    });
    button(&bar, "↓", "Next match (Enter)", move |_| go(h, cx, 1));
    button(&bar, "✕", "Close find (Escape)", move |_| close(h));
    dom::on(section, "keydown", move |e| {
        let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        let command = dom::flag(k, "ctrlKey") || dom::flag(k, "metaKey");
        let find = command && k.key().eq_ignore_ascii_case("f");
        let slash = k.key() == "/" && !command && !typing(&e);
        if find || slash {
            e.prevent_default();
            open(h);
        }
    });
}

/// What a reader types into.
pub const FIELDS: &str = "input, textarea, select, [contenteditable]";

/// Whether a key event is typing into a field (where `/` is a character, not a command).
fn typing(e: &web_sys::Event) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|t| t.closest(FIELDS).ok().flatten())
        .is_some()
}

/// Shows the bar and puts the cursor in its field (the text selected, to type over).
fn open(h: Handle) {
    let Some(bar) = h.try_with_value(|s| s.bar.clone()) else {
        return;
    };
    let _ = bar.remove_attribute("hidden");
    if let Some(input) = field(&bar) {
        let _ = input.focus();
    }
}

/// Opens the find bar of the panel that `inside` is in (the toolbar's Find button).
pub fn open_in(inside: &Element) {
    let bar = inside
        .closest(".utp-panel")
        .ok()
        .flatten()
        .and_then(|p| p.query_selector(".utp-find").ok().flatten());
    let Some(bar) = bar else { return };
    let _ = bar.remove_attribute("hidden");
    if let Some(input) = field(&bar) {
        let _ = input.focus();
    }
}

/// Hides the bar, stops the search, and gives focus back to the tree.
fn close(h: Handle) {
    let Some(bar) = h.try_update_value(|s| {
        s.generation += 1;
        s.search = None;
        s.current = None;
        s.bar.clone()
    }) else {
        return;
    };
    dom::set(&bar, "hidden", "");
    if let Some(tree) = tree_of(&bar) {
        if let Ok(Some(old)) = tree.query_selector(&format!(".{FOUND}")) {
            dom::toggle_class(&old, FOUND, false);
        }
        if let Some(t) = tree.dyn_ref::<web_sys::HtmlElement>() {
            let _ = t.focus();
        }
    }
}

fn field(bar: &Element) -> Option<web_sys::HtmlInputElement> {
    bar.query_selector(".utp-find-input")
        .ok()
        .flatten()
        .and_then(|i| i.dyn_into().ok())
}

fn tree_of(bar: &Element) -> Option<Element> {
    bar.closest(".utp-panel")
        .ok()
        .flatten()?
        .query_selector(".utp-tree")
        .ok()
        .flatten()
}

/// The query the bar shows: its field and its toggles.
fn query_of(bar: &Element) -> Query {
    let pressed = |name: &str| {
        bar.query_selector(&format!("[aria-label=\"{name}\"]"))
            .ok()
            .flatten()
            .is_some_and(|b| b.get_attribute("aria-pressed").as_deref() == Some("true"))
    };
    Query {
        text: field(bar)
            .and_then(|i| js_sys::Reflect::get(&i, &"value".into()).ok())
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        case_sensitive: pressed("Match case"),
        regex: pressed("Regular expression"),
    }
}

/// The query changed: drops the search in progress and starts a new one.
fn restart(h: Handle, cx: PanelCx) {
    let Some(bar) = h.try_with_value(|s| s.bar.clone()) else {
        return;
    };
    let query = query_of(&bar);
    let made = query.matcher();
    let search = match &made {
        Ok(m) if !m.is_empty() => {
            let search = cx.store.with(Search::new);
            Some(if m.is_plain() {
                // A character's other case is at least a third of its bytes (the Kelvin sign
                // is a `k`): a match is at most four times the query's length.
                search.for_parts(4 * query.text.len())
            } else {
                search
            })
        }
        _ => None,
    };
    let generation = h
        .try_update_value(|s| {
            s.generation += 1;
            s.current = None;
            s.search = search;
            match made {
                Ok(m) => {
                    s.matcher = Some(Rc::new(m));
                    s.error = None;
                }
                Err(e) => {
                    s.matcher = None;
                    s.error = Some(e);
                }
            }
            s.generation
        })
        .unwrap_or_default();
    if let Some(tree) = tree_of(&bar) {
        // The old query's match: neither highlighted, nor still on its way.
        crate::views::reveal::cancel(&tree);
        if let Ok(Some(old)) = tree.query_selector(&format!(".{FOUND}")) {
            dom::toggle_class(&old, FOUND, false);
        }
    }
    render(h);
    slice(h, cx, generation);
}

/// Runs the search for a few milliseconds in a task of its own, and again until it is over,
/// unless the query changed meanwhile.
fn slice(h: Handle, cx: PanelCx, generation: u32) {
    post_task(move || {
        let start = js_sys::Date::now();
        let Some(Some((mut search, matcher))) = h.try_update_value(|s| {
            if s.generation != generation {
                return None;
            }
            Some((s.search.take()?, s.matcher.clone()?))
        }) else {
            return;
        };
        let found_before = search.found().len();
        let mut done = false;
        while !done && js_sys::Date::now() - start < SLICE_MS {
            let f = |hay: &str| matcher.is_match(hay);
            done = cx.store.with(|m| search.run(m, &f, STEP_BYTES));
        }
        // What the count says changes only with the matches or the end: most slices of a long
        // search leave the page alone (a write, even of the same text, costs it a layout).
        let changed = done || search.found().len() != found_before;
        // The first match is shown as soon as it is found.
        let first = search.found().first().cloned();
        let show = h
            .try_update_value(|s| {
                let show = s.current.is_none() && first.is_some();
                if show {
                    s.current = Some(0);
                }
                s.search = Some(search);
                show
            })
            .unwrap_or(false);
        if let (true, Some(place)) = (show, first) {
            show_place(h, cx, place);
        }
        if changed {
            render(h);
        }
        if !done {
            slice(h, cx, generation);
        }
    });
}

/// Moves to the next (`1`) or previous (`-1`) match, round the ends.
fn go(h: Handle, cx: PanelCx, by: isize) {
    let place = h
        .try_update_value(|s| {
            let found = s.search.as_ref()?.found();
            if found.is_empty() {
                return None;
            }
            let n = found.len() as isize;
            let next = match s.current {
                Some(c) => (c as isize + by).rem_euclid(n),
                None if by < 0 => n - 1,
                None => 0,
            } as usize;
            s.current = Some(next);
            found.get(next).cloned()
        })
        .flatten();
    if let Some(place) = place {
        show_place(h, cx, place);
    }
    render(h);
}

fn show_place(h: Handle, cx: PanelCx, place: user_trace_model::search::Place) {
    let tree = h.try_with_value(|s| tree_of(&s.bar)).flatten();
    if let Some(tree) = tree {
        reveal(cx, &tree, place);
    }
}

/// Writes the counter: "3 of 12", "3 of 12…" while searching, "No matches", or why the
/// pattern is not one.
fn render(h: Handle) {
    h.try_with_value(|s| {
        let Ok(Some(count)) = s.bar.query_selector(".utp-find-count") else {
            return;
        };
        let input = field(&s.bar);
        if let Some(i) = &input {
            let invalid = dom::aria_bool(s.error.is_some());
            dom::set(i, "aria-invalid", invalid);
        }
        let text = match (&s.error, &s.search) {
            (Some(e), _) => format!("Not a regular expression: {e}"),
            (None, None) => String::new(),
            (None, Some(search)) => {
                let n = search.found().len();
                let more = if search.truncated() { "+" } else { "" };
                let going = if search.done() { "" } else { "…" };
                match (n, s.current) {
                    (0, _) if search.done() => "No matches".to_owned(),
                    (0, _) => "Searching…".to_owned(),
                    (n, Some(c)) => format!("{} of {n}{more}{going}", c + 1),
                    (n, None) => format!("{n}{more} matches{going}"),
                }
            }
        };
        dom::set(
            &count,
            "data-state",
            if s.error.is_some() { "error" } else { "" },
        );
        dom::set_text(&count, &text);
    });
}
