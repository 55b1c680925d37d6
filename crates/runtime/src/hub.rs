//! The hub: orders accepted events into one numbered sequence, stores them, keeps the state
//! and a window of recent events, and lets panels read from that window.
//!
//! One lock guards the sequence, the window and the model. A producer's batch is taken in
//! chunks of at most [`CHUNK_BYTES`], each applied and numbered under the lock, so that one
//! large batch never holds other producers and panels for long. A durable store is written by
//! a thread of its own (the writer), which commits whatever chunks are waiting in one
//! transaction (group commit) while the next are applied: the model's work and the store's
//! overlap, and no commit or fsync happens under the lock. Nothing is acknowledged or shown to
//! a panel before it is committed: panels read the window only up to the committed head, and a
//! producer's reply waits for it. A failed write drops everything applied after the committed
//! head (the state is read back from the store) and refuses those batches; an epoch counter
//! tells their waiters. The window is the only copy of recent events: panels read from it at
//! their own pace (a cursor each), so a panel that does not read holds nothing; one that falls
//! out of the window starts over from a snapshot.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
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

/// How a subscribing panel starts, its snapshot's events coming in chunks while a blocking
/// thread walks the model under the hub's lock ([`Hub::open`]).
pub enum Opening {
    /// From the window, after this sequence number.
    Resume(u64),
    /// The state as of `seq`, in chunks of events in order; an empty chunk ends it (the
    /// channel closing before that is a walk that did not finish). Send it only once
    /// [`Hub::committed`] says `seq` is.
    Snapshot {
        seq: u64,
        epoch: u64,
        chunks: tokio::sync::mpsc::UnboundedReceiver<Vec<Event>>,
    },
}

/// Events in each chunk of a snapshot being made.
const SNAPSHOT_CHUNK: usize = 1024;

/// How a subscribing panel starts, with the snapshot made whole ([`Hub::subscribe`]: tests and
/// callers that want it in one piece; a panel's connection uses [`Hub::open`], the same
/// decision with the snapshot in chunks).
pub enum Start {
    /// From the window, after this sequence number (possibly the head: nothing missed).
    Resume(u64),
    /// The state as events as of `seq` (serialize them without the hub's lock, whole or in
    /// parts), then from the window after it. The snapshot may hold events not yet
    /// committed: send it only once [`Hub::committed`] says they are.
    Snapshot {
        seq: u64,
        epoch: u64,
        events: Vec<Event>,
    },
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

/// How far the store has committed: every event up to `seq`. `epoch` goes up when a write
/// fails and what was applied after `seq` is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub epoch: u64,
    pub seq: u64,
}

/// A producer's batch applied to the model: its reply may be sent once the store has
/// committed up to `seq` in the same `epoch` ([`Hub::confirm`]).
pub struct Submitted {
    accepted: Accepted,
    epoch: u64,
    seq: u64,
}

struct State {
    next_seq: u64,
    /// Events up to here are committed: panels see them, producers get their replies.
    committed: u64,
    /// Goes up with every failed write (see [`Committed`]).
    epoch: u64,
    /// Applied and numbered, waiting for the writer (durable stores only), and its bytes.
    queue: Vec<Arc<Published>>,
    queue_bytes: usize,
    window: Window,
    model: Model,
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
    /// The store: written by the writer thread when durable, in order with compactions.
    /// Lock order: `storage` before `state`, never the other way.
    storage: Mutex<Box<dyn Storage>>,
    /// Whether the store keeps anything (a writer thread commits), or not (memory, or the
    /// shared log, which commits before events are applied).
    durable: bool,
    /// Wakes the writer: the queue has events, or the hub stops.
    to_write: Condvar,
    /// Wakes threads waiting for a commit ([`Hub::accept`], the compactor).
    written: Condvar,
    /// Wakes a large batch waiting for the writer to take the queue ([`Hub::wait_for_writer`]).
    room: Condvar,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The committed head; panels and producers' replies wait on it.
    head: watch::Sender<Committed>,
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
    /// Producers' presence, for the spans one leaves open (`crate::interrupt`).
    pub interrupts: crate::interrupt::Interrupts,
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
    format!("{:016x}", user_trace_protocol::random::random_u64())
}

