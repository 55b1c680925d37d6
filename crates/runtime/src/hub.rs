//! The hub: orders accepted events into one numbered sequence, stores them, keeps the state
//! and a window of recent events, and lets panels read from that window.
//!
//! One lock guards the sequence, the window, the model and the store. A producer's batch is
//! taken in chunks of at most [`CHUNK_BYTES`], each applied, committed and published under the
//! lock, so that one large batch never holds other producers and panels for long. The window
//! is the only copy of recent events: panels read from it at their own pace (a cursor each),
//! so a panel that does not read holds nothing; one that falls out of the window starts over
//! from a snapshot.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{watch, Notify, Semaphore};
use user_trace_model::{Model, Options, Outcome};
use user_trace_protocol::message::EventResult;
use user_trace_protocol::{decode_event, decode_server, Event, EventError, Op, ServerMessage};

use crate::config::Config;
use crate::storage::jetstream::{self, Followed, JetStream};
use crate::storage::memory::Memory;
use crate::storage::sqlite::{self, Sqlite};
use crate::storage::{Loaded, Record, Storage, StorageError};

/// One accepted event, serialized once and shared by every panel.
#[derive(Debug)]
pub struct Published {
    pub seq: u64,
    pub json: Box<str>,
}

/// How a subscribing panel starts.
pub enum Start {
    /// From the window, after this sequence number (possibly the head: nothing missed).
    Resume(u64),
    /// A snapshot frame as of `seq`, then from the window after it.
    Snapshot { seq: u64, frame: String },
}

/// What a panel reads from the window.
pub enum Read {
    /// Events after its cursor, in order (empty: it is at the head).
    Events(Vec<Arc<Published>>),
    /// Its cursor fell out of the window: it must start over from a snapshot.
    Behind,
}

/// Largest part of a batch applied under one hold of the lock.
pub const CHUNK_BYTES: usize = 256 << 10;
/// Events kept in the store after a compaction, for duplicate detection after a restart: a
/// producer resends what was not acknowledged, and a crash can lose an acknowledgement.
pub const KEEP_AFTER_COMPACTION: u64 = 65_536;
/// History folded into a snapshot once it exceeds both this and the state's size.
pub const COMPACT_AFTER_BYTES: u64 = 64 << 20;
/// After a failed write, batches are refused at once for this long instead of trying again.
const FAILED_PAUSE: Duration = Duration::from_millis(500);

/// Recent events, bounded in count and bytes.
#[derive(Default)]
struct Window {
    events: VecDeque<Arc<Published>>,
    bytes: usize,
}

impl Window {
    fn push(&mut self, p: Arc<Published>, max_events: usize, max_bytes: usize) {
        self.bytes += p.json.len();
        self.events.push_back(p);
        // The newest event stays even when it alone is over the bound: panels must read it.
        while self.events.len() > 1 && (self.events.len() > max_events || self.bytes > max_bytes) {
            if let Some(old) = self.events.pop_front() {
                self.bytes -= old.json.len();
            }
        }
    }

    fn oldest(&self) -> Option<u64> {
        self.events.front().map(|p| p.seq)
    }
}

struct State {
    next_seq: u64,
    window: Window,
    model: Model,
    storage: Box<dyn Storage>,
    /// Bytes of events stored since the last compaction.
    history_bytes: u64,
    compacting: bool,
    /// The store refused a write for lack of space: the next compaction keeps no events
    /// beyond the snapshot.
    full: bool,
    /// The last failed write and when: batches are refused meanwhile.
    failed: Option<(Instant, String)>,
    /// The store could not be read back after a failed write: every batch is refused.
    broken: bool,
    /// Set by [`Hub::stop`]: no event is accepted (nor stored) after it.
    stopped: bool,
}

