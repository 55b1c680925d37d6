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
    fill(&el, text, needle);
    el
}

/// Makes `el` show `text` as a label (replacing what it showed).
pub fn fill(el: &Element, text: &str, needle: &str) {
    el.set_text_content(None);
    dom::set(el, "dir", "auto");
    let mut from = 0;
    for m in filter::found(text, needle) {
        pieces(el, &text[from..m.start]);
        pieces(&dom::add(el, "mark", "utp-mark"), &text[m.clone()]);
        from = m.end;
    }
    pieces(el, &text[from..]);
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
