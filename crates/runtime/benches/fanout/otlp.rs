//! Issue 16: OpenTelemetry spans ingested per second over OTLP/HTTP (`POST /v1/traces`),
//! protobuf and JSON, beside the native protocol's events/s above.
//!
//! The real runtime in its own tokio runtime (per store, fresh each run); FANOUT_OTLP_CLIENTS
//! (4) exporters on keep-alive HTTP/1.1 connections each send requests of FANOUT_OTLP_BATCH
//! (512, the SDKs' `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`) spans, one request in flight each, as a
//! batch span processor does; FANOUT_OTLP_SPANS (204,800) spans in all. Bodies are encoded
//! before the clock starts. spans/s: spans / time until every request is answered (each
//! answer checked: 200, no partial success).
//!
//! The spans: traces of 8 (a root and 7 children), each span an LLM call's shape without its
//! messages: a name, a client kind, start and end, six attributes (model, system, two token
//! counts, a temperature, a URL path). Each becomes 3 events (trace start, attributes, end).
//! Then, on one thread without sockets, ns per span: decode, map, and decode + map + the
//! hub's accept on the memory store.

use std::net::SocketAddr;
use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use user_trace_protocol::message::EventResult;
use user_trace_runtime::hub::Hub;
use user_trace_runtime::otlp::{self, http::Format};

use super::{env, median, DataDir, Store};

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

/// Request `r` of the run: `batch` spans of traces of 8, ids unique over the run.
fn request(r: usize, batch: usize) -> ExportTraceServiceRequest {
    let base = 1_700_000_000_000_000_000u64;
    let spans = (0..batch)
        .map(|i| {
            let n = (r * batch + i) as u64;
            let trace = n / 8;
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&(trace + 1).to_be_bytes());
            trace_id[8] = 0x5e;
            let root = n.is_multiple_of(8);
            Span {
                trace_id: trace_id.to_vec(),
                span_id: (n + 1).to_be_bytes().to_vec(),
                parent_span_id: if root {
                    Vec::new()
                } else {
                    (trace * 8 + 1).to_be_bytes().to_vec()
                },
                name: if root { "agent run" } else { "chat gpt-4o" }.into(),
                kind: 3,
                start_time_unix_nano: base + n * 1_000_000,
                end_time_unix_nano: base + n * 1_000_000 + 800_000,
                attributes: vec![
                    kv("gen_ai.request.model", Value::StringValue("gpt-4o".into())),
                    kv("gen_ai.system", Value::StringValue("openai".into())),
                    kv("gen_ai.usage.input_tokens", Value::IntValue(812)),
                    kv("gen_ai.usage.output_tokens", Value::IntValue(97)),
                    kv("gen_ai.request.temperature", Value::DoubleValue(0.2)),
                    kv(
                        "url.path",
                        Value::StringValue("/v1/chat/completions".into()),
                    ),
                ],
                ..Span::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", Value::StringValue("bench".into())),
                    kv("host.name", Value::StringValue("box".into())),
                    kv("process.pid", Value::IntValue(4242)),
                ],
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

fn encode(format: Format, r: &ExportTraceServiceRequest) -> Vec<u8> {
    match format {
        Format::Protobuf => r.encode_to_vec(),
        Format::Json => serde_json::to_vec(r).expect("encodes"),
    }
}

fn label(format: Format) -> &'static str {
    match format {
        Format::Protobuf => "protobuf",
        Format::Json => "JSON",
    }
}

/// One keep-alive connection: POSTs a body, reads the answer (Content-Length framed).
struct Client {
    tcp: TcpStream,
    addr: SocketAddr,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let tcp = TcpStream::connect(addr).await.expect("connects");
        tcp.set_nodelay(true).expect("nodelay");
        Client {
            tcp,
            addr,
            buf: Vec::with_capacity(4096),
        }
    }

    async fn post(&mut self, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let head = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            otlp::TRACES_PATH,
            self.addr,
            body.len()
        );
        self.tcp.write_all(head.as_bytes()).await.expect("sent");
        self.tcp.write_all(body).await.expect("sent");
        self.buf.clear();
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = self.tcp.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a content-length");
        while self.buf.len() < end + length {
            let mut chunk = [0u8; 4096];
            let n = self.tcp.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        (status, self.buf[end..end + length].to_vec())
    }
}

/// Checks an answer: 200 and no partial success.
fn check(format: Format, status: u16, body: &[u8]) {
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(body));
    let partial = match format {
        Format::Protobuf => {
            ExportTraceServiceResponse::decode(body)
                .expect("a response")
                .partial_success
        }
        Format::Json => {
            serde_json::from_slice::<ExportTraceServiceResponse>(body)
                .expect("a response")
                .partial_success
        }
    };
    assert_eq!(partial, None);
}

