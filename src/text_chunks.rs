//! Where a streamed text is cut into blocks, kept out of components so it is tested natively.
//!
//! A text span shows its text as a sequence of blocks of about [`CHUNK`] bytes each, each one
//! element holding one Text node: appending a token then lays out only the last block,
//! however long the text has grown (one element holding everything was laid out whole on
//! every frame: B1 in BENCHMARKS.md). A block ends after a newline when there is one near the
//! limit, else after a space, and only a text with neither is cut mid-word.
//!
//! The reader must see and select exactly the text sent, whatever the blocks are. Blocks are
//! inline-level boxes a line wide (selecting across them adds nothing), and a block that does
//! not end with a newline ends where the browser wrapped its last full line: what would be its
//! last, partial line moves to the next block ([`first_on_last_line`]), so every block holds
//! whole lines and the text lays out as one flow would. When the width changes the lines
//! change, and the view cuts the text again.

/// Bytes after which a block ends at the next break.
pub const CHUNK: usize = 4 * 1024;

/// How many bytes of `text` go into the current block, which holds `current` bytes already;
/// the rest starts a new block. Never cuts inside a UTF-8 character, and takes at least one
/// character into a fresh (`current == 0`) block.
pub fn cut(current: usize, text: &str) -> usize {
    let room = CHUNK.saturating_sub(current);
    if text.len() <= room {
        return text.len();
    }
    let from = floor_boundary(text, room);
    let to = floor_boundary(text, from + CHUNK);
    let window = &text[from..to];
    if let Some(i) = window.find('\n').or_else(|| window.find(' ')) {
        return from + i + 1;
    }
    // No break ahead: end the block at the last break before the limit, if any.
    if let Some(j) = text[..from].rfind(['\n', ' ']) {
        return j + 1;
    }
    if current > 0 {
        // The word starts the next block rather than being cut.
        return 0;
    }
    // A fresh block and no break at all: cut the word at the limit (at least one character).
    if from > 0 {
        from
    } else {
        text.chars().next().map_or(0, char::len_utf8)
    }
}

fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Whether a block ends a line of the text (it then ends where the text breaks anyway,
/// whatever the width).
pub fn ends_line(block: &str) -> bool {
    block.ends_with('\n')
}

/// Where the last line of a block starts, as laid out: the first of its `len` characters
/// (UTF-16 offsets) whose line box is the last one, given `top(i)`, the top of character `i`
/// (`None` when it has no box: not laid out). Lines go down, so a binary search finds it.
/// `None` when the block is not laid out; `Some(0)` when it is one line.
pub fn first_on_last_line(len: u32, top: impl Fn(u32) -> Option<f64>) -> Option<u32> {
    let last = top(len.checked_sub(1)?)?;
    let (mut lo, mut hi) = (0, len - 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // A character without a box of its own (none in pre-wrap text) counts as before.
        if top(mid).is_some_and(|t| t >= last - 0.5) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// Where [`append`] puts text: a list of blocks, the last of which takes what is appended.
/// The view's blocks are DOM Text nodes (`views::text_span`); the tests' are strings.
pub trait Blocks {
    /// A block, as the list knows it.
    type Block;
    /// Its length in the units [`cut`] counts.
    fn len(&self, block: &Self::Block) -> usize;
    /// Appends `text` to `block`.
    fn push(&mut self, block: &Self::Block, text: &str);
    /// A new last block holding `text`.
    fn start(&mut self, text: &str) -> Self::Block;
    /// Ends `block`: the block to go on appending to, if the block's last line moved on to a
    /// new one (the view keeps whole lines in a block), else `None`.
    fn close(&mut self, block: &Self::Block) -> Option<Self::Block>;
}

/// Appends `text` after the last block `last` (if any) of `blocks`, starting a new block
/// where [`cut`] says.
pub fn append<B: Blocks>(blocks: &mut B, mut last: Option<B::Block>, mut text: &str) {
    while !text.is_empty() {
        let current = last.as_ref().map_or(0, |b| blocks.len(b));
        let n = cut(current, text);
        if n == 0 {
            // The rest starts a new block (a fresh block always takes some). A line moved on
            // from the full block is that block, unless it is all there was.
            last = last
                .and_then(|b| blocks.close(&b))
                .filter(|b| blocks.len(b) != current);
            continue;
        }
        let (now, rest) = text.split_at(n);
        match &last {
            Some(b) => blocks.push(b, now),
            None => last = Some(blocks.start(now)),
        }
        text = rest;
        if !text.is_empty() {
            last = last.and_then(|b| blocks.close(&b));
        }
    }
}

/// Blocks as strings, for the tests: the same [`append`] as the view's, with no layout (a
/// block never gives a line on).
#[cfg(test)]
struct Strings(Vec<String>);

#[cfg(test)]
impl Blocks for Strings {
    type Block = usize;
    fn len(&self, block: &usize) -> usize {
        self.0[*block].len()
    }
    fn push(&mut self, block: &usize, text: &str) {
        self.0[*block].push_str(text);
    }
    fn start(&mut self, text: &str) -> usize {
        self.0.push(text.to_owned());
        self.0.len() - 1
    }
    fn close(&mut self, _: &usize) -> Option<usize> {
        None
    }
}

/// The blocks that `pieces`, appended in order, make.
#[cfg(test)]
fn blocks<'a>(pieces: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out = Strings(Vec::new());
    for piece in pieces {
        let last = out.0.len().checked_sub(1);
        append(&mut out, last, piece);
    }
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pieces: &[&str]) -> Vec<String> {
        let b = blocks(pieces.iter().copied());
        assert_eq!(b.concat(), pieces.concat(), "nothing lost or reordered");
        for block in &b[..b.len().saturating_sub(1)] {
            assert!(block.len() <= 2 * CHUNK, "a block of {} bytes", block.len());
        }
        b
    }

    #[test]
    fn streamed_tokens_make_blocks_that_end_after_a_space() {
        let tokens: Vec<String> = (0..40_000).map(|i| format!(" tok{}", i % 10)).collect();
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let b = check(&refs);
        assert!(b.len() >= 10, "{} blocks", b.len());
        for block in &b[..b.len() - 1] {
            assert!(block.ends_with(' '), "ends after a space");
            assert!(
                block.len() >= CHUNK / 2,
                "nearly full before it ends: {}",
                block.len()
            );
        }
    }

    #[test]
    fn a_newline_near_the_limit_is_preferred_to_a_space() {
        let text = format!("{} b c\nd e", "a".repeat(CHUNK));
        let b = check(&[&text]);
        assert_eq!(b.len(), 2);
        assert!(b[0].ends_with("b c\n"));
        assert_eq!(b[1], "d e");
    }

    #[test]
    fn text_without_breaks_is_cut_at_the_limit_and_never_inside_a_character() {
        let text = "é".repeat(3 * CHUNK);
        let b = check(&[&text]);
        assert!(b.len() >= 3);
        for block in &b[..b.len() - 1] {
            assert!(block.len() <= CHUNK && block.len() >= CHUNK - 1);
        }
        // Token by token, too.
        let tokens: Vec<&str> = std::iter::repeat_n("é", 2 * CHUNK).collect();
        check(&tokens);
    }

    #[test]
    fn a_word_across_the_limit_moves_whole_to_the_next_block() {
        let first = format!("{} ", "x".repeat(CHUNK - 2));
        assert_eq!(
            check(&[&first, "abcdef"]),
            vec![first.clone(), "abcdef".to_owned()]
        );
    }

    #[test]
    fn the_last_line_starts_where_the_tops_change() {
        // Three lines of 10 characters, 20 px apart.
        let layout = |i: u32| Some(f64::from(i / 10) * 20.0);
        assert_eq!(first_on_last_line(30, layout), Some(20));
        assert_eq!(
            first_on_last_line(25, layout),
            Some(20),
            "a partial last line"
        );
        assert_eq!(
            first_on_last_line(21, layout),
            Some(20),
            "one character on it"
        );
        assert_eq!(first_on_last_line(10, layout), Some(0), "one line");
        assert_eq!(first_on_last_line(1, layout), Some(0));
        assert_eq!(first_on_last_line(0, layout), None, "nothing to lay out");
        assert_eq!(first_on_last_line(30, |_| None), None, "not laid out");
        // Sub-pixel differences on one line are one line.
        let jitter = |i: u32| Some(f64::from(i / 10) * 20.0 + f64::from(i % 3) * 0.1);
        assert_eq!(first_on_last_line(30, jitter), Some(20));
        assert!(ends_line("a\n") && ends_line("a\r\n"));
        assert!(!ends_line("a\r") && !ends_line("a ") && !ends_line(""));
    }

    #[test]
    fn short_texts_stay_in_one_block() {
        assert_eq!(
            check(&["Answer:", " the", " model"]),
            vec!["Answer: the model"]
        );
        assert_eq!(blocks([""]), Vec::<String>::new());
    }
}
