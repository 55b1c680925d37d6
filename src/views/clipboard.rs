//! Copying to the clipboard.

use leptos::prelude::*;

/// Copies `text`; says in `done` whether it worked (for the button's feedback).
pub fn copy(text: &str, done: RwSignal<Option<bool>>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(text);
    leptos::task::spawn_local(async move {
        let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
        done.set(Some(ok));
        set_timeout(
            move || done.set(None),
            std::time::Duration::from_millis(1200),
        );
    });
}

/// A small "copy" button.
#[component]
pub fn CopyButton(
    /// Makes the text to copy, when clicked.
    text: Callback<(), String>,
    /// The button's accessible label.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let done = RwSignal::new(None::<bool>);
    view! {
        <button
            class="utp-copy"
            title=label.clone()
            aria-label=label
            on:click=move |e| {
                e.stop_propagation();
                copy(&text.run(()), done);
            }
        >
            {move || match done.get() {
                Some(true) => "copied",
                Some(false) => "failed",
                None => "copy",
            }}
        </button>
    }
}
