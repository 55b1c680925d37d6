//! Integration tests against the real server on loopback, with real WebSocket clients.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use user_trace_model::{Model, Outcome};
use user_trace_protocol::{
    decode_server, Content, Event, Op, ProducerReply, ServerMessage, SpanKind, Status,
};
use user_trace_runtime::Running;

mod common;

use common::{connect, connect_from, data_dir, durable, recv_text, server, Producer, Ws};

/// A trace with one text span, then `n` appends, in `batches` messages.
async fn stream(p: &mut Producer, trace: &str, n: usize, batches: usize) {
    let start = vec![
        p.event(Op::TraceStart {
            trace: trace.into(),
            name: trace.into(),
            parent_span: None,
            source: None,
        }),
        p.event(Op::SpanCreate {
            trace: trace.into(),
            span: format!("{trace}-s"),
            kind: SpanKind::Text,
            title: None,
            content: Content::Text(String::new()),
            source: None,
        }),
    ];
    assert_ack(p.send(start).await, 2);
    let per = n.div_ceil(batches);
    let mut i = 0;
    while i < n {
        let events: Vec<Event> = (i..(i + per).min(n))
            .map(|k| {
                p.event(Op::TextAppend {
                    span: format!("{trace}-s"),
                    text: format!("{k} "),
                })
            })
            .collect();
        let len = events.len();
        assert_ack(p.send(events).await, len as u64);
        i += per;
    }
}

fn assert_ack(reply: ProducerReply, n: u64) {
    match reply {
        ProducerReply::Ack { accepted, rejected } => {
            assert!(rejected.is_empty(), "{rejected:?}");
            assert_eq!(accepted, n);
        }
        other => panic!("expected an ack, got {other:?}"),
    }
}

/// A panel client that applies what it receives to its own model.
struct Panel {
    ws: Ws,
    model: Model,
    session: String,
    snapshots: usize,
    frames: usize,
    seqs: Vec<u64>,
}

impl Panel {
    async fn connect(s: &Running, session: Option<&str>, last_seq: Option<u64>) -> Panel {
        let mut ws = connect(format!("ws://{}/v1/panel", s.addr)).await;
        let hello = recv_text(&mut ws).await;
        let ServerMessage::Hello(h) = decode_server(&hello).unwrap() else {
            panic!("{hello}")
        };
        let sub = user_trace_protocol::PanelMessage::Subscribe {
            session: session.map(Into::into),
            last_seq,
            binary: false,
            parts: false,
        };
        ws.send(Message::Text(serde_json::to_string(&sub).unwrap().into()))
            .await
            .unwrap();
        Panel {
            ws,
            model: Model::default(),
            session: h.session,
            snapshots: 0,
            frames: 0,
            seqs: vec![],
        }
    }

    /// Reads frames until the panel holds sequence number `seq`.
    async fn until(&mut self, seq: u64) {
        while self.model.last_seq().unwrap_or(0) < seq {
            self.read().await;
        }
    }

    /// Reads the frame a new panel's subscription opens with: its snapshot, even an empty one.
    /// Only then is it subscribed: events sent before are in that snapshot, not live frames.
    async fn opened(&mut self) {
        self.read().await;
        assert_eq!(self.snapshots, 1, "a new panel opens with a snapshot");
    }

