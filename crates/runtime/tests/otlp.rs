//! OpenTelemetry ingest against the real runtime on loopback: OTLP/HTTP requests in (JSON,
//! protobuf, gzip), a panel subscriber's tree out; refusals with reasons; the token and Origin
//! rules; partial success; and (ignored unless `UTP_OTEL_PYTHON` names a Python with the
//! OpenTelemetry SDK, as `cargo xtask test` sets it) a real instrumented Python program.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::SinkExt;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use user_trace_model::{Model, Outcome};
use user_trace_protocol::{decode_server, ServerMessage};
use user_trace_runtime::otlp::http::RpcStatus;
use user_trace_runtime::Running;

mod common;

use common::{connect, recv_text, server, within, Ws};

/// An HTTP answer: status, headers (lowercase names) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The `ExportTraceServiceResponse` of a protobuf request.
    fn response(&self) -> ExportTraceServiceResponse {
        assert_eq!(self.status, 200, "{}", self.text());
        assert_eq!(self.header("content-type"), Some("application/x-protobuf"));
        ExportTraceServiceResponse::decode(&self.body[..]).expect("an ExportTraceServiceResponse")
    }
    /// The `google.rpc.Status` of a refused protobuf request.
    fn rpc_status(&self) -> RpcStatus {
        assert_eq!(self.header("content-type"), Some("application/x-protobuf"));
        RpcStatus::decode(&self.body[..]).expect("a google.rpc.Status")
    }
}

/// One HTTP/1.1 request on a connection of its own.
async fn http(addr: SocketAddr, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let mut request = format!(
        "{method} /v1/traces HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await.expect("sent");
    tcp.write_all(body).await.expect("sent");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut raw))
        .await
        .expect("an answer within 20 s")
        .expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

async fn post(addr: SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    http(addr, "POST", headers, body).await
}

const JSON: (&str, &str) = ("content-type", "application/json");
const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");

/// A panel that applies everything it receives to its own model.
struct Panel {
    ws: Ws,
    model: Model,
}

impl Panel {
    async fn connect(s: &Running) -> Panel {
        Panel::connect_to(format!("ws://{}/v1/panel", s.addr)).await
    }

