//! The top-level component that hosts embed.

use leptos::prelude::*;

/// The User Traces panel.
#[component]
pub fn UserTracePanel(
    /// WebSocket URL of a runtime's panel endpoint, e.g. `ws://127.0.0.1:4700/v1/panel`.
    /// Without it the panel shows only what the host pushes.
    #[prop(optional, into)]
    url: Option<String>,
) -> impl IntoView {
    let status = match url {
        Some(url) => format!("Not connected to {url}"),
        None => "Not connected".to_owned(),
    };
    view! {
        <section class="utp-panel" aria-label="User traces">
            <header class="utp-toolbar">
                <span class="utp-title">"User Traces"</span>
                <span class="utp-status" role="status" data-state="disconnected">{status}</span>
            </header>
        </section>
    }
}
