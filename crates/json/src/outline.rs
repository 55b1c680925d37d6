//! The top level of a JSON container, as a view shows it: where each page of members starts,
//! how many members there are, and the members of the first page.
//!
//! The model computes it on demand for any container (`model::json::outline`); the decoder
//! computes it for a large JSON value in the same pass that validates it, so that a 10 MB span
//! is read once before its first paint rather than twice.

use std::ops::Range;

/// Members per page: a container with more is shown as collapsed groups `[0 … 99]`.
pub const PAGE: usize = 100;

/// Values at least this long are outlined while they are decoded; smaller ones are cheap to
/// outline when a view asks.
pub const OUTLINE_FROM: usize = 64 * 1024;

/// One member of an object (with its key) or element of an array (without).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// The key as sent, with its quotes and escapes.
    pub key: Option<&'a str>,
    /// The value's text as sent.
    pub value: &'a str,
    /// How many members the value has (0 for scalars): counted while skipping it, so that a
    /// view can summarize the children of a node from the one pass that listed them.
    pub count: usize,
    /// Where each page of the value's members starts (offsets into the value), when the
    /// decoder noted it while skipping the value (see [`MemberAt::pages`]); otherwise empty.
    pub pages: &'a [usize],
}

/// A member by its byte ranges in its container's trimmed text: kept without borrowing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAt {
    pub key: Option<Range<usize>>,
    pub value: Range<usize>,
    pub count: usize,
    /// Where each page of the value's members starts (offsets into the value): noted by the
    /// decoder for a value of more than [`PAGE`] members and at least [`OUTLINE_FROM`] bytes,
    /// so that expanding it needs no pass over it; empty otherwise.
    pub pages: Vec<usize>,
}

impl MemberAt {
    /// The member in `container` (the same trimmed text it was found in).
    pub fn get<'a>(&'a self, container: &'a str) -> Option<Member<'a>> {
        let key = match &self.key {
            Some(k) => Some(container.get(k.clone())?),
            None => None,
        };
        Some(Member {
            key,
            value: container.get(self.value.clone())?,
            count: self.count,
            pages: &self.pages,
        })
    }
}

/// What one pass over a container finds: where each page of members starts (offsets into
/// `raw.trim()`), how many members it has, and, when they fit on one page, the members
/// themselves, so that showing them needs no second pass over a value that may be megabytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline {
    pub starts: Vec<usize>,
    pub count: usize,
    pub first_page: Vec<MemberAt>,
}