    async fn connect_to(url: String) -> Panel {
        let mut ws = connect(url).await;
        let hello = recv_text(&mut ws).await;
        assert!(hello.contains(r#""type":"hello""#), "{hello}");
        ws.send(Message::Text(r#"{"type":"subscribe"}"#.into()))
            .await
            .expect("subscribed");
        Panel {
            ws,
            model: Model::default(),
        }
    }

    /// Reads one frame and applies it.
    async fn frame(&mut self) {
        let text = recv_text(&mut self.ws).await;
        let mut out = Outcome::default();
        match decode_server(&text).expect("a server message") {
            ServerMessage::Events { first_seq, events } => {
                self.model.apply_batch(first_seq, events, &mut out)
            }
            ServerMessage::Snapshot { seq, events } => {
                self.model.apply_snapshot(seq, events, &mut out)
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    }

    /// Reads frames until the tree's dump satisfies `done`; the dump.
    async fn until(&mut self, done: impl Fn(&str) -> bool) -> String {
        loop {
            let dump = self.model.dump();
            if done(&dump) {
                return dump;
            }
            self.frame().await;
        }
    }

    /// Reads frames until the panel holds sequence number `seq`; the dump.
    async fn at(&mut self, seq: u64) -> String {
        while self.model.last_seq().unwrap_or(0) < seq {
            self.frame().await;
        }
        self.model.dump()
    }
}

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// An OTel trace written by hand in OTLP/JSON, as the spec's examples are: two services (an
/// agent and its tool server) in one trace; a chat span with the GenAI conventions (int64 as
/// strings and as numbers), a failing tool call with an `exception` event, an error status.
fn hand_written_json() -> String {
    let messages_in = r#"[{\"role\":\"system\",\"parts\":[{\"type\":\"text\",\"content\":\"Use tools.\"}]},{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Weather in Paris?\"}]}]"#;
    let messages_out = r#"[{\"role\":\"assistant\",\"parts\":[{\"type\":\"tool_call\",\"id\":\"call_1\",\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}],\"finish_reason\":\"tool_calls\"}]"#;
    format!(
        r#"{{"resourceSpans":[
  {{"resource":{{"attributes":[
      {{"key":"service.name","value":{{"stringValue":"agent"}}}},
      {{"key":"host.name","value":{{"stringValue":"box"}}}},
      {{"key":"process.pid","value":{{"intValue":"4242"}}}}]}},
    "scopeSpans":[{{"scope":{{"name":"manual"}},"spans":[
      {{"traceId":"{TRACE}","spanId":"00f067aa0ba902b7","parentSpanId":"b7ad6b7169203331",
        "name":"chat gpt-4o","kind":3,
        "startTimeUnixNano":"1700000000100000000","endTimeUnixNano":"1700000000900000000",
        "attributes":[
          {{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},
          {{"key":"gen_ai.request.model","value":{{"stringValue":"gpt-4o"}}}},
          {{"key":"gen_ai.usage.input_tokens","value":{{"intValue":"31"}}}},
          {{"key":"gen_ai.usage.output_tokens","value":{{"intValue":7}}}},
          {{"key":"gen_ai.response.finish_reasons","value":{{"arrayValue":{{"values":[{{"stringValue":"tool_calls"}}]}}}}}},
          {{"key":"gen_ai.input.messages","value":{{"stringValue":"{messages_in}"}}}},
          {{"key":"gen_ai.output.messages","value":{{"stringValue":"{messages_out}"}}}},
          {{"key":"temperature","value":{{"doubleValue":0.2}}}}]}},
      {{"traceId":"{TRACE}","spanId":"b7ad6b7169203331","name":"answer question",
        "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000002000000000",
        "attributes":[{{"key":"request","value":{{"stringValue":"{{\"question\":\"Weather in Paris?\",\"user\":7}}"}}}}],
        "status":{{"code":2,"message":"the tool failed"}}}}]}}]}},
  {{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"tools"}}}}]}},
    "scopeSpans":[{{"spans":[
      {{"traceId":"{TRACE}","spanId":"1111111111111111","parentSpanId":"b7ad6b7169203331",
        "name":"execute_tool get_weather","kind":2,
        "startTimeUnixNano":"1700000001000000000","endTimeUnixNano":"1700000001500000000",
        "attributes":[
          {{"key":"gen_ai.tool.name","value":{{"stringValue":"get_weather"}}}},
          {{"key":"gen_ai.tool.call.arguments","value":{{"stringValue":"{{\"city\":\"Paris\"}}"}}}}],
        "status":{{"code":2}},
        "events":[{{"timeUnixNano":"1700000001400000000","name":"exception","attributes":[
          {{"key":"exception.type","value":{{"stringValue":"TimeoutError"}}}},
          {{"key":"exception.message","value":{{"stringValue":"weather service timed out"}}}},
          {{"key":"exception.stacktrace","value":{{"stringValue":"Traceback (most recent call last):\n  File \"tools.py\", line 3\nTimeoutError"}}}}]}}]}}]}}]}}
]}}"#
    )
}

