//! Browser tests of protocol 1.1 in the panel: conversations (`messages` spans) and JSON
//! streamed in pieces (`json_append`), mounted in headless Chromium and checked through the
//! real DOM. (Apart from `browser.rs` so that each can change without the other.)

#![cfg(target_arch = "wasm32")]

use user_trace_model::protocol::{decode_event, Event};
use user_trace_panel::store::Pending;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

mod common;
use common::{document, frame, mount, settle, sleep, Mounted};

wasm_bindgen_test_configure!(run_in_browser);

/// Events from compact JSON lines; `{n}` counters keep ids unique.
fn events(lines: &[String]) -> Vec<Event> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let line = l.replace("{n}", &i.to_string());
            decode_event(i, &line).unwrap_or_else(|e| panic!("test event {line}: {e}"))
        })
        .collect()
}

impl Mounted {
    async fn push(&self, lines: &[String]) {
        self.store.enqueue(Pending::Events(events(lines)));
        frame().await;
    }
}

/// One event of process `p`: `body` is the rest of its object after the envelope.
fn ev(ts: u64, body: &str) -> String {
    format!(r#"{{"id":"e{{n}}-{ts}","process":"agent@h:1","ts":{ts},{body}}}"#)
}

fn trace() -> String {
    ev(1, r#""op":"trace_start","trace":"t","name":"Agent run""#)
}

/// A `messages` span `c` holding `messages` (a JSON array).
fn conversation(messages: &str) -> String {
    ev(
        2,
        &format!(
            r#""op":"span_create","trace":"t","span":"c","kind":"messages","title":"chat","content":{messages}"#
        ),
    )
}

fn say(ts: u64, text: &str) -> String {
    ev(
        ts,
        &format!(
            r#""op":"message_append","span":"c","text":{}"#,
            json_str(text)
        ),
    )
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn computed(el: &web_sys::Element, property: &str) -> String {
    web_sys::window()
        .unwrap()
        .get_computed_style(el)
        .unwrap()
        .unwrap()
        .get_property_value(property)
        .unwrap()
}

/// The relative luminance of a computed `rgb(r, g, b)` colour (WCAG 2).
fn luminance(rgb: &str) -> f64 {
    let parts: Vec<f64> = rgb
        .trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .take(3)
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

fn contrast(a: &str, b: &str) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

const CHAT: &str = r#"[
    {"role":"system","content":"You are a concise assistant."},
    {"role":"user","name":"ana","content":"Weather in Lisbon?"},
    {"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","name":"weather","arguments":{"city":"Lisbon","units":"metric","days":1.50}}]},
    {"role":"tool","tool_call_id":"call_1","content":"{\"temp\": 21}"},
    {"role":"assistant","content":""}
]"#;

#[wasm_bindgen_test]
async fn a_conversation_shows_each_role_its_tool_calls_as_trees_and_results_naming_the_call() {
    let p = mount(900, 700, Some("light"));
    p.push(&[trace(), conversation(CHAT)]).await;
    settle().await;
    let rows = p.all(".utp-msg");
    assert_eq!(rows.len(), 5, "one row per message");
    let roles: Vec<String> = p
        .all(".utp-msg-role")
        .iter()
        .map(|r| r.text_content().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool", "assistant"]);
    for (row, class) in rows.iter().zip([
        "utp-role-system",
        "utp-role-user",
        "utp-role-assistant",
        "utp-role-tool",
        "utp-role-assistant",
    ]) {
        assert!(row.class_list().contains(class), "{}", row.class_name());
        // Each message is an item of the tree: the keyboard reaches it.
        assert_eq!(row.get_attribute("role").as_deref(), Some("treeitem"));
    }
    // Roles are told apart by colour, not only by their label.
    let edges: Vec<String> = rows[..4]
        .iter()
        .map(|r| computed(r, "border-left-color"))
        .collect();
    for i in 0..4 {
        for j in i + 1..4 {
            assert_ne!(edges[i], edges[j], "roles {i} and {j} look alike");
        }
    }
    assert_eq!(
        p.one(".utp-messages")
            .get_attribute("aria-label")
            .as_deref(),
        Some("Conversation")
    );
    assert_eq!(p.text(".utp-msg-name"), "ana");
    assert_eq!(
        rows[0]
            .query_selector(".utp-msg-text")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap(),
        "You are a concise assistant."
    );
    // The tool call: its name, its id and its arguments as a JSON tree, exactly as sent.
    let call = p.one(".utp-tool-call");
    assert!(call.text_content().unwrap().contains("weather"));
    assert!(call.text_content().unwrap().contains("call_1"));
    let list = call.query_selector_all(".utp-json-key").unwrap();
    let keys: Vec<String> = (0..list.length())
        .map(|i| list.item(i).unwrap().text_content().unwrap())
        .collect();
    assert_eq!(keys, ["city", "units", "days"]);
    assert!(call.text_content().unwrap().contains("1.50"));
    // The tool's result names the call it answers, and the tool.
    let result = rows[3].query_selector(".utp-msg-head").unwrap().unwrap();
    let head = result.text_content().unwrap();
    assert!(head.contains("result of"), "{head}");
    assert!(
        head.contains("weather") && head.contains("call_1"),
        "{head}"
    );
    // Its result, a JSON object, is a tree as the arguments are.
    let result = rows[3].query_selector_all(".utp-json-key").unwrap();
    assert_eq!(result.length(), 1);
    assert_eq!(result.item(0).unwrap().text_content().unwrap(), "temp");
    assert!(rows[3].query_selector(".utp-msg-text").unwrap().is_none());
    // An empty message (a reply about to stream) shows its role and no empty text box.
    let empty = rows[4].query_selector(".utp-msg-text").unwrap().unwrap();
    assert_eq!(computed(&empty, "display"), "none");
}

/// A tool's result that is one JSON object or array is a JSON tree; one still arriving is its
/// text until it is whole, and text again if more follows. A result that is not JSON, is
/// JSON but not an object or array, or is JSON from another role, stays text.
#[wasm_bindgen_test]
async fn a_tool_result_that_is_json_is_a_tree_once_it_is_whole() {
    let p = mount(900, 700, None);
    let messages = r#"[
        {"role":"tool","tool_call_id":"c1","content":"Sunny, 21 °C"},
        {"role":"tool","tool_call_id":"c2","content":"{not json}"},
        {"role":"tool","tool_call_id":"c3","content":"42"},
        {"role":"user","content":"{\"a\": 1}"},
        {"role":"tool","tool_call_id":"c4","content":" {\"city\": \"Lisbon\", "}
    ]"#;
    p.push(&[trace(), conversation(messages)]).await;
    settle().await;
    let row = |i: usize| p.all(".utp-msg")[i].clone();
    let shown = |i: usize| {
        let r = row(i);
        let tree = r.query_selector(".utp-json").unwrap().is_some();
        let text = r
            .query_selector(".utp-msg-text")
            .unwrap()
            .map(|t| t.text_content().unwrap());
        (tree, text)
    };
    assert_eq!(shown(0), (false, Some("Sunny, 21 °C".into())));
    assert_eq!(shown(1), (false, Some("{not json}".into())));
    assert_eq!(shown(2), (false, Some("42".into())));
    assert_eq!(shown(3), (false, Some("{\"a\": 1}".into())));
    assert_eq!(shown(4), (false, Some(" {\"city\": \"Lisbon\", ".into())));
    // Whole: a tree, its keys in order.
    p.push(&[say(10, "\"hourly\": [1, 2]} ")]).await;
    frame().await;
    assert!(shown(4).0, "a tree once whole");
    let list = row(4).query_selector_all(".utp-json-key").unwrap();
    let keys: Vec<String> = (0..list.length())
        .map(|i| list.item(i).unwrap().text_content().unwrap())
        .collect();
    assert_eq!(keys, ["city", "hourly"]);
    // More after it: no longer one value, its text again, all of it.
    p.push(&[say(11, "and more")]).await;
    frame().await;
    assert_eq!(
        shown(4),
        (
            false,
            Some(" {\"city\": \"Lisbon\", \"hourly\": [1, 2]} and more".into())
        )
    );
}

#[wasm_bindgen_test]
async fn the_last_message_streams_token_by_token_into_the_nodes_already_shown() {
    let p = mount(600, 700, None);
    p.push(&[trace(), conversation(CHAT)]).await;
    settle().await;
    let target = p.all(".utp-msg-text").pop().unwrap();
    let row = p.all(".utp-msg").pop().unwrap();
    p.push(&[say(10, "It is "), say(11, "21 °C")]).await;
    assert_eq!(target.text_content().unwrap(), "It is 21 °C");
    // Many tokens: more blocks, the first block's node kept, nothing shown twice.
    let mut sent = String::from("It is 21 °C");
    let mut lines = Vec::new();
    for i in 0..1500 {
        let token = if i % 40 == 39 {
            format!(" token{i}\n")
        } else {
            format!(" token{i}")
        };
        sent.push_str(&token);
        lines.push(say(100 + i, &token));
        if lines.len() == 100 {
            p.push(&lines).await;
            lines.clear();
        }
    }
    p.push(&lines).await;
    settle().await;
    assert_eq!(target.text_content().unwrap(), sent);
    assert!(
        target.child_element_count() > 2,
        "the text is cut in blocks ({})",
        target.child_element_count()
    );
    // A token goes into the Text node of the last block: nothing shown is rendered again.
    let last_text = target.last_element_child().unwrap().first_child().unwrap();
    let blocks = target.child_element_count();
    p.push(&[say(4000, " end")]).await;
    sent.push_str(" end");
    assert!(last_text.text_content().unwrap().ends_with(" end"));
    assert_eq!(target.child_element_count(), blocks);
    assert_eq!(target.text_content().unwrap(), sent);
    let now = p.all(".utp-msg").pop().unwrap();
    assert!(now.is_same_node(Some(&row)), "the row was kept");
    assert_eq!(p.all(".utp-msg").len(), 5);
    // A message added after it is a new row; the streamed one stays as it is.
    p.push(&[ev(
        5000,
        r#""op":"messages_add","span":"c","messages":[{"role":"user","content":"Thanks!"}]"#,
    )])
    .await;
    settle().await;
    assert_eq!(p.all(".utp-msg").len(), 6);
    assert_eq!(target.text_content().unwrap(), sent);
}

#[wasm_bindgen_test]
async fn roles_are_readable_in_light_dark_and_the_systems_scheme() {
    for (theme, bg) in [
        (Some("light"), "rgb(255, 255, 255)"),
        (Some("dark"), "rgb(13, 17, 23)"),
        (None, ""),
    ] {
        let p = mount(360, 600, theme);
        p.push(&[trace(), conversation(CHAT)]).await;
        settle().await;
        let panel = p.one(".utp-panel");
        let bg = if bg.is_empty() {
            // The system's scheme: whatever the browser chose, the palette follows it.
            computed(&panel, "background-color")
        } else {
            assert_eq!(computed(&panel, "background-color"), bg);
            bg.to_owned()
        };
        for label in p.all(".utp-msg-role") {
            let colour = computed(&label, "color");
            let c = contrast(&colour, &bg);
            assert!(
                c >= 4.5,
                "{theme:?}: the role {:?} is {colour} on {bg}: contrast {c:.2}",
                label.text_content()
            );
        }
        for text in p.all(".utp-msg-text") {
            let c = contrast(&computed(&text, "color"), &bg);
            assert!(c >= 7.0, "{theme:?}: message text contrast {c:.2}");
        }
        // Nothing wider than the panel, even at 360 px.
        let tree = p.one(".utp-tree");
        assert!(tree.scroll_width() <= tree.client_width() + 1, "{theme:?}");
    }
}

#[wasm_bindgen_test]
async fn hostile_content_in_a_conversation_is_text_and_bad_events_are_reported() {
    let p = mount(360, 700, Some("dark"));
    let messages = r#"[
        {"role":"<img src=x onerror=alert(1)>","name":"\u202eevil","content":"<script>window.pwned=1</script> שלום עולם"},
        {"role":"assistant","content":[{"type":"text","text":"<b>not bold</b>"},{"type":"html","html":"<iframe>"}],
         "tool_calls":[{"id":"<i>","name":"<svg onload=alert(1)>","arguments":"<img>"}]}
    ]"#;
    p.push(&[trace(), conversation(messages)]).await;
    settle().await;
    for tag in ["img", "script", "b", "iframe", "svg", "i"] {
        assert!(
            p.el.query_selector(&format!(".utp-messages {tag}"))
                .unwrap()
                .is_none(),
            "no <{tag}> element was made"
        );
    }
    let rows = p.all(".utp-msg");
    assert!(rows[0].class_list().contains("utp-role-other"));
    assert!(rows[0]
        .text_content()
        .unwrap()
        .contains("<img src=x onerror=alert(1)>"));
    // A direction control in a name is shown, not applied.
    assert!(
        p.text(".utp-msg-name").contains("⟨RLO⟩"),
        "{}",
        p.text(".utp-msg-name")
    );
    assert_eq!(
        rows[0]
            .query_selector(".utp-msg-text")
            .unwrap()
            .unwrap()
            .get_attribute("dir")
            .as_deref(),
        Some("auto")
    );
    assert!(rows[1].text_content().unwrap().contains("<b>not bold</b>"));
    // Appending to a span that is not a conversation, or before any message: reported, skipped.
    p.push(&[
        ev(
            20,
            r#""op":"span_create","trace":"t","span":"empty","kind":"messages""#,
        ),
        ev(21, r#""op":"message_append","span":"empty","text":"lost""#),
    ])
    .await;
    frame().await;
    let status = p.text(".utp-statusbar");
    assert!(
        status.contains("no message to append to") || p.text(".utp-notices").contains("no message"),
        "{status}"
    );
    // The stream goes on.
    p.push(&[say(30, " and more")]).await;
    let texts = rows[1].query_selector_all(".utp-msg-text").unwrap();
    assert_eq!(
        texts.length(),
        2,
        "after a part that is not text, a new text part"
    );
    assert_eq!(texts.item(1).unwrap().text_content().unwrap(), " and more");
}

#[wasm_bindgen_test]
async fn the_keyboard_reaches_every_message_and_the_arguments_of_its_tool_calls() {
    let p = mount(900, 700, None);
    p.push(&[trace(), conversation(CHAT)]).await;
    settle().await;
    let tree = p.one(".utp-tree");
    tree.focus().unwrap();
    let key = |k: &str| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(k);
        init.set_bubbles(true);
        let e =
            web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
        tree.dispatch_event(&e).unwrap();
    };
    let focused = || document().active_element().unwrap();
    let mut seen = Vec::new();
    for _ in 0..12 {
        key("ArrowDown");
        let f = focused();
        seen.push((
            f.class_name(),
            f.text_content()
                .unwrap()
                .chars()
                .take(30)
                .collect::<String>(),
        ));
    }
    seen.dedup();
    let messages = seen.iter().filter(|(c, _)| c.contains("utp-msg")).count();
    assert_eq!(messages, 5, "{seen:?}");
    assert!(
        seen.iter()
            .any(|(c, t)| c.contains("utp-json-row") && t.contains("city")),
        "an argument of the tool call: {seen:?}"
    );
}

