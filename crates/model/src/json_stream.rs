//! JSON that arrives in pieces (`json_append`): an incremental parser that keeps, after every
//! piece, what a view needs to show the partial document as a tree.
//!
//! Each piece is read once, byte by byte (runs of plain string bytes eight at a time), so an
//! append costs O(its length) however large the document grows; a container that starts and
//! ends within the piece, as a member (or the document), is read whole by the protocol's
//! validating reader instead, about seven times faster, since nothing inside it is ever seen
//! open (B10: a document at 5 MB/s is mostly whole members). The parser keeps its own
//! stack of the containers still open, never recursing: the first [`DETAIL_LEVELS`] levels
//! with where they start, how many members are complete and where every page of
//! [`PAGE`] members starts; deeper levels one byte each (the data chooses the depth, so the
//! memory per level must stay at about the text's own).
//!
//! The first error stops the parsing (the rest is kept as text); at the end
//! ([`JsonStream::finish`]) an unfinished document is an error too. A complete one becomes the
//! span's content in its chunks, not read again: tests hold this parser equal to the protocol's
//! validating reader (`tests/json_stream.rs`).

use std::ops::Range;

use user_trace_protocol::outline::PAGE;
use user_trace_protocol::reader::{plain_run, Reader};

use crate::stream_text::{StreamText, Text};

/// Levels of open containers kept in detail; deeper ones are counted only.
pub const DETAIL_LEVELS: usize = 64;

/// An object or array not closed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// An object (else an array).
    pub object: bool,
    /// Byte offset of its `{` or `[` in the text.
    pub start: usize,
    /// Members complete so far.
    pub count: usize,
    /// Byte offsets where members `0`, `PAGE`, `2 * PAGE`, ... start (the key's quote, or an
    /// array element's first byte).
    pub page_starts: Vec<usize>,
    /// Where the member in progress starts, once one has.
    pub member: Option<usize>,
    /// The key of the member in progress (an object's), with its quotes, once complete.
    pub key: Option<Range<usize>>,
    /// Bytes of its last member read whole (at least the bytes that did not hold one): a
    /// container member is read whole only when the piece has that many bytes left.
    typical: usize,
}

/// A token at the end of the text that has not ended yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partial {
    /// Nothing: the text ends between tokens.
    None,
    /// An object's key, from this offset (its opening quote).
    Key(usize),
    /// A string, number or literal value, from this offset.
    Value(usize),
}

/// Why the text is not one JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    /// Byte offset of the first byte that was wrong (the text's length for an early end).
    pub at: usize,
    /// What was wrong and where (line and column), in words.
    pub what: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    /// Not in an escape.
    No,
    /// After a backslash.
    Slash,
    /// In `\uXXXX`: how many hex digits were read. (A lone surrogate is valid JSON text, as
    /// the reader and serde_json take it; views show it as U+FFFD.)
    Hex(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
}

impl Num {
    /// Whether a number may end here.
    fn complete(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::Exp)
    }
}

/// Bytes a piece must have left for a member to be read whole: in smaller pieces (tokens of a
/// model's output) few members end where they start, and a try that fails costs its bytes.
const WHOLE_FROM: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the value (whitespace is not kept).
    Start,
    /// A value is due (after `:`, or after `,` in an array).
    Value,
    /// After `[`: a value or `]`.
    ValueOrClose,
    /// After `{`: a key or `}`.
    KeyOrClose,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a member: `,` or the container's end.
    After,
    /// The value is complete: only whitespace may follow.
    End,
    Str {
        key: bool,
        esc: Esc,
    },
    Num(Num),
    /// In `true`, `false` or `null`: which, and how many bytes were read.
    Lit(&'static [u8], usize),
    /// An error was found: the rest is kept as text, not read.
    Failed,
}

/// A JSON document being streamed.
#[derive(Debug, Clone)]
pub struct JsonStream {
    text: StreamText,
    state: State,
    open: Vec<Open>,
    /// Containers open past [`DETAIL_LEVELS`]: `true` for an object.
    deep: Vec<bool>,
    /// Where the token in progress started.
    token: usize,
    done: bool,
    error: Option<StreamError>,
    /// Bytes looked at so far, counting the few read twice (what appends cost).
    work: usize,
}

impl Default for JsonStream {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonStream {
    /// A stream whose text is kept in chunks of `chunk` bytes (tests cross them often).
    #[doc(hidden)]
    pub fn with_chunk(chunk: usize) -> Self {
        JsonStream {
            text: StreamText::with_chunk(chunk),
            ..Self::new()
        }
    }

