//! The status area: the connection's state, and notices (skipped messages, evictions).

use leptos::prelude::*;

use crate::connection::Status;
use crate::format;
use crate::store::{Level, Store};

/// The status area.
#[component]
pub fn StatusBar(
    /// The store whose notices and counters are shown.
    store: Store,
    /// The connection's state.
    status: RwSignal<Status>,
    /// Called by the retry button.
    retry: Callback<()>,
) -> impl IntoView {
    let state = move || match status.get() {
        Status::Offline => ("offline", "Not connected".to_owned()),
        Status::Connecting => ("connecting", "Connecting…".to_owned()),
        Status::Live => ("live", "Live".to_owned()),
        Status::Reconnecting { in_ms, attempt } => (
            "reconnecting",
            format!(
                "Reconnecting in {} (attempt {attempt})",
                format::duration(u64::from(in_ms) * 1000)
            ),
        ),
        Status::Incompatible(m) => ("incompatible", m),
    };
    let expanded = RwSignal::new(false);
    let latest = move || store.notices.with(|n| n.back().cloned());
    let count = move || store.notices.with(|n| n.len());
    view! {
        <div class="utp-statusbar">
            <span class="utp-conn" role="status" data-state=move || state().0>{move || state().1}</span>
            <Show when=move || matches!(status.get(), Status::Reconnecting { .. })>
                <button class="utp-retry" on:click=move |_| retry.run(())>"Retry now"</button>
            </Show>
            <span class="utp-counters">
                {move || {
                    let c = store.counters.get();
                    let mut s = format!("{} events", c.applied);
                    if c.rejected > 0 {
                        s.push_str(&format!(" · {} skipped", c.rejected));
                    }
                    if c.evicted > 0 {
                        s.push_str(&format!(" · {} traces evicted", c.evicted));
                    }
                    s
                }}
            </span>
            {move || latest().map(|n| {
                let class = match n.level {
                    Level::Info => "utp-notice",
                    Level::Warning => "utp-notice utp-warn",
                    Level::Error => "utp-notice utp-err",
                };
                view! {
                    <button class=class aria-expanded=move || expanded.get().to_string() on:click=move |_| expanded.update(|e| *e = !*e) title="Show all notices">
                        {n.text}{move || (count() > 1).then(|| format!(" (+{})", count() - 1))}
                    </button>
                }
            })}
        </div>
        <Show when=move || expanded.get()>
            <ul class="utp-notices" role="log">
                {move || store.notices.get().into_iter().rev().map(|n| view! { <li>{n.text}</li> }).collect::<Vec<_>>()}
            </ul>
        </Show>
    }
}