// Streaming JSON (`json_append`).

/// A `json` span `s` without content, to stream into.
fn json_span(ts: u64, s: &str) -> String {
    ev(
        ts,
        &format!(
            r#""op":"span_create","trace":"t","span":"{s}","kind":"json","title":"arguments""#
        ),
    )
}

fn piece(ts: u64, s: &str, text: &str, done: bool) -> String {
    let done = if done { r#","done":true"# } else { "" };
    ev(
        ts,
        &format!(
            r#""op":"json_append","span":"{s}","text":{}{done}"#,
            json_str(text)
        ),
    )
}

/// The texts of the rows of the JSON tree of span kind `json`, one line each.
fn rows(p: &Mounted) -> Vec<String> {
    p.all("[data-span-kind=json] .utp-json-row")
        .iter()
        .filter(|r| r.offset_parent().is_some())
        .map(|r| {
            r.text_content()
                .unwrap()
                .replace("copycopy path", "")
                .trim()
                .to_owned()
        })
        .collect()
}

/// A document whose writer went away says so, not that it is still arriving, until the writer
/// comes back and goes on.
#[wasm_bindgen_test]
async fn a_streamed_document_whose_writer_left_says_it_was_interrupted() {
    let p = mount(900, 500, Some("light"));
    p.push(&[
        trace(),
        json_span(2, "j"),
        piece(3, "j", "{\"a\": [1, 2", false),
    ])
    .await;
    let busy = |p: &Mounted| {
        p.one("[data-span-kind=json] .utp-json")
            .get_attribute("aria-busy")
    };
    assert_eq!(p.text(".utp-json-stream-state"), "receiving · 11 B");
    assert_eq!(busy(&p).as_deref(), Some("true"));
    p.push(&[ev(4, r#""op":"span_interrupted","span":"j""#)])
        .await;
    assert_eq!(
        p.text(".utp-json-stream-state"),
        "interrupted · 11 B so far"
    );
    assert_eq!(busy(&p).as_deref(), Some("false"));
    p.push(&[piece(5, "j", ", 3", false)]).await;
    assert_eq!(p.text(".utp-json-stream-state"), "receiving · 14 B");
    assert_eq!(busy(&p).as_deref(), Some("true"));
    p.push(&[piece(6, "j", "]}", true)]).await;
    assert!(p.all(".utp-json-stream-state").is_empty(), "complete");
}

#[wasm_bindgen_test]
async fn a_json_document_streamed_in_pieces_is_a_tree_while_it_arrives() {
    let p = mount(900, 700, Some("light"));
    p.push(&[
        trace(),
        json_span(2, "j"),
        piece(3, "j", "{\"query\": \"rust w", false),
    ])
    .await;
    assert_eq!(rows(&p), ["{0 keysopen", "query: \"rust w…"]);
    assert_eq!(p.all(".utp-json-open-badge").len(), 1);
    assert_eq!(
        p.one("[data-span-kind=json] .utp-json")
            .get_attribute("aria-busy")
            .as_deref(),
        Some("true")
    );
    assert!(p.text(".utp-json-stream-state").starts_with("receiving · "));
    p.push(&[piece(
        4,
        "j",
        "asm\", \"filters\": {\"lang\": \"en\", \"ye",
        false,
    )])
    .await;
    assert_eq!(
        rows(&p),
        [
            "{1 keyopen",
            "query: \"rust wasm\"",
            "filters: {1 keyopen",
            "lang: \"en\"",
            "\"ye…"
        ]
    );
    p.push(&[piece(5, "j", "ar\": 2024}, \"limit\": 1", false)])
        .await;
    // A container that closed reads as the static tree shows it: collapsed, counted.
    assert_eq!(
        rows(&p),
        [
            "{2 keysopen",
            "query: \"rust wasm\"",
            "filters: {2 keys}",
            "limit: 1…"
        ]
    );
    p.push(&[piece(6, "j", "0}", false), piece(7, "j", "", true)])
        .await;
    assert_eq!(
        rows(&p),
        [
            "{3 keys}",
            "query: \"rust wasm\"",
            "filters: {2 keys}",
            "limit: 10"
        ]
    );
    assert!(p.all(".utp-json-open-badge").is_empty());
    assert!(p.all(".utp-json-stream-state").is_empty());
    assert_eq!(
        p.one("[data-span-kind=json] .utp-json")
            .get_attribute("aria-busy")
            .as_deref(),
        Some("false")
    );
    // The closed container opens as any JSON container does, its members exactly as sent.
    p.all("[data-span-kind=json] .utp-json-row")[2].click();
    frame().await;
    assert_eq!(
        rows(&p),
        [
            "{3 keys}",
            "query: \"rust wasm\"",
            "filters: {2 keys}",
            "lang: \"en\"",
            "year: 2024",
            "limit: 10"
        ]
    );
    // Every row is an item of the tree: the keyboard reaches them.
    for r in p.all("[data-span-kind=json] .utp-json-row") {
        assert_eq!(r.get_attribute("role").as_deref(), Some("treeitem"));
    }
}

#[wasm_bindgen_test]
async fn what_the_reader_expanded_or_collapsed_stays_so_while_the_document_grows() {
    let p = mount(900, 700, None);
    p.push(&[
        trace(),
        json_span(2, "j"),
        piece(3, "j", "{\"a\": {\"x\": 1}, \"b\": [1, ", false),
    ])
    .await;
    // The reader expands the closed "a" and collapses the open "b".
    let row = |text: &str| {
        p.all("[data-span-kind=json] .utp-json-row")
            .into_iter()
            .find(|r| r.text_content().unwrap().starts_with(text))
            .unwrap_or_else(|| panic!("no row {text}: {:?}", rows(&p)))
    };
    row("a:").click();
    frame().await;
    row("b:").click();
    frame().await;
    assert_eq!(
        rows(&p),
        ["{1 keyopen", "a: {1 key}", "x: 1", "b: [1 itemopen"]
    );
    let mut lines = Vec::new();
    for i in 2..400 {
        lines.push(piece(10 + i, "j", &format!("{i}, "), false));
    }
    p.push(&lines).await;
    p.push(&[piece(500, "j", "400], \"c\": {\"y\": [2]}}", true)])
        .await;
    settle().await;
    assert_eq!(
        rows(&p),
        [
            "{3 keys}",
            "a: {1 key}",
            "x: 1",
            "b: [400 items]",
            "c: {1 key}"
        ],
        "a stays expanded, b collapsed; c closed untouched: collapsed"
    );
    // b was folded by hand: it opens on its pages (kept as they arrived, never rebuilt).
    row("b:").click();
    frame().await;
    let shown = rows(&p);
    assert_eq!(
        &shown[4..8],
        ["[0 … 99]", "[100 … 199]", "[200 … 299]", "[300 … 399]"],
        "{shown:?}"
    );
}

#[wasm_bindgen_test]
async fn a_long_stream_adds_only_what_arrived_and_groups_full_pages() {
    let p = mount(900, 700, None);
    // 1,050 items before the view exists: ten full pages, shown without reading them.
    let mut first = String::from("[");
    for i in 0..1050 {
        first.push_str(&format!("{{\"n\": {i}}}, "));
    }
    p.push(&[trace(), json_span(2, "j"), piece(3, "j", &first, false)])
        .await;
    settle().await;
    assert_eq!(p.all(".utp-json-page").len(), 10);
    let first_page = p.one(".utp-json-page");
    let direct = |p: &Mounted| {
        p.all(".utp-json-live > .utp-json-children > .utp-json-member")
            .len()
    };
    assert_eq!(direct(&p), 50, "the page being filled shows its rows");
    // Frames of 100 items each: a page row per full page, the same page rows kept.
    for frame_no in 0..20 {
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("{{\"n\": {}}}, ", 1050 + frame_no * 100 + i));
        }
        p.push(&[piece(10 + frame_no as u64, "j", &text, false)])
            .await;
        assert!(direct(&p) <= PAGE_ROWS, "{} rows", direct(&p));
    }
    assert_eq!(p.all(".utp-json-page").len(), 30);
    assert!(p.one(".utp-json-page").is_same_node(Some(&first_page)));
    assert_eq!(p.text(".utp-json-live .utp-json-summary"), "[3050 items");
    // A page opens on its members, read from the text when asked.
    p.all(".utp-json-page")[12].click();
    frame().await;
    let page = open_page_rows(&p);
    assert_eq!(page.len(), 100);
    assert_eq!(page[0], "1200: {1 key}");
    assert_eq!(page[99], "1299: {1 key}");
    // A frame of 1,000 items (a document arriving faster than frames): the pages it fills get
    // their page rows without member rows being built first, and read right when opened. Ten
    // pages a frame, the group's pages are one row (a_document_arriving_pages_at_a_time_…),
    // open, as the reader opened a page in it.
    let mut text = String::new();
    for i in 3050..4050 {
        text.push_str(&format!("{{\"n\": {i}}}, "));
    }
    p.push(&[piece(40, "j", &text, false)]).await;
    let group = p.one(TOP_PAGES);
    assert_eq!(group.text_content().unwrap(), "[0 … 3999]");
    assert_eq!(
        group.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    assert_eq!(p.all(".utp-json-page").len(), 1 + 40);
    // Arriving a page a frame or faster, the page in progress waits too: its rows would be
    // gone a frame later.
    assert_eq!(direct(&p), 0, "rows of the page in progress");
    assert!(direct(&p) <= PAGE_ROWS, "{} rows", direct(&p));
    assert_eq!(p.text(".utp-json-live .utp-json-summary"), "[4050 items");
    p.all(".utp-json-page")[1 + 35].click();
    frame().await;
    let page = open_page_rows(&p);
    assert!(
        page.contains(&"3500: {1 key}".to_owned()),
        "{:?}",
        &page[..3]
    );
    assert!(page.contains(&"3599: {1 key}".to_owned()));
    // Once the clock finds nothing more twice, its rows show.
    sleep(1000).await;
    assert_eq!(
        direct(&p),
        50,
        "rows of the page in progress, after a pause"
    );
    p.push(&[piece(41, "j", "{\"n\": 4050}, ", false)]).await;
    assert_eq!(direct(&p), 51);
    assert_eq!(p.text(".utp-json-live .utp-json-summary"), "[4051 items");
    // A fast frame that ends inside a member: the member in progress is not opened as a level
    // of its own (the tail says one is open), and once the stream slows it takes its place
    // after every member before it.
    let mut text = String::new();
    for i in 4051..4251 {
        text.push_str(&format!("{{\"n\": {i}}}, "));
    }
    text.push_str("{\"n\": 42");
    p.push(&[piece(42, "j", &text, false)]).await;
    assert_eq!(p.all(".utp-json-page").len(), 1 + 42);
    assert_eq!(direct(&p), 0);
    assert_eq!(p.all(".utp-json-live .utp-json-live").len(), 0);
    assert!(p.text(".utp-json-live").contains("1 more level still open"));
    // A pause: the rows show, and the member in progress as a level.
    sleep(1000).await;
    assert_eq!(direct(&p), 51);
    assert_eq!(p.all(".utp-json-live .utp-json-live").len(), 1);
    p.push(&[piece(43, "j", "51}, ", false)]).await;
    let rows: Vec<String> = p
        .all(".utp-json-live > .utp-json-children > .utp-json-member")
        .iter()
        .map(|r| r.text_content().unwrap().replace("copycopy path", ""))
        .collect();
    assert_eq!(rows.len(), 52, "{:?}", &rows[..rows.len().min(3)]);
    assert_eq!(rows[0], "4200: {1 key}");
    assert_eq!(rows[51], "4251: {1 key}");
}

#[wasm_bindgen_test]
async fn a_long_streamed_array_groups_every_100_pages_as_the_static_tree_does() {
    let p = mount(900, 700, None);
    // 25,050 items before the view exists: two groups of 10,000, 50 pages, 50 rows.
    let first = format!("[{}", items(0, 25_050));
    p.push(&[trace(), json_span(2, "j"), piece(3, "j", &first, false)])
        .await;
    settle().await;
    let shown = texts(&p, TOP_PAGES);
    assert_eq!(shown.len(), 52, "{:?}", &shown[..3]);
    assert_eq!(shown[0], "[0 … 9999]");
    assert_eq!(shown[1], "[10000 … 19999]");
    assert_eq!(shown[2], "[20000 … 20099]");
    assert_eq!(shown[51], "[24900 … 24999]");
    // A fast frame fills the third group: its 100 pages become one row where they were.
    p.push(&[piece(4, "j", &items(25_050, 30_050), false)])
        .await;
    let shown = texts(&p, TOP_PAGES);
    assert_eq!(shown, ["[0 … 9999]", "[10000 … 19999]", "[20000 … 29999]"]);
    assert_eq!(p.text(".utp-json-live .utp-json-summary"), "[30050 items");
    // A group opens on its pages, a page on its members, read from the text.
    p.all(".utp-json-page")[2].click();
    frame().await;
    let pages = texts(&p, GROUP_PAGES);
    assert_eq!(pages.len(), 100);
    assert_eq!(pages[0], "[20000 … 20099]");
    assert_eq!(pages[99], "[29900 … 29999]");
    p.all(GROUP_PAGES)[99].click();
    frame().await;
    let rows = open_page_rows(&p);
    assert!(
        rows.contains(&"29900: {1 key}".to_owned()),
        "{:?}",
        &rows[..rows.len().min(3)]
    );
    assert!(rows.contains(&"29999: {1 key}".to_owned()));
    p.all(".utp-json-page")[2].click();
    frame().await;
    // A pause shows the 50 rows held back; then a fast frame completes their page exactly
    // where it holds back again: the page gets its row at once.
    sleep(1000).await;
    assert_eq!(
        p.all(".utp-json-live > .utp-json-children > .utp-json-member")
            .len(),
        50
    );
    // A page the reader opened before its group formed: the group forms open around it.
    p.push(&[piece(5, "j", &items(30_050, 30_150), false)])
        .await;
    assert_eq!(texts(&p, TOP_PAGES)[3], "[30000 … 30099]");
    p.all(TOP_PAGES)[3].click();
    frame().await;
    assert!(open_page_rows(&p).contains(&"30099: {1 key}".to_owned()));
    p.push(&[piece(6, "j", &items(30_150, 40_050), false)])
        .await;
    assert_eq!(texts(&p, TOP_PAGES)[3], "[30000 … 39999]");
    let group = &p.all(TOP_PAGES)[3];
    assert_eq!(
        group.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    assert!(open_page_rows(&p).contains(&"30099: {1 key}".to_owned()));
}

/// A document arriving faster than a page a frame (B10: thousands of members a second): the
/// group being filled is one row whose range grows, not a new row per page each frame; it
/// shows its pages, and those that complete while it is open, when expanded.
#[wasm_bindgen_test]
async fn a_document_arriving_pages_at_a_time_fills_one_row_for_its_group() {
    // A page a frame: a row per page, as the pages fill.
    let p = array_with_two_pages().await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 99]", "[100 … 199]"]);
    // Five pages a frame: those two and the new ones are one row, which grows.
    p.push(&[piece(6, "j", &items(200, 700), false)]).await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 699]"]);
    p.push(&[piece(7, "j", &items(700, 1200), false)]).await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 1199]"]);
    assert_eq!(p.text(".utp-json-live .utp-json-summary"), "[1200 items");
    // Expanded: its pages, and those that complete while it is open.
    p.all(".utp-json-page")[0].click();
    frame().await;
    let pages = texts(&p, GROUP_PAGES);
    assert_eq!(pages.len(), 12);
    assert_eq!(
        (pages[0].as_str(), pages[11].as_str()),
        ("[0 … 99]", "[1100 … 1199]")
    );
    p.push(&[piece(8, "j", &items(1200, 1700), false)]).await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 1699]"]);
    let pages = texts(&p, GROUP_PAGES);
    assert_eq!(pages.len(), 17);
    assert_eq!(pages[16], "[1600 … 1699]");
    // A page of it opens on its members, read from the text.
    p.all(GROUP_PAGES)[16].click();
    frame().await;
    let rows = open_page_rows(&p);
    assert!(
        rows.contains(&"1650: {1 key}".to_owned()),
        "{:?}",
        &rows[..rows.len().min(3)]
    );
    // Slower again, the group goes on filling its row; whole, the row is the group's.
    p.push(&[piece(9, "j", &items(1700, 1800), false)]).await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 1799]"]);
    p.push(&[piece(10, "j", &items(1800, 10_000), false)]).await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 9999]"]);
    assert_eq!(
        texts(&p, GROUP_PAGES).len(),
        100,
        "still open, with every page"
    );
    // The next group, arriving as fast, has its own row.
    p.push(&[piece(11, "j", &items(10_000, 10_500), false)])
        .await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 9999]", "[10000 … 10499]"]);
    assert_eq!(p.text(".utp-json-live .utp-json-summary"), "[10500 items");
    // A few members in the next frame: the page in progress still waits (its rows would go
    // with the next burst, a frame later); once the stream has slowed, they show.
    let direct = |p: &Mounted| {
        p.all(".utp-json-live > .utp-json-children > .utp-json-member")
            .len()
    };
    p.push(&[piece(12, "j", &items(10_500, 10_510), false)])
        .await;
    assert_eq!(p.text(".utp-json-live .utp-json-summary"), "[10510 items");
    assert_eq!(direct(&p), 0);
    sleep(1000).await;
    assert_eq!(direct(&p), 10);
    // The reader opens one of them; the next burst completes its page, after pages of the
    // group not made into rows yet: the group shows them in order, that page as it was left.
    p.all(
        ".utp-json-live > .utp-json-children > .utp-json-member > .utp-json-node > .utp-json-row",
    )[5]
    .click();
    frame().await;
    p.push(&[piece(13, "j", &items(10_510, 11_000), false)])
        .await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 9999]", "[10000 … 10999]"]);
    p.all(TOP_PAGES)[1].click();
    frame().await;
    let pages = texts(&p, GROUP_PAGES);
    assert_eq!(&pages[100..], page_ranges(100..110));
    let opened = p.all(GROUP_PAGES)[105].get_attribute("aria-expanded");
    assert_eq!(opened.as_deref(), Some("true"), "{:?}", pages[105]);
    assert!(open_page_rows(&p).contains(&"n: 10505".to_owned()));
}

