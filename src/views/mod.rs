//! Views: one file per concern, one per span kind. They read the store and stay thin; the
//! logic they use (JSON reading, markdown, formatting) lives outside components.

pub mod clipboard;
pub mod error_span;
pub mod generic_span;
pub mod items_span;
pub mod json_span;
pub mod json_tree;
pub mod markdown_span;
pub mod span;
pub mod status_bar;
pub mod text_span;
pub mod toolbar;
pub mod trace;
pub mod tree;
pub mod virtual_list;

/// A collapse-all or expand-all command: `(generation, expand)`. Views apply it when the
/// generation changes, so that a repeated command applies again.
pub type Fold = leptos::prelude::RwSignal<(u64, bool)>;