/// What a panel shows for [`hand_written_json`] (the model's canonical dump).
const HAND_WRITTEN_TREE: &str = r#"trace otel/0af7651916cd43dd8448eb211c80319c/b7ad6b7169203331 "answer question" [agent@box:4242] error("the tool failed") @1700000000000000..Some(1700000002000000)
  span otel/0af7651916cd43dd8448eb211c80319c/b7ad6b7169203331/2a items Some("attributes") by agent@box:4242+[] running @1700000000000000..None = [{"name":"request","value":{"question":"Weather in Paris?","user":7}},{"name":"otel.scope.name","value":"manual"}]
    trace otel/0af7651916cd43dd8448eb211c80319c/00f067aa0ba902b7 "chat gpt-4o" [agent@box:4242] ok @1700000000100000..Some(1700000000900000)
      span otel/0af7651916cd43dd8448eb211c80319c/00f067aa0ba902b7/1m messages Some("conversation") by agent@box:4242+[] ok @1700000000100000..Some(1700000000900000) = [{"role":"system","content":"Use tools."},{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"","tool_calls":[{"id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}]}]
      span otel/0af7651916cd43dd8448eb211c80319c/00f067aa0ba902b7/2a items Some("attributes") by agent@box:4242+[] running @1700000000100000..None = [{"name":"operation","value":"chat"},{"name":"model","value":"gpt-4o"},{"name":"input tokens","value":31},{"name":"output tokens","value":7},{"name":"finish reasons","value":["tool_calls"]},{"name":"temperature","value":0.2},{"name":"span.kind","value":"client"},{"name":"otel.scope.name","value":"manual"}]
    trace otel/0af7651916cd43dd8448eb211c80319c/1111111111111111 "execute_tool get_weather" [tools] error("TimeoutError: weather service timed out") @1700000001000000..Some(1700000001500000)
      span otel/0af7651916cd43dd8448eb211c80319c/1111111111111111/1i000000 json Some("tool call arguments") by tools+[] running @1700000001000000..None = {"city":"Paris"}
      span otel/0af7651916cd43dd8448eb211c80319c/1111111111111111/2a items Some("attributes") by tools+[] running @1700000001000000..None = [{"name":"tool","value":"get_weather"},{"name":"span.kind","value":"server"}]
      span otel/0af7651916cd43dd8448eb211c80319c/1111111111111111/4e000000 error Some("exception") by tools+[] running @1700000001400000..None = {"message":"TimeoutError: weather service timed out","details":{"type":"TimeoutError","stacktrace":"Traceback (most recent call last):\n  File \"tools.py\", line 3\nTimeoutError"}}
  span otel/0af7651916cd43dd8448eb211c80319c/b7ad6b7169203331/5x error Some("status") by agent@box:4242+[] running @1700000002000000..None = {"message":"the tool failed"}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_written_otlp_json_body_shows_as_its_tree() {
    within(60, async {
        let s = server(|_| {}).await;
        let mut panel = Panel::connect(&s).await;
        let a = post(s.addr, &[JSON], hand_written_json().as_bytes()).await;
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.header("content-type"), Some("application/json"));
        let answer: serde_json::Value = serde_json::from_slice(&a.body).expect("JSON");
        assert!(answer["partialSuccess"].is_null(), "{answer}");
        let head = s.hub.head();
        let tree = panel.at(head).await;
        assert_eq!(tree, HAND_WRITTEN_TREE);

        // The exporter's retry of the same request is a duplicate: nothing new is numbered.
        let again = post(s.addr, &[JSON], hand_written_json().as_bytes()).await;
        assert_eq!(again.status, 200, "{}", again.text());
        assert_eq!(s.hub.head(), head);
        s.stop().await;
    })
    .await;
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        key_strindex: 0,
    }
}

fn string(key: &str, v: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}

/// A request of one service with `spans`.
fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", service)],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn span(trace: u8, id: u8, parent: Option<u8>, name: &str) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![0, 0, 0, 0, 0, 0, 0, id],
        parent_span_id: parent
            .map(|p| vec![0, 0, 0, 0, 0, 0, 0, p])
            .unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(id) * 1000,
        end_time_unix_nano: 1_700_000_001_000_000_000,
        ..Span::default()
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("in memory");
    e.finish().expect("in memory")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bodies_plain_and_gzipped_show_as_their_trees() {
    within(60, async {
        let s = server(|_| {}).await;
        let mut panel = Panel::connect(&s).await;
        let mut chat = span(1, 2, Some(1), "chat");
        // Near misses: an index gap (no message 1), a role the protocol does not name.
        chat.attributes = vec![
            string("gen_ai.prompt.0.role", "user"),
            string("gen_ai.prompt.0.content", "Hi"),
            string("gen_ai.prompt.2.role", "critic"),
            string("gen_ai.prompt.2.content", "Be nicer."),
            string("gen_ai.completion.0.role", "assistant"),
            string("gen_ai.completion.0.content", "Hello!"),
            kv("gen_ai.usage.prompt_tokens", any_value::Value::IntValue(3)),
        ];
        // A message attribute that is not JSON: shown whole, with why, not lost.
        let mut broken = span(1, 3, Some(1), "broken chat");
        broken.attributes = vec![string(
            "gen_ai.input.messages",
            r#"[{"role":"user","content":"cut off"#,
        )];
        let req = request("py", vec![chat, broken, span(1, 1, None, "run")]);
        let a = post(s.addr, &[PROTOBUF], &req.encode_to_vec()).await;
        assert_eq!(a.response().partial_success, None);
        let tree = panel.at(s.hub.head()).await;
        let t1 = "otel/01010101010101010101010101010101";
        assert_eq!(
            tree,
            format!(
                r#"trace {t1}/0000000000000001 "run" [py] ok @1700000000000001..Some(1700000001000000)
  span {t1}/0000000000000001/2a items Some("attributes") by py+[] running @1700000000000001..None = []
    trace {t1}/0000000000000002 "chat" [py] ok @1700000000000002..Some(1700000001000000)
      span {t1}/0000000000000002/1m messages Some("conversation") by py+[] ok @1700000000000002..Some(1700000001000000) = [{{"role":"user","content":"Hi"}},{{"role":"critic","content":"Be nicer."}},{{"role":"assistant","content":"Hello!"}}]
      span {t1}/0000000000000002/2a items Some("attributes") by py+[] running @1700000000000002..None = [{{"name":"input tokens","value":3}}]
    trace {t1}/0000000000000003 "broken chat" [py] ok @1700000000000003..Some(1700000001000000)
      span {t1}/0000000000000003/1i000000 text Some("gen_ai.input.messages (not read as messages: unterminated string at line 1 column 35)") by py+[] ok @1700000000000003..Some(1700000000000003) = "[{{\"role\":\"user\",\"content\":\"cut off"
      span {t1}/0000000000000003/2a items Some("attributes") by py+[] running @1700000000000003..None = []
"#
            )
        );

        // The same encoding gzipped, as exporters send it with OTEL_EXPORTER_OTLP_COMPRESSION=gzip.
        let req = request("py", vec![span(2, 1, None, "zipped")]);
        let a = post(
            s.addr,
            &[PROTOBUF, ("content-encoding", "gzip")],
            &gzip(&req.encode_to_vec()),
        )
        .await;
        assert_eq!(a.response().partial_success, None);
        let tree = panel.at(s.hub.head()).await;
        assert!(
            tree.contains(r#"trace otel/02020202020202020202020202020202/0000000000000001 "zipped" [py] ok"#),
            "{tree}"
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unsupported_and_oversized_bodies_are_refused_with_a_reason() {
    within(60, async {
        let s = server(|c| c.max_message_bytes = 64 << 10).await;
        // Malformed JSON: 400, a JSON google.rpc.Status with the reason.
        let a = post(s.addr, &[JSON], br#"{"resourceSpans":[{"scopeSpans":"#).await;
        assert_eq!(a.status, 400, "{}", a.text());
        let status: serde_json::Value = serde_json::from_slice(&a.body).expect("JSON");
        assert_eq!(status["code"], 3, "{status}");
        let message = status["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("malformed OTLP/JSON"), "{message}");
        // A near miss: valid JSON of the wrong shape (an id that is not hex).
        let bad_id = hand_written_json().replacen(TRACE, "not-hex-at-all-not-hex-at-all-xx", 1);
        let a = post(s.addr, &[JSON], bad_id.as_bytes()).await;
        assert_eq!(a.status, 400, "{}", a.text());
        // Malformed protobuf: 400, a protobuf google.rpc.Status.
        let a = post(s.addr, &[PROTOBUF], &[0x0a, 0xff, 0xff, 0xff]).await;
        assert_eq!(a.status, 400);
        let status = a.rpc_status();
        assert_eq!(status.code, 3);
        assert!(
            status.message.starts_with("malformed OTLP protobuf"),
            "{}",
            status.message
        );
        // Unsupported content type or encoding: 415 with a reason.
        let a = post(s.addr, &[("content-type", "text/plain")], b"hello").await;
        assert_eq!(a.status, 415);
        assert!(
            a.text()
                .contains("application/x-protobuf or application/json"),
            "{}",
            a.text()
        );
        let a = post(s.addr, &[PROTOBUF, ("content-encoding", "br")], b"x").await;
        assert_eq!(a.status, 415);
        assert!(a.rpc_status().message.contains("`br`"));
        // Over the size limit, as sent: 413.
        let a = post(s.addr, &[PROTOBUF], &vec![0u8; 65 << 10]).await;
        assert_eq!(a.status, 413, "{}", a.text());
        // A gzip bomb: 32 MiB of zeros in a small body, refused once 64 KiB are inflated.
        let bomb = gzip(&vec![0u8; 32 << 20]);
        assert!(bomb.len() < 64 << 10);
        let a = post(s.addr, &[PROTOBUF, ("content-encoding", "gzip")], &bomb).await;
        assert_eq!(a.status, 413);
        assert!(a.rpc_status().message.contains("decompressed body"));
        // Nothing of those was stored; the server still takes a good request.
        assert_eq!(s.hub.head(), 0);
        let good = request("ok", vec![span(3, 1, None, "fine")]).encode_to_vec();
        assert_eq!(
            post(s.addr, &[PROTOBUF], &good)
                .await
                .response()
                .partial_success,
            None
        );
        assert_eq!(s.hub.head(), 3);
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_and_origin_rules_of_the_other_paths_apply() {
    within(60, async {
        let s = server(|c| {
            c.token = Some("s3cret".into());
            c.allow_origins = vec!["http://editor.example".into()];
        })
        .await;
        let body = request("svc", vec![span(4, 1, None, "guarded")]).encode_to_vec();
        let a = post(s.addr, &[PROTOBUF], &body).await;
        assert_eq!(a.status, 401);
        assert!(a.rpc_status().message.contains("token"));
        let a = post(
            s.addr,
            &[PROTOBUF, ("authorization", "Bearer s3cre")],
            &body,
        )
        .await;
        assert_eq!(a.status, 401, "a near miss of the token");
        let a = post(
            s.addr,
            &[
                PROTOBUF,
                ("authorization", "Bearer s3cret"),
                ("origin", "http://evil.example"),
            ],
            &body,
        )
        .await;
        assert_eq!(a.status, 403);
        assert!(a.rpc_status().message.contains("origin"));
        assert_eq!(s.hub.head(), 0, "nothing refused was stored");
        // The token as a header (OTEL_EXPORTER_OTLP_HEADERS), from a program or an allowed page.
        let a = post(
            s.addr,
            &[PROTOBUF, ("authorization", "Bearer s3cret")],
            &body,
        )
        .await;
        assert_eq!(a.response().partial_success, None);
        let a = post(
            s.addr,
            &[
                PROTOBUF,
                ("authorization", "Bearer s3cret"),
                ("origin", "http://editor.example"),
            ],
            &body,
        )
        .await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.header("access-control-allow-origin"),
            Some("http://editor.example")
        );
        // A browser exporter's preflight.
        let a = http(
            s.addr,
            "OPTIONS",
            &[("origin", "http://editor.example")],
            b"",
        )
        .await;
        assert_eq!(a.status, 204);
        let a = http(s.addr, "OPTIONS", &[("origin", "http://evil.example")], b"").await;
        assert_eq!(a.status, 403);
        assert_eq!(s.hub.head(), 3);
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_spans_are_counted_in_partial_success() {
    within(60, async {
        let s = server(|_| {}).await;
        let mut panel = Panel::connect(&s).await;
        // Span 1 of trace 5 as a root first.
        let root = request("svc", vec![span(5, 1, None, "root")]).encode_to_vec();
        assert_eq!(post(s.addr, &[PROTOBUF], &root).await.response().partial_success, None);
        // Then: a good span; a span with a zero trace id (refused while mapping); and span 1
        // again from another service, claiming a parent (the model refuses a trace that
        // changes its parent, and a second create of its attributes).
        let mut zero = span(5, 2, None, "zero");
        zero.trace_id = vec![0; 16];
        let moved = span(5, 1, Some(9), "root");
        let mut req = request("svc", vec![span(5, 3, Some(1), "good"), zero]);
        req.resource_spans
            .extend(request("other", vec![moved]).resource_spans);
        let a = post(s.addr, &[PROTOBUF], &req.encode_to_vec()).await;
        let partial = a.response().partial_success.expect("partial success");
        assert_eq!(partial.rejected_spans, 2, "{}", partial.error_message);
        assert!(partial.error_message.contains("span #1: trace_id"), "{}", partial.error_message);
        assert!(partial.error_message.contains("another parent"), "{}", partial.error_message);
        // The good span is there.
        let tree = panel
            .until(|d| d.contains(r#""good" [svc] ok"#))
            .await;
        assert!(!tree.contains("waiting"), "{tree}");
        // The same in OTLP/JSON: the answer is JSON, the int64 as a number.
        let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"","spanId":"0102030405060708","name":"no trace"}]}]}]}"#;
        let a = post(s.addr, &[JSON], json.as_bytes()).await;
        assert_eq!(a.status, 200);
        let answer: serde_json::Value = serde_json::from_slice(&a.body).expect("JSON");
        assert_eq!(answer["partialSuccess"]["rejectedSpans"], 1, "{answer}");
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_spans_wait_for_their_parent_and_a_pending_span_runs_until_its_end() {
    within(60, async {
        let s = server(|_| {}).await;
        let mut panel = Panel::connect(&s).await;
        let job = "otel/06060606060606060606060606060606/0000000000000001";
        // A child that ended while its parent runs: it waits for the parent.
        let child = request("svc", vec![span(6, 2, Some(1), "step")]).encode_to_vec();
        assert_eq!(
            post(s.addr, &[PROTOBUF], &child)
                .await
                .response()
                .partial_success,
            None
        );
        let tree = panel.until(|d| d.contains("waiting:")).await;
        assert!(tree.contains(r#""step" [svc] ok"#), "{tree}");
        // Logfire's pending span for the parent: the parent shows, running, with the child in it.
        // (A fresh span id, the real span as parent, the real span's start.)
        let mut pending = span(6, 7, Some(1), "job");
        pending.start_time_unix_nano = span(6, 1, None, "job").start_time_unix_nano;
        pending.end_time_unix_nano = pending.start_time_unix_nano;
        pending.attributes = vec![
            string("logfire.span_type", "pending_span"),
            string("logfire.pending_parent_id", "0000000000000000"),
        ];
        let body = request("svc", vec![pending]).encode_to_vec();
        assert_eq!(
            post(s.addr, &[PROTOBUF], &body)
                .await
                .response()
                .partial_success,
            None
        );
        let tree = panel.until(|d| !d.contains("waiting:")).await;
        assert!(
            tree.starts_with(&format!("trace {job} \"job\" [svc] running")),
            "{tree}"
        );
        assert!(
            tree.contains(
                r#"    trace otel/06060606060606060606060606060606/0000000000000002 "step""#
            ),
            "{tree}"
        );
        // Its final span completes it.
        let mut done = span(6, 1, None, "job");
        done.attributes = vec![string("logfire.span_type", "span")];
        let body = request("svc", vec![done]).encode_to_vec();
        assert_eq!(
            post(s.addr, &[PROTOBUF], &body)
                .await
                .response()
                .partial_success,
            None
        );
        let ended =
            format!("trace {job} \"job\" [svc] ok @1700000000000001..Some(1700000001000000)");
        let tree = panel.until(|d| d.starts_with(&ended)).await;
        assert!(!tree.contains("waiting:"), "{tree}");
        s.stop().await;
    })
    .await;
}

/// The dump with what changes from run to run made constant: ids (numbered in order of first
/// appearance), timestamps, the pid, and a stack trace's text after its first line.
fn normalize(dump: &str) -> String {
    let mut ids: Vec<String> = Vec::new();
    let mut out = String::new();
    for line in dump.lines() {
        let mut line = line.to_owned();
        if let Some(at) = line.find(r#""stacktrace":"Traceback (most recent call last):"#) {
            line.truncate(at + r#""stacktrace":"Traceback (most recent call last):"#.len());
            line.push('…');
        }
        // otel/<32 hex>/<16 hex>
        let mut from = 0;
        while let Some(at) = line[from..].find("otel/").map(|i| i + from) {
            let id_end = at + 5 + 32 + 1 + 16;
            let Some(id) = line.get(at..id_end).map(str::to_owned) else {
                break;
            };
            let hex = |r: std::ops::Range<usize>| id[r].bytes().all(|b| b.is_ascii_hexdigit());
            if !(hex(5..37) && &id[37..38] == "/" && hex(38..54)) {
                from = at + 5;
                continue;
            }
            let n = ids.iter().position(|i| *i == id).unwrap_or_else(|| {
                ids.push(id.clone());
                ids.len() - 1
            });
            let name = format!("otel/S{n}");
            line.replace_range(at..id_end, &name);
            from = at + name.len();
        }
        // @<digits>..Some(<digits>) and @<digits>..None
        if let Some(at) = line.find(" @") {
            let rest = &line[at + 2..];
            let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
            let a = digits(rest);
            let after = &rest[a..];
            let replaced = if let Some(r) = after.strip_prefix("..Some(") {
                let b = digits(r);
                format!(" @t..Some(t){}", &r[b + 1..])
            } else {
                format!(" @t{after}")
            };
            line.replace_range(at.., &replaced);
        }
        if let Some(at) = line.find("test-host:") {
            let end = at
                + 10
                + line[at + 10..]
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count();
            line.replace_range(at + 10..end, "PID");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn normalize_makes_runs_comparable() {
    let a = "trace otel/0af7651916cd43dd8448eb211c80319c/b7ad6b7169203331 \"x\" [p@test-host:123] ok @17..Some(18)\n  span otel/0af7651916cd43dd8448eb211c80319c/b7ad6b7169203331/2a items by p@test-host:123+[] running @17..None = {\"stacktrace\":\"Traceback (most recent call last):\\n  File x\"}";
    assert_eq!(
        normalize(a),
        "trace otel/S0 \"x\" [p@test-host:PID] ok @t..Some(t)\n  span otel/S0/2a items by p@test-host:PID+[] running @t..None = {\"stacktrace\":\"Traceback (most recent call last):…\n"
    );
}

/// What a panel shows for tests/otel/genai_program.py, normalized.
const PYTHON_TREE: &str = r#"trace otel/S0 "answer question" [genai-program@test-host:PID] ok @t..Some(t)
  span otel/S0/2a items Some("attributes") by genai-program@test-host:PID+[] running @t..None = [{"name":"question","value":"Weather in Paris?"},{"name":"otel.scope.name","value":"genai_program"}]
    trace otel/S1 "chat gpt-4o" [genai-program@test-host:PID] ok @t..Some(t)
      span otel/S1/1m messages Some("conversation") by genai-program@test-host:PID+[] ok @t..Some(t) = [{"role":"system","content":"Answer with tools."},{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"","tool_calls":[{"id":"call_1","name":"get_weather","arguments":{"city": "Paris"}}]}]
      span otel/S1/2a items Some("attributes") by genai-program@test-host:PID+[] running @t..None = [{"name":"operation","value":"chat"},{"name":"provider","value":"openai"},{"name":"model","value":"gpt-4o-2024-08-06"},{"name":"requested model","value":"gpt-4o"},{"name":"input tokens","value":31},{"name":"output tokens","value":9},{"name":"finish reasons","value":["tool_calls"]},{"name":"span.kind","value":"client"},{"name":"otel.scope.name","value":"genai_program"}]
    trace otel/S2 "execute_tool get_weather" [genai-program@test-host:PID] ok @t..Some(t)
      span otel/S2/1i000000 json Some("tool call arguments") by genai-program@test-host:PID+[] running @t..None = {"city": "Paris"}
      span otel/S2/2a items Some("attributes") by genai-program@test-host:PID+[] running @t..None = [{"name":"operation","value":"execute_tool"},{"name":"tool","value":"get_weather"},{"name":"tool call id","value":"call_1"},{"name":"otel.scope.name","value":"genai_program"}]
      span otel/S2/3o000000 json Some("tool call result") by genai-program@test-host:PID+[] running @t..None = {"temp_c": 21}
    trace otel/S3 "execute_tool get_forecast" [genai-program@test-host:PID] error("TimeoutError: forecast service timed out") @t..Some(t)
      span otel/S3/1i000000 json Some("tool call arguments") by genai-program@test-host:PID+[] running @t..None = {"city": "Paris", "days": 3}
      span otel/S3/2a items Some("attributes") by genai-program@test-host:PID+[] running @t..None = [{"name":"operation","value":"execute_tool"},{"name":"tool","value":"get_forecast"},{"name":"tool call id","value":"call_2"},{"name":"otel.scope.name","value":"genai_program"}]
      span otel/S3/4e000000 error Some("exception") by genai-program@test-host:PID+[] running @t..None = {"message":"TimeoutError: forecast service timed out","details":{"type":"TimeoutError","stacktrace":"Traceback (most recent call last):…
    trace otel/S4 "chat gpt-4o" [genai-program@test-host:PID] ok @t..Some(t)
      span otel/S4/1m messages Some("conversation") by genai-program@test-host:PID+[] ok @t..Some(t) = [{"role":"system","content":"Answer with tools."},{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"","tool_calls":[{"id":"call_1","name":"get_weather","arguments":{"city": "Paris"}}]},{"role":"tool","content":[{"temp_c": 21}],"tool_call_id":"call_1"},{"role":"assistant","content":"It is 21 °C in Paris."}]
      span otel/S4/2a items Some("attributes") by genai-program@test-host:PID+[] running @t..None = [{"name":"operation","value":"chat"},{"name":"provider","value":"openai"},{"name":"model","value":"gpt-4o-2024-08-06"},{"name":"requested model","value":"gpt-4o"},{"name":"input tokens","value":52},{"name":"output tokens","value":11},{"name":"finish reasons","value":["stop"]},{"name":"span.kind","value":"client"},{"name":"otel.scope.name","value":"genai_program"}]
    trace otel/S5 "chat legacy" [genai-program@test-host:PID] ok @t..Some(t)
      span otel/S5/1m messages Some("conversation") by genai-program@test-host:PID+[] ok @t..Some(t) = [{"role":"user","content":"Summarize the forecast."},{"role":"critic","content":"Keep it short."},{"role":"assistant","content":"Mild, then rain."}]
      span otel/S5/2a items Some("attributes") by genai-program@test-host:PID+[] running @t..None = [{"name":"span.kind","value":"client"},{"name":"otel.scope.name","value":"genai_program"}]
      span otel/S5/3o000000 text Some("gen_ai.output.messages (not read as messages: expected a value, found the end of the text at line 1 column 34)") by genai-program@test-host:PID+[] ok @t..Some(t) = "[{\"role\": \"assistant\", \"parts\": ["
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs UTP_OTEL_PYTHON: a Python with opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http (`cargo xtask test` makes one in target/otel-venv and runs this)"]
async fn a_real_instrumented_python_program_shows_as_its_tree() {
    let python = std::env::var("UTP_OTEL_PYTHON").expect(
        "UTP_OTEL_PYTHON must name a Python with the OpenTelemetry SDK and OTLP/HTTP exporter",
    );
    let program =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/otel/genai_program.py");
    within(120, async {
        let token = "python-test-token";
        let s = server(|c| c.token = Some(token.into())).await;
        let mut panel = Panel::connect_to(format!("ws://{}/v1/panel?token={token}", s.addr)).await;
        let endpoint = format!("http://{}", s.addr);
        let run = tokio::task::spawn_blocking(move || {
            std::process::Command::new(python)
                .arg(program)
                .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
                // As a person sets it: the header's value URL-encoded (the space as %20).
                .env(
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    format!("Authorization=Bearer%20{token}"),
                )
                .output()
                .expect("the program starts")
        })
        .await
        .expect("the program ran");
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{}\n{stdout}\n{stderr}", run.status);
        let tree = panel
            .until(|d| {
                d.starts_with("trace otel/")
                    && d.contains("\"answer question\" [genai-program@test-host:")
                    && !d.contains("waiting:")
                    && d.lines().next().is_some_and(|l| l.contains("] ok @"))
            })
            .await;
        assert_eq!(normalize(&tree), PYTHON_TREE, "as shown:\n{tree}");
        s.stop().await;
    })
    .await;
}