/// A panel showing a streamed array whose first two pages arrived a frame apart: a page row
/// each, before any burst.
async fn array_with_two_pages() -> Mounted {
    let p = mount(900, 700, None);
    p.push(&[trace(), json_span(2, "j"), piece(3, "j", "[", false)])
        .await;
    settle().await;
    p.push(&[piece(4, "j", &items(0, 100), false)]).await;
    p.push(&[piece(5, "j", &items(100, 200), false)]).await;
    p
}

/// `[first … first + 99]` for each page `first / 100` in `pages`.
fn page_ranges(pages: std::ops::Range<usize>) -> Vec<String> {
    pages
        .map(|i| format!("[{} … {}]", i * 100, i * 100 + 99))
        .collect()
}

/// A group filling several pages a frame makes the pages whose members it did not read into
/// rows only when they are shown. Expanded, collapsed and expanded again as more arrive, and
/// when the document closes with the group collapsed (the group then becomes its pages, in
/// place), every page is there once, in order, and reads its own members. Each push ends
/// inside a page, so that the pages before it are whole in the text and never read.
#[wasm_bindgen_test]
async fn a_filling_group_shows_each_page_once_in_order_however_it_is_shown() {
    // Two pages a frame apart (rows), then a burst: one row for the group.
    let p = array_with_two_pages().await;
    p.push(&[piece(6, "j", &items(200, 750), false)]).await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 699]"]);
    let toggle = |p: &Mounted| p.all(TOP_PAGES)[0].click();
    toggle(&p);
    frame().await;
    assert_eq!(texts(&p, GROUP_PAGES), page_ranges(0..7));
    toggle(&p);
    frame().await;
    assert_eq!(texts(&p, GROUP_PAGES), Vec::<String>::new());
    p.push(&[piece(7, "j", &items(750, 1250), false)]).await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 1199]"]);
    toggle(&p);
    frame().await;
    assert_eq!(texts(&p, GROUP_PAGES), page_ranges(0..12));
    toggle(&p);
    frame().await;
    // Collapsed, five more pages, and the document closes.
    p.push(&[piece(8, "j", &items(1250, 1750), false)]).await;
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 1699]"]);
    p.push(&[piece(9, "j", "{\"n\": 1750}]", true)]).await;
    settle().await;
    const PAGES: &str =
        "[data-span-kind=json] .utp-json-view > .utp-json-node > .utp-json-children > .utp-json-node > .utp-json-page";
    let mut want = page_ranges(0..17);
    want.push("[1700 … 1750]".into());
    assert_eq!(texts(&p, PAGES), want);
    // Each page reads its own members: one made before the burst, the first and last of the
    // group's later ones.
    for k in [1, 3, 16] {
        p.all(PAGES)[k].click();
        frame().await;
        let rows = open_page_rows(&p);
        assert_eq!(rows.len(), 100, "page {k}");
        assert_eq!(rows[0], format!("{}: {{1 key}}", k * 100), "page {k}");
        assert_eq!(rows[99], format!("{}: {{1 key}}", k * 100 + 99), "page {k}");
        p.all(PAGES)[k].click();
        frame().await;
    }
}

