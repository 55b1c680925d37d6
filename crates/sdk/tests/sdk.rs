//! The SDK against the real runtime on loopback.

use std::time::Duration;

use user_trace_model::{Model, Outcome};
use user_trace_protocol::{decode_server, Content, ServerMessage};
use user_trace_runtime::hub::Start;
use user_trace_runtime::{Config, Running};
use user_trace_sdk::{Message, RawJson, TraceLayer, Tracer, TracerOptions};

async fn server(listen: &str, data: Option<std::path::PathBuf>) -> Running {
    let mut c = Config::default_for(listen.parse().unwrap());
    c.in_memory = data.is_none();
    c.data = data;
    c.token = None;
    user_trace_runtime::start(c).await.expect("server starts")
}

fn state(s: &Running) -> Model {
    let Start::Snapshot { seq, events, .. } = s.hub.subscribe(None, None) else {
        unreachable!()
    };
    let frame = ServerMessage::Snapshot { seq, events }.to_json();
    let ServerMessage::Snapshot { seq, events } = decode_server(&frame).unwrap() else {
        unreachable!()
    };
    let mut m = Model::default();
    m.apply_snapshot(seq, events, &mut Outcome::default());
    m
}

/// Runs a test's body with a time limit: a hang fails the test instead of stalling CI.
async fn within<F: std::future::Future>(body: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(120), body)
        .await
        .expect("the test finishes within 120 s")
}

