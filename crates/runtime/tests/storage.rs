//! The store and the access checks against a real server in this process: a full store refuses
//! instead of acknowledging and recovers by itself, `clear` gives the space back, the Host
//! header is checked against DNS rebinding and /health tells the session only to a token.
//! Every wait is bounded.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use user_trace_protocol::{Content, Item, Op, ProducerReply, RawJson, SpanKind};

use common::{data_dir, durable, server, Producer};

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < give_up, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn items_span(p: &mut Producer) -> Vec<user_trace_protocol::Event> {
    vec![
        p.event(Op::TraceStart {
            trace: "t".into(),
            name: "status".into(),
            parent_span: None,
            source: None,
        }),
        p.event(Op::SpanCreate {
            span: "s".into(),
            trace: "t".into(),
            kind: SpanKind::Items,
            title: None,
            content: Content::Items(Vec::new()),
            source: None,
        }),
    ]
}

/// One event that replaces the item `status` with a value of about 2 KB: the state stays
/// small while the history grows.
fn status(p: &mut Producer, n: usize) -> user_trace_protocol::Event {
    p.event(Op::ItemsSet {
        span: "s".into(),
        items: vec![Item {
            name: "status".into(),
            value: RawJson::from_value(&format!("{n:06}-{}", "x".repeat(2000))),
        }],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_refuses_instead_of_acknowledging_and_nothing_acknowledged_is_lost() {
    common::within(120, async {
        let data = data_dir("full");
        let s = server(|c| {
            durable(c, &data);
            c.max_disk_mib = 1;
        })
        .await;
        let addr = s.addr;
        let mut p = Producer::connect(addr, "p").await;
        let first = items_span(&mut p);
        assert!(matches!(p.send(first).await, ProducerReply::Ack { .. }));
        // About 3 MB of history through a 1 MiB store, ten events a batch; a refused batch is
        // sent again, as the SDK does.
        let mut refusals = Vec::new();
        let mut last_acked = None;
        for b in 0..150 {
            let batch: Vec<_> = (0..10).map(|i| status(&mut p, b * 10 + i)).collect();
            let give_up = Instant::now() + Duration::from_secs(30);
            loop {
                match p.send(batch.clone()).await {
                    ProducerReply::Ack { accepted, rejected } => {
                        assert_eq!((accepted, rejected.len()), (10, 0));
                        last_acked = Some(b * 10 + 9);
                        break;
                    }
                    ProducerReply::Error { message, .. } => {
                        if refusals.is_empty() {
                            // A batch sent after the refused one, before it comes again, is
                            // not taken either (taken, it would come before it).
                            let later: Vec<_> =
                                (0..10).map(|i| status(&mut p, 100_000 + i)).collect();
                            match p.send(later).await {
                                ProducerReply::Error {
                                    message,
                                    close: None,
                                } => assert!(
                                    message.starts_with(user_trace_runtime::ingest::NOT_IN_ORDER),
                                    "{message}"
                                ),
                                other => panic!("a batch after a refused one: {other:?}"),
                            }
                        }
                        refusals.push(message)
                    }
                    other => panic!("{other:?}"),
                }
                assert!(
                    Instant::now() < give_up,
                    "the store never made room: {refusals:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        assert!(
            !refusals.is_empty(),
            "the 1 MiB store filled up at least once"
        );
        assert!(
            refusals[0].contains("storage is full") && refusals[0].contains("send again"),
            "{}",
            refusals[0]
        );
        let disk = std::fs::metadata(data.join("events.db")).map_or(0, |m| m.len());
        assert!(
            disk <= 1 << 20,
            "the file stays within its cap: {disk} bytes"
        );
        let head = s.hub.head();
        s.stop().await;

        // Everything acknowledged is there after a restart: the last value and the numbering.
        let s = server(|c| durable(c, &data)).await;
        assert_eq!(s.hub.head(), head);
        let mut panel = common::connect(format!("ws://{}/v1/panel", s.addr)).await;
        use futures_util::SinkExt;
        panel
            .send(tokio_tungstenite::tungstenite::Message::Text(
                r#"{"type":"subscribe"}"#.into(),
            ))
            .await
            .expect("subscribes");
        let _hello = common::recv_text(&mut panel).await;
        let snapshot = common::recv_text(&mut panel).await;
        let want = format!("{:06}-", last_acked.expect("acknowledged"));
        assert!(
            snapshot.contains(&want),
            "the last acknowledged value {want}"
        );
        println!(
            "1 MiB store, 3 MB of history: {} refusals, each resent until acknowledged; file at \
             {disk} bytes; after a restart head {head} and the last value are there",
            refusals.len()
        );
        s.stop().await;
        let _ = std::fs::remove_dir_all(&data);
    })
    .await;
}

/// Text spans' texts as the events build them: a span's content, then its appends in order.
#[derive(Default)]
struct Texts(std::collections::BTreeMap<String, String>);

impl Texts {
    fn apply(&mut self, events: Vec<user_trace_protocol::message::EventResult>) {
        for e in events.into_iter().flatten() {
            match e.op {
                Op::SpanCreate {
                    span,
                    content: Content::Text(t),
                    ..
                } => {
                    self.0.insert(span, t);
                }
                Op::TextAppend { span, text } => self.0.entry(span).or_default().push_str(&text),
                _ => {}
            }
        }
    }

    /// What a panel shows after reading frames until it holds `head`.
    async fn read_until(&mut self, panel: &mut common::Ws, head: u64) {
        use user_trace_protocol::{decode_server, ServerMessage};
        let mut at = 0;
        while at < head {
            let text = common::recv_text(panel).await;
            match decode_server(&text) {
                Ok(ServerMessage::Snapshot { seq, events }) => {
                    self.0.clear();
                    self.apply(events);
                    at = seq;
                }
                Ok(ServerMessage::Events { first_seq, events }) => {
                    assert_eq!(first_seq, at + 1, "events in order, none missing");
                    at += events.len() as u64;
                    self.apply(events);
                }
                Ok(_) => {}
                Err(e) => panic!("a frame that does not decode: {e}: {text}"),
            }
        }
    }
}

async fn subscribed_panel(addr: SocketAddr) -> common::Ws {
    use futures_util::SinkExt;
    let mut panel = common::connect(format!("ws://{addr}/v1/panel")).await;
    panel
        .send(tokio_tungstenite::tungstenite::Message::Text(
            r#"{"type":"subscribe"}"#.into(),
        ))
        .await
        .expect("subscribes");
    panel
}

/// Several producers at once into a full store: the store's writer commits their batches
/// together, and a failed write drops every batch applied after the last commit, whoever sent
/// it. Each producer streams numbered pieces into its own text span (and fills the history
/// with 2 KB status events), resending refused batches as the SDK does. A panel watching
/// live and a panel after a restart must both show every piece exactly once, in order: a
/// piece shown before it was committed and then dropped and sent again would show twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_producers_on_a_full_store_lose_nothing_and_panels_see_nothing_uncommitted() {
    common::within(180, async {
        let data = data_dir("full-concurrent");
        let s = server(|c| {
            durable(c, &data);
            c.max_disk_mib = 1;
            // Commits that wait for the disk: more is applied and not yet committed at once.
            c.sync = user_trace_runtime::storage::sqlite::SyncMode::Full;
            c.batch_ms = 0;
        })
        .await;
        let addr = s.addr;
        let mut live = subscribed_panel(addr).await;
        const PRODUCERS: usize = 4;
        const BATCHES: usize = 120;
        let mut tasks = Vec::new();
        for n in 0..PRODUCERS {
            tasks.push(tokio::spawn(async move {
                let mut p = Producer::connect(addr, &format!("p{n}")).await;
                let mut start = items_span(&mut p);
                for e in &mut start {
                    // Each producer its own trace and spans.
                    e.op = match std::mem::replace(&mut e.op, Op::Clear) {
                        Op::TraceStart { name, parent_span, .. } => Op::TraceStart {
                            trace: format!("t{n}"),
                            name,
                            parent_span,
                            source: None,
                        },
                        Op::SpanCreate { kind, title, content, .. } => Op::SpanCreate {
                            span: format!("s{n}"),
                            trace: format!("t{n}"),
                            kind,
                            title,
                            content,
                            source: None,
                        },
                        other => other,
                    };
                }
                start.push(p.event(Op::SpanCreate {
                    span: format!("text{n}"),
                    trace: format!("t{n}"),
                    kind: SpanKind::Text,
                    title: None,
                    content: Content::Text(String::new()),
                    source: None,
                }));
                assert!(matches!(p.send(start).await, ProducerReply::Ack { .. }));
                let mut refusals = 0;
                for b in 0..BATCHES {
                    let mut batch = vec![p.event(Op::TextAppend {
                        span: format!("text{n}"),
                        text: format!("{b},"),
                    })];
                    for i in 0..4 {
                        let mut e = status(&mut p, b * 4 + i);
                        if let Op::ItemsSet { span, .. } = &mut e.op {
                            *span = format!("s{n}");
                        }
                        batch.push(e);
                    }
                    let give_up = Instant::now() + Duration::from_secs(60);
                    loop {
                        match p.send(batch.clone()).await {
                            ProducerReply::Ack { accepted, rejected } => {
                                assert_eq!((accepted, rejected.len()), (5, 0), "{rejected:?}");
                                break;
                            }
                            ProducerReply::Error { .. } => refusals += 1,
                            other => panic!("{other:?}"),
                        }
                        assert!(Instant::now() < give_up, "the store never made room");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                refusals
            }));
        }
        let mut refusals = 0;
        for t in tasks {
            refusals += t.await.expect("a producer finishes");
        }
        assert!(refusals > 0, "the 1 MiB store filled up at least once");
        let want: Vec<String> = (0..PRODUCERS)
            .map(|_| (0..BATCHES).map(|b| format!("{b},")).collect())
            .collect();
        let check = |texts: &Texts, who: &str| {
            for (n, want) in want.iter().enumerate() {
                let got = texts.0.get(&format!("text{n}")).map(String::as_str);
                assert_eq!(got, Some(want.as_str()), "{who}: producer {n}'s text");
            }
        };
        let head = s.hub.head();
        let mut texts = Texts::default();
        texts.read_until(&mut live, head).await;
        check(&texts, "the live panel");
        s.stop().await;

        let s = server(|c| durable(c, &data)).await;
        assert_eq!(s.hub.head(), head, "the numbering after a restart");
        let mut after = subscribed_panel(s.addr).await;
        let mut texts = Texts::default();
        texts.read_until(&mut after, head).await;
        check(&texts, "a panel after a restart");
        println!("{PRODUCERS} producers into a 1 MiB store: {refusals} refusals, all resent; every piece once");
        s.stop().await;
        let _ = std::fs::remove_dir_all(&data);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_gives_the_space_back_and_a_restart_reads_only_the_state() {
    common::within(120, async {
        let data = data_dir("clear");
        let s = server(|c| durable(c, &data)).await;
        let mut p = Producer::connect(s.addr, "p").await;
        let mut events = items_span(&mut p);
        events.push(p.event(Op::SpanCreate {
            span: "log".into(),
            trace: "t".into(),
            kind: SpanKind::Text,
            title: None,
            content: Content::Text(String::new()),
            source: None,
        }));
        assert!(matches!(p.send(events).await, ProducerReply::Ack { .. }));
        for _ in 0..10 {
            let batch = (0..10)
                .map(|_| {
                    p.event(Op::TextAppend {
                        span: "log".into(),
                        text: "y".repeat(100_000),
                    })
                })
                .collect();
            assert!(matches!(p.send(batch).await, ProducerReply::Ack { .. }));
        }
        let db = data.join("events.db");
        let size = || {
            let wal = data.join("events.db-wal");
            std::fs::metadata(&db).map_or(0, |m| m.len())
                + std::fs::metadata(&wal).map_or(0, |m| m.len())
        };
        let before = size();
        assert!(before > 10_000_000, "10 MB of history on disk: {before}");
        let clear = p.event(Op::Clear);
        assert!(matches!(
            p.send(vec![clear]).await,
            ProducerReply::Ack { .. }
        ));
        wait_for("the space to come back", || size() < 1_000_000).await;
        let head = s.hub.head();
        s.stop().await;
        let s = server(|c| durable(c, &data)).await;
        assert_eq!(s.hub.head(), head, "numbering goes on after a clear");
        assert_eq!(s.hub.state_bytes(), 0, "the state after a clear is empty");
        println!("clear: {before} bytes on disk before, {} after", size());
        s.stop().await;
        let _ = std::fs::remove_dir_all(&data);
    })
    .await;
}

/// A raw GET with the given Host header (or none): status and body.
async fn get(addr: SocketAddr, path: &str, host: Option<&str>) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let host = host.map_or(String::new(), |h| format!("Host: {h}\r\n"));
    let req = format!("GET {path} HTTP/1.1\r\n{host}Connection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.expect("sent");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out))
        .await
        .expect("an answer within 10 s")
        .expect("read");
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_server_answers_only_to_loopback_host_names() {
    common::within(120, async {
        let s = server(|_| {}).await;
        let port = s.addr.port();
        for host in [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("LOCALHOST:{port}"),
            format!("[::1]:{port}"),
            "127.0.0.2".into(),
            "localhost".into(),
        ] {
            let (status, body) = get(s.addr, "/health", Some(&host)).await;
            assert_eq!(status, 200, "{host}: {body}");
        }
        // DNS rebinding: a page's own name, resolved to 127.0.0.1, and near misses.
        for host in [
            format!("evil.example:{port}"),
            format!("localhost.evil.example:{port}"),
            format!("127.0.0.1.nip.io:{port}"),
            format!("localhost-:{port}"),
            "127.0.0.1x".into(),
            format!("[::2]:{port}"),
        ] {
            let (status, body) = get(s.addr, "/health", Some(&host)).await;
            assert_eq!(status, 421, "{host}: {body}");
            assert!(body.contains("--allow-host"), "{body}");
            // And the WebSocket paths too.
            let (status, _) = get(s.addr, "/v1/panel", Some(&host)).await;
            assert_eq!(status, 421, "{host}");
        }
        s.stop().await;

        // A name the operator allows.
        let s = server(|c| c.allow_hosts = vec!["traces.internal".into()]).await;
        let (status, _) = get(s.addr, "/health", Some("traces.internal:4700")).await;
        assert_eq!(status, 200);
        let (status, _) = get(s.addr, "/health", Some("traces.internal.evil:4700")).await;
        assert_eq!(status, 421);
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_tells_the_session_only_to_a_token() {
    common::within(120, async {
        let s = server(|c| c.token = Some("sesame".into())).await;
        let (status, body) = get(s.addr, "/health", Some("localhost")).await;
        assert_eq!(status, 200);
        assert_eq!(body.trim(), "ok", "no session without the token");
        let (_, body) = get(s.addr, "/health?token=sesam", Some("localhost")).await;
        assert_eq!(body.trim(), "ok", "a token one character short");
        let (_, body) = get(s.addr, "/health?token=sesame", Some("localhost")).await;
        assert!(
            body.contains(&format!("session={}", s.hub.session)),
            "{body}"
        );
        s.stop().await;
        // An open server (no token) tells it.
        let s = server(|_| {}).await;
        let (_, body) = get(s.addr, "/health", Some("localhost")).await;
        assert!(body.contains("session="), "{body}");
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_are_closed_and_never_keep_producers_out() {
    common::within(120, async {
        let s = server(|c| {
            c.max_connections = 20;
            c.handshake_timeout_secs = 1;
        })
        .await;
        let addr = s.addr;
        // More silent sockets than there are connection slots.
        let mut idle = Vec::new();
        for _ in 0..30 {
            idle.push(
                tokio::net::TcpStream::connect(addr)
                    .await
                    .expect("connects"),
            );
        }
        // A producer gets in (retrying as the SDK does) once the silent ones time out.
        let give_up = Instant::now() + Duration::from_secs(15);
        let mut tries = 0;
        let mut p = loop {
            tries += 1;
            let url = format!("ws://{addr}/v1/ingest");
            if let Ok(Ok((ws, _))) = tokio::time::timeout(
                Duration::from_secs(5),
                tokio_tungstenite::connect_async(url),
            )
            .await
            {
                break ws;
            }
            assert!(Instant::now() < give_up, "a producer never got in");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        drop(p.close(None).await);
        // Every silent socket was closed by the server.
        for mut sock in idle {
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf))
                .await
                .expect("closed within 10 s");
            assert!(matches!(n, Ok(0) | Err(_)), "closed, not answered");
        }
        // Upgraded connections leave their slot: more producers than connection slots.
        let mut producers = Vec::new();
        for i in 0..25 {
            producers.push(Producer::connect(addr, &format!("p{i}")).await);
        }
        println!("30 silent sockets, 20 slots: a producer got in after {tries} tries; 25 producers connected at once");
        s.stop().await;
    })
    .await;
}