/// One run: a fresh runtime on `store`, the bodies sent by `clients`; spans/s.
fn run_once(
    server_rt: &Runtime,
    client_rt: &Runtime,
    store: Store,
    format: Format,
    bodies: &[Vec<u8>],
    batch: usize,
    clients: usize,
) -> f64 {
    let dir = (store != Store::Memory).then(|| DataDir::new("otlp"));
    let server = server_rt
        .block_on(user_trace_runtime::start(
            store.config(dir.as_ref().map(|d| d.0.as_path())),
        ))
        .expect("runtime starts");
    let addr = server.addr;
    let content_type = match format {
        Format::Protobuf => "application/x-protobuf",
        Format::Json => "application/json",
    };
    let elapsed = client_rt.block_on(async {
        let mut conns = Vec::new();
        for k in 0..clients {
            // Client k sends bodies k, k + clients, ...
            let mine: Vec<Vec<u8>> = bodies.iter().skip(k).step_by(clients).cloned().collect();
            conns.push((Client::connect(addr).await, mine));
        }
        let begin = Instant::now();
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|(mut c, mine)| {
                tokio::spawn(async move {
                    for b in &mine {
                        let (status, body) = c.post(content_type, b).await;
                        check(format, status, &body);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("a client finishes");
        }
        begin.elapsed()
    });
    let head = server.hub.head();
    assert_eq!(
        head as usize,
        bodies.len() * batch * 3,
        "every span as its three events"
    );
    server_rt.block_on(server.stop());
    drop(dir);
    (bodies.len() * batch) as f64 / elapsed.as_secs_f64()
}

/// The OTLP section: spans/s per encoding and store, then the one-thread breakdown.
pub fn run(server_rt: &Runtime, client_rt: &Runtime, bench: bool, stores: &[Store]) {
    let batch = env("FANOUT_OTLP_BATCH").unwrap_or(512);
    let clients = env("FANOUT_OTLP_CLIENTS").unwrap_or(4);
    let spans = env("FANOUT_OTLP_SPANS").unwrap_or(if bench { 204_800 } else { 2_048 });
    let runs = env("FANOUT_RUNS").unwrap_or(if bench { 5 } else { 1 });
    let requests: Vec<ExportTraceServiceRequest> = (0..spans.div_ceil(batch))
        .map(|r| request(r, batch))
        .collect();
    println!(
        "\nOTLP/HTTP ingest: {} spans in requests of {batch} from {clients} exporters (one request in flight each), median of {runs}",
        requests.len() * batch
    );
    println!("| encoding | store | body bytes per span | spans/s | events/s (3 per span) |");
    println!("|---|---|---:|---:|---:|");
    for format in [Format::Protobuf, Format::Json] {
        let bodies: Vec<Vec<u8>> = requests.iter().map(|r| encode(format, r)).collect();
        let bytes =
            bodies.iter().map(Vec::len).sum::<usize>() as f64 / (requests.len() * batch) as f64;
        for &store in stores {
            if bench {
                // Warm-up, not counted.
                let warm = &bodies[..bodies.len().min(clients * 2)];
                run_once(server_rt, client_rt, store, format, warm, batch, clients);
            }
            let rates: Vec<f64> = (0..runs)
                .map(|_| run_once(server_rt, client_rt, store, format, &bodies, batch, clients))
                .collect();
            eprintln!(
                "otlp {} {}: {rates:.0?} spans/s",
                label(format),
                store.label()
            );
            let r = median(rates);
            println!(
                "| {} | {} | {bytes:.0} | {:.0} k | {:.0} k |",
                label(format),
                store.label(),
                r / 1e3,
                r * 3.0 / 1e3
            );
        }
    }
    breakdown(&requests, batch, if bench { 3 } else { 1 });
}

/// What the breakdown times.
#[derive(Clone, Copy)]
enum Step {
    Decode,
    Map,
    Accept,
}

/// Runs `step` over every body once.
fn step(step: Step, format: Format, bodies: &[Vec<u8>]) {
    let hub =
        matches!(step, Step::Accept).then(|| Hub::new(Store::Memory.config(None)).expect("a hub"));
    for b in bodies {
        let r = otlp::http::decode(format, b).expect("decodes");
        if matches!(step, Step::Decode) {
            std::hint::black_box(r);
            continue;
        }
        let m = otlp::map_request(&r, 0);
        let Some(hub) = &hub else {
            std::hint::black_box(m);
            continue;
        };
        let events: Vec<EventResult> = m.events.into_iter().map(Ok).collect();
        let a = hub.accept(events).expect("accepted");
        assert!(a.rejected.is_empty(), "{:?}", a.rejected.first());
    }
    if let Some(hub) = hub {
        hub.stop();
    }
}

/// ns per span on one thread: decode, map, and everything up to the memory store.
fn breakdown(requests: &[ExportTraceServiceRequest], batch: usize, reps: usize) {
    let n = requests.len() * batch;
    println!("\nOTLP one thread, no sockets, ns per span:");
    println!("| step | protobuf | JSON |");
    println!("|---|---:|---:|");
    let encoded: Vec<(Format, Vec<Vec<u8>>)> = [Format::Protobuf, Format::Json]
        .into_iter()
        .map(|f| (f, requests.iter().map(|r| encode(f, r)).collect()))
        .collect();
    for (name, s) in [
        ("decode", Step::Decode),
        ("decode + map", Step::Map),
        ("decode + map + accept (memory store)", Step::Accept),
    ] {
        let cells: Vec<f64> = encoded
            .iter()
            .map(|(format, bodies)| {
                let times: Vec<f64> = (0..reps)
                    .map(|_| {
                        let t = Instant::now();
                        step(s, *format, bodies);
                        t.elapsed().as_secs_f64() * 1e9 / n as f64
                    })
                    .collect();
                median(times)
            })
            .collect();
        println!("| {name} | {:.0} | {:.0} |", cells[0], cells[1]);
    }
}
