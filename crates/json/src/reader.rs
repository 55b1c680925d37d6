//! A validating JSON reader for the wire format: one pass over a frame's text, borrowing from
//! it, building no tree and never recursing (nesting depth is bounded only by memory).
//!
//! It replaces serde on the decode path. The panel is a wasm module that is downloaded: serde's
//! generic deserializers and float parsing cost it about a tenth of its size, and the messages
//! are few and flat (an envelope, events, items), so reading them field by field here is short.
//! Strings, where JSON spends most of its bytes, are scanned eight bytes at a time.

use std::borrow::Cow;
use std::fmt;

use crate::outline::{MemberAt, Outline, OUTLINE_FROM, PAGE};

/// Where and why a text is not the JSON that was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// What was wrong, e.g. "expected a string, found an array".
    pub what: Cow<'static, str>,
    /// 1-based line and column (in characters) of the first byte that was wrong.
    pub line: usize,
    pub column: usize,
}

impl ReadError {
    /// The same error, said of the field `key` of an object.
    pub fn in_field(mut self, key: &str) -> Self {
        self.what = format!("`{key}`: {}", self.what).into();
        self
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.what, self.line, self.column
        )
    }
}

impl std::error::Error for ReadError {}

/// A cursor over JSON text. Methods read one value at the cursor (after any whitespace) and
/// leave the cursor after it.
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// Open containers while skipping a value (`true`: an object), kept to reuse its memory.
    stack: Vec<bool>,
    /// The outline being found by [`Reader::raw_outlined`], kept to reuse its memory.
    outline: Outline,
    /// Set while [`Reader::raw_outlined`] skips a member: where each page of the member's own
    /// members starts, so that expanding a large member needs no second pass over it.
    paging: bool,
    pages: Vec<usize>,
}

