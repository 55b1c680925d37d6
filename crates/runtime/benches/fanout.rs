//! Issue 4: events/s from 4 producers to 10 panels on loopback, and end-to-end latency; issue
//! 14: the same per store, and what the store costs besides (`fanout/storage.rs`: how long one
//! large batch holds other producers, restart time against history size); issue 16:
//! OpenTelemetry spans/s over OTLP/HTTP (`fanout/otlp.rs`).
//!
//! The real runtime (`server::start`, no token) runs in-process on 127.0.0.1:0 in its own
//! tokio runtime, once per store: in memory, and SQLite with `--sync off`, `normal` (the
//! default) and `full`, each in a fresh data directory under the target directory (a real
//! disk); producers and panels are WebSocket clients in another tokio runtime (two OS thread
//! pools sharing the machine, as two processes would). Producers speak the producer
//! protocol like the SDK: `events` messages of up to 512 events (the SDK's bound), but at most
//! `window` messages unacknowledged per producer (the SDK does not bound them), so the figure is
//! what the server accepts, not what the sockets buffer. Each producer starts a trace and a
//! text span, then streams `text_append`s.
//!
//! Every event's `ts` is its send instant (microseconds since the Unix epoch, taken from one
//! shared `Instant`), so a panel recovers each event's latency: receive instant − send instant.
//!
//! Baseline, in the same process with the same clients and frames: a minimal axum WebSocket
//! relay (same WebSocket stack and socket options as the runtime) that forwards each producer
//! frame unchanged to every panel through a tokio broadcast channel and acks it: no decoding,
//! validation, ordering, model or batching of its own.
//!
//! Scenarios: `saturated` (as fast as acks allow: throughput, and latency under load) and
//! `paced` (a fixed, light rate: latency when nothing queues). Each run also reports the
//! process's CPU time (server and clients: every thread) per event, and how many cores it kept
//! busy: whether the machine was saturated, and what a ratio to the relay leaves to spend.
//! Each configuration runs `runs` times, alternating the baseline and the runtime on each
//! store; the table shows medians and runtime/baseline per store. After the saturated table,
//! each step an event goes through is timed on one thread without sockets, to show where the
//! CPU goes (the runtime's ingest, its fan-out, the clients).
//!
//! `cargo bench -p user-trace-runtime --bench fanout`. Knobs (any of them replaces the two
//! scenarios by one custom one): FANOUT_EVENTS, FANOUT_PRODUCERS, FANOUT_PANELS, FANOUT_BATCH,
//! FANOUT_WINDOW, FANOUT_RATE (events/s in all, 0 = as fast as acked), FANOUT_RUNS. The
//! runtime's own flags apply too (e.g. UTP_BATCH_MS, UTP_BATCH_BYTES, UTP_PANEL_QUEUE).
//! FANOUT_STORES picks stores (`memory,off,normal,full`); FANOUT_SECTIONS picks what runs
//! (`fanout,lock,restart,otlp` by default; `breakdown` alone: only the one-thread breakdown,
//! e.g. under perf; `otlp`: OpenTelemetry spans/s over OTLP/HTTP, `fanout/otlp.rs`, with
//! FANOUT_OTLP_SPANS, FANOUT_OTLP_BATCH, FANOUT_OTLP_CLIENTS); FANOUT_LOCK_MIB, FANOUT_RESTART_MB, FANOUT_RESTART_TEXT and
//! FANOUT_RESTART_STATE_MIB are described in `fanout/storage.rs`.
//! Without `--bench` (as `cargo test --all-targets` runs it) it does one small smoke run.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{
    Message as AxMessage, Utf8Bytes as AxUtf8Bytes, WebSocket, WebSocketUpgrade,
};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use user_trace_protocol::{
    Content, Event, Op, ProducerMessage, ProducerReply, SpanKind, INGEST_PATH, PANEL_PATH,
};
use user_trace_runtime::storage::sqlite::SyncMode;
use user_trace_runtime::{Config, Running};

/// Restart time against history size, and how long one large batch holds other producers.
#[path = "fanout/storage.rs"]
mod storage;

/// OpenTelemetry spans/s over OTLP/HTTP, protobuf and JSON (issue 16).
#[path = "fanout/otlp.rs"]
mod otlp;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest a run may go without progress before the bench gives up.
const STALL: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Parameters

#[derive(Debug, Clone)]
struct Params {
    name: &'static str,
    producers: usize,
    panels: usize,
    /// Events in all, across the producers (the trace and span starts included).
    events: usize,
    /// Events per `events` message.
    batch: usize,
    /// `events` messages a producer may have unacknowledged.
    window: usize,
    /// Events per second in all; None: as fast as acks allow.
    rate: Option<u64>,
    runs: usize,
}

fn env(name: &str) -> Option<usize> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not `{v}`")),
    )
}

