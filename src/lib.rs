//! The live User Traces panel: a Leptos component that shows what a running program streams.
//!
//! Data flows one way: `protocol` (wire types) -> `model` (the trace tree) -> [`store`]
//! (reactive state, applied once per animation frame) -> [`views`] (one file per span kind,
//! built with the DOM helpers in [`dom`]).
//! [`connection`] feeds the store from a runtime; [`js`] lets JavaScript hosts mount the panel
//! and push events. See `docs/ARCHITECTURE.md`.

pub mod backoff;
pub mod badges;
pub mod bidi;
pub mod clock;
#[cfg(feature = "component")]
mod component;
pub mod connection;
pub mod copy;
pub mod depth;
pub mod dom;
pub mod endpoints;
pub mod filter;
pub mod find;
pub mod format;
pub mod js;
pub mod json_partial;
pub mod json_string;
pub mod label_text;
pub mod links;
pub mod markdown;
mod panel;
pub mod process_colour;
pub mod reactive;
pub mod store;
pub mod styles;
pub mod text_chunks;
pub mod timing;
pub mod views;
pub mod windowing;

#[cfg(feature = "component")]
pub use component::UserTracePanel;
pub use store::{Pending, Store};
