//! A trace: its name as a label, badges of the processes that wrote into it, status, start
//! time and duration; its spans below, collapsible.

use leptos::prelude::*;
use user_trace_model::{RunStatus, TraceId};

use crate::format;
use crate::store::Store;
use crate::views::span::{short_process, SpanView};
use crate::views::virtual_list::VirtualList;
use crate::views::Fold;

#[derive(Clone, PartialEq)]
struct Header {
    name: String,
    processes: Vec<String>,
    status: RunStatus,
    start: u64,
    end: Option<u64>,
    spans: usize,
}

/// One trace and its spans.
#[component]
pub fn TraceView(
    /// The store to read from.
    store: Store,
    /// The trace to show.
    id: TraceId,
    /// Collapse-all / expand-all commands.
    fold: Fold,
) -> impl IntoView {
    let trigger = store.trace_trigger(id);
    // As the user left it, else as the last collapse-all or expand-all said (a virtualized
    // list remounts traces that scroll back into view).
    let expanded = RwSignal::new(
        store
            .trace_expanded(id)
            .unwrap_or_else(|| fold.get_untracked().1),
    );
    // Apply collapse-all / expand-all when issued after this view was made.
    let issued = fold.get_untracked().0;
    Effect::new(move |_| {
        let (generation, expand) = fold.get();
        if generation != issued {
            expanded.set(expand);
        }
    });
    let header = Memo::new({
        let trigger = trigger.clone();
        move |_| {
            trigger.track();
            store.with(|m| {
                m.trace(id).map(|t| Header {
                    name: t.name.clone(),
                    processes: t.processes.iter().map(|p| p.to_string()).collect(),
                    status: t.status.clone(),
                    start: t.start_ts,
                    end: t.end_ts,
                    spans: t.spans.len(),
                })
            })
        }
    });
    // A memo: the virtualized list and each of its mounted blocks read it; one copy per change.
    let spans = Memo::new(move |_| {
        trigger.track();
        store.with(|m| m.trace(id).map(|t| t.spans.clone()).unwrap_or_default())
    });
    let head = move || {
        header.get().map(|h| {
            let (class, text) = match &h.status {
                RunStatus::Running => ("utp-running", "running".to_owned()),
                RunStatus::Ok => ("utp-ok", "done".to_owned()),
                RunStatus::Error(m) => ("utp-err", format!("error: {m}")),
            };
            let badges = h
                .processes
                .iter()
                .map(|p| view! { <span class="utp-badge" title=p.clone()>{short_process(p).to_owned()}</span> })
                .collect::<Vec<_>>();
            let duration = h.end.map(|e| format::duration(e.saturating_sub(h.start)));
            view! {
                <span class="utp-label">{h.name}</span>
                {badges}
                <span class=format!("utp-status {class}")>{text}</span>
                <span class="utp-time" title="start (UTC)">{format::clock(h.start)}</span>
                {duration.map(|d| view! { <span class="utp-duration">{d}</span> })}
                <span class="utp-count">{format!("{} spans", h.spans)}</span>
            }
        })
    };
    view! {
        <div class="utp-trace">
            <div
                class="utp-trace-header utp-clickable"
                role="treeitem"
                tabindex="0"
                aria-expanded=move || expanded.get().to_string()
                on:click=move |_| {
                    expanded.update(|e| *e = !*e);
                    store.set_trace_expanded(id, expanded.get_untracked());
                }
            >
                <span class="utp-caret" class:utp-open=move || expanded.get()></span>
                {head}
            </div>
            <Show when=move || expanded.get()>
                <div class="utp-spans" role="group">
                    <VirtualList
                        items=spans
                        row=move |s| view! { <SpanView store id=s fold /> }
                    />
                </div>
            </Show>
        </div>
    }
}
