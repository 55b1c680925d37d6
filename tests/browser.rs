//! Browser tests: the real panel mounted in headless Chromium, checked through the real DOM.
//! The end-to-end tests at the bottom talk to a real runtime on loopback, started by
//! `cargo xtask test` (its URL comes in `UTP_TEST_RUNTIME` at build time).

#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use user_trace_panel::store::{Pending, Store};
use user_trace_panel::UserTracePanel;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

use user_trace_model::protocol::{decode_event, Content, Event};

mod common;
use common::{
    add_on_top, alive_after_gc, can_collect_garbage, copied, document, frame, hook_clipboard,
    reach, settle, sleep, trace_labelled, weak,
};

wasm_bindgen_test_configure!(run_in_browser);

fn host() -> web_sys::HtmlElement {
    let div = document().create_element("div").unwrap();
    add_on_top(&div);
    div.dyn_into().unwrap()
}

/// Events from compact JSON lines; `{n}` counters keep ids unique.
fn events(lines: &[&str]) -> Vec<Event> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let line = l.replace("{n}", &i.to_string());
            decode_event(i, &line).unwrap_or_else(|e| panic!("test event {line}: {e}"))
        })
        .collect()
}

struct Mounted {
    el: web_sys::HtmlElement,
    store: Store,
    _handle: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

fn mount_panel() -> Mounted {
    let el = host();
    let slot = std::rc::Rc::new(std::cell::Cell::new(None));
    let out = slot.clone();
    let handle = leptos::mount::mount_to(el.clone(), move || {
        let store = Store::new(Default::default());
        out.set(Some(store));
        view! { <UserTracePanel store /> }.into_any()
    });
    Mounted {
        el,
        store: slot.take().unwrap(),
        _handle: handle,
    }
}

impl Mounted {
    async fn push(&self, lines: &[&str]) {
        self.store.enqueue(Pending::Events(events(lines)));
        frame().await;
    }
    fn text(&self, selector: &str) -> String {
        self.el
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("no element matches {selector}"))
            .text_content()
            .unwrap_or_default()
    }
    /// The first element matching `selector`.
    fn element(&self, selector: &str) -> web_sys::HtmlElement {
        self.el
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("no element matches {selector}"))
            .dyn_into()
            .unwrap()
    }
    fn count(&self, selector: &str) -> u32 {
        self.el.query_selector_all(selector).unwrap().length()
    }
}

#[wasm_bindgen_test]
fn offline_panel_says_it_is_not_connected() {
    let el = host();
    let handle = leptos::mount::mount_to(el.clone(), || view! { <UserTracePanel /> });
    let status = el
        .query_selector(".utp-conn")
        .unwrap()
        .expect("a status element");
    assert_eq!(status.text_content().unwrap(), "Not connected");
    assert_eq!(status.get_attribute("role").as_deref(), Some("status"));
    assert!(el.text_content().unwrap().contains("No traces yet"));
    drop(handle);
    assert!(
        el.query_selector(".utp-panel").unwrap().is_none(),
        "unmounting removes the panel"
    );
}

#[wasm_bindgen_test]
async fn a_panel_its_host_renders_again_shows_once() {
    let el = host();
    let theme = RwSignal::new("light".to_owned());
    let _handle = leptos::mount::mount_to(el.clone(), move || {
        view! { {move || view! { <UserTracePanel theme=theme.get() /> }} }
    });
    let toolbars = || el.query_selector_all(".utp-toolbar").unwrap().length();
    assert_eq!(toolbars(), 1);
    theme.set("dark".to_owned());
    frame().await;
    let panel = el.query_selector(".utp-panel").unwrap().unwrap();
    assert_eq!(panel.get_attribute("data-theme").as_deref(), Some("dark"));
    assert_eq!(toolbars(), 1, "the panel is shown once");
}

const T: &str = r#"{"id":"e{n}","process":"agent@h:1","ts":1000{n},"op":"trace_start","trace":"t","name":"Agent run"}"#;

#[wasm_bindgen_test]
async fn every_span_kind_renders() {
    let p = mount_panel();
    p.push(&[
        T,
        r#"{"id":"e{n}","process":"agent@h:1","ts":2000,"op":"span_create","trace":"t","span":"txt","kind":"text","title":"answer","content":"Hello"}"#,
        r#"{"id":"e{n}","process":"agent@h:1","ts":2001,"op":"span_create","trace":"t","span":"js","kind":"json","content":{"z":1.50,"a":[true,null,"s"],"big":123456789012345678901234567890}}"#,
        r#"{"id":"e{n}","process":"agent@h:1","ts":2002,"op":"span_create","trace":"t","span":"it","kind":"items","content":[{"name":"tokens","value":812},{"name":"cost","value":{"usd":0.5}}]}"#,
        r##"{"id":"e{n}","process":"agent@h:1","ts":2003,"op":"span_create","trace":"t","span":"md","kind":"markdown","content":"# Title\n\nSome **bold**"}"##,
        r#"{"id":"e{n}","process":"agent@h:1","ts":2004,"op":"span_create","trace":"t","span":"er","kind":"error","content":{"message":"boom","details":{"code":7}}}"#,
        r#"{"id":"e{n}","process":"agent@h:1","ts":2005,"op":"span_create","trace":"t","span":"fu","kind":"chart","content":{"series":[1,2]}}"#,
    ])
    .await;
    assert_eq!(
        p.text(".utp-label"),
        "Agent run",
        "the trace's name is its label"
    );
    assert_eq!(p.text(".utp-text"), "Hello");
    let json = p.text("[data-span-kind=json] .utp-json");
    // Key order and number text exactly as sent.
    assert!(
        json.find("z").unwrap() < json.find("big").unwrap(),
        "{json}"
    );
    assert!(json.contains("1.50"), "{json}");
    assert!(json.contains("123456789012345678901234567890"), "{json}");
    assert_eq!(p.text(".utp-items .utp-item-name"), "tokens");
    assert!(p.text(".utp-items").contains("812"));
    assert_eq!(
        p.count(".utp-items .utp-json"),
        1,
        "an object value is an inline tree"
    );
    assert_eq!(p.text(".utp-markdown h3"), "Title");
    assert_eq!(p.text(".utp-markdown strong"), "bold");
    assert_eq!(p.text(".utp-error-message"), "boom");
    assert!(
        p.text("[data-span-kind=chart]").contains("series"),
        "an unknown kind shows its JSON"
    );
}

#[wasm_bindgen_test]
async fn json_children_exist_only_while_expanded() {
    let p = mount_panel();
    let big: Vec<String> = (0..250).map(|i| i.to_string()).collect();
    let line = format!(
        r#"{{"id":"j","process":"p","ts":5,"op":"span_create","trace":"t","span":"j","kind":"json","content":{{"list":[{}]}}}}"#,
        big.join(",")
    );
    p.push(&[T, &line]).await;
    // The root is open, `list` is closed: none of its 250 elements is in the DOM.
    assert_eq!(p.count(".utp-json-number"), 0);
    let list_row =
        p.el.query_selector(".utp-json-children .utp-json-row.utp-clickable")
            .unwrap()
            .unwrap();
    list_row.dyn_into::<web_sys::HtmlElement>().unwrap().click();
    frame().await;
    // Paged by 100, as devtools do.
    assert_eq!(p.count(".utp-json-page"), 3);
    assert_eq!(p.count(".utp-json-number"), 0);
    let pages = p.el.query_selector_all(".utp-json-page").unwrap();
    pages
        .item(2)
        .unwrap()
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    frame().await;
    assert_eq!(p.count(".utp-json-number"), 50);
    assert!(p.text(".utp-json-page").starts_with("[0 … 99]"));
    pages
        .item(2)
        .unwrap()
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    frame().await;
    assert_eq!(
        p.count(".utp-json-number"),
        0,
        "collapsing removes the children"
    );
}