/// What the hub's model accepts, for hellos to advertise: the model's defaults.
pub fn model_limits() -> user_trace_model::Limits {
    Options::default().limits
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

    /// The hub with the state `loaded` holds; a writer thread for a durable store.
    fn build(
        config: Config,
        storage: Box<dyn Storage>,
        loaded: Loaded,
        nats: Option<JetStream>,
    ) -> Arc<Hub> {
        let session = loaded.session.clone();
        let r = rebuild(&config, loaded);
        let durable = storage.is_durable() && nats.is_none();
        let state = State {
            next_seq: r.next_seq,
            committed: r.next_seq - 1,
            epoch: 0,
            queue: Vec::new(),
            queue_bytes: 0,
            window: r.window,
            model: r.model,
            history_bytes: r.history_bytes,
            compacting: false,
            full: false,
            failed: None,
            broken: false,
            stopped: false,
        };
        let (head, _) = watch::channel(Committed {
            epoch: 0,
            seq: r.next_seq - 1,
        });
        let (shutdown, _) = watch::channel(false);
        let interrupt_grace_ms = config.interrupt_grace_ms;
        let hub = Arc::new(Hub {
            config,
            session,
            state: Mutex::new(state),
            storage: Mutex::new(storage),
            durable,
            to_write: Condvar::new(),
            written: Condvar::new(),
            room: Condvar::new(),
            writer: Mutex::new(None),
            head,
            panels: AtomicUsize::new(0),
            producers: AtomicUsize::new(0),
            shutdown,
            compact: Notify::new(),
            snapshots: Semaphore::new(2),
            large_frames: Semaphore::new(2),
            interrupts: crate::interrupt::Interrupts::new(std::time::Duration::from_millis(
                interrupt_grace_ms,
            )),
            large_messages: Semaphore::new(2),
            nats,
        });
        if durable {
            // The writer holds the hub only while it writes: a hub dropped without a stop
            // (in tests) ends it, and the store closes with the hub.
            let weak = Arc::downgrade(&hub);
            let spawned = std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || writer(weak));
            match spawned {
                Ok(handle) => *hub.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle),
                Err(e) => {
                    // Without a writer nothing could be committed: refuse every batch.
                    tracing::error!(error = %e, "cannot start the store's writer thread");
                    let mut state = hub.lock();
                    state.broken = true;
                    state.failed = Some((Instant::now(), format!("no writer thread: {e}")));
                }
            }
        }
        hub
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
        // The shared log committed them before this instance saw them.
        let head = state.next_seq - 1;
        state.committed = head;
        let epoch = state.epoch;
        let compact = !state.compacting
            && state.history_bytes > ((self.config.max_state_mib as u64) << 20) / 4;
        drop(state);
        self.head.send_if_modified(|h| {
            let new = Committed { epoch, seq: head };
            std::mem::replace(h, new) != new
        });
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

    /// The keys of the open spans whose creator and other writers `keep` accepts (the spans a
    /// producer that went away left open: `crate::interrupt`).
    pub fn open_spans(&self, keep: &dyn Fn(&str, &[Arc<str>]) -> bool) -> Vec<String> {
        self.lock()
            .model
            .open_span_keys(|s| s.interrupted().is_none() && keep(&s.process, s.writers()))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every mutation is one step).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Validates, numbers, stores and publishes a producer's events, in its order, and waits
    /// (blocking the thread) until they are committed. Invalid events are refused with a
    /// reason and never reach panels; duplicates are accepted and dropped. Acknowledge only an
    /// `Ok`: every event it counts is committed to the store.
    pub fn accept(&self, events: Vec<EventResult>) -> Result<Accepted, Refused> {
        let submitted = self.submit(events)?;
        let mut state = self.lock();
        while state.epoch == submitted.epoch && state.committed < submitted.seq {
            state = self.written.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        Self::outcome(&state, submitted)
    }

    /// [`Hub::accept`] for async tasks: [`Hub::submit`], then this waits for the commit.
    pub async fn confirm(&self, submitted: Submitted) -> Result<Accepted, Refused> {
        let mut head = self.head.subscribe();
        loop {
            let c = *head.borrow_and_update();
            // The watch may lag the state: an older epoch is not yet a failure.
            if c.epoch > submitted.epoch || (c.epoch == submitted.epoch && c.seq >= submitted.seq) {
                break;
            }
            if head.changed().await.is_err() {
                return Err(Refused::Stopping);
            }
        }
        Self::outcome(&self.lock(), submitted)
    }

    /// The reply to a submitted batch once the store has moved past it.
    fn outcome(state: &State, submitted: Submitted) -> Result<Accepted, Refused> {
        if state.epoch != submitted.epoch {
            let why = state
                .failed
                .as_ref()
                .map_or_else(|| "a write failed".to_owned(), |(_, w)| w.clone());
            return Err(Refused::Storage(why));
        }
        Ok(submitted.accepted)
    }

    /// Applies and numbers a producer's events and hands them to the writer; the reply may
    /// be sent once they are committed ([`Hub::confirm`], or [`Hub::accept`] which waits).
    pub fn submit(&self, events: Vec<EventResult>) -> Result<Submitted, Refused> {
        // Serialized before taking the lock: the costly part for large events.
        let prepared: Vec<Prepared> = events
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
        let mut epoch = None;
        let mut seq = 0;
        let mut rest = prepared.into_iter();
        while rest.len() > 0 {
            // A chunk: events until CHUNK_BYTES is reached, at least one.
            let mut len = 0;
            let mut bytes = 0;
            for next in rest.as_slice() {
                if len > 0 && bytes >= CHUNK_BYTES {
                    break;
                }
                bytes += next.1.as_ref().map_or(0, |(_, j)| j.len());
                len += 1;
            }
            if epoch.is_some() {
                self.wait_for_writer();
            }
            let applied = self.apply_chunk(rest.by_ref().take(len), epoch)?;
            accepted += applied.accepted.accepted;
            rejected.extend(applied.accepted.rejected);
            epoch = Some(applied.epoch);
            seq = applied.seq;
        }
        let Some(epoch) = epoch else {
            // An empty batch: nothing to wait for.
            let state = self.lock();
            return Ok(Submitted {
                accepted: Accepted {
                    accepted: 0,
                    rejected,
                },
                epoch: state.epoch,
                seq: 0,
            });
        };
        Ok(Submitted {
            accepted: Accepted { accepted, rejected },
            epoch,
            seq,
        })
    }

    /// Waits until at most one chunk's bytes are queued (the writer takes the whole queue and
    /// wakes this as it does, so the next chunk is applied while one is written): a large
    /// batch goes in chunk by chunk, so that another producer's batch, numbered after what is
    /// queued, waits for the commit of a chunk or two, not of the whole batch. On a blocking
    /// thread only (a batch of more than one chunk is handled on one).
    fn wait_for_writer(&self) {
        if !self.durable {
            return;
        }
        let mut state = self.lock();
        while state.queue_bytes > CHUNK_BYTES && !state.stopped {
            state = self.room.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Applies one chunk under the lock and queues it for the writer. `epoch`: the one the
    /// batch's first chunk was applied in; a failed write since then refuses the rest (the
    /// batch's first part was dropped with it).
    fn apply_chunk(
        &self,
        chunk: impl Iterator<Item = Prepared>,
        epoch: Option<u64>,
    ) -> Result<Submitted, Refused> {
        let mut accepted = 0;
        let mut rejected = Vec::new();
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
        if epoch.is_some_and(|e| e != state.epoch) {
            return Err(Refused::Storage(
                "a write failed while the batch was being stored".into(),
            ));
        }
        let (max_events, max_bytes) = (self.config.retain_events, self.config.retain_mib << 20);
        for (index, entry) in chunk {
            let (event, json) = match entry {
                Ok(e) => e,
                Err(e) => {
                    rejected.push(e);
                    continue;
                }
            };
            cleared |= matches!(event.op, Op::Clear);
            out.clear();
            state.model.apply(event, &mut out);
            if let Some(r) = out.rejected.pop() {
                // The model hands the refused event's id back.
                rejected.push(EventError {
                    index,
                    id: r.event_id,
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
            let p = Arc::new(Published {
                seq,
                json: json.into(),
            });
            state.history_bytes += p.json.len() as u64;
            // In the window at once, but panels read it only up to the committed head.
            state.window.push(p.clone(), max_events, max_bytes);
            if self.durable {
                state.queue_bytes += p.json.len();
                state.queue.push(p);
            }
        }
        // A batch of duplicates waits for everything applied before it too: its events may
        // be among them, not yet committed.
        let seq = state.next_seq - 1;
        let epoch = state.epoch;
        if self.durable {
            if !state.queue.is_empty() {
                self.to_write.notify_one();
            }
        } else if state.committed != seq {
            state.committed = seq;
            self.head.send_replace(Committed { epoch, seq });
        }
        let compact = !state.compacting
            && (cleared
                || state.history_bytes > COMPACT_AFTER_BYTES.max(state.model.bytes() as u64));
        drop(state);
        if compact {
            self.compact.notify_one();
        }
        Ok(Submitted {
            accepted: Accepted { accepted, rejected },
            epoch,
            seq,
        })
    }

    /// One turn of the writer: waits for queued events, commits them in one transaction and
    /// publishes the new committed head. False once the hub has stopped and nothing is left.
    fn write_queued(&self) -> bool {
        let batch = {
            let mut state = self.lock();
            if state.queue.is_empty() && !state.stopped {
                // Bounded, so that a hub dropped without a stop lets its writer go.
                state = self
                    .to_write
                    .wait_timeout(state, Duration::from_millis(200))
                    .map_or_else(|p| p.into_inner().0, |r| r.0);
            }
            if state.queue.is_empty() {
                return !state.stopped;
            }
            state.queue_bytes = 0;
            // The next chunk is applied while this one is written.
            self.room.notify_all();
            std::mem::take(&mut state.queue)
        };
        // Taken after the queue (only this thread appends, so the order holds): a compaction
        // is not kept waiting while the writer idles.
        let mut storage = self.storage.lock().unwrap_or_else(|p| p.into_inner());
        let records: Vec<Record<'_>> = batch
            .iter()
            .map(|p| Record {
                seq: p.seq,
                json: &p.json,
            })
            .collect();
        let result = storage.append(&records);
        drop(records);
        let last = batch.last().map_or(0, |p| p.seq);
        drop(batch);
        let mut state = self.lock();
        match result {
            Ok(()) => {
                state.committed = last;
                state.failed = None;
                self.head.send_replace(Committed {
                    epoch: state.epoch,
                    seq: last,
                });
            }
            Err(e) => self.write_failed(&mut storage, &mut state, e),
        }
        drop(state);
        self.written.notify_all();
        // A failed write emptied the queue: a batch waiting for room learns of it now.
        self.room.notify_all();
        true
    }

    /// A write failed: the model applied events the store does not have, so the state is read
    /// back from the store (what it has is exactly what was committed); every batch applied
    /// after the committed head is refused (a new epoch), and new ones for a moment.
    fn write_failed(&self, storage: &mut Box<dyn Storage>, state: &mut State, e: StorageError) {
        let why = e.to_string();
        tracing::error!(error = %why, "storage write failed: batches refused");
        state.epoch += 1;
        state.queue.clear();
        state.queue_bytes = 0;
        match storage.load() {
            Ok(loaded) => {
                let r = rebuild(&self.config, loaded);
                state.model = r.model;
                state.next_seq = r.next_seq;
                state.committed = r.next_seq - 1;
                state.history_bytes = r.history_bytes;
                // Panels already have the window's committed events; only its bound matters.
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
                // Nothing applied after the committed head may reach a panel.
                while state
                    .window
                    .events
                    .back()
                    .is_some_and(|p| p.seq > state.committed)
                {
                    if let Some(p) = state.window.events.pop_back() {
                        state.window.bytes -= p.json.len();
                    }
                }
                state.next_seq = state.committed + 1;
            }
        }
        if matches!(e, StorageError::Full(_)) {
            // Folding the history into a snapshot may free what the state no longer needs.
            state.full = true;
            self.compact.notify_one();
        }
        state.failed = Some((Instant::now(), why));
        self.head.send_replace(Committed {
            epoch: state.epoch,
            seq: state.committed,
        });
    }

    /// Whether everything up to `seq` is committed, waiting for it; false when a failed write
    /// dropped it (`epoch` is over) or the hub stopped first.
    pub async fn committed(&self, epoch: u64, seq: u64) -> bool {
        let mut head = self.head.subscribe();
        loop {
            let c = *head.borrow_and_update();
            if c.epoch > epoch {
                return false;
            }
            if c.epoch == epoch && c.seq >= seq {
                return true;
            }
            if head.changed().await.is_err() {
                return false;
            }
        }
    }

    /// Blocking [`Hub::committed`], for threads.
    fn committed_blocking(&self, epoch: u64, seq: u64) -> bool {
        let mut state = self.lock();
        while state.epoch == epoch && state.committed < seq && !state.stopped {
            state = self.written.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.epoch == epoch && state.committed >= seq
    }

    /// Folds the stored history into a snapshot of the state (run by [`Hub::compactor`]).
    pub fn compact_now(&self) {
        let (seq, epoch, events, folded_bytes, keep_none) = {
            let mut state = self.lock();
            if state.stopped || state.compacting {
                return;
            }
            state.compacting = true;
            let seq = state.next_seq - 1;
            let events = state.model.snapshot_events();
            let keep_none = state.model.bytes() == 0 || std::mem::take(&mut state.full);
            (seq, state.epoch, events, state.history_bytes, keep_none)
        };
        // Serialized without the lock; written in order with the writer's appends.
        let snapshot: Vec<String> = events.iter().map(Event::to_json).collect();
        drop(events);
        // After a clear nothing before it matters, not even for duplicates; a full store
        // keeps nothing it can do without.
        let keep_from = if keep_none {
            seq + 1
        } else {
            seq.saturating_sub(KEEP_AFTER_COMPACTION) + 1
        };
        // The snapshot stands for events up to `seq`: they must be in the store first (and
        // a failed write since it was taken makes it wrong).
        let ready = self.committed_blocking(epoch, seq);
        let started = Instant::now();
        let mut storage = self.storage.lock().unwrap_or_else(|p| p.into_inner());
        let result = if ready && !self.is_stopped() {
            Some(storage.compact(seq, &snapshot, keep_from))
        } else {
            None
        };
        let mut state = self.lock();
        state.compacting = false;
        match result {
            Some(Ok(())) => {
                state.history_bytes = state.history_bytes.saturating_sub(folded_bytes);
                tracing::info!(
                    seq,
                    snapshot_events = snapshot.len(),
                    folded_bytes,
                    disk_bytes = storage.disk_bytes(),
                    ms = started.elapsed().as_millis() as u64,
                    "history folded into a snapshot"
                );
            }
            Some(Err(e)) => tracing::error!(error = %e, "compaction failed (nothing lost)"),
            None => {}
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

    /// Whether a panel holding `(session, last_seq)` resumes from the window: where, if so.
    fn resumes(&self, state: &State, session: Option<&str>, last_seq: Option<u64>) -> Option<u64> {
        let head = state.committed;
        let (s, last) = (session?, last_seq?);
        let oldest = state.window.oldest().unwrap_or(head + 1);
        (s == self.session && last <= head && last + 1 >= oldest).then_some(last)
    }

    /// [`Hub::subscribe`], with a snapshot's events handed over in chunks as they are made:
    /// the first part of a large snapshot (its newest traces) can be on its way while the rest
    /// is made, where `subscribe` makes all of it first (1.8 s for a million spans in a
    /// runtime just started). The walk holds the hub's lock, as `subscribe` does, on a
    /// blocking thread; it stops if the receiver is dropped. None: the thread failed.
    pub async fn open(
        self: &Arc<Self>,
        session: Option<String>,
        last_seq: Option<u64>,
    ) -> Option<Opening> {
        let (first_tx, first_rx) = tokio::sync::oneshot::channel();
        let hub = self.clone();
        tokio::task::spawn_blocking(move || {
            let state = hub.lock();
            if let Some(last) = hub.resumes(&state, session.as_deref(), last_seq) {
                let _ = first_tx.send(Opening::Resume(last));
                return;
            }
            let (tx, chunks) = tokio::sync::mpsc::unbounded_channel();
            // The model holds what was applied, committed or not.
            let (seq, epoch) = (state.next_seq - 1, state.epoch);
            if first_tx
                .send(Opening::Snapshot { seq, epoch, chunks })
                .is_err()
            {
                return;
            }
            let mut chunk = Vec::with_capacity(SNAPSHOT_CHUNK);
            let mut open = true;
            state.model.snapshot_each(&mut |e| {
                chunk.push(e);
                if chunk.len() == SNAPSHOT_CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(SNAPSHOT_CHUNK));
                    open = tx.send(full).is_ok();
                }
                open
            });
            if open && !chunk.is_empty() {
                open = tx.send(chunk).is_ok();
            }
            if open {
                let _ = tx.send(Vec::new());
            }
        });
        first_rx.await.ok()
    }

    /// Where a panel holding `(session, last_seq)` starts.
    pub fn subscribe(&self, session: Option<&str>, last_seq: Option<u64>) -> Start {
        let state = self.lock();
        if let Some(last) = self.resumes(&state, session, last_seq) {
            return Start::Resume(last);
        }
        // The model holds what was applied, committed or not.
        let (seq, epoch, events) = (
            state.next_seq - 1,
            state.epoch,
            state.model.snapshot_events(),
        );
        Start::Snapshot { seq, epoch, events }
    }

    /// A fresh snapshot, for a panel that fell out of the window.
    pub fn resync(&self) -> Start {
        self.subscribe(None, None)
    }

    /// Events after `after`, up to about `max_bytes` (at least one).
    pub fn read_after(&self, after: u64, max_bytes: usize) -> Read {
        let state = self.lock();
        let head = state.committed;
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
            if p.seq > head || (!out.is_empty() && bytes + p.json.len() > max_bytes) {
                break;
            }
            bytes += p.json.len() + 1;
            out.push(p.clone());
        }
        Read::Events(out)
    }

    /// Resolves when the committed head moves past what the receiver saw.
    pub fn watch_head(&self) -> watch::Receiver<Committed> {
        self.head.subscribe()
    }

    /// The last sequence number committed (what panels can read up to).
    pub fn head(&self) -> u64 {
        self.lock().committed
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
        let first = {
            let mut state = self.lock();
            !std::mem::replace(&mut state.stopped, true)
        };
        if first {
            // The writer commits what is queued, then ends.
            self.to_write.notify_all();
            let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(w) = writer {
                if w.join().is_err() {
                    tracing::error!("the store's writer thread panicked");
                }
            }
            self.written.notify_all();
            self.room.notify_all();
            let mut storage = self.storage.lock().unwrap_or_else(|p| p.into_inner());
            storage.close();
            // Released now, not when the last connection lets go of the hub: a server
            // started on the same data right after must get the directory's lock.
            *storage = Box::new(Memory::new(String::new()));
        }
        // send_replace: stored even when no receiver exists yet (a task that subscribes later sees it).
        self.shutdown.send_replace(true);
    }
}

/// The store's writer thread: commits what the hub queues until the hub stops (or is gone).
fn writer(hub: Weak<Hub>) {
    while let Some(hub) = hub.upgrade() {
        if !hub.write_queued() {
            return;
        }
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

#[cfg(test)]
mod writer_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// A hub on the memory store whose window keeps `retain` events.
    fn hub(retain: usize) -> Arc<Hub> {
        let mut c = Config::default_for("127.0.0.1:0".parse().expect("an address"));
        c.in_memory = true;
        c.retain_events = retain;
        Hub::new(c).expect("a hub")
    }

    /// Accepts `n` trace starts (same length each), numbered on from the hub's head.
    fn accept(hub: &Hub, n: u64) {
        let from = hub.head();
        let events: Vec<EventResult> = (from + 1..=from + n)
            .map(|k| {
                Ok(Event {
                    id: format!("e{k:04}"),
                    process: "p".into(),
                    ts: k,
                    op: Op::TraceStart {
                        trace: format!("t{k:04}"),
                        name: "t".into(),
                        parent_span: None,
                        source: None,
                    },
                })
            })
            .collect();
        let a = hub.accept(events).expect("accepted");
        assert_eq!(a.accepted, n);
    }

    pub(super) fn seqs(read: Read) -> Option<Vec<u64>> {
        match read {
            Read::Events(list) => Some(list.iter().map(|p| p.seq).collect()),
            Read::Behind => None,
        }
    }

    fn published(seq: u64, len: usize) -> Arc<Published> {
        Arc::new(Published {
            seq,
            json: "x".repeat(len).into(),
        })
    }

    #[test]
    fn the_window_keeps_its_bounds_exactly_and_always_the_newest() {
        let mut w = Window::default();
        for seq in 1..=3 {
            w.push(published(seq, 10), 3, 30);
        }
        assert_eq!((w.events.len(), w.bytes, w.oldest()), (3, 30, Some(1)));
        // One more than either bound: the oldest goes.
        w.push(published(4, 10), 3, 1000);
        assert_eq!((w.events.len(), w.bytes, w.oldest()), (3, 30, Some(2)));
        w.push(published(5, 10), 1000, 30);
        assert_eq!((w.events.len(), w.bytes, w.oldest()), (3, 30, Some(3)));
        // A byte over the bound drops one more.
        w.push(published(6, 11), 1000, 30);
        assert_eq!((w.events.len(), w.bytes, w.oldest()), (2, 21, Some(5)));
        // The newest stays even when it alone is over the bound.
        w.push(published(7, 100), 1000, 30);
        assert_eq!((w.events.len(), w.bytes, w.oldest()), (1, 100, Some(7)));
        assert_eq!(Window::default().oldest(), None);
    }

    #[test]
    fn a_panel_reads_after_its_cursor_at_every_edge_of_the_window() {
        let hub = hub(4);
        assert_eq!(seqs(hub.read_after(0, 1 << 20)), Some(vec![]), "empty");
        accept(&hub, 6);
        // The window holds 3..=6.
        assert_eq!(
            seqs(hub.read_after(6, 1 << 20)),
            Some(vec![]),
            "at the head"
        );
        assert_eq!(seqs(hub.read_after(9, 1 << 20)), Some(vec![]), "past it");
        assert_eq!(seqs(hub.read_after(5, 1 << 20)), Some(vec![6]));
        assert_eq!(seqs(hub.read_after(2, 1 << 20)), Some(vec![3, 4, 5, 6]));
        assert_eq!(seqs(hub.read_after(1, 1 << 20)), None, "just out of it");
        assert_eq!(seqs(hub.read_after(0, 1 << 20)), None);
        // The byte bound: at least one event; each counts its length and a separator.
        let len = match hub.read_after(2, 1 << 20) {
            Read::Events(list) => list[0].json.len(),
            Read::Behind => panic!("behind"),
        };
        assert_eq!(seqs(hub.read_after(2, 0)), Some(vec![3]));
        assert_eq!(seqs(hub.read_after(2, 2 * len)), Some(vec![3]));
        assert_eq!(seqs(hub.read_after(2, 2 * len + 1)), Some(vec![3, 4]));
        assert_eq!(seqs(hub.read_after(2, 3 * len + 2)), Some(vec![3, 4, 5]));
        hub.stop();
    }

    #[test]
    fn a_panel_resumes_inside_the_window_and_gets_a_snapshot_outside_it() {
        let hub = hub(4);
        let session = hub.session.clone();
        let start = |s: Option<&str>, last: Option<u64>| match hub.subscribe(s, last) {
            Start::Resume(at) => Ok(at),
            Start::Snapshot { seq, .. } => Err(seq),
        };
        assert_eq!(start(Some(&session), Some(0)), Ok(0), "an empty server");
        assert_eq!(start(Some(&session), Some(1)), Err(0), "past an empty head");
        accept(&hub, 6);
        assert_eq!(start(Some(&session), Some(6)), Ok(6), "at the head");
        assert_eq!(
            start(Some(&session), Some(2)),
            Ok(2),
            "at the window's edge"
        );
        assert_eq!(start(Some(&session), Some(1)), Err(6), "just out of it");
        assert_eq!(start(Some(&session), Some(7)), Err(6), "past the head");
        assert_eq!(start(Some("other"), Some(6)), Err(6), "another session");
        assert_eq!(start(Some(&session), None), Err(6));
        assert_eq!(start(None, Some(6)), Err(6));
        assert!(matches!(hub.resync(), Start::Snapshot { seq: 6, .. }));
        hub.stop();
    }

    /// What a panel's subscribe uses: the same decision as `subscribe` at every edge, and the
    /// same snapshot, in chunks that end with an empty one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_decides_as_subscribe_does_and_hands_over_the_same_snapshot_in_chunks() {
        let hub = hub(4);
        let session = hub.session.clone();
        let opens = |s: Option<&str>, last: Option<u64>| {
            let (hub, s) = (hub.clone(), s.map(str::to_owned));
            async move {
                match hub.open(s, last).await.expect("opens") {
                    Opening::Resume(at) => Ok(at),
                    Opening::Snapshot { seq, .. } => Err(seq),
                }
            }
        };
        assert_eq!(
            opens(Some(&session), Some(0)).await,
            Ok(0),
            "an empty server"
        );
        assert_eq!(opens(Some(&session), Some(1)).await, Err(0));
        accept(&hub, 2_500);
        let head = 2_500;
        for (s, last) in [
            (Some(session.as_str()), Some(head)),
            (Some(session.as_str()), Some(head - 4)),
            (Some(session.as_str()), Some(head - 5)),
            (Some(session.as_str()), Some(head + 1)),
            (Some("other"), Some(head)),
            (None, Some(head)),
            (Some(session.as_str()), None),
        ] {
            let want = match hub.subscribe(s, last) {
                Start::Resume(at) => Ok(at),
                Start::Snapshot { seq, .. } => Err(seq),
            };
            assert_eq!(opens(s, last).await, want, "{s:?} {last:?}");
        }
        let Start::Snapshot { events: whole, .. } = hub.resync() else {
            panic!("a snapshot")
        };
        let Some(Opening::Snapshot {
            seq, mut chunks, ..
        }) = hub.open(None, None).await
        else {
            panic!("a snapshot")
        };
        assert_eq!(seq, head);
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        while let Some(chunk) = chunks.recv().await {
            sizes.push(chunk.len());
            if chunk.is_empty() {
                break;
            }
            got.extend(chunk);
        }
        assert_eq!(
            sizes,
            [
                SNAPSHOT_CHUNK,
                SNAPSHOT_CHUNK,
                2_500 - 2 * SNAPSHOT_CHUNK,
                0
            ]
        );
        let ids = |list: &[Event]| list.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&whole));
        assert_eq!(
            got.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
            whole.iter().map(|e| e.to_json()).collect::<Vec<_>>()
        );
        hub.stop();
    }

    #[test]
    fn every_memory_store_starts_a_session_of_its_own_and_the_disk_cap_is_in_mib() {
        let (a, b) = (hub(10), hub(10));
        assert_eq!(a.session.len(), 16);
        assert!(a.session.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(
            a.session, b.session,
            "a restart in memory must start panels over"
        );
        let mut c = Config::default_for("127.0.0.1:0".parse().expect("an address"));
        c.max_disk_mib = 3;
        assert_eq!(sqlite_options(&c).max_disk_bytes, 3 << 20);
    }

    #[test]
    fn a_compaction_is_asked_for_after_a_clear_not_for_a_small_history() {
        use futures_util::FutureExt;
        let hub = hub(10);
        accept(&hub, 3);
        // History well past the state (empty appends change nothing but are stored), yet
        // far under the 64 MiB a compaction waits for.
        let span = Event {
            id: "s".into(),
            process: "p".into(),
            ts: 4,
            op: Op::SpanCreate {
                trace: "t0001".into(),
                span: "s".into(),
                kind: user_trace_protocol::SpanKind::Text,
                title: None,
                content: user_trace_protocol::Content::Text(String::new()),
                source: None,
            },
        };
        assert!(hub.accept(vec![Ok(span)]).is_ok());
        let appends: Vec<EventResult> = (0..2_000)
            .map(|k| {
                Ok(Event {
                    id: format!("a{k}"),
                    process: "p".into(),
                    ts: 5 + k,
                    op: Op::TextAppend {
                        span: "s".into(),
                        text: String::new(),
                    },
                })
            })
            .collect();
        assert!(hub.accept(appends).is_ok());
        let (history, state) = {
            let s = hub.lock();
            (s.history_bytes, s.model.bytes() as u64)
        };
        assert!(
            history > state,
            "{history} bytes of history, {state} of state"
        );
        // A permit is stored when it is asked for while no compactor waits.
        assert!(hub.compact.notified().now_or_never().is_none());
        let clear = Event {
            id: "c".into(),
            process: "p".into(),
            ts: 9,
            op: Op::Clear,
        };
        assert!(hub.accept(vec![Ok(clear)]).is_ok());
        assert!(hub.compact.notified().now_or_never().is_some());
    }

    #[test]
    fn the_model_follows_the_configured_state_cap_and_remembers_more_ids_than_a_panel() {
        let mut c = Config::default_for("127.0.0.1:0".parse().expect("an address"));
        c.max_state_mib = 3;
        let o = model_options(&c);
        assert_eq!(o.max_bytes, 3 << 20);
        assert_eq!(o.dedup_window, 1 << 18);
        assert!(o.dedup_window > Options::default().dedup_window);
    }

    #[test]
    fn a_restart_puts_the_stored_events_back_in_the_window_and_numbers_on() {
        let mut c = Config::default_for("127.0.0.1:0".parse().expect("an address"));
        c.retain_mib = 1;
        let events = (5..=7)
            .map(|seq| {
                let json = format!(
                    r#"{{"id":"e{seq}","process":"p","ts":{seq},"op":"trace_start","trace":"t{seq}","name":"t"}}"#
                );
                let event = decode_event(0, &json).expect("an event");
                crate::storage::Stored { seq, json, event }
            })
            .collect();
        let loaded = Loaded {
            session: "s".into(),
            snapshot_seq: 4,
            snapshot: Vec::new(),
            recent: Vec::new(),
            events,
            history_bytes: 300,
        };
        let r = rebuild(&c, loaded);
        assert_eq!(r.next_seq, 8);
        assert_eq!(r.history_bytes, 300);
        let kept: Vec<u64> = r.window.events.iter().map(|p| p.seq).collect();
        assert_eq!(kept, [5, 6, 7], "all of them, well under a MiB");
        assert_eq!(r.model.roots().len(), 3);
    }

    #[test]
    fn after_a_restart_with_an_empty_window_only_a_panel_at_the_head_resumes() {
        let c = Config::default_for("127.0.0.1:0".parse().expect("an address"));
        let loaded = Loaded {
            session: "s".into(),
            snapshot_seq: 6,
            snapshot: Vec::new(),
            recent: Vec::new(),
            events: Vec::new(),
            history_bytes: 0,
        };
        let hub = Hub::build(c, Box::new(Memory::new("s".into())), loaded, None);
        assert_eq!(hub.head(), 6);
        assert!(matches!(
            hub.subscribe(Some("s"), Some(6)),
            Start::Resume(6)
        ));
        assert!(matches!(
            hub.subscribe(Some("s"), Some(5)),
            Start::Snapshot { seq: 6, .. }
        ));
        assert!(matches!(hub.read_after(5, 1 << 20), Read::Behind));
        assert_eq!(seqs(hub.read_after(6, 1 << 20)), Some(vec![]));
        hub.stop();
    }
}
