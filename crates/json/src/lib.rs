//! The protocol's JSON reader ([`reader`]) and the outline of a container's top level
//! ([`outline`]), re-exported by `user-trace-protocol` as its own modules.
//!
//! A crate of their own so that the release profile can build them for speed while the rest
//! of the panel's wasm is built for size: these loops validate and outline a 10 MB snapshot
//! before its first paint (BENCHMARKS.md, B4 and B6).

pub mod outline;
pub mod reader;

pub use reader::ReadError;
