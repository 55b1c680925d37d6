//! The live User Traces panel: a Leptos component that shows what a running program streams.
//!
//! Data flows one way: `protocol` (wire types) -> `model` (the trace tree) -> [`store`]
//! (reactive state, applied once per animation frame) -> `views` (one file per span kind).
//! See `docs/ARCHITECTURE.md`.

mod panel;

pub use panel::UserTracePanel;
