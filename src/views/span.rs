//! A span: its header (kind, title, who wrote it, status), its content by kind, and the child
//! traces nested in it.

use leptos::prelude::*;
use user_trace_model::protocol::SpanKind;
use user_trace_model::{RunStatus, SpanId};

use crate::store::Store;
use crate::views::error_span::ErrorSpan;
use crate::views::generic_span::GenericSpan;
use crate::views::items_span::ItemsSpan;
use crate::views::json_span::JsonSpan;
use crate::views::markdown_span::MarkdownSpan;
use crate::views::text_span::TextSpan;
use crate::views::trace::TraceView;
use crate::views::Fold;

/// The short name of a process (`agent@host:42` -> `agent`), for badges.
pub fn short_process(p: &str) -> &str {
    p.split('@').next().unwrap_or(p)
}

#[derive(Clone, PartialEq)]
struct Header {
    kind: SpanKind,
    title: Option<String>,
    process: String,
    writers: Vec<String>,
    status: RunStatus,
}

/// One span and what nests in it.
#[component]
pub fn SpanView(
    /// The store to read from.
    store: Store,
    /// The span to show.
    id: SpanId,
    /// Collapse-all / expand-all commands, passed down to child traces.
    fold: Fold,
) -> impl IntoView {
    let trigger = store.span_trigger(id);
    let header = Memo::new({
        let trigger = trigger.clone();
        move |_| {
            trigger.track();
            store.with(|m| {
                m.span(id).map(|s| Header {
                    kind: s.kind.clone(),
                    title: s.title.clone(),
                    process: s.process.to_string(),
                    writers: s.writers.iter().map(|w| w.to_string()).collect(),
                    status: s.status.clone(),
                })
            })
        }
    });
    let children = move || {
        trigger.track();
        store.with(|m| m.span(id).map(|s| s.children.clone()).unwrap_or_default())
    };
    let kind = header
        .get_untracked()
        .map(|h| h.kind)
        .unwrap_or(SpanKind::Text);
    let content = match kind {
        SpanKind::Text => view! { <TextSpan store id /> }.into_any(),
        SpanKind::Json => view! { <JsonSpan store id /> }.into_any(),
        SpanKind::Items => view! { <ItemsSpan store id /> }.into_any(),
        SpanKind::Markdown => view! { <MarkdownSpan store id /> }.into_any(),
        SpanKind::Error => view! { <ErrorSpan store id /> }.into_any(),
        SpanKind::Other(_) => view! { <GenericSpan store id /> }.into_any(),
    };
    let head = move || {
        header.get().map(|h| {
            let status = match &h.status {
                // Only streamed kinds are visibly "in progress"; others are complete when made.
                RunStatus::Running if h.kind.is_textual() => ("utp-running", "…".to_owned()),
                RunStatus::Running => ("", String::new()),
                RunStatus::Ok => ("utp-ok", "✓".to_owned()),
                RunStatus::Error(m) => ("utp-err", format!("✗ {m}")),
            };
            let writers = h
                .writers
                .iter()
                .map(|w| view! { <span class="utp-badge utp-writer" title=w.clone()>{format!("+{}", short_process(w))}</span> })
                .collect::<Vec<_>>();
            view! {
                <span class="utp-kind">{h.kind.as_str().to_owned()}</span>
                <span class="utp-span-title">{h.title.unwrap_or_default()}</span>
                <span class="utp-badge" title=h.process.clone()>{short_process(&h.process).to_owned()}</span>
                {writers}
                <span class=format!("utp-status {}", status.0)>{status.1}</span>
            }
        })
    };
    view! {
        <div class="utp-span" data-span-kind=kind.as_str().to_owned()>
            <div class="utp-span-header">{head}</div>
            <div class="utp-span-content">{content}</div>
            <For
                each=children
                key=|t| t.as_u64()
                children=move |t| view! { <TraceView store id=t fold /> }.into_any()
            />
        </div>
    }
}