    /// Reads and applies one frame.
    async fn read(&mut self) {
        let text = recv_text(&mut self.ws).await;
        let mut out = Outcome::default();
        match decode_server(&text).unwrap() {
            ServerMessage::Events { first_seq, events } => {
                self.frames += 1;
                self.seqs
                    .extend((0..events.len() as u64).map(|i| first_seq + i));
                self.model.apply_batch(first_seq, events, &mut out);
            }
            ServerMessage::Snapshot { seq, events } => {
                self.snapshots += 1;
                self.model.apply_snapshot(seq, events, &mut out);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(out.gap.is_none(), "gap: {:?}", out.gap);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        assert_eq!(out.duplicates, 0, "nothing is sent twice");
    }
}

fn server_dump(s: &Running) -> String {
    // The server's own state, through a fresh panel's snapshot.
    let start = s.hub.subscribe(None, None);
    match start {
        user_trace_runtime::hub::Start::Snapshot { seq, events, .. } => {
            let frame = ServerMessage::Snapshot { seq, events }.to_json();
            let ServerMessage::Snapshot { seq, events } = decode_server(&frame).unwrap() else {
                unreachable!()
            };
            let mut m = Model::default();
            m.apply_snapshot(seq, events, &mut Outcome::default());
            m.dump()
        }
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_producers_are_ordered_into_one_sequence() {
    common::within(120, async {
        let s = server(|_| {}).await;
        let mut panel = Panel::connect(&s, None, None).await;
        // Subscribed before the producers start: every event then reaches it live.
        panel.opened().await;
        let mut tasks = Vec::new();
        for p in 0..3 {
            let mut prod = Producer::connect(s.addr, &format!("proc{p}")).await;
            tasks.push(tokio::spawn(async move {
                stream(&mut prod, &format!("t{p}"), 300, 30).await
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(s.hub.head(), 3 * 302);
        panel.until(3 * 302).await;
        assert_eq!(
            panel.seqs,
            (1..=906).collect::<Vec<_>>(),
            "every number once, in order"
        );
        assert!(
            panel.frames < 906,
            "events are batched ({} frames)",
            panel.frames
        );
        for p in 0..3 {
            let span = panel
                .model
                .span(panel.model.span_by_key(&format!("t{p}-s")).unwrap())
                .unwrap();
            let want: String = (0..300).map(|k| format!("{k} ")).collect();
            assert_eq!(
                span.text(),
                Some(want.as_str()),
                "each producer's order is kept"
            );
        }
        assert_eq!(panel.model.dump(), server_dump(&s));
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_that_asks_for_binary_frames_gets_the_same_json_as_bytes() {
    common::within(120, async {
        let s = server(|_| {}).await;
        let mut prod = Producer::connect(s.addr, "p").await;
        stream(&mut prod, "t", 10, 2).await;
        let mut ws = connect(format!("ws://{}/v1/panel", s.addr)).await;
        let hello = recv_text(&mut ws).await;
        assert!(
            matches!(decode_server(&hello), Ok(ServerMessage::Hello(_))),
            "hello is text"
        );
        let sub = user_trace_protocol::PanelMessage::Subscribe {
            session: None,
            last_seq: None,
            binary: true,
            parts: false,
        };
        ws.send(Message::Text(serde_json::to_string(&sub).unwrap().into()))
            .await
            .unwrap();
        let mut next_binary = async || loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Binary(b)))) => return String::from_utf8(b.to_vec()).unwrap(),
                Ok(Some(Ok(Message::Text(t)))) => {
                    panic!("a text frame after a binary subscribe: {t}")
                }
                Ok(Some(Ok(_))) => {}
                other => panic!("no binary frame: {other:?}"),
            }
        };
        let snapshot = next_binary().await;
        let Ok(ServerMessage::Snapshot { seq, events }) = decode_server(&snapshot) else {
            panic!("{snapshot}")
        };
        assert_eq!(seq, 12);
        let mut model = Model::default();
        let mut out = Outcome::default();
        model.apply_snapshot(seq, events, &mut out);
        // Live events, too.
        stream(&mut prod, "u", 5, 1).await;
        while model.last_seq() < Some(s.hub.head()) {
            let live = next_binary().await;
            let Ok(ServerMessage::Events { first_seq, events }) = decode_server(&live) else {
                panic!("{live}")
            };
            model.apply_batch(first_seq, events, &mut out);
        }
        assert_eq!(model.last_seq(), Some(19));
        assert_eq!(model.dump(), server_dump(&s));
        s.stop().await;
    })
    .await;
}

/// A panel that asks for a snapshot in parts, after its hello.
async fn panel_in_parts(s: &Running) -> Ws {
    let mut ws = connect(format!("ws://{}/v1/panel", s.addr)).await;
    let hello = recv_text(&mut ws).await;
    assert!(matches!(decode_server(&hello), Ok(ServerMessage::Hello(_))));
    let sub = user_trace_protocol::PanelMessage::Subscribe {
        session: None,
        last_seq: None,
        binary: false,
        parts: true,
    };
    ws.send(Message::Text(sub.to_json().into())).await.unwrap();
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_that_asks_for_parts_gets_the_snapshot_in_parts_of_about_a_mib() {
    use user_trace_runtime::panel::SNAPSHOT_PART_BYTES;
    common::within(120, async {
        let s = server(|_| {}).await;
        // An empty server: one part, with nothing in it.
        let mut ws = panel_in_parts(&s).await;
        assert_eq!(
            recv_text(&mut ws).await,
            r#"{"type":"snapshot_part","seq":0,"part":0,"last":true,"events":[]}"#
        );
        drop(ws);
        // About 3 MiB of state: 30 traces of one text span of 100 KB each.
        let mut prod = Producer::connect(s.addr, "p").await;
        for t in 0..30 {
            let trace = format!("t{t}");
            let events = vec![
                prod.event(Op::TraceStart {
                    trace: trace.clone(),
                    name: trace.clone(),
                    parent_span: None,
                    source: None,
                }),
                prod.event(Op::SpanCreate {
                    trace: trace.clone(),
                    span: format!("{trace}-s"),
                    kind: SpanKind::Text,
                    title: None,
                    content: Content::Text("x".repeat(100_000)),
                    source: None,
                }),
            ];
            assert_ack(prod.send(events).await, 2);
        }
        let head = s.hub.head();
        let mut ws = panel_in_parts(&s).await;
        let mut model = Model::default();
        let mut out = Outcome::default();
        let mut parts = 0;
        loop {
            let text = recv_text(&mut ws).await;
            // A part stops at the first event that takes it to the bound.
            assert!(
                text.len() < SNAPSHOT_PART_BYTES + 110_000,
                "{} bytes",
                text.len()
            );
            let Ok(ServerMessage::SnapshotPart {
                seq,
                part,
                last,
                events,
            }) = decode_server(&text)
            else {
                panic!("not a part: {}", &text[..80.min(text.len())])
            };
            assert_eq!((seq, part), (head, parts));
            assert_eq!(
                model.apply_snapshot_part(seq, part, last, events, &mut out),
                Ok(())
            );
            parts += 1;
            if last {
                break;
            }
        }
        assert!(
            (3..=4).contains(&parts),
            "{parts} parts of about a MiB for 3 MB"
        );
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        assert_eq!(model.dump(), server_dump(&s));
        // Live events continue after the last part.
        stream(&mut prod, "u", 5, 1).await;
        while model.last_seq() < Some(s.hub.head()) {
            let live = recv_text(&mut ws).await;
            let Ok(ServerMessage::Events { first_seq, events }) = decode_server(&live) else {
                panic!("{live}")
            };
            assert!(first_seq <= model.last_seq().unwrap_or(0) + 1, "no gap");
            model.apply_batch(first_seq, events, &mut out);
        }
        assert!(out.gap.is_none());
        assert_eq!(model.dump(), server_dump(&s));
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_resumes_with_exactly_what_it_missed() {
    common::within(120, async {
        let s = server(|_| {}).await;
        let mut prod = Producer::connect(s.addr, "p").await;
        stream(&mut prod, "t", 50, 5).await;
        let mut panel = Panel::connect(&s, None, None).await;
        panel.until(52).await;
        let session = panel.session.clone();
        drop(panel);
        stream(&mut prod, "u", 40, 4).await;
        let mut again = Panel::connect(&s, Some(&session), Some(52)).await;
        let mut out = Outcome::default();
        // Start from the first panel's state: rebuild it from the snapshot it would hold.
        let first = recv_text(&mut again.ws).await;
        let ServerMessage::Events { first_seq, events } = decode_server(&first).unwrap() else {
            panic!(
                "a resume sends events, not a snapshot: {}",
                &first[..80.min(first.len())]
            )
        };
        assert_eq!(first_seq, 53, "exactly after what it held");
        again.model.apply_batch(first_seq, events, &mut out);
        again.until(94).await;
        assert_eq!(again.snapshots, 0);
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_behind_the_retained_window_gets_a_snapshot() {
    common::within(120, async {
        let s = server(|c| c.retain_events = 10).await;
        let mut prod = Producer::connect(s.addr, "p").await;
        stream(&mut prod, "t", 30, 3).await;
        let session = s.hub.session.clone();
        let mut panel = Panel::connect(&s, Some(&session), Some(2)).await;
        panel.until(32).await;
        assert_eq!(panel.snapshots, 1);
        assert_eq!(panel.model.dump(), server_dump(&s));
        // A panel from another session (a restarted server in memory) also starts over.
        let mut other = Panel::connect(&s, Some("not-this-one"), Some(32)).await;
        other.until(32).await;
        assert_eq!(other.snapshots, 1);
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_events_are_refused_to_their_producer_and_never_reach_panels() {
    common::within(120, async {
        let s = server(|_| {}).await;
        let mut prod = Producer::connect(s.addr, "p").await;
        let good = prod.event(Op::TraceStart {
            trace: "t".into(),
            name: "T".into(),
            parent_span: None,
            source: None,
        });
        let bad = prod.event(Op::TextAppend {
            span: "missing".into(),
            text: "x".into(),
        });
        match prod.send(vec![good, bad]).await {
            ProducerReply::Ack { accepted, rejected } => {
                assert_eq!(accepted, 1);
                assert_eq!(rejected.len(), 1);
                assert_eq!(rejected[0].index, 1);
                assert!(rejected[0].reason.contains("unknown span `missing`"));
            }
            other => panic!("{other:?}"),
        }
        // A malformed message is answered with an error and the connection goes on.
        prod.ws
            .send(Message::Text("{not json".into()))
            .await
            .unwrap();
        let reply: ProducerReply = serde_json::from_str(&recv_text(&mut prod.ws).await).unwrap();
        assert!(
            matches!(reply, ProducerReply::Error { ref message, .. } if message.contains("malformed")),
            "{reply:?}"
        );
        let e = prod.event(Op::TraceEnd {
            trace: "t".into(),
            status: Status::Ok,
        });
        assert_ack(prod.send(vec![e]).await, 1);
        assert_eq!(s.hub.head(), 2, "only valid events are numbered");
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_origin_is_refused() {
    common::within(120, async {
        let s = server(|_| {}).await;
        let url = format!("ws://{}/v1/panel", s.addr);
        let err = connect_from(url.clone(), "http://evil.example")
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("403"), "{err}");
        assert!(
            connect_from(url, "http://127.0.0.1:8080").await.is_ok(),
            "the preview origin is allowed"
        );
        // Near misses of the allowed origin, on both WebSocket paths: the check is an exact
        // match (a prefix or suffix match would let these pages in).
        let allowed = &s.hub.config.allow_origins;
        assert!(
            allowed.iter().any(|a| a == "http://127.0.0.1:8080"),
            "{allowed:?}"
        );
        for path in ["v1/panel", "v1/ingest"] {
            let url = format!("ws://{}/{path}", s.addr);
            for near in [
                "http://127.0.0.1:8080.evil.example",
                "http://127.0.0.1:80800",
                "http://127.0.0.1:808",
                "https://127.0.0.1:8080",
                "http://127.0.0.1:8080/evil",
                "http://evil.127.0.0.1:8080",
                "http://127.0.0.2:8080",
                "null",
                "",
            ] {
                let err = connect_from(url.clone(), near)
                    .await
                    .expect_err(&format!("{path}: origin `{near}` must be refused"));
                assert!(err.to_string().contains("403"), "{path} {near}: {err}");
            }
        }
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_nobody_connects_without_it() {
    common::within(120, async {
        let s = server(|c| c.token = Some("s3cret".into())).await;
        for path in ["v1/panel", "v1/ingest"] {
            let err = tokio_tungstenite::connect_async(format!("ws://{}/{path}", s.addr))
                .await
                .expect_err("refused");
            assert!(err.to_string().contains("401"), "{err}");
            let wrong =
                tokio_tungstenite::connect_async(format!("ws://{}/{path}?token=s3cre", s.addr))
                    .await;
            assert!(wrong.is_err());
            let ok =
                tokio_tungstenite::connect_async(format!("ws://{}/{path}?token=s3cret", s.addr))
                    .await;
            assert!(ok.is_ok());
            let mut req = format!("ws://{}/{path}", s.addr)
                .into_client_request()
                .unwrap();
            req.headers_mut()
                .insert("authorization", "Bearer s3cret".parse().unwrap());
            assert!(tokio_tungstenite::connect_async(req).await.is_ok());
        }
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_message_closes_with_a_reason() {
    common::within(120, async {
        let s = server(|c| c.max_message_bytes = 4096).await;
        let mut prod = Producer::connect(s.addr, "p").await;
        let big = prod.event(Op::TraceStart {
            trace: "t".into(),
            name: "x".repeat(10_000),
            parent_span: None,
            source: None,
        });
        let msg = user_trace_protocol::ProducerMessage::Events { events: vec![big] }.to_json();
        let _ = prod.ws.send(Message::Text(msg.into())).await;
        let close = loop {
            match tokio::time::timeout(Duration::from_secs(10), prod.ws.next())
                .await
                .expect("answer")
            {
                Some(Ok(Message::Close(f))) => break f,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        let close = close.expect("a close frame with a reason");
        assert_eq!(u16::from(close.code), 1009);
        assert!(
            close.reason.contains("over the limit of 4096 bytes"),
            "{}",
            close.reason
        );
        assert_eq!(s.hub.head(), 0);
        s.stop().await;
    })
    .await;
}

/// PROTOCOL.md: the hello advertises the limits, and they are the real edges: a message of
/// exactly `max_message_bytes` is read, one byte more is refused with 1009; an id of exactly
/// `max_label_bytes` is accepted, one byte more is refused in the ack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hello_advertises_the_limits_the_server_enforces() {
    common::within(60, async {
        let s = server(|c| c.max_message_bytes = 16_384).await;
        let mut ws = connect(format!("ws://{}/v1/ingest", s.addr)).await;
        let hello: serde_json::Value = serde_json::from_str(&recv_text(&mut ws).await).unwrap();
        let limits = &hello["limits"];
        assert_eq!(limits["max_message_bytes"], 16_384, "{hello}");
        let label = limits["max_label_bytes"].as_u64().expect("max_label_bytes") as usize;
        assert!(limits["max_text_bytes"].as_u64() > Some(0), "{hello}");
        assert!(limits["max_json_bytes"].as_u64() > Some(0), "{hello}");
        assert!(limits["max_items"].as_u64() > Some(0), "{hello}");

        // A panel may send up to the panel path's own limit.
        let mut panel = connect(format!("ws://{}/v1/panel", s.addr)).await;
        let panel_hello: serde_json::Value =
            serde_json::from_str(&recv_text(&mut panel).await).unwrap();
        assert_eq!(
            panel_hello["limits"]["max_message_bytes"],
            user_trace_runtime::panel::MAX_MESSAGE_BYTES,
        );

        drop(ws);
        let mut prod = Producer::connect(s.addr, "p").await;
        // Ids at the edge: in the ack.
        let mut at_edge = prod.event(Op::TraceStart {
            trace: "t".into(),
            name: "n".into(),
            parent_span: None,
            source: None,
        });
        at_edge.id = "i".repeat(label);
        let mut over = prod.event(Op::TraceStart {
            trace: "u".into(),
            name: "n".into(),
            parent_span: None,
            source: None,
        });
        over.id = "i".repeat(label + 1);
        let text = user_trace_protocol::ProducerMessage::Events {
            events: vec![at_edge.clone()],
        }
        .to_json();
        assert!(text.len() < 16_384, "the id alone must fit a message");
        assert_ack(prod.send(vec![at_edge]).await, 1);
        match prod.send(vec![over]).await {
            ProducerReply::Ack {
                accepted: 0,
                rejected,
            } => {
                assert!(
                    rejected[0].reason.contains("over the limit"),
                    "{rejected:?}"
                )
            }
            other => panic!("an id over the limit must be refused, got {other:?}"),
        }

        // A message of exactly the advertised size is read; one byte more closes.
        let sized = |p: &mut Producer, len: usize| {
            let base = p.event(Op::TraceStart {
                trace: "v".into(),
                name: String::new(),
                parent_span: None,
                source: None,
            });
            let empty = user_trace_protocol::ProducerMessage::Events {
                events: vec![base.clone()],
            }
            .to_json()
            .len();
            let mut e = base;
            if let Op::TraceStart { name, .. } = &mut e.op {
                *name = "x".repeat(len - empty);
            }
            let text = user_trace_protocol::ProducerMessage::Events { events: vec![e] }.to_json();
            assert_eq!(text.len(), len);
            text
        };
        let exact = sized(&mut prod, 16_384);
        match prod.send_text(exact).await {
            Some(ProducerReply::Ack { .. }) => {}
            other => panic!("a message of exactly the limit must be read, got {other:?}"),
        }
        let one_more = sized(&mut prod, 16_385);
        match prod.send_text(one_more).await {
            Some(ProducerReply::Error {
                close: Some(1009), ..
            }) => {}
            other => panic!("one byte over the limit must close with 1009, got {other:?}"),
        }
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_panel_never_blocks_producers_and_is_resynced() {
    common::within(120, async {
        let s = server(|c| c.panel_queue = 16).await;
        let mut slow = Panel::connect(&s, None, None).await;
        let mut fast = Panel::connect(&s, None, None).await;
        // Both subscribed before the stream starts.
        slow.opened().await;
        fast.opened().await;
        let mut prod = Producer::connect(s.addr, "p").await;
        let big = "x".repeat(32 << 10);
        stream(&mut prod, "t", 0, 1).await;
        let producer = tokio::spawn(async move {
            for _ in 0..20 {
                let events = (0..20)
                    .map(|_| {
                        prod.event(Op::TextAppend {
                            span: "t-s".into(),
                            text: big.clone(),
                        })
                    })
                    .collect();
                assert_ack(prod.send(events).await, 20);
            }
        });
        // The fast panel keeps up while the slow one reads nothing.
        fast.until(402).await;
        tokio::time::timeout(Duration::from_secs(20), producer)
            .await
            .expect("producer never blocked")
            .unwrap();
        slow.until(402).await;
        assert!(
            slow.snapshots >= 1,
            "the slow panel was resynced from a snapshot"
        );
        assert_eq!(slow.model.dump(), fast.model.dump());
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_on_the_durable_store_loses_nothing_and_panels_resume() {
    common::within(120, async {
        let dir = data_dir("restart");
        let s = server(|c| durable(c, &dir)).await;
        let addr = s.addr;
        let mut prod = Producer::connect(s.addr, "p").await;
        stream(&mut prod, "t", 20, 2).await;
        let mut panel = Panel::connect(&s, None, None).await;
        panel.until(22).await;
        let before = panel.model.dump();
        let session = panel.session.clone();
        s.stop().await;

        let s = server(|c| {
            durable(c, &dir);
            c.listen = addr;
        })
        .await;
        assert_eq!(
            s.hub.session, session,
            "same session after a restart on the store"
        );
        assert_eq!(s.hub.head(), 22);
        assert_eq!(server_dump(&s), before);
        let mut prod = Producer::connect(s.addr, "p2").await;
        stream(&mut prod, "u", 5, 1).await;
        let mut again = Panel::connect(&s, Some(&session), Some(22)).await;
        again.model = panel.model;
        again.until(29).await;
        assert_eq!(again.snapshots, 0, "resumed, not resynced");
        assert_eq!(again.model.dump(), server_dump(&s));
        s.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_starts_while_the_server_stops_is_told_to_stop_too() {
    common::within(120, async {
        // A connection accepted during a graceful stop subscribes after the stop was signalled; it
        // must still see it, or it stays open on a stopped server and its producer never moves
        // to the restarted one (seen as a tracer that never flushes after a restart).
        let s = server(|_| {}).await;
        s.hub.stop();
        let mut late = s.hub.stopping();
        tokio::time::timeout(Duration::from_secs(1), late.changed())
            .await
            .expect("a receiver made after the stop sees it at once")
            .expect("the hub is alive");
        assert!(*late.borrow());
        s.stop().await;
    })
    .await;
}

/// PROTOCOL.md: an unknown message type is reported by the receiver and skipped. A panel that
/// sends anything but its one subscribe gets an `error` and its stream goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_message_that_is_not_its_subscribe_gets_an_error_and_the_stream_goes_on() {
    common::within(60, async {
        let s = server(|_| {}).await;
        let mut panel = connect(format!("ws://{}/v1/panel", s.addr)).await;
        let _hello = recv_text(&mut panel).await;
        panel
            .send(Message::Text(r#"{"type":"subscribe"}"#.into()))
            .await
            .expect("subscribes");
        let snapshot = recv_text(&mut panel).await;
        assert!(snapshot.contains(r#""type":"snapshot""#), "{snapshot}");
        for (bad, says) in [
            (r#"{"type":"nonsense"}"#, "nonsense"),
            ("not json", "malformed"),
            (r#"{"type":"subscribe"}"#, "already subscribed"),
        ] {
            panel.send(Message::Text(bad.into())).await.expect("sent");
            let reply = recv_text(&mut panel).await;
            let v: serde_json::Value = serde_json::from_str(&reply).expect("JSON");
            assert_eq!(v["type"], "error", "{bad}: {reply}");
            let message = v["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{bad}: {message}");
        }
        panel
            .send(Message::Binary(b"{}".to_vec().into()))
            .await
            .expect("sent");
        let reply = recv_text(&mut panel).await;
        assert!(
            reply.contains("binary frames are not part of the protocol"),
            "{reply}"
        );
        // Still open: the next event reaches it.
        let mut p = Producer::connect(s.addr, "p").await;
        let e = p.event(Op::TraceStart {
            trace: "t".into(),
            name: "after".into(),
            parent_span: None,
            source: None,
        });
        assert!(matches!(p.send(vec![e]).await, ProducerReply::Ack { .. }));
        let frame = recv_text(&mut panel).await;
        assert!(frame.contains(r#""name":"after""#), "{frame}");
        s.stop().await;
    })
    .await;
}

/// Where a resuming panel starts, at the edges of the retained window: a `last_seq` just
/// before the oldest retained event resumes (nothing missed); one event further back gets a
/// snapshot; the head resumes with nothing to send; beyond the head, another session or no
/// `last_seq`, a snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_resumes_exactly_up_to_the_edge_of_the_window() {
    use user_trace_runtime::hub::Start;
    common::within(60, async {
        let s = server(|c| c.retain_events = 10).await;
        let mut p = Producer::connect(s.addr, "p").await;
        stream(&mut p, "t", 28, 3).await;
        let head = s.hub.head();
        assert_eq!(head, 30, "a trace, a span and 28 appends");
        let oldest = head - 10 + 1;
        let session = s.hub.session.clone();
        let start = |last: Option<u64>, session: Option<&str>| match s.hub.subscribe(session, last)
        {
            Start::Resume(from) => Some(from),
            Start::Snapshot { .. } => None,
        };
        let me = Some(session.as_str());
        assert_eq!(
            start(Some(oldest - 1), me),
            Some(oldest - 1),
            "just before the oldest"
        );
        assert_eq!(start(Some(oldest), me), Some(oldest));
        assert_eq!(
            start(Some(oldest - 2), me),
            None,
            "one further back: a snapshot"
        );
        assert_eq!(start(Some(head), me), Some(head), "at the head");
        assert_eq!(
            start(Some(head + 1), me),
            None,
            "beyond the head: a snapshot"
        );
        assert_eq!(
            start(Some(oldest), Some("another")),
            None,
            "another session"
        );
        assert_eq!(start(None, me), None, "no last_seq");
        s.stop().await;
    })
    .await;
}

/// The status line of the answer to a raw HTTP/1.1 request to the panel path with `headers`.
async fn panel_upgrade_status(addr: std::net::SocketAddr, method: &str, headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let request = format!("{method} /v1/panel HTTP/1.1\r\nHost: {addr}\r\n{headers}\r\n");
    tcp.write_all(request.as_bytes()).await.expect("writes");
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await.expect("reads");
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// The panel path checks the WebSocket upgrade itself (it sends large messages in fragments):
/// a request that is one is answered 101 with the key's accept value; near misses of each
/// header, and another method, are refused with a reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_path_upgrades_websocket_requests_and_refuses_near_misses() {
    common::within(60, async {
        let s = server(|_| {}).await;
        // RFC 6455's own example key and its accept value.
        let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
        let version = "Sec-WebSocket-Version: 13\r\n";
        let ok = format!("Connection: Upgrade\r\nUpgrade: websocket\r\n{version}{key}");
        let answer = panel_upgrade_status(s.addr, "GET", &ok).await;
        assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
            "{answer}"
        );
        // A list of tokens in any case is a request for it too.
        let listed =
            format!("Connection: keep-alive, UPGRADE\r\nUpgrade: WebSocket\r\n{version}{key}");
        let answer = panel_upgrade_status(s.addr, "GET", &listed).await;
        assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
        for (method, headers, status) in [
            ("POST", ok.clone(), "405"),
            ("GET", format!("Connection: upgraded\r\nUpgrade: websocket\r\n{version}{key}"), "400"),
            ("GET", format!("Upgrade: websocket\r\n{version}{key}"), "400"),
            ("GET", format!("Connection: Upgrade\r\nUpgrade: websockets\r\n{version}{key}"), "400"),
            ("GET", format!("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 12\r\n{key}"), "400"),
            ("GET", format!("Connection: Upgrade\r\nUpgrade: websocket\r\n{version}"), "400"),
        ] {
            let answer = panel_upgrade_status(s.addr, method, &headers).await;
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status}")),
                "{method} with {headers:?}: {answer}"
            );
        }
        s.stop().await;
    })
    .await;
}

/// A panel sends only small messages: a frame that says it is larger than a panel's limit is
/// refused from its header, before the runtime reads (or makes room for) its payload. Here it
/// says 8 MiB and sends none: the answer comes anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_frame_over_the_limit_is_refused_from_its_header() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    common::within(60, async {
        let s = server(|_| {}).await;
        let mut tcp = tokio::net::TcpStream::connect(s.addr)
            .await
            .expect("connects");
        let request = format!(
            "GET /v1/panel HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            s.addr
        );
        tcp.write_all(request.as_bytes()).await.expect("writes");
        // A masked text frame of 8 MiB: FIN and text, then 127 and a 64-bit length, then the mask.
        let mut header = vec![0x81, 0x80 | 127];
        header.extend_from_slice(&(8u64 << 20).to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        tcp.write_all(&header).await.expect("writes the header");
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(5), async {
            while !String::from_utf8_lossy(&answer).contains("over the limit") {
                let n = tcp.read(&mut buf).await.expect("reads");
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            read.is_ok() && text.contains("over the limit of 65536 bytes"),
            "no refusal within 5 s of the header: {text:?}"
        );
        s.stop().await;
    })
    .await;
}
