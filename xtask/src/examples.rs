//! The embedding example pages (`examples/`), checked as a user's browser runs them: the
//! panel's JavaScript package is built with wasm-bindgen, the pages are served over HTTP, and
//! headless Chromium and Firefox load them; the custom element connects to a real runtime.

use crate::browser::{http, serve, Browser, Kind};
use crate::runtime::js_package;
use crate::util::{root, Result};

/// Waits (up to 10 s) for a condition inside the page; shared by the checks below.
pub const PRELUDE: &str = r##"
const done = arguments[arguments.length - 1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (what, f) => {
  for (let i = 0; i < 200; i++) { const v = f(); if (v) return v; await sleep(50); }
  throw new Error("timed out waiting for " + what);
};
const all = (sel, root = document) => [...root.querySelectorAll(sel)];
const text = (sel, root = document) => (root.querySelector(sel) || {}).textContent;
"##;

const JS_MOUNT: &str = r##"
(async () => {
  await until("the pushed trace", () => text(".utp-label") === "Example run");
  if (!document.getElementById("utp-styles")) throw new Error("mount did not add the stylesheet");
  if (all(".utp-span").length !== 3) throw new Error("expected 3 spans, got " + all(".utp-span").length);
  const prompt = text(".utp-text");
  if (prompt !== "Summarize the report in one sentence. Keep it short.")
    throw new Error("the JSON Lines append was not applied: " + prompt);
  if (!all(".utp-json-key").some((k) => k.textContent.includes("model"))) throw new Error("no JSON tree");
  const table = text(".utp-items");
  if (!table || !table.includes("tokens") || !table.includes("42")) throw new Error("no name-value table: " + table);
  document.getElementById("more").click();
  await until("a pushed span", () => all(".utp-text").some((t) => t.textContent === "pushed span 1"));
  document.getElementById("clear").click();
  await until("clear", () => all(".utp-trace").length === 0);
  document.getElementById("dispose").click();
  await until("dispose", () => !document.querySelector("#panel .utp-panel"));
  done("ok");
})().catch((e) => done("fail: " + e.message));
"##;

const CUSTOM_ELEMENT: &str = r##"
(async () => {
  const el = document.querySelector("user-trace-panel");
  await until("the streamed trace", () => text(".utp-label", el) === "Example from the runtime");
  await until("the live status", () => text(".utp-conn", el) === "Live");
  if (el.querySelector(".utp-panel").dataset.theme !== "dark") throw new Error("theme attribute ignored");
  await until("the streamed text", () => text(".utp-text", el) === "streamed from a producer");
  el.remove();
  if (el.handle) throw new Error("removing the element did not dispose its panel");
  // Elements added later are upgraded too.
  const again = document.createElement("user-trace-panel");
  again.setAttribute("src", el.getAttribute("src"));
  document.body.append(again);
  await until("a second element", () => text(".utp-label", again) === "Example from the runtime");
  done("ok");
})().catch((e) => done("fail: " + e.message));
"##;

const EDITOR_LINKS: &str = r##"
(async () => {
  await until("the pushed trace", () => text(".utp-label") === "Run the graph");
  const node = (s) => document.querySelector(`#nodes [data-source="${s}"]`);
  await until("the error badge", () => node("graph/search").classList.contains("failed"));
  if (node("graph/llm").classList.contains("failed")) throw new Error("a badge on a node without errors");
  const header = all(".utp-span-header").find((h) => h.textContent.includes("answer"));
  header.click();
  const a = window.lastActivation || {};
  if (a.trace !== "run" || a.span !== "answer" || a.source !== "graph/llm")
    throw new Error("activation: " + JSON.stringify(a));
  if (node("graph/llm").getAttribute("aria-current") !== "true") throw new Error("the node was not selected");
  node("graph/plan").click();
  await until("the revealed span", () => {
    const r = document.querySelector(".utp-found");
    return r && r.textContent.includes("plan");
  });
  done("ok");
})().catch((e) => done("fail: " + e.message));
"##;

/// Builds the JavaScript package, serves the pages and checks each in headless Chromium and
/// Firefox; `runtime` is a runtime's address (any origin allowed).
pub fn check(runtime: &str) -> Result {
    let pkg = js_package(false, "examples-pkg")?;

    let events = [
        r#"{"id":"ex1","process":"example@test","ts":1,"op":"trace_start","trace":"ex","name":"Example from the runtime"}"#,
        r#"{"id":"ex2","process":"example@test","ts":2,"op":"span_create","trace":"ex","span":"ex-s","kind":"text","content":"streamed"}"#,
        r#"{"id":"ex3","process":"example@test","ts":3,"op":"text_append","span":"ex-s","text":" from a producer"}"#,
    ];
    let body = format!(r#"{{"type":"events","events":[{}]}}"#, events.join(","));
    let (status, answer) = http("POST", runtime, "/v1/ingest", &body)?;
    if status != 200 {
        return Err(format!(
            "the runtime refused the example's events ({status}): {answer}"
        ));
    }

    let site = serve(vec![
        ("/examples/pkg/".into(), pkg),
        ("/examples/".into(), root().join("examples")),
    ])?;
    let pages = [
        ("js-mount.html".to_owned(), JS_MOUNT),
        ("editor-links.html".to_owned(), EDITOR_LINKS),
        (
            format!("custom-element.html?src=ws://{runtime}/v1/panel"),
            CUSTOM_ELEMENT,
        ),
    ];
    for kind in Kind::ALL {
        let name = kind.name();
        println!("\n==> example pages in headless {name} (served at http://{site}/examples/)");
        let browser = Browser::start(kind)?;
        for (page, script) in &pages {
            browser.open(&format!("http://{site}/examples/{page}"))?;
            let result = browser
                .run(&format!("{PRELUDE}{script}"))
                .map_err(|e| format!("example page {page} in {name}: {e}"))?;
            if result != "ok" {
                return Err(format!("example page {page} in {name}: {result}"));
            }
            println!("    {page}: ok");
        }
    }
    Ok(())
}
