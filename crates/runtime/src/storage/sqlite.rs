//! The default store: SQLite, bundled (nothing needed from the system), in WAL mode, one file
//! `events.db` in the data directory.
//!
//! Tables: `meta` (format, session, the snapshot's sequence number), `batches` (the events,
//! a row for a run of them: [`super::rows`] says how), `snapshot` (the folded history as
//! events, in order, one a row with its checksum). A batch is one transaction. `--sync`
//! chooses what a commit waits for (RELIABILITY.md says what each mode can lose on a power
//! cut); a process crash loses nothing committed in any mode.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};
use user_trace_protocol::{decode_event, Event};

use super::lock::DirLock;
use super::rows::{self, Row};
use super::{checksum, Loaded, Record, Storage, StorageError, Stored};

/// The database file's name inside the data directory.
pub const FILE: &str = "events.db";
/// The layout version kept in `meta`; a file of another layout is refused, not misread.
/// Layout 1 (one row an event, table `events`) is moved to this one when opened.
const FORMAT: &str = "2";
/// Adds one row of events.
const INSERT_ROW: &str = "INSERT INTO batches (seq, count, json, crcs) VALUES (?1, ?2, ?3, ?4)";

/// What a commit waits for (`--sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncMode {
    /// Waits for nothing: a process crash loses nothing committed, a power cut can lose the
    /// last seconds and, rarely, damage the file.
    Off,
    /// The WAL is synced at checkpoints: a power cut can lose the transactions since the last
    /// one, never damages the file.
    Normal,
    /// Every commit is synced before its acknowledgement: a power cut loses nothing
    /// acknowledged.
    Full,
}

impl SyncMode {
    fn pragma(self) -> &'static str {
        match self {
            SyncMode::Off => "OFF",
            SyncMode::Normal => "NORMAL",
            SyncMode::Full => "FULL",
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct Options {
    pub dir: PathBuf,
    pub sync: SyncMode,
    /// Largest size of the database in bytes (0: the disk's); past it, writes are refused as
    /// on a full disk until a compaction or a `clear` frees space.
    pub max_disk_bytes: u64,
}

pub struct Sqlite {
    conn: Connection,
    file: PathBuf,
    _lock: DirLock,
    closed: bool,
    checkpointer: Option<Checkpointer>,
    /// The row being built, kept for its buffers.
    row: Row,
}

/// How often the WAL is moved into the database, off the writer (and so off the hub's lock).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// Events kept after a compaction for duplicate detection, at most this many bytes of them.
const KEEP_TAIL_BYTES: i64 = 8 << 20;

/// Checkpoints the WAL from a connection of its own on a thread of its own: inside a commit
/// (SQLite's automatic checkpoints) they were half of the store's cost and held the hub's
/// lock through two fsyncs. A passive checkpoint never waits for the writer.
struct Checkpointer {
    stop: Arc<AtomicBool>,
    /// Set when a compaction could not empty the WAL (this thread's own checkpoint held the
    /// checkpoint lock, or a reader was behind): the thread truncates it instead, until it can.
    truncate: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(file: &Path, sync: SyncMode) -> Result<Checkpointer, StorageError> {
        let err = |e| classify(file, e);
        let conn = Connection::open(file).map_err(err)?;
        conn.pragma_update(None, "synchronous", sync.pragma())
            .map_err(err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let truncate = Arc::new(AtomicBool::new(false));
        let (flag, wanted) = (stop.clone(), truncate.clone());
        let thread = std::thread::Builder::new()
            .name("utp-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    if wanted.load(Ordering::Relaxed) {
                        if checkpoint(&conn, "TRUNCATE") {
                            wanted.store(false, Ordering::Relaxed);
                        }
                    } else {
                        checkpoint(&conn, "PASSIVE");
                    }
                }
            })
            .map_err(|e| StorageError::Other(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            stop,
            truncate,
            thread: Some(thread),
        })
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An engine error in the store's terms: damage, a full store, or anything else.
fn classify(file: &Path, e: rusqlite::Error) -> StorageError {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
        _ => None,
    };
    match code {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StorageError::Damaged {
            file: file.display().to_string(),
            what: e.to_string(),
        },
        Some(ErrorCode::DiskFull) => StorageError::Full(format!(
            "storage is full ({}): {e}; nothing was accepted, send again later (a `clear` or \
             a larger --max-disk-mib frees space)",
            file.display()
        )),
        _ => StorageError::Other(format!("storage ({}): {e}", file.display())),
    }
}

fn damaged(file: &Path, what: String) -> StorageError {
    StorageError::Damaged {
        file: file.display().to_string(),
        what,
    }
}

impl Sqlite {
    /// Opens (or creates, with `new_session`) the store in `options.dir`. Refuses a damaged
    /// file and a directory another runtime holds.
    pub fn open(options: &Options, new_session: &str) -> Result<Sqlite, StorageError> {
        std::fs::create_dir_all(&options.dir).map_err(|e| {
            StorageError::Other(format!(
                "cannot create the data directory {}: {e}",
                options.dir.display()
            ))
        })?;
        let lock = DirLock::acquire(&options.dir)?;
        let file = options.dir.join(FILE);
        let existed = std::fs::metadata(&file).is_ok_and(|m| m.len() > 0);
        let err = |e| classify(&file, e);
        let conn = Connection::open(&file).map_err(err)?;
        if !existed {
            // Must precede the first table: lets compaction give freed pages back to the disk.
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
                .map_err(err)?;
        }
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::Other(format!(
                "{} cannot use write-ahead logging (journal mode {mode})",
                file.display()
            )));
        }
        conn.pragma_update(None, "synchronous", options.sync.pragma())
            .map_err(err)?;
        // The WAL is emptied at checkpoints; this keeps its file from staying at its peak.
        conn.pragma_update(None, "journal_size_limit", 64i64 << 20)
            .map_err(err)?;
        if existed {
            // Read the file once in order first: SQLite then finds its pages in the page
            // cache instead of reading them in tree order, scattered (5-10x slower cold).
            prefetch(&file);
            // Page-level damage (torn or overwritten pages), checked after a stop that was
            // not clean (a crash, kill -9, a power cut): after a clean one, loading reads every
            // page of every table anyway (SQLite reports a damaged page it reads) and checks
            // every value against its checksum; the check cost a fifth of a warm restart.
            let clean: Option<String> = conn
                .query_row("SELECT value FROM meta WHERE key = 'clean'", [], |r| {
                    r.get(0)
                })
                .optional()
                .unwrap_or(None);
            let problems: Vec<String> = if clean.as_deref() == Some("1") {
                vec!["ok".into()]
            } else {
                let mut st = conn.prepare("PRAGMA quick_check(20)").map_err(err)?;
                let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(err)?;
                rows.collect::<Result<_, _>>().map_err(err)?
            };
            if problems.first().map(String::as_str) != Some("ok") {
                return Err(damaged(&file, problems.join("; ")));
            }
        }
        // Not clean until `close` says so.
        let mark_open = "INSERT OR REPLACE INTO meta (key, value) VALUES ('clean', '0')";
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, json TEXT NOT NULL, crcs BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS snapshot (idx INTEGER PRIMARY KEY, json TEXT NOT NULL, crc INTEGER NOT NULL);",
        )
        .map_err(err)?;
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('format', ?1), ('session', ?2), ('snapshot_seq', '0')",
            params![FORMAT, new_session],
        )
        .map_err(err)?;
        let format: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        let format = if format.as_deref() == Some("1") {
            migrate_from_1(&conn, &file)?;
            Some(FORMAT.to_owned())
        } else {
            format
        };
        if format.as_deref() != Some(FORMAT) {
            return Err(StorageError::Other(format!(
                "{} has layout {}, this runtime reads layout {FORMAT}",
                file.display(),
                format.as_deref().unwrap_or("(none)")
            )));
        }
        conn.execute(mark_open, []).map_err(err)?;
        if options.max_disk_bytes > 0 {
            let page: i64 = conn
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .map_err(err)?;
            let pages = (options.max_disk_bytes / page.max(512) as u64).max(16);
            conn.pragma_update(None, "max_page_count", pages as i64)
                .map_err(err)?;
        }
        conn.pragma_update(None, "wal_autocheckpoint", 0i64)
            .map_err(err)?;
        let checkpointer = Checkpointer::start(&file, options.sync)?;
        Ok(Sqlite {
            conn,
            file,
            _lock: lock,
            closed: false,
            checkpointer: Some(checkpointer),
            row: Row::default(),
        })
    }

    fn closed(&self) -> Result<(), StorageError> {
        if self.closed {
            return Err(StorageError::Other("storage is closed".into()));
        }
        Ok(())
    }
}

