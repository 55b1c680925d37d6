//! Views: one file per concern, one per span kind. Each is a function that builds its elements
//! with [`crate::dom`] and keeps them current with effects on the store's triggers; the logic
//! they use (JSON reading, markdown, formatting, windowing) lives outside them.

pub mod clipboard;
pub mod deep;
pub mod error_span;
pub mod errors;
pub mod find_bar;
pub mod generic_span;
pub mod item_history;
pub mod items_span;
pub mod json_span;
pub mod json_stream;
pub mod json_tree;
pub mod label;
pub mod long_text;
pub mod markdown_span;
pub mod messages;
pub mod reveal;
pub mod span;
pub mod status_bar;
pub mod stream_stats;
pub mod tail;
pub mod text_span;
pub mod toolbar;
pub mod toolbar_menu;
pub mod trace;
pub mod tree;
pub mod virtual_list;
pub mod waterfall;
pub mod who;

use crate::store::Store;
use virtual_list::Viewport;

/// The last collapse-all or expand-all command. Views apply it when its generation changes,
/// so that a repeated command applies again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldCommand {
    /// Counts the commands given.
    pub generation: u64,
    /// Expand all (true) or collapse all (false).
    pub expand: bool,
}

impl Default for FoldCommand {
    /// Before any command: traces show expanded.
    fn default() -> Self {
        FoldCommand {
            generation: 0,
            expand: true,
        }
    }
}

/// Collapse-all / expand-all commands.
pub type Fold = crate::reactive::RwSignal<FoldCommand>;

/// What the panel's parts share: the toolbar, the find bar, the error navigation, the tree and
/// whatever reveals a place (find, "next error", a host's `reveal(source)`).
#[derive(Clone, Copy)]
pub struct PanelCx {
    /// The store to read from.
    pub store: Store,
    /// What the reader filters by (the tree lists the roots it keeps).
    pub filter: crate::reactive::RwSignal<crate::filter::Filter>,
    /// Whether the tree follows the newest activity.
    pub follow: crate::reactive::RwSignal<bool>,
    /// Collapse-all / expand-all commands.
    pub fold: Fold,
}

/// What every trace and span view is given.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The store to read from.
    pub store: Store,
    /// Collapse-all / expand-all commands.
    pub fold: Fold,
    /// What the reader filters by (names and titles highlight what it finds).
    pub filter: crate::reactive::RwSignal<crate::filter::Filter>,
    /// The scroller that lists virtualize against (none: every row is mounted).
    pub viewport: Option<Viewport>,
    /// How many levels of traces this view is below the tree's root level (see
    /// [`crate::depth`]: past a cap, a trace is a way in, not nested in place).
    pub depth: usize,
    /// Where root traces stop opening by default: the oldest that does, by start time and id
    /// (`None`: every one). See [`crate::windowing::open_by_default`].
    pub open_from: Option<OpenFrom>,
}

/// The oldest root trace that opens by default (see [`Ctx::open_from`]).
pub type OpenFrom = crate::reactive::Memo<Option<(u64, std::sync::Arc<str>)>>;

impl Ctx {
    /// Whether a trace (at this context's depth, running or not, starting at `start_ts`, with
    /// producer id `key`) starts open when the reader has not said: nested traces and running
    /// ones do, and root traces from the newest back to [`Ctx::open_from`]. Called outside
    /// `store.with`: the memo reads the store.
    pub fn opens_by_default(&self, running: bool, start_ts: u64, key: &str) -> bool {
        use crate::reactive::*;
        if self.depth > 0 || running {
            return true;
        }
        let Some(from) = self.open_from else {
            return true;
        };
        from.with_untracked(|f| {
            f.as_ref()
                .is_none_or(|(ts, k)| (start_ts, key) >= (*ts, &**k))
        })
    }
}

impl Ctx {
    /// The context of a trace nested one level deeper.
    pub fn deeper(self) -> Ctx {
        Ctx {
            depth: self.depth + 1,
            ..self
        }
    }
}
