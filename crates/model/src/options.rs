//! Configuration: the memory cap and the per-event limits.

/// Sizes beyond which an event is rejected (with the limit named in the reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest text of one text or markdown span, in bytes.
    pub max_text_bytes: usize,
    /// Largest JSON content of one span (a streamed document's text too), and of a JSON value in
    /// an item or a message, in bytes. Above the text limit: JSON viewers are asked to open
    /// documents of 100 MB.
    pub max_json_bytes: usize,
    /// Most items in one items span.
    pub max_items: usize,
    /// Longest id, name, title or process name, in bytes.
    pub max_label_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_bytes: 64 << 20,
            max_json_bytes: 128 << 20,
            max_items: 100_000,
            max_label_bytes: 4096,
        }
    }
}

/// Options of a [`crate::Model`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Approximate cap on the bytes the model holds; past it, the oldest finished root traces
    /// (then the oldest running ones) are evicted.
    pub max_bytes: usize,
    /// How many recent event ids are remembered to drop duplicates (at least this many, at
    /// most twice as many). Its memory (about 36 bytes per id) is taken on the first event.
    pub dedup_window: usize,
    /// Per-event size limits.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_bytes: 256 << 20,
            dedup_window: 1 << 16,
            limits: Limits::default(),
        }
    }
}
