//! Lazy reading of JSON text kept as sent.
//!
//! A JSON span holds the producer's text, validated once on decode. Views walk it here on
//! demand: the members of one object or array at a time, each as a slice of the original text,
//! so key order, number text and escapes are exactly what the producer sent and memory stays at
//! about the text's own size. Everything here expects valid JSON (as the decoder guarantees)
//! and never panics on anything else: it stops early instead.

use std::borrow::Cow;

// The skipping loops live in the protocol crate, which is built for speed (see Cargo.toml).
use user_trace_protocol::reader::{trusted_string_end as skip_string, Reader};

pub use user_trace_protocol::outline::{Member, MemberAt, Outline, PAGE};

/// The type of a JSON value, from its first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl JsonKind {
    /// Whether the value has members to expand.
    pub fn is_container(self) -> bool {
        matches!(self, JsonKind::Object | JsonKind::Array)
    }
}

/// The kind of the value `raw` (leading whitespace allowed: JSON's is ASCII, read byte by
/// byte; find asks this of every item and value, most of them a few bytes long).
pub fn kind(raw: &str) -> JsonKind {
    match raw.trim_ascii_start().as_bytes().first() {
        Some(b'{') => JsonKind::Object,
        Some(b'[') => JsonKind::Array,
        Some(b'"') => JsonKind::String,
        Some(b't' | b'f') => JsonKind::Bool,
        Some(b'n') | None => JsonKind::Null,
        Some(_) => JsonKind::Number,
    }
}

/// The members of the object or array `raw`, in order. Empty for scalars.
pub fn members(raw: &str) -> Members<'_> {
    let raw = raw.trim();
    let object = raw.starts_with('{');
    let pos = if object || raw.starts_with('[') {
        1
    } else {
        raw.len()
    };
    Members {
        text: raw,
        pos,
        object,
        reader: Reader::new(raw),
    }
}

/// Iterator over [`members`].
pub struct Members<'a> {
    text: &'a str,
    pos: usize,
    object: bool,
    /// Skips values token by token (and counts their members); kept to reuse its memory.
    reader: Reader<'a>,
}

impl Members<'_> {
    /// Goes on from byte offset `pos` of the text, where a member starts (or just before
    /// its comma).
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.text.len());
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        let bytes = self.text.as_bytes();
        let mut pos = skip_ws(bytes, self.pos);
        if matches!(bytes.get(pos), Some(b',')) {
            pos = skip_ws(bytes, pos + 1);
        }
        match bytes.get(pos) {
            None | Some(b'}') | Some(b']') => {
                self.pos = self.text.len();
                return None;
            }
            _ => {}
        }
        let key = if self.object {
            let end = skip_string(bytes, pos)?;
            let key = self.text.get(pos..end)?;
            pos = skip_ws(bytes, end);
            if bytes.get(pos) != Some(&b':') {
                self.pos = self.text.len();
                return None;
            }
            pos = skip_ws(bytes, pos + 1);
            Some(key)
        } else {
            None
        };
        self.reader.seek(pos);
        let count = self.reader.skip_counted().ok()?;
        let end = self.reader.position();
        let value = self.text.get(pos..end)?;
        self.pos = end;
        Some(Member {
            key,
            value,
            count,
            pages: &[],
        })
    }
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

/// The number of members of an object or array (0 for scalars): one pass over its text.
pub fn count(raw: &str) -> usize {
    members(raw).count()
}

/// The byte offsets (into `raw.trim()`) where every `page`-th member starts, so that a view can
/// show page `n` without walking the members before it again.
pub fn page_starts(raw: &str, page: usize) -> Vec<usize> {
    pages(raw, page).0
}

/// [`page_starts`] and the number of members, in one pass over the text.
pub fn pages(raw: &str, page: usize) -> (Vec<usize>, usize) {
    let o = outline(raw, page);
    (o.starts, o.count)
}