/// Reads a file from start to end, so that the reads after it come from the page cache.
fn prefetch(file: &Path) {
    if let Ok(mut f) = std::fs::File::open(file) {
        let mut buf = vec![0u8; 1 << 20];
        while matches!(f.read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// Runs a pragma to its end, whatever rows it returns.
/// Runs `PRAGMA wal_checkpoint(mode)`: whether it finished. SQLite answers a checkpoint that
/// could not run to the end (another connection's checkpoint holds the lock, a reader is behind)
/// with a row whose first column is 1, not with an error.
fn checkpoint(conn: &Connection, mode: &str) -> bool {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        r.get::<_, i64>(0)
    })
    .is_ok_and(|busy| busy == 0)
}

fn run_pragma(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    let mut st = conn.prepare(sql)?;
    let mut rows = st.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Moves a store of layout 1 (table `events`, one row an event) to rows of runs, in one
/// transaction: a crash midway leaves layout 1, moved again at the next start. Checksums are
/// copied, not recomputed, so that a text that changed on disk still reads as damaged.
fn migrate_from_1(conn: &Connection, file: &Path) -> Result<(), StorageError> {
    let err = |e| classify(file, e);
    let tx = conn.unchecked_transaction().map_err(err)?;
    {
        let mut read = tx
            .prepare("SELECT seq, json, crc FROM events ORDER BY seq")
            .map_err(err)?;
        let mut write = tx.prepare(INSERT_ROW).map_err(err)?;
        let mut rows = read.query([]).map_err(err)?;
        let mut row = Row::default();
        while let Some(r) = rows.next().map_err(err)? {
            let seq = r.get::<_, i64>(0).map_err(err)? as u64;
            let bytes = text_of_column(r, 1).map_err(err)?;
            let json = std::str::from_utf8(&bytes).map_err(|_| {
                damaged(
                    file,
                    format!("event {seq} is not text (it changed on disk)"),
                )
            })?;
            // Not a CRC-32 at all: kept as one that does not match.
            let crc = r.get::<_, i64>(2).map_err(err)?;
            let crc = u32::try_from(crc).unwrap_or(!checksum(json));
            if !row.push_checked(seq, json, crc) {
                insert_row(&mut write, &row).map_err(err)?;
                row.clear();
                row.push_checked(seq, json, crc);
            }
        }
        if !row.is_empty() {
            insert_row(&mut write, &row).map_err(err)?;
        }
    }
    tx.execute_batch("DROP TABLE events; UPDATE meta SET value = '2' WHERE key = 'format';")
        .map_err(err)?;
    tx.commit().map_err(err)
}

fn insert_row(st: &mut rusqlite::Statement<'_>, row: &Row) -> rusqlite::Result<()> {
    st.execute(params![
        row.first as i64,
        row.count as i64,
        row.json,
        row.crcs
    ])
    .map(|_| ())
}

/// A table of rows of events, as reading it back needs to know it.
struct Table {
    name: &'static str,
    key: &'static str,
    /// How many events a row holds: a column, or `1`.
    count: &'static str,
    /// The checksums: a blob of them, or one as an integer.
    crcs: &'static str,
    /// What an error calls one event, and several.
    one: &'static str,
    many: &'static str,
}

const EVENTS: Table = Table {
    name: "batches",
    key: "seq",
    count: "count",
    crcs: "crcs",
    one: "event",
    many: "events",
};

/// The events of layout 1, one a row: read only to recover a file the move to layout 2 could
/// not read.
const EVENTS_1: Table = Table {
    name: "events",
    key: "seq",
    count: "1",
    crcs: "crc",
    one: "event",
    many: "events",
};

const SNAPSHOT: Table = Table {
    name: "snapshot",
    key: "idx",
    count: "1",
    crcs: "crc",
    one: "snapshot event",
    many: "snapshot",
};

impl Table {
    /// Every row from key `?1` on, in order: key, count, text, checksums.
    fn select_from(&self) -> String {
        let Table {
            name,
            key,
            count,
            crcs,
            ..
        } = self;
        format!("SELECT {key}, {count}, json, {crcs} FROM {name} WHERE {key} >= ?1 ORDER BY {key}")
    }

    /// Names events `first` to `last` in an error.
    fn keys(&self, first: u64, last: u64) -> String {
        if first == last {
            format!("{} {first}", self.many)
        } else {
            format!("{} {first} to {last}", self.many)
        }
    }
}

/// One row as read back (its text as bytes: see [`rows::split`]).
struct RawRow {
    key: u64,
    count: u64,
    json: Vec<u8>,
    crcs: Vec<u8>,
}

impl RawRow {
    /// The number after its last event.
    fn end(&self) -> u64 {
        self.key.saturating_add(self.count.max(1))
    }
}

/// The row's columns 0 and 1 (key, count); a count that is no count reads as 0 (a row that
/// holds no events: damaged).
fn key_and_count(row: &rusqlite::Row<'_>) -> rusqlite::Result<(u64, u64)> {
    let key = row.get::<_, i64>(0)? as u64;
    let count = row
        .get::<_, i64>(1)
        .map_or(0, |c| u64::try_from(c).unwrap_or(0));
    Ok((key, count))
}

/// The checksums column (3) as a row's bytes, whether stored as a blob or one integer.
fn crcs_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<u8>> {
    Ok(match row.get_ref(3)? {
        rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
        rusqlite::types::ValueRef::Integer(c) => rows::crc_bytes(c),
        _ => Vec::new(),
    })
}

/// A text column as bytes, whether stored as text or not (see [`rows::split`]).
fn text_of_column(row: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<Vec<u8>> {
    Ok(match row.get_ref(column)? {
        rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
        _ => Vec::new(),
    })
}

fn raw_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    let (key, count) = key_and_count(row)?;
    Ok(RawRow {
        key,
        count,
        json: text_of_column(row, 2)?,
        crcs: crcs_of(row)?,
    })
}

/// Reads one row back: each event must match its checksum and decode. With `texts`, each
/// event's text is kept beside it (the history's; the snapshot's is not needed).
fn check_row(
    file: &Path,
    table: &Table,
    row: &RawRow,
    texts: bool,
) -> Result<Vec<(u64, String, Event)>, StorageError> {
    let parts = rows::split(row.count, &row.json, &row.crcs).map_err(|why| {
        let last = row.end() - 1;
        damaged(
            file,
            format!("the row of {} {why}", table.keys(row.key, last)),
        )
    })?;
    let one = table.one;
    parts
        .into_iter()
        .zip(row.key..)
        .map(|(part, key)| {
            if !part.intact {
                return Err(damaged(
                    file,
                    format!("{one} {key} does not match its checksum (its text changed on disk)"),
                ));
            }
            let event = decode_event(0, part.json).map_err(|e| {
                damaged(file, format!("{one} {key} does not read as an event: {e}"))
            })?;
            let text = if texts {
                part.json.to_owned()
            } else {
                String::new()
            };
            Ok((key, text, event))
        })
        .collect()
}

/// Rows read back are checked and decoded about this many events at a time, on two threads:
/// decoding is most of a restart's load, and a bounded chunk keeps the text of at most about
/// this many events beside their events.
const DECODE_CHUNK: u64 = 8192;

/// [`check_row`] for a chunk of rows, in two halves at once; the events in order, or the
/// first error in order.
fn check_chunk(
    file: &Path,
    table: &Table,
    chunk: &[RawRow],
    texts: bool,
) -> Result<Vec<(u64, String, Event)>, StorageError> {
    let run = |part: &[RawRow]| -> Result<Vec<_>, StorageError> {
        let mut out = Vec::new();
        for row in part {
            out.extend(check_row(file, table, row, texts)?);
        }
        Ok(out)
    };
    let events: u64 = chunk.iter().map(|r| r.count).sum();
    if chunk.len() < 2 || events < 256 {
        return run(chunk);
    }
    // Halves by events, not rows: a row of the history holds many.
    let mut half = 0;
    let mut seen = 0;
    while half < chunk.len() && seen < events / 2 {
        seen += chunk[half].count;
        half += 1;
    }
    let (first, second) = chunk.split_at(half);
    std::thread::scope(|s| {
        let later = s.spawn(|| run(second));
        let mut events = run(first)?;
        let later = later
            .join()
            .unwrap_or_else(|_| Err(StorageError::Other("a decoding thread panicked".into())))?;
        events.extend(later);
        Ok(events)
    })
}

/// Reads `table` in order, in chunks of about [`DECODE_CHUNK`] events: `admit` is asked of
/// each row as it is read (it may refuse it, and then what precedes it is still checked first,
/// as it comes first), and `take` is given each chunk checked.
fn read_table(
    conn: &Connection,
    file: &Path,
    table: &Table,
    texts: bool,
    mut admit: impl FnMut(&RawRow) -> Result<(), StorageError>,
    mut take: impl FnMut(Vec<(u64, String, Event)>),
) -> Result<(), StorageError> {
    let err = |e| classify(file, e);
    let mut st = conn.prepare(&table.select_from()).map_err(err)?;
    let mut rows = st.query([i64::MIN]).map_err(err)?;
    let mut chunk: Vec<RawRow> = Vec::new();
    let mut events = 0;
    loop {
        let row = rows
            .next()
            .map_err(err)?
            .map(raw_row)
            .transpose()
            .map_err(err)?;
        let refused = row.as_ref().map_or(Ok(()), &mut admit);
        if row.is_none() || refused.is_err() || events >= DECODE_CHUNK {
            take(check_chunk(file, table, &chunk, texts)?);
            chunk.clear();
            events = 0;
        }
        refused?;
        let Some(row) = row else {
            return Ok(());
        };
        events += row.count;
        chunk.push(row);
    }
}

/// After a compaction deleted the rows wholly before `keep_from`, the row that holds it keeps
/// only its events from `keep_from` on (their checksums copied, not recomputed).
fn trim_row(conn: &Connection, file: &Path, keep_from: u64) -> Result<(), StorageError> {
    let err = |e| classify(file, e);
    let row = conn
        .query_row(
            "SELECT seq, count, json, crcs FROM batches WHERE seq < ?1",
            [keep_from as i64],
            raw_row,
        )
        .optional()
        .map_err(err)?;
    let Some(row) = row else {
        return Ok(());
    };
    let parts = rows::split(row.count, &row.json, &row.crcs).map_err(|why| {
        damaged(
            file,
            format!("the row of {} {why}", EVENTS.keys(row.key, row.end() - 1)),
        )
    })?;
    let mut kept = Row::default();
    for ((part, key), crc) in parts.iter().zip(row.key..).zip(row.crcs.chunks_exact(4)) {
        if key >= keep_from {
            kept.push_checked(
                key,
                part.json,
                u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]),
            );
        }
    }
    conn.execute("DELETE FROM batches WHERE seq = ?1", [row.key as i64])
        .map_err(err)?;
    if !kept.is_empty() {
        let mut st = conn.prepare_cached(INSERT_ROW).map_err(err)?;
        insert_row(&mut st, &kept).map_err(err)?;
    }
    Ok(())
}