fn opts(name: &str) -> TracerOptions {
    TracerOptions {
        process: Some(name.into()),
        ..TracerOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_streams_every_kind_of_span() {
    within(async {
        let s = server("127.0.0.1:0", None).await;
        let url = format!("ws://{}/v1/ingest", s.addr);
        let tracer = Tracer::connect_with(&url, opts("agent")).await.unwrap();
        assert!(tracer.process().starts_with("agent@"));
        let trace = tracer.trace("Answer");
        let answer = trace.text("answer", "");
        for t in ["Hel", "lo", "!"] {
            answer.append(t);
        }
        answer.end();
        let tool = answer.child_trace("tool: search");
        tool.json("args", &serde_json::json!({"q": "rust", "n": 3}));
        tool.end();
        trace.items("usage", [("tokens", 3)]);
        trace.markdown("notes", "**bold**");
        trace.error("failed", Some(&serde_json::json!({"code": 7})));
        trace.end();
        tracer.flush().await;
        assert_eq!(tracer.stats().refused, 0);
        let m = state(&s);
        let t = m.trace(m.roots()[0]).unwrap();
        assert_eq!(t.name, "Answer");
        assert_eq!(
            t.spans.len(),
            4,
            "text, items, markdown, error (the JSON is in the child trace)"
        );
        let text = m.span(t.spans[0]).unwrap();
        assert_eq!(text.text(), Some("Hello!"));
        assert_eq!(text.children.len(), 1);
        assert_eq!(m.trace(text.children[0]).unwrap().name, "tool: search");
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_streams_a_conversation_and_a_json_document_in_pieces() {
    within(async {
        let s = server("127.0.0.1:0", None).await;
        let url = format!("ws://{}/v1/ingest", s.addr);
        let tracer = Tracer::connect_with(&url, opts("agent")).await.unwrap();
        let trace = tracer.trace("Chat");
        let chat = trace.messages(
            "conversation",
            [
                Message::text("system", "Be brief."),
                Message::text("user", "Weather in Lisbon?").with_name("ana"),
            ],
        );
        let args = trace.json_stream("arguments");
        for piece in ["{\"city\": \"Lis", "bon\", \"days\": 1.50", "}"] {
            args.append_json(piece);
        }
        args.finish_json();
        chat.add_messages([Message::text("assistant", "").with_tool_call(
            "call_1",
            "weather",
            RawJson::from_string("{\"city\": \"Lisbon\", \"days\": 1.50}".into()).unwrap(),
        )]);
        chat.add_messages([
            Message::tool_result("call_1", "{\"temp\": 21}"),
            Message::text("assistant", ""),
        ]);
        for t in ["It is ", "21 °C."] {
            chat.append_message(t);
        }
        chat.end();
        trace.end();
        tracer.flush().await;
        assert_eq!(tracer.stats().refused, 0);
        let m = state(&s);
        let t = m.trace(m.roots()[0]).unwrap();
        let Content::Messages(list) = &m.span(t.spans[0]).unwrap().content else {
            panic!("a conversation")
        };
        assert_eq!(list.len(), 5);
        assert_eq!(list[1].name.as_deref(), Some("ana"));
        assert_eq!(list[2].tool_calls[0].name, "weather");
        assert_eq!(list[3].tool_call_id.as_deref(), Some("call_1"));
        assert_eq!(list[4].last_text(), Some("It is 21 °C."));
        let Content::Json(doc) = &m.span(t.spans[1]).unwrap().content else {
            panic!("a JSON span")
        };
        assert_eq!(doc.get(), "{\"city\": \"Lisbon\", \"days\": 1.50}");
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracer_buffers_across_a_server_restart_and_loses_nothing() {
    within(async {
        let journal = std::env::temp_dir().join(format!("utp-sdk-data-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&journal);
        let s = server("127.0.0.1:0", Some(journal.clone())).await;
        let addr = s.addr;
        let url = format!("ws://{addr}/v1/ingest");
        let tracer = Tracer::connect_with(&url, opts("p")).await.unwrap();
        let trace = tracer.trace("long run");
        let span = trace.text("log", "");
        for i in 0..100 {
            span.append(&format!("{i} "));
        }
        tracer.flush().await;
        s.stop().await;
        // The server is down: events are buffered.
        for i in 100..200 {
            span.append(&format!("{i} "));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let s = server(&addr.to_string(), Some(journal.clone())).await;
        for i in 200..300 {
            span.append(&format!("{i} "));
        }
        span.end();
        trace.end();
        tokio::time::timeout(Duration::from_secs(20), tracer.flush())
            .await
            .expect("flushed after the restart");
        assert!(tracer.stats().connections >= 2, "{:?}", tracer.stats());
        let m = state(&s);
        let text = m.span(m.span_by_key(span.id()).unwrap()).unwrap();
        let want: String = (0..300).map(|i| format!("{i} ")).collect();
        assert_eq!(
            text.text(),
            Some(want.as_str()),
            "every append exactly once, in order"
        );
        s.stop().await;
        let _ = std::fs::remove_dir_all(&journal);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracing_program_shows_its_spans_fields_and_events() {
    within(async {
        use tracing_subscriber::layer::SubscriberExt;
        let s = server("127.0.0.1:0", None).await;
        let url = format!("ws://{}/v1/ingest", s.addr);
        let tracer = Tracer::connect_with(&url, opts("svc")).await.unwrap();
        let subscriber = tracing_subscriber::registry().with(TraceLayer::new(tracer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("handle_request", path = "/answer", attempt = 1);
            let _o = outer.enter();
            tracing::info!(tokens = 12, "model replied");
            let inner = tracing::info_span!("call_tool", tool = "search");
            inner.in_scope(|| tracing::warn!("slow tool"));
        });
        tracer.flush().await;
        let m = state(&s);
        let t = m.trace(m.roots()[0]).unwrap();
        assert_eq!(t.name, "handle_request");
        let fields = m.span(t.spans[0]).unwrap();
        let Content::Items(items) = &fields.content else {
            panic!("{:?}", fields.content)
        };
        let rows: Vec<_> = items
            .iter()
            .map(|i| (i.name.as_str(), i.value.get()))
            .collect();
        assert_eq!(rows, vec![("path", "\"/answer\""), ("attempt", "1")]);
        let log = m.span(t.spans[1]).unwrap();
        assert!(log.text().unwrap().contains("INFO"), "{:?}", log.text());
        assert!(
            log.text().unwrap().contains("model replied tokens=12"),
            "{:?}",
            log.text()
        );
        let child = m.trace(log.children[0]).unwrap();
        assert_eq!(child.name, "call_tool");
        let child_log = m.span(child.spans[1]).unwrap();
        assert!(child_log.text().unwrap().contains("WARN"));
        s.stop().await;
    })
    .await;
}

/// A TCP proxy to `upstream` that cuts one connection (both ways) right after it has
/// forwarded `cut_after` bytes from the client: what the server received last is not
/// acknowledged yet, and what the client sent after it is lost. Other connections pass
/// through. Returns its address
/// and how many connections it took.
async fn cutting_proxy(
    upstream: std::net::SocketAddr,
    cut_after: usize,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let n = count.clone();
    let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            n.fetch_add(1, Ordering::SeqCst);
            let cut = cut.clone();
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                continue;
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let down = tokio::spawn(async move {
                let mut buf = vec![0u8; 16 << 10];
                while let Ok(k) = sr.read(&mut buf).await {
                    if k == 0 || cw.write_all(&buf[..k]).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 << 10];
                let mut up = 0;
                while let Ok(k) = cr.read(&mut buf).await {
                    if k == 0 || sw.write_all(&buf[..k]).await.is_err() {
                        break;
                    }
                    up += k;
                    if up >= cut_after && !cut.swap(true, Ordering::SeqCst) {
                        break; // drops both halves: the connection is cut mid-stream
                    }
                }
                down.abort();
            });
        }
    });
    (addr, count)
}

/// Batches sent but not yet acknowledged when the connection drops are sent again on the
/// next one, and the runtime drops what it already had: every append once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_in_flight_when_the_connection_drops_are_sent_again_and_kept_once() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let s = server("127.0.0.1:0", None).await;
        // Cut once about 20 KB of batches went up: the last of them is not acknowledged.
        let (proxy, connections) = cutting_proxy(s.addr, 20_000).await;
        let url = format!("ws://{proxy}/v1/ingest");
        let tracer = Tracer::connect_with(&url, opts("inflight")).await.unwrap();
        let trace = tracer.trace("through a cut");
        let span = trace.text("log", "");
        for i in 0..5000 {
            span.append(&format!("{i} "));
            if i % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        span.end();
        trace.end();
        tokio::time::timeout(Duration::from_secs(20), tracer.flush())
            .await
            .expect("everything acknowledged within 20 s (a batch lost at the cut never is)");
        let stats = tracer.stats();
        assert!(
            stats.connections >= 2,
            "the tracer's connection was cut: {stats:?}, {} through the proxy",
            connections.load(std::sync::atomic::Ordering::SeqCst)
        );
        assert_eq!(stats.acked, stats.made, "{stats:?}");
        let m = state(&s);
        let text = m.span(m.span_by_key(span.id()).unwrap()).unwrap();
        let want: String = (0..5000).map(|i| format!("{i} ")).collect();
        assert_eq!(
            text.text(),
            Some(want.as_str()),
            "every append once, in order"
        );
        s.stop().await;
    })
    .await
    .expect("within 60 s");
}

/// A program that closes its tracer before it exits ends the connection as the protocol asks:
/// the runtime reads a close frame, not a reset (which it logs as one). The server is a real
/// WebSocket server on loopback that acknowledges every batch and reports how each connection
/// ended: the one `connect` makes to check the runtime is there, and the tracer's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_tracer_ends_its_connection_with_a_close_frame() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Frame;
    use user_trace_protocol::{decode_producer, ProducerMessage};
    within(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // For each connection that ends: the events it acknowledged, and whether a close frame
        // came before the end.
        let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let ended_tx = ended_tx.clone();
                tokio::spawn(async move {
                    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                    let hello = r#"{"type":"hello","protocol":1,"session":"s","server":"test"}"#;
                    ws.send(Frame::Text(hello.into())).await.unwrap();
                    let mut events = 0;
                    let closed = loop {
                        match ws.next().await {
                            Some(Ok(Frame::Text(t))) => {
                                let Ok(ProducerMessage::Events { events: batch }) =
                                    decode_producer(t.as_str())
                                else {
                                    panic!("not a batch: {t}");
                                };
                                events += batch.len();
                                let ack = format!(
                                    r#"{{"type":"ack","accepted":{},"rejected":[]}}"#,
                                    batch.len()
                                );
                                let _ = ws.send(Frame::Text(ack.into())).await;
                            }
                            Some(Ok(Frame::Close(_))) => break true,
                            Some(Ok(_)) => continue,
                            None | Some(Err(_)) => break false,
                        }
                    };
                    let _ = ended_tx.send((events, closed));
                });
            }
        });
        let url = format!("ws://{addr}/v1/ingest");
        let tracer = Tracer::connect_with(&url, opts("closing")).await.unwrap();
        assert_eq!(ended.recv().await, Some((0, true)), "connect's check");
        let trace = tracer.trace("run");
        trace.text("answer", "hello").end();
        trace.end();
        drop(trace);
        // Near miss: with a clone alive, close only flushes, and the connection stays open.
        let kept = tracer.clone();
        tracer.close().await;
        assert_eq!(
            kept.stats().acked,
            4,
            "trace_start, span_create, span_end, trace_end"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            ended.try_recv().is_err(),
            "a clone still uses the connection"
        );
        kept.close().await;
        // What a connection's end reports, given its server task the time to report it.
        async fn next(
            ended: &mut tokio::sync::mpsc::UnboundedReceiver<(usize, bool)>,
        ) -> Option<(usize, bool)> {
            tokio::time::timeout(Duration::from_secs(2), ended.recv())
                .await
                .ok()
                .flatten()
        }
        assert_eq!(
            next(&mut ended).await,
            Some((4, true)),
            "the tracer's connection"
        );
        // A program that exits as soon as close returns: its runtime, and every task still
        // running on it, dropped at once.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let tracer = Tracer::connect_with(&url, opts("exiting")).await.unwrap();
                tracer.trace("run").end();
                tracer.close().await;
            });
            drop(rt);
        })
        .join()
        .unwrap();
        assert_eq!(next(&mut ended).await, Some((0, true)), "connect's check");
        assert_eq!(
            next(&mut ended).await,
            Some((2, true)),
            "the exiting program's connection"
        );
    })
    .await
}

