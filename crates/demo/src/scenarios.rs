//! The demo's scenarios: what an LLM agent, a conversation with a tool call, a pipeline of
//! concurrent processes, a large payload, a failure and a report look like as user traces.

use std::time::Duration;

use serde_json::json;
use user_trace_sdk::{Message, RawJson, Tracer};

/// Makes a tracer for a named process (connected, or recording).
pub type MakeTracer<'a> = &'a (dyn Fn(&str) -> Tracer + Sync);

/// How fast to play: 1.0 is real time, larger is faster.
#[derive(Clone, Copy)]
pub struct Pace(pub f64);

impl Pace {
    pub async fn wait(self, ms: u64) {
        if self.0 > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(ms as f64 / 1000.0 / self.0)).await;
        }
    }
}

const ANSWER: &str = "Rust compiles to WebAssembly through the wasm32-unknown-unknown target. \
The compiler emits a .wasm module, and wasm-bindgen generates the JavaScript glue that lets it \
call DOM APIs and be called from JavaScript. For a UI, a framework such as Leptos keeps \
fine-grained reactive state, so that a streamed token updates one text node rather than \
re-rendering the page. Keep the module small: every dependency costs bytes on the wire, and \
wasm-opt can shrink the release build by a further 10-20%.";

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c == ' ' && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// An agent answering a question: prompt, plan, a tool call as a child trace, the streamed
/// answer, usage.
pub async fn agent_answer(make: MakeTracer<'_>, pace: Pace, question: &str) {
    let tracer = make("agent");
    let trace = tracer.trace(&format!("Agent: {question}"));
    trace
        .text(
            "prompt",
            &format!("System: You are a concise assistant. Cite tools you used.\nUser: {question}"),
        )
        .end();
    let plan = trace.markdown("plan", "");
    for line in [
        "1. Search the docs\n",
        "2. Read the **top result**\n",
        "3. Answer in one paragraph\n",
    ] {
        plan.append(line);
        pace.wait(120).await;
    }
    plan.end();

    let step = trace.text("tool calls", "Calling web_search…\n");
    let tool = step.child_trace("tool: web_search");
    tool.json(
        "arguments",
        &json!({"query": question, "max_results": 3, "safe": true}),
    )
    .end();
    pace.wait(400).await;
    tool.json(
        "result",
        &json!({
            "results": [
                {"title": "Compiling from Rust to WebAssembly", "url": "https://developer.mozilla.org/docs/WebAssembly/Rust_to_Wasm", "score": 0.93},
                {"title": "The wasm-bindgen Guide", "url": "https://rustwasm.github.io/docs/wasm-bindgen/", "score": 0.88},
                {"title": "Leptos book", "url": "https://book.leptos.dev", "score": 0.71}
            ],
            "elapsed_ms": 412,
            "cached": false
        }),
    ).end();
    tool.items(
        "timing",
        [("latency_ms", json!(412)), ("http_status", json!(200))],
    )
    .end();
    tool.end();
    step.append("web_search returned 3 results\n");
    step.end();

    let answer = trace.text("answer", "");
    let toks = tokens(ANSWER);
    for t in &toks {
        answer.append(t);
        pace.wait(25).await;
    }
    answer.end();
    trace
        .items(
            "usage",
            [
                ("model", json!("demo-llm-7b")),
                ("prompt_tokens", json!(187)),
                ("completion_tokens", json!(toks.len())),
                ("latency_ms", json!(toks.len() * 25 + 900)),
                ("cost", json!({"usd": 0.00042, "tier": "free"})),
            ],
        )
        .end();
    trace.end();
}

