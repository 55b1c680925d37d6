//! Configuration, from flags or environment variables (`--help` explains each).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

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

    /// Bearer token that producers and panels must present (`Authorization: Bearer …`, or
    /// `?token=…` for browsers, which cannot set headers on a WebSocket). No token: open.
    #[arg(long, env = "UTP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Largest message accepted from a producer, in bytes; a larger one closes the connection
    /// with code 1009 and a reason.
    #[arg(long, env = "UTP_MAX_MESSAGE_BYTES", default_value_t = 16 << 20)]
    pub max_message_bytes: usize,

    /// Events kept for panels to resume from; a panel further behind gets a snapshot.
    #[arg(long, env = "UTP_RETAIN_EVENTS", default_value_t = 100_000)]
    pub retain_events: usize,

    /// Events queued for one panel before it is considered slow and told to resync from a
    /// snapshot (it never blocks producers or other panels).
    #[arg(long, env = "UTP_PANEL_QUEUE", default_value_t = 65_536)]
    pub panel_queue: usize,

    /// Most panels connected at once; more are refused with a reason.
    #[arg(long, env = "UTP_MAX_PANELS", default_value_t = 64)]
    pub max_panels: usize,

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

    /// Append every accepted event to this file and replay it at start: a restarted runtime
    /// loses no accepted event and panels resume.
    #[arg(long, env = "UTP_JOURNAL")]
    pub journal: Option<PathBuf>,

    /// Log as JSON lines instead of text.
    #[arg(long, env = "UTP_LOG_JSON")]
    pub log_json: bool,
}

impl Config {
    /// Defaults, as with no flags (for tests and embedding).
    pub fn default_for(listen: SocketAddr) -> Self {
        let mut c = Config::parse_from(["user-trace-runtime"]);
        c.listen = listen;
        c
    }
}