/// PROTOCOL.md: a client refuses a server of another protocol version with close code 4000 and
/// a reason naming both. The server here is a real WebSocket server on loopback that speaks a
/// version 2 this SDK does not; it records the close frame it gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_of_another_version_is_refused_with_close_4000() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Frame;
    within(async {
        for version in [2, 0] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                let hello = format!(
                    r#"{{"type":"hello","protocol":{version},"session":"s","server":"future/2"}}"#
                );
                ws.send(Frame::Text(hello.into())).await.unwrap();
                loop {
                    match ws.next().await {
                        Some(Ok(Frame::Close(frame))) => return frame,
                        Some(Ok(_)) => continue,
                        _ => return None,
                    }
                }
            });
            let url = format!("ws://{addr}/v1/ingest");
            let Err(e) = Tracer::connect_with(&url, opts("old")).await else {
                panic!("a runtime of protocol {version} must be refused");
            };
            let message = e.to_string();
            assert!(
                message.contains(&format!("protocol {version}")) && message.contains("speaks 1"),
                "{message}"
            );
            let frame = server.await.unwrap().expect("a close frame");
            assert_eq!(
                u16::from(frame.code),
                user_trace_protocol::CLOSE_OTHER_VERSION
            );
            assert!(
                frame.reason.contains(&format!("protocol {version}")),
                "{}",
                frame.reason
            );
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_and_spans_carry_the_hosts_source() {
    within(async {
        let s = server("127.0.0.1:0", None).await;
        let url = format!("ws://{}/v1/ingest", s.addr);
        let tracer = Tracer::connect_with(&url, opts("agent")).await.unwrap();
        let trace = tracer.trace_at("Answer", "graph/node-1");
        trace.at("graph/node-7").text("answer", "hi").end();
        // Near miss: a span made on the trace itself carries none.
        trace.text("plain", "").end();
        trace.end();
        tracer.flush().await;
        let m = state(&s);
        let t = m.trace(m.roots()[0]).unwrap();
        assert_eq!(t.source.as_deref(), Some("graph/node-1"));
        let sources: Vec<_> = t
            .spans
            .iter()
            .map(|id| m.span(*id).unwrap().source().map(str::to_owned))
            .collect();
        assert_eq!(sources, [Some("graph/node-7".to_owned()), None]);
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tracers_record_every_event_into_one_file_as_json_lines() {
    within(async {
        let path =
            std::env::temp_dir().join(format!("utp-sdk-record-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let a = Tracer::record(&path, opts("a")).expect("records");
        let b = Tracer::record(&path, opts("b")).expect("records");
        for (tracer, name) in [(&a, "from a"), (&b, "from b")] {
            let trace = tracer.trace(name);
            trace.text("note", "a line\nwith a newline");
            trace.end();
        }
        a.flush().await;
        b.flush().await;
        let made = a.stats().made + b.stats().made;
        assert_eq!(a.stats().acked, a.stats().made);
        assert_eq!(b.stats().acked, b.stats().made);
        let text = std::fs::read_to_string(&path).expect("reads");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() as u64, made, "one line per event:\n{text}");
        for line in &lines {
            let event = user_trace_protocol::decode_event(0, line).expect("a whole event per line");
            assert!(event.process.starts_with("a@") || event.process.starts_with("b@"));
        }
        let _ = std::fs::remove_file(&path);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_is_down_is_skipped_for_the_next_url() {
    within(async {
        let s = server("127.0.0.1:0", None).await;
        // Nothing listens on the first URL (a port just freed).
        let down = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let urls = format!("ws://{down}/v1/ingest, ws://{}/v1/ingest", s.addr);
        let tracer = Tracer::connect_lazy(&urls, opts("fallback"));
        let trace = tracer.trace("via the second URL");
        trace.end();
        tracer.flush().await;
        let stats = tracer.stats();
        assert_eq!((stats.acked, stats.refused), (stats.made, 0));
        assert_eq!(stats.connections, 1);
        let m = state(&s);
        assert_eq!(m.roots().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracer_without_a_url_refuses_its_events_and_flush_returns() {
    within(async {
        let tracer = Tracer::connect_lazy(" , ", opts("nowhere"));
        tracer.trace("lost").end();
        tracer.flush().await;
        let stats = tracer.stats();
        assert_eq!((stats.acked, stats.refused), (stats.made, stats.made));
        assert!(stats.made >= 2);
    })
    .await;
}
