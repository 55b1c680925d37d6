//! Configuration, from flags or environment variables (`--help` explains each).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::storage::sqlite::SyncMode;

/// The reference user-trace runtime: producers stream events in on /v1/ingest, panels
/// subscribe on /v1/panel and resume after a disconnect.
#[derive(Debug, Clone, Parser)]
#[command(name = "user-trace-runtime", version)]
pub struct Config {
    /// Address to listen on. Loopback by default: expose it deliberately, with --token.
    #[arg(long, env = "UTP_LISTEN", default_value = "127.0.0.1:4700")]
    pub listen: SocketAddr,

    /// Browser origins allowed to connect (checked against the Origin header, against
    /// cross-site WebSocket hijacking). Repeat or comma-separate; `*` allows any. Clients that
    /// send no Origin (programs, not browsers) are not affected.
    #[arg(
        long = "allow-origin",
        env = "UTP_ALLOW_ORIGINS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8080,http://localhost:8080"
    )]
    pub allow_origins: Vec<String>,

    /// Host names this server answers to besides loopback names (`localhost`, 127.0.0.1,
    /// [::1]) when it listens on loopback; on another address, the only ones it answers to
    /// when given. Against DNS rebinding. Repeat or comma-separate; `*` allows any.
    #[arg(long = "allow-host", env = "UTP_ALLOW_HOSTS", value_delimiter = ',')]
    pub allow_hosts: Vec<String>,

    /// Bearer token that producers and panels must present (`Authorization: Bearer …`, or
    /// `?token=…` for browsers, which cannot set headers on a WebSocket). No token: open.
    #[arg(long, env = "UTP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Largest message accepted from a producer, in bytes; a larger one closes the connection
    /// with code 1009 and a reason. Also the largest OTLP request body, as sent and inflated
    /// (413).
    #[arg(long, env = "UTP_MAX_MESSAGE_BYTES", default_value_t = 16 << 20)]
    pub max_message_bytes: usize,

    /// Events kept in memory for panels to resume from; a panel further behind gets a
    /// snapshot. Also bounded by --retain-mib.
    #[arg(long, env = "UTP_RETAIN_EVENTS", default_value_t = 100_000)]
    pub retain_events: usize,

    /// Bytes of events kept in memory for panels to resume from and to send to panels, in
    /// MiB: the only copy of recent events that panels read from.
    #[arg(long, env = "UTP_RETAIN_MIB", default_value_t = 64)]
    pub retain_mib: usize,

    /// Events queued for one panel before it is considered slow and told to resync from a
    /// snapshot (it never blocks producers or other panels).
    #[arg(long, env = "UTP_PANEL_QUEUE", default_value_t = 65_536)]
    pub panel_queue: usize,

    /// Most panels connected at once; more are refused with a reason.
    #[arg(long, env = "UTP_MAX_PANELS", default_value_t = 64)]
    pub max_panels: usize,

    /// Most producers connected at once (their own slots: panels never keep producers out).
    #[arg(long, env = "UTP_MAX_PRODUCERS", default_value_t = 256)]
    pub max_producers: usize,

    /// Most connections that have not yet become a producer's or a panel's WebSocket (HTTP
    /// requests, handshakes); more are closed at once. Producers (--max-producers) and
    /// panels (--max-panels) have slots of their own.
    #[arg(long, env = "UTP_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,

    /// Seconds a new connection has to send its request headers; a socket that sends
    /// nothing is closed and frees its slot.
    #[arg(long, env = "UTP_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10)]
    pub handshake_timeout_secs: u64,

    /// Seconds a connection may stay silent before it is pinged; one that does not answer
    /// within as long again is closed (half-open sockets, vanished clients).
    #[arg(long, env = "UTP_IDLE_TIMEOUT_SECS", default_value_t = 30)]
    pub idle_timeout_secs: u64,

    /// Seconds a frame may take to be written to a panel; a panel that does not read for
    /// that long is closed with a reason (it reconnects and resumes), instead of holding
    /// frames in memory.
    #[arg(long, env = "UTP_WRITE_TIMEOUT_SECS", default_value_t = 20)]
    pub write_timeout_secs: u64,

    /// Milliseconds a producer that disconnected has to come back (any event of its process)
    /// before the runtime reports the spans it left open as interrupted (`span_interrupted`);
    /// 0: never report.
    #[arg(long, env = "UTP_INTERRUPT_GRACE_MS", default_value_t = 10_000)]
    pub interrupt_grace_ms: u64,

    /// How long events are gathered into one frame for panels, in milliseconds.
    #[arg(long, env = "UTP_BATCH_MS", default_value_t = 10)]
    pub batch_ms: u64,

    /// Largest frame sent to a panel, in bytes (a frame closes early when it gets there).
    #[arg(long, env = "UTP_BATCH_BYTES", default_value_t = 256 << 10)]
    pub batch_bytes: usize,

    /// Approximate memory cap of the runtime's trace state, in MiB; the oldest finished traces
    /// are evicted past it.
    #[arg(long, env = "UTP_MAX_STATE_MIB", default_value_t = 512)]
    pub max_state_mib: usize,

    /// Data directory of the durable store (SQLite, `events.db`): every accepted event is
    /// committed there before it is acknowledged, and read back at start, so a restarted
    /// runtime loses nothing acknowledged and panels resume. Default:
    /// `$XDG_DATA_HOME/user-trace-runtime`, else `~/.local/share/user-trace-runtime`. One
    /// runtime per directory.
    #[arg(long = "data", env = "UTP_DATA", conflicts_with = "in_memory")]
    pub data: Option<PathBuf>,

    /// Keep nothing on disk: a restart starts empty, with a new session.
    #[arg(long, env = "UTP_IN_MEMORY")]
    pub in_memory: bool,

    /// What a commit waits for before the acknowledgement: `off` (nothing: a power cut can
    /// lose the last seconds), `normal` (a power cut can lose the commits since the last
    /// checkpoint, never damages the file), `full` (a power cut loses nothing acknowledged;
    /// slowest). A process crash loses nothing acknowledged in any mode.
    #[arg(long, env = "UTP_SYNC", value_enum, default_value = "normal")]
    pub sync: SyncMode,

    /// Largest size of the database, in MiB (0: the disk's). Past it, events are refused to
    /// their producers (never acknowledged) until a `clear` or a compaction frees space.
    #[arg(long, env = "UTP_MAX_DISK_MIB", default_value_t = 0)]
    pub max_disk_mib: u64,

    /// Keep the event log in NATS JetStream instead of SQLite: several runtimes given the same
    /// server(s) and --nats-stream share one log, so producers and panels may use any of them
    /// (one global sequence; a panel resumes on any instance). Comma-separate several URLs.
    #[arg(long, env = "UTP_NATS", conflicts_with_all = ["in_memory", "data"])]
    pub nats: Option<String>,

    /// The JetStream stream (and `<name>-snapshots` object store) the runtimes share.
    #[arg(long, env = "UTP_NATS_STREAM", default_value = "user-traces")]
    pub nats_stream: String,

    /// Recover a damaged database: move it aside, write a new one with every event that
    /// reads back intact, report what was lost, and exit.
    #[arg(long, conflicts_with = "in_memory")]
    pub recover: bool,

    /// Log as JSON lines instead of text.
    #[arg(long, env = "UTP_LOG_JSON")]
    pub log_json: bool,
}

impl Config {
    /// Defaults, as with no flags, but in memory (for tests and embedding: many servers in one
    /// process, none owning a data directory).
    pub fn default_for(listen: SocketAddr) -> Self {
        let mut c = Config::parse_from(["user-trace-runtime"]);
        c.listen = listen;
        c.in_memory = true;
        c.data = None;
        c.nats = None;
        c
    }

    /// The data directory: `--data`, else the default under the user's data directory.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(d) = &self.data {
            return d.clone();
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".local/share"))
            })
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("user-trace-runtime")
    }

    /// Checks what flags alone cannot: an empty token would make an open server by mistake
    /// (`--token "$UNSET"`).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.token {
            if t.trim().is_empty() {
                return Err(
                    "--token is empty (an unset variable?): give a token, or leave \
                            the flag out for an open server on loopback"
                        .into(),
                );
            }
        }
        Ok(())
    }
}
