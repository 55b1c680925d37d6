//! Browser tests: the real panel mounted in headless Chromium, checked through the real DOM.

#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn host() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    wasm_bindgen::JsCast::dyn_into(div).unwrap()
}

#[wasm_bindgen_test]
fn mounted_panel_says_it_is_not_connected() {
    let el = host();
    let handle = leptos::mount::mount_to(el.clone(), || {
        view! { <user_trace_panel::UserTracePanel /> }
    });
    let status = el
        .query_selector(".utp-status")
        .unwrap()
        .expect("a status element");
    assert_eq!(status.text_content().unwrap(), "Not connected");
    assert_eq!(status.get_attribute("role").as_deref(), Some("status"));
    drop(handle);
    assert!(
        el.query_selector(".utp-panel").unwrap().is_none(),
        "unmounting removes the panel"
    );
}