impl Storage for Sqlite {
    fn append(&mut self, events: &[Record<'_>]) -> Result<(), StorageError> {
        self.closed()?;
        let file = &self.file;
        let err = |e| classify(file, e);
        let row = &mut self.row;
        row.clear();
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut st = tx.prepare_cached(INSERT_ROW).map_err(err)?;
            for r in events {
                if !row.push(r.seq, r.json) {
                    insert_row(&mut st, row).map_err(err)?;
                    row.clear();
                    row.push(r.seq, r.json);
                }
            }
            if !row.is_empty() {
                insert_row(&mut st, row).map_err(err)?;
            }
        }
        row.clear();
        // Dropped without a commit (an error above), the transaction rolls back: all or none.
        tx.commit().map_err(err)
    }

    fn compact(
        &mut self,
        seq: u64,
        snapshot: &[String],
        keep_from: u64,
    ) -> Result<(), StorageError> {
        self.closed()?;
        let file = &self.file;
        let err = |e| classify(file, e);
        let tx = self.conn.transaction().map_err(err)?;
        {
            // The kept tail is bounded in bytes too: a few huge events must not stay forever.
            // Counted in whole rows, so it may keep a little less than the bound.
            let by_bytes: Option<i64> = tx
                .query_row(
                    "SELECT min(seq) FROM (SELECT seq, sum(length(json)) OVER (ORDER BY seq DESC) AS total \
                     FROM batches WHERE seq + count > ?1 AND seq <= ?2) WHERE total <= ?3",
                    params![keep_from as i64, seq as i64, KEEP_TAIL_BYTES],
                    |r| r.get(0),
                )
                .map_err(err)?;
            let keep_from = match by_bytes {
                Some(b) => (b as u64).max(keep_from),
                // Even the newest row alone is over the bound (or the tail is empty): keep none.
                None => keep_from.max(seq + 1),
            };
            // Deleting first lets the new snapshot reuse the freed pages: a full store
            // (--max-disk-mib) can still compact.
            tx.execute(
                "DELETE FROM batches WHERE seq + count <= ?1",
                params![keep_from as i64],
            )
            .map_err(err)?;
            trim_row(&tx, file, keep_from)?;
            tx.execute("DELETE FROM snapshot", []).map_err(err)?;
            let mut st = tx
                .prepare_cached("INSERT INTO snapshot (idx, json, crc) VALUES (?1, ?2, ?3)")
                .map_err(err)?;
            for (i, json) in snapshot.iter().enumerate() {
                st.execute(params![i as i64, json, checksum(json)])
                    .map_err(err)?;
            }
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'snapshot_seq'",
                params![seq.to_string()],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        // Give freed pages back and empty the WAL; failures here lose nothing.
        let _ = run_pragma(&self.conn, "PRAGMA incremental_vacuum");
        if !checkpoint(&self.conn, "TRUNCATE") {
            // The space comes back a moment later instead of never: passive checkpoints
            // never shrink the WAL file.
            if let Some(c) = &self.checkpointer {
                c.truncate.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn load(&mut self) -> Result<Loaded, StorageError> {
        self.closed()?;
        let file = self.file.clone();
        let err = |e| classify(&file, e);
        let meta = |key: &str| -> Result<String, StorageError> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .map_err(err)
        };
        let session = meta("session")?;
        let snapshot_seq: u64 = meta("snapshot_seq")?.parse().map_err(|_| {
            damaged(
                &file,
                "the snapshot's sequence number is not a number".into(),
            )
        })?;
        let mut loaded = Loaded {
            session,
            snapshot_seq,
            ..Loaded::default()
        };
        read_table(
            &self.conn,
            &file,
            &SNAPSHOT,
            false,
            |_| Ok(()),
            |events| {
                loaded
                    .snapshot
                    .extend(events.into_iter().map(|(_, _, e)| e))
            },
        )?;
        // Events are numbered without holes from the snapshot on; a hole is a lost row.
        let mut expected: Option<u64> = None;
        let admit = |row: &RawRow| {
            let want = match expected {
                Some(e) => Some(e),
                None if row.key > snapshot_seq => Some(snapshot_seq + 1),
                None => None,
            };
            if let Some(want) = want.filter(|&w| w != row.key) {
                return Err(damaged(
                    &file,
                    format!("events {want} to {} are missing", row.key.saturating_sub(1)),
                ));
            }
            expected = Some(row.end());
            Ok(())
        };
        read_table(&self.conn, &file, &EVENTS, true, admit, |events| {
            for (seq, json, event) in events {
                if seq <= snapshot_seq {
                    loaded.recent.push(event);
                } else {
                    loaded.history_bytes += json.len() as u64;
                    loaded.events.push(Stored { seq, json, event });
                }
            }
        })?;
        Ok(loaded)
    }

    fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            if let Some(mut c) = self.checkpointer.take() {
                c.stop();
            }
            // The next start may skip the page check; then the WAL moves into the database so
            // that it reads one file.
            let _ = self
                .conn
                .execute("UPDATE meta SET value = '1' WHERE key = 'clean'", []);
            let _ = run_pragma(&self.conn, "PRAGMA wal_checkpoint(TRUNCATE)");
        }
    }

    fn disk_bytes(&self) -> u64 {
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut wal = self.file.clone().into_os_string();
        wal.push("-wal");
        size(&self.file) + size(Path::new(&wal))
    }
}

/// What `--recover` did.
#[derive(Debug)]
pub struct Recovered {
    /// Where the damaged file was moved.
    pub damaged: PathBuf,
    pub snapshot_kept: usize,
    pub events_kept: usize,
    /// Events that could not be read back intact (`table key: reason`, or `table first to
    /// last: reason` for a row, or the keys under a damaged page), at most 20 named.
    pub lost: Vec<String>,
    /// How many events: those of a damaged row, and every number between the rows read on
    /// either side of a damaged page (events are numbered without holes; when the table's first
    /// page is the damaged one, the events before the first a compaction kept are counted
    /// too, since nothing says where they started).
    pub lost_count: usize,
}

/// Moves a damaged database aside and writes a new one with everything that reads back
/// intact (under a new session: panels start over from a snapshot, since the history changed).
pub fn recover(options: &Options, new_session: &str) -> Result<Recovered, StorageError> {
    let dir = &options.dir;
    let file = dir.join(FILE);
    if !file.exists() {
        return Err(StorageError::Other(format!(
            "nothing to recover: {} does not exist",
            file.display()
        )));
    }
    // Held for the move, so that no runtime starts on the directory meanwhile.
    let lock = DirLock::acquire(dir)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let moved = dir.join(format!("{FILE}.damaged-{stamp}"));
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", file.display()));
        if from.exists() {
            let to = PathBuf::from(format!("{}{suffix}", moved.display()));
            std::fs::rename(&from, &to).map_err(|e| {
                StorageError::Other(format!("cannot move {} aside: {e}", from.display()))
            })?;
        }
    }
    let old = Connection::open_with_flags(&moved, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| classify(&moved, e))?;
    let mut lost = Vec::new();
    let mut lost_count = 0;
    let mut note = |what: String, rows: usize| {
        lost_count += rows;
        if lost.len() < 20 {
            lost.push(what);
        }
    };
    // A file of layout 1 whose move to layout 2 could not read it still has its `events`.
    let layout_1 = old
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'events'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .is_ok_and(|n| n > 0);
    let snapshot = salvage(&old, &SNAPSHOT, 0, &mut note);
    let events = salvage(
        &old,
        if layout_1 { &EVENTS_1 } else { &EVENTS },
        1,
        &mut note,
    );
    drop(old);
    drop(lock);
    let mut store = Sqlite::open(options, new_session)?;
    let snapshot_kept = snapshot.len();
    store.compact(0, &snapshot, 0)?;
    let records: Vec<Record<'_>> = events
        .iter()
        .enumerate()
        .map(|(i, json)| Record {
            seq: i as u64 + 1,
            json,
        })
        .collect();
    for chunk in records.chunks(10_000) {
        store.append(chunk)?;
    }
    store.close();
    Ok(Recovered {
        damaged: moved,
        snapshot_kept,
        events_kept: events.len(),
        lost,
        lost_count,
    })
}