fn scenarios(bench: bool) -> Vec<Params> {
    let saturated = Params {
        name: "saturated",
        producers: 4,
        panels: 10,
        events: 200_000,
        batch: 512,
        window: 4,
        rate: None,
        runs: 5,
    };
    // Each producer sends 10 events every millisecond.
    let paced = Params {
        name: "paced",
        events: 20_000,
        batch: 10,
        rate: Some(40_000),
        ..saturated.clone()
    };
    if !bench {
        let smoke = |p: Params| Params {
            events: 4_000,
            runs: 1,
            ..p
        };
        return vec![smoke(saturated), smoke(paced)];
    }
    let knobs = [
        "FANOUT_EVENTS",
        "FANOUT_PRODUCERS",
        "FANOUT_PANELS",
        "FANOUT_BATCH",
        "FANOUT_WINDOW",
        "FANOUT_RATE",
        "FANOUT_RUNS",
    ];
    if knobs.iter().all(|k| std::env::var_os(k).is_none()) {
        return vec![saturated, paced];
    }
    let d = saturated;
    vec![Params {
        name: "custom",
        producers: env("FANOUT_PRODUCERS").unwrap_or(d.producers).max(1),
        panels: env("FANOUT_PANELS").unwrap_or(d.panels).max(1),
        events: env("FANOUT_EVENTS").unwrap_or(d.events),
        batch: env("FANOUT_BATCH").unwrap_or(d.batch).max(1),
        window: env("FANOUT_WINDOW").unwrap_or(d.window).max(1),
        rate: env("FANOUT_RATE").filter(|&r| r > 0).map(|r| r as u64),
        runs: env("FANOUT_RUNS").unwrap_or(d.runs).max(1),
    }]
}

// ---------------------------------------------------------------------------------------------
// Servers: the runtime and the baseline relay

/// Where the runtime keeps accepted events (issue 14): in memory, SQLite with one of its
/// `--sync` modes (`normal` is the default), or a NATS JetStream stream (`--nats`) on a
/// `nats-server` the bench starts on loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Memory,
    SqliteOff,
    SqliteNormal,
    SqliteFull,
    Nats,
}

impl Store {
    pub const ALL: [Store; 5] = [
        Store::Memory,
        Store::SqliteOff,
        Store::SqliteNormal,
        Store::SqliteFull,
        Store::Nats,
    ];

    /// Whether the store is in the runtime's process (a hub on it alone means something).
    pub fn is_local(self) -> bool {
        self != Store::Nats
    }

    pub fn label(self) -> &'static str {
        match self {
            Store::Memory => "memory",
            Store::SqliteOff => "sqlite off",
            Store::SqliteNormal => "sqlite normal",
            Store::SqliteFull => "sqlite full",
            Store::Nats => "nats jetstream",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Store::Memory => "memory",
            Store::SqliteOff => "off",
            Store::SqliteNormal => "normal",
            Store::SqliteFull => "full",
            Store::Nats => "nats",
        }
    }

    /// The stores named in FANOUT_STORES (comma-separated: memory, off, normal, full, nats),
    /// else all.
    fn chosen() -> Vec<Store> {
        let Ok(v) = std::env::var("FANOUT_STORES") else {
            return Store::ALL.to_vec();
        };
        let chosen: Vec<Store> = v
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                Store::ALL
                    .into_iter()
                    .find(|s| s.key() == k)
                    .unwrap_or_else(|| panic!("FANOUT_STORES: unknown store `{k}`"))
            })
            .collect();
        assert!(!chosen.is_empty(), "FANOUT_STORES names no store");
        chosen
    }

    /// The runtime's configuration for this store; SQLite in `dir` (a fresh directory).
    pub fn config(self, dir: Option<&Path>) -> Config {
        let mut c = Config::default_for("127.0.0.1:0".parse().expect("an address"));
        c.token = None;
        let sync = match self {
            Store::Memory => return c,
            Store::SqliteOff => SyncMode::Off,
            Store::SqliteNormal => SyncMode::Normal,
            Store::SqliteFull => SyncMode::Full,
            Store::Nats => panic!("a NATS store is started with its server (Server::start)"),
        };
        c.in_memory = false;
        c.data = Some(dir.expect("a data directory for SQLite").to_path_buf());
        c.sync = sync;
        c
    }
}

/// A fresh, empty data directory under the target directory (a real disk, so that the sync
/// modes mean what they say; not /tmp, which may be in memory). Removed on drop.
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn new(what: &str) -> DataDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "fanout-{}-{what}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a data directory");
        DataDir(dir)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Baseline,
    Runtime(Store),
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Baseline => "baseline relay",
            Target::Runtime(s) => s.label(),
        }
    }

    fn is_runtime(self) -> bool {
        matches!(self, Target::Runtime(_))
    }
}

enum Server {
    Runtime(Running, Option<DataDir>, Option<Nats>),
    Baseline(Relay),
}

#[path = "../tests/support/nats.rs"]
mod nats_server;
#[path = "../tests/support/ports.rs"]
mod ports;

/// A `nats-server` on loopback with its store in a fresh directory, removed after it.
pub struct Nats {
    server: nats_server::Nats,
    _dir: DataDir,
}

impl Nats {
    pub fn start() -> Nats {
        let dir = DataDir::new("nats");
        let server = nats_server::Nats::start(&dir.0, ports::free_port());
        Nats { server, _dir: dir }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }
}

impl Server {
    async fn start(target: Target) -> Server {
        match target {
            Target::Runtime(Store::Nats) => {
                let nats = Nats::start();
                let mut c = Store::Memory.config(None);
                c.nats = Some(nats.url());
                let running = user_trace_runtime::start(c).await.expect("runtime starts");
                Server::Runtime(running, None, Some(nats))
            }
            Target::Runtime(store) => {
                let dir = (store != Store::Memory).then(|| DataDir::new(store.key()));
                let c = store.config(dir.as_ref().map(|d| d.0.as_path()));
                Server::Runtime(
                    user_trace_runtime::start(c).await.expect("runtime starts"),
                    dir,
                    None,
                )
            }
            Target::Baseline => Server::Baseline(Relay::start().await),
        }
    }

