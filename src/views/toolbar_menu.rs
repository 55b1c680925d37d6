//! Narrow panels (issue 17, item 12): below a width the toolbar's buttons fold into a "More"
//! menu (the WAI-ARIA menu button pattern). The stylesheet decides when (a container query on
//! the toolbar); the menu mirrors the toolbar's buttons as they are when it opens (their words,
//! pressed state, and the button they press), so that buttons added to the toolbar fold too.

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

use crate::dom;

/// The toolbar's own buttons (those the menu stands for), in order.
fn folded_buttons(bar: &Element) -> Vec<HtmlElement> {
    let Ok(list) = bar.query_selector_all(":scope > button:not(.utp-menu-button)") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
        .collect()
}

/// The menu's items, in order.
fn items(menu: &Element) -> Vec<HtmlElement> {
    let Ok(list) = menu.query_selector_all("[role^=menuitem]") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
        .collect()
}

/// Appends the "More" menu button and its menu to the toolbar `bar`.
pub fn toolbar_menu(bar: &Element) {
    let wrap = dom::add(bar, "span", "utp-menu");
    let button = dom::add_text(&wrap, "button", "utp-menu-button", "⋯ More");
    dom::set(&button, "type", "button");
    dom::set(&button, "aria-haspopup", "menu");
    dom::set(&button, "aria-expanded", "false");
    dom::set(&button, "title", "More tools");
    let menu = dom::add(&wrap, "div", "utp-menu-list utp-hidden");
    dom::set(&menu, "role", "menu");
    dom::set(&menu, "aria-label", "More tools");
    dom::set(&menu, "tabindex", "-1");
    dom::on(&button, "click", |e| {
        let Some(button) = dom::target(&e) else {
            return;
        };
        let open = button.get_attribute("aria-expanded").as_deref() == Some("true");
        if open {
            close(&button, true);
        } else {
            open_menu(&button, 0);
        }
    });
    dom::on(&button, "keydown", |e| {
        let Some(button) = dom::target(&e) else {
            return;
        };
        let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        let first = match k.key().as_str() {
            "ArrowDown" | "Enter" | " " => 0,
            "ArrowUp" => usize::MAX,
            _ => return,
        };
        e.prevent_default();
        open_menu(&button, first);
    });
    dom::on(&menu, "keydown", |e| {
        let Some(menu) = dom::target(&e) else { return };
        let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        let Some(button) = menu.previous_element_sibling() else {
            return;
        };
        let list = items(&menu);
        let at = dom::document()
            .active_element()
            .and_then(|a| list.iter().position(|i| **i == a));
        let next = match (k.key().as_str(), at) {
            ("ArrowDown", Some(i)) => Some((i + 1) % list.len()),
            ("ArrowUp", Some(i)) => Some((i + list.len() - 1) % list.len()),
            ("Home", _) | ("ArrowDown", None) => Some(0),
            ("End", _) | ("ArrowUp", None) => list.len().checked_sub(1),
            ("Escape", _) => {
                close(&button, true);
                None
            }
            ("Tab", _) => {
                close(&button, false);
                return;
            }
            ("Enter" | " ", Some(i)) => {
                list[i].click();
                None
            }
            _ => return,
        };
        e.prevent_default();
        if let Some(item) = next.and_then(|n| list.get(n)) {
            let _ = item.focus();
        }
    });
    // Focus leaving the menu and its button closes it (a click elsewhere, Shift+Tab).
    dom::on(&wrap, "focusout", |e| {
        let Some(wrap) = dom::target(&e) else { return };
        let to = e
            .dyn_ref::<web_sys::FocusEvent>()
            .and_then(|f| f.related_target())
            .and_then(|t| t.dyn_into::<web_sys::Node>().ok());
        if to.is_some_and(|t| wrap.contains(Some(&t))) {
            return;
        }
        if let Some(button) = wrap.first_element_child() {
            close(&button, false);
        }
    });
}

/// Opens the menu after `button`, built from the toolbar's buttons as they are now, and
/// focuses item `first` (`usize::MAX`: the last).
fn open_menu(button: &Element, first: usize) {
    let (Some(menu), Some(bar)) = (
        button.next_element_sibling(),
        button.parent_element().and_then(|w| w.parent_element()),
    ) else {
        return;
    };
    menu.set_text_content(None);
    for b in folded_buttons(&bar) {
        let words = b.text_content().unwrap_or_default();
        let item = dom::add_text(&menu, "button", "utp-menu-item", &words);
        dom::set(&item, "type", "button");
        dom::set(&item, "tabindex", "-1");
        match b.get_attribute("aria-pressed") {
            Some(pressed) => {
                dom::set(&item, "role", "menuitemcheckbox");
                dom::set(&item, "aria-checked", &pressed);
            }
            None => dom::set(&item, "role", "menuitem"),
        }
        if let Some(t) = b.get_attribute("title") {
            dom::set(&item, "title", &t);
        }
        // The item presses its toolbar button (found again by position: the menu is rebuilt
        // at each opening).
        dom::on(&item, "click", move |e| {
            let Some(item) = dom::target(&e) else { return };
            let Some(menu) = item.parent_element() else {
                return;
            };
            let Some(button) = menu.previous_element_sibling() else {
                return;
            };
            let index = items(&menu).iter().position(|i| **i == item);
            let bar = button.parent_element().and_then(|w| w.parent_element());
            let target = bar.and_then(|bar| folded_buttons(&bar).into_iter().nth(index?));
            close(&button, true);
            if let Some(t) = target {
                t.click();
            }
        });
    }
    dom::set(button, "aria-expanded", "true");
    dom::toggle_class(&menu, "utp-hidden", false);
    let list = items(&menu);
    let at = first.min(list.len().saturating_sub(1));
    if let Some(item) = list.get(at) {
        let _ = item.focus();
    }
}

/// Closes the menu after `button`; `refocus`: focus goes back to the button.
fn close(button: &Element, refocus: bool) {
    dom::set(button, "aria-expanded", "false");
    if let Some(menu) = button.next_element_sibling() {
        dom::toggle_class(&menu, "utp-hidden", true);
    }
    if refocus {
        if let Some(b) = button.dyn_ref::<HtmlElement>() {
            let _ = b.focus();
        }
    }
}