    pub fn new() -> Self {
        JsonStream {
            text: StreamText::default(),
            state: State::Start,
            open: Vec::new(),
            deep: Vec::new(),
            token: 0,
            done: false,
            error: None,
            work: 0,
        }
    }

    /// How many bytes the parser has looked at: each byte of the text once, a byte after a
    /// number or a literal twice at most, and within each piece the bytes of at most one
    /// member twice (one that was to be read whole but did not end in the piece). An append
    /// costs its own length, not the text's.
    pub fn work(&self) -> usize {
        self.work
    }

    /// The text so far (whitespace before the value is not kept).
    pub fn text(&self) -> Text<'_> {
        self.text.text()
    }

    /// The text's chunks (see [`crate::stream_text`]).
    pub fn chunks(&self) -> &[String] {
        self.text.chunks()
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The containers open, outermost first (the first [`DETAIL_LEVELS`]).
    pub fn open(&self) -> &[Open] {
        &self.open
    }

    /// How many more containers are open past those of [`JsonStream::open`].
    pub fn deeper(&self) -> usize {
        self.deep.len()
    }

    /// The token at the end of the text that has not ended, if any.
    pub fn partial(&self) -> Partial {
        match self.state {
            State::Str { key: true, .. } => Partial::Key(self.token),
            State::Str { key: false, .. } | State::Num(_) | State::Lit(..) => {
                Partial::Value(self.token)
            }
            _ => Partial::None,
        }
    }

    /// Whether the producer said the document is complete (or ended its span).
    pub fn done(&self) -> bool {
        self.done
    }

    /// The first error, if the text is not (the start of) one JSON value.
    pub fn error(&self) -> Option<&StreamError> {
        self.error.as_ref()
    }

    /// Whether the whole value has arrived (its last container closed), whether or not the
    /// producer said it is done.
    pub fn complete(&self) -> bool {
        self.state == State::End
    }

    /// Approximate heap bytes, for the model's memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.text.heap_bytes()
            + self.open.capacity() * std::mem::size_of::<Open>()
            + self
                .open
                .iter()
                .map(|o| o.page_starts.capacity() * 8)
                .sum::<usize>()
            + self.deep.capacity()
            + self.error.as_ref().map_or(0, |e| e.what.len())
    }

    /// Gives the text away, once it is a complete document (it becomes the span's content).
    pub(crate) fn take_text(&mut self) -> StreamText {
        std::mem::take(&mut self.text)
    }

    /// Appends a piece of the document and reads it.
    pub fn append(&mut self, piece: &str) {
        let piece = if self.state == State::Start {
            piece.trim_start_matches([' ', '\t', '\n', '\r'])
        } else {
            piece
        };
        let from = self.text.len();
        self.text.push(piece);
        self.read(piece, from);
    }