/// What [`Reader::object`] calls for each member.
type Field<'f, 'a> = dyn FnMut(&mut Reader<'a>, Cow<'a, str>) -> Result<(), ReadError> + 'f;

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        Reader {
            text,
            pos: 0,
            stack: Vec::new(),
            outline: Outline::default(),
            paging: false,
            pages: Vec::new(),
        }
    }

    /// The byte offset of the cursor.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// An error at the cursor.
    pub fn error(&self, what: impl Into<Cow<'static, str>>) -> ReadError {
        let before = self.text.get(..self.pos).unwrap_or(self.text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        ReadError {
            what: what.into(),
            line: before.matches('\n').count() + 1,
            column: before.get(line_start..).map_or(0, |s| s.chars().count()) + 1,
        }
    }

    /// "expected `what`, found ..." at the cursor.
    pub fn expected(&mut self, what: &str) -> ReadError {
        let found = match self.peek() {
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            Some(_) => "an invalid character",
            None => "the end of the text",
        };
        self.error(format!("expected {what}, found {found}"))
    }

    // The per-byte helpers are always inlined: the crate is built for size in the panel's wasm
    // (Cargo.toml), and a call per byte made validating 40% slower.
    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    #[inline(always)]
    fn byte(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while matches!(self.byte(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, without consuming it.
    #[inline(always)]
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.byte()
    }

    fn eat(&mut self, b: u8, what: &'static str) -> Result<(), ReadError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// Checks that nothing but whitespace is left.
    pub fn end(&mut self) -> Result<(), ReadError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters after the value")),
        }
    }

    /// Reads `null` if it is next; says whether it was.
    pub fn null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.rest().starts_with("null") {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    /// A string, its escapes decoded; borrowed from the text when it has none.
    pub fn string(&mut self) -> Result<Cow<'a, str>, ReadError> {
        if self.peek() != Some(b'"') {
            return Err(self.expected("a string"));
        }
        let text = self.text;
        let bytes = self.bytes();
        let start = self.pos + 1;
        let mut i = plain_run(bytes, start);
        if bytes.get(i) == Some(&b'"') {
            self.pos = i + 1;
            return Ok(Cow::Borrowed(slice(text, start, i)));
        }
        let mut out = String::with_capacity(i - start + 16);
        let mut run = start;
        loop {
            i = plain_run(bytes, i);
            out.push_str(slice(text, run, i));
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos = i;
                    i = self.unescape(&mut out)?;
                    run = i;
                }
                _ => {
                    self.pos = i;
                    return Err(self.string_end_error());
                }
            }
        }
    }

    /// An owned string.
    pub fn owned_string(&mut self) -> Result<String, ReadError> {
        self.string().map(Cow::into_owned)
    }

    /// A string, or `None` for `null`.
    pub fn optional_string(&mut self) -> Result<Option<String>, ReadError> {
        if self.null() {
            return Ok(None);
        }
        self.owned_string().map(Some)
    }

    /// `true` or `false`.
    pub fn bool(&mut self) -> Result<bool, ReadError> {
        match self.peek() {
            Some(b't') if self.rest().starts_with("true") => {
                self.pos += 4;
                Ok(true)
            }
            Some(b'f') if self.rest().starts_with("false") => {
                self.pos += 5;
                Ok(false)
            }
            _ => Err(self.expected("a boolean")),
        }
    }

    /// A non-negative integer that fits in 64 bits.
    pub fn u64(&mut self) -> Result<u64, ReadError> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {}
            _ => return Err(self.expected("a non-negative integer")),
        }
        let start = self.pos;
        self.skip_number()?;
        match slice(self.text, start, self.pos).parse::<u64>() {
            Ok(n) => Ok(n),
            Err(_) => {
                self.pos = start;
                Err(self.error("expected a non-negative integer below 2^64"))
            }
        }
    }

    /// Any JSON value, validated, as the text it was sent as.
    pub fn raw(&mut self) -> Result<&'a str, ReadError> {
        self.skip_ws();
        let start = self.pos;
        self.skip_value()?;
        Ok(slice(self.text, start, self.pos))
    }

    /// Any JSON value, validated, as the text it was sent as; and, when it is a container of
    /// at least [`OUTLINE_FROM`] bytes, its [`Outline`], found in the same pass: each member is
    /// skipped with [`Reader::skip_counted`] and recorded.
    pub fn raw_outlined(&mut self) -> Result<(&'a str, Option<Outline>), ReadError> {
        let (open, close) = match self.peek() {
            Some(b'{') => (b'{', b'}'),
            Some(b'[') => (b'[', b']'),
            _ => return Ok((self.raw()?, None)),
        };
        let start = self.pos;
        let mut o = std::mem::take(&mut self.outline);
        o.starts.clear();
        o.first_page.clear();
        o.count = 0;
        let walked = self.outline_members(open == b'{', close, start, &mut o);
        let raw = slice(self.text, start, self.pos);
        let kept = (walked.is_ok() && raw.len() >= OUTLINE_FROM).then(|| o.clone());
        self.outline = o;
        walked.map(|()| (raw, kept))
    }

    fn outline_members(
        &mut self,
        object: bool,
        close: u8,
        start: usize,
        o: &mut Outline,
    ) -> Result<(), ReadError> {
        self.pos += 1;
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let member = self.pos - start;
            let key = if object {
                if self.byte() != Some(b'"') {
                    return Err(self.error("expected a key (a string)"));
                }
                self.skip_string()?;
                let key = member..self.pos - start;
                self.eat(b':', "expected `:`")?;
                Some(key)
            } else {
                None
            };
            self.skip_ws();
            let value = self.pos - start;
            // A member of the first page is shown as a row that can be expanded: its pages
            // are noted while it is skipped.
            self.paging = o.count < PAGE;
            self.pages.clear();
            let skipped = self.skip_value();
            self.paging = false;
            let count = skipped?;
            if o.count.is_multiple_of(PAGE) {
                o.starts.push(member);
            }
            if o.count < PAGE {
                let large = count > PAGE && self.pos - start - value >= OUTLINE_FROM;
                o.first_page.push(MemberAt {
                    key,
                    value: value..self.pos - start,
                    count,
                    pages: if large {
                        std::mem::take(&mut self.pages)
                    } else {
                        Vec::new()
                    },
                });
            }
            o.count += 1;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {
                    self.pos += 1;
                    if o.starts.len() > 1 {
                        // Paged: each page reads its own members when it is expanded.
                        o.first_page.clear();
                    }
                    return Ok(());
                }
                _ if object => return Err(self.error("expected `,` or `}`")),
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// Any JSON value, validated and skipped.
    pub fn skip(&mut self) -> Result<(), ReadError> {
        self.skip_ws();
        self.skip_value().map(drop)
    }

    /// Any JSON value, validated and skipped; returns how many members it has (0 for scalars).
    /// This is how the model outlines a JSON span for a view: token by token, which is faster
    /// than looking at every byte for brackets.
    pub fn skip_counted(&mut self) -> Result<usize, ReadError> {
        self.skip_ws();
        self.skip_value()
    }

    /// An object: calls `field` with the reader at each member's value and the member's key,
    /// which must read or skip that value.
    pub fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, Cow<'a, str>) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        self.object_with(&mut field)
    }

    /// [`Reader::object`]'s loop, once for every caller: this crate is built for speed, which
    /// made a copy of it inlined in each (about 1 KB of the panel's gzip), and a call through a
    /// pointer per member costs nothing next to reading the member.
    fn object_with(&mut self, field: &mut Field<'_, 'a>) -> Result<(), ReadError> {
        if self.peek() != Some(b'{') {
            return Err(self.expected("an object"));
        }
        self.pos += 1;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a key (a string)"));
            }
            let key = self.string()?;
            self.eat(b':', "expected `:`")?;
            field(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    /// An object's members whose keys are `names`, each as the text it was sent as (validated)
    /// into the same place of `out`; other members are skipped. One loop for every flat object
    /// read this way, rather than one per closure (`object`), for code that is not hot.
    pub fn fields(&mut self, names: &[&str], out: &mut [Option<&'a str>]) -> Result<(), ReadError> {
        self.object(|r, key| {
            match names.iter().position(|n| **n == *key) {
                Some(i) => out[i] = Some(r.raw()?),
                None => r.skip()?,
            }
            Ok(())
        })
    }

    /// An array: calls `element` with the reader at each element, which must read or skip it.
    pub fn array(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        self.array_with(&mut element)
    }

    /// [`Reader::array`]'s loop, once for every caller (as [`Reader::object_with`]).
    fn array_with(
        &mut self,
        element: &mut dyn FnMut(&mut Self) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        if self.peek() != Some(b'[') {
            return Err(self.expected("an array"));
        }
        self.pos += 1;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            element(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// Rewinds (or advances) the cursor to a byte offset seen before.
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.text.len());
    }

    /// Skips one value at the cursor, validating it: containers with an explicit stack.
    /// Returns the number of members of the value (0 for scalars and empty containers).
    fn skip_value(&mut self) -> Result<usize, ReadError> {
        self.stack.clear();
        let from = self.pos;
        let mut members = 0;
        loop {
            // A value is due here.
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                    } else {
                        if self.stack.is_empty() {
                            self.page_start(from, 0);
                            members = 1;
                        }
                        self.stack.push(true);
                        self.key_and_colon()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                    } else {
                        if self.stack.is_empty() {
                            self.page_start(from, 0);
                            members = 1;
                        }
                        self.stack.push(false);
                        continue;
                    }
                }
                Some(b'"') => self.skip_string()?,
                Some(b'-' | b'0'..=b'9') => self.skip_number()?,
                Some(b't') => self.literal("true")?,
                Some(b'f') => self.literal("false")?,
                Some(b'n') => self.literal("null")?,
                _ => return Err(self.expected("a value")),
            }
            // A value is complete: close containers until one continues.
            loop {
                let Some(&object) = self.stack.last() else {
                    return Ok(members);
                };
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if self.stack.len() == 1 {
                            self.page_start(from, members);
                            members += 1;
                        }
                        if object {
                            self.key_and_colon()?;
                        }
                        break;
                    }
                    Some(b'}') if object => {
                        self.pos += 1;
                        self.stack.pop();
                    }
                    Some(b']') if !object => {
                        self.pos += 1;
                        self.stack.pop();
                    }
                    _ if object => return Err(self.error("expected `,` or `}`")),
                    _ => return Err(self.error("expected `,` or `]`")),
                }
            }
        }
    }

    /// Notes where member `index` of the value being skipped (from `from`) starts, the cursor
    /// before it, when [`Reader::raw_outlined`] asks and it starts a page.
    fn page_start(&mut self, from: usize, index: usize) {
        if self.paging && index.is_multiple_of(PAGE) {
            self.skip_ws();
            self.pages.push(self.pos - from);
        }
    }

    fn key_and_colon(&mut self) -> Result<(), ReadError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a key (a string)"));
        }
        self.skip_string()?;
        self.eat(b':', "expected `:`")
    }

    fn literal(&mut self, word: &'static str) -> Result<(), ReadError> {
        if self.rest().starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    /// Skips a string (the cursor at its opening quote), validating its escapes.
    fn skip_string(&mut self) -> Result<(), ReadError> {
        let bytes = self.bytes();
        let mut i = self.pos + 1;
        loop {
            i = plain_run(bytes, i);
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    i += match bytes.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                        Some(b'u') if hex4(bytes, i + 2).is_some() => 6,
                        _ => {
                            self.pos = i;
                            return Err(self.error("invalid escape in a string"));
                        }
                    }
                }
                _ => {
                    self.pos = i;
                    return Err(self.string_end_error());
                }
            }
        }
    }

    /// At a byte that ends a run of plain string bytes other than a quote or a backslash.
    fn string_end_error(&self) -> ReadError {
        match self.byte() {
            None => self.error("unterminated string"),
            Some(_) => self.error("control character in a string (it must be escaped)"),
        }
    }

    /// Decodes the escape at the cursor into `out`; returns the offset after it.
    fn unescape(&mut self, out: &mut String) -> Result<usize, ReadError> {
        let bytes = self.bytes();
        let i = self.pos;
        let simple = match bytes.get(i + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let Some(high) = hex4(bytes, i + 2) else {
                    return Err(self.error("invalid escape in a string"));
                };
                let (code, end) = match high {
                    0xD800..=0xDBFF => {
                        let low = match (bytes.get(i + 6..i + 8), hex4(bytes, i + 8)) {
                            (Some(b"\\u"), Some(low @ 0xDC00..=0xDFFF)) => low,
                            _ => return Err(self.error("lone surrogate in a \\u escape")),
                        };
                        (
                            0x10000
                                + ((u32::from(high) - 0xD800) << 10)
                                + (u32::from(low) - 0xDC00),
                            i + 12,
                        )
                    }
                    0xDC00..=0xDFFF => return Err(self.error("lone surrogate in a \\u escape")),
                    _ => (u32::from(high), i + 6),
                };
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                return Ok(end);
            }
            _ => return Err(self.error("invalid escape in a string")),
        };
        out.push(simple);
        Ok(i + 2)
    }

    /// Skips a number, validating JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn skip_number(&mut self) -> Result<(), ReadError> {
        let bytes = self.bytes();
        let digits = |mut i: usize| {
            while matches!(bytes.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            i
        };
        let mut i = self.pos;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        i = match bytes.get(i) {
            Some(b'0') => i + 1,
            Some(b'1'..=b'9') => digits(i + 1),
            _ => return Err(self.error("invalid number")),
        };
        if bytes.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                self.pos = end;
                return Err(self.error("invalid number: a digit must follow `.`"));
            }
            i = end;
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                self.pos = end;
                return Err(self.error("invalid number: a digit must follow the exponent"));
            }
            i = end;
        }
        self.pos = i;
        Ok(())
    }
}

