//! The text of a document that arrives in pieces, kept in chunks that never move.
//!
//! A `String` that grows doubles its buffer and copies the text each time, and in the panel's
//! wasm, whose memory never shrinks, every old buffer stays behind: a 20 MB document streamed
//! in 1 KB pieces held 3.5 times its size (B10). Here the text fills chunks that are never
//! grown, each twice the last from [`FIRST`] bytes (so that a small document costs about what
//! it holds, as a `String` would) up to [`CHUNK`]: the text is held once, and an append never
//! copies what came before. A piece never straddles two chunks, so every chunk is whole UTF-8.
//!
//! A complete document stays in its chunks as the span's content ([`crate::RawJson::from_streamed`]):
//! joining them into one string would hold the document twice at that moment, and so for good.
//!
//! Readers take the text through [`Text`], which is the same for a document that is one string:
//! a range within a chunk is borrowed, one across chunks is copied.

use std::borrow::Cow;
use std::ops::Range;

/// Bytes of a full chunk.
pub const CHUNK: usize = 1 << 20;
/// Bytes of the first chunk.
pub const FIRST: usize = 256;

/// A growing text in chunks (see the module).
#[derive(Debug, Clone, Default)]
pub struct StreamText {
    chunks: Vec<String>,
    /// Where each chunk starts in the text.
    starts: Vec<usize>,
    len: usize,
    /// The chunk size; [`CHUNK`] unless a test asks for small ones (0: the default).
    chunk: usize,
}

impl StreamText {
    /// A text whose chunks hold `chunk` bytes (tests use small ones to cross them often).
    pub fn with_chunk(chunk: usize) -> Self {
        StreamText {
            chunk: chunk.max(1),
            ..Self::default()
        }
    }

    fn chunk(&self) -> usize {
        if self.chunk == 0 {
            CHUNK
        } else {
            self.chunk
        }
    }

    /// Appends `piece`: into the last chunk while it has room, else into a new chunk twice the
    /// size of the last (from [`FIRST`] up to a full chunk; a larger piece gets its own size).
    pub fn push(&mut self, piece: &str) {
        if piece.is_empty() {
            return;
        }
        let room = self.chunks.last().map_or(0, |c| c.capacity() - c.len());
        if room < piece.len() {
            let size = self.chunks.last().map_or(FIRST, |c| c.capacity() * 2);
            self.starts.push(self.len);
            self.chunks.push(String::with_capacity(
                size.min(self.chunk()).max(piece.len()),
            ));
        }
        if let Some(last) = self.chunks.last_mut() {
            last.push_str(piece);
        }
        self.len += piece.len();
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Drops the ASCII whitespace at the end (after a document's value), in place.
    pub fn trim_end(&mut self) {
        while let Some(last) = self.chunks.last_mut() {
            let kept = last
                .bytes()
                .rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .map_or(0, |at| at + 1);
            self.len -= last.len() - kept;
            last.truncate(kept);
            if kept > 0 {
                return;
            }
            self.chunks.pop();
            self.starts.pop();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes allocated, for the model's memory accounting.
    pub fn heap_bytes(&self) -> usize {
        let mut bytes = 0;
        for c in &self.chunks {
            bytes += c.capacity();
        }
        bytes
            + self.chunks.capacity() * std::mem::size_of::<String>()
            + self.starts.capacity() * std::mem::size_of::<usize>()
    }

    /// Its chunks, in order.
    pub fn chunks(&self) -> &[String] {
        &self.chunks
    }

    /// The text as a [`Text`].
    pub fn text(&self) -> Text<'_> {
        match self.chunks.as_slice() {
            [] => Text::Whole(""),
            [one] => Text::Whole(one),
            _ => Text::Chunks(self),
        }
    }

    /// The chunk holding byte `at` (the last one for the end).
    fn chunk_at(&self, at: usize) -> usize {
        self.starts.partition_point(|&s| s <= at).saturating_sub(1)
    }
}

/// A document's text as readers see it: one string, or a streamed one's chunks.
#[derive(Debug, Clone, Copy)]
pub enum Text<'a> {
    Whole(&'a str),
    Chunks(&'a StreamText),
}

impl<'a> Text<'a> {
    pub fn len(&self) -> usize {
        match self {
            Text::Whole(s) => s.len(),
            Text::Chunks(c) => c.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its parts in order: one for a whole text, else its chunks (none empty).
    pub fn parts(&self) -> Vec<&'a str> {
        match *self {
            Text::Whole(s) => vec![s],
            Text::Chunks(c) => c.chunks.iter().map(String::as_str).collect(),
        }
    }

    /// Whether it starts an object or an array.
    pub fn is_container(&self) -> bool {
        matches!(self.get(0..1).as_deref(), Some("{" | "["))
    }

    /// Bytes `range`, as `str::get` gives them (`None` out of bounds or off a character's
    /// boundary): borrowed when they lie in one part, else copied.
    pub fn get(&self, range: Range<usize>) -> Option<Cow<'a, str>> {
        let c = match *self {
            Text::Whole(s) => return s.get(range).map(Cow::Borrowed),
            Text::Chunks(c) => c,
        };
        if range.start > range.end || range.end > c.len {
            return None;
        }
        let first = c.chunk_at(range.start);
        let last = c.chunk_at(range.end.saturating_sub(1).max(range.start));
        let local = |i: usize, at: usize| at - c.starts[i];
        if first == last {
            let r = local(first, range.start)..local(first, range.end);
            return c.chunks[first].get(r).map(Cow::Borrowed);
        }
        let mut out = String::with_capacity(range.len());
        for i in first..=last {
            let chunk = &c.chunks[i];
            let from = if i == first { local(i, range.start) } else { 0 };
            let to = if i == last {
                local(i, range.end)
            } else {
                chunk.len()
            };
            out.push_str(chunk.get(from..to)?);
        }
        Some(Cow::Owned(out))
    }

    /// From byte `from` (a character's boundary) on, at most `max` bytes, cut back to a
    /// character's boundary: what a view shows of a token that may be long.
    pub fn prefix(&self, from: usize, max: usize) -> Cow<'a, str> {
        let mut end = self.len().min(from.saturating_add(max));
        // A character is at most 4 bytes: one of these ends is a boundary.
        for _ in 0..4 {
            if let Some(s) = self.get(from..end) {
                return s;
            }
            end = end.saturating_sub(1).max(from);
        }
        Cow::Borrowed("")
    }

    /// The whole text, copied only when it is in chunks.
    pub fn whole(&self) -> Cow<'a, str> {
        match *self {
            Text::Whole(s) => Cow::Borrowed(s),
            Text::Chunks(c) => Cow::Owned(c.chunks.concat()),
        }
    }

    /// Whether `found` holds for a part, or for the text around a seam between two parts
    /// (`reach` bytes on each side, cut to characters, across as many parts as that takes): a
    /// search for something at most `reach` bytes long sees every place it can be without
    /// copying the text.
    /// `found` is called through a pointer: one copy of this in the panel's wasm for every
    /// caller's test.
    pub fn any(&self, reach: usize, found: &mut dyn FnMut(&str) -> bool) -> bool {
        let c = match *self {
            Text::Whole(s) => return found(s),
            Text::Chunks(c) => c,
        };
        c.chunks.iter().any(|p| found(p))
            || c.starts.iter().skip(1).any(|&seam| {
                // From the first character that starts at most `reach` bytes before the seam.
                let mut from = seam.saturating_sub(reach);
                while self.get(from..seam).is_none() {
                    from += 1;
                }
                found(&self.prefix(from, seam - from + reach))
            })
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.whole() == *other
    }
}
