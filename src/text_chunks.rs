//! Where a streamed text is cut into blocks, kept out of components so it is tested natively.
//!
//! A text span shows its text as a sequence of block elements of about [`CHUNK`] bytes each.
//! Appending a token then lays out only the last block, however long the text has grown (one
//! element holding everything was laid out whole on every frame). A block ends after a
//! newline when there is one near the limit, else after a space (that line then ends a little
//! early), and only a text with neither is cut mid-word.

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
    fn short_texts_stay_in_one_block() {
        assert_eq!(
            check(&["Answer:", " the", " model"]),
            vec!["Answer: the model"]
        );
        assert_eq!(blocks([""]), Vec::<String>::new());
    }
}
