//! Where a streamed text is cut into blocks, kept out of components so it is tested natively.
//!
//! A text span shows its text as a sequence of blocks of about [`CHUNK`] bytes each, each one
//! DOM Text node: appending a token then copies only the last node's string. A block ends
//! after a newline when there is one near the limit, else after a space, and only a text with
//! neither is cut mid-word.
//!
//! Blocks are grouped into *lines*: a line is a block-level element that starts only where the
//! text starts a line (after a `\n`), so it holds whole lines of the text and a block that
//! does not end with a newline continues the same line element as an inline Text node. The
//! reader then sees and selects exactly the text sent (a block-level element per block broke a
//! line at every block), and a text with newlines lays out only its last line element.

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

/// Whether the block after `block` starts a new line element: only where the text starts a
/// new line, so that the element boundary is where the text breaks anyway.
pub fn ends_line(block: &str) -> bool {
    block.ends_with('\n')
}

/// The line elements, each a list of blocks, that `pieces` appended in order make (what the
/// view does, for tests).
pub fn lines<'a>(pieces: impl IntoIterator<Item = &'a str>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for b in blocks(pieces) {
        match out.last_mut() {
            Some(line) if !line.last().is_some_and(|l| ends_line(l)) => line.push(b),
            _ => out.push(vec![b]),
        }
    }
    out
}

/// The blocks that `pieces`, appended in order, make (what the view does, for tests).
pub fn blocks<'a>(pieces: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out = vec![String::new()];
    for mut piece in pieces {
        while !piece.is_empty() {
            let last = out.len() - 1;
            let n = cut(out[last].len(), piece);
            out[last].push_str(&piece[..n]);
            piece = &piece[n..];
            if !piece.is_empty() {
                out.push(String::new());
            }
        }
    }
    out.retain(|b| !b.is_empty());
    out
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
    fn line_elements_start_only_where_the_text_starts_a_line() {
        // A long paragraph without newlines is one line element of several blocks.
        let para: Vec<String> = (0..3_000).map(|i| format!(" w{i}")).collect();
        let refs: Vec<&str> = para.iter().map(String::as_str).collect();
        let l = lines(refs.iter().copied());
        assert_eq!(l.len(), 1, "one line element");
        assert!(l[0].len() >= 3, "{} blocks", l[0].len());
        // Paragraphs: every line element but the last ends with a newline, and only there.
        let text: String = (0..2_000).map(|i| format!("word {i}\n")).collect();
        let l = lines([text.as_str()]);
        assert!(l.len() >= 2);
        assert_eq!(l.concat().concat(), text);
        for line in &l[..l.len() - 1] {
            assert!(ends_line(line.last().unwrap()));
            for b in &line[..line.len() - 1] {
                assert!(!ends_line(b), "a block ending a line ends its element");
            }
        }
        // Near misses: `\r` alone or a trailing space do not end a line element.
        assert!(!ends_line("a\r"));
        assert!(!ends_line("a "));
        assert!(ends_line("a\r\n"));
        assert_eq!(lines([""]), Vec::<Vec<String>>::new());
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