pub struct Hub {
    pub config: Config,
    pub session: String,
    state: Mutex<State>,
    /// The last sequence number published; panels wait on it.
    head: watch::Sender<u64>,
    panels: AtomicUsize,
    producers: AtomicUsize,
    shutdown: watch::Sender<bool>,
    /// Wakes the compactor.
    compact: Notify,
    /// Snapshots being made or sent to panels at once: each is a copy of the state, and a
    /// second one in its connection's buffer until sent.
    pub snapshots: Semaphore,
    /// Large producer messages (256 KB and more) decoded and stored at once.
    pub large_messages: Semaphore,
    /// The shared log, when the runtime runs on NATS JetStream (`--nats`).
    nats: Option<JetStream>,
    /// Event frames over a MiB in flight to panels at once, for the same reason. Separate from
    /// `snapshots`, so that panels that stop reading in the middle of large events never keep
    /// a new panel from its snapshot.
    pub large_frames: Semaphore,
}

/// The answer to a producer's batch.
pub struct Accepted {
    pub accepted: u64,
    pub rejected: Vec<EventError>,
}

/// An event of a batch, by its index: decoded and serialized, or refused by the decoder.
type Prepared = (usize, Result<(Event, String), EventError>);

/// Why a batch was not accepted: nothing of it is acknowledged; the producer sends it again.
#[derive(Debug)]
pub enum Refused {
    /// The server is stopping.
    Stopping,
    /// The store could not keep the events.
    Storage(String),
}

fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

fn model_options(config: &Config) -> Options {
    Options {
        max_bytes: config.max_state_mib << 20,
        // Producers retry unacknowledged batches after a reconnect: a server remembers more
        // ids than a panel (9.4 MB, beside the state cap).
        dedup_window: 1 << 18,
        ..Options::default()
    }
}

/// Opens the store the configuration names.
pub fn open_storage(config: &Config) -> Result<Box<dyn Storage>, StorageError> {
    let session = new_session_id();
    if config.in_memory {
        return Ok(Box::new(Memory::new(session)));
    }
    Ok(Box::new(Sqlite::open(&sqlite_options(config), &session)?))
}

pub fn sqlite_options(config: &Config) -> sqlite::Options {
    sqlite::Options {
        dir: config.data_dir(),
        sync: config.sync,
        max_disk_bytes: config.max_disk_mib << 20,
    }
}

/// What loading put in the state.
struct Rebuilt {
    model: Model,
    window: Window,
    next_seq: u64,
    history_bytes: u64,
}

fn rebuild(config: &Config, loaded: Loaded) -> Rebuilt {
    let mut model = Model::new(model_options(config));
    let mut out = Outcome::default();
    model.apply_snapshot(
        loaded.snapshot_seq,
        loaded.snapshot.into_iter().map(Ok).collect(),
        &mut out,
    );
    for e in &loaded.recent {
        model.remember(&e.process, &e.id);
    }
    let mut window = Window::default();
    let mut next_seq = loaded.snapshot_seq + 1;
    let mut refused = 0;
    for stored in loaded.events {
        out.clear();
        model.apply(stored.event, &mut out);
        refused += out.rejected.len();
        window.push(
            Arc::new(Published {
                seq: stored.seq,
                json: stored.json.into(),
            }),
            config.retain_events,
            config.retain_mib << 20,
        );
        next_seq = stored.seq + 1;
    }
    if refused > 0 {
        // Only after a --recover (an event whose context was lost) or a model that changed.
        tracing::warn!(refused, "stored events the model refuses; skipped");
    }
    Rebuilt {
        model,
        window,
        next_seq,
        history_bytes: loaded.history_bytes,
    }
}

impl Hub {
    /// Makes the hub on the configured store, with its state read back.
    pub fn new(config: Config) -> Result<Arc<Hub>, StorageError> {
        let storage = open_storage(&config)?;
        Hub::with_storage(config, storage)
    }

    /// Makes the hub on a store, with the state read back from it.
    pub fn with_storage(
        config: Config,
        mut storage: Box<dyn Storage>,
    ) -> Result<Arc<Hub>, StorageError> {
        let started = Instant::now();
        let loaded = storage.load()?;
        let hub = Hub::build(config, storage, loaded, None);
        if !hub.config.in_memory {
            let state = hub.lock();
            tracing::info!(
                data = %hub.config.data_dir().display(),
                next_seq = state.next_seq,
                state_bytes = state.model.bytes(),
                ms = started.elapsed().as_millis() as u64,
                "state read back"
            );
        }
        Ok(hub)
    }

