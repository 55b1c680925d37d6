//! The live User Traces panel: a Leptos component that shows what a running program streams.
//!
//! Data flows one way: `protocol` (wire types) -> `model` (the trace tree) -> [`store`]
//! (reactive state, applied once per animation frame) -> [`views`] (one file per span kind,
//! built with the DOM helpers in [`dom`]).
//! [`connection`] feeds the store from a runtime; [`js`] lets JavaScript hosts mount the panel
//! and push events. See `docs/ARCHITECTURE.md`.

mod backoff;
mod badges;
pub mod bidi;
mod byte_cap;
mod clock;
#[cfg(feature = "component")]
mod component;
pub mod connection;
mod copy;
mod depth;
mod dom;
mod endpoints;
mod filter;
mod find;
mod format;
pub mod js;
mod js_glue;
mod json_partial;
mod json_string;
mod label_text;
pub mod links;
mod markdown;
mod panel;
mod process_colour;
mod reactive;
pub mod store;
pub mod styles;
mod text_chunks;
mod timing;
mod views;
mod windowing;

#[cfg(feature = "component")]
pub use component::UserTracePanel;
pub use store::{Pending, Store};
pub use views::toolbar::import_text;
