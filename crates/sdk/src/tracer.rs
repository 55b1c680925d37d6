//! The tracer: makes events and hands them to the background connection.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use user_trace_protocol::{Event, Op};

use crate::connection::{self, Sink};
use crate::handles::TraceHandle;
use crate::ids::{now_micros, process_name, Ids};

/// Why the tracer could not start.
#[derive(Debug)]
pub enum Error {
    /// The first connection failed (the tracer would retry if made with `connect_lazy`).
    Connect(String),
    /// The recording file could not be created.
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "cannot connect to the runtime: {e}"),
            Error::Io(e) => write!(f, "cannot write the recording: {e}"),
        }
    }
}

impl std::error::Error for Error {}

/// Options of a [`Tracer`], with defaults for a local runtime.
#[derive(Debug, Clone)]
pub struct TracerOptions {
    /// Shown on the panel's badges as `name@host:pid`. Default: the executable's name.
    pub process: Option<String>,
    /// Bearer token, when the runtime requires one.
    pub token: Option<String>,
    /// Events are gathered this long before a batch is sent.
    pub batch_time: Duration,
    /// Most events in one batch.
    pub batch_events: usize,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// Largest message sent, in bytes: the runtime's `--max-message-bytes` (16 MiB by
    /// default), over which it closes the connection. A larger batch is split; a single event
    /// larger than this is refused here, as the runtime would refuse it (counted in
    /// [`Stats::refused`], the reason on stderr), and the events after it go on.
    pub max_message_bytes: usize,
}

impl Default for TracerOptions {
    fn default() -> Self {
        Self {
            process: None,
            token: None,
            batch_time: Duration::from_millis(5),
            batch_events: 512,
            max_backoff: Duration::from_secs(2),
            max_message_bytes: 16 << 20,
        }
    }
}

/// Counters of what the tracer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events made.
    pub made: u64,
    /// Events the runtime acknowledged (accepted or refused), and events refused here.
    pub acked: u64,
    /// Events refused, by the runtime or, over [`TracerOptions::max_message_bytes`], by the
    /// tracer itself (a bug in the program: the reason went to stderr).
    pub refused: u64,
    /// Successful (re)connections.
    pub connections: u64,
}

pub(crate) struct Inner {
    pub process: String,
    pub ids: Ids,
    tx: mpsc::UnboundedSender<Event>,
    made: AtomicU64,
    pub(crate) progress: watch::Receiver<Stats>,
    /// Becomes true when the connection's task has ended (its socket closed).
    done: watch::Receiver<bool>,
}

/// A connection to a runtime; clone it freely.
#[derive(Clone)]
pub struct Tracer {
    pub(crate) inner: Arc<Inner>,
}

impl Tracer {
    /// Connects to a runtime's ingest URL (`ws://host:port/v1/ingest`), failing if it cannot
    /// be reached now. Later disconnections are retried. Several URLs, comma-separated (runtimes
    /// sharing one NATS JetStream stream), are tried in turn: after a failure the tracer moves
    /// to the next and resends what was not acknowledged there.
    pub async fn connect(url: &str) -> Result<Tracer, Error> {
        Self::connect_with(url, TracerOptions::default()).await
    }

    /// [`Tracer::connect`] with options.
    pub async fn connect_with(url: &str, options: TracerOptions) -> Result<Tracer, Error> {
        connection::probe(url, options.token.as_deref())
            .await
            .map_err(Error::Connect)?;
        Ok(Self::start(Sink::WebSocket(url.to_owned()), options))
    }

    /// Starts without waiting for the runtime: events are buffered until it is reachable.
    pub fn connect_lazy(url: &str, options: TracerOptions) -> Tracer {
        Self::start(Sink::WebSocket(url.to_owned()), options)
    }

    /// Appends events to a JSON Lines file instead of sending them (a recording to replay
    /// later). Several tracers may record into one file.
    pub fn record(path: impl Into<PathBuf>, options: TracerOptions) -> Result<Tracer, Error> {
        let path = path.into();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(Error::Io)?;
        Ok(Self::start(Sink::File(path), options))
    }

    fn start(sink: Sink, options: TracerOptions) -> Tracer {
        let name = options.process.clone().unwrap_or_else(|| {
            std::env::args()
                .next()
                .and_then(|a| {
                    std::path::Path::new(&a)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| "program".into())
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let (progress_tx, progress) = watch::channel(Stats::default());
        let (done_tx, done) = watch::channel(false);
        tokio::spawn(async move {
            connection::run(sink, options, rx, progress_tx).await;
            let _ = done_tx.send(true);
        });
        Tracer {
            inner: Arc::new(Inner {
                process: process_name(&name),
                ids: Ids::new(),
                tx,
                made: AtomicU64::new(0),
                progress,
                done,
            }),
        }
    }

    /// This process's name on the panel (`name@host:pid`).
    pub fn process(&self) -> &str {
        &self.inner.process
    }

    pub(crate) fn send(&self, op: Op) {
        let event = Event {
            id: self.inner.ids.next(),
            process: self.inner.process.clone(),
            ts: now_micros(),
            op,
        };
        self.inner.made.fetch_add(1, Ordering::Relaxed);
        // The receiver lives as long as the runtime; if it is gone the program is ending.
        let _ = self.inner.tx.send(event);
    }

    pub(crate) fn new_id(&self) -> String {
        self.inner.ids.next()
    }

    /// Forwards an event made elsewhere (a replay, a bridge), keeping its id and process.
    pub fn send_event(&self, event: Event) {
        self.inner.made.fetch_add(1, Ordering::Relaxed);
        let _ = self.inner.tx.send(event);
    }

    /// Starts a root trace; `name` is its label.
    pub fn trace(&self, name: &str) -> TraceHandle {
        TraceHandle::start(self, name, None, None)
    }

    /// Starts a root trace that carries `source`, the host's name for the part of the program
    /// that runs it (a node of a visual editor; protocol 1.2).
    pub fn trace_at(&self, name: &str, source: &str) -> TraceHandle {
        TraceHandle::start(self, name, None, Some(source))
    }

    /// Joins a trace that another process started (or will start) under the id `trace_id`:
    /// several processes write into one trace this way.
    pub fn join_trace(&self, trace_id: &str, name: &str) -> TraceHandle {
        TraceHandle::join(self, trace_id, name)
    }

    /// Drops everything on the panels (a new run).
    pub fn clear(&self) {
        self.send(Op::Clear);
    }

    /// Waits until every event made so far is acknowledged by the runtime.
    pub async fn flush(&self) {
        let target = self.inner.made.load(Ordering::Relaxed);
        let mut progress = self.inner.progress.clone();
        let _ = progress.wait_for(|s| s.acked >= target).await;
    }

    /// Waits until every event made so far is acknowledged ([`Tracer::flush`]); then, if this
    /// is the last clone of the tracer (trace and span handles hold clones too), closes the
    /// connection as the protocol asks and waits for that. Call it before the program exits:
    /// an exit cuts the connection a tracer merely dropped is closing, and the runtime logs a
    /// reset. With other clones alive the connection stays open for them, and closes when the
    /// last is dropped.
    pub async fn close(self) {
        self.flush().await;
        let mut done = self.inner.done.clone();
        if Arc::try_unwrap(self.inner).is_ok() {
            // Its sender dropped with it: the task closes the socket and ends.
            let _ = done.wait_for(|ended| *ended).await;
        }
    }

    pub fn stats(&self) -> Stats {
        let mut s = *self.inner.progress.borrow();
        s.made = self.inner.made.load(Ordering::Relaxed);
        s
    }
}