    /// The hub with the state `loaded` holds.
    fn build(
        config: Config,
        storage: Box<dyn Storage>,
        loaded: Loaded,
        nats: Option<JetStream>,
    ) -> Arc<Hub> {
        let session = loaded.session.clone();
        let r = rebuild(&config, loaded);
        let state = State {
            next_seq: r.next_seq,
            window: r.window,
            model: r.model,
            storage,
            history_bytes: r.history_bytes,
            compacting: false,
            full: false,
            failed: None,
            broken: false,
            stopped: false,
        };
        let (head, _) = watch::channel(r.next_seq - 1);
        let (shutdown, _) = watch::channel(false);
        Arc::new(Hub {
            config,
            session,
            state: Mutex::new(state),
            head,
            panels: AtomicUsize::new(0),
            producers: AtomicUsize::new(0),
            shutdown,
            compact: Notify::new(),
            snapshots: Semaphore::new(2),
            large_frames: Semaphore::new(2),
            large_messages: Semaphore::new(2),
            nats,
        })
    }

    /// Makes the hub on a NATS JetStream stream shared with other runtimes (`--nats`): the
    /// state from the last snapshot kept there; [`Hub::follow`] applies the stream after it.
    pub async fn shared(config: Config) -> Result<Arc<Hub>, StorageError> {
        let options = jetstream::Options {
            url: config.nats.clone().unwrap_or_default(),
            stream: config.nats_stream.clone(),
            max_bytes: (config.max_state_mib as u64) << 20,
        };
        let js = JetStream::connect(&options).await?;
        let mut loaded = Loaded {
            session: js.session.clone(),
            ..Loaded::default()
        };
        if let Some(frame) = js.load_snapshot().await? {
            match decode_server(&frame) {
                Ok(ServerMessage::Snapshot { seq, events }) => {
                    loaded.snapshot_seq = seq;
                    loaded.snapshot = events.into_iter().filter_map(Result::ok).collect();
                }
                _ => {
                    return Err(StorageError::Damaged {
                        file: format!("the snapshot in {}-snapshots", options.stream),
                        what: "it does not read as a snapshot".into(),
                    })
                }
            }
        }
        let first = js.first_seq().await?;
        if first > loaded.snapshot_seq + 1 {
            tracing::error!(
                snapshot_seq = loaded.snapshot_seq,
                first,
                "the stream dropped events the last snapshot does not hold (its byte cap): \
                 the state misses them"
            );
            loaded.snapshot_seq = first - 1;
        }
        tracing::info!(stream = %options.stream, session = %js.session, from = loaded.snapshot_seq + 1, "following the shared log");
        let storage = Box::new(Memory::new(js.session.clone()));
        Ok(Hub::build(config, storage, loaded, Some(js)))
    }

    /// Whether the log is shared with other runtimes (NATS JetStream).
    pub fn is_shared(&self) -> bool {
        self.nats.is_some()
    }

    /// Publishes a producer's events to the shared log; every instance (this one included)
    /// numbers and applies them as it follows the log. Acknowledge only an `Ok`.
    pub async fn publish(&self, events: Vec<EventResult>) -> Result<Accepted, Refused> {
        let Some(js) = &self.nats else {
            return self.accept(events);
        };
        if self.is_stopped() {
            return Err(Refused::Stopping);
        }
        let mut rejected = Vec::new();
        let mut valid = Vec::new();
        for (index, entry) in events.into_iter().enumerate() {
            match entry {
                Ok(e) => {
                    let json = e.to_json();
                    // A message over the server's limit would be refused again on every resend.
                    if json.len() + 1024 > js.max_payload {
                        rejected.push(EventError {
                            index,
                            id: Some(e.id.clone()),
                            reason: format!(
                                "event of {} bytes over the NATS server's max_payload of {} bytes",
                                json.len(),
                                js.max_payload
                            ),
                        });
                        continue;
                    }
                    valid.push((e, json));
                }
                Err(mut e) => {
                    e.index = index;
                    rejected.push(e);
                }
            }
        }
        let list: Vec<(&str, &str, String)> = valid
            .iter()
            .map(|(e, json)| (e.process.as_str(), e.id.as_str(), json.clone()))
            .collect();
        js.publish(&list)
            .await
            .map_err(|e| Refused::Storage(e.to_string()))?;
        Ok(Accepted {
            accepted: list.len() as u64,
            rejected,
        })
    }

