//! What the browser tests share: waiting for the panel (timers, animation frames) and the page.

#![allow(dead_code)] // each test file uses what it needs

pub fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

pub async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
}

/// Lets the store apply what is queued (it does so at the next animation frame).
pub async fn frame() {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .request_animation_frame(&resolve)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
    sleep(0).await;
}

/// Lets the intersection observer report which blocks are near, and the panel mount them.
pub async fn settle() {
    for _ in 0..6 {
        frame().await;
    }
}
