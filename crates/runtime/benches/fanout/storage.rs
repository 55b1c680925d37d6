//! Issue 14: what the store costs besides throughput.
//!
//! - **Lock hold** (`lock_hold`): while one producer sends one large batch of small events
//!   (13 MiB by default, FANOUT_LOCK_MIB), another producer's round trip (one batch of 10
//!   events, then its ack), p50/p99/max. The baseline is the same round trip on the same
//!   server just before, with nothing else going on. Measured twice: over WebSockets (what a
//!   producer sees, the server's two async workers included) and on the hub alone (two threads
//!   calling `Hub::accept`, no sockets: the lock and the store only).
//! - **Restart** (`restart`): N MB of history (FANOUT_RESTART_MB, comma-separated; 100 by
//!   default) written through a running server's hub (`Hub::accept`, its compactor running),
//!   the server stopped, then `Hub::new` timed on the same directory, warm (page cache) and
//!   cold (the files dropped from the page cache first). The history is finished traces of 64
//!   text appends of 1 KiB each (FANOUT_RESTART_TEXT bytes), under the default state cap and
//!   under FANOUT_RESTART_STATE_MIB (64 by default), since a restart reads the state, not the
//!   history. The baselines are reading the database file once, warm and cold; `cold+read`
//!   is a cold start preceded by a sequential read of the files (counted in it), which is what
//!   reading them ahead would give.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::SinkExt;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;
use user_trace_protocol::message::EventResult;
use user_trace_protocol::{Content, Event, Op, ProducerMessage, SpanKind, Status, INGEST_PATH};
use user_trace_runtime::hub::Hub;

use super::{
    connect, env, median, next_text, percentile, us, DataDir, Script, Server, Store, Target,
};

// ---------------------------------------------------------------------------------------------
// Lock hold

/// Round trips in µs, sorted: p50, p99, max.
struct Trips {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
}

impl Trips {
    fn of(mut v: Vec<u32>) -> Trips {
        v.sort_unstable();
        Trips {
            p50: percentile(&v, 0.50),
            p99: percentile(&v, 0.99),
            max: v.last().map_or(f64::NAN, |&m| m as f64),
            n: v.len(),
        }
    }
}

/// One run: idle round trips, then round trips while the large batch is in.
struct HoldSample {
    idle: Trips,
    busy: Trips,
    /// From sending the large batch to its ack.
    large_ms: f64,
}

/// Events of about `bytes` of JSON in all: small token appends, as a chatty producer sends.
fn large_batch(bytes: usize) -> Vec<Event> {
    let mut script = Script::new(0, usize::MAX);
    let ts = 1_700_000_000_000_000;
    let mut events = Vec::new();
    let mut size = 0;
    while size < bytes {
        for e in script.batch(1024, ts) {
            size += e.to_json().len() + 1;
            events.push(e);
        }
    }
    events
}

const SMALL: usize = 10;
const IDLE_TRIPS: usize = 200;

