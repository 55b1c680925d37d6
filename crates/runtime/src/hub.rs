//! The hub: orders accepted events into one numbered sequence, keeps the state and a window
//! of recent events for resuming panels, and fans events out to every panel.
//!
//! One lock guards the sequence, the window and the model, and subscribing takes it too: a
//! panel gets everything before its subscription from the window (or a snapshot) and everything
//! after from its channel, none lost and none twice.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, watch};
use user_trace_model::{Model, Options, Outcome};
use user_trace_protocol::message::EventResult;
use user_trace_protocol::{Event, EventError, ServerMessage};

use crate::config::Config;
use crate::journal::Journal;

/// One accepted event, serialized once and shared by every panel.
#[derive(Debug)]
pub struct Published {
    pub seq: u64,
    pub json: Box<str>,
}

/// How a subscribing panel starts.
pub enum Start {
    /// The events it missed (possibly none), then live ones.
    Resume(Vec<Arc<Published>>),
    /// A snapshot frame as of `seq`, then live ones.
    Snapshot { seq: u64, frame: String },
}

struct State {
    next_seq: u64,
    window: VecDeque<Arc<Published>>,
    model: Model,
    journal: Option<Journal>,
    /// Set by [`Hub::stop`]: no event is accepted (nor journaled) after it.
    stopped: bool,
}

pub struct Hub {
    pub config: Config,
    pub session: String,
    state: Mutex<State>,
    tx: broadcast::Sender<Arc<Published>>,
    panels: AtomicUsize,
    shutdown: watch::Sender<bool>,
}

