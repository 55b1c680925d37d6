//! The Leptos component that Rust hosts embed (feature `component`): a `<section>` filled by
//! [`crate::panel::fill`] under the component's owner.

use leptos::prelude::*;
use user_trace_model::Options;
use web_sys::Element;

use crate::links::Activation;
use crate::panel::fill;
use crate::store::Store;

/// The User Traces panel: connects to a runtime (or shows what the host pushes into `store`)
/// and renders the live trace tree.
#[component]
pub fn UserTracePanel(
    /// WebSocket URL of a runtime's panel endpoint, e.g. `ws://127.0.0.1:4700/v1/panel`.
    /// Without it the panel is offline and shows what the host pushes into its store.
    #[prop(optional, into)]
    url: Option<String>,
    /// A store made by the host, to push events into without a WebSocket
    /// (`Store::enqueue(Pending::Events(..))`); by default the panel makes its own.
    #[prop(optional)]
    store: Option<Store>,
    /// `"light"` or `"dark"`; by default the panel follows the system's preference.
    #[prop(optional, into)]
    theme: Option<String>,
    /// Approximate memory cap of the panel's trace state, in bytes; the oldest finished
    /// traces are evicted past it (the status area says how many).
    #[prop(optional)]
    max_bytes: Option<usize>,
    /// Called when the reader activates a trace or span (click, or Enter): its trace, span and
    /// nearest `source`, for the host to select its program's node (protocol 1.2).
    #[prop(optional)]
    on_activate: Option<Callback<Activation>>,
    /// Called with every source that has an error (sorted) whenever the set grows, and with
    /// none after a clear: for badges on the host's nodes. `store.reveal(source)` shows one.
    #[prop(optional)]
    on_error_sources: Option<Callback<Vec<String>>>,
) -> impl IntoView {
    let store = store.unwrap_or_else(|| {
        let mut options = Options::default();
        if let Some(b) = max_bytes {
            options.max_bytes = b;
        }
        Store::new(options)
    });
    store.links(|l| {
        if let Some(cb) = on_activate {
            l.on_activate = Some(std::rc::Rc::new(move |a: &Activation| cb.run(a.clone())));
        }
        if let Some(cb) = on_error_sources {
            l.on_error_sources = Some(std::rc::Rc::new(move |s: &[String]| cb.run(s.to_vec())));
        }
    });
    // The views are built into the section as it is made, under an owner of their own that is
    // cleaned up with the component's. Not the component's owner itself: the directive keeps
    // `build`, and a `build` holding that owner kept it, and every view of an unmounted panel,
    // alive for good.
    let owner = Owner::new();
    let build = move |section: Element| {
        let url = url.clone();
        // Leptos runs a directive again when it rebuilds the section in place: the previous
        // panel's state is gone by then, and its elements go too.
        section.set_text_content(None);
        owner.with(|| untrack(|| fill(&section, url, store)));
    };
    leptos::html::section()
        .class("utp-panel")
        .aria_label("User traces")
        .attr("data-theme", theme.unwrap_or_default())
        .directive(build, ())
}