/// Every event of `table` that reads back intact, in key order. A read that fails skips the
/// keys it cannot reach and goes on after them, so that a damaged page loses only the rows
/// under it (a leaf's, or an interior page's many); what is lost is counted in events, from
/// the holes that leaves between the rows read. `first` is where the keys start when the
/// table's leftmost path does not read.
fn salvage(
    conn: &Connection,
    table: &Table,
    first: i64,
    lost: &mut impl FnMut(String, usize),
) -> Vec<String> {
    let mut kept = Vec::new();
    let Table {
        name, key, count, ..
    } = table;
    let many = table.many;
    // The rightmost path read first: when it is damaged nothing of the table can be reached by
    // key, and that must not read as "nothing lost". When it reads, so does a read past the
    // last key (it walks only that path).
    let last = conn
        .query_row(
            &format!("SELECT {key}, {count} FROM {name} ORDER BY {key} DESC LIMIT 1"),
            [],
            key_and_count,
        )
        .optional();
    let (max, end) = match last {
        Ok(Some((k, n))) => (k as i64, k.saturating_add(n.max(1))),
        Ok(None) => return kept,
        Err(e) => {
            lost(format!("{many}: cannot be read: {e}"), 1);
            return kept;
        }
    };
    // After a compaction the events start far past 1: from the first that exists.
    let min = conn
        .query_row(&format!("SELECT min({key}) FROM {name}"), [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .ok()
        .flatten()
        .unwrap_or(first);
    // The next event's number, where a read starts again, and why the events from `expected`
    // to the next row read were not read.
    let mut expected = min as u64;
    let mut resume = min;
    let mut failed: Option<String> = None;
    let gap = |to: u64,
               expected: u64,
               failed: &mut Option<String>,
               lost: &mut dyn FnMut(String, usize)| {
        if to > expected {
            let why = failed.take().unwrap_or_else(|| "missing".into());
            let n = usize::try_from(to - expected).unwrap_or(usize::MAX);
            lost(format!("{}: {why}", table.keys(expected, to - 1)), n);
        }
        *failed = None;
    };
    // `>=` and not `>`: SQLite seeks a `> k` read through the page that holds `k`, so after
    // the last key under a damaged page it would fail once more and lose the next row.
    let sql = table.select_from();
    let starts = format!("SELECT {key} FROM {name} WHERE {key} >= ?1 ORDER BY {key} LIMIT 1");
    // Whether a read from `at` gets past its first step (every start under a damaged page fails).
    let reads = |at: i64| {
        let first_row = conn
            .prepare_cached(&starts)
            .and_then(|mut st| st.query_row([at], |_| Ok(())));
        matches!(
            first_row,
            Ok(()) | Err(rusqlite::Error::QueryReturnedNoRows)
        )
    };
    loop {
        let result = (|| -> rusqlite::Result<()> {
            let mut st = conn.prepare_cached(&sql)?;
            let mut rows = st.query([resume])?;
            while let Some(row) = rows.next()? {
                let (k, n) = key_and_count(row)?;
                resume = k as i64 + 1;
                gap(k, expected, &mut failed, lost);
                let row_end = k.saturating_add(n.max(1));
                let lost_row = |why: String| {
                    (
                        format!("{}: {why}", table.keys(k, row_end - 1)),
                        usize::try_from(row_end - k).unwrap_or(usize::MAX),
                    )
                };
                match (text_of_column(row, 2), crcs_of(row)) {
                    (Ok(json), Ok(crcs)) => match rows::split(n, &json, &crcs) {
                        Ok(parts) => {
                            for (part, k) in parts.into_iter().zip(k..) {
                                if !part.intact {
                                    lost(format!("{many} {k}: does not match its checksum"), 1);
                                    continue;
                                }
                                match decode_event(0, part.json) {
                                    Ok(_) => kept.push(part.json.to_owned()),
                                    Err(e) => lost(format!("{many} {k}: {e}"), 1),
                                }
                            }
                        }
                        Err(why) => {
                            let (what, n) = lost_row(format!("the row {why}"));
                            lost(what, n);
                        }
                    },
                    (Err(e), _) | (_, Err(e)) => {
                        let (what, n) = lost_row(e.to_string());
                        lost(what, n);
                    }
                }
                expected = expected.max(row_end);
            }
            Ok(())
        })();
        let Err(e) = result else {
            break;
        };
        failed = Some(e.to_string());
        if resume > max {
            break;
        }
        // The first start that reads again: steps doubling from `resume` until one does (past
        // the last key one does), then halved back to the smallest. One read a key was too
        // slow for an interior page over a million keys.
        let (mut bad, mut good, mut step) = (resume, max.saturating_add(1), 1i64);
        loop {
            let at = bad.saturating_add(step);
            if at >= good {
                break;
            }
            if reads(at) {
                good = at;
                break;
            }
            bad = at;
            step = step.saturating_mul(2);
        }
        while good - bad > 1 {
            let mid = bad + (good - bad) / 2;
            if reads(mid) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        resume = good;
    }
    gap(end, expected, &mut failed, lost);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A compaction whose WAL truncation cannot finish (here a reader is behind; in CI it was
    /// the checkpoint thread's own passive checkpoint holding the lock) still gives the space
    /// back once it can. Passive checkpoints alone never shrink the WAL file.
    #[test]
    fn a_compaction_that_cannot_empty_the_wal_gives_the_space_back_later() {
        let dir = std::env::temp_dir().join(format!("utp-sqlite-truncate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let options = Options {
            dir: dir.clone(),
            sync: SyncMode::Off,
            max_disk_bytes: 0,
        };
        let mut store = Sqlite::open(&options, "s").expect("open");
        let json = format!("{{\"x\":\"{}\"}}", "y".repeat(100_000));
        for seq in 1..=100 {
            store
                .append(&[Record { seq, json: &json }])
                .expect("append");
        }
        let reader = Connection::open(dir.join(FILE)).expect("reader");
        reader.execute_batch("BEGIN").expect("begin");
        let n: i64 = reader
            .query_row("SELECT sum(count) FROM batches", [], |r| r.get(0))
            .expect("read");
        assert_eq!(n, 100);
        // Not the default 5 s of waiting for the reader.
        store
            .conn
            .busy_timeout(Duration::from_millis(50))
            .expect("timeout");
        store.compact(100, &[], 101).expect("compact");
        let held = store.disk_bytes();
        assert!(held > 10_000_000, "the reader holds the space: {held}");
        reader.execute_batch("COMMIT").expect("commit");
        let give_up = Instant::now() + Duration::from_secs(10);
        while store.disk_bytes() > 1_000_000 {
            assert!(
                Instant::now() < give_up,
                "the space to come back: {} bytes after 10 s",
                store.disk_bytes()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        store.close();
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn fresh(name: &str, sync: SyncMode) -> (PathBuf, Sqlite) {
        let dir = std::env::temp_dir().join(format!("utp-sqlite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let options = Options {
            dir: dir.clone(),
            sync,
            max_disk_bytes: 0,
        };
        let store = Sqlite::open(&options, "s").expect("open");
        (dir, store)
    }

    fn pragma(store: &Sqlite, name: &str) -> i64 {
        store
            .conn
            .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .expect("pragma")
    }

    #[test]
    fn each_sync_mode_is_the_one_sqlite_runs_with() {
        for (mode, want) in [
            (SyncMode::Off, 0),
            (SyncMode::Normal, 1),
            (SyncMode::Full, 2),
        ] {
            let (dir, store) = fresh(&format!("sync{want}"), mode);
            assert_eq!(pragma(&store, "synchronous"), want, "{mode:?}");
            drop(store);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn a_new_store_can_give_freed_pages_back_to_the_disk() {
        let (dir, store) = fresh("vacuum", SyncMode::Off);
        // 2: INCREMENTAL, which must be set before the first table.
        assert_eq!(pragma(&store, "auto_vacuum"), 2);
        // And the WAL file is cut back to 64 MiB after a checkpoint.
        assert_eq!(pragma(&store, "journal_size_limit"), 64 << 20);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_compaction_keeps_the_newest_events_for_duplicate_detection() {
        let (dir, mut store) = fresh("tail", SyncMode::Off);
        let events: Vec<String> = (1..=100).map(|n| clear_event(n, 0)).collect();
        append_numbered(&mut store, &events);
        store.compact(100, &[], 91).expect("compact");
        let size = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
        assert_eq!(
            store.disk_bytes(),
            size(dir.join(FILE)) + size(dir.join(format!("{FILE}-wal")))
        );
        let loaded = store.load().expect("load");
        let kept: Vec<&str> = loaded.recent.iter().map(|e| e.id.as_str()).collect();
        let want: Vec<String> = (91..=100).map(|n| format!("e{n}")).collect();
        assert_eq!(kept, want);
        assert!(loaded.events.is_empty());
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The checkpoint thread holds a connection of its own: a store closed or dropped ends
    /// it, and the last connection's close removes the WAL file.
    #[test]
    fn closing_or_dropping_a_store_ends_its_checkpoint_thread() {
        for close in [true, false] {
            let (dir, mut store) = fresh(&format!("stop{close}"), SyncMode::Off);
            store
                .append(&[Record {
                    seq: 1,
                    json: r#"{"id":"e","process":"p","ts":1,"op":"clear"}"#,
                }])
                .expect("append");
            let wal = dir.join(format!("{FILE}-wal"));
            assert!(wal.exists());
            if close {
                store.close();
                // A clean stop moves the WAL into the database and empties it.
                assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
                let clean: String = Connection::open(dir.join(FILE))
                    .and_then(|c| {
                        c.query_row("SELECT value FROM meta WHERE key = 'clean'", [], |r| {
                            r.get(0)
                        })
                    })
                    .expect("reads");
                assert_eq!(clean, "1");
            }
            drop(store);
            let give_up = Instant::now() + Duration::from_secs(10);
            while wal.exists() {
                assert!(
                    Instant::now() < give_up,
                    "the WAL still open 10 s after the store was {}",
                    if close { "closed" } else { "dropped" }
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// Appends `events` numbered from 1, in one transaction.
    fn append_numbered(store: &mut Sqlite, events: &[String]) {
        append_in_batches(store, events, events.len());
    }

    /// Appends `events` numbered from 1, `per_batch` to a transaction (so rows of at most
    /// that many).
    fn append_in_batches(store: &mut Sqlite, events: &[String], per_batch: usize) {
        let records: Vec<Record<'_>> = events
            .iter()
            .zip(1..)
            .map(|(json, seq)| Record { seq, json })
            .collect();
        for batch in records.chunks(per_batch.max(1)) {
            store.append(batch).expect("append");
        }
    }

    /// The rows of the events table: `(first, count)` in order.
    fn rows_of(conn: &Connection) -> Vec<(u64, u64)> {
        let mut st = conn
            .prepare("SELECT seq, count FROM batches ORDER BY seq")
            .expect("a query");
        let rows = st
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .expect("rows");
        rows.map(|r| r.expect("a row")).collect()
    }

    /// A batch is kept in few rows, each of events numbered one after another, and reads
    /// back as it was written, however it is cut into rows.
    #[test]
    fn a_batch_is_kept_in_rows_of_many_events() {
        let (dir, mut store) = fresh("rows", SyncMode::Off);
        let events: Vec<String> = (1..=1000)
            .map(|n| clear_event(n, n as usize % 50))
            .collect();
        let records: Vec<Record<'_>> = events
            .iter()
            .zip(1..)
            .map(|(json, seq)| Record { seq, json })
            .collect();
        store.append(&records[..900]).expect("append");
        for batch in records[900..].chunks(7) {
            store.append(batch).expect("append");
        }
        let bytes: usize = events[..900].iter().map(|e| e.len() + 1).sum();
        let rows = rows_of(&store.conn);
        let first_batch = rows.iter().filter(|r| r.0 <= 900).count();
        assert!(
            first_batch <= bytes / rows::ROW_BYTES + 1,
            "{first_batch} rows for {bytes} bytes"
        );
        // The second call's batches of 7 start rows of their own; none goes past its batch.
        assert!(rows
            .iter()
            .all(|&(first, n)| first > 900 || first + n <= 901));
        assert_eq!(rows.len(), first_batch + 100usize.div_ceil(7));
        let mut next = 1;
        for (first, n) in &rows {
            assert_eq!(*first, next, "rows follow each other: {rows:?}");
            next += n;
        }
        store.close();
        drop(store);
        let loaded = Sqlite::open(&options(&dir), "s")
            .expect("reopen")
            .load()
            .expect("load");
        let back: Vec<&str> = loaded.events.iter().map(|s| s.json.as_str()).collect();
        assert_eq!(back, events);
        let seqs: Vec<u64> = loaded.events.iter().map(|s| s.seq).collect();
        assert_eq!(seqs, (1..=1000).collect::<Vec<u64>>());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A compaction that keeps events from the middle of a row keeps exactly those.
    #[test]
    fn a_compaction_keeps_the_tail_from_the_middle_of_a_row() {
        let (dir, mut store) = fresh("trim", SyncMode::Off);
        let events: Vec<String> = (1..=30).map(|n| clear_event(n, 0)).collect();
        append_in_batches(&mut store, &events, 10);
        store.compact(20, &[], 15).expect("compact");
        assert_eq!(rows_of(&store.conn), [(15, 6), (21, 10)]);
        let loaded = store.load().expect("load");
        assert_eq!(
            ids(&loaded.recent),
            (15..=20).map(|n| format!("e{n}")).collect::<Vec<_>>()
        );
        let seqs: Vec<u64> = loaded.events.iter().map(|s| s.seq).collect();
        assert_eq!(seqs, (21..=30).collect::<Vec<u64>>());
        // And the trimmed row still reads as damaged when its text changed on disk.
        let conn = raw(&dir, store);
        conn.execute(
            "UPDATE batches SET json = replace(json, '\"e17\"', '\"e71\"') WHERE seq = 15",
            [],
        )
        .expect("damage");
        drop(conn);
        let what = damage(
            Sqlite::open(&options(&dir), "s").expect("reopen").load(),
            "a changed event loaded",
        );
        assert!(
            what.contains("event 17 does not match its checksum"),
            "{what}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A store of layout 1 in a fresh directory named `name`: a snapshot of one event (e99),
    /// the snapshot's number 10, and `events` numbered from 1, each with its checksum
    /// (`changed` gets a wrong one).
    fn layout_1_store(name: &str, events: &[String], changed: i64) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("utp-sqlite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let conn = Connection::open(dir.join(FILE)).expect("create");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE events (seq INTEGER PRIMARY KEY, json TEXT NOT NULL, crc INTEGER NOT NULL);
             CREATE TABLE snapshot (idx INTEGER PRIMARY KEY, json TEXT NOT NULL, crc INTEGER NOT NULL);
             INSERT INTO meta VALUES ('format', '1'), ('session', 'old'), ('snapshot_seq', '10'), ('clean', '1');",
        )
        .expect("layout 1");
        let snap = clear_event(99, 0);
        conn.execute(
            "INSERT INTO snapshot VALUES (0, ?1, ?2)",
            params![snap, checksum(&snap)],
        )
        .expect("snapshot");
        for (json, seq) in events.iter().zip(1i64..) {
            let crc = checksum(json) ^ u32::from(seq == changed);
            conn.execute(
                "INSERT INTO events VALUES (?1, ?2, ?3)",
                params![seq, json, crc],
            )
            .expect("event");
        }
        dir
    }

    /// A store of layout 1 (one row an event) is moved to rows when opened: every event,
    /// its number and its checksum kept, so that one changed on disk still reads as damaged.
    #[test]
    fn a_store_of_layout_1_is_moved_to_rows_when_opened() {
        let events: Vec<String> = (1..=50).map(|n| clear_event(n, 3)).collect();
        // Event 30's text changed after its checksum was taken.
        let dir = layout_1_store("layout1", &events, 30);
        let mut store = Sqlite::open(&options(&dir), "new").expect("opens");
        let format: String = store
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .expect("format");
        assert_eq!(format, FORMAT);
        let old: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .expect("schema");
        assert_eq!(old, 0, "the old table is gone");
        assert_eq!(rows_of(&store.conn), [(1, 50)]);
        let what = damage(store.load(), "a changed event loaded");
        assert!(
            what.contains("event 30 does not match its checksum"),
            "{what}"
        );
        // Mended, everything reads back under the old session.
        let mut mended = rows::Row::default();
        for (json, seq) in events.iter().zip(1..) {
            assert!(mended.push(seq, json));
        }
        store
            .conn
            .execute(
                "UPDATE batches SET crcs = ?1 WHERE seq = 1",
                params![mended.crcs],
            )
            .expect("mend");
        let loaded = store.load().expect("loads");
        assert_eq!(loaded.session, "old");
        assert_eq!(ids(&loaded.snapshot), ["e99"]);
        assert_eq!(loaded.recent.len(), 10);
        let back: Vec<&str> = loaded.events.iter().map(|s| s.json.as_str()).collect();
        assert_eq!(back, events[10..]);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A file of layout 1 that cannot be moved (an event's bytes are not text) stops the
    /// start as damaged, unchanged, and is recovered from its own table.
    #[test]
    fn a_store_of_layout_1_that_cannot_be_moved_is_recovered_from_its_own_table() {
        let events: Vec<String> = (1..=20).map(|n| clear_event(n, 3)).collect();
        let dir = layout_1_store("layout1-recover", &events, 0);
        let conn = Connection::open(dir.join(FILE)).expect("open");
        conn.execute(
            "UPDATE events SET json = CAST(x'7ba5a57d' AS TEXT) WHERE seq = 12",
            [],
        )
        .expect("damage");
        drop(conn);
        let what = damage(
            Sqlite::open(&options(&dir), "new"),
            "a file that could not be moved opened",
        );
        assert!(what.contains("event 12 is not text"), "{what}");
        let format: String = Connection::open(dir.join(FILE))
            .and_then(|c| {
                c.query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                    r.get(0)
                })
            })
            .expect("format");
        assert_eq!(format, "1", "left as it was");
        let r = recover(&options(&dir), "s2").expect("recover");
        assert_eq!((r.snapshot_kept, r.events_kept, r.lost_count), (1, 19, 1));
        assert_eq!(r.lost, ["events 12: does not match its checksum"]);
        let loaded = Sqlite::open(&options(&dir), "unused")
            .expect("reopen")
            .load()
            .expect("load");
        let kept: Vec<&str> = loaded.events.iter().map(|s| s.event.id.as_str()).collect();
        let want: Vec<String> = (1..=20)
            .filter(|&n| n != 12)
            .map(|n| format!("e{n}"))
            .collect();
        assert_eq!(kept, want);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn clear_event(n: u64, pad: usize) -> String {
        format!(
            r#"{{"id":"e{n}","process":"p","ts":{n},"op":"clear","pad":"{}"}}"#,
            "x".repeat(pad)
        )
    }

    #[test]
    fn a_reopened_store_keeps_its_session_and_counts_its_history() {
        let (dir, mut store) = fresh("reopen", SyncMode::Off);
        let events: Vec<String> = (1..=3).map(|n| clear_event(n, n as usize * 10)).collect();
        append_numbered(&mut store, &events);
        store.close();
        drop(store);
        let options = Options {
            dir: dir.clone(),
            sync: SyncMode::Off,
            max_disk_bytes: 0,
        };
        // The new session id is for a new store only: panels resume across restarts.
        let mut store = Sqlite::open(&options, "another").expect("reopen");
        let loaded = store.load().expect("load");
        assert_eq!(loaded.session, "s");
        assert_eq!(loaded.events.len(), 3);
        let bytes: usize = events.iter().map(String::len).sum();
        assert_eq!(loaded.history_bytes, bytes as u64);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_newest_event_over_the_kept_tails_bound_is_not_kept() {
        let (dir, mut store) = fresh("hugetail", SyncMode::Off);
        let events = [
            clear_event(1, 10),
            clear_event(2, 10),
            clear_event(3, 9 << 20),
        ];
        append_numbered(&mut store, &events);
        store.compact(3, &[], 2).expect("compact");
        let loaded = store.load().expect("load");
        assert!(loaded.recent.is_empty(), "{} kept", loaded.recent.len());
        assert!(loaded.events.is_empty());
        assert_eq!(loaded.snapshot_seq, 3);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Events are numbered without holes from the snapshot on; a hole is a lost row. A kept
    /// tail may end at the snapshot's own number.
    #[test]
    fn a_hole_after_the_snapshot_is_damage_and_a_tail_ending_at_it_is_not() {
        let (dir, mut store) = fresh("hole", SyncMode::Off);
        let events: Vec<String> = (1..=5).map(|n| clear_event(n, 1)).collect();
        let record = |seq: u64| Record {
            seq,
            json: &events[seq as usize - 1],
        };
        store
            .append(&[record(1), record(2), record(3)])
            .expect("append");
        // Keeps event 3 only: a tail that ends at the snapshot.
        store.compact(3, &[], 3).expect("compact");
        let loaded = store.load().expect("a tail ending at the snapshot loads");
        assert_eq!(loaded.recent.len(), 1);
        // Keeps nothing, then event 5 without 4.
        store.compact(3, &[], 4).expect("compact");
        store.append(&[record(5)]).expect("append");
        let what = damage(store.load(), "a hole after the snapshot loaded");
        assert!(what.contains("events 4 to 4 are missing"), "{what}");
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn options(dir: &Path) -> Options {
        Options {
            dir: dir.to_path_buf(),
            sync: SyncMode::Off,
            max_disk_bytes: 0,
        }
    }

    /// Closes the store cleanly and opens its file without it, to damage it.
    fn raw(dir: &Path, mut store: Sqlite) -> Connection {
        store.close();
        drop(store);
        Connection::open(dir.join(FILE)).expect("raw open")
    }

    /// The file's page size and the events table's root page (numbered from 1, as SQLite does).
    fn pages_of(conn: &Connection) -> (u64, u64) {
        let (page, root): (u32, u32) = conn
            .query_row(
                "SELECT (SELECT page_size FROM pragma_page_size), rootpage FROM sqlite_master WHERE name = 'batches'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("the page size and the events' root page");
        (u64::from(page), u64::from(root))
    }

    /// The page (from 0) of the closed store's file that holds `text`.
    fn page_holding(dir: &Path, text: &str, page: u64) -> u64 {
        let bytes = std::fs::read(dir.join(FILE)).expect("read");
        let at = bytes
            .windows(text.len())
            .position(|w| w == text.as_bytes())
            .expect("the text in the file");
        at as u64 / page
    }

    /// Overwrites page `index` (from 0) of the closed store's file with garbage.
    fn overwrite_page(dir: &Path, index: u64, page: u64) {
        let file = dir.join(FILE);
        let mut bytes = std::fs::read(&file).expect("read");
        let at = (index * page) as usize;
        bytes[at..at + page as usize].fill(0x5a);
        std::fs::write(&file, bytes).expect("write");
    }

    /// What a store's refusal says is damaged; any other outcome fails the test with `ok`
    /// (what it would mean had it succeeded).
    fn damage<T>(result: Result<T, StorageError>, ok: &str) -> String {
        match result {
            Err(StorageError::Damaged { what, .. }) => what,
            Err(e) => panic!("another error: {e}"),
            Ok(_) => panic!("{ok}"),
        }
    }

    fn ids(events: &[Event]) -> Vec<String> {
        events.iter().map(|e| e.id.clone()).collect()
    }

    /// Puts `json` in event `seq`'s place inside its row; with `crc` its checksum too (as if
    /// written so), else the old checksum stays (a text changed on disk).
    fn set_event(conn: &Connection, seq: u64, json: &str, crc: bool) {
        let (first, count, text, mut crcs): (i64, i64, String, Vec<u8>) = conn
            .query_row(
                "SELECT seq, count, json, crcs FROM batches WHERE seq <= ?1 ORDER BY seq DESC LIMIT 1",
                [seq as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("its row");
        let i = (seq as i64 - first) as usize;
        assert!(i < count as usize, "event {seq} in the row from {first}");
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines[i] = json;
        if crc {
            crcs[4 * i..4 * i + 4].copy_from_slice(&checksum(json).to_le_bytes());
        }
        conn.execute(
            "UPDATE batches SET json = ?1, crcs = ?2 WHERE seq = ?3",
            params![lines.join("\n"), crcs, first],
        )
        .expect("rewrite");
    }

    /// A damaged page of a large row's text loses that row's events, named as one range,
    /// and nothing else.
    #[test]
    fn recovery_past_a_damaged_page_of_a_rows_text_loses_that_row_only() {
        let (dir, mut store) = fresh("recover-overflow", SyncMode::Off);
        let total = 200u64;
        let events: Vec<String> = (1..=total).map(|n| clear_event(n, 300)).collect();
        append_numbered(&mut store, &events);
        let conn = raw(&dir, store);
        let rows = rows_of(&conn);
        assert!(rows.len() > 2, "{rows:?}");
        let (page, _) = pages_of(&conn);
        drop(conn);
        // The middle event of the second row: far into its text, past what its leaf holds.
        let (first, n) = rows[1];
        overwrite_page(
            &dir,
            page_holding(&dir, &format!("\"e{}\"", first + n / 2), page),
            page,
        );
        let r = recover(&options(&dir), "s2").expect("recover");
        assert_eq!(r.lost_count as u64, n, "{:?}", r.lost);
        assert_eq!(r.lost.len(), 1, "{:?}", r.lost);
        assert!(
            r.lost[0].starts_with(&format!("events {first} to {}: ", first + n - 1)),
            "{}",
            r.lost[0]
        );
        assert_eq!(r.events_kept as u64, total - n);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn recovery_keeps_every_intact_row_and_names_each_lost_one() {
        let (dir, mut store) = fresh("recover", SyncMode::Off);
        let snapshot: Vec<String> = (101..=103).map(|n| clear_event(n, 5)).collect();
        store.compact(0, &snapshot, 0).expect("snapshot");
        let events: Vec<String> = (1..=12).map(|n| clear_event(n, 5)).collect();
        // Events 1 to 8 in one row, 9 to 12 in another.
        append_in_batches(&mut store, &events, 8);
        let conn = raw(&dir, store);
        let first_idx: i64 = conn
            .query_row("SELECT min(idx) FROM snapshot", [], |r| r.get(0))
            .expect("idx");
        conn.execute(
            &format!("UPDATE snapshot SET json = json || ' ' WHERE idx = {first_idx}"),
            [],
        )
        .expect("damage");
        set_event(&conn, 3, &format!("{} ", events[2]), false);
        set_event(&conn, 8, &format!("{} ", events[7]), false);
        set_event(&conn, 5, r#"{"not":"an event"}"#, true);
        // The second row loses a line: its shape no longer holds.
        conn.execute(
            "UPDATE batches SET json = substr(json, 1, instr(json, '\"e12\"') - 9) WHERE seq = 9",
            [],
        )
        .expect("damage");
        drop(conn);

        let r = recover(&options(&dir), "s2").expect("recover");
        assert_eq!((r.snapshot_kept, r.events_kept), (2, 5));
        assert_eq!(r.lost_count, 8);
        assert_eq!(r.lost.len(), 5, "{:?}", r.lost);
        let checksum_lost =
            |table: &str, key: i64| format!("{table} {key}: does not match its checksum");
        assert_eq!(r.lost[0], checksum_lost("snapshot", first_idx));
        assert_eq!(r.lost[1], checksum_lost("events", 3));
        assert!(
            r.lost[2].starts_with("events 5: ") && r.lost[2] != checksum_lost("events", 5),
            "{}",
            r.lost[2]
        );
        assert_eq!(r.lost[3], checksum_lost("events", 8));
        assert_eq!(
            r.lost[4],
            "events 9 to 12: the row holds 3 lines for 4 events"
        );
        assert!(r.damaged.exists(), "the damaged file is kept aside");

        // The new store: the intact rows, renumbered from 1, under the new session.
        let mut store = Sqlite::open(&options(&dir), "unused").expect("reopen");
        let loaded = store.load().expect("load");
        assert_eq!(loaded.session, "s2");
        assert_eq!(ids(&loaded.snapshot), ["e102", "e103"]);
        let seqs: Vec<u64> = loaded.events.iter().map(|s| s.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        let kept: Vec<&str> = loaded.events.iter().map(|s| s.event.id.as_str()).collect();
        assert_eq!(kept, ["e1", "e2", "e4", "e6", "e7"]);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn recovery_names_the_first_twenty_lost_rows_and_counts_them_all() {
        let (dir, mut store) = fresh("recover-many", SyncMode::Off);
        let events: Vec<String> = (1..=26).map(|n| clear_event(n, 1)).collect();
        append_numbered(&mut store, &events);
        let conn = raw(&dir, store);
        // Every event but the first changed after its checksum was taken.
        for seq in 2..=26 {
            set_event(&conn, seq, &format!("{} ", events[seq as usize - 1]), false);
        }
        drop(conn);
        let r = recover(&options(&dir), "s2").expect("recover");
        assert_eq!((r.snapshot_kept, r.events_kept, r.lost_count), (0, 1, 25));
        assert_eq!(r.lost.len(), 20);
        assert_eq!(r.lost[19], "events 21: does not match its checksum");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn recovery_says_so_when_a_whole_table_cannot_be_read() {
        let (dir, mut store) = fresh("recover-root", SyncMode::Off);
        let events: Vec<String> = (1..=3).map(|n| clear_event(n, 1)).collect();
        append_numbered(&mut store, &events);
        let conn = raw(&dir, store);
        let (page, root) = pages_of(&conn);
        drop(conn);
        overwrite_page(&dir, root - 1, page);
        let r = recover(&options(&dir), "s2").expect("recover");
        assert_eq!(r.events_kept, 0);
        assert_eq!(r.lost_count, 1);
        assert!(
            r.lost[0].starts_with("events: cannot be read: "),
            "{:?}",
            r.lost
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn recovery_reads_past_a_damaged_page_and_loses_only_its_rows() {
        let (dir, mut store) = fresh("recover-page", SyncMode::Off);
        let total = 3_000u64;
        let events: Vec<String> = (1..=total).map(|n| clear_event(n, 300)).collect();
        append_in_batches(&mut store, &events, 3);
        let (page, _) = pages_of(&raw(&dir, store));
        // A page two thirds into the file (the events' leaves fill it) overwritten.
        let pages = std::fs::metadata(dir.join(FILE)).expect("size").len() / page;
        overwrite_page(&dir, pages * 2 / 3, page);

        let r = recover(&options(&dir), "s2").expect("recover");
        assert!(r.lost_count > 0, "the damaged page's rows are lost");
        assert!(
            r.lost_count < 100,
            "only about one page's rows: {} lost",
            r.lost_count
        );
        assert_eq!(
            r.events_kept as u64 + r.lost_count as u64,
            total,
            "{:?}",
            r.lost
        );
        let mut store = Sqlite::open(&options(&dir), "unused").expect("reopen");
        let loaded = store.load().expect("load");
        let kept: Vec<u64> = loaded
            .events
            .iter()
            .map(|s| s.event.id[1..].parse().expect("id"))
            .collect();
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "in order");
        assert_eq!(kept.first(), Some(&1));
        assert_eq!(
            kept.last(),
            Some(&total),
            "the rows after the damage are kept"
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A SQLite varint (big-endian, 7 bits a byte, the ninth byte whole).
    fn varint(bytes: &[u8]) -> u64 {
        let mut v = 0u64;
        for (i, b) in bytes.iter().take(9).enumerate() {
            if i == 8 {
                return (v << 8) | u64::from(*b);
            }
            v = (v << 7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    }

    /// An interior page's damage reaches every row under it; the rows after it are kept,
    /// however many keys the damage spans (found in a few reads, not one a key), and exactly
    /// the keys under the page are counted lost, named as one range.
    #[test]
    fn recovery_reads_past_a_damaged_interior_page_and_loses_only_the_rows_under_it() {
        let (dir, mut store) = fresh("recover-interior", SyncMode::Off);
        let total = 40_000u64;
        let events: Vec<String> = (1..=total).map(|n| clear_event(n, 1)).collect();
        append_in_batches(&mut store, &events, 2);
        let conn = raw(&dir, store);
        let (page, root) = pages_of(&conn);
        drop(conn);
        let bytes = std::fs::read(dir.join(FILE)).expect("read");
        let at = ((root - 1) * page) as usize;
        // 0x05: an interior page of a table's tree. Its first cell: a child's page number, then
        // the largest key under that child.
        assert_eq!(bytes[at], 0x05, "the events' root is an interior page");
        let cell = at + usize::from(u16::from_be_bytes([bytes[at + 12], bytes[at + 13]]));
        let child = u64::from(u32::from_be_bytes([
            bytes[cell],
            bytes[cell + 1],
            bytes[cell + 2],
            bytes[cell + 3],
        ]));
        let last_under = varint(&bytes[cell + 4..]);
        assert_eq!(
            bytes[((child - 1) * page) as usize],
            0x05,
            "its first child is an interior page too"
        );
        assert!(last_under > 10_000 && last_under < total, "{last_under}");
        overwrite_page(&dir, child - 1, page);

        // The last row under the page is `last_under`'s, of two events.
        let last_lost = last_under + 1;
        let r = recover(&options(&dir), "s2").expect("recover");
        assert_eq!(r.lost_count as u64, last_lost, "{:?}", r.lost);
        assert_eq!(r.lost.len(), 1, "one range: {:?}", r.lost);
        assert!(
            r.lost[0].starts_with(&format!("events 1 to {last_lost}: ")),
            "{}",
            r.lost[0]
        );
        assert_eq!(r.events_kept as u64, total - last_lost);
        let mut store = Sqlite::open(&options(&dir), "unused").expect("reopen");
        let loaded = store.load().expect("load");
        let first_kept = loaded.events.first().map(|s| s.event.id.clone());
        let last_kept = loaded.events.last().map(|s| s.event.id.clone());
        assert_eq!(first_kept, Some(format!("e{}", last_lost + 1)));
        assert_eq!(last_kept, Some(format!("e{total}")));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Two damaged pages, one at the start and one in the middle of the keys: each loses only
    /// its own rows (the search for the next key that reads goes out from the damage, so it
    /// does not jump over the intact rows between them).
    #[test]
    fn recovery_past_two_damaged_pages_keeps_the_rows_between_them() {
        let (dir, mut store) = fresh("recover-two", SyncMode::Off);
        let total = 3_000u64;
        let events: Vec<String> = (1..=total).map(|n| clear_event(n, 300)).collect();
        append_in_batches(&mut store, &events, 3);
        let (page, _) = pages_of(&raw(&dir, store));
        let page_of = |n: u64| page_holding(&dir, &clear_event(n, 300), page);
        // The first row's page, and the page of the row half way (where a search over the
        // whole range would look first).
        let (a, b) = (page_of(1), page_of(1 + total / 2));
        assert_ne!(a, b);
        overwrite_page(&dir, a, page);
        overwrite_page(&dir, b, page);
        let r = recover(&options(&dir), "s2").expect("recover");
        assert!(r.lost_count < 100, "two pages' rows: {:?}", r.lost);
        assert_eq!(
            r.events_kept as u64 + r.lost_count as u64,
            total,
            "{:?}",
            r.lost
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// After a compaction the events start far past 1: a damaged page in the middle loses
    /// its rows only, counted from where the events start, not from 1.
    #[test]
    fn recovery_of_a_compacted_store_counts_from_its_first_event() {
        let (dir, mut store) = fresh("recover-compacted", SyncMode::Off);
        let total = 6_000u64;
        let events: Vec<String> = (1..=total).map(|n| clear_event(n, 300)).collect();
        append_in_batches(&mut store, &events, 3);
        store.compact(3_000, &[], 3_001).expect("compact");
        let conn = raw(&dir, store);
        let first: i64 = conn
            .query_row("SELECT min(seq) FROM batches", [], |r| r.get(0))
            .expect("first event");
        assert_eq!(first, 3_001);
        let (page, _) = pages_of(&conn);
        drop(conn);
        // A leaf of the events' tree: the page holding a row in the middle of the kept ones.
        let middle = 4_500;
        overwrite_page(
            &dir,
            page_holding(&dir, &clear_event(middle, 300), page),
            page,
        );
        let r = recover(&options(&dir), "s2").expect("recover");
        assert!(
            r.lost_count > 0 && r.lost_count < 100,
            "{} lost",
            r.lost_count
        );
        assert_eq!(
            r.events_kept + r.lost_count,
            3_000,
            "{} kept, {:?}",
            r.events_kept,
            r.lost
        );
        assert!(!r.lost[0].starts_with("events 1 "), "{}", r.lost[0]);
        // The range named holds the row whose page was overwritten.
        let covers = |l: &String| {
            let keys: Vec<u64> = l
                .trim_start_matches("events ")
                .split(':')
                .next()
                .unwrap_or("")
                .split(" to ")
                .filter_map(|k| k.parse().ok())
                .collect();
            matches!(keys[..], [a, b] if a <= middle && middle <= b)
        };
        assert!(r.lost.iter().any(covers), "{:?}", r.lost);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A file left empty (a crash right after it was created) is a new store: it gets the
    /// settings that only a new file can take.
    #[test]
    fn an_empty_file_is_a_new_store() {
        let dir = std::env::temp_dir().join(format!("utp-sqlite-empty-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(FILE), b"").expect("empty file");
        let store = Sqlite::open(&options(&dir), "s").expect("open");
        assert_eq!(pragma(&store, "auto_vacuum"), 2);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// After a stop that was not clean, damage that loading would not read (here the list of
    /// free pages) stops the start; SQLite's page check is what finds it.
    #[test]
    fn damage_outside_the_tables_stops_a_start_after_a_crash() {
        let (dir, mut store) = fresh("freelist", SyncMode::Off);
        let events: Vec<String> = (1..=2_000).map(|n| clear_event(n, 200)).collect();
        append_numbered(&mut store, &events);
        let conn = raw(&dir, store);
        // Freed pages stay on the free list (incremental vacuum), and the stop was a crash.
        conn.execute_batch(
            "DELETE FROM batches WHERE seq < 1500;
             UPDATE meta SET value = '0' WHERE key = 'clean';
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .expect("free pages");
        let (free, page): (u32, u32) = conn
            .query_row(
                "SELECT (SELECT freelist_count FROM pragma_freelist_count), (SELECT page_size FROM pragma_page_size)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("free list");
        assert!(free > 10, "{free} free pages");
        let page = u64::from(page);
        drop(conn);
        // The first trunk page of the free list, from the file's header (offset 32).
        let bytes = std::fs::read(dir.join(FILE)).expect("read");
        let trunk = u64::from(u32::from_be_bytes([
            bytes[32], bytes[33], bytes[34], bytes[35],
        ]));
        assert!(trunk > 1, "a free list");
        overwrite_page(&dir, trunk - 1, page);

        let what = damage(
            Sqlite::open(&options(&dir), "s"),
            "a damaged free list opened after a crash",
        );
        assert!(what.to_lowercase().contains("free"), "{what}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
