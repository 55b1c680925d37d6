//! Wire protocol v1 of user traces.
//!
//! JSON text frames over WebSocket. Producers send events to the runtime; the runtime orders
//! them into one numbered sequence and sends them, batched, to every panel. The format is
//! documented for implementers in `docs/PROTOCOL.md`; the JSON Schemas under `schema/` are
//! generated from these types (see `schema::generate`).
//!
//! The protocol's own reader and writer ([`reader`], [`writer`]) are the one JSON path on the
//! wire, in the panel and the runtime alike. serde derives are behind the `serde` feature (for
//! programs that want the types as serde values: the SDK, tests), and schema generation behind
//! `schema`; without them the crate depends only on `user-trace-json` and std.
//!
//! Decoding is lenient where it can be: one malformed event in a batch is reported on its own
//! and the rest of the batch still decodes (see [`message::decode_server`]).

pub mod content;
pub mod conversation;
pub mod error;
pub mod event;
pub mod message;
#[cfg(not(target_arch = "wasm32"))]
pub mod random;
#[cfg(feature = "schema")]
pub mod schema;
pub mod stream_text;
mod wire;
pub mod writer;

/// The JSON reader and outlines live in `user-trace-json`, built for speed (see its docs).
pub use user_trace_json::{outline, reader};

pub use content::{Content, ErrorContent, Item, RawJson, SpanKind};
pub use conversation::{Message, MessageContent, Part, ToolCall};
pub use error::{DecodeError, EventError};
pub use event::{Event, Op, Status, RUNTIME_PROCESS};
pub use message::{
    decode_event, decode_panel, decode_producer, decode_server, decode_server_frame, DecodedBatch,
    Hello, Limits, PanelMessage, ProducerMessage, ProducerReply, Rejected, ServerMessage,
};
pub use reader::ReadError;

/// The protocol version this crate speaks. A peer whose hello names another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// The close code with which a client refuses a server of another protocol version (the
/// reason names both). In the range applications own: a browser may close only with 1000 or
/// 3000–4999.
pub const CLOSE_OTHER_VERSION: u16 = 4000;

/// The WebSocket path panels subscribe on.
pub const PANEL_PATH: &str = "/v1/panel";
/// The WebSocket path producers stream events into (also accepts an HTTP POST of one batch).
pub const INGEST_PATH: &str = "/v1/ingest";