/// `text[a..b]`, or "" if that is not a slice of it (never, for offsets this module makes:
/// they are at ASCII bytes, so at character boundaries).
fn slice(text: &str, a: usize, b: usize) -> &str {
    text.get(a..b).unwrap_or_default()
}

/// The value of four hex digits at `i`.
fn hex4(bytes: &[u8], i: usize) -> Option<u16> {
    let digits = bytes.get(i..i + 4)?;
    let mut n = 0u16;
    for &d in digits {
        n = n << 4 | u16::from(char::from(d).to_digit(16)? as u8);
    }
    Some(n)
}

/// The end of the run of plain string bytes from `i`: the first `"`, `\`, control byte or the
/// end. Eight bytes at a time: a word has a byte equal to `q` when `(w ^ q*0x01..) - 0x01..`
/// borrows into that byte's high bit, and a byte below 0x20 when `w - 0x20..` does.
#[inline(always)]
pub fn plain_run(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGHS;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let found = below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
            | below(w, 0x20);
        if found != 0 {
            // A borrow can only mark bytes above a true match: the lowest mark is exact.
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// In text already validated as JSON: the end (exclusive) of the string starting at `pos` (at
/// its opening quote). `None` rather than a panic if the text is not JSON after all.
pub fn trusted_string_end(bytes: &[u8], pos: usize) -> Option<usize> {
    if bytes.get(pos) != Some(&b'"') {
        return None;
    }
    let mut i = pos + 1;
    loop {
        // Eight bytes at a time up to the next quote, backslash or control byte.
        i = plain_run(bytes, i);
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// Decodes a JSON string literal (with its quotes), or says why it is not one.
pub fn decode_string(literal: &str) -> Result<String, ReadError> {
    let mut r = Reader::new(literal);
    let s = r.owned_string()?;
    r.end()?;
    Ok(s)
}

/// Checks that `text` is exactly one JSON value (whitespace around it allowed).
pub fn validate(text: &str) -> Result<(), ReadError> {
    let mut r = Reader::new(text);
    r.skip()?;
    r.end()
}

/// The elements of a JSON array, each as the text it was sent as.
pub fn array_elements(text: &str) -> Result<Vec<&str>, ReadError> {
    let mut r = Reader::new(text);
    let mut out = Vec::new();
    r.array(|r| {
        out.push(r.raw()?);
        Ok(())
    })?;
    r.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_decode_escapes_and_borrow_when_plain() {
        let mut r = Reader::new(r#" "plain text here, long enough" "#);
        assert!(matches!(
            r.string(),
            Ok(Cow::Borrowed("plain text here, long enough"))
        ));
        let s = decode_string(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 end""#);
        assert_eq!(s.as_deref(), Ok("a\"b\\c/d\u{8}\u{c}\n\r\té😀 end"));
        assert_eq!(decode_string(r#""ünïcödé""#).as_deref(), Ok("ünïcödé"));
    }

    #[test]
    fn bad_strings_say_why_and_where() {
        let what = |t: &str| decode_string(t).map_err(|e| e.to_string());
        assert_eq!(
            what(r#""\ud800""#),
            Err("lone surrogate in a \\u escape at line 1 column 2".into())
        );
        assert_eq!(
            what(r#""\udc00""#),
            Err("lone surrogate in a \\u escape at line 1 column 2".into())
        );
        assert_eq!(
            what("\"ab\ncd\""),
            Err("control character in a string (it must be escaped) at line 1 column 4".into())
        );
        assert_eq!(
            what(r#""abc"#),
            Err("unterminated string at line 1 column 5".into())
        );
        assert_eq!(
            what(r#""\x""#),
            Err("invalid escape in a string at line 1 column 2".into())
        );
        assert_eq!(
            what("[1]"),
            Err("expected a string, found an array at line 1 column 1".into())
        );
    }

    #[test]
    fn the_fast_scan_stops_at_every_special_byte_in_every_lane() {
        for at in 0..20 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                let mut bytes = vec![b'a'; 24];
                bytes[at] = special;
                assert_eq!(plain_run(&bytes, 0), at, "{special:#x} at {at}");
                // With more special bytes after it (whose borrows mark higher lanes).
                bytes[at + 1] = 0x00;
                bytes[at + 3] = b'"';
                assert_eq!(plain_run(&bytes, 0), at, "{special:#x} at {at}, then more");
            }
            // Bytes just above the special ones, and non-ASCII, are plain.
            let bytes = [b'#', b']', 0x20, 0x7f, 0x80, 0xff, b'!', b'[', b'a'];
            assert_eq!(plain_run(&bytes, 0), bytes.len());
        }
    }

    #[test]
    fn numbers_follow_the_json_grammar() {
        for ok in [
            "0",
            "-0",
            "12",
            "1.5",
            "-1.5e10",
            "1E+2",
            "1e-2",
            "123456789012345678901234",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for bad in [
            "01", "-", "1.", ".5", "1e", "+1", "1.e5", "--1", "0x10", "NaN", "Infinity",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        let mut r = Reader::new("18446744073709551615");
        assert_eq!(r.u64(), Ok(u64::MAX));
        for bad in ["18446744073709551616", "-1", "1.0", "\"1\""] {
            assert!(Reader::new(bad).u64().is_err(), "{bad}");
        }
    }

    #[test]
    fn values_validate_without_recursion() {
        let deep = format!("{}0{}", "[{\"k\":".repeat(100_000), "}]".repeat(100_000));
        assert_eq!(validate(&deep), Ok(()));
        let unclosed = "[".repeat(100_000);
        assert!(validate(&unclosed).is_err());
        for bad in [
            "{\"a\" 1}",
            "{\"a\":1,}",
            "[1,]",
            "[1 2]",
            "{1:2}",
            "tru",
            "nul",
            "[",
            "{",
            "",
            "1 2",
            "[}",
            "{]",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        for ok in [
            " {} ",
            "[]",
            "[[],{}]",
            "{\"a\":{\"b\":[1,\"x\",true,false,null]}}",
            "\"s\"",
            "true",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn errors_say_line_and_column() {
        let e = validate("{\n  \"a\": 1,\n  \"b\": ]\n}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected a value, found an invalid character at line 3 column 8"
        );
    }

    #[test]
    fn objects_and_arrays_call_back_per_member() {
        let mut r = Reader::new(r#"{"a": [1, 2], "b": "x", "c": {"deep": [null]}}"#);
        let mut seen = Vec::new();
        r.object(|r, key| {
            match &*key {
                "a" => r.array(|r| {
                    seen.push(format!("a{}", r.u64()?));
                    Ok(())
                })?,
                "b" => seen.push(r.owned_string()?),
                _ => seen.push(r.raw()?.to_owned()),
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["a1", "a2", "x", r#"{"deep": [null]}"#]);
        assert_eq!(
            array_elements(" [ 1 , {\"a\":2} ] "),
            Ok(vec!["1", "{\"a\":2}"])
        );
        // Skipping counts the first level's members only.
        for (text, members) in [
            ("[]", 0),
            ("{}", 0),
            ("7", 0),
            ("[[1, 2, 3]]", 1),
            (r#"{"a": [1, 2], "b": {"c": 1, "d": 2}, "e": "x,y"}"#, 3),
            (r#"[1, [2, 3], {"k": [4, 5]}, "]"]"#, 4),
        ] {
            let mut r = Reader::new(text);
            assert_eq!(r.skip_counted(), Ok(members), "{text}");
            assert_eq!(r.position(), text.len());
        }
    }
}
