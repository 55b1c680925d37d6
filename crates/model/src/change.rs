//! What applying events did: changes for the UI, rejections, gaps.

use crate::node::{SpanId, TraceId};

/// Something the UI must update. A batch may report the same change more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The list of root traces changed (added, evicted).
    Roots,
    /// The set of traces and spans waiting for their parent changed.
    Orphans,
    /// A trace's list of spans changed.
    TraceSpans(TraceId),
    /// A span's list of child traces changed.
    SpanChildren(SpanId),
    /// A trace, with whatever nests in it, joined the tree of a trace above it: attached to
    /// its span, or inside a span that was attached to its trace. (What nests below a trace
    /// grows only this way; it shrinks only when its root is evicted or all is cleared.)
    Nested(TraceId),
    /// A trace's header changed: status, end time, processes.
    Trace(TraceId),
    /// A span's header changed: status, end time, writers.
    Span(SpanId),
    /// Text was appended to a span, starting at byte `from` of its text.
    TextAppended { span: SpanId, from: usize },
    /// A span's content was replaced or its items changed.
    Content(SpanId),
    /// Everything was dropped.
    Cleared,
}

/// An event that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Its sequence number, when it came from a numbered stream.
    pub seq: Option<u64>,
    /// Its id, when it could be read.
    pub event_id: Option<String>,
    pub reason: String,
}

/// Sequence numbers skipped by the stream: nothing from `got` on was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub expected: u64,
    pub got: u64,
}

/// What one or more `apply` calls did. Reuse one across calls and [`Outcome::clear`] it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub changes: Vec<Change>,
    pub rejected: Vec<Rejection>,
    /// Set when a batch did not follow the last sequence number; the caller should resume.
    pub gap: Option<Gap>,
    /// Events dropped as duplicates.
    pub duplicates: u64,
    /// Root traces evicted to stay under the memory cap.
    pub evicted: u64,
}

impl Outcome {
    pub fn clear(&mut self) {
        self.changes.clear();
        self.rejected.clear();
        self.gap = None;
        self.duplicates = 0;
        self.evicted = 0;
    }

    /// True when nothing at all happened.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.rejected.is_empty()
            && self.gap.is_none()
            && self.evicted == 0
    }
}

/// A snapshot part that does not follow the one applied before it (another snapshot's, or
/// one skipped): nothing of it was applied, and the model holds no sequence number, so the
/// caller subscribes again and gets a whole snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartOutOfOrder {
    pub seq: u64,
    pub part: u32,
    /// The part that would have followed: `(seq, part)`, or none after a whole snapshot.
    pub expected: Option<(u64, u32)>,
}

impl std::fmt::Display for PartOutOfOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "snapshot part {} of seq {} ", self.part, self.seq)?;
        match self.expected {
            Some((seq, part)) => write!(f, "came where part {part} of seq {seq} was due")?,
            None => f.write_str("came without the parts before it")?,
        }
        f.write_str(": starting over from a snapshot")
    }
}