/// A fast document whose frames each end inside a member the view does not open yet (a page
/// held back): the row saying how many levels are open past those shown changes only when
/// that number does. Rebuilt each frame as the member's token grew, it cost every frame a
/// layout and a paint.
#[wasm_bindgen_test]
async fn the_row_saying_levels_are_still_open_changes_only_with_their_number() {
    let p = array_with_two_pages().await;
    let open_row = |p: &Mounted| p.one(".utp-json-live .utp-json-partial");
    let mut text = items(200, 700);
    text.push_str("{\"n\": \"ab");
    p.push(&[piece(6, "j", &text, false)]).await;
    let row = open_row(&p);
    assert_eq!(row.text_content().unwrap(), "⋯ 1 more level still open");
    p.push(&[piece(7, "j", "cd", false)]).await;
    p.push(&[piece(8, "j", "ef", false)]).await;
    assert!(
        open_row(&p).is_same_node(Some(&row)),
        "rebuilt as the token grew"
    );
    p.push(&[piece(9, "j", "\", \"m\": [1", false)]).await;
    assert_eq!(
        open_row(&p).text_content().unwrap(),
        "⋯ 2 more levels still open"
    );
}

/// A container inside the document closes as the static tree shows it, collapsed, with every
/// member counted (its last ones counted, not made into rows first), unless the reader
/// expanded something in it while it arrived: then it stays open as they left it.
#[wasm_bindgen_test]
async fn a_closed_inner_container_collapses_unless_the_reader_expanded_something_in_it() {
    let p = mount(900, 700, None);
    // "a" arrives pages at a time and closes untouched, its last page part read.
    let mut first = String::from("{\"a\": [");
    first.push_str(&items(0, 100));
    p.push(&[trace(), json_span(2, "j"), piece(3, "j", &first, false)])
        .await;
    settle().await;
    p.push(&[piece(4, "j", &items(100, 700), false)]).await;
    p.push(&[piece(5, "j", &items(700, 750), false)]).await;
    // "b" arrives slowly: its members have rows, and the reader opens the fourth.
    p.push(&[piece(6, "j", "{\"n\": 750}], \"b\": [", false)])
        .await;
    p.push(&[piece(7, "j", &items(0, 10), false)]).await;
    // The stream pauses, as a reader would before opening a member.
    sleep(600).await;
    let member = |k: usize| {
        p.all(".utp-json-live .utp-json-live > .utp-json-children > .utp-json-member > .utp-json-node > .utp-json-row")
            .into_iter()
            .find(|r| r.text_content().unwrap().starts_with(&format!("{k}: ")))
            .unwrap_or_else(|| panic!("no member {k}: {:?}", rows(&p)))
    };
    member(3).click();
    frame().await;
    // "c" closes with its last member, shown open as it arrived.
    p.push(&[piece(8, "j", "{\"n\": 10}], \"c\": [1, {\"d\": 2", false)])
        .await;
    p.push(&[piece(9, "j", "}]}", true)]).await;
    settle().await;
    let shown = rows(&p);
    assert_eq!(
        &shown[..4],
        ["{3 keys}", "a: [751 items]", "b: [11 items]", "0: {1 key}"],
        "{shown:?}"
    );
    assert_eq!(
        &shown[4..7],
        ["1: {1 key}", "2: {1 key}", "3: {1 key}"],
        "{shown:?}"
    );
    assert_eq!(shown[7], "n: 3", "{shown:?}");
    assert_eq!(
        shown.last().map(String::as_str),
        Some("c: [2 items]"),
        "{shown:?}"
    );
    // "a" opens on its 751 members' pages, read from the text.
    p.all("[data-span-kind=json] .utp-json-row")[1].click();
    frame().await;
    let shown = rows(&p);
    let mut want = page_ranges(0..7);
    want.push("[700 … 750]".into());
    assert_eq!(&shown[2..10], want, "{shown:?}");
}

