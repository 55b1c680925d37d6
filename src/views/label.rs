//! Trace content shown as a label: isolated from the text around it (`dir="auto"`), on one
//! line with controls and direction controls visible ([`crate::label_text`]), and what the
//! filter found highlighted in `<mark>` elements. Only ever text nodes and elements, never
//! HTML.

use web_sys::{Element, Node};

use crate::bidi;
use crate::dom;
use crate::filter;
use crate::label_text::{self, Piece};

/// What the filter looks for, to highlight (one function: each generic `with` is its own code).
pub fn needle(filter: crate::reactive::RwSignal<crate::filter::Filter>) -> String {
    use crate::reactive::With;
    filter.with(|f| f.text.trim().to_owned())
}

/// Appends a `tag` element of `class` showing `text` as a label, with the matches of the
/// filter's `needle` (if any) highlighted.
pub fn label(parent: &Node, tag: &str, class: &str, text: &str, needle: &str) -> Element {
    let el = dom::add(parent, tag, class);
    dom::set(&el, "dir", "auto");
    let mut from = 0;
    for m in filter::found(text, needle) {
        pieces(&el, &text[from..m.start]);
        pieces(&dom::add(&el, "mark", "utp-mark"), &text[m.clone()]);
        from = m.end;
    }
    if from == 0 && label_text::is_plain(text) {
        // Nothing found and nothing to mark (most labels): the element's own text, one call
        // (a row of a long list mounts several labels).
        el.set_text_content(Some(text));
    } else {
        pieces(&el, &text[from..]);
    }
    el
}

fn pieces(parent: &Node, text: &str) {
    for p in label_text::pieces(text) {
        match p {
            Piece::Text(t) => {
                dom::text(parent, t);
            }
            Piece::Escape(_) => {
                dom::add_text(parent, "span", "utp-escape", &p.shown());
            }
            Piece::Control(c, name) => {
                let m = dom::add_text(parent, "span", "utp-escape", &p.shown());
                dom::set(&m, "title", &bidi::describe(c, name));
            }
        }
    }
}
