//! Browser tests of finding and going places: find (the model searched, not the DOM; matches
//! revealed and highlighted), errors first, tailing, copying; in headless Chromium through
//! the real DOM.

#![cfg(target_arch = "wasm32")]

use user_trace_panel::store::Pending;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use user_trace_model::protocol::{decode_event, Event};

mod common;
use common::{copied, document, frame, hook_clipboard, reach, settle, sleep, Mounted};

wasm_bindgen_test_configure!(run_in_browser);

/// A panel of `height_px` (800 px wide), as an editor embeds it.
fn mount_panel(height_px: u32) -> Mounted {
    common::mount(800, height_px, None)
}

fn events(lines: &[String]) -> Vec<Event> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| decode_event(i, l).unwrap_or_else(|e| panic!("test event {l}: {e}")))
        .collect()
}

impl Mounted {
    async fn push(&self, lines: &[String]) {
        self.store.enqueue(Pending::Events(events(lines)));
        frame().await;
    }
    fn find(&self, selector: &str) -> Option<web_sys::HtmlElement> {
        self.el
            .query_selector(selector)
            .unwrap()
            .map(|e| e.dyn_into().unwrap())
    }
    fn element(&self, selector: &str) -> web_sys::HtmlElement {
        self.find(selector)
            .unwrap_or_else(|| panic!("no element matches {selector}"))
    }
    fn input(&self) -> web_sys::HtmlInputElement {
        self.element(".utp-find-input").dyn_into().unwrap()
    }
    /// Types into the find field as a user does.
    fn type_find(&self, text: &str) {
        let input = self.input();
        input.set_value(text);
        input
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
    }
    /// The counter, once the search is over (or what it says after `frames` frames).
    async fn count_when_done(&self) -> String {
        for _ in 0..400 {
            let c = self.text(".utp-find-count");
            if !c.ends_with('…') {
                // The reveal goes on over a few frames.
                settle().await;
                settle().await;
                return self.text(".utp-find-count");
            }
            frame().await;
        }
        panic!("the search never ended: {}", self.text(".utp-find-count"));
    }
    /// The highlighted place.
    fn found(&self) -> web_sys::HtmlElement {
        self.element(".utp-found")
    }
    /// Whether `el` is inside the tree's visible area.
    fn visible(&self, el: &web_sys::Element) -> bool {
        let tree = self.element(".utp-tree").get_bounding_client_rect();
        let r = el.get_bounding_client_rect();
        r.height() > 0.0 && r.bottom() > tree.top() && r.top() < tree.bottom()
    }
}

fn key(target: &web_sys::EventTarget, key: &str, ctrl: bool, shift: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_ctrl_key(ctrl);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let e = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&e).unwrap();
}

fn trace(id: &str, name: &str) -> String {
    format!(
        r#"{{"id":"{id}","process":"p","ts":1,"op":"trace_start","trace":"{id}","name":"{name}"}}"#
    )
}

fn span(trace: &str, id: &str, ts: u64, kind: &str, title: &str, content: &str) -> String {
    format!(
        r#"{{"id":"{id}","process":"p","ts":{ts},"op":"span_create","trace":"{trace}","span":"{id}","kind":"{kind}","title":"{title}","content":{content}}}"#
    )
}

