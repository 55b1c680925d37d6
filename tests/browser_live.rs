//! Browser tests of the live views of issue 17: who wrote what (process colours), time (the
//! waterfall), stream stats, live tables, narrow panels, links to the editor. Mounted in
//! headless Chromium and checked through the real DOM. (A file of its own so that it can
//! change without the others.)

#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use user_trace_model::protocol::{decode_event, Event};
use user_trace_panel::store::{Pending, Store};
use user_trace_panel::UserTracePanel;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

mod common;
use common::{add_on_top, document, frame, mount, settle, sleep, Mounted};

wasm_bindgen_test_configure!(run_in_browser);

/// Events from compact JSON lines; `{n}` counters keep ids unique.
fn events(lines: &[String]) -> Vec<Event> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let line = l.replace("{n}", &format!("{i}-{}", js_sys::Math::random()));
            decode_event(i, &line).unwrap_or_else(|e| panic!("test event {line}: {e}"))
        })
        .collect()
}

impl Mounted {
    async fn push(&self, lines: &[String]) {
        self.store.enqueue(Pending::Events(events(lines)));
        frame().await;
        settle().await;
    }
    fn remove(self) {
        self.el.remove();
    }
}

/// Microseconds since the epoch now, as the panel's clock reads it.
fn now_us() -> u64 {
    (js_sys::Date::now() * 1000.0) as u64
}