/// A group row shows its pages when expanded: they lead back to the row, and so to its click
/// listener. Whatever the listener holds is held from wasm, so the pages must not be in it: a
/// span cleared away with a group open would then be kept for good.
#[wasm_bindgen_test]
async fn a_document_cleared_away_with_its_groups_open_is_freed() {
    if !common::can_collect_garbage() {
        return;
    }
    let p = mount(900, 700, None);
    p.push(&[trace(), json_span(2, "j"), piece(3, "j", "[", false)])
        .await;
    settle().await;
    // A whole group of 100 pages, then a group filling five pages a frame: both open.
    p.push(&[piece(4, "j", &items(0, 10_000), false)]).await;
    p.push(&[piece(5, "j", &items(10_000, 10_500), false)])
        .await;
    let groups = p.all(TOP_PAGES);
    assert_eq!(texts(&p, TOP_PAGES), ["[0 … 9999]", "[10000 … 10499]"]);
    for g in &groups {
        g.click();
    }
    frame().await;
    let inner = p.all(GROUP_PAGES);
    assert_eq!(inner.len(), 105, "both groups open on their pages");
    let page_of_whole = common::weak(&inner[0]);
    let page_of_filling = common::weak(&inner[104]);
    drop((groups, inner));
    // Shown, they are alive: the check below can tell.
    assert!(common::alive_after_gc(&page_of_whole).await);
    p.store.clear();
    settle().await;
    assert_eq!(p.all(".utp-json-page").len(), 0, "cleared");
    assert!(
        !common::alive_after_gc(&page_of_whole).await,
        "a page of a whole group, open, is freed with its span"
    );
    assert!(
        !common::alive_after_gc(&page_of_filling).await,
        "a page of a group still filling, open, is freed with its span"
    );
}