/// Three processes writing into one trace at the same time.
pub async fn concurrent_pipeline(make: MakeTracer<'_>, pace: Pace, run: u64) {
    let shared = format!("pipeline-run-{run}-{}", std::process::id());
    let workers = ["retriever", "ranker", "writer"].map(|name| (name, make(name)));
    let mut tasks = Vec::new();
    for (i, (name, tracer)) in workers.into_iter().enumerate() {
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let trace = tracer.join_trace(&shared, "Pipeline: index the docs");
            let log = trace.text(&format!("{name} log"), "");
            for step in 0..12 {
                log.append(&format!(
                    "[{name}] batch {step}: {} documents\n",
                    40 + step * (i + 1)
                ));
                pace.wait(90 + 35 * i as u64).await;
            }
            log.end();
            trace
                .items(
                    &format!("{name} stats"),
                    [("documents", json!(480 + i * 10)), ("errors", json!(0))],
                )
                .end();
            if name == "writer" {
                pace.wait(100).await;
                trace.end();
            }
            tracer.flush().await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// A large JSON payload (about `records` records).
pub async fn large_payload(make: MakeTracer<'_>, records: usize) {
    let tracer = make("exporter");
    let trace = tracer.trace("Export: customer records");
    let data: Vec<_> = (0..records)
        .map(|i| {
            json!({
                "id": i,
                "name": format!("Customer {i}"),
                "email": format!("customer{i}@example.com"),
                "balance": format!("{}.{:02}", i * 37 % 10_000, i % 100),
                "tags": ["active", if i.is_multiple_of(3) { "vip" } else { "standard" }],
                "address": {"city": "Lisbon", "zip": format!("{:04}-{:03}", 1000 + i % 9000, i % 1000)}
            })
        })
        .collect();
    trace
        .json("records", &json!({"count": records, "records": data}))
        .end();
    trace.end();
}

/// A call that fails.
pub async fn failing_call(make: MakeTracer<'_>, pace: Pace) {
    let tracer = make("agent");
    let trace = tracer.trace("Agent: fetch the weather");
    let tool = trace.text("tool calls", "Calling weather_api…\n");
    pace.wait(300).await;
    tool.end_error("timeout");
    trace.error(
        "weather_api timed out after 3000 ms",
        Some(&json!({"url": "https://api.example.com/v1/weather?city=Lisbon", "attempts": 3, "last_status": null})),
    ).end();
    trace.end_error("tool call failed");
}

/// A markdown report, including raw HTML that must show as text.
pub async fn markdown_report(make: MakeTracer<'_>, pace: Pace) {
    let tracer = make("reporter");
    let trace = tracer.trace("Report: weekly summary");
    let md = trace.markdown("report", "");
    for chunk in [
        "# Weekly summary\n\n",
        "Traffic grew **12%**; errors fell to *0.3%*.\n\n",
        "## Top issues\n\n- slow search (`p99 = 2.1 s`)\n- flaky login\n\n",
        "```rust\nlet tracer = Tracer::connect(url).await?;\n```\n\n",
        "Raw HTML is shown as text: <script>alert('not run')</script> <b>not bold</b>\n",
    ] {
        md.append(chunk);
        pace.wait(150).await;
    }
    md.end();
    trace.end();
}

const FORECAST_ANSWER: &str = "Tomorrow in Lisbon: 17 °C at most, and an 80% chance of rain \
from mid-afternoon (about 6 mm). Yes, pack an umbrella, or at least a rain jacket: the morning \
stays dry, so plan outdoor visits before 2 pm.";

/// The tool-call arguments as a model streams them: JSON text cut anywhere, even inside strings.
const FORECAST_ARGUMENTS: &[&str] = &[
    "{\"city\": \"Lis",
    "bon\", \"country\": \"PT\",",
    " \"days\": 1, \"units\": \"met",
    "ric\", \"fields\": [\"temp_max\", \"precip",
    "itation\", \"precipitation_probability\"],",
    " \"hourly\": {\"from\": \"06:00\", \"to\": \"22",
    ":00\"}}",
];

/// A conversation (`messages` span): the system prompt, the user's question, the model calling
/// a tool (its arguments streamed as JSON text into the tool's trace), the tool's result, and
/// the answer streamed token by token.
pub async fn conversation(make: MakeTracer<'_>, pace: Pace) {
    let tracer = make("assistant");
    let trace = tracer.trace("Chat: weather in Lisbon");
    let chat = trace.messages(
        "conversation",
        [
            Message::text(
                "system",
                "You are a travel assistant. Use the tools for live data; answer in two sentences.",
            ),
            Message::text(
                "user",
                "What's the weather in Lisbon tomorrow? Should I pack an umbrella?",
            )
            .with_name("ana"),
        ],
    );
    pace.wait(300).await;
    // The model decides to call a tool; its arguments arrive in pieces.
    let call = chat.child_trace("tool: weather_forecast");
    let args = call.json_stream("arguments");
    for piece in FORECAST_ARGUMENTS {
        args.append_json(piece);
        pace.wait(140).await;
    }
    args.finish_json();
    args.end();
    let arguments = FORECAST_ARGUMENTS.concat();
    chat.add_messages([Message::text("assistant", "").with_tool_call(
        "call_7f3a",
        "weather_forecast",
        RawJson::from_string(arguments).unwrap_or_else(|_| RawJson::null()),
    )]);
    pace.wait(350).await;
    let result = json!({
        "city": "Lisbon",
        "date": "2026-11-27",
        "temp_max_c": 17.0,
        "precipitation_mm": 6.2,
        "precipitation_probability": 0.8,
        "hourly": [
            {"time": "09:00", "precipitation_probability": 0.1},
            {"time": "15:00", "precipitation_probability": 0.8},
            {"time": "21:00", "precipitation_probability": 0.6}
        ]
    });
    call.json("result", &result).end();
    call.end();
    chat.add_messages([
        Message::tool_result("call_7f3a", &result.to_string()),
        Message::text("assistant", ""),
    ]);
    for t in tokens(FORECAST_ANSWER) {
        chat.append_message(&t);
        pace.wait(30).await;
    }
    chat.end();
    trace
        .items(
            "usage",
            [
                ("model", json!("demo-llm-7b")),
                ("prompt_tokens", json!(412)),
                (
                    "completion_tokens",
                    json!(tokens(FORECAST_ANSWER).len() + 38),
                ),
                ("tool_calls", json!(1)),
            ],
        )
        .end();
    trace.end();
}

#[cfg(test)]
mod tests {
    use user_trace_protocol::{decode_event, Content, MessageContent};
    use user_trace_sdk::TracerOptions;

    use super::*;

    /// Scenarios' tracers recording into one JSON Lines file, and the events they wrote.
    struct Recording {
        file: std::path::PathBuf,
        tracers: std::sync::Mutex<Vec<Tracer>>,
    }

    impl Recording {
        fn new(name: &str) -> Self {
            let file =
                std::env::temp_dir().join(format!("utp-demo-{name}-{}.jsonl", std::process::id()));
            let _ = std::fs::remove_file(&file);
            Recording {
                file,
                tracers: std::sync::Mutex::new(Vec::new()),
            }
        }

        /// A scenario's tracer for process `name`.
        fn make(&self, name: &str) -> Tracer {
            let options = TracerOptions {
                process: Some(name.into()),
                ..TracerOptions::default()
            };
            let t = Tracer::record(&self.file, options).expect("the file can be written");
            self.tracers.lock().unwrap().push(t.clone());
            t
        }

        /// Every event written, once each tracer has written all it was given.
        async fn events(self) -> Vec<user_trace_protocol::Event> {
            let list = self.tracers.lock().unwrap().clone();
            for t in list {
                t.flush().await;
            }
            let text = std::fs::read_to_string(&self.file).unwrap();
            let _ = std::fs::remove_file(&self.file);
            text.lines()
                .enumerate()
                .map(|(i, l)| decode_event(i, l).expect("every line is an event"))
                .collect()
        }
    }

    #[tokio::test]
    async fn the_conversation_streams_a_tool_call_its_json_arguments_and_the_answer() {
        let recording = Recording::new("chat");
        conversation(&|name: &str| recording.make(name), Pace(0.0)).await;
        let events = recording.events().await;
        let appends = events
            .iter()
            .filter(|e| e.op.name() == "json_append")
            .count();
        assert_eq!(
            appends,
            FORECAST_ARGUMENTS.len() + 1,
            "in pieces, then done"
        );
        let tokens = events
            .iter()
            .filter(|e| e.op.name() == "message_append")
            .count();
        assert!(tokens > 20, "the answer is streamed ({tokens} tokens)");
        let mut m = user_trace_model::Model::default();
        let mut out = user_trace_model::Outcome::default();
        for e in events {
            m.apply(e, &mut out);
        }
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let t = m.trace(m.roots()[0]).unwrap();
        let chat = m.span(t.spans[0]).unwrap();
        let Content::Messages(list) = &chat.content else {
            panic!("a conversation")
        };
        let roles: Vec<&str> = list.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "tool", "assistant"]);
        assert_eq!(list[2].tool_calls[0].name, "weather_forecast");
        assert_eq!(list[3].tool_call_id.as_deref(), Some("call_7f3a"));
        assert_eq!(
            list[4].content,
            MessageContent::Text(FORECAST_ANSWER.to_owned())
        );
        // The streamed arguments arrived as one valid document.
        let tool = m.trace(chat.children[0]).unwrap();
        let Content::Json(args) = &m.span(tool.spans[0]).unwrap().content else {
            panic!("JSON arguments")
        };
        assert_eq!(args.get(), FORECAST_ARGUMENTS.concat());
    }

    /// Every scenario ends each span it creates: a span left open shows as running in the
    /// preview, and as interrupted once its process has been away for the grace period (the
    /// exporter, every third run, was).
    #[tokio::test]
    async fn every_scenario_ends_every_span_it_creates() {
        let recording = Recording::new("all");
        let make = |name: &str| recording.make(name);
        let pace = Pace(0.0);
        agent_answer(&make, pace, "a question").await;
        concurrent_pipeline(&make, pace, 0).await;
        conversation(&make, pace).await;
        markdown_report(&make, pace).await;
        failing_call(&make, pace).await;
        large_payload(&make, 50).await;
        let mut m = user_trace_model::Model::default();
        let mut out = user_trace_model::Outcome::default();
        for e in recording.events().await {
            m.apply(e, &mut out);
        }
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        assert!(m.roots().len() >= 6, "{} traces", m.roots().len());
        assert_eq!(m.open_span_keys(|_| true), Vec::<String>::new());
    }
}
