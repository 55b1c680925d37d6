//! Live tables (issue 17, item 9): a name-value row whose value changed flashes once (not
//! under reduced motion) and shows how many times it changed; its last values (at most
//! `ITEM_HISTORY`, kept by the model) are in its tooltip and, pressed, listed under it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use user_trace_model::json::{self, JsonKind};
use user_trace_model::SpanId;
use web_sys::Element;

use crate::store::Store;
use crate::{dom, format, json_string, label_text};

/// Characters of a previous value shown in its list.
const SHOWN_CHARS: usize = 80;

/// How many changes each row of a table showed last, by position: a row rebuilt with more has
/// changed since (a row mounted again after scrolling, with as many, does not flash).
///
/// Keyed and counted in `u64`, as the other maps of numbers in the panel are: each type of map
/// is its own code in the wasm.
pub type Seen = Rc<RefCell<HashMap<u64, u64>>>;

/// A previous value as one short line: a string decoded, anything else as its JSON.
fn short(value: &str) -> String {
    let text = match json::kind(value) {
        JsonKind::String => json_string::decode(value).into_owned(),
        _ => value.trim().to_owned(),
    };
    let text = label_text::plain(&text).into_owned();
    match format::cut_at(&text, SHOWN_CHARS) {
        Some(at) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Adds item `index`'s change count and history to its value cell `td` (nothing if it never
/// changed), and flashes its row `tr` if it changed since `seen` last saw it.
pub fn item_history(
    tr: &Element,
    td: &Element,
    store: Store,
    id: SpanId,
    index: usize,
    seen: &Seen,
) {
    let history = store.with(|m| {
        let h = m.span(id)?.item_history(index)?;
        Some((
            h.changes,
            h.previous
                .iter()
                .map(|v| short(v.get()))
                .collect::<Vec<_>>(),
        ))
    });
    let Some((changes, previous)) = history else {
        return;
    };
    let before = seen.borrow_mut().insert(index as u64, u64::from(changes));
    if before.is_some_and(|b| b < u64::from(changes)) {
        dom::toggle_class(tr, "utp-flash", true);
    }
    let times = if changes == 1 { "once" } else { "times" };
    let count = if changes == 1 {
        String::new()
    } else {
        format!("{changes} ")
    };
    let list = previous.join(", ");
    let button = dom::add_text(td, "button", "utp-changes", &format!("×{changes}"));
    dom::set(&button, "type", "button");
    dom::set(
        &button,
        "title",
        &format!("changed {count}{times}; before: {}", previous.join("\n")),
    );
    dom::set(
        &button,
        "aria-label",
        &format!("changed {count}{times}; last values, oldest first: {list}"),
    );
    dom::set(&button, "aria-expanded", "false");
    let values = dom::add(td, "ol", "utp-history utp-hidden");
    dom::set(&values, "aria-label", "last values, oldest first");
    for v in &previous {
        let li = dom::add_text(&values, "li", "", v);
        dom::set(&li, "dir", "auto");
    }
    dom::on(&button, "click", |e| {
        let Some(button) = dom::target(&e) else {
            return;
        };
        let open = button.get_attribute("aria-expanded").as_deref() != Some("true");
        dom::set(&button, "aria-expanded", dom::aria_bool(open));
        if let Some(list) = button.next_element_sibling() {
            dom::toggle_class(&list, "utp-hidden", !open);
        }
    });
}
