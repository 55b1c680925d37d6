//! OpenTelemetry ingest: `POST /v1/traces` (OTLP/HTTP, protobuf or JSON) mapped onto the
//! protocol's events and fed through the hub like a producer's batch, so that storage,
//! duplicates and fan-out apply as they do to every producer. docs/OTEL.md has the mapping.
//!
//! - [`map`]: a request as events (pure; one trace per OTel span, children nested at any depth);
//! - [`genai`]: the GenAI conventions (conversations, tool calls, usage);
//! - [`json`]: attribute values as JSON text, without recursion;
//! - [`http`]: the route (content types, compression, limits, answers).

pub mod genai;
pub mod http;
pub mod json;
pub mod map;

pub use http::TRACES_PATH;
pub use map::map_request;
