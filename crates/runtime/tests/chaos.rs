//! Reliability (issue 7): chaos, hostile input, limits and access, against the real server on
//! loopback, with the SDK as producer and real WebSocket panel clients. No mocks.
//!
//! - The chaos run streams `CHAOS_EVENTS` events (default 100,000) from three tracers into one
//!   shared trace and their own, while a panel's connection is cut at random (seeded by
//!   `CHAOS_SEED`) over 240 times (at least 200 asserted) and the server is restarted on its SQLite store 3 times.
//!   Its final tree must equal the store's and a fresh panel's, with no event lost and none
//!   applied twice.
//! - Hostile input (deep nesting, 50 MB strings, a million keys, invalid UTF-8, colliding ids)
//!   must be kept or refused with a clear reason, and the next valid event must go through.
//!
//! Each test prints its figures; `cargo test -p user-trace-runtime --test chaos -- --nocapture`
//! shows them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use user_trace_model::{json, Model, Outcome};
use user_trace_protocol::{
    decode_event, decode_server, Content, Event, Op, PanelMessage, ProducerMessage, ProducerReply,
    RawJson, ServerMessage, SpanKind, Status,
};
use user_trace_runtime::{Config, Running};
use user_trace_sdk::{SpanHandle, TraceHandle, Tracer, TracerOptions};

mod common;

use common::{
    config, connect, connect_from, data_dir, durable, next_text, server, stored_events,
    Producer as RawProducer, Ws,
};

const SEQ: Ordering = Ordering::SeqCst;

/// A seeded xorshift64* generator: the chaos is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Waits for `cond`, polling; panics (naming `what`) if it never holds: a hang guard, not a
/// timing assertion.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < give_up, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The chaos run
// ---------------------------------------------------------------------------------------------

/// What the chaos panel saw.
#[derive(Debug, Default)]
struct PanelStats {
    /// Connections that got the server's hello.
    connections: u64,
    /// Connections the test cut on purpose.
    cuts: u64,
    /// Connections the server closed (its restarts).
    closed_by_server: u64,
    /// Connection attempts refused (the server was down).
    refused: u64,
    frames: u64,
    /// Events received in `events` frames.
    events: u64,
    snapshots: u64,
    /// Snapshots that replaced a model already holding events (a resume from too far behind).
    resyncs: u64,
    /// Events received whose sequence number the panel already held (outside snapshots).
    repeated: u64,
    /// Events the model dropped as duplicates.
    duplicates: u64,
    gaps: u64,
    rejected: u64,
}

/// How the test steers the chaos panel.
struct Control {
    addr: SocketAddr,
    /// Cuts so far (the producers' phases wait for enough of them).
    cuts: AtomicU64,
    /// Asks the panel to stay disconnected (so that it falls out of the retained window).
    hold: AtomicBool,
    holding: AtomicBool,
    /// The server's head after the last phase was acknowledged.
    accepted: AtomicU64,
    /// 0 while the chaos goes on; then the sequence number to catch up to, uncut.
    target: AtomicU64,
}

#[derive(Clone, Copy, PartialEq)]
enum Plan {
    /// Cut right after the hello, before subscribing.
    BeforeSubscribe,
    /// Cut right after subscribing, before reading anything.
    AfterSubscribe,
    /// Read up to `frames` frames for up to `ms` milliseconds, then cut, with a close frame or
    /// by dropping the TCP connection.
    Read { frames: u64, ms: u64, close: bool },
    /// Catch up to the target without cuts.
    Stay,
}

/// Applies one server frame; true when it was a gap (the panel must resume).
fn apply_frame(model: &mut Model, text: &str, st: &mut PanelStats) -> bool {
    let mut out = Outcome::default();
    match decode_server(text).expect("the server sends valid frames") {
        ServerMessage::Events { first_seq, events } => {
            st.frames += 1;
            if let Some(last) = model.last_seq() {
                if first_seq <= last {
                    st.repeated += (last - first_seq + 1).min(events.len() as u64);
                }
            }
            st.events += events.len() as u64;
            model.apply_batch(first_seq, events, &mut out);
        }
        ServerMessage::Snapshot { seq, events } => {
            st.snapshots += 1;
            if model.last_seq().is_some() {
                st.resyncs += 1;
            }
            model.apply_snapshot(seq, events, &mut out);
        }
        ServerMessage::SnapshotPart {
            seq,
            part,
            last,
            events,
        } => {
            if part == 0 {
                st.snapshots += 1;
                if model.last_seq().is_some() {
                    st.resyncs += 1;
                }
            }
            // The server sends a snapshot's parts in order, with nothing between them.
            let applied = model.apply_snapshot_part(seq, part, last, events, &mut out);
            assert_eq!(applied, Ok(()), "parts in order");
        }
        ServerMessage::Error { message } => panic!("the server reported an error: {message}"),
        ServerMessage::Hello(_) => panic!("a second hello"),
    }
    st.duplicates += out.duplicates;
    st.rejected += out.rejected.len() as u64;
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    if out.gap.is_some() {
        st.gaps += 1;
        return true;
    }
    false
}

async fn cut(ctl: &Control, st: &mut PanelStats, mut ws: Ws, close: bool) {
    if close {
        let _ = ws.close(None).await;
    }
    drop(ws);
    st.cuts += 1;
    ctl.cuts.fetch_add(1, SEQ);
}

