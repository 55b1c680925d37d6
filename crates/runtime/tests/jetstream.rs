//! Runtimes sharing one NATS JetStream stream (`--nats`), against a real `nats-server` on
//! loopback that the test starts (Debian's package; `cargo xtask test` installs it). Every
//! wait is bounded.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;
use user_trace_model::{Model, Outcome};
use user_trace_protocol::{decode_server, ServerMessage};
use user_trace_runtime::{Config, Running};
use user_trace_sdk::{Tracer, TracerOptions};

use common::{config, connect, data_dir, within, Ws};

#[path = "support/nats.rs"]
mod nats;
#[path = "support/ports.rs"]
mod ports;

use nats::Nats;
use ports::free_port;

fn shared(nats: &Nats, stream: &str) -> Config {
    let mut c = config("127.0.0.1:0");
    c.in_memory = false;
    c.nats = Some(nats.url());
    c.nats_stream = stream.into();
    c
}

/// A panel on one runtime, checking that numbers follow each other with no repeat and no gap.
struct Panel {
    ws: Ws,
    model: Model,
    repeated: u64,
}

impl Panel {
    async fn connect(addr: SocketAddr) -> Panel {
        let mut ws = connect(format!("ws://{addr}/v1/panel")).await;
        ws.send(Message::Text(r#"{"type":"subscribe"}"#.into()))
            .await
            .expect("subscribes");
        let _hello = common::recv_text(&mut ws).await;
        Panel {
            ws,
            model: Model::default(),
            repeated: 0,
        }
    }

    /// Applies frames until the panel holds `seq`.
    async fn until(&mut self, seq: u64) {
        while self.model.last_seq().is_none_or(|l| l < seq) {
            let text = common::recv_text(&mut self.ws).await;
            let mut out = Outcome::default();
            match decode_server(&text).expect("a valid frame") {
                ServerMessage::Events { first_seq, events } => {
                    if let Some(last) = self.model.last_seq() {
                        if first_seq <= last {
                            self.repeated += 1;
                        }
                    }
                    self.model.apply_batch(first_seq, events, &mut out);
                }
                ServerMessage::Snapshot { seq, events } => {
                    self.model.apply_snapshot(seq, events, &mut out)
                }
                other => panic!("{other:?}"),
            }
            assert!(out.gap.is_none(), "a gap: {:?}", out.gap);
            assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        }
    }

    fn text(&self, span: &str) -> String {
        let id = self.model.span_by_key(span).expect("the span");
        self.model
            .span(id)
            .and_then(|s| s.text())
            .unwrap_or_default()
            .to_owned()
    }
}

/// Waits until runtime `r` has applied the log up to `seq`, failing with `what` after `secs`.
async fn follows(r: &Running, seq: u64, secs: u64, what: &str) {
    let give_up = Instant::now() + Duration::from_secs(secs);
    while r.hub.head() < seq {
        assert!(Instant::now() < give_up, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Compares long texts, saying where they part instead of printing both.
fn same_text(got: &str, want: &str, what: &str) {
    if got != want {
        let at = got
            .bytes()
            .zip(want.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "{what}: {} bytes, want {}; they part at byte {at}: got {:?}, want {:?}",
            got.len(),
            want.len(),
            &got[at.saturating_sub(20)..got.len().min(at + 20)],
            &want[at.saturating_sub(20)..want.len().min(at + 20)]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runtimes_on_one_stream_a_producer_moves_when_one_dies_and_the_panel_sees_each_event_once(
) {
    within(180, async {
        let dir = data_dir("nats");
        let mut nats = Nats::start(&dir, free_port());
        let mut a: Option<Running> = user_trace_runtime::start(shared(&nats, "two"))
            .await
            .map(Some)
            .expect("A starts");
        let b: Running = user_trace_runtime::start(shared(&nats, "two"))
            .await
            .expect("B starts");
        let a_addr = a.as_ref().map(|a| a.addr).expect("A");
        assert_eq!(
            a.as_ref().map(|a| a.hub.session.clone()),
            Some(b.hub.session.clone()),
            "one log, one session"
        );
        // The producer knows both; the panel watches B.
        let urls = format!("ws://{a_addr}/v1/ingest,ws://{}/v1/ingest", b.addr);
        let tracer = Tracer::connect_with(
            &urls,
            TracerOptions {
                process: Some("p".into()),
                ..TracerOptions::default()
            },
        )
        .await
        .expect("connects");
        let mut panel = Panel::connect(b.addr).await;
        let trace = tracer.trace("shared");
        let span = trace.text("log", "");
        let mut want = String::new();
        for i in 0..2_000 {
            let token = format!("{i} ");
            span.append(&token);
            want.push_str(&token);
            if i == 1_000 {
                // Batches in flight: some published by A without their ack reaching the
                // producer, which resends them to B (JetStream drops them as duplicates).
                tokio::time::sleep(Duration::from_millis(3)).await;
                // A dies mid-stream (the producer was on A: the first URL).
                if let Some(a) = a.take() {
                    a.stop().await;
                }
            }
        }
        tokio::time::timeout(Duration::from_secs(30), tracer.flush())
            .await
            .expect("everything acknowledged by B after A died");
        assert!(tracer.stats().connections >= 2, "{:?}", tracer.stats());
        // Acknowledged means in the log; B applies it as it follows the log.
        follows(&b, 2_002, 30, "B did not follow the log").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let head = b.hub.head();
        assert_eq!(
            head, 2_002,
            "one number per event: the trace, the span, 2,000 appends"
        );
        panel.until(head).await;
        same_text(&panel.text(span.id()), &want, "every token once, in order");
        assert_eq!(panel.repeated, 0);

        // The NATS server restarts: nothing acknowledged is lost, B goes on.
        nats = nats.restart();
        for i in 2_000..2_100 {
            let token = format!("{i} ");
            span.append(&token);
            want.push_str(&token);
        }
        tokio::time::timeout(Duration::from_secs(60), tracer.flush())
            .await
            .expect("acknowledged after the NATS server came back");
        follows(&b, 2_102, 30, "B did not follow after the restart").await;
        panel.until(2_102).await;
        same_text(&panel.text(span.id()), &want, "after the NATS restart");
        // A new runtime on the stream rebuilds the same state from it.
        let c = user_trace_runtime::start(shared(&nats, "two"))
            .await
            .expect("C starts");
        follows(&c, 2_102, 30, "C did not catch up").await;
        let mut fresh = Panel::connect(c.addr).await;
        fresh.until(2_102).await;
        same_text(&fresh.text(span.id()), &want, "a third runtime on the log");
        println!(
            "two runtimes on one JetStream stream: the producer moved from A to B ({} \
             connections), the panel on B got 2,102 events once each; after a NATS restart \
             100 more; a third runtime rebuilt the same text",
            tracer.stats().connections
        );
        b.stop().await;
        c.stop().await;
        drop(nats);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_event_is_stored_once_whichever_runtime_takes_it() {
    within(120, async {
        let dir = data_dir("nats-dup");
        let nats = Nats::start(&dir, free_port());
        let a = user_trace_runtime::start(shared(&nats, "dup"))
            .await
            .expect("A");
        let b = user_trace_runtime::start(shared(&nats, "dup"))
            .await
            .expect("B");
        let mut pa = common::Producer::connect(a.addr, "p").await;
        let mut pb = common::Producer::connect(b.addr, "p").await;
        let start = pa.event(user_trace_protocol::Op::TraceStart {
            trace: "t".into(),
            name: "dup".into(),
            parent_span: None,
            source: None,
        });
        for p in [&mut pa, &mut pb] {
            match p.send(vec![start.clone()]).await {
                user_trace_protocol::ProducerReply::Ack { accepted, .. } => assert_eq!(accepted, 1),
                other => panic!("{other:?}"),
            }
        }
        let give_up = Instant::now() + Duration::from_secs(10);
        while a.hub.head() < 1 || b.hub.head() < 1 {
            assert!(Instant::now() < give_up);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!((a.hub.head(), b.hub.head()), (1, 1), "numbered once");
        a.stop().await;
        b.stop().await;
        drop(nats);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

/// POSTs an OTLP protobuf body to `/v1/traces`; the status and the answer's body.
async fn otlp_post(addr: SocketAddr, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-protobuf\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("sent");
    tcp.write_all(body).await.expect("sent");
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.expect("an answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    let status = String::from_utf8_lossy(&raw[9..12])
        .parse()
        .expect("a status");
    (status, raw[split + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_spans_through_either_runtime_are_numbered_once() {
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    };
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;
    within(120, async {
        let dir = data_dir("nats-otlp");
        let nats = Nats::start(&dir, free_port());
        let a = user_trace_runtime::start(shared(&nats, "otlp"))
            .await
            .expect("A");
        let b = user_trace_runtime::start(shared(&nats, "otlp"))
            .await
            .expect("B");
        let mut panel = Panel::connect(b.addr).await;
        let span = |id: u8, parent: Option<u8>, name: &str| Span {
            trace_id: vec![7; 16],
            span_id: vec![0, 0, 0, 0, 0, 0, 0, id],
            parent_span_id: parent
                .map(|p| vec![0, 0, 0, 0, 0, 0, 0, p])
                .unwrap_or_default(),
            name: name.into(),
            start_time_unix_nano: 1_000_000,
            end_time_unix_nano: 2_000_000,
            ..Span::default()
        };
        let request = |spans: Vec<Span>| {
            ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans,
                        ..ScopeSpans::default()
                    }],
                    ..ResourceSpans::default()
                }],
            }
            .encode_to_vec()
        };
        let partial = |(status, body): (u16, Vec<u8>)| {
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            ExportTraceServiceResponse::decode(&body[..])
                .expect("a response")
                .partial_success
        };
        // A child and its parent through A; the exporter's retry through B.
        let body = request(vec![span(2, Some(1), "child"), span(1, None, "root")]);
        assert_eq!(partial(otlp_post(a.addr, &body).await), None);
        assert_eq!(partial(otlp_post(b.addr, &body).await), None);
        panel.until(6).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!((a.hub.head(), b.hub.head()), (6, 6), "numbered once");
        let dump = panel.model.dump();
        let root = "otel/07070707070707070707070707070707/0000000000000001";
        assert!(
            dump.starts_with(&format!("trace {root} \"root\" [unknown_service] ok")),
            "{dump}"
        );
        assert!(
            dump.contains(
                "    trace otel/07070707070707070707070707070707/0000000000000002 \"child\""
            ),
            "{dump}"
        );
        // On a shared log, the spans the mapping refuses are still counted.
        let mut zero = span(3, None, "zero");
        zero.trace_id = vec![0; 16];
        let p = partial(otlp_post(b.addr, &request(vec![zero])).await).expect("partial success");
        assert_eq!(p.rejected_spans, 1, "{}", p.error_message);
        a.stop().await;
        b.stop().await;
        drop(nats);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

/// The shared log is bounded by `--max-state-mib`: past it the stream drops its oldest
/// messages, and the runtimes keep a snapshot of the state beside it (past a quarter of the
/// cap of history). A runtime started after messages were dropped rebuilds the whole state
/// from that snapshot and the messages after it, under the stream's session; a runtime on
/// another stream has another session, so that a panel never resumes across logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_joining_a_capped_stream_rebuilds_the_state_from_its_snapshot() {
    within(180, async {
        let dir = data_dir("nats-snap");
        let nats = Nats::start(&dir, free_port());
        let mut capped = shared(&nats, "snap");
        capped.max_state_mib = 1;
        let a = user_trace_runtime::start(capped.clone()).await.expect("A");
        let tracer = Tracer::connect_with(
            &format!("ws://{}/v1/ingest", a.addr),
            TracerOptions {
                process: Some("p".into()),
                ..TracerOptions::default()
            },
        )
        .await
        .expect("connects");
        // About 2.4 MB of history, over twice the stream's cap: 300 ended traces of one text
        // span each, in appends of 100 bytes.
        let piece = "x".repeat(100);
        for t in 0..300 {
            let trace = tracer.trace(&format!("trace {t}"));
            let span = trace.text("log", "");
            for _ in 0..80 {
                span.append(&piece);
            }
            span.end();
            trace.end();
        }
        tokio::time::timeout(Duration::from_secs(60), tracer.flush())
            .await
            .expect("everything acknowledged");
        println!("sent");
        let events = 300 * 84;
        follows(&a, events, 60, "A did not follow the log").await;
        // The stream dropped its oldest messages.
        let client = async_nats::connect(nats.url()).await.expect("NATS");
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream("snap").await.expect("the stream");
        let info = stream.info().await.expect("its state");
        assert!(
            info.state.first_sequence > 1 && info.state.bytes <= 1 << 20,
            "the stream keeps at most --max-state-mib: first {} of {}, {} bytes",
            info.state.first_sequence,
            info.state.last_sequence,
            info.state.bytes
        );
        assert!(
            has_snapshot(&js, "snap").await,
            "a snapshot beside the stream"
        );
        println!("the stream capped, a snapshot kept");
        // What A holds, then A goes: the new runtime starts from what the log keeps alone.
        let mut on_a = Panel::connect(a.addr).await;
        on_a.until(events).await;
        let (a_head, a_session) = (a.hub.head(), a.hub.session.clone());
        a.stop().await;
        // A new runtime on it: the same state, the same numbers, the same session.
        let c = user_trace_runtime::start(capped)
            .await
            .expect("C starts from the snapshot and the stream");
        follows(&c, events, 30, "C did not catch up").await;
        assert_eq!(c.hub.head(), a_head);
        assert_eq!(c.hub.session, a_session, "one log, one session");
        println!("C caught up");
        let mut on_c = Panel::connect(c.addr).await;
        on_c.until(events).await;
        let m = &on_a.model;
        assert!(
            m.roots()
                .iter()
                .any(|&id| m.trace(id).is_some_and(|t| t.name == "trace 299")),
            "the newest trace is held"
        );
        let (dump_a, dump_c) = (on_a.model.dump(), on_c.model.dump());
        let names = |m: &Model| -> Vec<String> {
            m.roots()
                .iter()
                .filter_map(|&id| m.trace(id).map(|t| t.name.clone()))
                .collect()
        };
        // C may hold older traces than A: A's text spans grew by appends and count their
        // spare capacity against the cap, C's came whole from the snapshot. What A holds, C
        // holds the same.
        let (held_a, held_c) = (names(&on_a.model), names(&on_c.model));
        assert!(
            held_a.len() > 50 && held_c.ends_with(&held_a),
            "C holds the traces A holds: A {:?}..{:?}, C {:?}..{:?}",
            held_a.first(),
            held_a.last(),
            held_c.first(),
            held_c.last()
        );
        let from = dump_c.len().saturating_sub(dump_a.len());
        same_text(&dump_c[from..], &dump_a, "C holds what A holds");
        // Another stream, another session.
        let other = user_trace_runtime::start(shared(&nats, "snap-other"))
            .await
            .expect("a runtime on another stream");
        assert!(!other.hub.session.is_empty() && !a_session.is_empty());
        assert_ne!(other.hub.session, a_session, "another log, another session");
        c.stop().await;
        other.stop().await;
        drop(nats);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

/// A runtime joining a stream whose oldest messages are gone (purged here; a stream's byte
/// cap drops them too) with no snapshot that holds them starts from the first message kept:
/// every event from there on, none before, under the same numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_joining_a_stream_whose_oldest_messages_are_gone_starts_from_the_first_kept() {
    within(120, async {
        let dir = data_dir("nats-hole");
        let nats = Nats::start(&dir, free_port());
        let a = user_trace_runtime::start(shared(&nats, "hole"))
            .await
            .expect("A");
        let mut producer = common::Producer::connect(a.addr, "p").await;
        // Ten root traces, one event each: any message lost shows as a trace missing.
        let starts = (1..=10)
            .map(|i| {
                producer.event(user_trace_protocol::Op::TraceStart {
                    trace: format!("t{i}"),
                    name: format!("trace {i}"),
                    parent_span: None,
                    source: None,
                })
            })
            .collect();
        match producer.send(starts).await {
            user_trace_protocol::ProducerReply::Ack { accepted, .. } => assert_eq!(accepted, 10),
            other => panic!("{other:?}"),
        }
        follows(&a, 10, 10, "A did not follow the log").await;
        // Ten small events are far from a quarter of the cap (512 MiB): no snapshot yet.
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.stop().await;
        let client = async_nats::connect(nats.url()).await.expect("NATS");
        let js = async_nats::jetstream::new(client);
        assert!(
            !has_snapshot(&js, "hole").await,
            "a snapshot before it was due"
        );
        // Messages 1 to 4 go.
        let stream = js.get_stream("hole").await.expect("the stream");
        stream.purge().sequence(5).await.expect("purged");
        let c = user_trace_runtime::start(shared(&nats, "hole"))
            .await
            .expect("C starts on what is left");
        follows(&c, 10, 10, "C did not follow the log").await;
        let mut panel = Panel::connect(c.addr).await;
        panel.until(10).await;
        let m = &panel.model;
        let mut names: Vec<String> = m
            .roots()
            .iter()
            .filter_map(|&id| m.trace(id).map(|t| t.name.clone()))
            .collect();
        names.sort_by_key(|n| n[6..].parse::<u32>().unwrap_or(0));
        let want: Vec<String> = (5..=10).map(|i| format!("trace {i}")).collect();
        assert_eq!(
            names, want,
            "from the first message kept, and nothing before it"
        );
        assert_eq!(c.hub.head(), 10, "the log's numbers");
        // A panel that held up to 7 resumes with the three events after it, not a snapshot:
        // the runtime keeps a window of what it followed, as it does of what it stores.
        let mut ws = connect(format!("ws://{}/v1/panel", c.addr)).await;
        let resume = format!(
            r#"{{"type":"subscribe","session":"{}","last_seq":7}}"#,
            c.hub.session
        );
        ws.send(Message::Text(resume.into()))
            .await
            .expect("subscribes");
        let _hello = common::recv_text(&mut ws).await;
        match decode_server(&common::recv_text(&mut ws).await).expect("a frame") {
            ServerMessage::Events { first_seq, events } => {
                assert_eq!((first_seq, events.len()), (8, 3), "events 8 to 10")
            }
            other => panic!("a resume, not {other:?}"),
        }
        c.stop().await;
        drop(nats);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

/// An event over the NATS server's `max_payload` (less 1 KiB for the message's headers) would
/// be refused by the server on every resend: the runtime refuses it with the reason, and takes
/// one exactly at the limit. The test's server has NATS' default limit, 1 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_over_the_nats_payload_limit_is_refused_and_one_at_it_is_taken() {
    use user_trace_protocol::{Content, Op, ProducerReply, SpanKind};
    within(120, async {
        let dir = data_dir("nats-payload");
        let nats = Nats::start(&dir, free_port());
        let a = user_trace_runtime::start(shared(&nats, "payload"))
            .await
            .expect("A");
        let mut producer = common::Producer::connect(a.addr, "p").await;
        let span = |p: &mut common::Producer, n: usize, text_len: usize| {
            p.event(Op::SpanCreate {
                trace: "t".into(),
                span: format!("s{n}"),
                kind: SpanKind::Text,
                title: None,
                content: Content::Text("x".repeat(text_len)),
                source: None,
            })
        };
        let limit = (1usize << 20) - 1024;
        // The JSON's length grows by one per byte of text.
        let fixed = span(&mut producer, 0, 0).to_json().len();
        let at = span(&mut producer, 1, limit - fixed);
        let over = span(&mut producer, 2, limit - fixed + 1);
        assert_eq!(
            (at.to_json().len(), over.to_json().len()),
            (limit, limit + 1)
        );
        match producer.send(vec![at, over]).await {
            ProducerReply::Ack { accepted, rejected } => {
                assert_eq!(accepted, 1, "the one at the limit is taken: {rejected:?}");
                assert_eq!(rejected.len(), 1);
                assert_eq!(rejected[0].index, 1);
                assert!(
                    rejected[0].reason.contains("max_payload"),
                    "{}",
                    rejected[0].reason
                );
            }
            other => panic!("{other:?}"),
        }
        a.stop().await;
        drop(nats);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

/// Whether the runtimes keep a snapshot beside stream `stream` (its object store).
async fn has_snapshot(js: &async_nats::jetstream::Context, stream: &str) -> bool {
    let store = js
        .get_object_store(format!("{stream}-snapshots"))
        .await
        .expect("the snapshot store");
    store.info("snapshot").await.is_ok()
}

/// A snapshot that is there but cannot be read (here a link to an object in a bucket that was
/// deleted since) stops a joining runtime's start with the reason. Taken for "no snapshot", it
/// would start the runtime on the part of the state the stream still holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_that_cannot_be_read_stops_the_start_instead_of_reading_as_none() {
    within(120, async {
        let dir = data_dir("nats-bad-snapshot");
        let nats = Nats::start(&dir, free_port());
        // A first runtime makes the stream and its snapshot store.
        let a = user_trace_runtime::start(shared(&nats, "badsnap"))
            .await
            .expect("A");
        a.stop().await;
        let client = async_nats::connect(nats.url()).await.expect("NATS");
        let js = async_nats::jetstream::new(client);
        let elsewhere = js
            .create_object_store(async_nats::jetstream::object_store::Config {
                bucket: "elsewhere".into(),
                ..Default::default()
            })
            .await
            .expect("a second bucket");
        let target = elsewhere
            .put("x", &mut "{}".as_bytes())
            .await
            .expect("an object");
        let store = js
            .get_object_store("badsnap-snapshots")
            .await
            .expect("the snapshot store");
        store.add_link("snapshot", &target).await.expect("a link");
        js.delete_object_store("elsewhere")
            .await
            .expect("the second bucket deleted");
        // The near miss: the snapshot's entry is there, so it is not "not found".
        assert!(has_snapshot(&js, "badsnap").await);
        match user_trace_runtime::start(shared(&nats, "badsnap")).await {
            Err(e) => assert!(e.to_string().contains("cannot read the snapshot"), "{e}"),
            Ok(r) => {
                r.stop().await;
                panic!("started as if there were no snapshot");
            }
        }
        drop(nats);
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}
