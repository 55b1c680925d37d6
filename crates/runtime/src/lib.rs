//! The reference user-trace runtime: producers stream events in, panels subscribe.
//!
//! - [`hub`]: ordering, the retained window, snapshots, fan-out (the heart);
//! - [`ingest`]: the producer side; [`panel`]: the panel side (batching, resume, resync);
//! - [`otlp`]: OpenTelemetry traces in (`POST /v1/traces`), mapped onto the protocol's events;
//! - [`access`]: Origin allow-list, Host and token; [`storage`]: where events are kept
//!   (SQLite by default, or in memory); [`config`]: flags.

pub mod access;
pub mod allocator;
pub mod config;
pub mod hub;
pub mod ingest;
pub mod interrupt;
pub mod otlp;
pub mod panel;
pub mod panel_socket;
pub mod server;
pub mod storage;

pub use config::Config;
pub use server::{start, Running};