/// The answer to a producer's batch.
pub struct Accepted {
    pub accepted: u64,
    pub rejected: Vec<EventError>,
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

impl Hub {
    /// Makes the hub, replaying the journal when one is configured.
    pub fn new(config: Config) -> std::io::Result<Arc<Hub>> {
        let options = Options {
            max_bytes: config.max_state_mib << 20,
            // Producers retry unacknowledged batches after a reconnect: a server remembers more
            // ids than a panel (9.4 MB, beside the state cap).
            dedup_window: 1 << 18,
            ..Options::default()
        };
        let mut state = State {
            next_seq: 1,
            window: VecDeque::new(),
            model: Model::new(options),
            journal: None,
            stopped: false,
        };
        let mut session = new_session_id();
        if let Some(path) = &config.journal {
            let (journal, replay) = Journal::open(path, &session)?;
            session = replay.session;
            let mut out = Outcome::default();
            let count = replay.events.len();
            for (seq, json) in replay.events {
                if let Ok(event) = serde_json::from_str(&json) {
                    out.clear();
                    state.model.apply(event, &mut out);
                }
                state.window.push_back(Arc::new(Published {
                    seq,
                    json: json.into(),
                }));
                if state.window.len() > config.retain_events {
                    state.window.pop_front();
                }
                state.next_seq = seq + 1;
            }
            tracing::info!(path = %path.display(), events = count, next_seq = state.next_seq, "journal replayed");
            state.journal = Some(journal);
        }
        let (tx, _) = broadcast::channel(config.panel_queue.max(16));
        let (shutdown, _) = watch::channel(false);
        Ok(Arc::new(Hub {
            config,
            session,
            state: Mutex::new(state),
            tx,
            panels: AtomicUsize::new(0),
            shutdown,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every mutation is one step).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Validates, numbers, journals and publishes a producer's events, in its order. Invalid
    /// events are refused with a reason and never reach panels; duplicates are accepted and
    /// dropped. None when the hub has stopped: nothing was accepted, the producer must send
    /// them again (to the next server).
    pub fn accept(&self, events: Vec<EventResult>) -> Option<Accepted> {
        let mut accepted = 0;
        let mut rejected = Vec::new();
        let mut published = Vec::new();
        let mut out = Outcome::default();
        let mut state = self.lock();
        if state.stopped {
            return None;
        }
        for (index, entry) in events.into_iter().enumerate() {
            let event = match entry {
                Ok(e) => e,
                Err(mut e) => {
                    e.index = index;
                    rejected.push(e);
                    continue;
                }
            };
            let json = event.to_json();
            let id = event.id.clone();
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
            let p = Arc::new(Published {
                seq,
                json: json.into(),
            });
            if let Some(j) = state.journal.as_mut() {
                if let Err(e) = j.append(seq, &p.json) {
                    tracing::error!(error = %e, "journal write failed");
                }
            }
            state.window.push_back(p.clone());
            if state.window.len() > self.config.retain_events {
                state.window.pop_front();
            }
            published.push(p);
        }
        if let Some(j) = state.journal.as_mut() {
            if let Err(e) = j.flush() {
                tracing::error!(error = %e, "journal flush failed");
            }
        }
        // Published under the lock, so that a subscriber sees each event exactly once.
        for p in published {
            let _ = self.tx.send(p);
        }
        drop(state);
        Some(Accepted { accepted, rejected })
    }

    /// Where a panel holding `(session, last_seq)` starts, and its channel of live events.
    pub fn subscribe(
        &self,
        session: Option<&str>,
        last_seq: Option<u64>,
    ) -> (Start, broadcast::Receiver<Arc<Published>>) {
        let state = self.lock();
        let rx = self.tx.subscribe();
        let head = state.next_seq - 1;
        let missed = match (session, last_seq) {
            (Some(s), Some(last)) if s == self.session && last <= head => {
                let oldest = state.window.front().map_or(head + 1, |p| p.seq);
                (last + 1 >= oldest).then(|| {
                    state
                        .window
                        .iter()
                        .filter(|p| p.seq > last)
                        .cloned()
                        .collect()
                })
            }
            _ => None,
        };
        match missed {
            Some(events) => (Start::Resume(events), rx),
            None => {
                let (seq, events) = Self::snapshot_locked(&state);
                drop(state);
                (Self::snapshot_frame(seq, events), rx)
            }
        }
    }

    /// The state as events, taken under the lock (a copy: texts are copied, JSON is shared).
    fn snapshot_locked(state: &State) -> (u64, Vec<Event>) {
        (state.next_seq - 1, state.model.snapshot_events())
    }

    /// Serializes a snapshot: the costly part, done without the lock so that producers and
    /// other panels do not wait for it (a panel reconnecting behind the window, again and
    /// again, would otherwise stall every producer).
    fn snapshot_frame(seq: u64, events: Vec<Event>) -> Start {
        let frame = ServerMessage::Snapshot { seq, events }.to_json();
        Start::Snapshot { seq, frame }
    }

    /// A fresh snapshot and channel, for a panel that fell too far behind.
    pub fn resync(&self) -> (Start, broadcast::Receiver<Arc<Published>>) {
        let state = self.lock();
        let rx = self.tx.subscribe();
        let (seq, events) = Self::snapshot_locked(&state);
        drop(state);
        (Self::snapshot_frame(seq, events), rx)
    }

    /// The last sequence number assigned.
    pub fn head(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// Counts a panel in; None when the limit is reached.
    pub fn panel_slot(self: &Arc<Self>) -> Option<PanelSlot> {
        let n = self.panels.fetch_add(1, Ordering::SeqCst);
        if n >= self.config.max_panels {
            self.panels.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(PanelSlot(self.clone()))
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
    /// journal is flushed and closed and no event is accepted any more, so that a server
    /// started on the same journal right after (a restart within one process) is its only
    /// writer.
    pub fn stop(&self) {
        {
            let mut state = self.lock();
            state.stopped = true;
            if let Some(mut journal) = state.journal.take() {
                if let Err(e) = journal.flush() {
                    tracing::error!(error = %e, "journal flush failed");
                }
            }
        }
        let _ = self.shutdown.send(true);
    }
}

/// A panel's place among the connected panels; freed on drop.
pub struct PanelSlot(Arc<Hub>);

impl Drop for PanelSlot {
    fn drop(&mut self) {
        self.0.panels.fetch_sub(1, Ordering::SeqCst);
    }
}
