//! The trace model: protocol events in, a consistent trace tree out.
//!
//! [`Model`] holds root traces, their spans and the child traces nested in spans, at any depth.
//! Applying an event returns what changed ([`Change`]) so that a UI touches only that. The
//! model is pure Rust with no browser dependency; the panel compiles it to wasm unchanged and
//! the runtime uses it to build snapshots.
//!
//! What it guarantees:
//! - events of several processes may interleave, and a span or child trace may arrive before
//!   its parent: it waits (see [`Model::orphans`]) and is attached when the parent arrives;
//! - duplicates (same sequence number, or same process and event id) change nothing; a gap in
//!   sequence numbers is reported and nothing after it is applied;
//! - an invalid event is rejected with a reason and nothing else is lost;
//! - memory is bounded by [`Options::max_bytes`]: the oldest finished traces are evicted first;
//! - text appends cost O(appended bytes); JSON is kept as sent and indexed lazily ([`json`]);
//!   JSON streamed in pieces is parsed as it arrives ([`json_stream`]).

mod apply;
mod below;
mod change;
mod dump;
#[doc(hidden)]
pub mod fuzz;
pub mod json;
pub mod json_stream;
mod model;
mod names;
mod node;
mod options;
pub mod search;
mod seen;
mod slab;
mod snapshot;
mod span_keys;
/// A streamed document's chunked text: the protocol's, since a complete one stays in its
/// chunks as the span's content (`RawJson::from_streamed`).
pub use user_trace_protocol::stream_text;

pub use below::LevelsBelow;
pub use change::{Change, Gap, Outcome, PartOutOfOrder, Rejection};
pub use json_stream::JsonStream;
pub use model::{Model, Orphans, RootIter, RootList, Sourced};
pub use node::{
    Appends, Children, IdList, ItemHistories, ItemHistory, Parent, RunStatus, Span, SpanId, Trace,
    TraceId, ITEM_HISTORY,
};
pub use options::{Limits, Options};
pub use stream_text::Text;
pub use user_trace_protocol as protocol;