/// The [`Outline`] of the container `raw`, with pages of `page` members.
pub fn outline(raw: &str, page: usize) -> Outline {
    let text = raw.trim();
    let base = text.as_ptr() as usize;
    let at = |part: &str| part.as_ptr() as usize - base;
    let page = page.max(1);
    let mut o = Outline::default();
    for (i, m) in members(text).enumerate() {
        if i.is_multiple_of(page) {
            o.starts.push(at(m.key.unwrap_or(m.value)));
        }
        if i < page {
            o.first_page.push(MemberAt {
                key: m.key.map(|k| at(k)..at(k) + k.len()),
                value: at(m.value)..at(m.value) + m.value.len(),
                count: m.count,
                pages: Vec::new(),
            });
        }
        o.count = i + 1;
    }
    if o.starts.len() > 1 {
        // Paged: each page reads its own members when it is expanded.
        o.first_page = Vec::new();
    }
    o
}

/// Groups a range of pages so that one level never shows more than `per` rows, as devtools
/// nest `[0 … 9999]` above `[0 … 99]`: each returned range is one page or a group of pages.
pub fn page_groups(pages: std::ops::Range<usize>, per: usize) -> Vec<std::ops::Range<usize>> {
    let per = per.max(2);
    let mut size = 1;
    while pages.len().div_ceil(size) > per {
        size *= per;
    }
    let end = pages.end;
    pages
        .step_by(size)
        .map(|s| s..(s + size).min(end))
        .collect()
}

/// The members of `raw` from byte offset `start` (from [`page_starts`]) on.
pub fn members_from(raw: &str, start: usize) -> Members<'_> {
    let mut m = members(raw);
    if start > 0 && start <= m.text.len() {
        m.pos = start;
    }
    m
}

/// The members in `region`, a run of an object's (`object`) or an array's members cut from its
/// text: from just after the container's opening bracket or after a member, to anywhere after
/// the last one wanted (a streamed document's view reads only what arrived since it last did).
pub fn members_in(region: &str, object: bool) -> Members<'_> {
    Members {
        text: region,
        pos: 0,
        object,
        reader: Reader::new(region),
    }
}

/// The text of a JSON string literal (with quotes), escapes decoded. Invalid input is returned
/// as it is rather than failing: this is for display.
pub fn decode_string(raw: &str) -> Cow<'_, str> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw);
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    match user_trace_protocol::reader::decode_string(raw) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(inner),
    }
}

/// A short one-line summary of a value: scalars as sent (strings decoded), containers as
/// `{3 keys}` / `[100 items]`. Long strings are cut at `max_chars`.
pub fn summary(raw: &str, max_chars: usize) -> String {
    let raw = raw.trim();
    match kind(raw) {
        k @ (JsonKind::Object | JsonKind::Array) => container_summary(k, count(raw)),
        JsonKind::String => {
            let s = decode_string(raw);
            match s.char_indices().nth(max_chars) {
                Some((cut, _)) => format!("{}…", &s[..cut]),
                None => s.into_owned(),
            }
        }
        _ => raw.to_owned(),
    }
}

/// `{3 keys}` / `[100 items]` for a container of `kind` with `count` members.
pub fn container_summary(kind: JsonKind, count: usize) -> String {
    match (kind, count) {
        (JsonKind::Object, 1) => "{1 key}".to_owned(),
        (JsonKind::Object, n) => format!("{{{n} keys}}"),
        (_, 1) => "[1 item]".to_owned(),
        (_, n) => format!("[{n} items]"),
    }
}

/// A JSONPath-like path segment for a member: `.key`, `["odd key"]` or `[3]`.
pub fn path_segment(key: Option<&str>, index: usize) -> String {
    match key {
        None => format!("[{index}]"),
        Some(raw) => {
            let k = decode_string(raw);
            let plain = !k.is_empty()
                && k.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
                && !k.starts_with(|c: char| c.is_ascii_digit());
            if plain {
                format!(".{k}")
            } else {
                format!("[{raw}]")
            }
        }
    }
}
