//! A markdown span, rendered from parsed blocks into DOM nodes with text content only: raw
//! HTML in the source is shown as text and never interpreted.

use crate::reactive::*;
use user_trace_model::SpanId;
use web_sys::{Element, Node};

use crate::dom;
use crate::markdown::{self, Block, Inline};
use crate::store::Store;

/// Appends inline spans (their nesting is bounded by the parser: `markdown::MAX_NESTING`).
fn inlines(parent: &Node, spans: Vec<Inline>) {
    for s in spans {
        match s {
            Inline::Text(t) => {
                dom::text(parent, &t);
            }
            Inline::Code(t) => {
                dom::add_text(parent, "code", "", &t);
            }
            Inline::Strong(i) => inlines(&dom::add(parent, "strong", ""), i),
            Inline::Emphasis(i) => inlines(&dom::add(parent, "em", ""), i),
            Inline::Link { text, href } => {
                let a = dom::add_text(parent, "a", "", &text);
                dom::set(&a, "href", &href);
                dom::set(&a, "target", "_blank");
                dom::set(&a, "rel", "noopener noreferrer");
            }
            Inline::Break => {
                dom::add(parent, "br", "");
            }
        }
    }
}

fn block(parent: &Node, block: Block) {
    let (tag, spans) = match block {
        Block::Heading(1, s) => ("h3", s),
        Block::Heading(2, s) => ("h4", s),
        Block::Heading(_, s) => ("h5", s),
        Block::Paragraph(s) => ("p", s),
        Block::Quote(paragraphs) => {
            let quote = dom::add(parent, "blockquote", "");
            for p in paragraphs {
                inlines(&dom::add(&quote, "p", ""), p);
            }
            return;
        }
        Block::Rule => {
            dom::add(parent, "hr", "");
            return;
        }
        Block::Code { lang, text } => {
            let pre = dom::add(parent, "pre", "utp-md-code");
            dom::set(&pre, "data-lang", &lang);
            dom::add_text(&pre, "code", "", &text);
            return;
        }
        Block::List { start, items } => {
            let list = dom::add(parent, if start.is_some() { "ol" } else { "ul" }, "");
            if let Some(n) = start.filter(|&n| n != 1) {
                dom::set(&list, "start", &n.to_string());
            }
            for i in items {
                // Its own direction, from its text: a right-to-left item's marker goes on the
                // right, beside where its text starts.
                let li = dom::add(&list, "li", "");
                dom::set(&li, "dir", "auto");
                inlines(&li, i);
            }
            return;
        }
    };
    inlines(&dom::add(parent, tag, ""), spans);
}

/// What a markdown span shows now: enough to render only what changed.
#[derive(Default)]
struct Shown {
    /// The content revision and mode it was rendered from (`None`: nothing yet).
    from: Option<(u32, bool)>,
    /// Its first elements that text arriving later cannot change (`markdown::settled`).
    kept: u32,
    /// Where the text after those starts.
    offset: usize,
}

/// The rendered markdown of a span, or its source as sent: a toggle switches between them.
/// While it streams, a frame parses and renders only the blocks that can still change (the
/// last one, or two), not the whole text.
pub fn markdown_span(store: Store, id: SpanId) -> Element {
    let outer = dom::el("div", "utp-markdown-span");
    let raw = RwSignal::new(false);
    let toggle = dom::add_text(&outer, "button", "utp-md-toggle", "source");
    dom::set(&toggle, "type", "button");
    dom::set(&toggle, "aria-label", "Show the markdown source");
    dom::set(&toggle, "title", "Show the markdown source");
    dom::on(&toggle, "click", move |_| raw.update(|r| *r = !*r));
    let root = dom::add(&outer, "div", "utp-markdown");
    let trigger = store.span_trigger(id);
    let node = root.clone();
    let mut shown = Shown::default();
    dom::effect(move || {
        trigger.track();
        let raw = raw.get();
        dom::set(&toggle, "aria-pressed", dom::aria_bool(raw));
        store.with(|m| {
            let Some(span) = m.span(id) else { return };
            let text = span.text().unwrap_or("");
            let from = Some((span.revision, raw));
            // Replaced content, the other mode, or text that is not what it grew from: start
            // over.
            if shown.from != from || !text.is_char_boundary(shown.offset) {
                node.set_text_content(None);
                shown = Shown {
                    from,
                    ..Shown::default()
                };
            }
            if raw {
                // The source as text, line breaks kept; never interpreted.
                node.set_text_content(None);
                dom::add_text(&node, "pre", "utp-md-raw", text);
                return;
            }
            while node.child_element_count() > shown.kept {
                if let Some(last) = node.last_element_child() {
                    last.remove();
                }
            }
            let rest = text.get(shown.offset..).unwrap_or_default();
            let (blocks, starts) = markdown::parse_with_starts(rest);
            let (settled, at) = markdown::settled(rest, &starts);
            // Each block is one element.
            for b in blocks {
                block(&node, b);
            }
            shown.kept += settled as u32;
            shown.offset += at;
        });
    });
    outer
}
