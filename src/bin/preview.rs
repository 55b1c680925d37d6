//! The preview page's entry point (built by trunk): mounts the panel on the whole page,
//! connected to the runtime that served it (`/v1/panel` on the same host, proxied by trunk).

#[cfg(target_arch = "wasm32")]
fn main() {
    use leptos::prelude::*;
    console_error_panic_hook::set_once();
    let host = web_sys::window()
        .and_then(|w| w.location().host().ok())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let url = format!("ws://{host}/v1/panel");
    leptos::mount::mount_to_body(
        move || view! { <user_trace_panel::UserTracePanel url=url.clone() /> },
    );
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the preview runs in a browser: `cargo xtask preview`");
}
