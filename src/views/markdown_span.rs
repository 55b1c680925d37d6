//! A markdown span, rendered from parsed blocks into DOM nodes with text content only: raw
//! HTML in the source is shown as text and never interpreted.

use leptos::prelude::*;
use user_trace_model::SpanId;

use crate::markdown::{self, Block, Inline};
use crate::store::Store;

fn inline_view(spans: Vec<Inline>) -> Vec<AnyView> {
    spans
        .into_iter()
        .map(|s| match s {
            Inline::Text(t) => t.into_any(),
            Inline::Code(t) => view! { <code>{t}</code> }.into_any(),
            Inline::Strong(t) => view! { <strong>{t}</strong> }.into_any(),
            Inline::Emphasis(t) => view! { <em>{t}</em> }.into_any(),
            Inline::Link { text, href } => {
                view! { <a href=href target="_blank" rel="noopener noreferrer">{text}</a> }
                    .into_any()
            }
        })
        .collect()
}

fn block_view(block: Block) -> AnyView {
    match block {
        Block::Heading(1, s) => view! { <h3>{inline_view(s)}</h3> }.into_any(),
        Block::Heading(2, s) => view! { <h4>{inline_view(s)}</h4> }.into_any(),
        Block::Heading(_, s) => view! { <h5>{inline_view(s)}</h5> }.into_any(),
        Block::Paragraph(s) => view! { <p>{inline_view(s)}</p> }.into_any(),
        Block::Quote(s) => view! { <blockquote>{inline_view(s)}</blockquote> }.into_any(),
        Block::Rule => view! { <hr /> }.into_any(),
        Block::Code { lang, text } => {
            view! { <pre class="utp-md-code" data-lang=lang><code>{text}</code></pre> }.into_any()
        }
        Block::List { ordered, items } => {
            let items = items
                .into_iter()
                .map(|i| view! { <li>{inline_view(i)}</li> })
                .collect::<Vec<_>>();
            if ordered {
                view! { <ol>{items}</ol> }.into_any()
            } else {
                view! { <ul>{items}</ul> }.into_any()
            }
        }
    }
}

/// The rendered markdown of a span (re-rendered at most once per animation frame).
#[component]
pub fn MarkdownSpan(
    /// The store to read from.
    store: Store,
    /// The span to show.
    id: SpanId,
) -> impl IntoView {
    let trigger = store.span_trigger(id);
    let blocks = move || {
        trigger.track();
        let text = store.with(|m| m.span(id).and_then(|s| s.text()).unwrap_or("").to_owned());
        markdown::parse(&text)
            .into_iter()
            .map(block_view)
            .collect::<Vec<_>>()
    };
    view! { <div class="utp-markdown">{blocks}</div> }
}