/// Over WebSockets: producer A sends the large batch, producer B round-trips small ones.
async fn hold_over_sockets(addr: std::net::SocketAddr, large: &str) -> HoldSample {
    let mut a = connect(addr, INGEST_PATH).await;
    let mut b = connect(addr, INGEST_PATH).await;
    for ws in [&mut a, &mut b] {
        let hello = next_text(ws).await;
        assert!(hello.as_str().contains(r#""type":"hello""#), "{hello}");
    }
    let mut script = Script::new(1, usize::MAX);
    let ts = 1_700_000_000_000_000;
    let mut trip = async |b: &mut super::Ws| {
        let text = ProducerMessage::Events {
            events: script.batch(SMALL, ts),
        }
        .to_json();
        let t = Instant::now();
        b.send(Message::Text(text.into())).await.expect("sends");
        let reply = next_text(b).await;
        assert!(reply.as_str().contains(r#""type":"ack""#), "{reply}");
        t.elapsed().as_micros() as u32
    };
    let mut idle = Vec::new();
    for _ in 0..IDLE_TRIPS {
        idle.push(trip(&mut b).await);
    }
    let done = Arc::new(AtomicBool::new(false));
    let large = large.to_owned();
    let flag = done.clone();
    let sender = tokio::spawn(async move {
        let t = Instant::now();
        a.send(Message::Text(large.into())).await.expect("sends");
        let reply = next_text(&mut a).await;
        assert!(reply.as_str().contains(r#""type":"ack""#), "not an ack");
        flag.store(true, Ordering::SeqCst);
        (a, t.elapsed())
    });
    let mut busy = Vec::new();
    while !done.load(Ordering::SeqCst) {
        busy.push(trip(&mut b).await);
    }
    let (mut a, large_time) = sender.await.expect("the large batch is acknowledged");
    let _ = a.close(None).await;
    let _ = b.close(None).await;
    HoldSample {
        idle: Trips::of(idle),
        busy: Trips::of(busy),
        large_ms: large_time.as_secs_f64() * 1e3,
    }
}

/// On the hub alone: one thread accepts the large batch, another small ones meanwhile.
fn hold_on_hub(hub: &Arc<Hub>, large: Vec<Event>) -> HoldSample {
    let mut script = Script::new(1, usize::MAX);
    let ts = 1_700_000_000_000_000;
    let mut trip = || {
        let events: Vec<EventResult> = script.batch(SMALL, ts).into_iter().map(Ok).collect();
        let t = Instant::now();
        let a = hub.accept(events).expect("accepted");
        assert_eq!(a.accepted, SMALL as u64);
        t.elapsed().as_micros() as u32
    };
    let idle: Vec<u32> = (0..IDLE_TRIPS).map(|_| trip()).collect();
    let done = AtomicBool::new(false);
    let (busy, large_time) = std::thread::scope(|s| {
        let sender = s.spawn(|| {
            let events: Vec<EventResult> = large.into_iter().map(Ok).collect();
            let t = Instant::now();
            hub.accept(events).expect("accepted");
            done.store(true, Ordering::SeqCst);
            t.elapsed()
        });
        let mut busy = Vec::new();
        while !done.load(Ordering::SeqCst) {
            busy.push(trip());
        }
        (busy, sender.join().expect("the sender finishes"))
    });
    HoldSample {
        idle: Trips::of(idle),
        busy: Trips::of(busy),
        large_ms: large_time.as_secs_f64() * 1e3,
    }
}

pub fn lock_hold(server_rt: &Runtime, client_rt: &Runtime, bench: bool, stores: &[Store]) {
    let mib = env("FANOUT_LOCK_MIB").unwrap_or(if bench { 13 } else { 1 });
    let runs = env("FANOUT_RUNS")
        .unwrap_or(if bench { 3 } else { 1 })
        .max(1);
    let events = large_batch(mib << 20);
    let n = events.len();
    let text = ProducerMessage::Events {
        events: events.clone(),
    }
    .to_json();
    println!();
    println!(
        "lock hold: one producer sends one batch of {n} events ({:.1} MiB); another round-trips \
         batches of {SMALL} events meanwhile (idle: {IDLE_TRIPS} round trips just before, nothing \
         else going on); median over {runs} runs (max: the largest)",
        text.len() as f64 / (1 << 20) as f64
    );
    println!(
        "  {:<8} {:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>10} {:>8}",
        "via",
        "store",
        "idle p50",
        "idle p99",
        "busy p50",
        "busy p99",
        "busy max",
        "max/idle",
        "trips",
        "large ms",
        "MiB/s"
    );
    let mut json = Vec::new();
    for via in ["sockets", "hub"] {
        // A hub alone on the shared log means nothing: it is numbered by the log.
        for &store in stores.iter().filter(|s| s.is_local()) {
            let mut samples = Vec::new();
            for _ in 0..runs {
                let s = if via == "sockets" {
                    let server = server_rt.block_on(Server::start(Target::Runtime(store)));
                    let s = client_rt.block_on(hold_over_sockets(server.addr(), &text));
                    server_rt.block_on(server.stop());
                    s
                } else {
                    let dir = (store != Store::Memory).then(|| DataDir::new("hold"));
                    let hub =
                        Hub::new(store.config(dir.as_ref().map(|d| d.0.as_path()))).expect("a hub");
                    let s = hold_on_hub(&hub, events.clone());
                    hub.stop();
                    s
                };
                eprintln!(
                    "lock hold {via} {:<14} idle p50 {:>6} busy p50 {:>8} p99 {:>8} max {:>8} ({} trips) large {:.0} ms",
                    store.label(),
                    us(s.idle.p50),
                    us(s.busy.p50),
                    us(s.busy.p99),
                    us(s.busy.max),
                    s.busy.n,
                    s.large_ms
                );
                samples.push(s);
            }
            let m = |f: fn(&HoldSample) -> f64| median(samples.iter().map(f).collect());
            let max = samples.iter().map(|s| s.busy.max).fold(0.0, f64::max);
            let (idle50, large_ms) = (m(|s| s.idle.p50), m(|s| s.large_ms));
            println!(
                "  {via:<8} {:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9.0} {:>7.0} {:>10.0} {:>8.0}",
                store.label(),
                us(idle50),
                us(m(|s| s.idle.p99)),
                us(m(|s| s.busy.p50)),
                us(m(|s| s.busy.p99)),
                us(max),
                max / idle50,
                m(|s| s.busy.n as f64),
                large_ms,
                text.len() as f64 / (1 << 20) as f64 / (large_ms / 1e3),
            );
            json.push(serde_json::json!({
                "via": via,
                "store": store.label(),
                "idle_p50_us": idle50,
                "idle_p99_us": m(|s| s.idle.p99),
                "busy_p50_us": m(|s| s.busy.p50),
                "busy_p99_us": m(|s| s.busy.p99),
                "busy_max_us": max,
                "large_batch_ms": large_ms,
            }));
        }
    }
    let line = serde_json::json!({
        "bench": "lock_hold",
        "events": n,
        "bytes": text.len(),
        "runs": runs,
        "results": json,
    });
    println!("fanout-json {line}");
}

// ---------------------------------------------------------------------------------------------
// Restart time against history size

/// Finished traces of 64 text appends of `text` bytes each: history that folds into a state of
/// at most the state cap.
struct History {
    text: String,
    n: u64,
    process: String,
}

impl History {
    fn new(text_bytes: usize) -> History {
        let words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod ";
        let text: String = words.chars().cycle().take(text_bytes).collect();
        History {
            text,
            n: 0,
            process: format!("restart@loopback:{}", std::process::id()),
        }
    }

    /// The next `size` events.
    fn batch(&mut self, size: usize) -> Vec<Event> {
        const APPENDS: u64 = 64;
        let per_trace = APPENDS + 4;
        (0..size)
            .map(|_| {
                let n = self.n;
                self.n += 1;
                let (t, k) = (n / per_trace, n % per_trace);
                let (trace, span) = (format!("t{t}"), format!("s{t}"));
                let op = match k {
                    0 => Op::TraceStart {
                        trace,
                        name: format!("request {t}"),
                        parent_span: None,
                        source: None,
                    },
                    1 => Op::SpanCreate {
                        trace,
                        span,
                        kind: SpanKind::Text,
                        title: Some("answer".into()),
                        content: Content::Text(String::new()),
                        source: None,
                    },
                    k if k < per_trace - 2 => Op::TextAppend {
                        span,
                        text: self.text.clone(),
                    },
                    k if k == per_trace - 2 => Op::SpanEnd {
                        span,
                        status: Status::Ok,
                    },
                    _ => Op::TraceEnd {
                        trace,
                        status: Status::Ok,
                    },
                };
                Event {
                    id: format!("e{n}"),
                    process: self.process.clone(),
                    ts: 1_700_000_000_000_000 + n,
                    op,
                }
            })
            .collect()
    }
}

/// Drops a file from the page cache (written back first), so that the next read is cold.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn evict_from_cache(path: &Path) {
    use std::os::fd::AsRawFd;
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.sync_all();
        // SAFETY: a valid descriptor, the whole file.
        unsafe {
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn evict_from_cache(_: &Path) {}

fn dir_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn dir_bytes(dir: &Path) -> u64 {
    dir_files(dir)
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

/// Rows and JSON bytes of a table, read with SQLite directly.
fn table(db: &Path, name: &str) -> (u64, u64) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("opens");
    conn.query_row(
        &format!("SELECT count(*), coalesce(sum(length(json)), 0) FROM {name}"),
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .expect("counts")
}

/// Times one step of what `Hub::new` does, with SQLite directly: `PRAGMA quick_check(20)`
/// (reads every page) and the full read of the events' table.
fn time_parts(db: &Path) -> (f64, f64) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("opens");
    let t = Instant::now();
    let mut st = conn.prepare("PRAGMA quick_check(20)").expect("prepares");
    let mut rows = st.query([]).expect("runs");
    while rows.next().expect("a row").is_some() {}
    let check = t.elapsed().as_secs_f64() * 1e3;
    drop(rows);
    drop(st);
    let t = Instant::now();
    let mut st = conn
        .prepare("SELECT seq, json, crcs FROM batches ORDER BY seq")
        .expect("prepares");
    let mut rows = st.query([]).expect("runs");
    let mut bytes = 0;
    while let Some(r) = rows.next().expect("a row") {
        bytes += r.get_ref(1).expect("json").as_str().expect("text").len();
    }
    std::hint::black_box(bytes);
    (check, t.elapsed().as_secs_f64() * 1e3)
}

pub fn restart(server_rt: &Runtime, bench: bool) {
    let sizes: Vec<usize> = match std::env::var("FANOUT_RESTART_MB") {
        Ok(v) => v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().expect("FANOUT_RESTART_MB: sizes in MB"))
            .collect(),
        Err(_) => vec![if bench { 100 } else { 4 }],
    };
    let text_bytes = env("FANOUT_RESTART_TEXT").unwrap_or(1024);
    let small_cap = env("FANOUT_RESTART_STATE_MIB").unwrap_or(64);
    let restarts = if bench { 3 } else { 1 };
    let default_cap = Store::SqliteNormal
        .config(Some(Path::new(".")))
        .max_state_mib;
    println!();
    println!(
        "restart: N MB of history (finished traces of 64 appends of {text_bytes} bytes) through \
         the hub on SQLite (sync normal), stopped, then Hub::new on the same directory; warm: \
         median of {restarts} (range), cold: the files dropped from the page cache first; cold+read: the same, the files read sequentially first (counted); \
         read: the database file read once, warm and cold (the floors)"
    );
    println!(
        "  {:>7} {:>9} {:>9} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>10} {:>8} {:>9}",
        "history",
        "state cap",
        "write s",
        "MB/s",
        "events",
        "db MB",
        "snap MB",
        "tail MB",
        "state MB",
        "stop ms",
        "read ms",
        "cold read",
        "check ms",
        "warm ms",
        "cold ms",
        "cold+read",
    );
    let mut json = Vec::new();
    for &mb in &sizes {
        for cap in [default_cap, small_cap] {
            let dir = DataDir::new("restart");
            let mut config = Store::SqliteNormal.config(Some(&dir.0));
            config.max_state_mib = cap;
            let running = server_rt
                .block_on(user_trace_runtime::start(config.clone()))
                .expect("runtime starts");
            let target = (mb as u64) * 1_000_000;
            let mut history = History::new(text_bytes);
            let (mut written, mut events) = (0u64, 0u64);
            let t = Instant::now();
            while written < target {
                let batch = history.batch(512);
                written += batch.iter().map(|e| e.to_json().len() as u64).sum::<u64>();
                events += batch.len() as u64;
                let a = running
                    .hub
                    .accept(batch.into_iter().map(Ok).collect())
                    .expect("accepted");
                assert!(a.rejected.is_empty(), "{:?}", a.rejected.first());
            }
            let write_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            server_rt.block_on(running.stop());
            let stop_ms = t.elapsed().as_secs_f64() * 1e3;
            let db = dir.0.join(user_trace_runtime::storage::sqlite::FILE);
            let db_bytes = dir_bytes(&dir.0);
            let (_, snap_bytes) = table(&db, "snapshot");
            let (tail_rows, tail_bytes) = table(&db, "batches");
            // The floor: the file read once, warm.
            let read_ms = {
                let t = Instant::now();
                std::hint::black_box(std::fs::read(&db).expect("reads").len());
                t.elapsed().as_secs_f64() * 1e3
            };
            let cold_read_ms = {
                evict_from_cache(&db);
                let t = Instant::now();
                std::hint::black_box(std::fs::read(&db).expect("reads").len());
                t.elapsed().as_secs_f64() * 1e3
            };
            let (check_ms, scan_ms) = time_parts(&db);
            let mut warm = Vec::new();
            let mut state = 0;
            let open = || {
                let t = Instant::now();
                let hub = Hub::new(config.clone()).expect("restarts");
                let ms = t.elapsed().as_secs_f64() * 1e3;
                let state = hub.state_bytes();
                hub.stop();
                (ms, state)
            };
            for _ in 0..restarts {
                let (ms, s) = open();
                warm.push(ms);
                state = s;
            }
            for f in dir_files(&dir.0) {
                evict_from_cache(&f);
            }
            let (cold, _) = open();
            // What a sequential read of the files before opening would give (a possible fix:
            // SQLite reads pages in tree order, which is random order on disk).
            for f in dir_files(&dir.0) {
                evict_from_cache(&f);
            }
            let cold_prefetched = {
                let t = Instant::now();
                for f in dir_files(&dir.0) {
                    if let Ok(b) = std::fs::read(&f) {
                        std::hint::black_box(b.len());
                    }
                }
                let read = t.elapsed().as_secs_f64() * 1e3;
                read + open().0
            };
            let warm_range = (
                warm.iter().copied().fold(f64::INFINITY, f64::min),
                warm.iter().copied().fold(0.0, f64::max),
            );
            let warm_ms = median(warm);
            let mbf = |b: u64| b as f64 / 1e6;
            println!(
                "  {:>5}MB {:>5} MiB {:>9.1} {:>8.0} {:>10} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>8.0} {:>8.0} {:>9.0} {:>9.0} {:>10} {:>8.0} {:>9.0}",
                mb,
                cap,
                write_s,
                mbf(written) / write_s,
                events,
                mbf(db_bytes),
                mbf(snap_bytes),
                mbf(tail_bytes),
                mbf(state as u64),
                stop_ms,
                read_ms,
                cold_read_ms,
                check_ms,
                format!("{warm_ms:.0} ({:.0}-{:.0})", warm_range.0, warm_range.1),
                cold,
                cold_prefetched,
            );
            eprintln!(
                "restart {mb} MB cap {cap} MiB: events in {tail_rows} rows, its full read {scan_ms:.0} ms; warm/read {:.1}x",
                warm_ms / read_ms
            );
            json.push(serde_json::json!({
                "history_bytes": written,
                "events": events,
                "state_cap_mib": cap,
                "write_s": write_s,
                "db_bytes": db_bytes,
                "snapshot_bytes": snap_bytes,
                "tail_rows": tail_rows,
                "tail_bytes": tail_bytes,
                "state_bytes": state,
                "stop_ms": stop_ms,
                "read_file_ms": read_ms,
                "read_file_cold_ms": cold_read_ms,
                "quick_check_ms": check_ms,
                "events_scan_ms": scan_ms,
                "warm_ms": warm_ms,
                "warm_min_ms": warm_range.0,
                "warm_max_ms": warm_range.1,
                "cold_ms": cold,
                "cold_after_sequential_read_ms": cold_prefetched,
            }));
        }
    }
    let line = serde_json::json!({ "bench": "restart", "text_bytes": text_bytes, "results": json });
    println!("fanout-json {line}");
}