/// A streamed document is kept in chunks of a megabyte (`stream_text.rs`): a member or a
/// token that a chunk's seam cuts reads whole, in the token's row, in page rows, expanded and
/// copied, while the document arrives and once it is complete.
#[wasm_bindgen_test]
async fn a_document_longer_than_a_chunk_reads_whole_across_its_seams() {
    use user_trace_model::stream_text::StreamText;
    common::hook_clipboard(false);
    let p = mount(900, 700, None);
    // Where the chunks' seams fall depends only on the pieces' sizes: the same pieces of filler
    // say where. `seam` is the first one past a megabyte.
    const PIECE: usize = 40_009;
    let seam = {
        let (mut sim, filler) = (StreamText::default(), "x".repeat(PIECE));
        while sim.chunks().len() < 2 || sim.len() - PIECE < 1_000_000 {
            sim.push(&filler);
        }
        loop {
            let chunks = sim.chunks().len();
            sim.push(&filler);
            if sim.chunks().len() > chunks {
                break sim.len() - PIECE;
            }
        }
    };
    let row = |i: usize| {
        format!(
            r#"{{"id": {i}, "name": "member {i} {}", "tags": ["a", "b"]}}"#,
            "x".repeat(150)
        )
    };
    // A long string that no shift leaves the same: "0 1 2 3 …".
    let long: String = (0..4_000).map(|i| format!("{i} ")).collect();
    let mut doc = String::from("[");
    let mut members: Vec<std::ops::Range<usize>> = Vec::new();
    fn add(doc: &mut String, members: &mut Vec<std::ops::Range<usize>>, text: &str) {
        if doc.len() > 1 {
            doc.push_str(", ");
        }
        members.push(doc.len()..doc.len() + text.len());
        doc.push_str(text);
    }
    while doc.len() + row(members.len()).len() + 2 < seam - 60 {
        let next = row(members.len());
        add(&mut doc, &mut members, &next);
    }
    // Its string starts a few dozen bytes before the seam and runs 19 KB past it.
    let special = members.len();
    let text = format!(r#"{{"id": {special}, "name": "{long}"}}"#);
    add(&mut doc, &mut members, &text);
    while members.len() < 12_000 {
        let next = row(members.len());
        add(&mut doc, &mut members, &next);
    }
    doc.push(']');
    let mut ts = 3;
    let mut send = |text: &str, done: bool| {
        ts += 1;
        piece(ts, "j", text, done)
    };
    p.push(&[trace(), json_span(2, "j")]).await;
    let mut at = 0;
    while at < seam {
        p.push(&[send(&doc[at..at + PIECE], false)]).await;
        at += PIECE;
    }
    p.push(&[send(&doc[seam..seam + 10_000], false)]).await;
    let seams = |p: &Mounted| {
        let mut out = Vec::new();
        p.store.read(&mut |m| {
            let id = m.span_by_key("j").expect("span j");
            if let Some((_, text)) = m.span(id).and_then(|s| s.streamed_json()) {
                out = text
                    .parts()
                    .into_iter()
                    .scan(0, |end, part| {
                        *end += part.len();
                        Some(*end)
                    })
                    .collect();
            }
        });
        out.pop();
        out
    };
    assert_eq!(
        seams(&p).last(),
        Some(&seam),
        "the test's premise: the string crosses the seam"
    );
    // Members arrived faster than a page a frame: after a pause the member in progress opens,
    // its string so far in its row, read across the seam.
    sleep(1000).await;
    let token = p.all(".utp-json-partial");
    let token = token
        .last()
        .expect("the token in progress")
        .text_content()
        .unwrap();
    assert!(
        token.ends_with(&format!("\"{}…", &long[..2000])),
        "{}",
        &token[..80]
    );
    // The rest, in pieces that do not fit a chunk's room exactly.
    let end = doc.len() - 1;
    let mut at = seam + 10_000;
    while at < end {
        let to = (at + PIECE).min(end);
        p.push(&[send(&doc[at..to], false)]).await;
        at = to;
    }
    sleep(1000).await;
    let cuts = seams(&p);
    // Each member a seam cuts (but the long one), found through its group and page, reads
    // whole: its row, its copied value, its members once expanded.
    let cut: Vec<usize> = cuts
        .iter()
        .filter(|&&s| s != seam)
        .filter_map(|&s| members.iter().position(|m| m.start < s && s < m.end))
        .collect();
    assert!(
        cut.len() >= 4,
        "the test's premise: seams cut members: {cuts:?}"
    );
    // The row of member k's group (of its pages so far, while they arrive several a frame),
    // and of its page.
    let check = |p: &Mounted, k: usize| {
        let range = |r: &web_sys::Element| -> Option<(usize, usize)> {
            let t = r.text_content()?;
            let (a, b) = t.strip_prefix('[')?.strip_suffix(']')?.split_once(" … ")?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        let find = |p: &Mounted, group: bool| {
            p.all(".utp-json-page").into_iter().find(|r| {
                range(r).is_some_and(|(a, b)| a <= k && k <= b && (b - a + 1 > 100) == group)
            })
        };
        (find(p, true), find(p, false))
    };
    for &k in &cut {
        if let (Some(group), None) = check(&p, k) {
            group.click();
            frame().await;
        }
        let (_, page) = check(&p, k);
        page.expect("the page row").click();
        frame().await;
        let member = member_row(&p, k);
        assert_eq!(
            member.text_content().unwrap().replace("copycopy path", ""),
            format!("{k}: {{3 keys}}")
        );
        copy_value(&member).await;
        assert_eq!(common::copied().last(), Some(&row(k)), "member {k} copied");
        member.click();
        frame().await;
        let shown = rows(&p);
        assert!(shown.contains(&format!("id: {k}")), "member {k}");
        assert!(
            shown.contains(&format!("name: \"member {k} {}\"", "x".repeat(150))),
            "member {k}"
        );
    }
    // Complete: the document is the span's content, still in its chunks (joining them would
    // hold it twice), and reads the same: a member a seam cuts still copies whole.
    p.push(&[send("]", true)]).await;
    settle().await;
    assert_eq!(
        p.text("[data-span-kind=json] .utp-json-view > .utp-json-node > .utp-json-row .utp-json-summary"),
        format!("[{} items]", members.len())
    );
    assert_eq!(
        seams(&p),
        cuts,
        "the content is the stream's chunks, not a copy"
    );
    let k = cut[0];
    copy_value(&member_row(&p, k)).await;
    assert_eq!(
        common::copied().last(),
        Some(&row(k)),
        "member {k} copied, complete"
    );
}

/// The row of member `k` in the open JSON page.
fn member_row(p: &Mounted, k: usize) -> web_sys::HtmlElement {
    p.all(".utp-json-page + .utp-json-children .utp-json-row")
        .into_iter()
        .find(|r| r.text_content().unwrap().starts_with(&format!("{k}: ")))
        .expect("the member's row")
}

/// Presses a JSON row's "copy" (its value) and lets the clipboard take it.
async fn copy_value(row: &web_sys::HtmlElement) {
    row.query_selector("button[aria-label='Copy value']")
        .unwrap()
        .expect("its copy button")
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    sleep(50).await;
}

/// The page and group rows of a live document's top level.
const TOP_PAGES: &str = ".utp-json-live > .utp-json-children > .utp-json-node > .utp-json-page";
/// The page rows shown in an open group row.
const GROUP_PAGES: &str = ".utp-json-page + .utp-json-children > .utp-json-node > .utp-json-page";

/// Array members `from` to `to - 1`, each `{"n": i}`, as a document's text sends them.
fn items(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("{{\"n\": {i}}}, ")).collect()
}

/// The text of each element `selector` finds.
fn texts(p: &Mounted, selector: &str) -> Vec<String> {
    p.all(selector)
        .iter()
        .map(|r| r.text_content().unwrap())
        .collect()
}

/// The rows of the open JSON page, as the reader reads them (the copy buttons' text left out).
fn open_page_rows(p: &Mounted) -> Vec<String> {
    p.all(".utp-json-page + .utp-json-children .utp-json-row")
        .iter()
        .map(|r| r.text_content().unwrap().replace("copycopy path", ""))
        .collect()
}

/// The most rows a live container shows besides its page rows.
const PAGE_ROWS: usize = 100;

#[wasm_bindgen_test]
async fn an_invalid_streamed_document_shows_as_its_text_with_the_error() {
    let p = mount(360, 700, Some("dark"));
    p.push(&[
        trace(),
        json_span(2, "bad"),
        piece(
            3,
            "bad",
            "{\"<img src=x onerror=alert(1)>\" 1, \"\u{202e}k\": 2}",
            false,
        ),
        json_span(4, "cut"),
        piece(5, "cut", "[1, {\"a\": [2", false),
    ])
    .await;
    settle().await;
    // Found as soon as it arrives: the document can no longer be JSON.
    let bad = p.one("[data-span-kind=json] .utp-json-invalid");
    assert_eq!(bad.get_attribute("role").as_deref(), Some("alert"));
    let shown = bad.text_content().unwrap();
    assert!(
        shown.starts_with("Invalid JSON: expected `:` at line 1 column 33"),
        "{shown}"
    );
    assert!(
        shown.contains("<img src=x onerror=alert(1)>"),
        "shown as text"
    );
    assert!(p
        .el
        .query_selector(".utp-json-invalid img")
        .unwrap()
        .is_none());
    // A document cut short is invalid when its span ends.
    assert_eq!(p.all(".utp-json-invalid").len(), 1);
    p.push(&[ev(6, r#""op":"span_end","span":"cut""#)]).await;
    let cut = p.all(".utp-json-invalid").pop().unwrap();
    assert!(
        cut.text_content()
            .unwrap()
            .starts_with("Invalid JSON: the text ends with 3 containers still open"),
        "{:?}",
        cut.text_content()
    );
    assert!(cut.text_content().unwrap().ends_with("[1, {\"a\": [2"));
    // An append the model refuses is reported, and the panel goes on.
    p.push(&[piece(7, "cut", "]", false)]).await;
    frame().await;
    assert!(
        p.text(".utp-statusbar").contains("has ended")
            || p.text(".utp-counters").contains("skipped")
    );
}

/// Asserts that each of `heights` is one `line` high (under one and a half).
fn one_line(heights: &[f64], line: f64, what: &str) {
    for h in heights {
        assert!(
            *h < line * 1.5,
            "{what} on one line: {h} px, a line {line} px"
        );
    }
}

/// The height of each element shown that `selector` finds with exactly `text`.
fn heights(p: &Mounted, selector: &str, text: &str) -> Vec<f64> {
    p.all(selector)
        .iter()
        .filter(|e| e.offset_parent().is_some() && e.text_content().as_deref() == Some(text))
        .map(|e| e.get_bounding_client_rect().height())
        .collect()
}

/// A trace with the JSON document `doc` in both views: a static `json` span (`j`) and the
/// same text streamed into another (`s`).
fn in_both_views(doc: &str) -> Vec<String> {
    vec![
        trace(),
        ev(
            2,
            &format!(r#""op":"span_create","trace":"t","span":"j","kind":"json","content":{doc}"#),
        ),
        json_span(3, "s"),
        piece(4, "s", doc, true),
    ]
}

/// At 360 px a short value beside a key half the row wide keeps its line: the row's copy buttons,
/// hidden until reached, no longer take the width beside it. Both JSON views, the static tree
/// and the streamed one.
#[wasm_bindgen_test]
async fn a_value_beside_a_long_key_keeps_its_line_at_360_px() {
    let p = mount(360, 600, None);
    p.push(&in_both_views(
        r#"{"precipitation_probability":0.123456,"a":1}"#,
    ))
    .await;
    settle().await;
    let height = |text| {
        heights(
            &p,
            "[data-span-kind=json] .utp-json-row > .utp-json-number",
            text,
        )
    };
    let (long, short) = (height("0.123456"), height("1"));
    assert_eq!(
        (long.len(), short.len()),
        (2, 2),
        "each value in both views"
    );
    one_line(&long, short[0], "`0.123456`");
}

/// At 360 px, four levels deep, a long key beside a short value keeps its line (it broke into
/// "precipitation_probabil" + "ity" when a key took at most half the row); a key longer than
/// the row wraps, and its value still keeps its own line. Beside a long value a long key keeps
/// to half the row, and the value has the other half. Both JSON views.
#[wasm_bindgen_test]
async fn a_long_key_beside_a_short_value_keeps_its_line_at_360_px() {
    let p = mount(360, 700, None);
    let long = "k".repeat(90);
    let url = format!("https://example.com/{}", "x".repeat(200));
    p.push(&in_both_views(&format!(
        r#"{{"a":{{"b":{{"c":{{"precipitation_probability":0.8,"x":1,"{long}":2,"a_rather_long_key_for_the_source_url":"{url}"}}}}}}}}"#
    )))
    .await;
    settle().await;
    // Expand every level of both views.
    for _ in 0..3 {
        for r in p.all("[data-span-kind=json] .utp-json-row[aria-expanded=false]") {
            r.click();
        }
        frame().await;
    }
    let keys = |text| heights(&p, "[data-span-kind=json] .utp-json-key", text);
    let line = keys("x");
    let (named, longest) = (keys("precipitation_probability"), keys(&long));
    assert_eq!(
        (line.len(), named.len(), longest.len()),
        (2, 2, 2),
        "each key in both views"
    );
    one_line(&named, line[0], "the key");
    for h in longest {
        assert!(h > line[0] * 1.5, "a key longer than the row wraps: {h} px");
    }
    let values: Vec<f64> = p
        .all("[data-span-kind=json] .utp-json-row > .utp-json-number")
        .iter()
        .filter(|n| n.offset_parent().is_some())
        .map(|n| n.get_bounding_client_rect().height())
        .collect();
    assert_eq!(values.len(), 6, "three values in both views");
    one_line(&values, line[0], "each value");
    let urls: Vec<(f64, f64)> = p
        .all("[data-span-kind=json] .utp-json-row > .utp-json-string")
        .iter()
        .filter(|s| s.offset_parent().is_some())
        .map(|s| {
            let row = s
                .parent_element()
                .unwrap()
                .get_bounding_client_rect()
                .width();
            (s.get_bounding_client_rect().width(), row)
        })
        .collect();
    assert_eq!(urls.len(), 2, "the URL in both views");
    for (width, row) in urls {
        // Half the row, but the caret, the colon and the gaps.
        assert!(
            width >= row * 0.4,
            "the URL has half the row: {width} of {row} px"
        );
    }
}

/// At 360 px an items table's usual names keep their line: 30 % of the row broke
/// "prompt_tokens" into "prompt_token" + "s".
#[wasm_bindgen_test]
async fn an_items_name_keeps_its_line_at_360_px() {
    let p = mount(360, 600, None);
    p.push(&[
        trace(),
        ev(
            2,
            r#""op":"span_create","trace":"t","span":"u","kind":"items","title":"usage","content":[{"name":"model","value":"demo-llm-7b"},{"name":"prompt_tokens","value":412},{"name":"completion_tokens","value":77}]"#,
        ),
    ])
    .await;
    settle().await;
    let names = p.all(".utp-items .utp-item-name");
    let heights: Vec<f64> = names
        .iter()
        .map(|n| n.get_bounding_client_rect().height())
        .collect();
    assert_eq!(heights.len(), 3, "{heights:?}");
    for (n, h) in names.iter().zip(&heights) {
        assert!(
            *h < heights[0] * 1.5,
            "{:?} on one line: {h} px, `model` {} px",
            n.text_content(),
            heights[0]
        );
    }
}

/// A JSON row reached by the pointer or the keyboard shows its copy buttons without covering
/// any of it, at 360 px, at every depth, in both views (the static tree and the streamed one),
/// for the last row of a span too (the next span does not paint over them).
#[wasm_bindgen_test]
async fn a_reached_json_rows_buttons_cover_none_of_it_at_360_px() {
    let p = mount(360, 900, None);
    let mut events = in_both_views(
        r#"{"a_rather_long_key_name":{"another_long_key_name":{"deepest_key_with_a_long_name":null,"x":1}},"precipitation_probability":0.8}"#,
    );
    events.push(ev(
        5,
        r#""op":"span_create","trace":"t","span":"after","kind":"text","content":"the next span, under the last row of the one before""#,
    ));
    p.push(&events).await;
    settle().await;
    // Everything open.
    loop {
        let closed = p.all("[data-span-kind=json] .utp-json-row[aria-expanded=false]");
        if closed.is_empty() {
            break;
        }
        closed[0].click();
        frame().await;
    }
    let rows: Vec<_> = p
        .all("[data-span-kind=json] .utp-json-row")
        .into_iter()
        .filter(|r| r.query_selector(".utp-json-actions").unwrap().is_some())
        .collect();
    assert_eq!(
        rows.len(),
        12,
        "the root and its five members, in both views"
    );
    let overlap = |a: &web_sys::DomRect, b: &web_sys::DomRect| {
        a.left() < b.right() - 0.5
            && b.left() < a.right() - 0.5
            && a.top() < b.bottom() - 0.5
            && b.top() < a.bottom() - 0.5
    };
    for row in rows {
        row.set_tab_index(-1);
        row.focus().unwrap();
        let actions = row.query_selector(".utp-json-actions").unwrap().unwrap();
        let what = row.text_content().unwrap_or_default();
        assert_eq!(computed(&actions, "visibility"), "visible", "{what}");
        // In the viewport, for the look at what is on top.
        actions.scroll_into_view_with_bool(false);
        let a = actions.get_bounding_client_rect();
        let children = row.children();
        for i in 0..children.length() {
            let c = children.item(i).unwrap();
            if c != actions {
                assert!(
                    !overlap(&a, &c.get_bounding_client_rect()),
                    "{what}: the buttons cover `{}`",
                    c.text_content().unwrap_or_default()
                );
            }
        }
        // On top, and inside the panel: what is at their middle is theirs.
        let (x, y) = (a.left() + a.width() / 2.0, a.top() + a.height() / 2.0);
        let panel = p.el.get_bounding_client_rect();
        assert!(
            a.left() >= panel.left() && a.right() <= panel.right(),
            "{what}: inside the panel"
        );
        let top = document()
            .element_from_point(x as f32, y as f32)
            .expect("something there");
        assert!(
            actions.contains(Some(&top)),
            "{what}: {} is over the buttons",
            top.class_name()
        );
    }
}