#[wasm_bindgen_test]
async fn streamed_tokens_are_appended_without_re_rendering() {
    let p = mount_panel();
    p.push(&[T, r#"{"id":"s","process":"p","ts":3,"op":"span_create","trace":"t","span":"s","kind":"text","content":"A"}"#]).await;
    let pre = p.el.query_selector(".utp-text").unwrap().unwrap();
    let first = pre.first_child().expect("a block of text");
    // A trace of one span says so in the singular.
    assert_eq!(p.text(".utp-count"), "1 span");
    // The header is not rebuilt by tokens (its title stays the same element).
    let title = p.element(".utp-span-title");
    let mut want = String::from("A");
    for round in 0..20 {
        let lines: Vec<String> = (0..50)
            .map(|i| format!(r#"{{"id":"a{round}-{i}","process":"p","ts":4,"op":"text_append","span":"s","text":" tok{i}"}}"#))
            .collect();
        for i in 0..50 {
            want.push_str(&format!(" tok{i}"));
        }
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        p.push(&refs).await;
    }
    assert_eq!(pre.text_content().unwrap(), want);
    assert!(
        pre.first_child().unwrap().is_same_node(Some(&first)),
        "the first block was kept, not replaced"
    );
    assert!(
        title.is_connected(),
        "the span's header was kept while its text streamed"
    );
}

/// How many blocks (Text nodes) a streamed text is shown in.
fn text_blocks(pre: &web_sys::Element) -> u32 {
    let lines = pre.children();
    (0..lines.length())
        .filter_map(|i| lines.item(i))
        .map(|l| l.child_nodes().length())
        .sum()
}

/// Appends ` token{i}` for each `i` to span `s`; returns the text appended.
async fn push_tokens(p: &Mounted, range: std::ops::Range<usize>) -> String {
    let lines: Vec<String> = range
        .clone()
        .map(|i| format!(r#"{{"id":"a{i}","process":"p","ts":4,"op":"text_append","span":"s","text":" token{i}"}}"#))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
    range.map(|i| format!(" token{i}")).collect()
}

#[wasm_bindgen_test]
async fn a_long_streamed_text_is_cut_into_blocks_and_stays_at_its_end() {
    let p = mount_sized_panel(600);
    p.push(&[T, r#"{"id":"s","process":"p","ts":3,"op":"span_create","trace":"t","span":"s","kind":"text","content":"Answer:"}"#]).await;
    let mut want = String::from("Answer:");
    for round in 0..40 {
        want.push_str(&push_tokens(&p, round * 100..round * 100 + 100).await);
    }
    settle().await;
    let pre = p.element(".utp-text");
    let blocks = text_blocks(&pre);
    assert!(blocks >= 2, "{blocks} blocks");
    let at_end = |pre: &web_sys::HtmlElement| {
        pre.scroll_top() + pre.client_height() >= pre.scroll_height() - 4
    };
    assert!(
        pre.scroll_height() > pre.client_height(),
        "a long text scrolls inside its span"
    );
    assert!(at_end(&pre), "the newest tokens are in view");
    // Scrolled up by the reader: new tokens do not pull the text back down.
    pre.set_scroll_top(0);
    settle().await;
    want.push_str(&push_tokens(&p, 4_000..4_100).await);
    settle().await;
    assert_eq!(pre.scroll_top(), 0);
    assert_eq!(pre.text_content().unwrap_or_default(), want);
    // A text already long when its view is made (a snapshot, an import) opens at its end.
    let long: String = (0..400).map(|i| format!("line {i}\\n")).collect();
    let line = format!(
        r#"{{"id":"s2","process":"p","ts":4,"op":"span_create","trace":"t","span":"s2","kind":"text","content":"{long}"}}"#
    );
    p.push(&[line.as_str()]).await;
    settle().await;
    let texts = p.el.query_selector_all(".utp-text").unwrap();
    let second: web_sys::HtmlElement = texts.item(1).unwrap().dyn_into().unwrap();
    assert!(second.scroll_height() > second.client_height());
    assert!(at_end(&second), "opens at its end");
}

/// A streaming text that fills its height keeps that height: it grows inside a box of fixed
/// size, which the browser lays out on its own, and nothing around it moves. Replaced by a
/// shorter text, it takes the height that text needs again.
#[wasm_bindgen_test]
async fn a_full_streaming_text_keeps_its_height_and_gives_it_back_when_replaced() {
    let p = mount_sized_panel(900);
    p.push(&[T, r#"{"id":"s","process":"p","ts":3,"op":"span_create","trace":"t","span":"s","kind":"text","content":"Answer:"}"#,
        r#"{"id":"u","process":"p","ts":9,"op":"span_create","trace":"t","span":"u","kind":"text","content":"after"}"#]).await;
    let pre = p.element(".utp-text");
    let full = |pre: &web_sys::HtmlElement| pre.class_list().contains("utp-full");
    // Short, then long but not yet over its height: the box follows its text.
    push_tokens(&p, 0..10).await;
    settle().await;
    assert!(!full(&pre), "a short text takes the height it needs");
    let mut round = 0;
    while !full(&pre) && round < 60 {
        push_tokens(&p, round * 100 + 10..round * 100 + 110).await;
        settle().await;
        round += 1;
    }
    assert!(full(&pre), "full after {round} rounds");
    assert!(pre.scroll_height() > pre.client_height());
    let height = pre.client_height();
    let spans = p.el.query_selector_all(".utp-span").unwrap();
    let after: web_sys::Element = spans.item(1).unwrap().dyn_into().unwrap();
    let below = after.get_bounding_client_rect().top();
    push_tokens(&p, 10_000..10_300).await;
    settle().await;
    assert_eq!(pre.client_height(), height, "the box keeps its height");
    assert_eq!(
        after.get_bounding_client_rect().top(),
        below,
        "nothing below it moves"
    );
    assert!(
        pre.scroll_top() + pre.client_height() >= pre.scroll_height() - 4,
        "it still follows its end"
    );
    p.push(&[r#"{"id":"r","process":"p","ts":10,"op":"content_replace","span":"s","content":"short now"}"#]).await;
    settle().await;
    assert!(!full(&pre));
    assert_eq!(pre.text_content().unwrap_or_default(), "short now");
    assert!(
        pre.client_height() < height / 4,
        "{} px",
        pre.client_height()
    );
}

/// Several long texts streaming in the same frames: each one the reader has not scrolled
/// stays at its end, and the one scrolled up stays where the reader left it.
#[wasm_bindgen_test]
async fn several_texts_streaming_at_once_each_stay_at_their_end() {
    let p = mount_sized_panel(900);
    let spans = ["x", "y", "z"];
    let creates: Vec<String> = spans
        .iter()
        .map(|s| format!(r#"{{"id":"c{s}","process":"p","ts":3,"op":"span_create","trace":"t","span":"{s}","kind":"text","content":"{s}:"}}"#))
        .collect();
    let mut batch = vec![T];
    batch.extend(creates.iter().map(String::as_str));
    p.push(&batch).await;
    let round = |from: usize| -> Vec<String> {
        (from..from + 60)
            .flat_map(|i| {
                spans.iter().map(move |s| {
                    format!(r#"{{"id":"{s}{i}","process":"p","ts":4,"op":"text_append","span":"{s}","text":" word{i}\n"}}"#)
                })
            })
            .collect()
    };
    for r in 0..4 {
        let lines = round(r * 60);
        p.push(&lines.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
    }
    settle().await;
    let texts = p.el.query_selector_all(".utp-text").unwrap();
    let pre = |i: u32| -> web_sys::HtmlElement { texts.item(i).unwrap().dyn_into().unwrap() };
    let at_end = |pre: &web_sys::HtmlElement| {
        pre.scroll_top() + pre.client_height() >= pre.scroll_height() - 4
    };
    // Each read on screen: one off screen is not rendered, and catches up once shown.
    for i in 0..3 {
        show(&p, &pre(i)).await;
        assert!(
            pre(i).scroll_height() > pre(i).client_height(),
            "text {i} scrolls"
        );
        assert!(at_end(&pre(i)), "text {i} at its end");
    }
    // The reader scrolls the middle one up; the next tokens move the others only.
    show(&p, &pre(1)).await;
    pre(1).set_scroll_top(0);
    settle().await;
    let lines = round(240);
    p.push(&lines.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    settle().await;
    assert_eq!(pre(1).scroll_top(), 0, "the text the reader scrolled stays");
    for i in [0, 2] {
        show(&p, &pre(i)).await;
        assert!(at_end(&pre(i)), "text {i} follows its end");
    }
    assert!(pre(2)
        .text_content()
        .unwrap_or_default()
        .ends_with(" word299\n"));
}

/// Scrolls the tree until `el` is at its top, as a reader would to look at it; a few frames.
async fn show(p: &Mounted, el: &web_sys::Element) {
    let tree = p.element(".utp-tree");
    let by = el.get_bounding_client_rect().top() - tree.get_bounding_client_rect().top();
    tree.set_scroll_top(tree.scroll_top() + by as i32);
    settle().await;
}

/// Whether the browser renders what `el` holds now (not skipped as off screen by
/// `content-visibility: auto` on `el` or around it).
fn rendered(el: &web_sys::Element) -> bool {
    let el = el.first_element_child().unwrap_or_else(|| el.clone());
    let check: js_sys::Function = js_sys::Reflect::get(&el, &"checkVisibility".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"contentVisibilityAuto".into(), &true.into()).unwrap();
    check.call1(&el, &options).unwrap().is_truthy()
}

/// Off screen, a full streaming text is not rendered: it is not scrolled to its end as it
/// grows (that would lay it out), and it is at its end when it is on screen again. One the
/// reader had scrolled up stays where the reader left it.
#[wasm_bindgen_test]
async fn a_text_streaming_off_screen_is_at_its_end_when_back_on_screen() {
    let p = mount_sized_panel(600);
    let mut lines = vec![T.to_owned()];
    for s in ["x", "y"] {
        lines.push(format!(r#"{{"id":"c{s}","process":"p","ts":3,"op":"span_create","trace":"t","span":"{s}","kind":"text","content":"{s}:"}}"#));
    }
    // Rows of ten lines below them, enough to scroll both well out of view while their block
    // (these two and eight rows) stays mounted.
    for i in 0..80 {
        lines.push(format!(r#"{{"id":"r{i}","process":"p","ts":{},"op":"span_create","trace":"t","span":"r{i}","kind":"text","content":"row {i}{}"}}"#, 10 + i, "\\nline".repeat(9)));
    }
    p.push(&lines.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let round = |from: usize| -> Vec<String> {
        (from..from + 60)
            .flat_map(|i| {
                ["x", "y"].into_iter().map(move |s| {
                    format!(r#"{{"id":"{s}{i}","process":"p","ts":4,"op":"text_append","span":"{s}","text":" word{i}\n"}}"#)
                })
            })
            .collect()
    };
    // Long enough to scroll inside their spans (2 KB), streamed while the tree follows its
    // end, below them.
    for r in 0..6 {
        p.push(&round(r * 60).iter().map(String::as_str).collect::<Vec<_>>())
            .await;
    }
    settle().await;
    let tree = p.element(".utp-tree");
    tree.set_scroll_top(0);
    settle().await;
    let texts = p.el.query_selector_all(".utp-text").unwrap();
    let (x, y): (web_sys::HtmlElement, web_sys::HtmlElement) = (
        texts.item(0).unwrap().dyn_into().unwrap(),
        texts.item(1).unwrap().dyn_into().unwrap(),
    );
    let at_end = |pre: &web_sys::HtmlElement| {
        pre.scroll_top() + pre.client_height() >= pre.scroll_height() - 4
    };
    let state = |pre: &web_sys::HtmlElement| {
        format!(
            "rendered {}, {} + {} of {} px, {}",
            rendered(pre),
            pre.scroll_top(),
            pre.client_height(),
            pre.scroll_height(),
            pre.class_name()
        )
    };
    // Each read on screen (Firefox renders nothing beyond the view, Chromium a window and a
    // half around it).
    show(&p, &x).await;
    assert!(x.scroll_height() > x.client_height(), "{}", state(&x));
    assert!(at_end(&x), "{}", state(&x));
    show(&p, &y).await;
    assert!(at_end(&y), "{}", state(&y));
    y.set_scroll_top(1_000);
    settle().await;
    // The tree scrolls on until both are further above the view than the browser renders
    // (Chromium: one and a half times the window's height), with their block still mounted
    // (blocks unmount two of the tree's heights away).
    let bottom = y.get_bounding_client_rect().bottom() - tree.get_bounding_client_rect().top()
        + tree.scroll_top() as f64;
    let window = web_sys::window()
        .unwrap()
        .inner_height()
        .unwrap()
        .as_f64()
        .unwrap();
    tree.set_scroll_top((bottom + 1.5 * window + 150.0) as i32);
    settle().await;
    assert!(x.is_connected() && y.is_connected(), "still mounted");
    assert!(
        !rendered(&x) && !rendered(&y),
        "off screen, not rendered: {}; {}; {} px above the view",
        state(&x),
        state(&y),
        tree.get_bounding_client_rect().top() - y.get_bounding_client_rect().bottom()
    );
    for r in 6..9 {
        p.push(&round(r * 60).iter().map(String::as_str).collect::<Vec<_>>())
            .await;
    }
    settle().await;
    assert!(x.text_content().unwrap_or_default().ends_with(" word539\n"));
    // Back on screen: the same elements, rendered, the one following at its end.
    show(&p, &x).await;
    assert!(x.is_connected() && rendered(&x), "the same text, rendered");
    assert!(at_end(&x), "at its end: {}", state(&x));
    show(&p, &y).await;
    assert!(rendered(&y));
    assert_eq!(
        y.scroll_top(),
        1_000,
        "the text the reader scrolled up stays"
    );
}

#[wasm_bindgen_test]
async fn a_copy_button_says_what_happened_then_resets() {
    let p = mount_panel();
    p.push(&[T, r#"{"id":"s","process":"p","ts":3,"op":"span_create","trace":"t","span":"s","kind":"text","content":"A"}"#]).await;
    // The button appears when the keyboard (or the pointer) reaches the text.
    assert_eq!(p.count(".utp-text-span .utp-copy"), 0);
    p.element(".utp-text").focus().unwrap();
    settle().await;
    let button = p.element(".utp-text-span .utp-copy");
    assert_eq!(button.text_content().unwrap_or_default(), "copy");
    button.click();
    // Headless Chromium may refuse the clipboard: either outcome must be shown.
    wait_for("copy feedback", || {
        matches!(
            button.text_content().as_deref(),
            Some("copied" | "copy failed")
        )
    })
    .await;
    wait_for("the button to reset", || {
        button.text_content().as_deref() == Some("copy")
    })
    .await;
}

/// Mounts a panel with its stylesheet in a host of a fixed height, as an editor embeds it.
fn mount_sized_panel(height_px: u32) -> Mounted {
    user_trace_panel::styles::ensure();
    let p = mount_panel();
    p.el.set_attribute("style", &format!("height:{height_px}px"))
        .unwrap();
    p
}

/// Trace `t` with `n` text spans, "row 0" to "row n-1", in one push.
async fn push_rows(p: &Mounted, n: usize) {
    let mut lines = vec![T.to_owned()];
    for i in 0..n {
        lines.push(format!(r#"{{"id":"s{i}","process":"p","ts":{},"op":"span_create","trace":"t","span":"s{i}","kind":"text","content":"row {i}"}}"#, 10 + i));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
}

#[wasm_bindgen_test]
async fn a_trace_of_100_000_spans_mounts_only_the_rows_near_the_viewport() {
    let p = mount_sized_panel(600);
    push_rows(&p, 100_000).await;
    settle().await;
    assert_eq!(p.text(".utp-count"), "100000 spans");
    let rows = p.count(".utp-span");
    assert!(rows <= 300, "{rows} span rows mounted");
    // Follow mode keeps the newest activity in view: the last span is shown.
    let texts: Vec<String> = (0..p.count(".utp-text"))
        .map(|i| {
            p.el.query_selector_all(".utp-text")
                .unwrap()
                .item(i)
                .unwrap()
                .text_content()
                .unwrap_or_default()
        })
        .collect();
    assert!(
        texts.iter().any(|t| t == "row 99999"),
        "the newest span is mounted"
    );
    // Scrolling to the top mounts the first rows and unmounts the last ones.
    let scroller = p.element(".utp-tree");
    assert!(
        scroller.scroll_height() > 100_000,
        "placeholders keep the full height"
    );
    let height = scroller.scroll_height();
    scroller.set_scroll_top(0);
    settle().await;
    let first = p.text(".utp-text");
    assert_eq!(first, "row 0");
    let rows = p.count(".utp-span");
    assert!(rows <= 300, "{rows} span rows mounted after scrolling");
    // Away from the viewport, a group of blocks is one element: the list's DOM stays small.
    let elements = p.el.get_elements_by_tag_name("*").length();
    assert!(elements < 1_500, "{elements} elements in the panel");
    // The middle, then the top again: the rows there are shown and the height holds.
    scroller.set_scroll_top(height / 2);
    settle().await;
    let shown: Vec<u32> = (0..p.count(".utp-text"))
        .filter_map(|i| {
            let t =
                p.el.query_selector_all(".utp-text")
                    .ok()?
                    .item(i)?
                    .text_content()?;
            t.strip_prefix("row ")?.parse().ok()
        })
        .collect();
    assert!(
        shown.iter().any(|&n| (45_000..55_000).contains(&n)),
        "rows near the middle are mounted: {:?}",
        shown.first()
    );
    scroller.set_scroll_top(0);
    settle().await;
    assert_eq!(p.text(".utp-text"), "row 0");
    let now = scroller.scroll_height();
    assert!(
        (now - height).abs() < height / 20,
        "the list keeps its height: {height} px, then {now} px"
    );
    // Back and forth ten times: each jump watches new blocks, and the numbers the watched
    // elements carry are used again, not counted up (they stay about as many as the
    // elements watched at once, here some 250 groups and the blocks of the groups near).
    for i in 0..10 {
        scroller.set_scroll_top(if i % 2 == 0 { height / 2 } else { 0 });
        settle().await;
    }
    let numbers: Vec<u32> = (0..p.count("[data-utp-block]"))
        .filter_map(|i| {
            p.el.query_selector_all("[data-utp-block]")
                .ok()?
                .item(i)?
                .dyn_into::<web_sys::Element>()
                .ok()?
                .get_attribute("data-utp-block")?
                .parse()
                .ok()
        })
        .collect();
    let top = numbers.iter().copied().max().unwrap_or(0);
    assert!(
        !numbers.is_empty() && (top as usize) < 2 * numbers.len(),
        "{} elements watched, numbered up to {top}",
        numbers.len()
    );
    assert_eq!(p.text(".utp-text"), "row 0", "the top still shows its rows");
}

/// Scrolling back and forth by a viewport mounts nothing again: rows mount within one viewport
/// of the visible area and unmount only past two. With one distance for both, rows
/// at the edge were unmounted and mounted again at every turn.
#[wasm_bindgen_test]
async fn scrolling_back_and_forth_mounts_the_same_rows_once() {
    let p = mount_sized_panel(600);
    push_rows(&p, 5_000).await;
    settle().await;
    let scroller = p.element(".utp-tree");
    let middle = scroller.scroll_height() / 2;
    // Just under one viewport of the tree (its margins are in viewports of the tree).
    let step = scroller.client_height() - 20;
    // Every row mounted so far is marked; a row mounted again is a new element, unmarked.
    let mark = || {
        let rows = p.el.query_selector_all(".utp-span").unwrap();
        for i in 0..rows.length() {
            if let Some(r) = rows
                .item(i)
                .and_then(|r| r.dyn_into::<web_sys::Element>().ok())
            {
                r.set_attribute("data-seen", "").unwrap();
            }
        }
    };
    // There and back a few times: whatever is near either end mounts, and the heights of the
    // blocks first measured there settle (a block's estimate replaced by its height moves
    // the rows under a given scroll position).
    for top in [middle, middle + step, middle, middle + step, middle] {
        scroller.set_scroll_top(top);
        settle().await;
        mark();
    }
    let before = p.count(".utp-span");
    for turn in 0..6 {
        scroller.set_scroll_top(if turn % 2 == 0 { middle + step } else { middle });
        settle().await;
        let again = p.count(".utp-span:not([data-seen])");
        assert_eq!(again, 0, "turn {turn}: {again} rows mounted again");
    }
    assert_eq!(p.count(".utp-span"), before, "the same rows, none dropped");
    // Near miss: three viewports away, the rows there mount and those left behind unmount.
    scroller.set_scroll_top(middle + 3 * step);
    settle().await;
    assert!(
        p.count(".utp-span:not([data-seen])") > 0,
        "rows far away mount"
    );
    assert!(
        p.count(".utp-span[data-seen]") < before,
        "rows left far behind unmount"
    );
}

/// The fold of each root trace's header, by its label, for the headers mounted.
fn folds(p: &Mounted) -> Vec<(String, String)> {
    let headers = p.el.query_selector_all(".utp-trace-header").unwrap();
    (0..headers.length())
        .filter_map(|i| headers.item(i)?.dyn_into::<web_sys::Element>().ok())
        .map(|h| {
            let label = h
                .query_selector(".utp-label")
                .ok()
                .flatten()
                .and_then(|l| l.text_content())
                .unwrap_or_default();
            (label, h.get_attribute("aria-expanded").unwrap_or_default())
        })
        .collect()
}

/// A browser lays out at most about 33.5 million pixels in one element, and a million spans
/// would be past it (every block then seemed near and mounted). The newest root traces open by
/// default up to 100,000 span rows together (`windowing::OPEN_ROWS`); older finished ones start
/// folded, a running one stays open however old, and the reader opens a folded one.
#[wasm_bindgen_test]
async fn past_100_000_span_rows_older_finished_traces_start_folded() {
    // Oldest first: "old" (ended, one span), "live" (running, one span), then "big", newest,
    // with `big` spans.
    let lines = |big: usize| {
        let mut l = vec![
            r#"{"id":"a","process":"p","ts":1,"op":"trace_start","trace":"old","name":"old"}"#.to_owned(),
            r#"{"id":"b","process":"p","ts":1,"op":"span_create","trace":"old","span":"o","kind":"text","content":"old span"}"#.to_owned(),
            r#"{"id":"c","process":"p","ts":1,"op":"trace_end","trace":"old"}"#.to_owned(),
            r#"{"id":"d","process":"p","ts":2,"op":"trace_start","trace":"live","name":"live"}"#.to_owned(),
            r#"{"id":"e","process":"p","ts":2,"op":"span_create","trace":"live","span":"l","kind":"text","content":"live span"}"#.to_owned(),
            r#"{"id":"f","process":"p","ts":3,"op":"trace_start","trace":"big","name":"big"}"#.to_owned(),
        ];
        for i in 0..big {
            l.push(format!(r#"{{"id":"s{i}","process":"p","ts":{},"op":"span_create","trace":"big","span":"s{i}","kind":"text","content":"row {i}"}}"#, 10 + i));
        }
        l.push(r#"{"id":"g","process":"p","ts":200000,"op":"trace_end","trace":"big"}"#.to_owned());
        l
    };
    // 99,999 + 1 rows fill the budget with "big" and "live": "old" is one row past it (the
    // edge itself, 100,000 rows, is `windowing`'s unit test).
    let p = mount_sized_panel(600);
    push_lines(&p, &lines(99_999)).await;
    settle().await;
    p.element(".utp-tree").set_scroll_top(0);
    settle().await;
    let want = [("old", "false"), ("live", "true"), ("big", "true")]
        .map(|(l, f)| (l.to_owned(), f.to_owned()));
    assert_eq!(folds(&p), want);
    // Folded: its span is not shown until the reader opens it.
    assert!(!texts(&p, ".utp-text").contains(&"old span".to_owned()));
    p.element(".utp-trace-header").click();
    settle().await;
    assert_eq!(folds(&p)[0], ("old".to_owned(), "true".to_owned()));
    assert!(texts(&p, ".utp-text").contains(&"old span".to_owned()));
}

#[wasm_bindgen_test]
async fn traces_keep_their_fold_when_scrolled_out_of_view_and_back() {
    let p = mount_sized_panel(600);
    let lines: Vec<String> = (0..2_000)
        .flat_map(|i| {
            [
                format!(r#"{{"id":"t{i}","process":"p","ts":{},"op":"trace_start","trace":"t{i}","name":"trace {i}"}}"#, 10 * i + 1),
                format!(r#"{{"id":"s{i}","process":"p","ts":{},"op":"span_create","trace":"t{i}","span":"s{i}","kind":"text","content":"in trace {i}"}}"#, 10 * i + 2),
            ]
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
    let scroller = p.element(".utp-tree");
    settle().await;
    scroller.set_scroll_top(0);
    settle().await;
    assert!(
        p.count(".utp-trace") <= 300,
        "{} traces mounted",
        p.count(".utp-trace")
    );
    let first_is_mounted = |p: &Mounted| {
        let labels = p.el.query_selector_all(".utp-label").unwrap();
        (0..labels.length())
            .any(|i| labels.item(i).unwrap().text_content().as_deref() == Some("trace 0"))
    };
    assert!(first_is_mounted(&p));
    // Collapse the first trace by hand, scroll it out of the DOM and back.
    let header = p.element(".utp-trace-header");
    assert_eq!(p.text(".utp-label"), "trace 0");
    header.click();
    frame().await;
    let expanded = |p: &Mounted| {
        p.el.query_selector(".utp-trace-header")
            .unwrap()
            .unwrap()
            .get_attribute("aria-expanded")
    };
    assert_eq!(expanded(&p).as_deref(), Some("false"));
    scroller.set_scroll_top(scroller.scroll_height());
    settle().await;
    assert!(!first_is_mounted(&p), "the first trace was unmounted");
    scroller.set_scroll_top(0);
    settle().await;
    assert_eq!(p.text(".utp-label"), "trace 0");
    assert_eq!(expanded(&p).as_deref(), Some("false"), "still collapsed");
    // Expand all applies to traces mounted later too.
    let expand_all = p.element("button[title='Expand all traces']");
    expand_all.click();
    frame().await;
    assert_eq!(expanded(&p).as_deref(), Some("true"));
    let collapse_all = p.element("button[title='Collapse all traces']");
    collapse_all.click();
    scroller.set_scroll_top(scroller.scroll_height());
    settle().await;
    let open = p.count(".utp-trace-header[aria-expanded='true']");
    assert_eq!(open, 0, "traces mounted after collapse-all are collapsed");
    assert!(p.count(".utp-trace") > 0);
}

#[wasm_bindgen_test]
async fn a_10_mb_json_span_opens_lazily_with_nested_pages() {
    let p = mount_sized_panel(600);
    let rows: Vec<String> = (0..100_000)
        .map(|i| format!(r#"{{"id":{i},"name":"item {i}","score":0.123456789012345678901,"tags":["alpha","beta"],"ok":true}}"#))
        .collect();
    let content = format!(
        r#"{{"meta":{{"source":"bench"}},"rows":[{}]}}"#,
        rows.join(",")
    );
    assert!(content.len() > 9_000_000, "{} bytes", content.len());
    let line = format!(
        r#"{{"id":"big","process":"p","ts":5,"op":"span_create","trace":"t","span":"big","kind":"json","content":{content}}}"#
    );
    p.push(&[T, &line]).await;
    // Only the top level is in the DOM: `meta` and `rows`, collapsed.
    let shown = p.count(".utp-json-row");
    assert!(shown <= 4, "{shown} JSON rows mounted");
    assert!(p.el.text_content().unwrap().contains("[100000 items]"));
    let click_row = |text: &str| {
        let rows = p.el.query_selector_all(".utp-json-row").unwrap();
        let row = (0..rows.length())
            .filter_map(|i| rows.item(i))
            .find(|r| r.text_content().unwrap_or_default().contains(text))
            .unwrap_or_else(|| panic!("no JSON row contains {text}"));
        row.dyn_into::<web_sys::HtmlElement>().unwrap().click();
    };
    click_row("rows");
    frame().await;
    // 100,000 members: 10 groups of 10,000, as devtools nests them.
    assert_eq!(p.count(".utp-json-page"), 10);
    assert!(p.text(".utp-json-page").starts_with("[0 … 9999]"));
    click_row("[90000 … 99999]");
    frame().await;
    assert_eq!(p.count(".utp-json-page"), 110);
    click_row("[99900 … 99999]");
    frame().await;
    assert_eq!(p.count(".utp-json-page"), 110);
    // The page's members, each whole, from its first to the last of the array (the page's
    // start was noted when the document was decoded).
    let keys = p.el.query_selector_all(".utp-json-key").unwrap();
    let keys: Vec<String> = (0..keys.length())
        .filter_map(|i| keys.item(i)?.text_content())
        .filter(|k| k.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let want: Vec<String> = (99_900..100_000).map(|i: u32| i.to_string()).collect();
    assert_eq!(keys, want);
    assert_eq!(
        p.el.text_content().unwrap().matches("{5 keys}").count(),
        100
    );
    let members = p.count(".utp-json-row") as usize;
    assert!(
        members < 250,
        "{members} rows: one page of members, not the whole array"
    );
}

#[wasm_bindgen_test]
async fn child_traces_nest_and_orphans_attach_when_their_parent_arrives() {
    let p = mount_panel();
    // The child trace and its span arrive before the span they nest in.
    p.push(&[
        r#"{"id":"c1","process":"tool@h:2","ts":10,"op":"trace_start","trace":"c","name":"tool: search","parent_span":"s"}"#,
        r#"{"id":"c2","process":"tool@h:2","ts":11,"op":"span_create","trace":"c","span":"cs","kind":"text","content":"results"}"#,
    ])
    .await;
    assert!(p.text(".utp-orphans").contains("Waiting for their parent"));
    assert!(p.text(".utp-orphans").contains("tool: search"));
    p.push(&[T, r#"{"id":"s","process":"agent@h:1","ts":5,"op":"span_create","trace":"t","span":"s","kind":"text","content":"calling"}"#]).await;
    assert_eq!(p.count(".utp-orphans"), 0, "nothing waits any more");
    let nested =
        p.el.query_selector(".utp-span .utp-trace .utp-label")
            .unwrap()
            .expect("a nested trace");
    assert_eq!(nested.text_content().unwrap(), "tool: search");
    assert_eq!(p.count(".utp-trace"), 2);
}

/// Mounts a styled panel of a fixed size.
fn mount_panel_of(width_px: u32, height_px: u32) -> Mounted {
    let p = mount_sized_panel(height_px);
    p.el.set_attribute("style", &format!("width:{width_px}px;height:{height_px}px"))
        .unwrap();
    p
}

/// A chain of `levels` traces `t0` … each nested in the one span of the trace before it.
fn chain(levels: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..levels {
        let parent = match i {
            0 => String::new(),
            _ => format!(r#","parent_span":"s{}""#, i - 1),
        };
        lines.push(format!(r#"{{"id":"t{i}","process":"p","ts":{},"op":"trace_start","trace":"t{i}","name":"t{i}"{parent}}}"#, 2 * i + 1));
        lines.push(format!(r#"{{"id":"s{i}","process":"p","ts":{},"op":"span_create","trace":"t{i}","span":"s{i}","kind":"text","content":"in t{i}"}}"#, 2 * i + 2));
    }
    lines
}

async fn push_lines(p: &Mounted, lines: &[String]) {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
}

/// The texts of every element matching `selector`, in document order.
fn texts(p: &Mounted, selector: &str) -> Vec<String> {
    let all = p.el.query_selector_all(selector).unwrap();
    (0..all.length())
        .map(|i| all.item(i).unwrap().text_content().unwrap_or_default())
        .collect()
}

fn rect(e: &web_sys::Element) -> web_sys::DomRect {
    e.get_bounding_client_rect()
}

/// A JSON row past the indented levels says its level in a badge; in a narrow panel, with a
/// long unbroken value beside it, the badge stays on one line (a JSON row breaks anywhere).
#[wasm_bindgen_test]
async fn a_deep_json_rows_level_stays_on_one_line_beside_a_long_value() {
    let p = mount_panel_of(360, 800);
    let mut doc = format!("\"https://example.com/{}\"", "x".repeat(300));
    for d in (0..14).rev() {
        doc = format!(r#"{{"k{d}":{doc}}}"#);
    }
    let lines = [
        r#"{"id":"t","process":"p","ts":1,"op":"trace_start","trace":"t","name":"deep"}"#
            .to_owned(),
        format!(
            r#"{{"id":"j","process":"p","ts":2,"op":"span_create","trace":"t","span":"j","kind":"json","content":{doc}}}"#
        ),
    ];
    push_lines(&p, &lines).await;
    settle().await;
    for _ in 0..20 {
        let closed =
            p.el.query_selector_all(".utp-json-row[aria-expanded=false]")
                .unwrap();
        if closed.length() == 0 {
            break;
        }
        for i in 0..closed.length() {
            let row: web_sys::HtmlElement = closed.item(i).unwrap().dyn_into().unwrap();
            row.click();
        }
        settle().await;
    }
    let all = p.el.query_selector_all(".utp-json-row .utp-level").unwrap();
    let badges: Vec<web_sys::Element> = (0..all.length())
        .map(|i| all.item(i).unwrap().dyn_into().unwrap())
        .collect();
    let names: Vec<String> = badges
        .iter()
        .map(|b| b.text_content().unwrap_or_default())
        .collect();
    assert_eq!(names.last().map(String::as_str), Some("L14"), "{names:?}");
    let first = rect(&badges[0]);
    for (b, name) in badges.iter().zip(&names) {
        let r = rect(b);
        assert!(
            r.height() <= first.height() + 1.0 && r.width() > r.height(),
            "{name}: {} x {} (the first: {} x {})",
            r.width(),
            r.height(),
            first.width(),
            first.height()
        );
    }
}

#[wasm_bindgen_test]
async fn a_chain_of_1_000_nested_traces_shows_32_levels_and_opens_the_rest_in_place() {
    let p = mount_panel_of(900, 3_000);
    push_lines(&p, &chain(1_000)).await;
    settle().await;
    let labels = texts(&p, ".utp-label");
    let first: Vec<String> = (0..32).map(|i| format!("t{i}")).collect();
    assert_eq!(labels, first, "one view nests 32 levels");
    assert_eq!(
        texts(&p, ".utp-open-here"),
        vec!["▸ t32 · 968 more levels — open here"]
    );
    // Past 12 levels indentation stops and a header says its level.
    assert_eq!(
        texts(&p, ".utp-level").first().map(String::as_str),
        Some("L12")
    );
    // Later events are shown: the panel is alive.
    p.push(&[r#"{"id":"late","process":"p","ts":99999,"op":"trace_start","trace":"late","name":"after the deep one"}"#]).await;
    settle().await;
    assert!(texts(&p, ".utp-label").contains(&"after the deep one".to_owned()));
    // The way in roots the tree at level 32, with a way back.
    p.element(".utp-open-here").click();
    settle().await;
    assert_eq!(p.text(".utp-focus-place"), "t32 · level 32 in t0");
    let labels = texts(&p, ".utp-label");
    assert_eq!(labels.first().map(String::as_str), Some("t32"));
    assert_eq!(labels.len(), 32, "{labels:?}");
    assert_eq!(
        texts(&p, ".utp-open-here"),
        vec!["▸ t64 · 936 more levels — open here"]
    );
    assert_eq!(
        texts(&p, ".utp-level").first().map(String::as_str),
        Some("L44")
    );
    p.element(".utp-open-here").click();
    settle().await;
    assert_eq!(p.text(".utp-focus-place"), "t64 · level 64 in t0");
    // Back to level 32, then to every trace.
    p.element(".utp-focus-bar button").click();
    settle().await;
    assert_eq!(p.text(".utp-focus-place"), "t32 · level 32 in t0");
    p.element(".utp-focus-bar button + button").click();
    settle().await;
    assert_eq!(p.count(".utp-focus-bar"), 0);
    let labels = texts(&p, ".utp-label");
    assert_eq!(labels.first().map(String::as_str), Some("t0"));
    assert!(labels.contains(&"after the deep one".to_owned()));
}

#[wasm_bindgen_test]
async fn the_filter_applies_to_a_trace_opened_past_the_depth_cap() {
    let p = mount_panel_of(900, 3_000);
    let mut lines = chain(40);
    lines.push(
        r#"{"id":"n","process":"q","ts":500,"op":"text_append","span":"s36","text":" needle"}"#
            .to_owned(),
    );
    push_lines(&p, &lines).await;
    settle().await;
    p.element(".utp-open-here").click();
    settle().await;
    assert_eq!(p.text(".utp-focus-place"), "t32 · level 32 in t0");
    let filter: web_sys::HtmlInputElement = p.element(".utp-filter").dyn_into().unwrap();
    // Found inside the opened trace: it stays.
    type_into(&filter, "NEEDLE");
    settle().await;
    assert_eq!(
        texts(&p, ".utp-label").first().map(String::as_str),
        Some("t32")
    );
    assert_eq!(p.count(".utp-no-match"), 0);
    // Its name matches: highlighted.
    type_into(&filter, "T33");
    settle().await;
    assert_eq!(
        texts(&p, ".utp-label").first().map(String::as_str),
        Some("t32")
    );
    assert_eq!(p.text(".utp-label mark"), "t33");
    // Found only above it (t0's text): the opened view shows nothing, and says so.
    type_into(&filter, "in t0");
    settle().await;
    assert_eq!(p.count(".utp-trace"), 0, "{:?}", texts(&p, ".utp-label"));
    assert!(p.text(".utp-no-match").contains("No traces match"));
    // Clearing the filter shows the opened trace again.
    type_into(&filter, "");
    settle().await;
    assert_eq!(
        texts(&p, ".utp-label").first().map(String::as_str),
        Some("t32")
    );
    assert_eq!(p.text(".utp-focus-place"), "t32 · level 32 in t0");
}

/// `performance.now()`, in ms.
fn now_ms() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let now = js_sys::Reflect::get(&perf, &"now".into()).unwrap();
    let now: js_sys::Function = now.dyn_into().unwrap();
    now.call0(&perf).unwrap().as_f64().unwrap()
}

/// Lets the microtasks queued so far run (Leptos runs effects there).
async fn microtasks() {
    for _ in 0..4 {
        let p = js_sys::Promise::resolve(&JsValue::NULL);
        wasm_bindgen_futures::JsFuture::from(p).await.unwrap();
    }
}

#[wasm_bindgen_test]
async fn tokens_streamed_deep_below_a_way_in_cost_no_walk_of_what_is_below() {
    let n = 40_000;
    let p = mount_panel_of(900, 3_000);
    push_lines(&p, &chain(n)).await;
    settle().await;
    let count = format!("▸ t32 · {} more levels — open here", n - 32);
    assert_eq!(texts(&p, ".utp-open-here"), vec![count]);
    // What the row's count cost per batch before: a walk of everything below it.
    let t32 = p.store.with(|m| m.trace_by_key("t32").unwrap());
    let start = now_ms();
    let below = p.store.with(|m| m.levels_below(t32));
    let walk = now_ms() - start;
    assert_eq!(below, n - 33);
    // A token stream into the deepest span: each batch applied and shown.
    let mut batches = Vec::new();
    for i in 0..20 {
        let line = format!(
            r#"{{"id":"tok{i}","process":"p","ts":{},"op":"text_append","span":"s{}","text":" token"}}"#,
            1_000_000 + i,
            n - 1
        );
        let start = now_ms();
        p.store.enqueue(Pending::Events(events(&[&line])));
        p.store.flush();
        microtasks().await;
        batches.push(now_ms() - start);
    }
    batches.sort_by(f64::total_cmp);
    let median = batches[batches.len() / 2];
    assert!(
        median < walk / 3.0,
        "a batch took {median:.2} ms; a walk of what is below takes {walk:.2} ms"
    );
    // Levels still added at the end, and in a branch off the middle, are counted.
    let more = [
        format!(r#"{{"id":"x1","process":"p","ts":2000000,"op":"trace_start","trace":"x1","name":"x1","parent_span":"s{}"}}"#, n - 1),
        r#"{"id":"x2","process":"p","ts":2000001,"op":"span_create","trace":"x1","span":"xs1","kind":"text","content":"x"}"#.to_owned(),
        r#"{"id":"x3","process":"p","ts":2000002,"op":"trace_start","trace":"x2","name":"x2","parent_span":"xs1"}"#.to_owned(),
    ];
    push_lines(&p, &more).await;
    settle().await;
    let count = format!("▸ t32 · {} more levels — open here", n - 32 + 2);
    assert_eq!(texts(&p, ".utp-open-here"), vec![count]);
}

/// Whether every trace label in `p` starts inside the tree's visible area.
fn labels_on_screen(p: &Mounted) -> Result<(), String> {
    let tree = rect(&p.element(".utp-tree"));
    let all = p.el.query_selector_all(".utp-label").unwrap();
    for i in 0..all.length() {
        let e: web_sys::Element = all.item(i).unwrap().dyn_into().unwrap();
        let r = rect(&e);
        if r.left() < tree.left() || r.left() > tree.right() - 60.0 {
            return Err(format!(
                "{} starts at {} px, the tree spans {}..{} px",
                e.text_content().unwrap_or_default(),
                r.left(),
                tree.left(),
                tree.right()
            ));
        }
    }
    Ok(())
}

#[wasm_bindgen_test]
async fn deep_traces_are_mounted_and_on_screen_in_a_narrow_and_a_wide_panel() {
    // 30 levels in a 420 px side panel: every level is mounted, and starts on screen.
    let p = mount_panel_of(420, 600);
    push_lines(&p, &chain(30)).await;
    settle().await;
    assert_eq!(p.count(".utp-label"), 30);
    labels_on_screen(&p).unwrap();
    // 60 levels at 1280 px: the 32 levels of the view and the way in, all on screen.
    let p = mount_panel_of(1280, 600);
    push_lines(&p, &chain(60)).await;
    settle().await;
    assert_eq!(p.count(".utp-label"), 32);
    labels_on_screen(&p).unwrap();
    let way_in = rect(&p.element(".utp-open-here"));
    assert!(way_in.left() < rect(&p.element(".utp-tree")).right() - 200.0);
    // And at 360 px, the deepest text is still readable.
    let p = mount_panel_of(360, 600);
    push_lines(&p, &chain(32)).await;
    settle().await;
    labels_on_screen(&p).unwrap();
    let texts = p.el.query_selector_all(".utp-text").unwrap();
    let last: web_sys::Element = texts.item(texts.length() - 1).unwrap().dyn_into().unwrap();
    assert_eq!(last.text_content().unwrap(), "in t31");
    assert!(
        rect(&last).width() > 150.0,
        "{} px wide",
        rect(&last).width()
    );
}

#[wasm_bindgen_test]
async fn a_10_000_deep_json_value_opens_level_by_level_in_a_shallow_dom_on_screen() {
    let p = mount_panel_of(360, 600);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let line = format!(
        r#"{{"id":"d","process":"p","ts":2,"op":"span_create","trace":"t","span":"deep","kind":"json","content":{deep}}}"#
    );
    p.push(&[T, &line]).await;
    // Rows of a view stacked under the one shown do not count.
    let closed = ".utp-json-row[aria-expanded='false']:not([hidden] *)";
    for step in 0..100 {
        let Some(row) = p.el.query_selector(closed).unwrap() else {
            panic!("nothing to open at step {step}");
        };
        row.dyn_into::<web_sys::HtmlElement>().unwrap().click();
        frame().await;
    }
    // The DOM nests at most 32 levels; the deepest row is on screen.
    let rows =
        p.el.query_selector_all(".utp-json-row:not([hidden] *)")
            .unwrap();
    let last: web_sys::Element = rows.item(rows.length() - 1).unwrap().dyn_into().unwrap();
    let mut nesting = 0;
    let mut e = last.parent_element();
    while let Some(x) = e {
        if x.class_list().contains("utp-json-children") {
            nesting += 1;
        }
        e = x.parent_element();
    }
    assert!(nesting <= 32, "{nesting} nested levels in the DOM");
    let tree = rect(&p.element(".utp-tree"));
    assert!(
        rect(&last).left() < tree.right() - 100.0,
        "the deepest row is on screen"
    );
    let visible = ".utp-json-view:not([hidden])";
    assert_eq!(p.count(visible), 1, "one view of the value is shown");
    let place = p.text(&format!("{visible} .utp-json-place"));
    assert!(place.starts_with("level 96 · …"), "{place}");
    // Levels 97 to 100 were expanded in that view: the last row is level 101.
    let expanded = format!("{visible} .utp-json-row[aria-expanded='true']");
    assert_eq!(p.count(&expanded), 5);
    // Back shows the view above as it was left.
    p.element(&format!("{visible} .utp-json-focus button"))
        .click();
    frame().await;
    assert_eq!(p.count(visible), 1);
    assert!(p
        .text(&format!("{visible} .utp-json-place"))
        .starts_with("level 64"));
}

#[wasm_bindgen_test]
async fn an_items_span_of_100_000_items_mounts_only_the_rows_near_the_viewport() {
    let p = mount_sized_panel(600);
    // Room for one more under the model's limit of 100,000 (added below).
    let items: Vec<String> = (0..99_999)
        .map(|i| format!(r#"{{"name":"item {i}","value":{i}}}"#))
        .collect();
    let line = format!(
        r#"{{"id":"it","process":"p","ts":2,"op":"span_create","trace":"t","span":"it","kind":"items","content":[{}]}}"#,
        items.join(",")
    );
    p.push(&[T, &line]).await;
    settle().await;
    // Rows whatever the markup (a table's rows before items were virtualized).
    const ROWS: &str = ".utp-items [role=row], .utp-items tr";
    let rows = p.count(ROWS);
    assert!((1..=300).contains(&rows), "{rows} item rows mounted");
    // Follow mode shows the newest: the last item.
    assert!(texts(&p, ".utp-item-name").contains(&"item 99998".to_owned()));
    let scroller = p.element(".utp-tree");
    scroller.set_scroll_top(0);
    settle().await;
    assert_eq!(p.text(".utp-item-name"), "item 0");
    assert_eq!(p.text(".utp-item-value"), "0");
    // The middle: rows there, and still few.
    scroller.set_scroll_top(scroller.scroll_height() / 2);
    settle().await;
    let shown: Vec<u32> = texts(&p, ".utp-item-name")
        .iter()
        .filter_map(|t| t.strip_prefix("item ")?.parse().ok())
        .collect();
    assert!(
        shown.iter().any(|&n| (40_000..60_000).contains(&n)),
        "rows near the middle are mounted: {:?}",
        shown.first()
    );
    assert!(p.count(ROWS) <= 300);
    // Filtering the trace away and back mounts only what is near again.
    let input: web_sys::HtmlInputElement = p.element(".utp-filter").dyn_into().unwrap();
    type_into(&input, "no such text");
    settle().await;
    assert_eq!(p.count(ROWS), 0);
    type_into(&input, "");
    settle().await;
    let rows = p.count(ROWS);
    assert!((1..=300).contains(&rows), "{rows} item rows mounted again");
    // A new value rebuilds that row only; the others stay as they are.
    scroller.set_scroll_top(scroller.scroll_height());
    settle().await;
    let first = p.element(".utp-item");
    p.push(&[r#"{"id":"up","process":"p","ts":3,"op":"items_add","span":"it","items":[{"name":"item 99999","value":"changed"}]}"#]).await;
    settle().await;
    assert!(texts(&p, ".utp-item-value").contains(&"changed".to_owned()));
    assert!(first.is_connected(), "an unchanged row is kept as it is");
}

#[wasm_bindgen_test]
async fn a_streamed_span_its_trace_outlived_reads_unfinished_not_running() {
    let p = mount_panel();
    p.push(&[
        T,
        r#"{"id":"a","process":"p","ts":2,"op":"span_create","trace":"t","span":"s","kind":"text","content":"partial"}"#,
        r#"{"id":"b","process":"p","ts":3,"op":"span_create","trace":"t","span":"done","kind":"text","content":"whole"}"#,
        r#"{"id":"c","process":"p","ts":4,"op":"span_end","span":"done","status":"ok"}"#,
        r#"{"id":"d","process":"p","ts":5,"op":"span_create","trace":"t","span":"j","kind":"json","content":{"a":1}}"#,
    ])
    .await;
    let states = || texts(&p, ".utp-span-header .utp-status");
    assert_eq!(states(), vec!["…", "✓", ""], "while the trace runs");
    assert_eq!(p.count(".utp-span-header .utp-running"), 1);
    p.push(&[r#"{"id":"e","process":"p","ts":6,"op":"trace_end","trace":"t","status":"ok"}"#])
        .await;
    frame().await;
    assert_eq!(p.text(".utp-trace-header .utp-status"), "done");
    assert_eq!(
        states(),
        vec!["unfinished", "✓", ""],
        "after the trace ended"
    );
    assert_eq!(p.count(".utp-running"), 0, "nothing reads as running");
    assert_eq!(p.count(".utp-span-header .utp-unfinished"), 1);
}

#[wasm_bindgen_test]
async fn fifty_writers_make_three_badges_and_a_plus_n_in_natural_order_and_a_narrow_process_filter()
{
    let p = mount_panel_of(1280, 400);
    let long = format!("{}@host", "a-process-with-a-very-long-name-".repeat(5));
    let mut lines: Vec<String> = (1..=50)
        .rev()
        .map(|i| format!(r#"{{"id":"w{i}","process":"worker-{i}@h:{i}","ts":{i},"op":"trace_start","trace":"r","name":"Agent run"}}"#))
        .collect();
    lines.push(format!(
        r#"{{"id":"x","process":"{long}","ts":99,"op":"trace_start","trace":"x","name":"other"}}"#
    ));
    push_lines(&p, &lines).await;
    let header = p.element(".utp-trace-header");
    // The badges shown (not those in a hidden list).
    let badges = |h: &web_sys::HtmlElement| {
        let all = h
            .query_selector_all(".utp-badge:not(.utp-hidden *)")
            .unwrap();
        (0..all.length())
            .map(|i| all.item(i).unwrap().text_content().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let shown = badges(&header);
    assert_eq!(shown, vec!["worker-1", "worker-2", "worker-3", "+47"]);
    // "+47" lists the rest, in natural order, in its tooltip.
    let more = p.element(".utp-more");
    let rest: Vec<String> = (4..=50).map(|i| format!("worker-{i}@h:{i}")).collect();
    assert_eq!(more.get_attribute("title").unwrap(), rest.join("\n"));
    // For the keyboard and screen readers: a button in the Tab order whose name lists them,
    // which shows their badges when pressed, without folding the trace.
    assert_eq!(more.tag_name(), "BUTTON");
    assert!(more.tab_index() >= 0, "the keyboard reaches it");
    more.focus().unwrap();
    assert!(focused().is_same_node(Some(&more)));
    assert_eq!(
        more.get_attribute("aria-label").unwrap(),
        format!("47 more: {}", rest.join(", "))
    );
    assert_eq!(
        more.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    more.click();
    assert_eq!(more.get_attribute("aria-expanded").as_deref(), Some("true"));
    let all: Vec<String> = (1..=50).map(|i| format!("worker-{i}")).collect();
    assert_eq!(badges(&header)[..3], all[..3]);
    assert_eq!(badges(&header)[4..], all[3..], "the rest, shown in order");
    assert_eq!(
        header.get_attribute("aria-expanded").as_deref(),
        Some("true"),
        "the trace did not fold"
    );
    more.click();
    assert_eq!(
        more.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    assert_eq!(p.count(".utp-more-list:not(.utp-hidden) .utp-badge"), 0);
    // The process filter lists them in the same order and stays narrow: one toolbar row.
    let options = texts(&p, ".utp-process-filter option");
    assert_eq!(
        options[1],
        "a-process-with-a-very-long-name-".repeat(5) + "@host"
    );
    assert_eq!(
        options[2..5],
        ["worker-1@h:1", "worker-2@h:2", "worker-3@h:3"]
    );
    assert_eq!(options[11], "worker-10@h:10");
    let select = p.element(".utp-process-filter");
    let select_width = rect(&select).width();
    assert!(
        select_width <= 200.0,
        "the process filter is {select_width} px wide"
    );
    let toolbar = rect(&p.element(".utp-toolbar"));
    assert!(
        toolbar.height() < 50.0,
        "the toolbar is {} px tall",
        toolbar.height()
    );
}

#[wasm_bindgen_test]
async fn an_orphan_span_has_the_inset_of_a_trace_row() {
    let p = mount_panel_of(800, 400);
    p.push(&[
        r#"{"id":"o","process":"p","ts":1,"op":"span_create","trace":"later","span":"os","kind":"text","content":"waiting"}"#,
    ])
    .await;
    let tree = rect(&p.element(".utp-tree"));
    let span = rect(&p.element(".utp-orphans > .utp-span .utp-span-header"));
    assert!(
        span.left() - tree.left() >= 6.0,
        "the orphan starts {} px from the edge",
        span.left() - tree.left()
    );
}

#[wasm_bindgen_test]
async fn jump_to_newest_lands_on_the_last_row_every_time() {
    let p = mount_sized_panel(600);
    // Rows of different heights: the placeholders' estimates are off until rows measure.
    let mut lines = vec![T.to_owned()];
    for i in 0..100_000 {
        let text = match i % 7 {
            0 => format!("row {i}\\n{}", "more\\n".repeat(8)),
            _ => format!("row {i}"),
        };
        lines.push(format!(r#"{{"id":"s{i}","process":"p","ts":{},"op":"span_create","trace":"t","span":"s{i}","kind":"text","content":"{text}"}}"#, 10 + i));
    }
    push_lines(&p, &lines).await;
    settle().await;
    let scroller = p.element(".utp-tree");
    for attempt in 0..3 {
        scroller.set_scroll_top(0);
        settle().await;
        p.element(".utp-jump").click();
        settle().await;
        settle().await;
        let gap = scroller.scroll_height() - scroller.scroll_top() - scroller.client_height();
        assert!(gap <= 1, "attempt {attempt}: {gap} px short of the bottom");
        let texts = p.el.query_selector_all(".utp-text").unwrap();
        let last: web_sys::Element = texts.item(texts.length() - 1).unwrap().dyn_into().unwrap();
        assert_eq!(
            last.text_content().unwrap(),
            "row 99999",
            "attempt {attempt}"
        );
        let (row, view) = (rect(&last), rect(&scroller));
        assert!(
            row.bottom() <= view.bottom() && row.top() >= view.top(),
            "attempt {attempt}: the newest row is at {}..{}, the view {}..{}",
            row.top(),
            row.bottom(),
            view.top(),
            view.bottom()
        );
        assert_eq!(p.count(".utp-jump"), 0, "following again");
    }
}

#[wasm_bindgen_test]
async fn a_malformed_message_is_reported_and_the_stream_goes_on() {
    let p = mount_panel();
    p.push(&[T]).await;
    p.store.enqueue(Pending::Events(events(&[
        r#"{"id":"x","process":"p","ts":1,"op":"text_append","span":"nope","text":"x"}"#,
    ])));
    frame().await;
    assert!(
        p.text(".utp-notice").contains("unknown span `nope`"),
        "{}",
        p.text(".utp-statusbar")
    );
    assert!(p.text(".utp-counters").contains("1 skipped"));
    p.push(&[r#"{"id":"ok","process":"p","ts":9,"op":"span_create","trace":"t","span":"s2","kind":"text","content":"still alive"}"#]).await;
    assert_eq!(p.text(".utp-text"), "still alive");
}

#[wasm_bindgen_test]
async fn after_a_clear_new_traces_show_as_themselves_not_as_the_rows_before() {
    // The first trace after a clear takes the slot the first before it had: its row must not
    // be taken for the old one's.
    let p = mount_panel();
    p.push(&[T, r#"{"id":"s{n}","process":"p","ts":2,"op":"span_create","trace":"t","span":"s","kind":"text","content":"before"}"#]).await;
    assert_eq!(p.text(".utp-text"), "before");
    p.push(&[
        r#"{"id":"c{n}","process":"p","ts":3,"op":"clear"}"#,
        r#"{"id":"n{n}","process":"p","ts":4,"op":"trace_start","trace":"new","name":"after the clear"}"#,
        r#"{"id":"m{n}","process":"p","ts":5,"op":"span_create","trace":"new","span":"x","kind":"text","content":"after"}"#,
    ])
    .await;
    assert_eq!(p.text(".utp-trace .utp-label"), "after the clear");
    assert_eq!(p.text(".utp-text"), "after");
}

/// A snapshot part, decoded as the connection decodes it.
fn part(seq: u64, part: u32, last: bool, lines: &[&str]) -> Pending {
    let text = format!(
        r#"{{"type":"snapshot_part","seq":{seq},"part":{part},"last":{last},"events":[{}]}}"#,
        lines.join(",")
    );
    match user_trace_model::protocol::decode_server(&text) {
        Ok(m) => Pending::Server(m),
        Err(e) => panic!("{text}: {e}"),
    }
}

#[wasm_bindgen_test]
async fn a_snapshot_in_parts_shows_each_part_and_one_out_of_order_starts_over() {
    let p = mount_panel();
    p.push(&[T]).await;
    let span = |s: &str, text: &str| {
        format!(
            r#"{{"id":"snapshot:{s}","process":"p","ts":5,"op":"span_create","trace":"t2","span":"{s}","kind":"text","content":"{text}"}}"#
        )
    };
    let start = r#"{"id":"snapshot:0","process":"p","ts":1,"op":"trace_start","trace":"t2","name":"parted"}"#;
    // Part 0 replaces what the panel held, and shows at once.
    p.store
        .enqueue(part(40, 0, false, &[start, &span("a", "first part")]));
    frame().await;
    settle().await;
    assert_eq!(p.count(".utp-text"), 1, "{:?}", p.el.text_content());
    assert_eq!(p.text(".utp-text"), "first part");
    assert_eq!(p.store.last_seq(), None, "no number until the last part");
    p.store
        .enqueue(part(40, 1, false, &[&span("b", "second part")]));
    frame().await;
    settle().await;
    let third = r#"{"id":"snapshot:9","process":"p","ts":0,"op":"trace_start","trace":"t3","name":"older"}"#;
    p.store.enqueue(part(40, 2, true, &[third]));
    frame().await;
    settle().await;
    // The list of traces follows the parts after the first once, with the last.
    let labels = texts(&p, ".utp-trace-header .utp-label");
    assert_eq!(labels, ["older", "parted"], "{labels:?}");
    assert_eq!(
        texts(&p, ".utp-text"),
        ["first part", "second part"],
        "a trace shown takes its spans from every part"
    );
    assert_eq!(p.store.last_seq(), Some(40));
    let gaps = p.store.counters.get_untracked().gaps;
    // A part of another snapshot: reported, nothing of it shown, and the panel subscribes again.
    p.store
        .enqueue(part(41, 2, false, &[&span("c", "out of order")]));
    frame().await;
    settle().await;
    assert!(
        p.text(".utp-notice").contains("snapshot part 2 of seq 41"),
        "{}",
        p.text(".utp-statusbar")
    );
    assert_eq!(p.count(".utp-text"), 2);
    assert_eq!(p.store.counters.get_untracked().gaps, gaps + 1);
    assert_eq!(
        p.store.last_seq(),
        None,
        "the next subscribe asks for a whole snapshot"
    );
}

/// Types into an input as a user does: sets its value and sends the `input` event.
fn type_into(input: &web_sys::HtmlInputElement, text: &str) {
    input.set_value(text);
    let e = web_sys::Event::new("input").unwrap();
    input.dispatch_event(&e).unwrap();
}

fn key(target: &web_sys::HtmlElement, key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    let e = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&e).unwrap();
}

#[wasm_bindgen_test]
async fn the_toolbar_filters_pauses_and_opens_notices_and_the_keyboard_moves_focus() {
    let p = mount_panel();
    p.push(&[
        r#"{"id":"a","process":"agent@h:1","ts":1,"op":"trace_start","trace":"ta","name":"Plan the trip"}"#,
        r#"{"id":"b","process":"search@h:2","ts":2,"op":"trace_start","trace":"tb","name":"Find hotels"}"#,
        r#"{"id":"c","process":"search@h:2","ts":3,"op":"span_create","trace":"tb","span":"sb","kind":"text","content":"ok"}"#,
    ])
    .await;
    settle().await;
    let labels = |p: &Mounted| {
        let l = p.el.query_selector_all(".utp-label").unwrap();
        (0..l.length())
            .map(|i| l.item(i).unwrap().text_content().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(labels(&p), ["Plan the trip", "Find hotels"]);

    // Text filter, case-insensitive; cleared, everything is back.
    let filter: web_sys::HtmlInputElement = p.element(".utp-filter").dyn_into().unwrap();
    type_into(&filter, "HOTEL");
    settle().await;
    assert_eq!(labels(&p), ["Find hotels"]);
    type_into(&filter, "");
    settle().await;
    assert_eq!(labels(&p).len(), 2);

    // The process filter lists the processes that wrote and keeps the traces of one.
    let select = p.element(".utp-process-filter");
    assert_eq!(
        p.count(".utp-process-filter option"),
        3,
        "all + two processes"
    );
    js_sys::Reflect::set(&select, &"value".into(), &"agent@h:1".into()).unwrap();
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    settle().await;
    assert_eq!(labels(&p), ["Plan the trip"]);
    // A process that starts writing later joins the list; the choice stays.
    p.push(&[
        r#"{"id":"n","process":"late@h:3","ts":5,"op":"trace_start","trace":"tn","name":"Late"}"#,
    ])
    .await;
    settle().await;
    assert_eq!(p.count(".utp-process-filter option"), 4);
    let chosen = js_sys::Reflect::get(&select, &"value".into()).unwrap();
    assert_eq!(chosen.as_string().as_deref(), Some("agent@h:1"));
    assert_eq!(labels(&p), ["Plan the trip"]);
    js_sys::Reflect::set(&select, &"value".into(), &"".into()).unwrap();
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    settle().await;

    // Paused: events are received but not shown; resumed: they are.
    let pause = p.element("button[title^='Pause rendering']");
    pause.click();
    frame().await;
    assert_eq!(pause.text_content().unwrap(), "Resume");
    assert_eq!(pause.get_attribute("aria-pressed").as_deref(), Some("true"));
    p.push(&[r#"{"id":"d","process":"search@h:2","ts":4,"op":"text_append","span":"sb","text":" and more"}"#]).await;
    assert_eq!(p.text(".utp-text"), "ok", "nothing changes while paused");
    pause.click();
    settle().await;
    assert_eq!(p.text(".utp-text"), "ok and more");
    assert_eq!(pause.text_content().unwrap(), "Pause");

    // Two notices: the latest is shown with a count; clicking it lists both, newest first.
    for id in ["x1", "x2"] {
        let line = format!(
            r#"{{"id":"{id}","process":"p","ts":9,"op":"text_append","span":"{id}","text":"x"}}"#
        );
        p.push(&[line.as_str()]).await;
    }
    assert!(
        p.text(".utp-notice").contains("(+1)"),
        "{}",
        p.text(".utp-notice")
    );
    assert_eq!(p.count(".utp-notices li"), 0);
    p.element(".utp-notice").click();
    frame().await;
    assert_eq!(p.count(".utp-notices li"), 2);
    assert!(p.text(".utp-notices li").contains("`x2`"), "newest first");

    // Arrow keys move focus among the tree's items; left collapses, right expands.
    let tree = p.element(".utp-tree");
    key(&tree, "ArrowDown");
    let focused = || document().active_element().unwrap();
    assert!(focused()
        .text_content()
        .unwrap_or_default()
        .contains("Plan the trip"));
    key(&tree, "ArrowDown");
    assert!(focused()
        .text_content()
        .unwrap_or_default()
        .contains("Find hotels"));
    key(&tree, "ArrowLeft");
    frame().await;
    assert_eq!(
        focused().get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    assert_eq!(p.count(".utp-span"), 0, "collapsed: its span is gone");
    key(&tree, "ArrowRight");
    frame().await;
    assert_eq!(p.count(".utp-span"), 1);
}

#[wasm_bindgen_test]
async fn rows_taken_out_of_the_dom_are_freed() {
    if !can_collect_garbage() {
        return;
    }
    let p = mount_panel();
    let long_text = format!(
        r#"{{"id":"e{{n}}","process":"p","ts":4,"op":"span_create","trace":"t","span":"long","kind":"text","content":"{}"}}"#,
        "many words ".repeat(300)
    );
    p.push(&[
        T,
        r#"{"id":"e{n}","process":"p","ts":2,"op":"span_create","trace":"t","span":"js","kind":"json","content":{"a":{"b":[1,2,3]},"c":"d"}}"#,
        r#"{"id":"e{n}","process":"p","ts":3,"op":"span_create","trace":"t","span":"tx","kind":"text","content":"hello"}"#,
        &long_text,
    ])
    .await;
    settle().await;
    // A JSON row with copy buttons and a click listener, collapsed away.
    let rows = || {
        p.el.query_selector_all(".utp-json-children .utp-json-row")
            .unwrap()
    };
    rows()
        .item(0)
        .unwrap()
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    // Only a weak reference is kept (a Rust handle would keep the element alive).
    let nested = {
        let nested: web_sys::Element = rows().item(1).unwrap().dyn_into().unwrap();
        let key = nested.query_selector(".utp-json-key").unwrap().unwrap();
        assert_eq!(key.text_content().as_deref(), Some("b"));
        weak(&nested)
    };
    p.element(".utp-json-row").click();
    assert_eq!(rows().length(), 0, "collapsed");
    assert!(
        !alive_after_gc(&nested).await,
        "a collapsed JSON row is freed"
    );

    // A text span that was hovered (so it has its copy button), then cleared away.
    let text = {
        let text = p.element(".utp-text-span");
        reach(&text);
        weak(&text)
    };
    assert_eq!(p.count(".utp-text-span .utp-copy"), 1);
    // A text long enough to scroll on its own: it listens for the browser skipping it.
    let long = {
        let long = p.el.query_selector(".utp-text.utp-long").unwrap().unwrap();
        weak(&long)
    };
    let trace = weak(&p.element(".utp-trace"));
    p.store.clear();
    settle().await;
    assert_eq!(p.count(".utp-trace"), 0);
    assert!(!alive_after_gc(&text).await, "a cleared text span is freed");
    assert!(!alive_after_gc(&long).await, "a cleared long text is freed");
    assert!(!alive_after_gc(&trace).await, "a cleared trace is freed");
}

#[wasm_bindgen_test]
async fn unmounted_panels_are_freed_whoever_made_their_store() {
    if !can_collect_garbage() {
        return;
    }
    // A panel that made its own store.
    let p = mount_panel();
    p.push(&[T]).await;
    let (section, trace) = (
        weak(&p.element(".utp-panel")),
        weak(&p.element(".utp-trace")),
    );
    drop(p);
    assert!(
        !alive_after_gc(&section).await,
        "the unmounted panel is freed"
    );
    assert!(!alive_after_gc(&trace).await, "its traces are freed");

    // The host's store, made outside the panels (so before `mount_to` starts the executor):
    // it lives on after a panel is unmounted.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let store = Store::new(Default::default());
    let mount = |el: &web_sys::HtmlElement| {
        leptos::mount::mount_to(el.clone(), move || {
            view! { <UserTracePanel store /> }.into_any()
        })
    };
    let (el, other) = (host(), host());
    let first = mount(&el);
    store.enqueue(Pending::Events(events(&[
        T,
        r#"{"id":"e{n}","process":"p","ts":2,"op":"span_create","trace":"t","span":"tx","kind":"text","content":"hello","source":"graph/llm"}"#,
    ])));
    settle().await;
    let section = weak(&el.query_selector(".utp-panel").unwrap().expect("the panel"));
    let span = weak(
        &el.query_selector(".utp-text-span")
            .unwrap()
            .expect("its span"),
    );
    drop(first);
    settle().await;
    assert!(el.query_selector(".utp-panel").unwrap().is_none());
    assert!(
        !alive_after_gc(&section).await,
        "the unmounted panel is freed"
    );
    assert!(!alive_after_gc(&span).await, "its rows are freed");
    // Two panels on the store: the older one going must not take the newer one's place.
    let second = mount(&other);
    let _third = mount(&el);
    settle().await;
    drop(second);
    assert!(store.reveal("graph/llm"));
    settle().await;
    assert!(
        el.query_selector(".utp-found").unwrap().is_some(),
        "the panel still mounted reveals the span"
    );
}

#[wasm_bindgen_test]
async fn panels_a_javascript_host_is_done_with_are_freed() {
    if !can_collect_garbage() {
        return;
    }
    let trace = r#"[{"id":"1","process":"p","ts":1,"op":"trace_start","trace":"t","name":"run"},{"id":"2","process":"p","ts":2,"op":"span_create","trace":"t","span":"s","kind":"text","content":"hi"}]"#;
    // What a page would still hold of a panel: weak references to its section and its span.
    let held = |el: &web_sys::Element| {
        (
            weak(&el.query_selector(".utp-panel").unwrap().expect("the panel")),
            weak(
                &el.query_selector(".utp-text-span")
                    .unwrap()
                    .expect("its span"),
            ),
        )
    };
    // `mount` then `dispose()`, and `mount` then the handle freed without it.
    for disposed in [true, false] {
        let el = host();
        let mut handle = user_trace_panel::js::mount(el.clone(), JsValue::UNDEFINED);
        handle.push(trace.into());
        settle().await;
        let weaks = held(&el);
        if disposed {
            handle.dispose();
        }
        drop(handle);
        settle().await;
        freed(&format!("disposed {disposed}"), weaks).await;
    }
    // The custom element, taken out of the page.
    user_trace_panel::js::define_element();
    let el = document().create_element("user-trace-panel").unwrap();
    add_on_top(&el);
    let push: js_sys::Function = js_sys::Reflect::get(&el, &"push".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    push.call1(&el, &js_sys::JSON::parse(trace).unwrap())
        .unwrap();
    settle().await;
    let weaks = held(&el);
    el.remove();
    drop(el);
    settle().await;
    freed("custom element", weaks).await;
}

/// A JavaScript host that mounts a panel and keeps no reference to its handle still has its
/// panel, live, after garbage is collected: it goes with `dispose()`, as other UI roots do.
/// Through the handle as JavaScript sees it (`js::mount_js`), where the collector frees what
/// nothing holds.
#[wasm_bindgen_test]
async fn a_panel_whose_handle_the_host_dropped_stays_until_disposed() {
    if !can_collect_garbage() {
        return;
    }
    let call = |h: &JsValue, method: &str, arg: &JsValue| {
        js_sys::Reflect::get(h, &method.into())
            .unwrap()
            .dyn_into::<js_sys::Function>()
            .expect(method)
            .call1(h, arg)
            .unwrap()
    };
    let span = |id: &str, text: &str| {
        format!(
            r#"[{{"id":"t{id}","process":"p","ts":1,"op":"trace_start","trace":"t","name":"run"}},{{"id":"{id}","process":"p","ts":2,"op":"span_create","trace":"t","span":"{id}","kind":"text","content":"{text}"}}]"#
        )
    };
    let el = host();
    let handle = user_trace_panel::js::mount_js(el.clone(), JsValue::UNDEFINED);
    call(&handle, "push", &span("a", "first").into());
    settle().await;
    let kept = weak(&handle);
    drop(handle);
    assert!(
        alive_after_gc(&kept).await,
        "the handle of a mounted panel is not collected"
    );
    let section = el
        .query_selector(".utp-panel")
        .unwrap()
        .expect("still mounted");
    assert!(section.is_connected());
    // Still live: what is pushed through the handle shows.
    let handle = js_sys::Reflect::get(&kept, &"deref".into())
        .unwrap()
        .dyn_into::<js_sys::Function>()
        .unwrap()
        .call0(&kept)
        .unwrap();
    call(&handle, "push", &span("b", "second").into());
    settle().await;
    let shown = el.text_content().unwrap_or_default();
    assert!(
        shown.contains("first") && shown.contains("second"),
        "{shown}"
    );
    // Disposed, it goes, and the handle with it once the host lets go.
    let gone = weak(&section);
    call(&handle, "dispose", &JsValue::UNDEFINED);
    assert!(!section.is_connected(), "dispose() unmounts");
    drop((handle, section));
    settle().await;
    assert!(!alive_after_gc(&gone).await, "a disposed panel is freed");
    assert!(!alive_after_gc(&kept).await, "and its handle, dropped");
    // `free()` without `dispose()` unmounts too.
    let el = host();
    let handle = user_trace_panel::js::mount_js(el.clone(), JsValue::UNDEFINED);
    call(&handle, "push", &span("c", "third").into());
    settle().await;
    let section = el.query_selector(".utp-panel").unwrap().expect("mounted");
    call(&handle, "free", &JsValue::UNDEFINED);
    assert!(!section.is_connected(), "free() unmounts");
}

/// Asserts that the panel's section and span that `weaks` refer to were collected.
async fn freed(what: &str, (section, span): (JsValue, JsValue)) {
    assert!(!alive_after_gc(&section).await, "{what}: panel freed");
    assert!(!alive_after_gc(&span).await, "{what}: span freed");
}

#[wasm_bindgen_test]
async fn what_the_reader_expanded_in_an_items_span_stays_expanded_when_the_span_ends() {
    let p = mount_panel();
    p.push(&[
        T,
        r#"{"id":"e{n}","process":"p","ts":2,"op":"span_create","trace":"t","span":"it","kind":"items","content":[{"name":"cost","value":{"usd":0.5}}]}"#,
    ])
    .await;
    settle().await;
    p.element(".utp-items .utp-json-row").click();
    assert_eq!(p.count(".utp-items .utp-json-number"), 1, "expanded");
    p.push(&[r#"{"id":"end","process":"p","ts":3,"op":"span_end","span":"it"}"#])
        .await;
    settle().await;
    assert!(p.text(".utp-span-header").contains('✓'), "the span ended");
    assert_eq!(p.count(".utp-items .utp-json-number"), 1, "still expanded");
}

const HOSTILE: &str = r#"<img src=x onerror="window.__utpPwned=1"><script>window.__utpPwned=1</script><style>*{display:none}</style><a href="javascript:window.__utpPwned=1">x</a>"#;

#[wasm_bindgen_test]
async fn hostile_content_is_shown_as_text_and_never_runs() {
    // Sized: once a test has added the stylesheet, an unsized host gives the tree no height,
    // and the virtualized lists would mount nothing.
    let p = mount_sized_panel(2_000);
    let h = serde_json::to_string(HOSTILE).unwrap();
    let lines = [
        format!(r#"{{"id":"1","process":{h},"ts":1,"op":"trace_start","trace":"t","name":{h}}}"#),
        format!(
            r#"{{"id":"2","process":{h},"ts":2,"op":"span_create","trace":"t","span":"a","kind":"text","title":{h},"content":{h}}}"#
        ),
        format!(
            r#"{{"id":"3","process":"p","ts":3,"op":"span_create","trace":"t","span":"b","kind":"markdown","content":{h}}}"#
        ),
        format!(
            r#"{{"id":"4","process":"p","ts":4,"op":"span_create","trace":"t","span":"c","kind":"json","content":{{{h}:{h}}}}}"#
        ),
        format!(
            r#"{{"id":"5","process":"p","ts":5,"op":"span_create","trace":"t","span":"d","kind":"items","content":[{{"name":{h},"value":{h}}}]}}"#
        ),
        format!(
            r#"{{"id":"6","process":"p","ts":6,"op":"span_create","trace":"t","span":"e","kind":"error","content":{{"message":{h},"details":{h}}}}}"#
        ),
        format!(
            r#"{{"id":"7","process":"p","ts":7,"op":"span_create","trace":"t","span":"f","kind":{h},"content":{h}}}"#
        ),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
    sleep(50).await;
    for tag in ["img", "script", "style"] {
        assert_eq!(p.count(tag), 0, "no <{tag}> was injected");
    }
    assert_eq!(p.count("a"), 0, "no javascript: link was made");
    let pwned = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__utpPwned".into()).unwrap();
    assert!(pwned.is_undefined(), "no script ran");
    assert!(p.text(".utp-label").contains("<script>"), "shown as text");
    assert!(
        p.text(".utp-markdown").contains("<img src=x"),
        "markdown shows raw HTML as text"
    );
}

#[wasm_bindgen_test]
async fn hostile_structures_render_and_the_stream_goes_on() {
    let p = mount_sized_panel(600);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let keys: Vec<String> = (0..1_000_000).map(|i| format!(r#""k{i}":{i}"#)).collect();
    let million = format!("{{{}}}", keys.join(","));
    let lines = [
        T.to_owned(),
        format!(r#"{{"id":"d","process":"p","ts":2,"op":"span_create","trace":"t","span":"deep","kind":"json","title":"deep","content":{deep}}}"#),
        format!(r#"{{"id":"m","process":"p","ts":3,"op":"span_create","trace":"t","span":"million","kind":"json","title":"million","content":{million}}}"#),
        // The same span id from another process: refused with a reason, the rest goes on.
        r#"{"id":"x","process":"q","ts":4,"op":"span_create","trace":"t","span":"deep","kind":"text","content":"collides"}"#.to_owned(),
        r#"{"id":"after","process":"p","ts":5,"op":"span_create","trace":"t","span":"after","kind":"text","content":"still streaming"}"#.to_owned(),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
    assert_eq!(p.count(".utp-span"), 3);
    let all = p.el.text_content().unwrap_or_default();
    assert!(
        all.contains("[1 item]"),
        "the deep array shows its first level"
    );
    assert!(all.contains("still streaming"), "the stream went on");
    assert!(
        p.text(".utp-counters").contains("1 skipped"),
        "{}",
        p.text(".utp-counters")
    );
    // The million keys (the root is open) show as 100 groups, not a million rows.
    assert_eq!(p.count(".utp-json-page"), 100);
    assert!(p.count(".utp-json-row") < 400);
    // Walking 50 levels into the deep array, one click each, keeps working.
    for level in 0..50 {
        let carets =
            p.el.query_selector_all(".utp-json-row.utp-clickable[aria-expanded='false']")
                .unwrap();
        let deep_row = (0..carets.length())
            .filter_map(|i| carets.item(i))
            .find(|r| r.text_content().unwrap_or_default().contains("[1 item]"));
        let Some(row) = deep_row else {
            panic!("no collapsed level at depth {level}");
        };
        row.dyn_into::<web_sys::HtmlElement>().unwrap().click();
        frame().await;
    }
}

#[wasm_bindgen_test]
async fn the_js_api_mounts_pushes_and_clears() {
    let el = host();
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"theme".into(), &"dark".into()).unwrap();
    let mut handle = user_trace_panel::js::mount(el.clone(), options.into());
    assert_eq!(
        el.query_selector(".utp-panel")
            .unwrap()
            .unwrap()
            .get_attribute("data-theme")
            .as_deref(),
        Some("dark")
    );
    let batch = js_sys::JSON::parse(
        r#"[{"id":"1","process":"host","ts":1,"op":"trace_start","trace":"t","name":"Pushed by the host"},
            {"id":"2","process":"host","ts":2,"op":"span_create","trace":"t","span":"s","kind":"text","content":"hi"},
            {"id":"3","process":"host","ts":3,"op":"bogus"}]"#,
    )
    .unwrap();
    handle.push(batch);
    frame().await;
    assert_eq!(
        el.query_selector(".utp-label")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "Pushed by the host"
    );
    assert!(el
        .query_selector(".utp-notice")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap()
        .contains("unknown op `bogus`"));
    handle.push(
        r#"{"id":"4","process":"host","ts":4,"op":"text_append","span":"s","text":" there"}"#
            .into(),
    );
    frame().await;
    assert_eq!(
        el.query_selector(".utp-text")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "hi there"
    );
    handle.clear();
    frame().await;
    assert!(el.query_selector(".utp-trace").unwrap().is_none());
    handle.dispose();
    assert!(el.query_selector(".utp-panel").unwrap().is_none());
    // A handle freed without `dispose()` (JavaScript's `free()`) unmounts its panel too.
    let handle = user_trace_panel::js::mount(el.clone(), JsValue::UNDEFINED);
    assert!(el.query_selector(".utp-panel").unwrap().is_some());
    drop(handle);
    assert!(el.query_selector(".utp-panel").unwrap().is_none());
}

// End to end: the real runtime on loopback (started by `cargo xtask test`).

/// Posts events to the runtime's ingest path, as a producer would.
async fn produce(addr: &str, events: &[String]) {
    let body = format!(r#"{{"type":"events","events":[{}]}}"#, events.join(","));
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    // Cross-origin: the runtime answers with CORS headers for allowed origins.
    init.set_mode(web_sys::RequestMode::Cors);
    init.set_body(&wasm_bindgen::JsValue::from_str(&body));
    let promise = web_sys::window()
        .unwrap()
        .fetch_with_str_and_init(&format!("http://{addr}/v1/ingest"), &init);
    let response: web_sys::Response = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("the runtime is reachable")
        .dyn_into()
        .unwrap();
    assert!(
        response.ok(),
        "the runtime accepted the events: {}",
        response.status()
    );
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        sleep(25).await;
    }
    panic!("timed out waiting for {what}");
}

#[wasm_bindgen_test]
async fn live_stream_and_resume_after_a_cut_against_the_real_runtime() {
    let Some(addr) = option_env!("UTP_TEST_RUNTIME") else {
        web_sys::console::warn_1(
            &"UTP_TEST_RUNTIME unset: run `cargo xtask test` for end-to-end tests".into(),
        );
        return;
    };
    let run = format!("{:x}", (js_sys::Math::random() * 1e12) as u64);
    let ev = |n: usize, body: String| {
        format!(r#"{{"id":"{run}-{n}","process":"e2e@browser","ts":{n},{body}}}"#)
    };
    let span = format!("s-{run}");
    produce(
        addr,
        &[
            ev(0, format!(r#""op":"trace_start","trace":"t-{run}","name":"e2e {run}""#)),
            ev(1, format!(r#""op":"span_create","trace":"t-{run}","span":"{span}","kind":"text","content":"start""#)),
        ],
    )
    .await;

    let p = mount_panel();
    let status = RwSignal::new(user_trace_panel::connection::Status::Offline);
    let conn = user_trace_panel::connection::Connection::open(
        format!("ws://{addr}/v1/panel"),
        p.store,
        status,
    );
    // The runtime may hold other runs' traces too: find ours by its label.
    let shown = |p: &Mounted| -> String {
        trace_labelled(&p.el, &format!("e2e {run}"))
            .and_then(|t| t.query_selector(".utp-text").ok().flatten())
            .and_then(|pre| pre.text_content())
            .unwrap_or_default()
    };
    wait_for("the snapshot with our trace", || shown(&p) == "start").await;
    assert_eq!(
        status.get_untracked(),
        user_trace_panel::connection::Status::Live
    );

    let mut want = String::from("start");
    for round in 0..3 {
        // Live tokens.
        let batch: Vec<String> = (0..20)
            .map(|i| {
                want.push_str(&format!(" r{round}t{i}"));
                ev(
                    100 + round * 100 + i,
                    format!(r#""op":"text_append","span":"{span}","text":" r{round}t{i}""#),
                )
            })
            .collect();
        produce(addr, &batch).await;
        wait_for("live tokens", || shown(&p) == want).await;
        // Cut the connection; tokens sent meanwhile arrive after the resume, once.
        conn.interrupt();
        let batch: Vec<String> = (20..40)
            .map(|i| {
                want.push_str(&format!(" r{round}t{i}"));
                ev(
                    100 + round * 100 + i,
                    format!(r#""op":"text_append","span":"{span}","text":" r{round}t{i}""#),
                )
            })
            .collect();
        produce(addr, &batch).await;
        wait_for("the resume", || shown(&p) == want).await;
    }
    assert_eq!(
        p.store.counters.get_untracked().rejected,
        0,
        "nothing shown twice or refused"
    );
    conn.dispose();
}

/// A JSON span larger than a snapshot part comes in a part of its own, and the panel keeps
/// that frame's bytes rather than a copy: the tree reads the value at its place in the frame,
/// at every level (the top, a group of pages, a page, a member).
#[wasm_bindgen_test]
async fn a_large_json_span_from_a_snapshot_reads_in_place_in_its_frame() {
    let Some(addr) = option_env!("UTP_TEST_RUNTIME") else {
        web_sys::console::warn_1(
            &"UTP_TEST_RUNTIME unset: run `cargo xtask test` for end-to-end tests".into(),
        );
        return;
    };
    let run = format!("{:x}", (js_sys::Math::random() * 1e12) as u64);
    // About 2 MB: over the runtime's 1 MiB parts.
    let rows: Vec<String> = (0..30_000)
        .map(|i| format!(r#"{{"id":{i},"name":"item {i} of {run}","ok":true}}"#))
        .collect();
    let content = format!(
        r#"{{"meta":{{"run":"{run}"}},"rows":[{}]}}"#,
        rows.join(",")
    );
    assert!(content.len() > 1 << 20, "{} bytes", content.len());
    produce(
        addr,
        &[
            format!(r#"{{"id":"{run}-0","process":"e2e@browser","ts":1,"op":"trace_start","trace":"t-{run}","name":"big {run}"}}"#),
            format!(r#"{{"id":"{run}-1","process":"e2e@browser","ts":2,"op":"span_create","trace":"t-{run}","span":"j-{run}","kind":"json","content":{content}}}"#),
        ],
    )
    .await;
    let p = mount_sized_panel(600);
    let status = RwSignal::new(user_trace_panel::connection::Status::Offline);
    let conn = user_trace_panel::connection::Connection::open(
        format!("ws://{addr}/v1/panel"),
        p.store,
        status,
    );
    // Our trace, found by its label (the runtime holds other tests' traces too).
    let ours = |p: &Mounted| trace_labelled(&p.el, &format!("big {run}"));
    wait_for("our trace from the snapshot", || {
        ours(&p).is_some_and(|t| {
            t.text_content()
                .unwrap_or_default()
                .contains("[30000 items]")
        })
    })
    .await;
    // The value is the frame's text, not a copy: it holds the frame around it too.
    let (held, len) = p.store.with(|m| {
        let span = m.span_by_key(&format!("j-{run}")).and_then(|id| m.span(id));
        match span.map(|s| &s.content) {
            Some(Content::Json(j)) => (j.held_bytes(), j.get().len()),
            _ => (0, 0),
        }
    });
    assert_eq!(len, content.len());
    assert!(held > len, "held {held} bytes for a value of {len}: a copy");
    let trace = ours(&p).unwrap();
    let at = |path: &str, what: &str| -> web_sys::HtmlElement {
        trace
            .query_selector(&format!("[data-path='{path}']{what}"))
            .unwrap()
            .unwrap_or_else(|| panic!("no {what} at {path}"))
            .dyn_into()
            .unwrap()
    };
    let click_row = |text: &str| {
        let rows = trace.query_selector_all(".utp-json-row").unwrap();
        let row = (0..rows.length())
            .filter_map(|i| rows.item(i))
            .find(|r| r.text_content().unwrap_or_default().contains(text))
            .unwrap_or_else(|| panic!("no JSON row contains {text}"));
        row.dyn_into::<web_sys::HtmlElement>().unwrap().click();
    };
    hook_clipboard(false);
    // Every level reads the value at its place in the frame: the top, a member, a group of
    // pages, a page, a member of it; a copy hands over exactly the value.
    at("$", " [aria-label='Copy value']").click();
    click_row("meta");
    frame().await;
    at("$.meta.run", " [aria-label='Copy value']").click();
    click_row("rows");
    frame().await;
    click_row("[20000 … 29999]");
    frame().await;
    click_row("[29900 … 29999]");
    frame().await;
    for i in [29900, 29999] {
        at(&format!("$.rows[{i}]"), " [aria-label='Copy value']").click();
        at(&format!("$.rows[{i}]"), "").click();
    }
    frame().await;
    settle().await;
    let text = trace.text_content().unwrap();
    assert!(
        text.contains(&format!("item 29999 of {run}")),
        "the last member"
    );
    assert!(
        text.contains(&format!("item 29900 of {run}")),
        "the page's first"
    );
    assert!(!text.contains("item 29899 "), "nothing of the page before");
    let copies = copied();
    assert_eq!(copies.len(), 4, "{copies:?}");
    assert!(copies[0] == content, "the whole value, exactly");
    assert_eq!(copies[1], format!("\"{run}\""));
    assert_eq!(copies[2], rows[29900]);
    assert_eq!(copies[3], rows[29999]);
    conn.dispose();
}

// Issue 15: content shown faithfully, safely and readably.

/// A panel with its stylesheet in a host `width` px wide and `height` px tall.
fn mount_panel_sized(width: u32, height: u32) -> Mounted {
    let p = mount_sized_panel(height);
    p.el.set_attribute("style", &format!("width:{width}px;height:{height}px"))
        .unwrap();
    p
}

/// A `text_append` of `text` (a JSON string's content, escapes allowed) to span `s`.
fn append_line(id: &str, text: &str) -> String {
    format!(r#"{{"id":"{id}","process":"p","ts":4,"op":"text_append","span":"s","text":"{text}"}}"#)
}

#[wasm_bindgen_test]
async fn a_streamed_text_reads_and_selects_exactly_as_sent_whatever_its_blocks() {
    let p = mount_panel_sized(700, 900);
    p.push(&[T, r#"{"id":"s","process":"p","ts":3,"op":"span_create","trace":"t","span":"s","kind":"text","content":"Answer:"}"#]).await;
    let mut want = String::from("Answer:");
    // A paragraph of several blocks without a newline, then paragraphs with blank lines and a
    // tab, streamed token by token.
    want.push_str(&push_tokens(&p, 0..1_500).await);
    let mut lines = Vec::new();
    for i in 0..1_200 {
        let (wire, text) = match i % 100 {
            0 => ("\\n\\nPara", "\n\nPara"),
            50 => ("\\n\\tindented", "\n\tindented"),
            _ => (" more", " more"),
        };
        lines.push(append_line(&format!("b{i}"), wire));
        want.push_str(text);
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
    settle().await;
    let pre = p.element(".utp-text");
    assert_eq!(pre.text_content().unwrap_or_default(), want);
    assert!(text_blocks(&pre) >= 4, "{} blocks", text_blocks(&pre));
    // Selecting all of it and copying gives exactly the text sent: no `\n` between blocks.
    let selection = web_sys::window().unwrap().get_selection().unwrap().unwrap();
    selection.select_all_children(&pre).unwrap();
    let selected: String = selection.to_string().into();
    selection.remove_all_ranges().unwrap();
    assert_eq!(selected.len(), want.len());
    assert!(selected == want, "the selection differs from the text sent");
    // It lays out as the same text in one node does: no extra line boxes.
    let one: web_sys::HtmlElement = pre.clone_node().unwrap().dyn_into().unwrap();
    // Laid out where it is, below the view (a full text off screen is not).
    one.class_list().remove_1("utp-full").unwrap();
    one.set_text_content(Some(&want));
    pre.parent_node().unwrap().append_child(&one).unwrap();
    assert!(pre.scroll_height() > 2_000, "{}", pre.scroll_height());
    assert_eq!(pre.scroll_height(), one.scroll_height());
    // Narrower, the lines change: the blocks follow them.
    p.el.set_attribute("style", "width:430px;height:900px")
        .unwrap();
    settle().await;
    assert!(pre.scroll_height() > 3_000, "{}", pre.scroll_height());
    assert_eq!(pre.scroll_height(), one.scroll_height());
    selection.select_all_children(&pre).unwrap();
    let selected: String = selection.to_string().into();
    selection.remove_all_ranges().unwrap();
    assert!(selected == want, "the selection differs from the text sent");
    one.remove();
}

/// The computed `property` of the first element matching `selector` in `root`.
fn computed(root: &web_sys::Element, selector: &str, property: &str) -> String {
    let el = root
        .query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no element matches {selector}"));
    web_sys::window()
        .unwrap()
        .get_computed_style(&el)
        .unwrap()
        .unwrap()
        .get_property_value(property)
        .unwrap()
}

/// The relative luminance of a computed `rgb(r, g, b)` colour (WCAG 2).
fn luminance(rgb: &str) -> f64 {
    let parts: Vec<f64> = rgb
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .map(|p| p.trim().parse::<f64>().unwrap() / 255.0)
        .collect();
    let lin = |c: f64| {
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(parts[0]) + 0.7152 * lin(parts[1]) + 0.0722 * lin(parts[2])
}

#[wasm_bindgen_test]
async fn every_token_colour_and_link_is_readable_in_both_themes() {
    let tokens = [
        ".utp-json-key",
        ".utp-json-string",
        ".utp-json-number",
        ".utp-json-bool",
        ".utp-markdown a",
        ".utp-label",
    ];
    for (theme, bg) in [("dark", "rgb(13, 17, 23)"), ("light", "rgb(255, 255, 255)")] {
        let el = host();
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"theme".into(), &theme.into()).unwrap();
        let handle = user_trace_panel::js::mount(el.clone(), options.into());
        handle.push(
            r#"[{"id":"1","process":"p","ts":1,"op":"trace_start","trace":"t","name":"T"},
                {"id":"2","process":"p","ts":2,"op":"span_create","trace":"t","span":"j","kind":"json","content":{"k":"s","n":1,"b":true}},
                {"id":"3","process":"p","ts":3,"op":"span_create","trace":"t","span":"m","kind":"markdown","content":"see [docs](https://example.com)"}]"#
                .into(),
        );
        settle().await;
        assert_eq!(computed(&el, ".utp-panel", "background-color"), bg);
        let background = luminance(bg);
        for token in tokens {
            let colour = computed(&el, token, "color");
            let fg = luminance(&colour);
            let contrast = (fg.max(background) + 0.05) / (fg.min(background) + 0.05);
            assert!(
                contrast >= 4.5,
                "{theme}: {token} is {colour} on {bg}: contrast {contrast:.2}"
            );
            if token == ".utp-markdown a" {
                // Not the browser's own link blue (#0000ee), unreadable on dark.
                assert_ne!(colour, "rgb(0, 0, 238)", "{theme}");
            }
        }
        drop(handle);
    }
    // Without a theme the panel takes the system's: both schemes, chosen by the browser.
    let el = host();
    let handle = user_trace_panel::js::mount(el.clone(), JsValue::UNDEFINED);
    assert_eq!(computed(&el, ".utp-panel", "color-scheme"), "light dark");
    drop(handle);
}

#[wasm_bindgen_test]
async fn a_one_mebibyte_value_in_any_field_wraps_or_is_cut_within_the_panel() {
    let p = mount_panel_sized(420, 700);
    let big = "x".repeat(1 << 20);
    // Names and titles are labels, at most 4 KB (the model's limit).
    let name = "y".repeat(4_000);
    let lines = [
        format!(
            r#"{{"id":"1","process":"p","ts":1,"op":"trace_start","trace":"t","name":"{name}"}}"#
        ),
        format!(
            r#"{{"id":"2","process":"p","ts":2,"op":"span_create","trace":"t","span":"i","kind":"items","title":"{name}","content":[{{"name":"{name}","value":"{big}"}},{{"name":"n","value":{}}}]}}"#,
            "1".repeat(1 << 20)
        ),
        format!(
            r#"{{"id":"3","process":"p","ts":3,"op":"span_create","trace":"t","span":"e","kind":"error","content":{{"message":"{big}"}}}}"#
        ),
        format!(
            r#"{{"id":"4","process":"p","ts":4,"op":"span_create","trace":"t","span":"j","kind":"json","content":{{"{big}":"{big}"}}}}"#
        ),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
    settle().await;
    let tree = p.element(".utp-tree");
    let fits = |tree: &web_sys::HtmlElement| tree.scroll_width() <= tree.client_width();
    assert!(
        fits(&tree),
        "the tree is {} px wide in {} px",
        tree.scroll_width(),
        tree.client_width()
    );
    // Values are cut; "show all" shows all of it, still wrapped within the panel. (The item
    // rows are virtualized: brought into view first, as a reader scrolls to them.)
    p.element(".utp-items").scroll_into_view();
    settle().await;
    let cell = p.element(".utp-items .utp-item-value .utp-value");
    assert!(cell.text_content().unwrap().len() < 10_000);
    assert_eq!(
        p.count(".utp-show-all"),
        3,
        "two item values and the message"
    );
    p.element(".utp-items .utp-item-value .utp-show-all")
        .click();
    settle().await;
    assert_eq!(cell.text_content().unwrap(), big);
    assert_eq!(p.count(".utp-show-all"), 2);
    assert!(fits(&tree), "{} px wide", tree.scroll_width());
}

#[wasm_bindgen_test]
async fn line_breaks_tabs_empty_keys_empty_containers_and_lone_surrogates_show_as_they_are() {
    let p = mount_panel_sized(900, 900);
    let stack = r#"Error: boom\r\n\tat f (a.js:1:2)\r\n\tat g (b.js:3:4)"#;
    let lines = [
        T.to_owned(),
        format!(r#"{{"id":"e1","process":"p","ts":2,"op":"span_create","trace":"t","span":"e","kind":"error","content":{{"message":"{stack}"}}}}"#),
        format!(r#"{{"id":"e2","process":"p","ts":3,"op":"span_create","trace":"t","span":"i","kind":"items","content":[{{"name":"stack","value":"{stack}"}}]}}"#),
        r#"{"id":"e3","process":"p","ts":4,"op":"span_create","trace":"t","span":"j","kind":"json","content":{"":3,"a\nb":"x\ny","o":{},"l":[],"s":"\ud800!","f":[1]}}"#.to_owned(),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
    settle().await;
    let exact = "Error: boom\r\n\tat f (a.js:1:2)\r\n\tat g (b.js:3:4)";
    let line_height = 13.0 * 1.45;
    for selector in [
        ".utp-error-message",
        ".utp-items .utp-item-value .utp-value",
    ] {
        let el = p.element(selector);
        assert_eq!(el.text_content().unwrap(), exact, "{selector}");
        let height = el.get_bounding_client_rect().height();
        assert!(
            height > 2.5 * line_height,
            "{selector}: three lines, {height} px"
        );
        assert_eq!(computed(&p.el, selector, "white-space"), "pre-wrap");
    }
    let rows =
        p.el.query_selector_all("[data-span-kind=json] .utp-json-row")
            .unwrap();
    let row = |key: &str| -> web_sys::HtmlElement {
        (0..rows.length())
            .filter_map(|i| rows.item(i))
            .filter_map(|r| r.dyn_into::<web_sys::Element>().ok())
            .find(|r| {
                r.query_selector(".utp-json-key")
                    .unwrap()
                    .is_some_and(|k| k.text_content().unwrap() == key)
            })
            .unwrap_or_else(|| panic!("no row with key {key}"))
            .dyn_into()
            .unwrap()
    };
    assert!(row("\"\"").text_content().unwrap().starts_with("\"\": 3"));
    // A newline in a key or a string shows as `\n` and keeps the row on one line.
    let nl = row("a\\nb");
    assert!(nl.text_content().unwrap().contains("\"x\\ny\""));
    assert!(nl.get_bounding_client_rect().height() < 1.5 * line_height);
    // Empty containers: `{}` and `[]`, nothing to expand; a non-empty one still expands.
    for (key, shown) in [("o", "{}"), ("l", "[]")] {
        let r = row(key);
        assert!(r.text_content().unwrap().contains(shown), "{key}");
        assert!(!r.has_attribute("aria-expanded"), "{key}");
        assert!(r.query_selector(".utp-caret").unwrap().is_none(), "{key}");
    }
    assert_eq!(
        row("f").get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    // A lone surrogate is U+FFFD, not its escape.
    assert!(row("s").text_content().unwrap().contains("\"\u{fffd}!\""));
    assert!(!row("s").text_content().unwrap().contains("ud800"));
}

#[wasm_bindgen_test]
async fn direction_controls_in_labels_are_marked_and_labels_are_isolated() {
    let p = mount_panel_sized(900, 900);
    let rlo = "evil\\u202eexe.txt";
    let lines = [
        format!(
            r#"{{"id":"1","process":"agent\u202e@h","ts":1,"op":"trace_start","trace":"t","name":"{rlo}"}}"#
        ),
        format!(
            r#"{{"id":"2","process":"p","ts":2,"op":"span_create","trace":"t","span":"i","kind":"items","title":"{rlo}","content":[{{"name":"{rlo}","value":"{rlo}"}}]}}"#
        ),
        format!(
            r#"{{"id":"3","process":"p","ts":3,"op":"span_create","trace":"t","span":"j","kind":"json","title":"a\u2067b\u2069\u200f","content":{{"{rlo}":"{rlo}"}}}}"#
        ),
        r#"{"id":"4","process":"p","ts":4,"op":"span_create","trace":"t","span":"m","kind":"markdown","content":"שלום world"}"#.to_owned(),
        r#"{"id":"5","process":"p","ts":5,"op":"span_create","trace":"t","span":"x","kind":"text","content":"مرحبا world"}"#.to_owned(),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    p.push(&refs).await;
    settle().await;
    let labels = p
        .el
        .query_selector_all(".utp-label, .utp-span-title, .utp-badge, .utp-items .utp-item-name, .utp-json-key, .utp-json-string")
        .unwrap();
    assert!(labels.length() >= 7, "{}", labels.length());
    let controls = |t: &str| {
        t.chars()
            .any(|c| user_trace_panel::bidi::control_name(c).is_some())
    };
    for i in 0..labels.length() {
        let l: web_sys::Element = labels.item(i).unwrap().dyn_into().unwrap();
        let text = l.text_content().unwrap();
        assert!(!controls(&text), "a direction control applied in {text:?}");
        assert_eq!(l.get_attribute("dir").as_deref(), Some("auto"), "{text:?}");
    }
    assert_eq!(p.text(".utp-label"), "evil⟨RLO⟩exe.txt");
    let marker = p.element(".utp-label .utp-escape");
    assert!(marker
        .get_attribute("title")
        .unwrap()
        .starts_with("U+202E RLO"));
    assert!(p
        .text("[data-span-kind=json] .utp-span-title")
        .contains("⟨RLI⟩b⟨PDI⟩⟨RLM⟩"));
    // The process list holds text only: markers as text there too.
    let options = p.text(".utp-process-filter");
    assert!(options.contains("agent⟨RLO⟩@h"), "{options}");
    // Texts and markdown paragraphs take each paragraph's own direction, isolated.
    assert_eq!(
        computed(&p.el, ".utp-markdown p", "unicode-bidi"),
        "plaintext"
    );
    assert_eq!(computed(&p.el, ".utp-text", "unicode-bidi"), "plaintext");
    // Values are isolated too: their direction stays inside them.
    assert_eq!(
        p.element(".utp-items .utp-item-value .utp-value")
            .get_attribute("dir")
            .as_deref(),
        Some("auto")
    );
    // The label reads left to right as sent: "evil" before "exe.txt" on screen.
    let label = p.element(".utp-label");
    let first = label.first_child().unwrap();
    let last = label.last_child().unwrap();
    let rect = |n: &web_sys::Node| {
        let r = document().create_range().unwrap();
        r.select_node_contents(n).unwrap();
        r.get_bounding_client_rect().left()
    };
    assert!(rect(&first) < rect(&last));
}

#[wasm_bindgen_test]
async fn a_filter_that_matches_nothing_says_so_and_matches_are_highlighted() {
    let p = mount_panel_sized(900, 600);
    p.push(&[
        r#"{"id":"a","process":"agent@h:1","ts":1,"op":"trace_start","trace":"ta","name":"Plan the trip"}"#,
        r#"{"id":"b","process":"search@h:2","ts":2,"op":"trace_start","trace":"tb","name":"Find hotels"}"#,
        r#"{"id":"c","process":"search@h:2","ts":3,"op":"span_create","trace":"tb","span":"sb","kind":"text","title":"Hotel list","content":"ok"}"#,
    ])
    .await;
    settle().await;
    let filter: web_sys::HtmlInputElement = p.element(".utp-filter").dyn_into().unwrap();
    type_into(&filter, "HOTEL");
    settle().await;
    assert_eq!(p.count(".utp-no-match"), 0);
    assert_eq!(p.text(".utp-label mark"), "hotel");
    assert_eq!(p.text(".utp-label"), "Find hotels", "the text is unchanged");
    assert_eq!(p.text(".utp-span-title mark"), "Hotel");
    // Nothing matches: the tree says so, and offers to clear the filter.
    type_into(&filter, "zebra");
    settle().await;
    assert_eq!(p.count(".utp-trace"), 0);
    let message = p.text(".utp-no-match");
    assert!(
        message.contains("No traces match") && message.contains("zebra"),
        "{message}"
    );
    assert!(!p.el.text_content().unwrap().contains("No traces yet"));
    // A near miss: a filter that matches keeps no message.
    type_into(&filter, "trip");
    settle().await;
    assert_eq!(p.count(".utp-no-match"), 0);
    assert_eq!(p.count(".utp-trace"), 1);
    type_into(&filter, "zebra");
    settle().await;
    p.element(".utp-no-match button").click();
    settle().await;
    assert_eq!(p.count(".utp-no-match"), 0);
    assert_eq!(p.count(".utp-trace"), 2);
    assert_eq!(filter.value(), "", "the filter box is cleared too");
    assert_eq!(p.count("mark"), 0);
}

#[wasm_bindgen_test]
async fn the_filter_ignores_case_beyond_ascii() {
    // In the browser, text that is not ASCII is lower-cased by JavaScript (src/filter.rs).
    let p = mount_panel_sized(900, 600);
    p.push(&[
        r#"{"id":"a","process":"p","ts":1,"op":"trace_start","trace":"ta","name":"Été à ÖSTERSUND"}"#,
        r#"{"id":"b","process":"p","ts":2,"op":"trace_start","trace":"tb","name":"Ärger"}"#,
        r#"{"id":"c","process":"p","ts":3,"op":"span_create","trace":"tb","span":"s","kind":"text","content":"ΣΟΦΊΑ"}"#,
    ])
    .await;
    settle().await;
    let filter: web_sys::HtmlInputElement = p.element(".utp-filter").dyn_into().unwrap();
    type_into(&filter, "östersund");
    settle().await;
    assert_eq!(p.count(".utp-trace"), 1);
    assert_eq!(p.text(".utp-label mark"), "ÖSTERSUND");
    type_into(&filter, "ÉTÉ");
    settle().await;
    assert_eq!(p.text(".utp-label mark"), "Été");
    // Found in a span's text, in another script.
    type_into(&filter, "σοφία");
    settle().await;
    assert_eq!(p.count(".utp-trace"), 1);
    assert_eq!(p.text(".utp-label"), "Ärger");
}

fn focused() -> web_sys::Element {
    document().active_element().unwrap()
}

/// The tree's elements that are Tab stops.
fn tab_stops(p: &Mounted) -> u32 {
    p.count(".utp-tree [tabindex='0'], .utp-tree[tabindex='0']")
}

#[wasm_bindgen_test]
async fn streamed_texts_are_items_of_the_tree_not_tab_stops() {
    let p = mount_panel_sized(900, 700);
    p.push(&[
        r#"{"id":"a","process":"p","ts":1,"op":"trace_start","trace":"t","name":"Answer"}"#,
        r#"{"id":"b","process":"p","ts":2,"op":"span_create","trace":"t","span":"s1","kind":"text","content":"first text"}"#,
        r#"{"id":"c","process":"p","ts":3,"op":"span_create","trace":"t","span":"s2","kind":"text","content":"second text"}"#,
    ])
    .await;
    // A long text, in many blocks.
    let long = "word ".repeat(3_000);
    let append = format!(
        r#"{{"id":"d","process":"p","ts":4,"op":"text_append","span":"s2","text":"{long}"}}"#
    );
    p.push(&[&append]).await;
    settle().await;
    assert!(p.count(".utp-chunk") > 2, "the text is cut into blocks");
    assert_eq!(tab_stops(&p), 1, "one Tab stop: the tree, not each text");
    // The arrows reach each text from the trace: it is then the tree's one Tab stop, and its
    // copy button is there for the keyboard.
    let tree = p.element(".utp-tree");
    tree.focus().unwrap();
    assert!(focused().text_content().unwrap().contains("Answer"));
    key(&tree, "ArrowDown");
    assert_eq!(focused().text_content().as_deref(), Some("first text"));
    assert_eq!(tab_stops(&p), 1);
    key(&tree, "ArrowDown");
    assert!(focused().text_content().unwrap().starts_with("second text"));
    assert_eq!(tab_stops(&p), 1);
    assert_eq!(focused().get_attribute("tabindex").as_deref(), Some("0"));
    let copy = focused()
        .parent_element()
        .unwrap()
        .query_selector(".utp-copy");
    assert!(
        copy.unwrap().is_some(),
        "the copy button appears for the keyboard"
    );
    key(&tree, "ArrowUp");
    assert_eq!(focused().text_content().as_deref(), Some("first text"));
}

#[wasm_bindgen_test]
async fn the_tree_is_one_tab_stop_and_enter_space_and_arrows_reach_everything() {
    let p = mount_panel_sized(900, 700);
    p.push(&[
        r#"{"id":"a","process":"p","ts":1,"op":"trace_start","trace":"ta","name":"First"}"#,
        r#"{"id":"b","process":"p","ts":2,"op":"trace_start","trace":"tb","name":"Second"}"#,
        r#"{"id":"c","process":"p","ts":3,"op":"span_create","trace":"tb","span":"j","kind":"json","content":{"o":{"x":1},"v":"plain"}}"#,
    ])
    .await;
    settle().await;
    let tree = p.element(".utp-tree");
    assert_eq!(tab_stops(&p), 1, "one Tab stop: the tree");
    // Tabbing in lands on the first item; it is then the only Tab stop.
    tree.focus().unwrap();
    assert!(focused().text_content().unwrap().contains("First"));
    assert_eq!(focused().get_attribute("aria-level").as_deref(), Some("1"));
    assert_eq!(tab_stops(&p), 1);
    assert_eq!(focused().get_attribute("tabindex").as_deref(), Some("0"));
    key(&tree, "ArrowDown");
    let second = focused();
    assert!(second.text_content().unwrap().contains("Second"));
    assert_eq!(tab_stops(&p), 1);
    // Enter collapses, Space expands.
    key(&second.clone().dyn_into().unwrap(), "Enter");
    frame().await;
    assert_eq!(
        second.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    key(&second.clone().dyn_into().unwrap(), " ");
    settle().await;
    assert_eq!(
        second.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    // Down to the JSON root, its object member, and the plain value: each is an item.
    for _ in 0..3 {
        key(&tree, "ArrowDown");
    }
    let value = focused();
    assert!(
        value.text_content().unwrap().contains("\"plain\""),
        "{:?}",
        value.text_content()
    );
    assert_eq!(value.get_attribute("role").as_deref(), Some("treeitem"));
    // Its copy buttons show for the keyboard, not only on hover.
    assert_eq!(
        computed(&value, ".utp-json-actions", "visibility"),
        "visible"
    );
    // Enter on a JSON container expands it.
    key(&tree, "ArrowUp");
    let object = focused();
    assert_eq!(
        object.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    key(&object.clone().dyn_into().unwrap(), "Enter");
    frame().await;
    assert_eq!(
        object.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    // Enter on a copy button inside a row is the button's, not the row's.
    let copy: web_sys::HtmlElement = object
        .query_selector(".utp-copy")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    key(&copy, "Enter");
    frame().await;
    assert_eq!(
        object.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    // Leaving the tree gives the Tab stop back to the tree; coming back returns to the item.
    let outside = p.element(".utp-filter");
    outside.focus().unwrap();
    assert_eq!(tab_stops(&p), 1);
    assert_eq!(tree.get_attribute("tabindex").as_deref(), Some("0"));
    tree.focus().unwrap();
    assert!(focused().is_same_node(Some(&object)));
    // The item it left from is gone (collapsed away): coming back goes to the first item.
    key(&tree, "Home");
    outside.focus().unwrap();
    let first: web_sys::HtmlElement = p.element(".utp-trace-header");
    first.click();
    frame().await;
    p.element(".utp-trace:nth-of-type(2) .utp-trace-header")
        .click();
    frame().await;
    tree.focus().unwrap();
    assert_eq!(focused().get_attribute("role").as_deref(), Some("treeitem"));
    // A click on the tree's content (not an item) focuses the tree and stays there: the view
    // does not jump to an item.
    outside.focus().unwrap();
    let pointer = |what: &str| {
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        let e = web_sys::Event::new_with_event_init_dict(what, &init).unwrap();
        tree.dispatch_event(&e).unwrap();
    };
    pointer("pointerdown");
    tree.focus().unwrap();
    assert!(
        focused().is_same_node(Some(&tree)),
        "focus stays on the tree"
    );
    pointer("pointerup");
    // From there the arrows go on as from anywhere in the tree.
    key(&tree, "ArrowDown");
    assert_eq!(focused().get_attribute("role").as_deref(), Some("treeitem"));
}

#[wasm_bindgen_test]
async fn json_text_keeps_numbers_exactly_where_objects_cannot() {
    let el = host();
    let handle = user_trace_panel::js::mount(el.clone(), JsValue::UNDEFINED);
    let text = r#"[{"id":"1","process":"host","ts":1,"op":"trace_start","trace":"t","name":"n"},
        {"id":"2","process":"host","ts":2,"op":"span_create","trace":"t","span":"s","kind":"json","content":{"huge":1e400,"neg":-0,"exact":0.1000000000000000055511151231257827}}]"#;
    handle.push(text.into());
    settle().await;
    let json = el
        .query_selector(".utp-json")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    for exact in ["1e400", "-0", "0.1000000000000000055511151231257827"] {
        assert!(json.contains(exact), "{exact} in {json}");
    }
    // The same batch as JavaScript objects goes through JSON.stringify, as documented.
    handle.clear();
    let again = text.replace("\"id\":\"", "\"id\":\"o");
    let objects = js_sys::JSON::parse(&again).unwrap();
    handle.push(objects);
    settle().await;
    let json = el
        .query_selector(".utp-json")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(json.contains("null") && !json.contains("1e400"), "{json}");
    assert!(!json.contains("-0"), "{json}");
    drop(handle);
}

#[wasm_bindgen_test]
async fn markdown_keeps_identifiers_shows_code_in_monospace_and_links_only_safe_urls() {
    let p = mount_panel_sized(900, 700);
    let doc = "Call `snake_case_name` or snake_case_name, *really*.\\n\\n[a](JaVaScRiPt:alert(1)) [b]( javascript:alert(1)) [c](java\\tscript:x) [ok](https://example.com)";
    let line = format!(
        r#"{{"id":"m","process":"p","ts":2,"op":"span_create","trace":"t","span":"m","kind":"markdown","content":"{doc}"}}"#
    );
    p.push(&[T, line.as_str()]).await;
    settle().await;
    let md = p.element(".utp-markdown");
    assert!(md
        .text_content()
        .unwrap()
        .contains("or snake_case_name, really."));
    assert_eq!(p.count(".utp-markdown em"), 1, "only *really* is emphasis");
    assert_eq!(p.text(".utp-markdown em"), "really");
    assert_eq!(p.text(".utp-markdown code"), "snake_case_name");
    let font = computed(&p.el, ".utp-markdown code", "font-family");
    assert!(font.contains("monospace"), "{font}");
    assert_eq!(p.count(".utp-markdown a"), 1, "only the https link");
    assert_eq!(
        p.element(".utp-markdown a")
            .get_attribute("href")
            .as_deref(),
        Some("https://example.com")
    );
}

/// A list item takes its direction from its own text: a right-to-left item has its marker on
/// the right (where its text starts), a left-to-right one on the left, in the same list.
#[wasm_bindgen_test]
async fn a_right_to_left_list_item_has_its_marker_on_its_right() {
    let p = mount_panel_sized(600, 400);
    let line = r#"{"id":"m","process":"p","ts":2,"op":"span_create","trace":"t","span":"m","kind":"markdown","content":"- a list item\n- مرحبا item"}"#;
    p.push(&[T, line]).await;
    settle().await;
    let items = p.el.query_selector_all(".utp-markdown li").unwrap();
    assert_eq!(items.length(), 2);
    let side = |i: u32| {
        let li: web_sys::Element = items.item(i).unwrap().dyn_into().unwrap();
        let style = web_sys::window()
            .unwrap()
            .get_computed_style(&li)
            .unwrap()
            .unwrap();
        style.get_property_value("direction").unwrap()
    };
    assert_eq!(side(0), "ltr");
    assert_eq!(side(1), "rtl");
    // Both markers inside the list's box (room for one on either side).
    let list = p.element(".utp-markdown ul");
    let padding = computed(&p.el, ".utp-markdown ul", "padding-right");
    assert_ne!(padding, "0px", "room on the right for a marker");
    assert!(list.scroll_width() <= list.client_width());
}

#[wasm_bindgen_test]
async fn a_panel_given_several_runtimes_moves_to_the_next_when_one_fails() {
    let Some(addr) = option_env!("UTP_TEST_RUNTIME") else {
        web_sys::console::warn_1(
            &"UTP_TEST_RUNTIME unset: run `cargo xtask test` for end-to-end tests".into(),
        );
        return;
    };
    let run = format!("{:x}", (js_sys::Math::random() * 1e12) as u64);
    produce(
        addr,
        &[format!(
            r#"{{"id":"{run}-0","process":"e2e@browser","ts":1,"op":"trace_start","trace":"t-{run}","name":"failover {run}"}}"#
        )],
    )
    .await;
    let p = mount_panel();
    let status = RwSignal::new(user_trace_panel::connection::Status::Offline);
    // The first runtime is not there (port 9 on loopback: nothing listens); the second is.
    let conn = user_trace_panel::connection::Connection::open(
        format!("ws://127.0.0.1:9/v1/panel, ws://{addr}/v1/panel"),
        p.store,
        status,
    );
    let label = format!("failover {run}");
    wait_for("the trace, from the second runtime", || {
        p.el.text_content().unwrap_or_default().contains(&label)
    })
    .await;
    assert_eq!(
        status.get_untracked(),
        user_trace_panel::connection::Status::Live
    );
    conn.dispose();
}

/// A markdown answer streamed token by token: the paragraphs that are complete stay the same
/// elements (a selection in them survives the stream), the last one grows, a setext underline
/// and a `#` arriving late still change what they should, and the end result is what the
/// whole text renders as at once; a replaced content renders anew.
#[wasm_bindgen_test]
async fn streamed_markdown_keeps_its_settled_blocks_and_ends_as_rendered_whole() {
    let p = mount_panel();
    p.push(&[T, r#"{"id":"s","process":"p","ts":3,"op":"span_create","trace":"t","span":"m","kind":"markdown","content":""}"#]).await;
    let text = "First paragraph.\n\nSecond\n---\n\npara\n#x continues it\n\n- a\n- b\n\nLast words";
    let mut first: Option<web_sys::Element> = None;
    for (i, c) in text.char_indices() {
        let token = serde_json::to_string(&c.to_string()).unwrap();
        let line = format!(
            r#"{{"id":"a{i}","process":"p","ts":4,"op":"text_append","span":"m","text":{token}}}"#
        );
        p.push(&[&line]).await;
        if i == 40 {
            first = p.el.query_selector(".utp-markdown p").unwrap();
        }
    }
    let first = first.expect("the first paragraph was rendered while streaming");
    assert!(
        first.is_connected(),
        "a settled paragraph stays the same element"
    );
    assert_eq!(first.text_content().unwrap(), "First paragraph.");
    let streamed = p.element(".utp-markdown").inner_html();
    // The same text at once, in a second span.
    let whole = serde_json::to_string(text).unwrap();
    p.push(&[&format!(
        r#"{{"id":"w","process":"p","ts":5,"op":"span_create","trace":"t","span":"w","kind":"markdown","content":{whole}}}"#
    )])
    .await;
    let all = p.el.query_selector_all(".utp-markdown").unwrap();
    let at_once = all
        .item(1)
        .unwrap()
        .dyn_into::<web_sys::Element>()
        .unwrap()
        .inner_html();
    assert_eq!(streamed, at_once);
    assert!(streamed.contains("<h4>Second</h4>"), "{streamed}");
    assert!(streamed.contains("#x continues it"), "{streamed}");
    // Replaced by other content: rendered anew, nothing of the old kept.
    p.push(&[
        r##"{"id":"r","process":"p","ts":6,"op":"content_replace","span":"m","content":"# New"}"##,
    ])
    .await;
    assert_eq!(p.element(".utp-markdown").inner_html(), "<h3>New</h3>");
}