    /// Follows the shared log until the hub stops, applying its messages in order; resumes
    /// after a failure (the server restarted, the connection broke).
    pub async fn follow(self: Arc<Self>) {
        let Some(js) = &self.nats else { return };
        let mut stopping = self.stopping();
        loop {
            let from = self.head() + 1;
            match js.follow(from).await {
                Ok(messages) => {
                    let mut messages = std::pin::pin!(messages.ready_chunks(512));
                    loop {
                        let chunk = tokio::select! {
                            c = messages.next() => c,
                            _ = stopping.changed() => return,
                        };
                        let Some(chunk) = chunk else { break };
                        let mut ok = Vec::with_capacity(chunk.len());
                        let mut failed = false;
                        for m in chunk {
                            match m {
                                Ok(m) => ok.push(m),
                                Err(e) => {
                                    tracing::warn!(error = %e, "following the shared log");
                                    failed = true;
                                }
                            }
                        }
                        self.apply_followed(ok);
                        if failed {
                            break;
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot follow the shared log; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stopping.changed() => return,
            }
        }
    }

    /// Applies messages of the shared log, numbered by it.
    fn apply_followed(&self, messages: Vec<Followed>) {
        let mut state = self.lock();
        if state.stopped {
            return;
        }
        let mut out = Outcome::default();
        let (max_events, max_bytes) = (self.config.retain_events, self.config.retain_mib << 20);
        for m in messages {
            if m.seq < state.next_seq {
                continue; // seen already (a consumer made again after a failure)
            }
            if m.seq > state.next_seq {
                // The stream dropped messages this instance had not applied (its byte cap):
                // panels resuming across the hole start over from a snapshot.
                tracing::error!(
                    expected = state.next_seq,
                    got = m.seq,
                    "events missing from the shared log"
                );
                state.window = Window::default();
            }
            // Every instance and panel makes the same decision on the same event in the same
            // order, so refusals and duplicates are numbered too (no hole in the sequence).
            match decode_event(0, &m.json) {
                Ok(event) => {
                    out.clear();
                    state.model.apply(event, &mut out);
                }
                Err(e) => {
                    tracing::warn!(seq = m.seq, error = %e, "an event in the shared log does not decode")
                }
            }
            state.history_bytes += m.json.len() as u64;
            state.next_seq = m.seq + 1;
            state.window.push(
                Arc::new(Published {
                    seq: m.seq,
                    json: m.json.into(),
                }),
                max_events,
                max_bytes,
            );
        }
        let head = state.next_seq - 1;
        let compact = !state.compacting
            && state.history_bytes > ((self.config.max_state_mib as u64) << 20) / 4;
        drop(state);
        self.head
            .send_if_modified(|h| std::mem::replace(h, head) != head);
        if compact {
            self.compact.notify_one();
        }
    }

    /// Keeps a snapshot of the state in the shared log's object store.
    async fn snapshot_to_shared(&self, js: &JetStream) {
        let (seq, events, folded) = {
            let mut state = self.lock();
            if state.stopped || state.compacting {
                return;
            }
            state.compacting = true;
            (
                state.next_seq - 1,
                state.model.snapshot_events(),
                state.history_bytes,
            )
        };
        let frame = ServerMessage::Snapshot { seq, events }.to_json();
        let result = js.save_snapshot(&frame).await;
        let mut state = self.lock();
        state.compacting = false;
        match result {
            Ok(()) => {
                state.history_bytes = state.history_bytes.saturating_sub(folded);
                tracing::info!(seq, bytes = frame.len(), "snapshot kept in the shared log");
            }
            Err(e) => tracing::error!(error = %e, "cannot keep a snapshot (nothing lost)"),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every mutation is one step).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Validates, numbers, stores and publishes a producer's events, in its order. Invalid
    /// events are refused with a reason and never reach panels; duplicates are accepted and
    /// dropped. Acknowledge only an `Ok`: every event it counts is committed to the store.
    pub fn accept(&self, events: Vec<EventResult>) -> Result<Accepted, Refused> {
        // Serialized before taking the lock: the costly part for large events.
        let mut prepared: Vec<Prepared> = events
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                (
                    index,
                    entry
                        .map(|e| {
                            let json = e.to_json();
                            (e, json)
                        })
                        .map_err(|mut e| {
                            e.index = index;
                            e
                        }),
                )
            })
            .collect();
        let mut accepted = 0;
        let mut rejected = Vec::new();
        let mut rest = prepared.drain(..).peekable();
        while rest.peek().is_some() {
            let mut chunk = Vec::new();
            let mut bytes = 0;
            while let Some(next) = rest.next_if(|_| chunk.is_empty() || bytes < CHUNK_BYTES) {
                bytes += next.1.as_ref().map_or(0, |(_, j)| j.len());
                chunk.push(next);
            }
            let (a, mut r) = self.accept_chunk(chunk)?;
            accepted += a;
            rejected.append(&mut r);
        }
        Ok(Accepted { accepted, rejected })
    }

    fn accept_chunk(&self, chunk: Vec<Prepared>) -> Result<(u64, Vec<EventError>), Refused> {
        let mut accepted = 0;
        let mut rejected = Vec::new();
        let mut published = Vec::new();
        let mut out = Outcome::default();
        let mut cleared = false;
        let mut state = self.lock();
        if state.stopped {
            return Err(Refused::Stopping);
        }
        if let Some((at, why)) = &state.failed {
            if at.elapsed() < FAILED_PAUSE || state.broken {
                return Err(Refused::Storage(why.clone()));
            }
        }
        for (index, entry) in chunk {
            let (event, json) = match entry {
                Ok(e) => e,
                Err(e) => {
                    rejected.push(e);
                    continue;
                }
            };
            let id = event.id.clone();
            cleared |= matches!(event.op, Op::Clear);
            out.clear();
            state.model.apply(event, &mut out);
            if let Some(r) = out.rejected.pop() {
                rejected.push(EventError {
                    index,
                    id: Some(id),
                    reason: r.reason,
                });
                continue;
            }
            accepted += 1;
            if out.duplicates > 0 {
                continue;
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            published.push(Arc::new(Published {
                seq,
                json: json.into(),
            }));
        }
        if !published.is_empty() {
            let records: Vec<Record<'_>> = published
                .iter()
                .map(|p| Record {
                    seq: p.seq,
                    json: &p.json,
                })
                .collect();
            if let Err(e) = state.storage.append(&records) {
                drop(records);
                return Err(self.write_failed(&mut state, e));
            }
        }
        state.failed = None;
        let (max_events, max_bytes) = (self.config.retain_events, self.config.retain_mib << 20);
        for p in published {
            state.history_bytes += p.json.len() as u64;
            state.window.push(p, max_events, max_bytes);
        }
        let head = state.next_seq - 1;
        let compact = !state.compacting
            && (cleared
                || state.history_bytes > COMPACT_AFTER_BYTES.max(state.model.bytes() as u64));
        drop(state);
        // Panels read from the window; this only wakes them.
        self.head
            .send_if_modified(|h| std::mem::replace(h, head) != head);
        if compact {
            self.compact.notify_one();
        }
        Ok((accepted, rejected))
    }

    /// A write failed: the model applied events the store does not have, so the state is read
    /// back from the store (what it has is exactly what was acknowledged), and batches are
    /// refused for a moment.
    fn write_failed(&self, state: &mut State, e: StorageError) -> Refused {
        let why = e.to_string();
        tracing::error!(error = %why, "storage write failed: batch refused");
        match state.storage.load() {
            Ok(loaded) => {
                let r = rebuild(&self.config, loaded);
                state.model = r.model;
                state.next_seq = r.next_seq;
                state.history_bytes = r.history_bytes;
                // Panels already have the window's events; only its bound matters here.
                let keep = state.window.oldest();
                state.window = r.window;
                if let Some(keep) = keep {
                    while state.window.oldest().is_some_and(|o| o < keep) {
                        if let Some(old) = state.window.events.pop_front() {
                            state.window.bytes -= old.json.len();
                        }
                    }
                }
            }
            Err(again) => {
                // The model now holds events the store may not: accepting more could
                // acknowledge a resent event as a duplicate of one never stored. Refuse
                // everything until an operator restarts the runtime (which checks the store).
                tracing::error!(error = %again, "cannot read the store back: refusing every batch until a restart");
                state.broken = true;
            }
        }
        if matches!(e, StorageError::Full(_)) {
            // Folding the history into a snapshot may free what the state no longer needs.
            state.full = true;
            self.compact.notify_one();
        }
        state.failed = Some((Instant::now(), why.clone()));
        Refused::Storage(why)
    }

    /// Folds the stored history into a snapshot of the state (run by [`Hub::compactor`]).
    pub fn compact_now(&self) {
        let (seq, events, folded_bytes, keep_none) = {
            let mut state = self.lock();
            if state.stopped || state.compacting {
                return;
            }
            state.compacting = true;
            let seq = state.next_seq - 1;
            let events = state.model.snapshot_events();
            let keep_none = state.model.bytes() == 0 || std::mem::take(&mut state.full);
            (seq, events, state.history_bytes, keep_none)
        };
        // Serialized without the lock; written with it (the store has one writer).
        let snapshot: Vec<String> = events.iter().map(Event::to_json).collect();
        drop(events);
        // After a clear nothing before it matters, not even for duplicates; a full store
        // keeps nothing it can do without.
        let keep_from = if keep_none {
            seq + 1
        } else {
            seq.saturating_sub(KEEP_AFTER_COMPACTION) + 1
        };
        let started = Instant::now();
        let mut state = self.lock();
        state.compacting = false;
        if state.stopped {
            return;
        }
        match state.storage.compact(seq, &snapshot, keep_from) {
            Ok(()) => {
                state.history_bytes = state.history_bytes.saturating_sub(folded_bytes);
                tracing::info!(
                    seq,
                    snapshot_events = snapshot.len(),
                    folded_bytes,
                    disk_bytes = state.storage.disk_bytes(),
                    ms = started.elapsed().as_millis() as u64,
                    "history folded into a snapshot"
                );
            }
            Err(e) => tracing::error!(error = %e, "compaction failed (nothing lost)"),
        }
    }

    /// Runs compactions when the hub asks for them, off the async workers, until it stops.
    pub async fn compactor(self: Arc<Self>) {
        let mut stopping = self.stopping();
        loop {
            tokio::select! {
                _ = self.compact.notified() => {}
                _ = stopping.changed() => return,
            }
            if let Some(js) = &self.nats {
                self.snapshot_to_shared(js).await;
                continue;
            }
            let hub = self.clone();
            let _ = tokio::task::spawn_blocking(move || hub.compact_now()).await;
        }
    }

    /// Where a panel holding `(session, last_seq)` starts.
    pub fn subscribe(&self, session: Option<&str>, last_seq: Option<u64>) -> Start {
        let state = self.lock();
        let head = state.next_seq - 1;
        if let (Some(s), Some(last)) = (session, last_seq) {
            let oldest = state.window.oldest().unwrap_or(head + 1);
            if s == self.session && last <= head && last + 1 >= oldest {
                return Start::Resume(last);
            }
        }
        let (seq, events) = (head, state.model.snapshot_events());
        drop(state);
        Self::snapshot_frame(seq, events)
    }

    /// Serializes a snapshot: the costly part, done without the lock so that producers and
    /// other panels do not wait for it.
    fn snapshot_frame(seq: u64, events: Vec<Event>) -> Start {
        let frame = ServerMessage::Snapshot { seq, events }.to_json();
        Start::Snapshot { seq, frame }
    }

    /// A fresh snapshot, for a panel that fell out of the window.
    pub fn resync(&self) -> Start {
        self.subscribe(None, None)
    }

    /// Events after `after`, up to about `max_bytes` (at least one).
    pub fn read_after(&self, after: u64, max_bytes: usize) -> Read {
        let state = self.lock();
        let head = state.next_seq - 1;
        if after >= head {
            return Read::Events(Vec::new());
        }
        let Some(oldest) = state.window.oldest() else {
            return Read::Behind;
        };
        if after + 1 < oldest {
            return Read::Behind;
        }
        let start = (after + 1 - oldest) as usize;
        let mut bytes = 0;
        let mut out = Vec::new();
        for p in state.window.events.range(start..) {
            if !out.is_empty() && bytes + p.json.len() > max_bytes {
                break;
            }
            bytes += p.json.len() + 1;
            out.push(p.clone());
        }
        Read::Events(out)
    }

    /// Resolves when the head moves past what the receiver saw.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// The last sequence number assigned.
    pub fn head(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// Approximate bytes of the state (what a snapshot is about the size of).
    pub fn state_bytes(&self) -> usize {
        self.lock().model.bytes()
    }

    /// Bytes of events held in the window.
    pub fn window_bytes(&self) -> usize {
        self.lock().window.bytes
    }

    /// Producers' and panels' WebSockets open now.
    pub fn connections(&self) -> usize {
        self.panels.load(Ordering::SeqCst) + self.producers.load(Ordering::SeqCst)
    }

    /// Counts a panel in; None when the limit is reached.
    pub fn panel_slot(self: &Arc<Self>) -> Option<Slot> {
        Slot::take(self, Role::Panel)
    }

    /// Counts a producer in; None when the limit is reached. Producers have their own slots,
    /// so panels can never keep them out.
    pub fn producer_slot(self: &Arc<Self>) -> Option<Slot> {
        Slot::take(self, Role::Producer)
    }

    /// A receiver whose `changed()` resolves when the server is stopping, at once if it
    /// already is: a connection accepted while the server stops would otherwise wait for a
    /// change that already happened, and stay open on a stopped hub for good.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        let mut rx = self.shutdown.subscribe();
        if *rx.borrow() {
            rx.mark_changed();
        }
        rx
    }

    /// Whether [`Hub::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// Tells every connection to close. A batch being accepted is finished first; then the
    /// store is flushed and closed and no event is accepted any more, so that a server
    /// started on the same data right after (a restart within one process) is its only
    /// writer.
    pub fn stop(&self) {
        {
            let mut state = self.lock();
            if !state.stopped {
                state.stopped = true;
                state.storage.close();
                // Released now, not when the last connection lets go of the hub: a server
                // started on the same data right after must get the directory's lock.
                state.storage = Box::new(Memory::new(String::new()));
            }
        }
        // send_replace: stored even when no receiver exists yet (a task that subscribes later sees it).
        self.shutdown.send_replace(true);
    }
}

#[derive(Clone, Copy)]
enum Role {
    Panel,
    Producer,
}

/// A connection's place among the connected panels or producers; freed on drop.
pub struct Slot(Arc<Hub>, Role);

impl Slot {
    fn take(hub: &Arc<Hub>, role: Role) -> Option<Slot> {
        let (count, max) = match role {
            Role::Panel => (&hub.panels, hub.config.max_panels),
            Role::Producer => (&hub.producers, hub.config.max_producers),
        };
        let n = count.fetch_add(1, Ordering::SeqCst);
        if n >= max {
            count.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Slot(hub.clone(), role))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        match self.1 {
            Role::Panel => self.0.panels.fetch_sub(1, Ordering::SeqCst),
            Role::Producer => self.0.producers.fetch_sub(1, Ordering::SeqCst),
        };
    }
}