#[wasm_bindgen_test]
async fn ctrl_f_finds_inside_collapsed_json_and_enter_goes_next_and_back() {
    let p = mount_panel(500);
    let list: Vec<String> = (0..250)
        .map(|i| {
            let name = if i == 205 { "needle" } else { "hay" };
            format!(r#"{{"name":"{name} {i}"}}"#)
        })
        .collect();
    let json = format!(
        r#"{{"a":{{"b":[1,2,{{"needle":"x"}}]}},"list":[{}]}}"#,
        list.join(",")
    );
    p.push(&[
        trace("t", "Run"),
        span("t", "j", 2, "json", "data", &json),
        span("t", "s", 3, "text", "notes", r#""more NEEDLE text""#),
    ])
    .await;
    settle().await;
    assert!(p.element(".utp-find").has_attribute("hidden"));
    // Ctrl+F inside the panel opens the bar and puts the cursor in it.
    key(&p.element(".utp-tree"), "f", true, false);
    assert!(!p.element(".utp-find").has_attribute("hidden"));
    assert_eq!(
        document().active_element().unwrap(),
        p.input().clone().into()
    );
    p.type_find("needle");
    assert_eq!(p.count_when_done().await, "1 of 3");
    // A key inside a collapsed object: its containers opened, its row highlighted.
    let found = p.found();
    assert_eq!(
        found.get_attribute("data-path").as_deref(),
        Some("$.a.b[2].needle")
    );
    assert!(p.visible(&found));
    // Enter: the next one, on a page of a large array that was collapsed.
    key(&p.input(), "Enter", false, false);
    settle().await;
    assert_eq!(p.text(".utp-find-count"), "2 of 3");
    let found = p.found();
    assert_eq!(
        found.get_attribute("data-path").as_deref(),
        Some("$.list[205].name")
    );
    assert!(found.text_content().unwrap().contains("needle 205"));
    assert!(p.visible(&found));
    key(&p.input(), "Enter", false, false);
    settle().await;
    assert_eq!(p.text(".utp-find-count"), "3 of 3");
    assert!(p
        .found()
        .text_content()
        .unwrap()
        .contains("more NEEDLE text"));
    // Round the end, and back with Shift+Enter.
    key(&p.input(), "Enter", false, false);
    settle().await;
    assert_eq!(p.text(".utp-find-count"), "1 of 3");
    key(&p.input(), "Enter", false, true);
    settle().await;
    assert_eq!(p.text(".utp-find-count"), "3 of 3");
    assert_eq!(p.count_highlighted(), 1, "one place highlighted at a time");
    assert_eq!(
        p.found().get_attribute("aria-current").as_deref(),
        Some("true")
    );
    assert_eq!(
        p.el.query_selector_all("[aria-current]").unwrap().length(),
        1,
        "one current place for a screen reader"
    );
}

impl Mounted {
    fn count_highlighted(&self) -> u32 {
        self.el.query_selector_all(".utp-found").unwrap().length()
    }
}

#[wasm_bindgen_test]
async fn case_and_regex_toggles_change_what_is_found() {
    let p = mount_panel(400);
    p.push(&[
        trace("t", "Needle run"),
        span("t", "a", 2, "text", "one", r#""a needle""#),
        span("t", "b", 3, "text", "two", r#""neeeedle id-42""#),
        span("t", "c", 4, "text", "three", r#""une école""#),
        span("t", "d", 5, "json", "four", r#"{"k":"cd","n":[1,"x cd"]}"#),
    ])
    .await;
    settle().await;
    // `/` opens it too.
    key(&p.element(".utp-tree"), "/", false, false);
    assert!(!p.element(".utp-find").has_attribute("hidden"));
    p.type_find("needle");
    assert_eq!(p.count_when_done().await, "1 of 2");
    let case = p.element("[aria-label='Match case']");
    case.click();
    assert_eq!(case.get_attribute("aria-pressed").as_deref(), Some("true"));
    assert_eq!(p.count_when_done().await, "1 of 1");
    case.click();
    let regex = p.element("[aria-label='Regular expression']");
    regex.click();
    p.type_find(r"ne+dle");
    assert_eq!(p.count_when_done().await, "1 of 3");
    p.type_find(r"id-\d+$");
    assert_eq!(p.count_when_done().await, "1 of 1");
    // Anchored, a pattern matches a JSON value whole: found, though the document's whole
    // text does not match it (plain text passes over a document that does not hold it).
    p.type_find(r"^cd$");
    assert_eq!(p.count_when_done().await, "1 of 1");
    regex.click();
    p.type_find("x cd");
    assert_eq!(p.count_when_done().await, "1 of 1");
    p.type_find("cd\"");
    assert_eq!(p.count_when_done().await, "No matches");
    regex.click();
    // The browser's engine folds case beyond ASCII.
    p.type_find("ÉCOLE|Ü");
    assert_eq!(p.count_when_done().await, "1 of 1");
    // A pattern that is not one says why, and marks the field.
    p.type_find("(unclosed");
    frame().await;
    assert!(
        p.text(".utp-find-count")
            .starts_with("Not a regular expression"),
        "{}",
        p.text(".utp-find-count")
    );
    assert_eq!(
        p.input().get_attribute("aria-invalid").as_deref(),
        Some("true")
    );
    // Escape closes the bar and gives focus back to the tree.
    key(&p.input(), "Escape", false, false);
    assert!(p.element(".utp-find").has_attribute("hidden"));
    assert_eq!(p.count_highlighted(), 0);
}

#[wasm_bindgen_test]
async fn a_match_in_a_collapsed_trace_is_revealed() {
    let p = mount_panel(400);
    p.push(&[
        trace("t1", "First"),
        span("t1", "a", 2, "text", "plain", r#""x""#),
        trace("t2", "Second"),
        span(
            "t2",
            "b",
            3,
            "items",
            "table",
            r#"[{"name":"k","value":"the needle"}]"#,
        ),
    ])
    .await;
    settle().await;
    p.element("button[title='Collapse all traces']").click();
    settle().await;
    assert!(p.find(".utp-items").is_none(), "collapsed: no items shown");
    key(&p.element(".utp-tree"), "f", true, false);
    p.type_find("the needle");
    assert_eq!(p.count_when_done().await, "1 of 1");
    let found = p.found();
    assert_eq!(found.get_attribute("data-item").as_deref(), Some("0"));
    let header = found
        .closest(".utp-trace")
        .unwrap()
        .unwrap()
        .query_selector(":scope > .utp-trace-header")
        .unwrap()
        .unwrap();
    assert_eq!(
        header.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
}

#[wasm_bindgen_test]
async fn a_span_virtualized_away_is_found_in_slices_and_typing_cancels_the_search() {
    let p = mount_panel(500);
    let mut lines = vec![trace("t", "Big")];
    // A JSON span of about 3 MB besides: the search takes many slices.
    let rows: Vec<String> = (0..30_000)
        .map(|i| format!(r#"{{"id":{i},"text":"row number {i} of the big document"}}"#))
        .collect();
    lines.push(span(
        "t",
        "big",
        2,
        "json",
        "big",
        &format!("[{}]", rows.join(",")),
    ));
    for i in 0..100_000u64 {
        let text = if i == 30_000 { "the needle" } else { "row" };
        lines.push(span(
            "t",
            &format!("s{i}"),
            10 + i,
            "text",
            "",
            &format!(r#""{text} {i}""#),
        ));
    }
    p.push(&lines).await;
    settle().await;
    key(&p.element(".utp-tree"), "f", true, false);
    p.type_find("row");
    frame().await;
    // Still searching a frame later: the page was not held until the search ended.
    let c = p.text(".utp-find-count");
    assert!(c.ends_with('…'), "{c}");
    // Typing drops that search: only the new query's matches count.
    p.type_find("needle");
    assert_eq!(p.count_when_done().await, "1 of 1");
    let found = p.found();
    let span = found.closest("[data-span]").unwrap().unwrap();
    assert!(span.text_content().unwrap().contains("the needle 30000"));
    assert!(p.visible(&found), "scrolled into view");
}

fn child(id: &str, name: &str, parent: &str, ts: u64) -> String {
    format!(
        r#"{{"id":"{id}","process":"p","ts":{ts},"op":"trace_start","trace":"{id}","name":"{name}","parent_span":"{parent}"}}"#
    )
}

fn end_trace(id: &str, error: Option<&str>) -> String {
    let status = match error {
        Some(m) => format!(r#""error","message":"{m}""#),
        None => r#""ok""#.to_owned(),
    };
    format!(
        r#"{{"id":"end-{id}","process":"p","ts":99999,"op":"trace_end","trace":"{id}","status":{status}}}"#
    )
}

#[wasm_bindgen_test]
async fn errors_are_counted_marked_above_and_visited_with_e() {
    let p = mount_panel(400);
    // Roots sort by start, then id: a1 (the error below it) comes first.
    let mut lines = vec![
        trace("a1", "Outer"),
        span("a1", "s", 2, "text", "step", r#""ok""#),
        child("c", "Inner", "s", 3),
        span(
            "c",
            "boom",
            4,
            "error",
            "failure",
            r#"{"message":"it broke"}"#,
        ),
    ];
    for i in 0..200 {
        lines.push(trace(&format!("r{i}"), &format!("ok {i}")));
        lines.push(end_trace(&format!("r{i}"), None));
    }
    lines.push(trace("last", "Last"));
    lines.push(end_trace("last", Some("gave up")));
    p.push(&lines).await;
    settle().await;
    let count = p.element(".utp-errors");
    assert_eq!(count.text_content().unwrap(), "⚠ 2 errors");
    assert!(!count.class_list().contains("utp-hidden"));
    // The traces above the error span are marked; a trace with no error below is not.
    p.element("button[title='Collapse all traces']").click();
    settle().await;
    let marked = |id: &str| {
        p.find(&format!(
            "[data-trace='{id}'] > .utp-trace-header .utp-error-below"
        ))
        .is_some()
    };
    let id = |key: &str| {
        p.store
            .with(|m| m.trace_by_key(key).unwrap().as_u64())
            .to_string()
    };
    // E goes to the first error, inside a collapsed trace, and again to the next.
    key(&p.element(".utp-tree"), "e", false, false);
    settle().await;
    let found = p.found();
    assert!(found.closest("[data-span-kind='error']").unwrap().is_some());
    assert!(p.visible(&found));
    assert!(marked(&id("a1")), "the outer trace is marked");
    assert!(marked(&id("c")), "the inner trace is marked");
    assert!(!marked(&id("r0")), "a trace without errors is not");
    key(&p.element(".utp-tree"), "e", false, false);
    settle().await;
    let found = p.found();
    assert!(found.class_list().contains("utp-trace-header"));
    assert!(found.text_content().unwrap().contains("gave up"));
    assert!(p.visible(&found));
    // Shift+E: back to the first; the button goes on to the next.
    key(&p.element(".utp-tree"), "E", false, true);
    settle().await;
    assert!(p
        .found()
        .closest("[data-span-kind='error']")
        .unwrap()
        .is_some());
    count.click();
    settle().await;
    assert!(p.found().text_content().unwrap().contains("gave up"));
}

#[wasm_bindgen_test]
async fn the_first_error_can_be_shown_as_soon_as_it_arrives() {
    let p = mount_panel(400);
    let mut lines = Vec::new();
    for i in 0..300 {
        lines.push(trace(&format!("r{i}"), &format!("run {i}")));
        lines.push(span(
            &format!("r{i}"),
            &format!("s{i}"),
            10 + i,
            "text",
            "",
            r#""fine""#,
        ));
    }
    p.push(&lines).await;
    settle().await;
    assert!(p.element(".utp-errors").class_list().contains("utp-hidden"));
    let option: web_sys::HtmlInputElement = p.element(".utp-first-error input").dyn_into().unwrap();
    option.click();
    assert!(option.checked());
    // An error far above the newest rows (follow mode shows the bottom).
    p.push(&[span(
        "r3",
        "bad",
        5000,
        "error",
        "oops",
        r#"{"message":"first failure"}"#,
    )])
    .await;
    settle().await;
    settle().await;
    let found = p.found();
    assert!(
        found.text_content().unwrap().contains("oops"),
        "{:?}",
        found.text_content()
    );
    assert!(p.visible(&found));
    assert_eq!(p.text(".utp-errors"), "⚠ 1 error");
}

/// Scrolls the tree as a reader does (the panel hears the `scroll` event).
async fn scroll_tree(p: &Mounted, top: i32) {
    let tree = p.element(".utp-tree");
    tree.set_scroll_top(top);
    tree.dispatch_event(&web_sys::Event::new("scroll").unwrap())
        .unwrap();
    settle().await;
}

#[wasm_bindgen_test]
async fn while_not_following_a_pill_counts_what_is_new_and_the_state_is_always_shown() {
    let p = mount_panel(400);
    let lines: Vec<String> = (0..100)
        .map(|i| trace(&format!("t{i:03}"), &format!("run {i}")))
        .collect();
    p.push(&lines).await;
    settle().await;
    let state = p.element(".utp-follow-state");
    assert_eq!(state.text_content().unwrap(), "● Following");
    assert_eq!(state.get_attribute("aria-pressed").as_deref(), Some("true"));
    assert!(p.find(".utp-jump").is_none());
    // The reader scrolls up: following stops, and says so.
    scroll_tree(&p, 0).await;
    assert_eq!(state.text_content().unwrap(), "○ Not following");
    assert_eq!(p.text(".utp-jump"), "↓ Jump to newest");
    // What arrives is counted, and the reader stays where they are.
    p.push(&[
        trace("u1", "new one"),
        trace("u2", "new two"),
        span("u1", "x1", 5, "text", "", r#""a""#),
    ])
    .await;
    settle().await;
    assert_eq!(p.text(".utp-jump"), "↓ 3 new");
    assert_eq!(
        p.element(".utp-jump")
            .get_attribute("aria-label")
            .as_deref(),
        Some("3 new traces and spans: follow the newest")
    );
    assert_eq!(
        p.element(".utp-tree").scroll_top(),
        0,
        "the reader was not moved"
    );
    // The pill follows again.
    p.element(".utp-jump").click();
    settle().await;
    settle().await;
    assert_eq!(state.text_content().unwrap(), "● Following");
    assert!(p.find(".utp-jump").is_none());
    let tree = p.element(".utp-tree");
    assert!(tree.scroll_height() - tree.scroll_top() - tree.client_height() <= 2);
    // The state is a toggle too (keyboard: it is a button).
    state.click();
    frame().await;
    assert_eq!(state.text_content().unwrap(), "○ Not following");
}

#[wasm_bindgen_test]
async fn a_pinned_span_keeps_following_inside_it() {
    let p = mount_panel(400);
    p.push(&[
        trace("t", "Chat"),
        span("t", "answer", 2, "text", "answer", r#""The answer begins""#),
    ])
    .await;
    settle().await;
    let pin = p.element("[data-span-kind='text'] .utp-pin");
    assert_eq!(pin.get_attribute("aria-pressed").as_deref(), Some("false"));
    pin.click();
    settle().await;
    assert_eq!(
        p.element("[data-span-kind='text'] .utp-pin")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    assert_eq!(p.text(".utp-follow-state"), "● Following the pinned span");
    // Other spans arrive below it while it streams on.
    let mut lines: Vec<String> = (0..60)
        .map(|i| {
            span(
                "t",
                &format!("o{i}"),
                10 + i,
                "text",
                "other",
                r#""other work""#,
            )
        })
        .collect();
    for i in 0..40 {
        lines.push(format!(
            r#"{{"id":"a{i}","process":"p","ts":{},"op":"text_append","span":"answer","text":" line {i}\n"}}"#,
            100 + i
        ));
    }
    p.push(&lines).await;
    settle().await;
    settle().await;
    let tree = p.element(".utp-tree");
    let answer = p.element("[data-span-kind='text']");
    let bottom = answer.get_bounding_client_rect().bottom();
    let tree_rect = tree.get_bounding_client_rect();
    assert!(
        (bottom - tree_rect.bottom()).abs() <= 2.0,
        "the pinned span's end is at the tree's bottom: {bottom} vs {}",
        tree_rect.bottom()
    );
    assert!(
        tree.scroll_height() - tree.scroll_top() - tree.client_height() > 200,
        "not the tree's end"
    );
    // Unpinned: following goes to the end of the tree again.
    p.element(".utp-unpin").click();
    settle().await;
    settle().await;
    assert_eq!(p.text(".utp-follow-state"), "● Following");
    assert!(tree.scroll_height() - tree.scroll_top() - tree.client_height() <= 2);
}

#[wasm_bindgen_test]
async fn copies_a_json_value_exactly_its_path_a_span_and_a_trace_that_imports_back() {
    hook_clipboard(false);
    let p = mount_panel(500);
    p.push(&[
        trace("t", "Run <script>alert(1)</script>"),
        span(
            "t",
            "j",
            2,
            "json",
            "data",
            r#"{"results":[{"title":"a"},{"title":"b"},{"title":"x\u00e9 1.50"}],"odd key":1.50}"#,
        ),
    ])
    .await;
    settle().await;
    // Open results and its third member: copy the value as sent and the path.
    p.element("[data-path='$.results']").click();
    p.element("[data-path='$.results[2]']").click();
    let row = p.element("[data-path='$.results[2].title']");
    row.query_selector("[aria-label='Copy value']")
        .unwrap()
        .unwrap()
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    row.query_selector("[aria-label='Copy path']")
        .unwrap()
        .unwrap()
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    p.element("[data-path='$[\"odd key\"]'] [aria-label='Copy value']")
        .click();
    p.element("[data-path='$[\"odd key\"]'] [aria-label='Copy path']")
        .click();
    // A span, and the trace (its copy buttons appear when reached).
    reach(&p.element("[data-span]"));
    p.element(".utp-span-header [aria-label='Copy span as JSON']")
        .click();
    reach(&p.element(".utp-trace-header"));
    let trace_copy = p.element(".utp-trace-header [aria-label='Copy trace as JSON Lines']");
    trace_copy.click();
    settle().await;
    assert_eq!(
        trace_copy.text_content().unwrap(),
        "copied",
        "a visible confirmation"
    );
    let got = copied();
    assert_eq!(got[0], r#""x\u00e9 1.50""#, "the value exactly as sent");
    assert_eq!(got[1], "$.results[2].title");
    assert_eq!(got[2], "1.50");
    assert_eq!(got[3], r#"$["odd key"]"#);
    assert!(
        got[4].starts_with(r#"{"span":"j","trace":"t","kind":"json","title":"data""#),
        "{}",
        got[4]
    );
    assert!(got[4].ends_with(r#""content":{"results":[{"title":"a"},{"title":"b"},{"title":"x\u00e9 1.50"}],"odd key":1.50}}"#));
    // The trace's lines import back into another panel as the same tree.
    let q = mount_panel(300);
    user_trace_panel::import_text(q.store, &got[5]);
    settle().await;
    assert_eq!(q.text(".utp-label"), "Run <script>alert(1)</script>");
    assert_eq!(
        q.store.with(|m| m.dump()),
        p.store.with(|m| m.dump()),
        "the same tree"
    );
    assert!(q.find("script").is_none(), "content is text, never HTML");
}

/// The copy buttons of rows at any depth appear when the pointer or the keyboard reaches the
/// row (one listener on the tree serves them all): each row gets its own, once, and copies
/// its own span or trace, never an outer one's.
#[wasm_bindgen_test]
async fn a_row_reached_at_any_depth_gets_its_own_copy_buttons_once() {
    hook_clipboard(false);
    let p = mount_panel(500);
    p.push(&[
        trace("t", "Run"),
        span("t", "outer", 2, "text", "outer", r#""outer text""#),
        child("c", "Child", "outer", 3),
        span("c", "inner", 4, "text", "inner", r#""inner text""#),
    ])
    .await;
    settle().await;
    assert_eq!(p.all(".utp-copy").len(), 0, "none before a row is reached");
    let span_of = |title: &str| {
        p.all("[data-span]")
            .into_iter()
            .find(|s| {
                s.query_selector(":scope > .utp-span-header .utp-span-title")
                    .unwrap()
                    .and_then(|t| t.text_content())
                    .as_deref()
                    == Some(title)
            })
            .unwrap_or_else(|| panic!("span {title}"))
    };
    let own =
        |el: &web_sys::Element, selector: &str| el.query_selector_all(selector).unwrap().length();
    // Near miss: the tree itself, outside every row.
    reach(&p.element(".utp-tree"));
    assert_eq!(p.all(".utp-copy").len(), 0, "the tree is not a row");
    // The inner text, reached twice: its text's button and its span's, once each.
    let inner = span_of("inner");
    let inner_text = inner.query_selector(".utp-text").unwrap().unwrap();
    reach(&inner_text);
    reach(&inner_text);
    assert_eq!(own(&inner, ":scope > .utp-span-header > .utp-copy"), 1);
    assert_eq!(
        own(
            &inner,
            ":scope > .utp-span-content .utp-text-span > .utp-copy"
        ),
        1
    );
    assert_eq!(
        p.all(".utp-copy").len(),
        2,
        "no outer row's button: {}",
        p.el.inner_html()
    );
    // Before the text, as the keyboard and a screen reader meet it.
    let first = inner
        .query_selector(":scope > .utp-span-content .utp-text-span")
        .unwrap()
        .unwrap()
        .first_element_child()
        .unwrap();
    assert_eq!(
        first.get_attribute("aria-label").as_deref(),
        Some("Copy text")
    );
    inner
        .query_selector("[aria-label='Copy text']")
        .unwrap()
        .unwrap()
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    // The child trace's header: its own trace.
    let child_header = p
        .all(".utp-trace-header")
        .into_iter()
        .find(|h| h.text_content().unwrap_or_default().contains("Child"))
        .unwrap();
    reach(&child_header);
    child_header
        .query_selector(":scope > [aria-label='Copy trace as JSON Lines']")
        .unwrap()
        .unwrap()
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    // The child trace is in the outer span: the innermost span around the pointer gets its
    // header's button too.
    assert_eq!(p.all(".utp-copy").len(), 4);
    let outer = span_of("outer");
    assert_eq!(own(&outer, ":scope > .utp-span-header > .utp-copy"), 1);
    assert_eq!(
        own(
            &outer,
            ":scope > .utp-span-content .utp-text-span > .utp-copy"
        ),
        0
    );
    // The keyboard reaching the outer text: its text's button.
    outer
        .query_selector(":scope > .utp-span-content .utp-text")
        .unwrap()
        .unwrap()
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .focus()
        .unwrap();
    assert_eq!(own(&outer, ":scope > .utp-span-header > .utp-copy"), 1);
    assert_eq!(p.all(".utp-copy").len(), 5);
    outer
        .query_selector(":scope > .utp-span-content .utp-text-span > [aria-label='Copy text']")
        .unwrap()
        .unwrap()
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    settle().await;
    let got = copied();
    assert_eq!(got[0], "inner text");
    assert!(
        got[1].contains(r#""trace":"c""#) && !got[1].contains(r#""span":"outer""#),
        "{}",
        got[1]
    );
    assert_eq!(got[2], "outer text");
}

/// Nesting adds no space of its own: a span ends where the last trace nested in it ends,
/// however deep its own nested spans go (a span that kept their margins inside it pushed the
/// next row lower at every level).
#[wasm_bindgen_test]
async fn a_span_ends_where_what_is_nested_in_it_ends() {
    let p = mount_panel(600);
    let mut lines = vec![trace("t", "Run")];
    for level in 0..4 {
        let in_trace = if level == 0 {
            "t".to_owned()
        } else {
            format!("c{level}")
        };
        lines.push(span(
            &in_trace,
            &format!("s{level}"),
            2 + 2 * level,
            "text",
            "step",
            r#""x""#,
        ));
        lines.push(child(
            &format!("c{}", level + 1),
            "Child",
            &format!("s{level}"),
            3 + 2 * level,
        ));
    }
    lines.push(span("c4", "s4", 20, "text", "step", r#""x""#));
    p.push(&lines).await;
    settle().await;
    let spans = p.all("[data-span]");
    assert_eq!(spans.len(), 5);
    for s in &spans[..4] {
        let last = s.last_element_child().expect("its child trace");
        let gap = s.get_bounding_client_rect().bottom() - last.get_bounding_client_rect().bottom();
        assert!(gap.abs() < 0.5, "{gap} px below the nested trace");
    }
}

/// A panel showing one JSON span, `{"a":1}`.
async fn json_a_is_1() -> Mounted {
    let p = mount_panel(300);
    p.push(&[
        trace("t", "Run"),
        span("t", "j", 2, "json", "data", r#"{"a":1}"#),
    ])
    .await;
    settle().await;
    p
}

/// A JSON row has two copy buttons: the path's says so, and both say what they said again
/// after their feedback, even when pressed twice while it shows.
#[wasm_bindgen_test]
async fn a_path_button_says_what_it_copies_and_says_it_again_after_its_feedback() {
    hook_clipboard(false);
    let p = json_a_is_1().await;
    let value = p.element("[data-path='$.a'] [aria-label='Copy value']");
    let path = p.element("[data-path='$.a'] [aria-label='Copy path']");
    assert_eq!(value.text_content().unwrap(), "copy");
    assert_eq!(path.text_content().unwrap(), "copy path");
    path.click();
    settle().await;
    assert_eq!(path.text_content().unwrap(), "copied");
    // Again while it says "copied".
    path.click();
    settle().await;
    assert_eq!(copied().last().map(String::as_str), Some("$.a"));
    sleep(1_600).await;
    assert_eq!(path.text_content().unwrap(), "copy path");
    assert_eq!(
        path.get_attribute("aria-label").as_deref(),
        Some("Copy path")
    );
    assert_eq!(path.get_attribute("title").as_deref(), Some("Copy path"));
}

#[wasm_bindgen_test]
async fn a_refused_clipboard_says_so_clearly() {
    hook_clipboard(true);
    let p = json_a_is_1().await;
    let b = p.element("[data-path='$.a'] [aria-label='Copy value']");
    b.click();
    settle().await;
    assert_eq!(b.text_content().unwrap(), "copy failed");
    let said = b.get_attribute("title").unwrap();
    assert!(said.contains("refused the clipboard"), "{said}");
    assert!(said.contains("Write permission denied."), "{said}");
    assert_eq!(b.get_attribute("aria-label"), Some(said));
}

#[wasm_bindgen_test]
async fn a_string_holding_json_opens_as_a_tree_and_markdown_shows_its_source() {
    let p = mount_panel(400);
    p.push(&[
        trace("t", "Run"),
        span(
            "t",
            "j",
            2,
            "json",
            "data",
            r#"{"args":"{\"city\":\"Paris\",\"days\":[1,2]}","plain":"{not json","bad":"{\"a\":}"}"#,
        ),
        span("t", "m", 3, "markdown", "notes", r##""# Title\n\n<b>raw</b> **bold**""##),
    ])
    .await;
    settle().await;
    assert!(p.find("[data-path='$.plain'] .utp-json-as-tree").is_none());
    let open = p.element("[data-path='$.args'] .utp-json-as-tree");
    assert_eq!(
        open.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
    open.click();
    assert_eq!(open.get_attribute("aria-expanded").as_deref(), Some("true"));
    let inner = p.element(".utp-json-inner");
    assert!(inner.text_content().unwrap().contains("Paris"));
    assert!(inner
        .query_selector("[data-path='$.days']")
        .unwrap()
        .is_some());
    open.click();
    assert!(p.find(".utp-json-inner").is_none(), "closed again");
    p.element("[data-path='$.bad'] .utp-json-as-tree").click();
    assert!(p.text(".utp-json-inner").starts_with("Not JSON"));
    // Markdown: rendered, then its source as sent, then rendered again.
    assert_eq!(p.text(".utp-markdown h3"), "Title");
    let toggle = p.element(".utp-md-toggle");
    toggle.click();
    frame().await;
    assert_eq!(
        toggle.get_attribute("aria-pressed").as_deref(),
        Some("true")
    );
    assert_eq!(p.text(".utp-md-raw"), "# Title\n\n<b>raw</b> **bold**");
    assert!(p.find(".utp-markdown b").is_none(), "raw HTML stays text");
    toggle.click();
    frame().await;
    assert_eq!(p.text(".utp-markdown strong"), "bold");
}