    fn addr(&self) -> SocketAddr {
        match self {
            Server::Runtime(r, _, _) => r.addr,
            Server::Baseline(r) => r.addr,
        }
    }

    async fn stop(self) {
        match self {
            // The directory goes after the store is closed.
            Server::Runtime(r, dir, nats) => {
                r.stop().await;
                drop(nats);
                drop(dir);
            }
            Server::Baseline(r) => r.stop().await,
        }
    }
}

/// The baseline: forwards each producer frame, unchanged, to every panel.
struct Relay {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct RelayState {
    tx: broadcast::Sender<AxUtf8Bytes>,
}

const RELAY_HELLO: &str =
    r#"{"type":"hello","protocol":1,"session":"baseline","server":"baseline-relay"}"#;
const RELAY_ACK: &str = r#"{"type":"ack","accepted":0}"#;
const RELAY_SUBSCRIBED: &str = r#"{"type":"snapshot","seq":0,"events":[]}"#;

impl Relay {
    async fn start() -> Relay {
        // Frames, not events: never lags at these sizes.
        let (tx, _) = broadcast::channel(1 << 16);
        let state = Arc::new(RelayState { tx });
        let app = Router::new()
            .route(
                INGEST_PATH,
                get(
                    |State(s): State<Arc<RelayState>>, ws: WebSocketUpgrade| async move {
                        relay_upgrade(ws, move |socket| relay_producer(s, socket))
                    },
                ),
            )
            .route(
                PANEL_PATH,
                get(
                    |State(s): State<Arc<RelayState>>, ws: WebSocketUpgrade| async move {
                        relay_upgrade(ws, move |socket| relay_panel(s, socket))
                    },
                ),
            )
            .with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay binds");
        let addr = listener.local_addr().expect("relay address");
        // The same socket options as the runtime (TCP_NODELAY, see server.rs).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let (stop, mut stopping) = watch::channel(false);
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopping.changed().await;
            };
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .expect("relay serves");
        });
        Relay { addr, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn relay_upgrade<F, Fut>(ws: WebSocketUpgrade, f: F) -> Response
where
    F: FnOnce(WebSocket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    // The runtime's limit, for the same WebSocket configuration.
    ws.max_message_size(16 << 20)
        .max_frame_size(16 << 20)
        .on_upgrade(f)
}

async fn relay_producer(s: Arc<RelayState>, mut socket: WebSocket) {
    if socket
        .send(AxMessage::Text(RELAY_HELLO.into()))
        .await
        .is_err()
    {
        return;
    }
    while let Some(Ok(m)) = socket.recv().await {
        match m {
            AxMessage::Text(frame) => {
                let _ = s.tx.send(frame);
                if socket
                    .send(AxMessage::Text(RELAY_ACK.into()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            AxMessage::Close(_) => return,
            _ => {}
        }
    }
}

async fn relay_panel(s: Arc<RelayState>, mut socket: WebSocket) {
    if socket
        .send(AxMessage::Text(RELAY_HELLO.into()))
        .await
        .is_err()
    {
        return;
    }
    // Wait for the subscribe, then follow the channel.
    match socket.recv().await {
        Some(Ok(AxMessage::Text(_))) => {}
        _ => return,
    }
    let mut rx = s.tx.subscribe();
    if socket
        .send(AxMessage::Text(RELAY_SUBSCRIBED.into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        let frame = tokio::select! {
            r = rx.recv() => r,
            m = socket.recv() => match m {
                Some(Ok(AxMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
        };
        let frame = match frame {
            Ok(f) => f,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                r#"{"type":"error","message":"baseline relay lagged"}"#.into()
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if socket.send(AxMessage::Text(frame)).await.is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

/// The shared clock: `ts` of an event = epoch microseconds at `t0` + microseconds since `t0`.
#[derive(Clone, Copy)]
struct Clock {
    t0: Instant,
    epoch_us: u64,
}

impl Clock {
    fn new() -> Clock {
        let epoch_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_micros() as u64;
        Clock {
            t0: Instant::now(),
            epoch_us,
        }
    }

    fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }
}

async fn connect(addr: SocketAddr, path: &str) -> Ws {
    // Nagle off on the client side, so the clients add no delay of their own.
    tokio_tungstenite::connect_async_with_config(format!("ws://{addr}{path}"), None, true)
        .await
        .expect("connects")
        .0
}

async fn next_text(ws: &mut Ws) -> Utf8Bytes {
    loop {
        let m = tokio::time::timeout(STALL, ws.next())
            .await
            .expect("a message before the stall timeout")
            .expect("the connection stays open")
            .expect("no WebSocket error");
        match m {
            Message::Text(t) => return t,
            Message::Close(f) => panic!("closed by the server: {f:?}"),
            _ => {}
        }
    }
}

struct ProducerDone {
    ws: Ws,
    finished: Instant,
}

/// One producer's events: a trace, a text span in it, then token appends.
struct Script {
    k: usize,
    process: String,
    trace: String,
    span: String,
    n: usize,
    total: usize,
}

impl Script {
    fn new(k: usize, total: usize) -> Script {
        Script {
            k,
            process: format!("bench-p{k}@loopback:{}", std::process::id()),
            trace: format!("p{k}-t"),
            span: format!("p{k}-s"),
            n: 0,
            total,
        }
    }

    fn done(&self) -> bool {
        self.n >= self.total
    }

    /// The next batch of at most `size` events, all stamped `ts`.
    fn batch(&mut self, size: usize, ts: u64) -> Vec<Event> {
        let mut events = Vec::with_capacity(size);
        while events.len() < size && !self.done() {
            let n = self.n;
            let op = match n {
                0 => Op::TraceStart {
                    trace: self.trace.clone(),
                    name: format!("bench producer {}", self.k),
                    parent_span: None,
                    source: None,
                },
                1 => Op::SpanCreate {
                    trace: self.trace.clone(),
                    span: self.span.clone(),
                    kind: SpanKind::Text,
                    title: Some("answer".into()),
                    content: Content::Text(String::new()),
                    source: None,
                },
                _ => Op::TextAppend {
                    span: self.span.clone(),
                    text: format!("tok{n} "),
                },
            };
            events.push(Event {
                id: format!("p{}-{n}", self.k),
                process: self.process.clone(),
                ts,
                op,
            });
            self.n += 1;
        }
        events
    }
}

/// Streams a producer's events, with at most `window` batches unacknowledged.
async fn produce(
    mut ws: Ws,
    mut script: Script,
    p: Params,
    target: Target,
    clock: Clock,
) -> ProducerDone {
    let mut ticker = p.rate.map(|rate| {
        let per_second = rate as f64 / p.producers as f64 / p.batch as f64;
        let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let mut unacked: VecDeque<usize> = VecDeque::new();
    while !script.done() || !unacked.is_empty() {
        if !script.done() && unacked.len() < p.window {
            if let Some(t) = ticker.as_mut() {
                t.tick().await;
            }
            let events = script.batch(p.batch, clock.epoch_us + clock.now_us());
            unacked.push_back(events.len());
            let text = ProducerMessage::Events { events }.to_json();
            ws.send(Message::Text(text.into()))
                .await
                .expect("the producer sends");
            continue;
        }
        let reply = next_text(&mut ws).await;
        let sent = unacked.pop_front().expect("a reply answers a sent batch");
        match serde_json::from_str::<ProducerReply>(reply.as_str()).expect("the reply is JSON") {
            ProducerReply::Ack { accepted, rejected } => {
                assert!(rejected.is_empty(), "events refused: {rejected:?}");
                if target.is_runtime() {
                    assert_eq!(accepted, sent as u64, "all of a batch is accepted");
                }
            }
            other => panic!("expected an ack, got {other:?}"),
        }
    }
    ProducerDone {
        ws,
        finished: Instant::now(),
    }
}

struct PanelDone {
    ws: Ws,
    finished: Instant,
    /// Microseconds from send to receive, one per event received live.
    latencies: Vec<u32>,
    frames: usize,
    resyncs: usize,
}

/// The number after `"key":` in `s`, if any.
fn number_after(s: &str, key: &str) -> Option<u64> {
    let i = s.find(key)? + key.len();
    let digits = s[i..].bytes().take_while(u8::is_ascii_digit).count();
    s[i..i + digits].parse().ok()
}

/// Counts the events of an `events` frame and records each one's latency (`now` − its `ts`).
fn scan(frame: &str, epoch_us: u64, now: u64, latencies: &mut Vec<u32>) -> u64 {
    let mut n = 0;
    let mut rest = frame;
    while let Some(i) = rest.find(r#""ts":"#) {
        rest = &rest[i + 5..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let ts: u64 = rest[..digits].parse().expect("ts is a number");
        latencies.push(now.saturating_sub(ts - epoch_us) as u32);
        n += 1;
    }
    n
}

/// Follows the stream until `total` events are held. Reads only what it needs (frame type,
/// `first_seq`, every `ts`) so that the clients' cost stays small next to the server's.
async fn follow(mut ws: Ws, total: usize, target: Target, clock: Clock) -> PanelDone {
    let mut held: u64 = 0;
    let mut latencies = Vec::with_capacity(total);
    let mut frames = 0;
    let mut resyncs = 0;
    while held < total as u64 {
        let frame = next_text(&mut ws).await;
        let frame = frame.as_str();
        let now = clock.now_us();
        frames += 1;
        if frame.starts_with(r#"{"type":"events""#) {
            if target.is_runtime() {
                let first = number_after(frame, r#""first_seq":"#).expect("first_seq");
                assert_eq!(first, held + 1, "no gap and no repeat");
            }
            held += scan(frame, clock.epoch_us, now, &mut latencies);
        } else if frame.starts_with(r#"{"type":"snapshot""#) {
            // A panel that fell behind the runtime's queue is resynced from a snapshot.
            resyncs += 1;
            held = number_after(frame, r#""seq":"#).expect("seq");
        } else {
            panic!("unexpected frame: {}", &frame[..frame.len().min(200)]);
        }
    }
    PanelDone {
        ws,
        finished: Instant::now(),
        latencies,
        frames,
        resyncs,
    }
}

// ---------------------------------------------------------------------------------------------
// One run

#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    /// From the first send until every panel holds every event.
    wall_s: f64,
    /// From the first send until every batch is acknowledged.
    ingest_s: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    frames_per_panel: f64,
    resyncs: f64,
    /// CPU time of the whole process (server and clients, every thread) during `wall_s`.
    cpu_s: f64,
}

/// User and system CPU time of this process so far, every thread, in seconds.
fn process_cpu_s() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return f64::NAN;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize] as f64
}

async fn run_once(addr: SocketAddr, p: &Params, target: Target) -> Sample {
    let clock = Clock::new();
    // Panels subscribe first and hold the (empty) start before anything is sent.
    let mut panels = Vec::new();
    for _ in 0..p.panels {
        let mut ws = connect(addr, PANEL_PATH).await;
        let hello = next_text(&mut ws).await;
        assert!(hello.as_str().contains(r#""type":"hello""#), "{hello}");
        ws.send(Message::Text(r#"{"type":"subscribe"}"#.into()))
            .await
            .expect("subscribe");
        let start = next_text(&mut ws).await;
        assert!(
            start.starts_with(r#"{"type":"snapshot","seq":0,"#),
            "{start}"
        );
        panels.push(ws);
    }
    let mut producers = Vec::new();
    for _ in 0..p.producers {
        let mut ws = connect(addr, INGEST_PATH).await;
        let hello = next_text(&mut ws).await;
        assert!(hello.as_str().contains(r#""type":"hello""#), "{hello}");
        producers.push(ws);
    }

    let begin = Instant::now();
    let cpu_begin = process_cpu_s();
    let panel_tasks: Vec<_> = panels
        .into_iter()
        .map(|ws| tokio::spawn(follow(ws, p.events, target, clock)))
        .collect();
    let per = p.events / p.producers;
    let producer_tasks: Vec<_> = producers
        .into_iter()
        .enumerate()
        .map(|(k, ws)| {
            let total = per + if k == 0 { p.events % p.producers } else { 0 };
            tokio::spawn(produce(ws, Script::new(k, total), p.clone(), target, clock))
        })
        .collect();

    let mut ingest_end = begin;
    let mut producer_sockets = Vec::new();
    for t in producer_tasks {
        let d = t.await.expect("a producer finishes");
        ingest_end = ingest_end.max(d.finished);
        producer_sockets.push(d.ws);
    }
    let mut wall_end = begin;
    let mut latencies = Vec::with_capacity(p.events * p.panels);
    let mut frames = 0;
    let mut resyncs = 0;
    let mut panel_sockets = Vec::new();
    for t in panel_tasks {
        let d = t.await.expect("a panel finishes");
        wall_end = wall_end.max(d.finished);
        latencies.extend_from_slice(&d.latencies);
        frames += d.frames;
        resyncs += d.resyncs;
        panel_sockets.push(d.ws);
    }
    let cpu_s = process_cpu_s() - cpu_begin;
    for mut ws in producer_sockets.into_iter().chain(panel_sockets) {
        let _ = ws.close(None).await;
    }
    latencies.sort_unstable();
    Sample {
        wall_s: (wall_end - begin).as_secs_f64(),
        ingest_s: (ingest_end - begin).as_secs_f64(),
        p50_us: percentile(&latencies, 0.50),
        p99_us: percentile(&latencies, 0.99),
        max_us: latencies.last().map_or(f64::NAN, |&m| m as f64),
        frames_per_panel: frames as f64 / p.panels as f64,
        resyncs: resyncs as f64,
        cpu_s,
    }
}

fn measure(server_rt: &Runtime, client_rt: &Runtime, p: &Params, target: Target) -> Sample {
    let server = server_rt.block_on(Server::start(target));
    let addr = server.addr();
    let sample = client_rt.block_on(run_once(addr, p, target));
    server_rt.block_on(server.stop());
    sample
}

// ---------------------------------------------------------------------------------------------
// Report

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Summary {
    wall_ms: f64,
    ingest_per_s: f64,
    panel_per_s: f64,
    delivered_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    frames_per_panel: f64,
    resyncs: f64,
    /// CPU time per event held by every panel, all threads of the process, in µs.
    cpu_us_per_event: f64,
    /// CPU time over wall time: how many of the machine's cores the run kept busy.
    cores_busy: f64,
}

fn summarize(p: &Params, samples: &[Sample]) -> Summary {
    let m = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    let events = p.events as f64;
    Summary {
        wall_ms: m(|s| s.wall_s) * 1e3,
        ingest_per_s: events / m(|s| s.ingest_s),
        panel_per_s: events / m(|s| s.wall_s),
        delivered_per_s: events * p.panels as f64 / m(|s| s.wall_s),
        p50_us: m(|s| s.p50_us),
        p99_us: m(|s| s.p99_us),
        max_us: m(|s| s.max_us),
        frames_per_panel: m(|s| s.frames_per_panel),
        // Not a median: any resync matters.
        resyncs: samples.iter().map(|s| s.resyncs).sum(),
        cpu_us_per_event: m(|s| s.cpu_s) * 1e6 / events,
        cores_busy: m(|s| s.cpu_s / s.wall_s),
    }
}

fn rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else {
        format!("{:.0} k", x / 1e3)
    }
}

fn us(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.1} ms", x / 1e3)
    } else {
        format!("{x:.0} µs")
    }
}

fn row(label: &str, store: &str, s: &Summary) {
    println!(
        "  {label:<16} {store:<14} {:>9.1} {:>11} {:>11} {:>11} {:>10} {:>10} {:>10} {:>8.0} {:>7} {:>9.2} {:>6.2}",
        s.wall_ms,
        rate(s.ingest_per_s),
        rate(s.panel_per_s),
        rate(s.delivered_per_s),
        us(s.p50_us),
        us(s.p99_us),
        us(s.max_us),
        s.frames_per_panel,
        s.resyncs,
        s.cpu_us_per_event,
        s.cores_busy,
    );
}

fn report(p: &Params, base: &Summary, stores: &[(Store, Summary)]) {
    let pace = p.rate.map_or("as fast as acked".into(), |r| {
        format!("paced at {} events/s", rate(r as f64))
    });
    println!();
    println!(
        "{}: {} producers -> {} panels, {} events, batches of {}, {} unacked per producer, {}; median of {}",
        p.name, p.producers, p.panels, p.events, p.batch, p.window, pace, p.runs
    );
    println!(
        "  {:<16} {:<14} {:>9} {:>11} {:>11} {:>11} {:>10} {:>10} {:>10} {:>8} {:>7} {:>9} {:>6}",
        "",
        "store",
        "wall ms",
        "ingest/s",
        "per panel/s",
        "delivered/s",
        "lat p50",
        "lat p99",
        "lat max",
        "frames",
        "resyncs",
        "cpu µs/ev",
        "cores"
    );
    row(Target::Baseline.label(), "-", base);
    for (store, rt) in stores {
        row("runtime", store.label(), rt);
    }
    for (store, rt) in stores {
        println!(
            "  {:<16} {:<14} {:>9.2} {:>11.2} {:>11.2} {:>11.2} {:>10.2} {:>10.2} {:>10.2} {:>8} {:>7} {:>9.2}",
            "runtime/baseline",
            store.label(),
            rt.wall_ms / base.wall_ms,
            rt.ingest_per_s / base.ingest_per_s,
            rt.panel_per_s / base.panel_per_s,
            rt.delivered_per_s / base.delivered_per_s,
            rt.p50_us / base.p50_us,
            rt.p99_us / base.p99_us,
            rt.max_us / base.max_us,
            "",
            "",
            rt.cpu_us_per_event / base.cpu_us_per_event,
        );
    }
    let json = |s: &Summary| {
        serde_json::json!({
            "wall_ms": s.wall_ms,
            "ingest_events_per_s": s.ingest_per_s,
            "panel_events_per_s": s.panel_per_s,
            "delivered_events_per_s": s.delivered_per_s,
            "latency_p50_us": s.p50_us,
            "latency_p99_us": s.p99_us,
            "latency_max_us": s.max_us,
            "frames_per_panel": s.frames_per_panel,
            "resyncs": s.resyncs,
            "cpu_us_per_event": s.cpu_us_per_event,
            "cores_busy": s.cores_busy,
        })
    };
    let runtime: serde_json::Map<String, serde_json::Value> = stores
        .iter()
        .map(|(store, rt)| (store.key().to_owned(), json(rt)))
        .collect();
    let line = serde_json::json!({
        "bench": "fanout",
        "scenario": p.name,
        "producers": p.producers,
        "panels": p.panels,
        "events": p.events,
        "batch": p.batch,
        "window": p.window,
        "rate": p.rate,
        "runs": p.runs,
        "baseline": json(base),
        "runtime": runtime,
    });
    println!("fanout-json {line}");
}

// ---------------------------------------------------------------------------------------------
// Where the time goes: the per-event CPU of each step, one thread, no sockets

/// Median wall time of `reps` runs of `f`, in nanoseconds per `per` units.
fn ns_per(per: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    let times = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e9 / per as f64
        })
        .collect();
    median(times)
}

/// Times, on one thread, each step an event goes through, with the scenario's batches, so
/// that the end-to-end figures can be read: what the runtime adds per event over the relay
/// (which does nothing per event) and what the clients cost in both.
fn breakdown(p: &Params, stores: &[Store]) {
    let reps = 3;
    let n = p.events;
    let ts = 1_700_000_000_000_000;
    let scripts = || -> Vec<Script> {
        let per = n / p.producers;
        (0..p.producers)
            .map(|k| Script::new(k, per + if k == 0 { n % p.producers } else { 0 }))
            .collect()
    };
    // The producers' batches, round-robin as the runtime would see them.
    let make = |encode: bool| -> (Vec<Vec<Event>>, Vec<String>) {
        let mut scripts = scripts();
        let (mut batches, mut frames) = (Vec::new(), Vec::new());
        while scripts.iter().any(|s| !s.done()) {
            for s in scripts.iter_mut().filter(|s| !s.done()) {
                let events = s.batch(p.batch, ts);
                if encode {
                    frames.push(ProducerMessage::Events { events }.to_json());
                } else {
                    batches.push(events);
                }
            }
        }
        (batches, frames)
    };
    let produce = ns_per(n, reps, || {
        std::hint::black_box(make(true));
    });
    let (_, frames) = make(true);
    let events: Vec<Event> = make(false).0.into_iter().flatten().collect();

    let decode = ns_per(n, reps, || {
        for f in &frames {
            std::hint::black_box(user_trace_protocol::decode_producer(f).expect("decodes"));
        }
    });
    let encode = ns_per(n, reps, || {
        for e in &events {
            std::hint::black_box(e.to_json());
        }
    });
    let encode_serde = ns_per(n, reps, || {
        for e in &events {
            std::hint::black_box(serde_json::to_string(e).expect("encodes"));
        }
    });
    let config = || {
        let mut c = Config::default_for("127.0.0.1:0".parse().expect("an address"));
        c.token = None;
        c
    };
    let mut apply_times = Vec::new();
    for _ in 0..reps {
        let options = user_trace_model::Options {
            max_bytes: config().max_state_mib << 20,
            ..Default::default()
        };
        let mut model = user_trace_model::Model::new(options);
        let mut out = user_trace_model::Outcome::default();
        let events = events.clone();
        let t = Instant::now();
        for e in events {
            out.clear();
            model.apply(e, &mut out);
        }
        apply_times.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
    }
    let apply = median(apply_times);
    // The same frames on a fresh hub per store: what each store adds per event.
    let ingest_on = |store: Store| {
        let mut times = Vec::new();
        for _ in 0..reps {
            let dir = (store != Store::Memory).then(|| DataDir::new("breakdown"));
            let hub = user_trace_runtime::hub::Hub::new(
                store.config(dir.as_ref().map(|d| d.0.as_path())),
            )
            .expect("a hub");
            let t = Instant::now();
            for f in &frames {
                std::hint::black_box(user_trace_runtime::ingest::handle_text(&hub, f));
            }
            times.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
            hub.stop();
        }
        median(times)
    };
    let ingest = ingest_on(Store::Memory);
    let stored: Vec<(Store, f64)> = stores
        .iter()
        .filter(|&&s| s != Store::Memory && s.is_local())
        .map(|&s| (s, ingest_on(s)))
        .collect();

    // The floor under the store: SQLite alone, with the store's table and pragmas, inserting
    // the same rows (text and checksum) in one transaction per producer batch.
    let rows: Vec<String> = events.iter().map(Event::to_json).collect();
    let alone_with = |store: Store, batch: usize, autocheckpoint: u32| {
        let times = (0..reps)
            .map(|_| {
                let dir = DataDir::new("alone");
                sqlite_alone(&dir.0, store, &rows, batch, autocheckpoint)
            })
            .collect();
        median(times)
    };
    let alone: Vec<(Store, f64)> = stored
        .iter()
        .map(|&(store, _)| (store, alone_with(store, p.batch, 1000)))
        .collect();
    // What two possible changes would give: checkpoints moved off the committing connection
    // (`normal`), and one commit for the batches of all producers (`full`).
    let no_checkpoint = stores
        .contains(&Store::SqliteNormal)
        .then(|| alone_with(Store::SqliteNormal, p.batch, 0));
    let grouped = stores
        .contains(&Store::SqliteFull)
        .then(|| alone_with(Store::SqliteFull, p.batch * p.producers, 1000));

    // Panel frames as the runtime builds them (about 256 KiB each), once per panel.
    let published: Vec<Arc<user_trace_runtime::hub::Published>> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            Arc::new(user_trace_runtime::hub::Published {
                seq: i as u64 + 1,
                json: serde_json::to_string(e).expect("encodes").into(),
            })
        })
        .collect();
    let avg = published.iter().map(|e| e.json.len()).sum::<usize>() / n.max(1);
    let per_frame = ((256 << 10) / avg.max(1)).max(1);
    let panel_frames: Vec<String> = published
        .chunks(per_frame)
        .map(user_trace_runtime::panel::events_frame)
        .collect();
    let frame = ns_per(n, reps, || {
        for c in published.chunks(per_frame) {
            std::hint::black_box(user_trace_runtime::panel::events_frame(c));
        }
    });
    // The hub's channel carries every event to every panel, one by one.
    let channel = ns_per(n, reps, || {
        let (tx, _) = broadcast::channel(1 << 16);
        let mut rxs: Vec<_> = (0..p.panels).map(|_| tx.subscribe()).collect();
        for chunk in published.chunks(4096) {
            for e in chunk {
                let _ = tx.send(e.clone());
            }
            for rx in &mut rxs {
                for _ in chunk {
                    std::hint::black_box(rx.try_recv().expect("queued"));
                }
            }
        }
    });
    let mut latencies = Vec::with_capacity(n);
    let scan_ns = ns_per(n, reps, || {
        latencies.clear();
        for f in &panel_frames {
            scan(f, ts, ts, &mut latencies);
        }
    });

    let k = p.panels as f64;
    println!("  where the CPU goes: ns per event, one thread, no sockets ({avg}-byte events)");
    let line = |what: &str, ns: f64| println!("    {what:<58} {ns:>6.0}");
    line("producer client: build and encode batches", produce);
    line(
        "runtime ingest: handle_text on a fresh hub, of which",
        ingest,
    );
    line("  decode the producer message", decode);
    line("  validate and apply to the model", apply);
    line("  re-encode the event for panels", encode);
    line(
        "    (the same with serde_json, for comparison)",
        encode_serde,
    );
    for (store, ns) in &stored {
        line(
            &format!(
                "runtime ingest on {}: handle_text on a fresh hub",
                store.label()
            ),
            *ns,
        );
        line(
            "  of which the store (over the memory store's)",
            ns - ingest,
        );
        if let Some((_, a)) = alone.iter().find(|(s, _)| s == store) {
            line(
                &format!("    SQLite alone: same rows, a transaction per {}", p.batch),
                *a,
            );
        }
        let variant = match store {
            Store::SqliteNormal => no_checkpoint.map(|ns| {
                (
                    "      the same, no checkpoints (wal_autocheckpoint 0)".to_owned(),
                    ns,
                )
            }),
            Store::SqliteFull => grouped.map(|ns| {
                (
                    format!(
                        "      the same, a transaction per {} (all producers)",
                        p.batch * p.producers
                    ),
                    ns,
                )
            }),
            _ => None,
        };
        if let Some((what, ns)) = variant {
            line(&what, ns);
        }
    }
    line(
        &format!(
            "runtime broadcast channel to {} panels (uncontended)",
            p.panels
        ),
        channel,
    );
    line(
        &format!("runtime panel frames: {frame:.0} per panel x {}", p.panels),
        frame * k,
    );
    line(
        &format!(
            "panel clients: scan frames: {scan_ns:.0} per panel x {}",
            p.panels
        ),
        scan_ns * k,
    );
}

/// ns per event: `rows` (events' texts) inserted into a table like the store's, with its
/// pragmas, one transaction per `batch` events, laid out in rows as the store lays them
/// (`storage::rows`: a run of events a row, a checksum each).
/// `autocheckpoint`: SQLite's `wal_autocheckpoint` in pages (its default: 1000; 0: none, as
/// when checkpoints run on another connection).
fn sqlite_alone(
    dir: &Path,
    store: Store,
    rows: &[String],
    batch: usize,
    autocheckpoint: u32,
) -> f64 {
    let sync = match store {
        Store::SqliteOff => "OFF",
        Store::SqliteFull => "FULL",
        _ => "NORMAL",
    };
    let mut conn = rusqlite::Connection::open(dir.join("alone.db")).expect("opens");
    conn.execute_batch(&format!(
        "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync};
         PRAGMA journal_size_limit = 67108864; PRAGMA wal_autocheckpoint = {autocheckpoint};
         CREATE TABLE batches (seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, json TEXT NOT NULL, crcs BLOB NOT NULL);"
    ))
    .expect("pragmas");
    let t = Instant::now();
    let mut seq = 0u64;
    let mut row = user_trace_runtime::storage::rows::Row::default();
    for chunk in rows.chunks(batch) {
        let tx = conn.transaction().expect("begins");
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO batches (seq, count, json, crcs) VALUES (?1, ?2, ?3, ?4)",
                )
                .expect("prepares");
            let mut insert = |row: &user_trace_runtime::storage::rows::Row| {
                st.execute(rusqlite::params![
                    row.first as i64,
                    row.count as i64,
                    row.json,
                    row.crcs
                ])
                .expect("inserts");
            };
            for json in chunk {
                seq += 1;
                if !row.push(seq, json) {
                    insert(&row);
                    row.clear();
                    row.push(seq, json);
                }
            }
            if !row.is_empty() {
                insert(&row);
            }
            row.clear();
        }
        tx.commit().expect("commits");
    }
    t.elapsed().as_secs_f64() * 1e9 / rows.len().max(1) as f64
}

#[global_allocator]
static ALLOCATOR: user_trace_runtime::allocator::Allocator =
    user_trace_runtime::allocator::ALLOCATOR;

fn main() {
    // As the runtime's own main does.
    user_trace_runtime::allocator::tune();
    user_trace_runtime::allocator::no_huge_pages();
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: then a smoke run.
    let bench = std::env::args().any(|a| a == "--bench");
    let build = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    };
    let (server_rt, client_rt) = (build(), build());
    if bench {
        println!(
            "fanout: medians over runs. wall: first send until every panel holds every event; \
             ingest/s: events / time until every batch is acked; per panel/s: events / wall; \
             delivered/s: events x panels / wall; lat: panel receive - producer send, over \
             every event at every panel; frames: per panel; resyncs: total over the runs (a \
             panel more than --panel-queue events behind is sent a snapshot instead)."
        );
    } else {
        println!(
            "fanout: smoke run (without --bench): checks that the bench works, times mean nothing"
        );
    }
    let stores = Store::chosen();
    let sections =
        std::env::var("FANOUT_SECTIONS").unwrap_or_else(|_| "fanout,lock,restart,otlp".into());
    let section = |name: &str| sections.split(',').any(|s| s.trim() == name);
    if section("fanout") {
        fanout(&server_rt, &client_rt, bench, &stores);
    }
    if section("breakdown") && !section("fanout") {
        // Only the one-thread breakdown of the saturated scenario (e.g. under perf).
        breakdown(&scenarios(bench)[0], &stores);
    }
    if section("lock") {
        storage::lock_hold(&server_rt, &client_rt, bench, &stores);
    }
    if section("restart") {
        storage::restart(&server_rt, bench);
    }
    if section("otlp") {
        otlp::run(&server_rt, &client_rt, bench, &stores);
    }
}

/// The fan-out scenarios, the baseline relay and the runtime on each store, alternating.
fn fanout(server_rt: &Runtime, client_rt: &Runtime, bench: bool, stores: &[Store]) {
    let targets: Vec<Target> = std::iter::once(Target::Baseline)
        .chain(stores.iter().map(|&s| Target::Runtime(s)))
        .collect();
    let index = |t: Target| targets.iter().position(|&x| x == t).expect("a target");
    for p in scenarios(bench) {
        if bench {
            // Warm-up (connections, allocator, page cache), not counted.
            let warm = Params {
                events: (p.events / 10).max(p.producers * 2),
                ..p.clone()
            };
            for &target in &targets {
                measure(server_rt, client_rt, &warm, target);
            }
        }
        let mut samples = vec![Vec::new(); targets.len()];
        for run in 0..p.runs {
            // Alternate, so that drift of the machine touches all alike.
            let mut order = targets.clone();
            if !run.is_multiple_of(2) {
                order.reverse();
            }
            for target in order {
                let s = measure(server_rt, client_rt, &p, target);
                eprintln!(
                    "{} run {} {:<14} wall {:>7.1} ms  ingest {:>7.1} ms  p50 {:>8.0} µs  p99 {:>8.0} µs  resyncs {}",
                    p.name,
                    run + 1,
                    target.label(),
                    s.wall_s * 1e3,
                    s.ingest_s * 1e3,
                    s.p50_us,
                    s.p99_us,
                    s.resyncs
                );
                samples[index(target)].push(s);
            }
        }
        let base = summarize(&p, &samples[index(Target::Baseline)]);
        let rt: Vec<(Store, Summary)> = stores
            .iter()
            .map(|&s| (s, summarize(&p, &samples[index(Target::Runtime(s))])))
            .collect();
        report(&p, &base, &rt);
        if bench && p.rate.is_none() {
            breakdown(&p, stores);
        }
    }
}