/// A panel as the real one behaves (hello, subscribe with its session and last sequence
/// number, apply batches, resume on a gap, replace its model on a snapshot), whose connection
/// the test cuts at random.
async fn chaos_panel(ctl: Arc<Control>, seed: u64) -> (Model, PanelStats) {
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    let mut session: Option<String> = None;
    let mut st = PanelStats::default();
    let url = format!("ws://{}/v1/panel", ctl.addr);
    loop {
        let target = ctl.target.load(SEQ);
        if target > 0 && model.last_seq() >= Some(target) {
            return (model, st);
        }
        if ctl.hold.load(SEQ) {
            ctl.holding.store(true, SEQ);
            while ctl.hold.load(SEQ) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            ctl.holding.store(false, SEQ);
        }
        let mut ws = match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((ws, _)) => ws,
            Err(_) => {
                st.refused += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let Some(hello) = next_text(&mut ws).await else {
            st.closed_by_server += 1;
            continue;
        };
        let ServerMessage::Hello(h) = decode_server(&hello).unwrap() else {
            panic!("expected a hello: {hello}")
        };
        if let Some(s) = &session {
            assert_eq!(
                *s, h.session,
                "a restart on the durable store keeps the session"
            );
        }
        session = Some(h.session);
        st.connections += 1;
        let plan = if target > 0 {
            Plan::Stay
        } else {
            match rng.below(10) {
                0 => Plan::BeforeSubscribe,
                1 => Plan::AfterSubscribe,
                _ => Plan::Read {
                    frames: 1 + rng.below(3),
                    ms: 5 + rng.below(45),
                    close: rng.below(2) == 0,
                },
            }
        };
        if plan == Plan::BeforeSubscribe {
            cut(&ctl, &mut st, ws, false).await;
            continue;
        }
        let sub = PanelMessage::Subscribe {
            session: session.clone(),
            last_seq: model.last_seq(),
            binary: false,
            // Half the panels take snapshots in parts, and are cut in the middle of some.
            parts: seed % 2 == 1,
        };
        let sub = serde_json::to_string(&sub).unwrap();
        if ws.send(Message::Text(sub.into())).await.is_err() {
            st.closed_by_server += 1;
            continue;
        }
        if plan == Plan::AfterSubscribe {
            cut(&ctl, &mut st, ws, false).await;
            continue;
        }
        let (max_frames, ms, close) = match plan {
            Plan::Read { frames, ms, close } => (frames, ms, close),
            _ => (u64::MAX, 0, false),
        };
        // With events pending for it, the panel waits for the first frame however long the
        // server takes (a snapshot takes a while), then the clock starts; idle, it is cut
        // after `ms`.
        let pending = model.last_seq().unwrap_or(0) < ctl.accepted.load(SEQ);
        let mut deadline = (!pending).then(|| Instant::now() + Duration::from_millis(ms));
        let mut got = 0;
        loop {
            if plan == Plan::Stay && model.last_seq() >= Some(target) {
                break;
            }
            if plan != Plan::Stay
                && (got >= max_frames || deadline.is_some_and(|d| Instant::now() >= d))
            {
                cut(&ctl, &mut st, ws, close).await;
                break;
            }
            let wait = match deadline {
                Some(d) if plan != Plan::Stay => d.saturating_duration_since(Instant::now()),
                _ => Duration::from_secs(20),
            };
            match tokio::time::timeout(wait, ws.next()).await {
                Err(_) => assert!(
                    plan != Plan::Stay && deadline.is_some(),
                    "nothing within 20 s although events are pending"
                ),
                Ok(Some(Ok(Message::Text(t)))) => {
                    got += 1;
                    deadline.get_or_insert(Instant::now() + Duration::from_millis(ms));
                    if apply_frame(&mut model, t.as_str(), &mut st) {
                        break; // a gap: resume from what it holds
                    }
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    st.closed_by_server += 1;
                    break;
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

/// One producer of the chaos run: a tracer with its own process name, writing into the shared
/// trace (a text span it streams into) and its own (JSON spans and an items span). It keeps
/// what the panel must end up showing.
struct ChaosProducer {
    p: usize,
    tracer: Tracer,
    shared: TraceHandle,
    own: TraceHandle,
    log: SpanHandle,
    items: SpanHandle,
    /// Events of the body (between the 4 setup events and the ending ones).
    body: u64,
    next: u64,
    text: String,
    item_names: Vec<String>,
    json_spans: Vec<(String, String)>,
}

const SETUP_EVENTS: u64 = 4;

impl ChaosProducer {
    async fn start(url: &str, p: usize, events: u64) -> Self {
        let options = TracerOptions {
            process: Some(format!("chaos-{p}")),
            batch_events: 2000,
            batch_time: Duration::from_millis(2),
            max_backoff: Duration::from_millis(50),
            ..TracerOptions::default()
        };
        let tracer = Tracer::connect_with(url, options).await.expect("connects");
        let shared = tracer.join_trace("chaos-shared", "shared run");
        let own = tracer.trace(&format!("producer {p}"));
        let log = shared.text(&format!("log of {p}"), "");
        let items = own.items::<String, u64>("counters", []);
        let ending = if p == 0 { 4 } else { 3 };
        ChaosProducer {
            p,
            tracer,
            shared,
            own,
            log,
            items,
            body: events - SETUP_EVENTS - ending,
            next: 0,
            text: String::new(),
            item_names: Vec::new(),
            json_spans: Vec::new(),
        }
    }

    /// Makes the events of `phase` (of `phases`): mostly text appends, every tenth a JSON span,
    /// every tenth an items_add.
    fn emit(&mut self, phase: u64, phases: u64) {
        let end = self.body * (phase + 1) / phases;
        while self.next < end {
            let i = self.next;
            match i % 10 {
                0 => {
                    let title = format!("step {i}");
                    let value = serde_json::json!({"p": self.p, "i": i, "v": [i, i * 2], "s": "x"});
                    self.own.json(&title, &value);
                    self.json_spans
                        .push((title, serde_json::to_string(&value).unwrap()));
                }
                5 => {
                    let name = format!("n{i}");
                    self.items.add_items([(name.clone(), i)]);
                    self.item_names.push(name);
                }
                _ => {
                    let t = format!("{i},");
                    self.log.append(&t);
                    self.text.push_str(&t);
                }
            }
            self.next += 1;
        }
    }

    fn finish(&self) {
        self.log.end();
        self.items.end();
        self.own.end();
        if self.p == 0 {
            self.shared.end();
        }
    }

    /// Checks that everything this producer made is in `m`, once.
    fn check(&self, m: &Model) -> (usize, usize, usize) {
        let log = m
            .span(m.span_by_key(self.log.id()).expect("log span"))
            .unwrap();
        assert_eq!(
            log.text(),
            Some(self.text.as_str()),
            "producer {}: every append exactly once, in order",
            self.p
        );
        let items = m.span(m.span_by_key(self.items.id()).unwrap()).unwrap();
        let Content::Items(list) = &items.content else {
            panic!("{:?}", items.content)
        };
        let names: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names, self.item_names,
            "producer {}: every item once",
            self.p
        );
        let own = m.trace(m.trace_by_key(self.own.id()).unwrap()).unwrap();
        let mut got: Vec<(String, String)> = own
            .spans
            .iter()
            .filter_map(|&s| m.span(s))
            .filter(|s| s.kind == SpanKind::Json)
            .map(|s| {
                let Content::Json(j) = &s.content else {
                    panic!()
                };
                (s.title.clone().unwrap_or_default(), j.get().to_owned())
            })
            .collect();
        let mut want = self.json_spans.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "producer {}: every JSON span once", self.p);
        assert!(!log.status.is_running() && !own.status.is_running());
        (
            self.text.matches(',').count(),
            self.item_names.len(),
            self.json_spans.len(),
        )
    }
}

/// Stops a server (which finishes a chunk in progress and closes its store) and starts it
/// again on the same address with the same store.
async fn restart(s: Running, c: Config) -> Running {
    s.stop().await;
    user_trace_runtime::start(c).await.expect("restarts")
}

/// The reference: every event the server accepted, from its store, applied in its order.
fn store_model(dir: &std::path::Path) -> (Model, u64) {
    let mut events = Vec::new();
    for (n, (seq, json)) in stored_events(dir).into_iter().enumerate() {
        assert_eq!(
            seq,
            n as u64 + 1,
            "the store numbers every event once, in order"
        );
        events.push(decode_event(n, &json));
    }
    let n = events.len() as u64;
    let mut m = Model::default();
    let mut out = Outcome::default();
    m.apply_batch(1, events, &mut out);
    assert!(out.rejected.is_empty() && out.duplicates == 0);
    (m, n)
}

/// A fresh panel over a real connection: subscribes without a session and gets everything.
async fn fresh_panel_model(addr: SocketAddr) -> Model {
    let mut ws = connect(format!("ws://{addr}/v1/panel")).await;
    next_text(&mut ws).await.expect("hello");
    let sub = serde_json::to_string(&PanelMessage::Subscribe {
        session: None,
        last_seq: None,
        binary: false,
        parts: false,
    })
    .unwrap();
    ws.send(Message::Text(sub.into())).await.unwrap();
    let frame = next_text(&mut ws).await.expect("a snapshot");
    let ServerMessage::Snapshot { seq, events } = decode_server(&frame).unwrap() else {
        panic!("a first subscription gets a snapshot")
    };
    let mut m = Model::default();
    let mut out = Outcome::default();
    m.apply_snapshot(seq, events, &mut out);
    assert!(out.rejected.is_empty());
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_cut_panels_and_restarts_lose_nothing_and_show_nothing_twice() {
    common::within(300, async {
    const PHASES: u64 = 50;
    const CUTS_PER_PHASE: u64 = 6;
    const RESTART_AFTER: [u64; 3] = [12, 25, 37];
    /// Phases (first, last) the panel is held away for: 3 phases, more than the window.
    const HOLDS: [(u64, u64); 3] = [(6, 8), (20, 22), (42, 44)];
    let total = env_u64("CHAOS_EVENTS", 100_000).max(3 * PHASES * 20);
    let seed = env_u64("CHAOS_SEED", 0x00C0_FFEE);
    let started = Instant::now();
    // Two phases' events: a panel cut at random resumes from the window; one held away for
    // three phases falls out of it.
    let retain = (2 * total / PHASES) as usize;

    let data = data_dir("chaos");
    let make_config = |listen: &str| {
        let mut c = config(listen);
        durable(&mut c, &data);
        c.retain_events = retain;
        c
    };
    let mut s = user_trace_runtime::start(make_config("127.0.0.1:0"))
        .await
        .unwrap();
    let addr = s.addr;
    let ctl = Arc::new(Control {
        addr,
        cuts: AtomicU64::new(0),
        hold: AtomicBool::new(false),
        holding: AtomicBool::new(false),
        accepted: AtomicU64::new(0),
        target: AtomicU64::new(0),
    });
    let panel = tokio::spawn(chaos_panel(ctl.clone(), seed));

    let url = format!("ws://{addr}/v1/ingest");
    let mut producers = Vec::new();
    for p in 0..3u64 {
        let share = total / 3 + u64::from(p < total % 3);
        producers.push(ChaosProducer::start(&url, p as usize, share).await);
    }
    let mut restarts = 0;
    let mut want_cuts = 0;
    for phase in 0..PHASES {
        let held = HOLDS.iter().any(|&(a, b)| (a..=b).contains(&phase));
        if HOLDS.iter().any(|&(a, _)| a == phase) {
            // The panel stays away while more than the retained window streams by: it must
            // come back through a snapshot.
            ctl.hold.store(true, SEQ);
            wait_for("the panel to stay away", || ctl.holding.load(SEQ)).await;
        }
        for prod in &mut producers {
            prod.emit(phase, PHASES);
        }
        if phase == PHASES - 1 {
            for prod in &producers {
                prod.finish();
            }
        }
        if RESTART_AFTER.contains(&phase) {
            // Mid-stream: the tracers have unacknowledged batches in flight.
            s = restart(s, make_config(&addr.to_string())).await;
            restarts += 1;
        }
        for prod in &producers {
            tokio::time::timeout(Duration::from_secs(60), prod.tracer.flush())
                .await
                .expect("the tracer's events are acknowledged");
        }
        ctl.accepted.store(s.hub.head(), SEQ);
        if HOLDS.iter().any(|&(_, b)| b == phase) {
            ctl.hold.store(false, SEQ);
        }
        if !held {
            // Cuts while the stream goes on: the next phase waits for them.
            want_cuts += CUTS_PER_PHASE;
            wait_for("cuts", || ctl.cuts.load(SEQ) >= want_cuts).await;
        }
    }
    let streamed = started.elapsed();
    let head = s.hub.head();
    ctl.target.store(head, SEQ);
    let (model, st) = tokio::time::timeout(Duration::from_secs(60), panel)
        .await
        .expect("the panel catches up")
        .expect("the panel task did not panic");

    // Nothing lost: every event made was accepted once and numbered once.
    let made: u64 = producers.iter().map(|p| p.tracer.stats().made).sum();
    assert_eq!(made, total);
    for p in &producers {
        let stats = p.tracer.stats();
        assert_eq!(stats.refused, 0, "{stats:?}");
        assert_eq!(stats.acked, stats.made, "{stats:?}");
    }
    assert_eq!(head, total, "every event numbered exactly once");
    let mut appends = 0;
    let mut items = 0;
    let mut jsons = 0;
    for p in &producers {
        let (a, i, j) = p.check(&model);
        appends += a;
        items += i;
        jsons += j;
    }
    let shared = model
        .trace(model.trace_by_key("chaos-shared").unwrap())
        .unwrap();
    assert_eq!(shared.spans.len(), 3);
    assert_eq!(shared.processes.len(), 3, "{:?}", shared.processes);
    // Nothing twice: the server sent exactly the missed events on every resume.
    assert_eq!(st.repeated, 0, "{st:?}");
    assert_eq!(st.duplicates, 0, "{st:?}");
    assert_eq!(st.gaps, 0, "{st:?}");
    assert!(st.cuts >= 200, "{st:?}");
    assert!(
        st.resyncs >= HOLDS.len() as u64,
        "a panel behind the window resyncs from a snapshot: {st:?}"
    );
    assert!(st.closed_by_server >= 1 || st.refused >= 1, "{st:?}");
    assert_eq!(model.last_seq(), Some(total));

    // The same tree as the reference: what the server accepted, in its order (its store),
    // and what a fresh panel gets.
    let (reference, stored) = store_model(&data);
    assert_eq!(stored, total);
    let dump = model.dump();
    assert_eq!(
        dump,
        reference.dump(),
        "the cut panel shows what was accepted"
    );
    let fresh = fresh_panel_model(addr).await;
    assert_eq!(
        dump,
        fresh.dump(),
        "the cut panel shows what a fresh one does"
    );

    println!(
        "chaos: seed {seed:#x}, {total} events ({appends} appends, {items} items, {jsons} JSON \
         spans) from 3 tracers; {restarts} restarts on the store; panel: {} cuts, {} \
         connections, {} closed by the server, {} refused while down, {} frames, {} events \
         received, {} snapshots ({} resyncs), repeated {}, duplicates {}, gaps {}; lost 0; streamed in \
         {:.1} s, total {:.1} s",
        st.cuts,
        st.connections,
        st.closed_by_server,
        st.refused,
        st.frames,
        st.events,
        st.snapshots,
        st.resyncs,
        st.repeated,
        st.duplicates,
        st.gaps,
        streamed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    s.stop().await;
    let _ = std::fs::remove_dir_all(&data);
    })
    .await;
}

/// A raw producer: a WebSocket speaking the producer protocol, for input the SDK never sends.
fn acked(reply: &ProducerReply) -> (u64, Vec<String>) {
    match reply {
        ProducerReply::Ack { accepted, rejected } => (
            *accepted,
            rejected.iter().map(|r| r.reason.clone()).collect(),
        ),
        other => panic!("expected an ack, got {other:?}"),
    }
}

fn stored_seqs(dir: &std::path::Path) -> Vec<u64> {
    stored_events(dir).into_iter().map(|(seq, _)| seq).collect()
}

/// A restart within one process while a large batch is being stored: the batch is taken in
/// chunks, each committed before the next; the stopped server writes nothing once `stop()`
/// returned, the producer is told which part was not accepted (all of it, or none: it resends
/// the batch) and the resent batch's stored part is dropped as duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_a_batch_keeps_the_store_consistent() {
    common::within(300, async {
        let data = data_dir("chaos-mid");
        let s = server(|c| durable(c, &data)).await;
        let addr = s.addr;
        let mut prod = RawProducer::connect(addr, "p").await;
        let mut events = vec![
            trace_event(&mut prod, "t"),
            span_event(
                &mut prod,
                "t",
                "s",
                SpanKind::Text,
                Content::Text(String::new()),
            ),
        ];
        for i in 0..30_000 {
            events.push(append_event(&mut prod, "s", &format!("{i},")));
        }
        let text = ProducerMessage::Events {
            events: events.clone(),
        }
        .to_json();
        prod.ws.send(Message::Text(text.into())).await.unwrap();
        // Stop while the server is storing the batch (polled from this thread, which runs no
        // server task).
        let give_up = Instant::now() + Duration::from_secs(60);
        while s.hub.head() == 0 {
            assert!(
                Instant::now() < give_up,
                "the batch never reached the store"
            );
            std::thread::sleep(Duration::from_micros(100));
        }
        let at_stop = s.hub.head();
        let old = s.hub.clone();
        s.stop().await;
        let reply = tokio::time::timeout(Duration::from_secs(10), prod.ws.next())
            .await
            .expect("the stopped server answers or closes");
        let acked_whole = matches!(
            reply.as_ref().map(|m| m
                .as_ref()
                .map(|m| m.to_text().unwrap_or("").contains("\"ack\""))),
            Some(Ok(true))
        );
        let s = server(|c| {
            durable(c, &data);
            c.listen = addr;
        })
        .await;
        let head = s.hub.head();
        // Let every task of the old server end before reading the store.
        wait_for("the old server's tasks to end", || {
            Arc::strong_count(&old) == 1
        })
        .await;
        drop(old);
        assert_eq!(
            stored_seqs(&data),
            (1..=head).collect::<Vec<_>>(),
            "the store holds exactly what the restarted server read back"
        );
        assert!(head >= at_stop, "what was committed before the stop stays");
        // The producer resends what was not acknowledged: the stored part is dropped as
        // duplicates, the rest follows it, nothing twice.
        let mut again = RawProducer::connect(addr, "q").await;
        if !acked_whole {
            assert_eq!(acked(&again.send(events).await), (30_002, vec![]));
        }
        assert_eq!(s.hub.head(), 30_002, "every event once");
        let e = again.event(Op::TraceEnd {
            trace: "t".into(),
            status: Status::Ok,
        });
        assert_eq!(acked(&again.send(vec![e]).await), (1, vec![]));
        assert_eq!(stored_seqs(&data), (1..=30_003).collect::<Vec<_>>());
        println!(
            "restart during a batch: {at_stop} events stored when stop() was called, {head} after \
         the restart; acknowledged whole: {acked_whole}; consistent after the resend"
        );
        s.stop().await;
        let _ = std::fs::remove_dir_all(&data);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------------

/// A panel that follows from the start and applies everything, asserting that nothing it
/// receives is refused, repeated or skipped.
struct Follower {
    ws: Ws,
    model: Model,
}

impl Follower {
    async fn connect(addr: SocketAddr) -> Follower {
        let mut ws = connect(format!("ws://{addr}/v1/panel")).await;
        next_text(&mut ws).await.expect("hello");
        let sub = serde_json::to_string(&PanelMessage::Subscribe {
            session: None,
            last_seq: None,
            binary: false,
            parts: false,
        })
        .unwrap();
        ws.send(Message::Text(sub.into())).await.unwrap();
        let mut f = Follower {
            ws,
            model: Model::default(),
        };
        f.until(0).await;
        f
    }

    async fn until(&mut self, seq: u64) {
        let mut st = PanelStats::default();
        while self.model.last_seq().is_none_or(|l| l < seq) {
            let text = next_text(&mut self.ws)
                .await
                .expect("the panel stays connected");
            assert!(!apply_frame(&mut self.model, &text, &mut st), "a gap");
        }
        assert_eq!((st.repeated, st.duplicates, st.rejected), (0, 0, 0));
    }
}

fn span_event(p: &mut RawProducer, trace: &str, span: &str, kind: SpanKind, c: Content) -> Event {
    p.event(Op::SpanCreate {
        trace: trace.into(),
        span: span.into(),
        kind,
        title: None,
        content: c,
        source: None,
    })
}

fn trace_event(p: &mut RawProducer, trace: &str) -> Event {
    p.event(Op::TraceStart {
        trace: trace.into(),
        name: trace.into(),
        parent_span: None,
        source: None,
    })
}

fn append_event(p: &mut RawProducer, span: &str, text: &str) -> Event {
    p.event(Op::TextAppend {
        span: span.into(),
        text: text.into(),
    })
}

fn end_event(p: &mut RawProducer, trace: &str) -> Event {
    p.event(Op::TraceEnd {
        trace: trace.into(),
        status: Status::Ok,
    })
}

fn to_json(e: &Event) -> String {
    serde_json::to_string(e).unwrap()
}

fn events_message(events: &[String]) -> String {
    format!(r#"{{"type":"events","events":[{}]}}"#, events.join(","))
}

/// Levels of nesting the lazy reader walks down from `raw`, one member at a time.
fn walk_depth(mut raw: &str) -> usize {
    let mut levels = 0;
    while let Some(m) = json::members(raw).next() {
        raw = m.value;
        levels += 1;
    }
    levels
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_deep_nesting_is_kept_as_text_and_overflows_no_stack() {
    common::within(300, async {
    const DEPTH: usize = 10_000;
    let s = server(|_| {}).await;
    let mut panel = Follower::connect(s.addr).await;
    let mut prod = RawProducer::connect(s.addr, "deep").await;
    let arrays = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let objects = format!("{}0{}", r#"{"a":"#.repeat(DEPTH), "}".repeat(DEPTH));
    let t = trace_event(&mut prod, "t");
    // Built from text: a serde_json::Value this deep would overflow a stack when dropped.
    let a = span_event(
        &mut prod,
        "t",
        "arrays",
        SpanKind::Json,
        Content::Json(RawJson::from_string(arrays.clone()).expect("valid JSON")),
    );
    let o = span_event(
        &mut prod,
        "t",
        "objects",
        SpanKind::Json,
        Content::Json(RawJson::from_string(objects.clone()).unwrap()),
    );
    // The same value where a string is expected, as an item value, and in an unknown field.
    let bad = format!(
        r#"{{"id":"deep-x","process":"deep","ts":5,"op":"span_create","trace":"t","span":"bad","kind":"text","content":{arrays}}}"#
    );
    let items = format!(
        r#"{{"id":"deep-y","process":"deep","ts":6,"op":"span_create","trace":"t","span":"items","kind":"items","content":[{{"name":"deep","value":{objects}}}],"x-extra":{arrays}}}"#
    );
    let unknown = append_event(&mut prod, "missing", "x");
    let reply = prod
        .send_text(events_message(&[
            to_json(&t),
            to_json(&a),
            to_json(&o),
            bad,
            items,
            to_json(&unknown),
        ]))
        .await
        .expect("a reply");
    let (accepted, reasons) = acked(&reply);
    assert_eq!(accepted, 4, "{reasons:?}");
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].starts_with("content of a `text` span must be a string"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("unknown span `missing`"), "{reasons:?}");
    // The next valid event goes through.
    let end = end_event(&mut prod, "t");
    assert_eq!(acked(&prod.send(vec![end]).await), (1, vec![]));
    assert_eq!(s.hub.head(), 5);
    // The panel gets it all and walks it to the bottom, one level at a time.
    panel.until(5).await;
    let m = &panel.model;
    let content = |key: &str| match &m.span(m.span_by_key(key).unwrap()).unwrap().content {
        Content::Json(j) => j.get().to_owned(),
        Content::Items(items) => items[0].value.get().to_owned(),
        other => panic!("{other:?}"),
    };
    assert_eq!(content("arrays"), arrays, "kept exactly as sent");
    assert_eq!(walk_depth(&content("arrays")), DEPTH - 1);
    assert_eq!(walk_depth(&content("objects")), DEPTH);
    assert_eq!(walk_depth(&content("items")), DEPTH);
    assert_eq!(json::summary(&content("objects"), 10), "{1 key}");

    // A panel's subscribe with an unknown field nested as deep: the protocol's reader skips it
    // without recursing (no stack to overflow), and the panel gets its snapshot.
    let mut ws = connect(format!("ws://{}/v1/panel", s.addr)).await;
    next_text(&mut ws).await.expect("hello");
    let sub = format!(r#"{{"type":"subscribe","x":{arrays}}}"#);
    ws.send(Message::Text(sub.into())).await.unwrap();
    let answer = next_text(&mut ws).await.expect("an answer");
    let Ok(ServerMessage::Snapshot { seq: 5, .. }) = decode_server(&answer) else {
        panic!("{}", &answer[..answer.len().min(300)])
    };
    let again = Follower::connect(s.addr).await;
    assert_eq!(again.model.dump(), panel.model.dump());
    println!(
        "deep nesting ({DEPTH} levels): JSON span kept ({} bytes) and walked; as text content: \
         {:?}; as a panel subscribe's unknown field: skipped",
        arrays.len(),
        reasons[0]
    );
    s.stop().await;
    })
    .await;
}

/// Reads until the server closes: the last `error` message's text before the close (as
/// PROTOCOL.md promises one), and the close frame, if one arrived.
async fn error_then_close(ws: &mut Ws) -> (Option<String>, Option<(u16, String)>) {
    let mut error = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("the server answers")
        {
            Some(Ok(Message::Close(Some(f)))) => {
                return (error, Some((f.code.into(), f.reason.to_string())))
            }
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return (error, None),
            Some(Ok(Message::Text(t))) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                if v["type"] == "error" {
                    error = v["message"].as_str().map(str::to_owned);
                }
            }
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_50_mb_string_is_refused_with_a_reason_and_the_stream_goes_on() {
    common::within(300, async {
        let s = server(|_| {}).await;
        let limit = s.hub.config.max_message_bytes;
        assert_eq!(limit, 16 << 20, "the default limit of a producer message");
        let mut panel = Follower::connect(s.addr).await;
        let mut prod = RawProducer::connect(s.addr, "big").await;
        let t = trace_event(&mut prod, "t");
        let sp = span_event(
            &mut prod,
            "t",
            "s",
            SpanKind::Text,
            Content::Text("a".into()),
        );
        assert_eq!(acked(&prod.send(vec![t, sp]).await), (2, vec![]));
        let huge = append_event(&mut prod, "s", &"x".repeat(50 << 20));
        let text = ProducerMessage::Events { events: vec![huge] }.to_json();
        // The server stops reading at the frame's header: the send may fail half way.
        let _ = prod.ws.send(Message::Text(text.into())).await;
        let (error, close) = error_then_close(&mut prod.ws).await;
        let (code, reason) = close.expect("a close frame");
        println!("50 MB string over a WebSocket: error {error:?}, close {code} {reason:?}");
        assert_eq!(code, 1009, "{reason}");
        assert_eq!(reason, format!("message over the limit of {limit} bytes"));
        assert_eq!(
            error.as_deref(),
            Some(reason.as_str()),
            "an error message before the close"
        );
        // A new connection, and the next valid event goes through; nothing of the 50 MB did.
        let mut prod = RawProducer::connect(s.addr, "big2").await;
        let next = append_event(&mut prod, "s", "b");
        assert_eq!(acked(&prod.send(vec![next]).await), (1, vec![]));
        assert_eq!(s.hub.head(), 3);
        panel.until(3).await;
        let m = &panel.model;
        assert_eq!(
            m.span(m.span_by_key("s").unwrap()).unwrap().text(),
            Some("ab")
        );
        s.stop().await;
    })
    .await;
}

/// Flushes a tracer that has one event too big to send: it must get past it (refusing exactly
/// that one); returns a panel holding everything the runtime accepted.
async fn past_one_refusal(tracer: &Tracer, s: &Running, what: &str) -> Follower {
    tokio::time::timeout(Duration::from_secs(60), tracer.flush())
        .await
        .expect("the tracer gets past the refused event");
    let stats = tracer.stats();
    println!("{what}: {stats:?}");
    assert_eq!(stats.refused, 1, "{stats:?}");
    let mut panel = Follower::connect(s.addr).await;
    panel.until(s.hub.head()).await;
    panel
}

/// The same through the SDK: the tracer must not resend the refused message forever, and what
/// the program sends next must still arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_50_mb_string_from_the_sdk_does_not_wedge_the_tracer() {
    common::within(300, async {
        let s = server(|_| {}).await;
        let url = format!("ws://{}/v1/ingest", s.addr);
        let options = TracerOptions {
            process: Some("big".into()),
            max_backoff: Duration::from_millis(100),
            ..TracerOptions::default()
        };
        let tracer = Tracer::connect_with(&url, options).await.unwrap();
        let trace = tracer.trace("t");
        let span = trace.text("log", "a");
        tracer.flush().await;
        span.append(&"x".repeat(50 << 20));
        span.append("b");
        span.end();
        trace.end();
        let panel = past_one_refusal(&tracer, &s, "50 MB string through the SDK").await;
        let m = &panel.model;
        let log = m.span(m.span_by_key(span.id()).unwrap()).unwrap();
        assert_eq!(
            log.text(),
            Some("ab"),
            "the next events arrive, the huge one does not"
        );
        assert!(!log.status.is_running());
        s.stop().await;
    })
    .await;
}

/// A runtime whose limit is below the tracer's: it closes with 1009 on a message over it. The
/// tracer splits that message, refuses an event over the limit on its own, and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_limit_below_the_tracers_splits_and_refuses_but_never_wedges() {
    common::within(300, async {
        let s = server(|c| c.max_message_bytes = 64 << 10).await;
        let url = format!("ws://{}/v1/ingest", s.addr);
        let options = TracerOptions {
            process: Some("limited".into()),
            max_backoff: Duration::from_millis(100),
            batch_time: Duration::from_millis(50),
            ..TracerOptions::default()
        };
        assert!(options.max_message_bytes > 64 << 10);
        let tracer = Tracer::connect_with(&url, options).await.unwrap();
        let trace = tracer.trace("t");
        let span = trace.text("log", "");
        tracer.flush().await;
        // One batch of 400 KB (each append fits), then one append of 1 MB on its own.
        let mut want = String::new();
        for i in 0..20 {
            let t = format!("{i:02}{}", "y".repeat(20 << 10));
            span.append(&t);
            want.push_str(&t);
        }
        tracer.flush().await;
        span.append(&"z".repeat(1 << 20));
        span.append("end");
        want.push_str("end");
        span.end();
        let panel = past_one_refusal(&tracer, &s, "runtime limit 64 KB below the tracer's").await;
        let m = &panel.model;
        let log = m.span(m.span_by_key(span.id()).unwrap()).unwrap();
        assert!(
            log.text() == Some(want.as_str()),
            "every append that fits, in order, once"
        );
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_object_with_a_million_keys_goes_through_whole() {
    common::within(300, async {
        use std::fmt::Write;
        const KEYS: usize = 1_000_000;
        let s = server(|_| {}).await;
        let mut panel = Follower::connect(s.addr).await;
        let mut prod = RawProducer::connect(s.addr, "wide").await;
        let mut object = String::with_capacity(11 << 20);
        object.push('{');
        for i in 0..KEYS {
            if i > 0 {
                object.push(',');
            }
            let _ = write!(object, r#""{i}":0"#);
        }
        object.push('}');
        let t = trace_event(&mut prod, "t");
        let wide = span_event(
            &mut prod,
            "t",
            "wide",
            SpanKind::Json,
            Content::Json(RawJson::from_string(object.clone()).unwrap()),
        );
        // A million items would be over the message limit; 200,000 are over the items limit.
        let many = (0..200_000)
            .map(|i| user_trace_protocol::Item {
                name: i.to_string(),
                value: RawJson::from_string("0".into()).unwrap(),
            })
            .collect();
        let items = span_event(
            &mut prod,
            "t",
            "items",
            SpanKind::Items,
            Content::Items(many),
        );
        let (accepted, reasons) = acked(&prod.send(vec![t, wide, items]).await);
        assert_eq!(accepted, 2, "{reasons:?}");
        assert_eq!(reasons, ["200000 items are over the limit of 100000"]);
        let end = end_event(&mut prod, "t");
        assert_eq!(acked(&prod.send(vec![end]).await), (1, vec![]));
        panel.until(3).await;
        let m = &panel.model;
        let Content::Json(j) = &m.span(m.span_by_key("wide").unwrap()).unwrap().content else {
            panic!()
        };
        assert_eq!(j.get(), object, "kept exactly as sent");
        let (starts, count) = json::pages(j.get(), 100);
        assert_eq!(count, KEYS);
        assert_eq!(starts.len(), KEYS / 100);
        assert_eq!(json::page_groups(0..starts.len(), 100).len(), 100);
        let last = json::members_from(j.get(), starts[starts.len() - 1])
            .last()
            .unwrap();
        assert_eq!(last.key, Some(r#""999999""#));
        println!(
        "a million keys: {} bytes, kept and paged ({} pages in 100 groups); 200,000 items: {:?}",
        object.len(),
        starts.len(),
        reasons[0]
    );
        s.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_invalid_utf8_is_refused_clearly_and_the_server_goes_on() {
    common::within(300, async {
        let s = server(|_| {}).await;
        let mut panel = Follower::connect(s.addr).await;
        let mut prod = RawProducer::connect(s.addr, "bytes").await;
        let t = trace_event(&mut prod, "t");
        assert_eq!(acked(&prod.send(vec![t]).await), (1, vec![]));
        let invalid: &[u8] = b"{\"type\":\"events\",\"events\":[\xff\xfe\xc3\x28]}";

        // In a binary frame: an error reply, and the connection goes on.
        prod.ws
            .send(Message::Binary(invalid.to_vec().into()))
            .await
            .unwrap();
        let Some(ProducerReply::Error {
            message: binary, ..
        }) = next_text(&mut prod.ws)
            .await
            .map(|t| serde_json::from_str(&t).unwrap())
        else {
            panic!("an error reply")
        };
        assert_eq!(
            binary,
            "binary frames are not part of the protocol: send JSON text frames"
        );
        let e = trace_event(&mut prod, "u");
        assert_eq!(acked(&prod.send(vec![e]).await), (1, vec![]));

        // In a text frame (which must be UTF-8): the connection closes with a reason.
        let frame = Frame::message(invalid.to_vec(), OpCode::Data(Data::Text), true);
        prod.ws.send(Message::Frame(frame)).await.unwrap();
        let (error, close) = error_then_close(&mut prod.ws).await;
        let (code, text_reason) = close.expect("a close frame");
        assert_eq!(code, 1007, "invalid payload data: {text_reason}");
        assert!(text_reason.contains("UTF-8"), "{text_reason}");
        assert_eq!(
            error.as_deref(),
            Some(text_reason.as_str()),
            "an error message before the close"
        );

        // The same from a panel: an error message, then the close.
        let mut bad_panel = Follower::connect(s.addr).await;
        let frame = Frame::message(invalid.to_vec(), OpCode::Data(Data::Text), true);
        bad_panel.ws.send(Message::Frame(frame)).await.unwrap();
        let (error, close) = error_then_close(&mut bad_panel.ws).await;
        let (code, panel_reason) = close.expect("a close frame for the panel");
        assert_eq!(code, 1007, "{panel_reason}");
        assert_eq!(error.as_deref(), Some(panel_reason.as_str()));

        // As the body of an HTTP POST: 400 with a reason.
        let (status, body) = http_post(s.addr, "/v1/ingest", &[], invalid).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("the body must be UTF-8 JSON"), "{body}");

        // The server is unaffected: a new connection's event goes through to the panel.
        let mut prod = RawProducer::connect(s.addr, "bytes2").await;
        let e = end_event(&mut prod, "t");
        assert_eq!(acked(&prod.send(vec![e]).await), (1, vec![]));
        assert_eq!(s.hub.head(), 3);
        panel.until(3).await;
        println!(
        "invalid UTF-8: binary frame -> {binary:?}; text frame -> close {code} {text_reason:?}; \
         HTTP body -> {status} {body:?}"
    );
        s.stop().await;
    })
    .await;
}

/// One HTTP/1.1 request over a plain TCP connection; the status and the body.
async fn http_post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_colliding_across_processes_have_a_defined_outcome() {
    common::within(300, async {
        let s = server(|_| {}).await;
        let mut panel = Follower::connect(s.addr).await;
        let mut a = RawProducer::connect(s.addr, "A").await;
        let mut b = RawProducer::connect(s.addr, "B").await;
        let t = trace_event(&mut a, "t");
        let span = span_event(
            &mut a,
            "t",
            "same",
            SpanKind::Text,
            Content::Text("a".into()),
        );
        let first = t.clone();
        assert_eq!(acked(&a.send(vec![t, span]).await), (2, vec![]));

        // B creates a span with A's span id: refused, naming the owner.
        let clash = span_event(
            &mut b,
            "t",
            "same",
            SpanKind::Json,
            Content::Json(RawJson::null()),
        );
        // B starts a trace with A's trace id: it joins it (one trace, two processes).
        let join = trace_event(&mut b, "t");
        // ... but under another parent span: refused.
        let elsewhere = b.event(Op::TraceStart {
            trace: "t".into(),
            name: "t".into(),
            parent_span: Some("same".into()),
            source: None,
        });
        // B's event id equal to A's: not a duplicate (ids are per process).
        let same_id = Event {
            id: first.id.clone(),
            ..append_event(&mut b, "same", "b")
        };
        let (accepted, reasons) = acked(&b.send(vec![clash, join, elsewhere, same_id]).await);
        assert_eq!(accepted, 2, "{reasons:?}");
        assert_eq!(
            reasons,
            [
                "span `same` already exists (created by process `A`)",
                "trace `t` already exists with another parent span",
            ]
        );
        // A sends its first event again (same process, same id): a duplicate, acknowledged and
        // dropped, never numbered.
        let head = s.hub.head();
        assert_eq!(acked(&a.send(vec![first]).await), (1, vec![]));
        assert_eq!(s.hub.head(), head, "a duplicate is not numbered");
        let next = append_event(&mut a, "same", "c");
        assert_eq!(acked(&a.send(vec![next]).await), (1, vec![]));
        panel.until(s.hub.head()).await;
        let m = &panel.model;
        let trace = m.trace(m.trace_by_key("t").unwrap()).unwrap();
        assert_eq!(trace.processes, ["A".into(), "B".into()]);
        let same = m.span(m.span_by_key("same").unwrap()).unwrap();
        assert_eq!(same.text(), Some("abc"));
        assert_eq!(
            same.kind,
            SpanKind::Text,
            "the first creator keeps the span"
        );
        assert_eq!(same.writers(), ["B".into()]);
        // A fresh panel (a snapshot) shows the same, writers included.
        let fresh = fresh_panel_model(s.addr).await;
        assert_eq!(fresh.dump(), panel.model.dump());
        println!(
        "colliding ids: {reasons:?}; a repeated (process, id) is dropped; a shared trace id joins"
    );
        s.stop().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Limits and access
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_panels_per_server_refuses_the_one_too_many_with_a_reason() {
    common::within(300, async {
    let s = server(|_| {}).await;
    let max = s.hub.config.max_panels;
    assert_eq!(max, 64, "the default --max-panels");
    let mut panels = Vec::new();
    for _ in 0..max {
        panels.push(Follower::connect(s.addr).await);
    }
    let err = tokio_tungstenite::connect_async(format!("ws://{}/v1/panel", s.addr))
        .await
        .expect_err("one too many");
    let tokio_tungstenite::tungstenite::Error::Http(response) = &err else {
        panic!("{err}")
    };
    let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
    assert_eq!(response.status(), 503);
    assert_eq!(
        body,
        format!("too many panels (limit {max}, see --max-panels)")
    );
    // Producers are not panels: they still connect, and every panel gets their events.
    let mut prod = RawProducer::connect(s.addr, "p").await;
    let t = trace_event(&mut prod, "t");
    assert_eq!(acked(&prod.send(vec![t]).await), (1, vec![]));
    for p in &mut panels {
        p.until(1).await;
    }
    // A panel that leaves frees its place.
    drop(panels.pop());
    let again = async {
        loop {
            if let Ok((ws, _)) =
                tokio_tungstenite::connect_async(format!("ws://{}/v1/panel", s.addr)).await
            {
                return ws;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), again)
        .await
        .expect("a freed place is taken again");
    println!("panels per server: {max} connected, the next refused: 503 {body:?}; no limit on events per second per producer exists");
    s.stop().await;
    })
    .await;
}

/// `server.rs` covers the panel path with a foreign Origin and both WebSocket paths without a
/// token; these are the remaining doors: the HTTP ingest path, the producer WebSocket with a
/// foreign Origin, and the SDK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_the_http_ingest_path_and_the_sdk_need_the_token_too() {
    common::within(300, async {
        let s = server(|c| c.token = Some("s3cret".into())).await;
        let body = events_message(&[
            r#"{"id":"1","process":"curl","ts":1,"op":"trace_start","trace":"t","name":"T"}"#
                .into(),
        ]);
        let (status, no_token) = http_post(s.addr, "/v1/ingest", &[], body.as_bytes()).await;
        assert_eq!(status, 401, "{no_token}");
        assert!(no_token.contains("a valid token is required"), "{no_token}");
        let wrong = [("authorization", "Bearer nope")];
        assert_eq!(
            http_post(s.addr, "/v1/ingest", &wrong, body.as_bytes())
                .await
                .0,
            401
        );
        let foreign = [
            ("authorization", "Bearer s3cret"),
            ("origin", "http://evil.example"),
        ];
        let (status, text) = http_post(s.addr, "/v1/ingest", &foreign, body.as_bytes()).await;
        assert_eq!(status, 403, "{text}");
        assert_eq!(s.hub.head(), 0, "nothing got in");
        let right = [("authorization", "Bearer s3cret")];
        let (status, text) = http_post(s.addr, "/v1/ingest", &right, body.as_bytes()).await;
        assert_eq!(
            (status, text.as_str()),
            (200, r#"{"type":"ack","accepted":1}"#)
        );

        let err = connect_from(
            format!("ws://{}/v1/ingest?token=s3cret", s.addr),
            "http://evil.example",
        )
        .await
        .expect_err("refused");
        assert!(err.to_string().contains("403"), "{err}");

        let url = format!("ws://{}/v1/ingest", s.addr);
        let refused = Tracer::connect(&url).await.err().expect("refused");
        assert!(refused.to_string().contains("401"), "{refused}");
        let options = TracerOptions {
            token: Some("s3cret".into()),
            ..TracerOptions::default()
        };
        let tracer = Tracer::connect_with(&url, options)
            .await
            .expect("with the token");
        tracer.trace("ok").end();
        tracer.flush().await;
        assert_eq!(s.hub.head(), 3);
        println!(
            "access: HTTP ingest without token -> 401 {no_token:?}; SDK without token -> {refused}"
        );
        s.stop().await;
    })
    .await;
}
