//! End to end, OpenTelemetry into the panel: an OTLP/JSON body, as an OpenTelemetry exporter
//! sends it, POSTed to a real runtime's `/v1/traces` (started by `cargo xtask test`, its
//! address in `UTP_TEST_RUNTIME` at build time); the panel, connected to the same runtime in
//! headless Chromium, shows the span's conversation (its roles), its items (the usage) and its
//! error (message and stack), checked through the real DOM.

#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

mod common;
use common::{mount, sleep, trace_labelled, Mounted};

wasm_bindgen_test_configure!(run_in_browser);

/// Posts an OTLP/JSON export request to the runtime, as an exporter does (cross-origin: the
/// runtime answers the CORS preflight for allowed origins); the status and body.
async fn export(addr: &str, body: &str) -> (u16, String) {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_mode(web_sys::RequestMode::Cors);
    let headers = web_sys::Headers::new().unwrap();
    headers.set("content-type", "application/json").unwrap();
    init.set_headers(&headers);
    init.set_body(&wasm_bindgen::JsValue::from_str(body));
    let promise = web_sys::window()
        .unwrap()
        .fetch_with_str_and_init(&format!("http://{addr}/v1/traces"), &init);
    let response: web_sys::Response = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("the runtime is reachable")
        .dyn_into()
        .unwrap();
    let text = wasm_bindgen_futures::JsFuture::from(response.text().unwrap())
        .await
        .unwrap()
        .as_string()
        .unwrap_or_default();
    (response.status(), text)
}

/// Waits (at most 10 s) until `done`; fails saying `what` otherwise.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        sleep(25).await;
    }
    panic!("timed out waiting for {what}");
}

/// One chat span, as an instrumented LLM client exports it: the GenAI conventions' messages
/// (a JSON string, as the Python SDK sets it), usage, and a failure with its exception event.
fn body(trace_id: &str, name: &str) -> String {
    let input = r#"[{\"role\":\"system\",\"parts\":[{\"type\":\"text\",\"content\":\"Answer briefly.\"}]},{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Weather in Paris?\"}]}]"#;
    let output = r#"[{\"role\":\"assistant\",\"parts\":[{\"type\":\"tool_call\",\"id\":\"call_1\",\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}],\"finish_reason\":\"tool_calls\"}]"#;
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"otel-e2e"}}}}]}},
  "scopeSpans":[{{"scope":{{"name":"browser-test"}},"spans":[
    {{"traceId":"{trace_id}","spanId":"00f067aa0ba902b7","name":"{name}","kind":3,
      "startTimeUnixNano":"1700000000100000000","endTimeUnixNano":"1700000000900000000",
      "attributes":[
        {{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},
        {{"key":"gen_ai.request.model","value":{{"stringValue":"gpt-4o"}}}},
        {{"key":"gen_ai.usage.input_tokens","value":{{"intValue":"31"}}}},
        {{"key":"gen_ai.usage.output_tokens","value":{{"intValue":"7"}}}},
        {{"key":"gen_ai.input.messages","value":{{"stringValue":"{input}"}}}},
        {{"key":"gen_ai.output.messages","value":{{"stringValue":"{output}"}}}}],
      "status":{{"code":2,"message":"the weather tool timed out"}},
      "events":[{{"timeUnixNano":"1700000000800000000","name":"exception","attributes":[
        {{"key":"exception.type","value":{{"stringValue":"TimeoutError"}}}},
        {{"key":"exception.message","value":{{"stringValue":"weather service timed out"}}}},
        {{"key":"exception.stacktrace","value":{{"stringValue":"Traceback (most recent call last):\n  File \"agent.py\", line 42, in ask\nTimeoutError"}}}}]}}]}}]}}]}}]}}"#
    )
}

fn texts(root: &web_sys::Element, selector: &str) -> Vec<String> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.text_content().unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
async fn an_otel_chat_span_shows_its_conversation_usage_and_error() {
    let Some(addr) = option_env!("UTP_TEST_RUNTIME") else {
        web_sys::console::warn_1(
            &"UTP_TEST_RUNTIME unset: run `cargo xtask test` for end-to-end tests".into(),
        );
        return;
    };
    // A trace id of this run's own: the runtime may hold other runs' traces.
    let run = format!(
        "{:016x}{:016x}",
        (js_sys::Math::random() * 1e15) as u64,
        (js_sys::Math::random() * 1e15) as u64 | 1
    );
    let name = format!("chat e2e {run}");
    let (status, answer) = export(addr, &body(&run, &name)).await;
    assert_eq!(status, 200, "the runtime accepted the export: {answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("a JSON answer");
    assert!(
        answer["partialSuccess"].is_null(),
        "no span refused: {answer}"
    );

    let p = mount(1000, 900, None);
    let conn_status = RwSignal::new(user_trace_panel::connection::Status::Offline);
    let _conn = user_trace_panel::connection::Connection::open(
        format!("ws://{addr}/v1/panel"),
        p.store,
        conn_status,
    );
    let ours = |p: &Mounted| -> Option<web_sys::Element> { trace_labelled(&p.el, &name) };
    wait_for("the OTel span's trace", || ours(&p).is_some()).await;
    wait_for("its conversation", || {
        ours(&p).is_some_and(|t| texts(&t, ".utp-msg-role").len() == 3)
    })
    .await;
    let trace = ours(&p).unwrap();

    // The conversation: one row per message, each role labelled and coloured.
    assert_eq!(
        texts(&trace, ".utp-msg-role"),
        ["system", "user", "assistant"]
    );
    assert_eq!(
        trace.query_selector_all(".utp-role-user").unwrap().length(),
        1
    );
    let conversation = texts(&trace, ".utp-messages").concat();
    assert!(
        conversation.contains("Weather in Paris?") && conversation.contains("get_weather"),
        "{conversation}"
    );

    // The items: the usage, as name-value rows.
    let names = texts(&trace, ".utp-item-name");
    for want in [
        "operation",
        "model",
        "input tokens",
        "output tokens",
        "finish reasons",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    let items = texts(&trace, ".utp-items").concat();
    assert!(items.contains("31") && items.contains("gpt-4o"), "{items}");
    // Shown as the conversation, so not again as raw attributes.
    assert!(!items.contains("gen_ai.input.messages"), "{items}");

    // The error: the exception's message, and its stack with the line breaks.
    let error = texts(&trace, ".utp-error").concat();
    assert!(
        error.contains("TimeoutError: weather service timed out"),
        "{error}"
    );
    assert!(error.contains("agent.py\", line 42, in ask"), "{error}");
    assert_eq!(
        p.store.counters.get_untracked().rejected,
        0,
        "the panel refused none of the runtime's events"
    );
}
