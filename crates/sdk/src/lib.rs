//! Stream user traces from a Rust program to a user-trace runtime.
//!
//! ```no_run
//! # async fn demo() -> Result<(), user_trace_sdk::Error> {
//! let tracer = user_trace_sdk::Tracer::connect("ws://127.0.0.1:4700/v1/ingest").await?;
//! let trace = tracer.trace("Answer a question");
//! let answer = trace.text("answer", "");
//! for token in ["Hello", ",", " world"] {
//!     answer.append(token);
//! }
//! answer.end();
//! trace.items("usage", [("tokens", 3)]);
//! trace.end();
//! drop((answer, trace));
//! // Every event acknowledged, then the connection closed (before the program exits).
//! tracer.close().await;
//! # Ok(()) }
//! ```
//!
//! Handles are cheap to clone and usable from any thread or task. Events are buffered and sent
//! in batches by a background task, which reconnects when the server goes away and resends
//! what was not acknowledged (the server drops duplicates), so nothing it accepted is lost.

mod connection;
mod handles;
mod ids;
mod layer;
mod tracer;

pub use handles::{SpanHandle, TraceHandle};
pub use layer::TraceLayer;
pub use tracer::{Error, Stats, Tracer, TracerOptions};
pub use user_trace_protocol as protocol;
pub use user_trace_protocol::{Message, RawJson};