/// One event of process `p` at `ts`: `body` is the rest of its object after the envelope.
fn ev(p: &str, ts: u64, body: &str) -> String {
    format!(r#"{{"id":"e{{n}}","process":"{p}","ts":{ts},{body}}}"#)
}

fn style(el: &web_sys::Element) -> web_sys::CssStyleDeclaration {
    web_sys::window()
        .unwrap()
        .get_computed_style(el)
        .unwrap()
        .unwrap()
}

// --- Item 8: who wrote what ---------------------------------------------------------------

#[wasm_bindgen_test]
async fn each_process_has_a_stable_colour_on_badges_and_in_the_filter() {
    let t0 = now_us();
    let lines = [
        ev(
            "planner@h:1",
            t0,
            r#""op":"trace_start","trace":"t","name":"run""#,
        ),
        ev(
            "planner@h:1",
            t0 + 1,
            r#""op":"span_create","trace":"t","span":"s","kind":"text","content":"a""#,
        ),
        ev(
            "worker@h:2",
            t0 + 2,
            r#""op":"trace_start","trace":"t","name":"run""#,
        ),
        ev(
            "worker@h:2",
            t0 + 3,
            r#""op":"text_append","span":"s","text":"b""#,
        ),
        ev(
            "planner@h:1",
            t0 + 4,
            r#""op":"span_create","trace":"t","span":"solo","kind":"text","content":"c""#,
        ),
    ];
    let p = mount(800, 400, Some("light"));
    p.push(&lines).await;
    let colour = |name: &str, panel: &Mounted| {
        let badge = panel
            .all(".utp-badge")
            .into_iter()
            .find(|b| b.get_attribute("title").as_deref() == Some(name))
            .unwrap_or_else(|| panic!("a badge for {name}"));
        style(&badge)
            .get_property_value("border-top-color")
            .unwrap()
    };
    let (planner, worker) = (colour("planner@h:1", &p), colour("worker@h:2", &p));
    assert_ne!(planner, worker, "two processes, two colours");
    // Coloured, not the plain grey border every badge had (#d0d7de).
    assert_ne!(planner, "rgb(208, 215, 222)");
    // The process filter gives each option its process's colour.
    let option = p
        .all(".utp-process-filter option")
        .into_iter()
        .find(|o| o.get_attribute("value").as_deref() == Some("worker@h:2"))
        .expect("an option for the worker");
    assert!(option
        .get_attribute("style")
        .unwrap_or_default()
        .contains("--utp-proc-h"));
    // The same name has the same colour in another panel (and after a reload: it is derived
    // from the name alone).
    let q = mount(800, 400, Some("light"));
    q.push(&lines).await;
    assert_eq!(colour("worker@h:2", &q), worker);
    // Dark: the same hue, drawn lighter to read on the dark background.
    let d = mount(800, 400, Some("dark"));
    d.push(&lines).await;
    assert_ne!(colour("worker@h:2", &d), worker);
    p.remove();
    q.remove();
    d.remove();
}

#[wasm_bindgen_test]
async fn a_span_several_processes_wrote_into_says_so() {
    let t0 = now_us();
    let p = mount(800, 400, None);
    p.push(&[
        ev("planner@h:1", t0, r#""op":"trace_start","trace":"t","name":"run""#),
        ev(
            "planner@h:1",
            t0 + 1,
            r#""op":"span_create","trace":"t","span":"shared","kind":"text","title":"shared","content":"a""#,
        ),
        ev(
            "planner@h:1",
            t0 + 2,
            r#""op":"span_create","trace":"t","span":"solo","kind":"text","title":"solo","content":"a""#,
        ),
        ev("worker@h:2", t0 + 3, r#""op":"text_append","span":"shared","text":"b""#),
    ])
    .await;
    let notes = p.all(".utp-writers");
    assert_eq!(notes.len(), 1, "only the shared span says so");
    assert_eq!(notes[0].text_content().unwrap(), "2 writers");
    let label = notes[0].get_attribute("aria-label").unwrap();
    assert!(
        label.contains("planner@h:1") && label.contains("worker@h:2"),
        "{label}"
    );
    p.remove();
}

// --- Item 11: time -------------------------------------------------------------------------

/// The bar's start and width in percent of its track (its `--l` and `--w`), after checking
/// that the stylesheet draws it from them: the track is there, and its gradient starts the bar
/// at `--l`.
fn bar_of(el: &web_sys::HtmlElement) -> (f64, f64) {
    let wf: web_sys::HtmlElement = el
        .query_selector(".utp-wf")
        .unwrap()
        .expect("a bar")
        .dyn_into()
        .unwrap();
    let style = wf.style();
    let pct = |p: &str| {
        let v = style.get_property_value(p).unwrap();
        v.trim_end_matches('%')
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("{p}: {v}"))
    };
    let (left, width) = (pct("--l"), pct("--w"));
    let drawn = web_sys::window()
        .unwrap()
        .get_computed_style_with_pseudo_elt(&wf, "::before")
        .unwrap()
        .unwrap();
    assert_eq!(drawn.get_property_value("width").unwrap(), "64px");
    let image = drawn.get_property_value("background-image").unwrap();
    assert!(
        image.starts_with("linear-gradient(")
            && !image.contains("var(")
            && image.contains(&format!("{left}%")),
        "the bar starts at {left}%: {image}"
    );
    (left, width)
}

#[wasm_bindgen_test]
async fn spans_and_child_traces_show_their_place_in_their_trace() {
    let t0 = now_us() - 10_000_000;
    let s = 1_000_000;
    let p = mount(900, 500, None);
    p.push(&[
        ev("a@h:1", t0, r#""op":"trace_start","trace":"t","name":"run""#),
        ev(
            "a@h:1",
            t0,
            r#""op":"span_create","trace":"t","span":"first","kind":"json","title":"first","content":1"#,
        ),
        ev("a@h:1", t0 + s, r#""op":"span_end","span":"first""#),
        ev(
            "a@h:1",
            t0 + s,
            r#""op":"span_create","trace":"t","span":"second","kind":"json","title":"second","content":2"#,
        ),
        ev(
            "a@h:1",
            t0 + 3 * s / 2,
            r#""op":"trace_start","trace":"child","name":"child","parent_span":"second""#,
        ),
        ev("a@h:1", t0 + 2 * s, r#""op":"trace_end","trace":"child""#),
        ev("a@h:1", t0 + 2 * s, r#""op":"span_end","span":"second""#),
        ev("a@h:1", t0 + 2 * s, r#""op":"trace_end","trace":"t""#),
    ])
    .await;
    let spans = p.all(".utp-span");
    assert_eq!(spans.len(), 2);
    assert_eq!(bar_of(&spans[0]), (0.0, 50.0));
    assert_eq!(bar_of(&spans[1]), (50.0, 50.0));
    let words = |el: &web_sys::HtmlElement| {
        el.query_selector(".utp-wf")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap()
    };
    assert_eq!(words(&spans[1]), "+1.0 s · 1.0 s");
    // The child trace, in its header: from 1.5 s to 2 s of its parent's trace.
    let headers = p.all(".utp-trace-header");
    assert_eq!(headers.len(), 2, "the root and the child");
    assert_eq!(bar_of(&headers[1]), (75.0, 25.0));
    assert_eq!(words(&headers[1]), "+1.5 s · 500 ms");
    // A root trace is in no trace: no bar.
    let root_wf: web_sys::HtmlElement = headers[0]
        .query_selector(".utp-wf")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(root_wf.offset_width(), 0, "hidden");
    p.remove();
}

#[wasm_bindgen_test]
async fn an_open_span_grows_with_the_clock() {
    let now = now_us();
    let p = mount(900, 400, None);
    p.push(&[
        ev(
            "a@h:1",
            now - 2_000_000,
            r#""op":"trace_start","trace":"t","name":"run""#,
        ),
        ev(
            "a@h:1",
            now - 1_000_000,
            r#""op":"span_create","trace":"t","span":"s","kind":"json","title":"open","content":1"#,
        ),
    ])
    .await;
    let span = p.one(".utp-span");
    let (left0, width0) = bar_of(&span);
    let text0 = p.text(".utp-span .utp-wf");
    assert!(p
        .one(".utp-span .utp-wf")
        .class_list()
        .contains("utp-wf-open"));
    // No event arrives: the clock moves it.
    sleep(1200).await;
    let (left1, width1) = bar_of(&span);
    let text1 = p.text(".utp-span .utp-wf");
    assert!(
        width1 > width0 && left1 < left0,
        "{left0},{width0} -> {left1},{width1}"
    );
    assert_ne!(text0, text1, "its elapsed time moves");
    // Ended: it stops growing.
    p.push(&[ev("a@h:1", now + 500_000, r#""op":"span_end","span":"s""#)])
        .await;
    assert!(!p
        .one(".utp-span .utp-wf")
        .class_list()
        .contains("utp-wf-open"));
    p.remove();
}

// --- Item 5: stream stats ------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_streaming_span_shows_it_is_open_its_first_token_and_its_rate() {
    let t0 = now_us() - 5_000_000;
    let ms = 1_000;
    let mut lines = vec![
        ev(
            "a@h:1",
            t0,
            r#""op":"trace_start","trace":"t","name":"run""#,
        ),
        ev(
            "a@h:1",
            t0,
            r#""op":"span_create","trace":"t","span":"s","kind":"text","title":"answer""#,
        ),
    ];
    // The first token after 300 ms, then ten more over a second: 10 tok/s.
    for i in 0..11u64 {
        lines.push(ev(
            "a@h:1",
            t0 + 300 * ms + i * 100 * ms,
            r#""op":"text_append","span":"s","text":"tok ""#,
        ));
    }
    let p = mount(900, 400, None);
    p.push(&lines).await;
    assert_eq!(p.text(".utp-stats-text"), "TTFT 300 ms · 10 tok/s");
    let live = p.one(".utp-live");
    assert!(live.offset_width() > 0, "the live marker shows");
    assert_eq!(
        live.get_attribute("aria-label").as_deref(),
        Some("still streaming")
    );
    // It blinks with the panel's clock, lit then dimmed each half second (not a CSS
    // animation, which restyled it every frame).
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..15 {
        seen.insert(style(&live).get_property_value("opacity").unwrap());
        sleep(100).await;
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["0.3", "1"],
        "lit and dimmed in turn"
    );
    assert_eq!(
        style(&live).get_property_value("animation-name").unwrap(),
        "none"
    );
    // Ended: the marker goes, the stats and its duration stay.
    p.push(&[ev(
        "a@h:1",
        t0 + 2_000 * ms,
        r#""op":"span_end","span":"s""#,
    )])
    .await;
    assert_eq!(p.one(".utp-live").offset_width(), 0);
    assert_eq!(p.text(".utp-stats-text"), "TTFT 300 ms · 10 tok/s");
    assert_eq!(p.text(".utp-span .utp-wf"), "+0 µs · 2.0 s");
    // A span of a kind that does not stream has no stats.
    p.push(&[ev(
        "a@h:1",
        t0 + 2_000 * ms,
        r#""op":"span_create","trace":"t","span":"j","kind":"json","content":{}"#,
    )])
    .await;
    assert_eq!(
        p.all(".utp-stats")
            .iter()
            .filter(|s| s.offset_width() > 0)
            .count(),
        1
    );
    p.remove();
}

// --- Item 9: live tables -------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_changed_item_flashes_counts_its_changes_and_keeps_its_last_values() {
    let t0 = now_us();
    let p = mount(900, 500, None);
    p.push(&[
        ev("a@h:1", t0, r#""op":"trace_start","trace":"t","name":"run""#),
        ev(
            "a@h:1",
            t0 + 1,
            r#""op":"span_create","trace":"t","span":"i","kind":"items","content":[{"name":"tokens","value":1},{"name":"model","value":"gpt"}]"#,
        ),
    ])
    .await;
    assert!(p.all(".utp-changes").is_empty(), "nothing changed yet");
    assert!(p.all(".utp-flash").is_empty());
    // Seven changes, one frame each, and a same-value set (no change).
    for n in 2..=8 {
        p.push(&[ev(
            "a@h:1",
            t0 + 10 + n,
            &format!(r#""op":"items_set","span":"i","items":[{{"name":"tokens","value":{n}}}]"#),
        )])
        .await;
    }
    p.push(&[ev(
        "a@h:1",
        t0 + 30,
        r#""op":"items_set","span":"i","items":[{"name":"model","value":"gpt"}]"#,
    )])
    .await;
    let counts = p.all(".utp-changes");
    assert_eq!(counts.len(), 1, "only the row that changed");
    assert_eq!(counts[0].text_content().unwrap(), "×7");
    let rows = p.all(".utp-item");
    assert!(
        rows[0].class_list().contains("utp-flash"),
        "the changed row flashed"
    );
    assert!(!rows[1].class_list().contains("utp-flash"));
    // Its last five values, oldest first: in the tooltip, the name, and pressed, listed.
    let name = counts[0].get_attribute("aria-label").unwrap();
    assert_eq!(
        name,
        "changed 7 times; last values, oldest first: 3, 4, 5, 6, 7"
    );
    assert!(counts[0]
        .get_attribute("title")
        .unwrap()
        .contains("3\n4\n5\n6\n7"));
    let list = p.one(".utp-history");
    assert_eq!(list.offset_height(), 0, "hidden until pressed");
    counts[0].click();
    assert_eq!(
        counts[0].get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    assert!(list.offset_height() > 0);
    let values: Vec<String> = p
        .all(".utp-history li")
        .iter()
        .map(|l| l.text_content().unwrap())
        .collect();
    assert_eq!(values, ["3", "4", "5", "6", "7"]);
    // Hostile values stay text.
    p.push(&[ev(
        "a@h:1",
        t0 + 40,
        r#""op":"items_set","span":"i","items":[{"name":"model","value":"<script>x</script>"}]"#,
    )])
    .await;
    p.push(&[ev(
        "a@h:1",
        t0 + 41,
        r#""op":"items_set","span":"i","items":[{"name":"model","value":"gpt-2"}]"#,
    )])
    .await;
    assert!(p.el.query_selector("script").unwrap().is_none());
    p.remove();
}

#[wasm_bindgen_test]
async fn a_span_its_producer_left_shows_as_interrupted_until_it_writes_again() {
    let t0 = now_us() - 3_000_000;
    let p = mount(900, 400, None);
    p.push(&[
        ev(
            "a@h:1",
            t0,
            r#""op":"trace_start","trace":"t","name":"run""#,
        ),
        ev(
            "a@h:1",
            t0,
            r#""op":"span_create","trace":"t","span":"s","kind":"text","title":"answer""#,
        ),
        ev(
            "a@h:1",
            t0 + 100_000,
            r#""op":"text_append","span":"s","text":"Hel""#,
        ),
    ])
    .await;
    assert!(p.all(".utp-interrupted").is_empty());
    assert!(p.one(".utp-live").offset_width() > 0);
    // The runtime reports it (its own process).
    p.push(&[ev(
        "user-trace-runtime",
        t0 + 2_000_000,
        r#""op":"span_interrupted","span":"s""#,
    )])
    .await;
    let state = p.one(".utp-span-header .utp-interrupted");
    assert_eq!(state.text_content().unwrap(), "interrupted");
    assert!(state
        .get_attribute("title")
        .unwrap()
        .contains("disconnected"));
    assert_eq!(
        p.one(".utp-live").offset_width(),
        0,
        "no longer shown as streaming"
    );
    assert!(!p
        .one(".utp-span .utp-wf")
        .class_list()
        .contains("utp-wf-open"));
    // It came back: streaming again.
    p.push(&[ev(
        "a@h:1",
        t0 + 2_500_000,
        r#""op":"text_append","span":"s","text":"lo""#,
    )])
    .await;
    assert!(p.all(".utp-interrupted").is_empty());
    assert!(p.one(".utp-live").offset_width() > 0);
    p.remove();
}

// --- Item 6: links to the editor -----------------------------------------------------------

use std::cell::RefCell;
use std::rc::Rc;
use user_trace_panel::links::Activation;

/// A run whose trace, spans and nested trace carry sources; `x` fails.
fn sourced_run(t0: u64) -> Vec<String> {
    vec![
        ev(
            "a@h:1",
            t0,
            r#""op":"trace_start","trace":"t","name":"run","source":"graph/run""#,
        ),
        ev(
            "a@h:1",
            t0 + 1,
            r#""op":"span_create","trace":"t","span":"s","kind":"text","title":"answer","content":"hi","source":"graph/llm""#,
        ),
        ev(
            "a@h:1",
            t0 + 2,
            r#""op":"span_create","trace":"t","span":"plain","kind":"json","title":"plain","content":1"#,
        ),
        ev(
            "a@h:1",
            t0 + 3,
            r#""op":"span_create","trace":"t","span":"tool","kind":"json","title":"tool","content":{}"#,
        ),
        ev(
            "a@h:1",
            t0 + 4,
            r#""op":"trace_start","trace":"c","name":"search","parent_span":"tool""#,
        ),
        ev(
            "a@h:1",
            t0 + 5,
            r#""op":"span_create","trace":"c","span":"x","kind":"text","title":"deep","content":"x","source":"graph/search""#,
        ),
    ]
}

fn header_of(p: &Mounted, title: &str) -> web_sys::HtmlElement {
    p.all(".utp-span-header")
        .into_iter()
        .find(|h| h.text_content().unwrap_or_default().contains(title))
        .unwrap_or_else(|| panic!("a span header with {title}"))
}

#[wasm_bindgen_test]
async fn a_rust_host_learns_what_the_reader_activates() {
    let got: std::sync::Arc<std::sync::Mutex<Vec<Activation>>> = Default::default();
    user_trace_panel::styles::ensure();
    let el: web_sys::HtmlElement = document()
        .create_element("div")
        .unwrap()
        .dyn_into()
        .unwrap();
    add_on_top(&el);
    el.set_attribute("style", "width:900px;height:500px")
        .unwrap();
    let slot = Rc::new(std::cell::Cell::new(None));
    let (out, sink) = (slot.clone(), got.clone());
    let handle = leptos::mount::mount_to(el.clone(), move || {
        let store = Store::new(Default::default());
        out.set(Some(store));
        let on_activate = Callback::new(move |a: Activation| sink.lock().unwrap().push(a));
        view! { <UserTracePanel store on_activate /> }.into_any()
    });
    let p = Mounted {
        el,
        store: slot.take().unwrap(),
        _handle: handle,
    };
    p.push(&sourced_run(now_us())).await;
    // A header's own button is its own: pressing "pin" pins the span and activates nothing.
    let pin: web_sys::HtmlElement = header_of(&p, "answer")
        .query_selector(".utp-pin")
        .unwrap()
        .expect("a running text has a pin")
        .dyn_into()
        .unwrap();
    let answer: u64 = header_of(&p, "answer")
        .parent_element()
        .and_then(|s| s.get_attribute("data-span"))
        .and_then(|v| v.parse().ok())
        .expect("the span's id");
    pin.click();
    assert_eq!(p.store.pinned.get_untracked(), Some(answer));
    assert!(
        got.lock().unwrap().is_empty(),
        "pressing pin is no activation"
    );
    pin.click();
    assert_eq!(
        p.store.pinned.get_untracked(),
        None,
        "pressed again: unpinned"
    );
    header_of(&p, "answer").click();
    header_of(&p, "plain").click();
    p.one(".utp-trace-header").click();
    let expect = |span: Option<&str>, source: &str| Activation {
        trace: if span == Some("x") { "c" } else { "t" }.into(),
        span: span.map(Into::into),
        source: Some(source.into()),
    };
    assert_eq!(
        *got.lock().unwrap(),
        [
            expect(Some("s"), "graph/llm"),
            // No source of its own: its trace's.
            expect(Some("plain"), "graph/run"),
            expect(None, "graph/run"),
        ]
    );
    // The keyboard: Enter on a text (an item of the tree) activates its span.
    p.one(".utp-trace-header").click(); // open again
    settle().await;
    got.lock().unwrap().clear();
    let text = p
        .all("[data-span] [role=treeitem]")
        .into_iter()
        .find(|t| t.text_content().unwrap_or_default() == "x")
        .expect("the deep text, an item");
    text.focus().unwrap();
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_bubbles(true);
    let enter =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    text.dispatch_event(&enter).unwrap();
    assert_eq!(*got.lock().unwrap(), [expect(Some("x"), "graph/search")]);
    p.remove();
}

/// A panel mounted as a JavaScript host mounts it (`mount`, the handle's methods).
fn js_mount() -> (web_sys::HtmlElement, user_trace_panel::js::PanelHandle) {
    let el: web_sys::HtmlElement = document()
        .create_element("div")
        .unwrap()
        .dyn_into()
        .unwrap();
    add_on_top(&el);
    el.set_attribute("style", "width:900px;height:300px")
        .unwrap();
    let handle = user_trace_panel::js::mount(el.clone(), wasm_bindgen::JsValue::UNDEFINED);
    (el, handle)
}

fn lines_json(lines: &[String]) -> wasm_bindgen::JsValue {
    let body: Vec<String> = events(lines).iter().map(|e| e.to_json()).collect();
    wasm_bindgen::JsValue::from_str(&format!("[{}]", body.join(",")))
}

#[wasm_bindgen_test]
async fn reveal_opens_the_traces_a_source_is_in_and_shows_it() {
    let (el, handle) = js_mount();
    // Many traces after it, so that it is far from the bottom the panel follows.
    let t0 = now_us();
    let mut lines = sourced_run(t0);
    for i in 0..40 {
        lines.push(ev(
            "a@h:1",
            t0 + 100 + i,
            &format!(r#""op":"trace_start","trace":"later{i}","name":"later {i}""#),
        ));
    }
    handle.push(lines_json(&lines));
    settle().await;
    // The reader goes to the top and folds the run: its nested trace and span go. Then the
    // panel follows the newest again, which takes the run out of the mounted rows.
    let tree: web_sys::HtmlElement = el
        .query_selector(".utp-tree")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    tree.set_scroll_top(0);
    settle().await;
    let run: web_sys::HtmlElement = el
        .query_selector("[data-trace] > .utp-trace-header")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    assert!(run.text_content().unwrap().contains("run"));
    run.click();
    settle().await;
    tree.set_scroll_top(i32::MAX);
    for _ in 0..5 {
        settle().await;
    }
    assert!(el
        .query_selector("[data-trace] [data-trace]")
        .unwrap()
        .is_none());
    assert!(!handle.reveal("graph/nothing"), "no such source");
    assert!(handle.reveal("graph/search"));
    for _ in 0..10 {
        settle().await;
    }
    let shown: web_sys::HtmlElement = el
        .query_selector(".utp-found")
        .unwrap()
        .unwrap_or_else(|| {
            panic!(
                "the revealed span is highlighted: spans={} traces={}",
                el.query_selector_all("[data-span]").unwrap().length(),
                el.query_selector_all("[data-trace]").unwrap().length()
            )
        })
        .dyn_into()
        .unwrap();
    assert!(shown.text_content().unwrap().contains("deep"));
    assert_eq!(
        shown.get_attribute("aria-current").as_deref(),
        Some("true"),
        "the current place for a screen reader"
    );
    let run = el
        .query_selector("[data-trace] > .utp-trace-header")
        .unwrap()
        .unwrap();
    assert_eq!(run.get_attribute("aria-expanded").as_deref(), Some("true"));
    // In view: within the scroller's visible area.
    let (box_, view) = (
        shown.get_bounding_client_rect(),
        tree.get_bounding_client_rect(),
    );
    assert!(
        box_.top() >= view.top() && box_.bottom() <= view.bottom(),
        "scrolled to"
    );
    let mut handle = handle;
    handle.dispose();
    el.remove();
}

#[wasm_bindgen_test]
async fn the_custom_element_sends_activations_and_error_sources_as_dom_events() {
    user_trace_panel::js::define_element();
    let el: web_sys::HtmlElement = document()
        .create_element("user-trace-panel")
        .unwrap()
        .dyn_into()
        .unwrap();
    el.set_attribute("style", "height:300px").unwrap();
    let seen: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
    for name in ["user-trace-activate", "user-trace-error-sources"] {
        let sink = seen.clone();
        let f = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::Event)>::new(
            move |e: web_sys::Event| {
                let detail = js_sys::Reflect::get(&e, &"detail".into()).unwrap();
                let detail = js_sys::JSON::stringify(&detail)
                    .unwrap()
                    .as_string()
                    .unwrap();
                sink.borrow_mut().push((e.type_(), detail));
            },
        );
        // On the page, not the element: the events bubble.
        document()
            .body()
            .unwrap()
            .add_event_listener_with_callback(name, f.as_ref().unchecked_ref())
            .unwrap();
        f.forget();
    }
    add_on_top(&el);
    let push = js_sys::Reflect::get(&el, &"push".into()).unwrap();
    let push: js_sys::Function = push.dyn_into().unwrap();
    let t0 = now_us();
    push.call1(&el, &lines_json(&sourced_run(t0))).unwrap();
    settle().await;
    // Nothing failed yet: one event with no sources (sent when the element opened).
    assert_eq!(
        *seen.borrow(),
        [("user-trace-error-sources".to_owned(), "[]".to_owned())]
    );
    seen.borrow_mut().clear();
    // A span that fails and an error span, each with a source; a failure without one.
    push.call1(
        &el,
        &lines_json(&[
            ev("a@h:1", t0 + 10, r#""op":"span_end","span":"s","status":"error","message":"boom""#),
            ev(
                "a@h:1",
                t0 + 11,
                r#""op":"span_create","trace":"t","span":"e","kind":"error","content":"bad","source":"graph/check""#,
            ),
            ev("a@h:1", t0 + 12, r#""op":"span_end","span":"plain","status":"error""#),
        ]),
    )
    .unwrap();
    settle().await;
    assert_eq!(
        seen.borrow().last().cloned(),
        Some((
            "user-trace-error-sources".to_owned(),
            r#"["graph/check","graph/llm"]"#.to_owned()
        ))
    );
    seen.borrow_mut().clear();
    // Another failure of a source already listed: the list is the same, and no event says so.
    push.call1(
        &el,
        &lines_json(&[ev(
            "a@h:1",
            t0 + 13,
            r#""op":"span_create","trace":"t","span":"e2","kind":"error","content":"bad","source":"graph/check""#,
        )]),
    )
    .unwrap();
    settle().await;
    assert_eq!(*seen.borrow(), []);
    let header: web_sys::HtmlElement = el
        .query_selector("[data-span] > .utp-span-header")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    header.click();
    assert_eq!(
        *seen.borrow(),
        [(
            "user-trace-activate".to_owned(),
            r#"{"trace":"t","span":"s","source":"graph/llm"}"#.to_owned()
        )]
    );
    // The element reveals too, and a clear empties the set.
    let reveal: js_sys::Function = js_sys::Reflect::get(&el, &"reveal".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(reveal.call1(&el, &"graph/run".into()).unwrap(), true);
    seen.borrow_mut().clear();
    let clear: js_sys::Function = js_sys::Reflect::get(&el, &"clear".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    clear.call0(&el).unwrap();
    frame().await;
    assert_eq!(
        *seen.borrow(),
        [("user-trace-error-sources".to_owned(), "[]".to_owned())]
    );
    el.remove();
}

// --- Item 12: narrow panels ----------------------------------------------------------------

fn press(target: &web_sys::Element, k: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(k);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let e = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&e).unwrap();
}

fn focused_text() -> String {
    document()
        .active_element()
        .and_then(|a| a.text_content())
        .unwrap_or_default()
}

/// Hostile content: a long unbroken name, right-to-left text, markup, long process names.
fn hostile(t0: u64) -> Vec<String> {
    let long = "n".repeat(300);
    vec![
        ev(
            "a-very-long-process-name-with-no-end-in-sight@build-host-0123456789:4242",
            t0,
            &format!(r#""op":"trace_start","trace":"t","name":"{long}""#),
        ),
        ev(
            "مخطط@host:9",
            t0 + 1,
            r#""op":"span_create","trace":"t","span":"s","kind":"text","title":"<script>alert(1)</script> \u202e مرحبا بالعالم","content":"hello""#,
        ),
        ev(
            "a@h:1",
            t0 + 2,
            &format!(
                r#""op":"span_create","trace":"t","span":"i","kind":"items","content":[{{"name":"{long}","value":"{long}"}}]"#
            ),
        ),
    ]
}

#[wasm_bindgen_test]
async fn a_narrow_panel_folds_its_toolbar_into_a_menu_and_never_scrolls_sideways() {
    let p = mount(360, 600, None);
    let t0 = now_us();
    p.push(&hostile(t0)).await;
    let panel = p.one(".utp-panel");
    assert!(
        panel.scroll_width() <= panel.client_width(),
        "{} in {}",
        panel.scroll_width(),
        panel.client_width()
    );
    let tree = p.one(".utp-tree");
    assert!(
        tree.scroll_width() <= tree.client_width(),
        "{} in {}",
        tree.scroll_width(),
        tree.client_width()
    );
    // The toolbar is one row: filters and "More"; its buttons are in the menu.
    let toolbar = p.one(".utp-toolbar");
    assert!(
        toolbar.offset_height() < 45,
        "one row: {} px",
        toolbar.offset_height()
    );
    assert!(p
        .all(".utp-toolbar > button")
        .iter()
        .all(|b| b.offset_width() == 0));
    let more = p.one(".utp-menu-button");
    assert!(more.offset_width() > 0);
    assert_eq!(more.get_attribute("aria-haspopup").as_deref(), Some("menu"));
    assert_eq!(
        more.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    // The keyboard: Down opens it on its first item; arrows, End and Escape as the pattern says.
    more.focus().unwrap();
    press(&more, "ArrowDown");
    let menu = p.one("[role=menu]");
    assert!(menu.offset_height() > 0);
    assert_eq!(more.get_attribute("aria-expanded").as_deref(), Some("true"));
    assert_eq!(focused_text(), "Find", "the toolbar's first button");
    let active = || document().active_element().unwrap();
    press(&active(), "ArrowDown");
    assert_eq!(focused_text(), "Collapse");
    press(&active(), "ArrowUp");
    press(&active(), "ArrowUp");
    assert_eq!(focused_text(), "Import", "wraps to the last");
    let follow = p
        .all("[role=menu] [role=menuitemcheckbox]")
        .into_iter()
        .find(|i| i.text_content().unwrap() == "Follow")
        .expect("Follow, a checkbox item");
    assert_eq!(
        follow.get_attribute("aria-checked").as_deref(),
        Some("true")
    );
    press(&active(), "Escape");
    assert_eq!(menu.offset_height(), 0, "closed");
    assert_eq!(
        active(),
        more.clone().dyn_into::<web_sys::Element>().unwrap(),
        "focus back on its button"
    );
    // An item does what its button does.
    press(&more, "Enter");
    press(&active(), "ArrowDown");
    assert_eq!(focused_text(), "Collapse");
    press(&active(), "Enter");
    frame().await;
    assert_eq!(
        p.one(".utp-trace-header")
            .get_attribute("aria-expanded")
            .as_deref(),
        Some("false")
    );
    assert_eq!(menu.offset_height(), 0);
    // A long name is one line, cut, and whole in its tooltip.
    let name = p.one(".utp-trace-header > .utp-label");
    assert!(name.scroll_width() > name.client_width(), "cut");
    assert!(name.offset_height() < 30, "one line");
    assert_eq!(name.get_attribute("title").unwrap(), "n".repeat(300));
    p.remove();
}

#[wasm_bindgen_test]
async fn a_wide_panel_shows_its_toolbar_buttons_and_no_menu() {
    let p = mount(1280, 600, None);
    p.push(&hostile(now_us())).await;
    assert_eq!(p.one(".utp-menu-button").offset_width(), 0);
    let buttons = p.all(".utp-toolbar > button");
    assert!(buttons.len() >= 7 && buttons.iter().all(|b| b.offset_width() > 0));
    let panel = p.one(".utp-panel");
    assert!(panel.scroll_width() <= panel.client_width());
    let tree = p.one(".utp-tree");
    assert!(tree.scroll_width() <= tree.client_width());
    // A short title is whole.
    let title = p.one(".utp-span-header > .utp-span-title");
    assert!(title.scroll_width() <= title.client_width());
    p.remove();
}
