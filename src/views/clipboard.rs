//! Copying to the clipboard.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// How long a copy button says "copied" (or "failed") before it says "copy" again.
const FEEDBACK: std::time::Duration = std::time::Duration::from_millis(1200);

/// Copies `text`; the button then says whether it worked, for a moment.
pub fn copy(text: &str, button: web_sys::HtmlElement) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(text);
    leptos::task::spawn_local(async move {
        let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
        button.set_text_content(Some(if ok { "copied" } else { "failed" }));
        set_timeout(move || button.set_text_content(Some("copy")), FEEDBACK);
    });
}

/// A small "copy" button. It holds no reactive state (its feedback is written to the button
/// itself): a row of a large list or JSON tree has one or two, and each costs only its element.
#[component]
pub fn CopyButton(
    /// Makes the text to copy, when clicked.
    text: Callback<(), String>,
    /// The button's accessible label.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    view! {
        <button
            class="utp-copy"
            title=label.clone()
            aria-label=label
            on:click=move |e| {
                e.stop_propagation();
                let button = e.current_target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok());
                if let Some(button) = button {
                    copy(&text.run(()), button);
                }
            }
        >
            "copy"
        </button>
    }
}
