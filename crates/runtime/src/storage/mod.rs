//! Where accepted events are kept: one small interface, two engines.
//!
//! - [`sqlite`]: the default, durable store: SQLite (bundled, WAL mode) in a data directory.
//!   A batch is acknowledged only after its transaction commits.
//! - [`memory`]: nothing is kept beyond the process (`--in-memory`).
//! - [`jetstream`]: across machines (`--nats URL`), the log is a NATS JetStream stream that
//!   several runtimes share; it numbers events itself, so the hub follows it instead of
//!   writing through this trait.
//!
//! The hub owns the model and the numbering; a store only keeps numbered events, folds them
//! into a snapshot when asked ([`Storage::compact`]) and gives everything back at start
//! ([`Loaded`]), checked: an event that does not read back exactly as written stops the start
//! with a message, never a silent loss.

pub mod jetstream;
pub mod lock;
pub mod memory;
pub mod rows;
pub mod sqlite;

use std::fmt;

use user_trace_protocol::Event;

/// One numbered event as stored: its sequence number and its JSON text.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub seq: u64,
    pub json: &'a str,
}

/// An event read back: its number, its text as stored and the event it decodes to.
#[derive(Debug)]
pub struct Stored {
    pub seq: u64,
    pub json: String,
    pub event: Event,
}

/// What a store held when opened.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The session id: the same across restarts, so that panels resume.
    pub session: String,
    /// The snapshot history was folded into, and the sequence number it stands for (0: none).
    pub snapshot_seq: u64,
    pub snapshot: Vec<Event>,
    /// Events up to `snapshot_seq` kept after folding, only for duplicate detection: a
    /// producer may resend an event whose acknowledgement a crash lost.
    pub recent: Vec<Event>,
    /// Events after the snapshot, in order.
    pub events: Vec<Stored>,
    /// Bytes of `events`: history not yet folded into the snapshot.
    pub history_bytes: u64,
}

/// A store's failure. Writes that fail are refused to their producer (never acknowledged).
#[derive(Debug)]
pub enum StorageError {
    /// The data is damaged: the runtime refuses to start rather than lose it silently.
    Damaged { file: String, what: String },
    /// Another runtime uses the data directory.
    Locked(String),
    /// The store is full (`--max-disk-mib`, or the disk itself).
    Full(String),
    /// Any other failure, with the engine's words.
    Other(String),
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Damaged { file, what } => write!(
                f,
                "{file} is damaged: {what}. Nothing was changed. To keep what is readable, \
                 run `user-trace-runtime --data {dir} --recover`: it moves the damaged file \
                 aside and starts a new one with every event that reads back intact",
                dir = std::path::Path::new(file)
                    .parent()
                    .map_or_else(|| ".".into(), |p| p.display().to_string())
            ),
            StorageError::Locked(m) | StorageError::Full(m) | StorageError::Other(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for StorageError {}

/// A place to keep numbered events.
pub trait Storage: Send {
    /// Keeps a batch of events, all or none. Returns only once they are as durable as the
    /// store promises (committed): the hub acknowledges after this.
    fn append(&mut self, events: &[Record<'_>]) -> Result<(), StorageError>;

    /// Folds the history up to `seq` into `snapshot` (the model's state as events, JSON) and
    /// frees the events before `keep_from` (those from it on are kept for duplicate
    /// detection, see [`Loaded::recent`]).
    fn compact(
        &mut self,
        seq: u64,
        snapshot: &[String],
        keep_from: u64,
    ) -> Result<(), StorageError>;

    /// Reads everything back (at start, and after a failed write, to drop what the model
    /// applied but the store refused).
    fn load(&mut self) -> Result<Loaded, StorageError>;

    /// Flushes and releases the store; nothing is written after this.
    fn close(&mut self);

    /// Bytes the store takes on disk (0 in memory).
    fn disk_bytes(&self) -> u64;

    /// Whether appends keep anything. A store that keeps nothing is not given a writer
    /// thread: its events count as committed as soon as they are applied.
    fn is_durable(&self) -> bool {
        true
    }
}

/// The checksum kept beside each stored event: SQLite checks its pages, not the values in
/// them, so a flipped byte in an event's text would otherwise read back as another event.
pub fn checksum(json: &str) -> u32 {
    crc32fast::hash(json.as_bytes())
}