    /// The document is complete: says whether it is one JSON value, and records why not.
    pub fn finish(&mut self) -> Result<(), StreamError> {
        self.done = true;
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let end = self.text.len();
        match self.state {
            State::Num(n) if n.complete() && self.open.is_empty() && self.deep.is_empty() => {
                self.state = State::End;
            }
            State::End => {}
            State::Start => self.fail(end, "no JSON value was sent".into()),
            State::Str { .. } => self.fail(end, "the text ends inside a string".into()),
            _ => {
                let open = self.open.len() + self.deep.len();
                let what = match open {
                    0 => "the text ends inside a value".to_owned(),
                    1 => "the text ends with 1 container still open".to_owned(),
                    n => format!("the text ends with {n} containers still open"),
                };
                self.fail(end, what);
            }
        }
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, at: usize, what: String) {
        // Line and column of `at`, over the text's chunks (`at` is where a character starts).
        let (mut line, mut column, mut seen) = (1, 1, 0);
        'parts: for part in self.text.chunks() {
            for &b in part.as_bytes() {
                if seen == at {
                    break 'parts;
                }
                seen += 1;
                if b == b'\n' {
                    (line, column) = (line + 1, 1);
                } else if b & 0xC0 != 0x80 {
                    // A character's first byte (not a continuation byte).
                    column += 1;
                }
            }
        }
        self.error = Some(StreamError {
            at,
            what: format!("{what} at line {line} column {column}"),
        });
        self.state = State::Failed;
    }

    /// Reads `piece`, the text from byte `base` on (offsets are the text's, not the piece's).
    fn read(&mut self, piece: &str, base: usize) {
        let bytes = piece.as_bytes();
        // The reader for whole members, made at the first one; none after one did not end
        // in the piece (so that no byte is read more than twice).
        let mut reader = None;
        let mut whole = true;
        let mut i = 0;
        while i < bytes.len() {
            if self.state == State::Failed {
                return;
            }
            if whole && matches!(bytes[i], b'{' | b'[') {
                if let Some(end) = self.whole_member(piece, base, i, &mut reader, &mut whole) {
                    self.work += end - i;
                    i = end;
                    continue;
                }
            }
            let next = self.step(bytes, base, i);
            self.work += next.saturating_sub(i).max(1);
            i = next;
        }
    }

    /// Reads the container at byte `i` of `piece` whole, when a value is due there and the
    /// piece holds enough bytes for a member of its parent's (the protocol's reader skips it,
    /// validating it); counts it as [`JsonStream::value`] and [`JsonStream::value_done`]
    /// would, and says where it ends. Invalid or unfinished, it is read byte by byte instead
    /// (which finds where), and `whole` turns false for the rest of the piece.
    fn whole_member<'p>(
        &mut self,
        piece: &'p str,
        base: usize,
        i: usize,
        reader: &mut Option<Reader<'p>>,
        whole: &mut bool,
    ) -> Option<usize> {
        let due = match self.state {
            State::Start => true,
            State::Value | State::ValueOrClose => self.deep.is_empty(),
            _ => false,
        };
        let left = piece.len() - i;
        let typical = self.open.last().map_or(0, |o| o.typical);
        if !due || left < typical.max(WHOLE_FROM) {
            return None;
        }
        let r = reader.get_or_insert_with(|| Reader::new(piece));
        r.seek(i);
        let ended = r.skip_counted().is_ok();
        let end = r.position();
        if !ended {
            // Read byte by byte from here, and no more tries in this piece.
            self.work += left;
            *whole = false;
            if let Some(o) = self.open.last_mut() {
                o.typical = o.typical.max(left + 1);
            }
            return None;
        }
        if self.state != State::Start && !self.innermost_is_object() {
            self.begin_member(base + i);
        }
        self.token = base + i;
        if let Some(o) = self.open.last_mut() {
            o.typical = end - i;
        }
        self.value_done();
        Some(end)
    }

    /// Reads at byte `i` of `piece` (at `base + i` in the text); returns where to go on in the
    /// piece (a byte may be read again in a new state).
    fn step(&mut self, piece: &[u8], base: usize, i: usize) -> usize {
        let b = piece[i];
        let at = base + i;
        match self.state {
            State::Failed => piece.len(),
            State::Str { key, esc } => self.string(piece, base, i, key, esc),
            State::Num(n) => self.number(at, n, b) - base,
            State::Lit(word, read) => {
                if word.get(read) != Some(&b) {
                    self.fail(at, "invalid literal (expected true, false or null)".into());
                    return i;
                }
                if read + 1 == word.len() {
                    self.value_done();
                } else {
                    self.state = State::Lit(word, read + 1);
                }
                i + 1
            }
            _ if matches!(b, b' ' | b'\t' | b'\n' | b'\r') => i + 1,
            State::Start | State::Value => {
                self.value(at, b);
                i + 1
            }
            State::ValueOrClose => {
                if b == b']' {
                    self.close();
                } else {
                    self.value(at, b);
                }
                i + 1
            }
            State::KeyOrClose | State::Key => {
                match b {
                    b'"' => {
                        self.begin_member(at);
                        self.token = at;
                        self.state = State::Str {
                            key: true,
                            esc: Esc::No,
                        };
                    }
                    b'}' if self.state == State::KeyOrClose => self.close(),
                    _ => self.fail(at, "expected a key (a string)".into()),
                }
                i + 1
            }
            State::Colon => {
                if b == b':' {
                    self.state = State::Value;
                } else {
                    self.fail(at, "expected `:`".into());
                }
                i + 1
            }
            State::After => {
                let object = self.innermost_is_object();
                match b {
                    b',' => {
                        self.state = if object { State::Key } else { State::Value };
                    }
                    b'}' if object => self.close(),
                    b']' if !object => self.close(),
                    _ if object => self.fail(at, "expected `,` or `}`".into()),
                    _ => self.fail(at, "expected `,` or `]`".into()),
                }
                i + 1
            }
            State::End => {
                self.fail(at, "trailing characters after the value".into());
                i
            }
        }
    }

    fn innermost_is_object(&self) -> bool {
        match self.deep.last() {
            Some(&object) => object,
            None => self.open.last().is_some_and(|o| o.object),
        }
    }

    /// The innermost container when it is kept in detail.
    fn detailed(&mut self) -> Option<&mut Open> {
        if self.deep.is_empty() {
            self.open.last_mut()
        } else {
            None
        }
    }

    /// A member starts at `i` in the innermost container (its key, or an array's element).
    fn begin_member(&mut self, i: usize) {
        if let Some(o) = self.detailed() {
            if o.count.is_multiple_of(PAGE) {
                o.page_starts.push(i);
            }
            o.member = Some(i);
            o.key = None;
        }
    }

    /// A value starts at `i` with byte `b`.
    fn value(&mut self, i: usize, b: u8) {
        if self.state != State::Start && !self.innermost_is_object() {
            self.begin_member(i);
        }
        self.token = i;
        match b {
            b'{' | b'[' => {
                let object = b == b'{';
                if self.open.len() < DETAIL_LEVELS && self.deep.is_empty() {
                    self.open.push(Open {
                        object,
                        start: i,
                        count: 0,
                        page_starts: Vec::new(),
                        member: None,
                        key: None,
                        typical: 0,
                    });
                } else {
                    self.deep.push(object);
                }
                self.state = if object {
                    State::KeyOrClose
                } else {
                    State::ValueOrClose
                };
            }
            b'"' => {
                self.state = State::Str {
                    key: false,
                    esc: Esc::No,
                }
            }
            b'-' => self.state = State::Num(Num::Minus),
            b'0' => self.state = State::Num(Num::Zero),
            b'1'..=b'9' => self.state = State::Num(Num::Int),
            b't' => self.state = State::Lit(b"true", 1),
            b'f' => self.state = State::Lit(b"false", 1),
            b'n' => self.state = State::Lit(b"null", 1),
            _ => self.fail(i, "expected a value".into()),
        }
    }

    /// The innermost container closes.
    fn close(&mut self) {
        if self.deep.pop().is_none() {
            self.open.pop();
        }
        self.value_done();
    }

    /// A value is complete: it is a member of the innermost container, or the whole value.
    fn value_done(&mut self) {
        if !self.deep.is_empty() {
            self.state = State::After;
            return;
        }
        match self.open.last_mut() {
            Some(o) => {
                o.count += 1;
                o.member = None;
                o.key = None;
                self.state = State::After;
            }
            None => self.state = State::End,
        }
    }

    /// Reads a string (a key or a value) from byte `i` of `piece` on; returns where to go on.
    fn string(
        &mut self,
        bytes: &[u8],
        base: usize,
        mut i: usize,
        key: bool,
        mut esc: Esc,
    ) -> usize {
        loop {
            let Some(&b) = bytes.get(i) else {
                self.state = State::Str { key, esc };
                return i;
            };
            esc = match esc {
                Esc::No => {
                    i = plain_run(bytes, i);
                    match bytes.get(i) {
                        None => continue,
                        Some(b'"') => {
                            let start = self.token;
                            if key {
                                let end = base + i + 1;
                                if let Some(o) = self.detailed() {
                                    o.key = Some(start..end);
                                }
                                self.state = State::Colon;
                            } else {
                                self.value_done();
                            }
                            return i + 1;
                        }
                        Some(b'\\') => Esc::Slash,
                        Some(_) => {
                            self.fail(
                                base + i,
                                "control character in a string (it must be escaped)".into(),
                            );
                            return i;
                        }
                    }
                }
                Esc::Slash => match b {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Esc::No,
                    b'u' => Esc::Hex(0),
                    _ => {
                        self.fail(base + i, "invalid escape in a string".into());
                        return i;
                    }
                },
                Esc::Hex(n) => {
                    if !b.is_ascii_hexdigit() {
                        self.fail(base + i, "invalid escape in a string".into());
                        return i;
                    }
                    if n == 3 {
                        Esc::No
                    } else {
                        Esc::Hex(n + 1)
                    }
                }
            };
            i += 1;
        }
    }

    fn number(&mut self, i: usize, n: Num, b: u8) -> usize {
        let next = match (n, b) {
            (Num::Minus, b'0') => Num::Zero,
            (Num::Minus, b'1'..=b'9') => Num::Int,
            (Num::Int, b'0'..=b'9') => Num::Int,
            (Num::Zero | Num::Int, b'.') => Num::Dot,
            (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
            (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::E,
            (Num::E, b'+' | b'-') => Num::ESign,
            (Num::E | Num::ESign | Num::Exp, b'0'..=b'9') => Num::Exp,
            _ if n.complete() => {
                // The number ended: the byte is read again after it.
                self.value_done();
                return i;
            }
            _ => {
                self.fail(i, "invalid number".into());
                return i;
            }
        };
        self.state = State::Num(next);
        i + 1
    }
}
