//! Errors first: the status bar's count of errors (spans and traces that ended with one, and
//! `error` spans), which goes to the next error when pressed (or `E`; `Shift+E` the previous),
//! the traces above an error marked, and an option to go to the first error as soon as it
//! arrives. The errors are listed from the model in the tree's order
//! (`user_trace_model::search::Search::errors`) and revealed with [`crate::views::reveal`].

use std::collections::HashSet;

use crate::reactive::*;
use user_trace_model::search::{Place, Search};
use user_trace_model::{Model, Parent};
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::dom;
use crate::views::reveal::reveal;
use crate::views::PanelCx;

/// The traces above each error (not an erring trace itself: its header says so already).
pub fn traces_above(m: &Model, errors: &[Place]) -> HashSet<u64> {
    let mut above = HashSet::new();
    for place in errors {
        let mut trace = match place {
            Place::Trace(t) => m.parent_trace(*t),
            _ => place
                .span()
                .and_then(|s| m.span(s))
                .and_then(|s| match s.trace {
                    Parent::Node(t) => Some(t),
                    _ => None,
                }),
        };
        // Stops at a trace already marked: the ones above it are too.
        while let Some(t) = trace {
            if !above.insert(t.as_u64()) {
                break;
            }
            trace = m.parent_trace(t);
        }
    }
    above
}

/// The place to go to from `current` (an index into `errors`) by `by` (1 or -1), round the ends.
pub fn next_index(len: usize, current: Option<usize>, by: isize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let n = len as isize;
    Some(match current {
        Some(c) => (c.min(len - 1) as isize + by).rem_euclid(n) as usize,
        None if by < 0 => len - 1,
        None => 0,
    })
}

/// Appends the error count, the way to the next error and the option to `section`'s status
/// bar, and the `E` keys to the panel.
pub fn errors_nav(section: &Element, cx: PanelCx) {
    let Ok(Some(bar)) = section.query_selector(".utp-statusbar") else {
        return;
    };
    let store = cx.store;
    let count = RwSignal::new(0usize);
    // Which error was last shown (an index into the errors as listed then).
    let current = StoredValue::new_local(None::<usize>);
    let first_on_arrival = RwSignal::new(false);
    let go = move |from: &Element, by: isize| {
        let errors = store.with(Search::errors);
        let Some(next) = next_index(errors.len(), current.get_value(), by) else {
            return;
        };
        current.set_value(Some(next));
        if let Some(tree) = tree_of(from) {
            reveal(cx, &tree, errors[next].clone());
        }
    };
    let button = dom::add(&bar, "button", "utp-errors utp-err");
    dom::set(&button, "type", "button");
    dom::set(
        &button,
        "title",
        "Go to the next error (E; Shift+E: the previous)",
    );
    dom::on(&button, "click", move |e| {
        if let Some(b) = dom::target(&e) {
            go(&b, 1);
        }
    });
    let option = dom::add(&bar, "label", "utp-first-error");
    let check = dom::add(&option, "input", "");
    dom::set(&check, "type", "checkbox");
    dom::text(&option, " go to the first error");
    dom::set(
        &option,
        "title",
        "Show the first error as soon as it arrives",
    );
    dom::on(&check, "change", move |e| {
        let on = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .is_some_and(|i| dom::flag(&i, "checked"));
        first_on_arrival.set(on);
    });
    // After each applied frame: the count, and the marks above errors when it moved.
    let (shown, anchor) = (button.clone(), bar.clone());
    dom::effect(move || {
        store.counters.track();
        let now = store.with(Model::errors);
        let before = count.get_untracked();
        if now == before {
            return;
        }
        count.set(now);
        let errors = store.with(Search::errors);
        let above = store.with(|m| traces_above(m, &errors));
        store.set_errors_above(above);
        dom::toggle_class(&shown, "utp-hidden", now == 0);
        let words = match now {
            1 => "⚠ 1 error".to_owned(),
            n => format!("⚠ {n} errors"),
        };
        dom::set_text(&shown, &words);
        dom::set(
            &shown,
            "aria-label",
            &format!("{words}: go to the next error"),
        );
        if before == 0 && now > 0 && first_on_arrival.get_untracked() {
            current.set_value(Some(0));
            if let (Some(tree), Some(first)) = (tree_of(&anchor), errors.first()) {
                reveal(cx, &tree, first.clone());
            }
        }
    });
    dom::toggle_class(&button, "utp-hidden", true);
    dom::on(section, "keydown", move |e| {
        let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        let modified = ["ctrlKey", "metaKey", "altKey"]
            .iter()
            .any(|m| dom::flag(k, m));
        if !k.key().eq_ignore_ascii_case("e") || modified {
            return;
        }
        let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if t.closest(crate::views::find_bar::FIELDS)
            .ok()
            .flatten()
            .is_some()
        {
            return;
        }
        e.prevent_default();
        go(&t, if dom::flag(k, "shiftKey") { -1 } else { 1 });
    });
}

fn tree_of(inside: &Element) -> Option<Element> {
    inside
        .closest(".utp-panel")
        .ok()
        .flatten()?
        .query_selector(".utp-tree")
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::next_index;

    #[test]
    fn next_and_previous_go_round_the_ends() {
        assert_eq!(next_index(0, None, 1), None);
        assert_eq!(next_index(3, None, 1), Some(0));
        assert_eq!(next_index(3, None, -1), Some(2));
        assert_eq!(next_index(3, Some(2), 1), Some(0));
        assert_eq!(next_index(3, Some(0), -1), Some(2));
        // The list shrank (evictions) since the last one was shown.
        assert_eq!(next_index(2, Some(5), 1), Some(0));
    }
}
