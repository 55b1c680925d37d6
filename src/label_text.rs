//! How trace content is shown on one line: trace names, span titles, process names, item
//! names, JSON keys and JSON string values. Kept out of the views so it is tested natively.
//!
//! What would change how a label reads is shown, not applied: a line break, a tab or another
//! control character appears as its escape (`\n`, `\t`, `\u0007`, as devtools show strings),
//! so a key with a newline keeps its row on one line; a direction control appears as a marker
//! (`⟨RLO⟩`, [`crate::bidi`]), so a name cannot be made to read as another. Multi-line values
//! (texts, item values, error messages) keep their line breaks and tabs instead.

use std::borrow::Cow;

use crate::bidi;

/// A run of a label as it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text shown as it is.
    Text(&'a str),
    /// A character shown as its escape.
    Escape(char),
    /// A direction control, shown as a marker.
    Control(char, &'static str),
}

impl Piece<'_> {
    /// The text this piece shows.
    pub fn shown(&self) -> Cow<'_, str> {
        match self {
            Piece::Text(t) => Cow::Borrowed(t),
            Piece::Escape(c) => Cow::Owned(escape(*c)),
            Piece::Control(_, name) => Cow::Owned(bidi::marker(name)),
        }
    }
}

/// Whether `c` would break or hide a label's line if shown as it is: C0 and C1 controls, DEL
/// and the Unicode line and paragraph separators.
fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// The escape shown for `c`: `\n`, `\r`, `\t`, else `\uXXXX`.
pub fn escape(c: char) -> String {
    match c {
        '\n' => "\\n".to_owned(),
        '\r' => "\\r".to_owned(),
        '\t' => "\\t".to_owned(),
        c => format!("\\u{}", hex4(c)),
    }
}

/// A character's code point as at least four upper-case hex digits (`007F`, `202E`): by hand,
/// as the panel formats no other hex number.
pub fn hex4(c: char) -> String {
    let n = c as u32;
    let digits = (32 - n.leading_zeros()).div_ceil(4).max(4);
    (0..digits)
        .rev()
        .map(|i| char::from_digit((n >> (4 * i)) & 0xF, 16).unwrap_or('0'))
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Whether `text` is shown as it is (one text piece: nothing to escape or mark).
pub fn is_plain(text: &str) -> bool {
    !text
        .chars()
        .any(|c| needs_escape(c) || bidi::control_name(c).is_some())
}

/// The pieces `text` is shown as.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    for (i, c) in text.char_indices() {
        let piece = if needs_escape(c) {
            Piece::Escape(c)
        } else if let Some(name) = bidi::control_name(c) {
            Piece::Control(c, name)
        } else {
            continue;
        };
        if from < i {
            out.push(Piece::Text(&text[from..i]));
        }
        out.push(piece);
        from = i + c.len_utf8();
    }
    if from < text.len() {
        out.push(Piece::Text(&text[from..]));
    }
    out
}

/// `text` as shown, as one string (where a marker cannot be an element: a `<select>`'s
/// options, tooltips).
pub fn plain(text: &str) -> Cow<'_, str> {
    let p = pieces(text);
    match p.as_slice() {
        [] => Cow::Borrowed(""),
        [Piece::Text(t)] => Cow::Borrowed(t),
        _ => Cow::Owned(p.iter().map(|p| p.shown()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_one_borrowed_piece() {
        assert_eq!(pieces("Agent run"), vec![Piece::Text("Agent run")]);
        assert!(matches!(plain("Agent run"), Cow::Borrowed("Agent run")));
        assert!(pieces("").is_empty());
        // Right-to-left letters, emoji, joiners and non-breaking spaces are text.
        let t = "שלום مرحبا 👩‍💻\u{a0}x";
        assert_eq!(pieces(t), vec![Piece::Text(t)]);
    }

    #[test]
    fn is_plain_says_whether_the_text_is_one_piece() {
        let one_piece = |t: &str| matches!(pieces(t).as_slice(), [] | [Piece::Text(_)]);
        let texts = [
            "",
            "Agent run",
            "שלום مرحبا 👩‍💻\u{a0}x",
            "a\nb",
            "\t",
            "x\u{7f}",
            "x\u{85}",
            "\u{2028}",
            "evil\u{202E}exe",
            "\u{200F}",
            "\u{061C}a",
            // Near misses: the characters beside the controls are text.
            "\u{202F}\u{2060}\u{200D}",
        ];
        for t in texts {
            assert_eq!(is_plain(t), one_piece(t), "{t:?}");
        }
        // Every character up to U+3000, each alone and inside text.
        for c in (0..0x3000u32).filter_map(char::from_u32) {
            let alone = c.to_string();
            let inside = format!("a{c}b");
            assert_eq!(is_plain(&alone), one_piece(&alone), "{c:?}");
            assert_eq!(is_plain(&inside), one_piece(&inside), "{c:?}");
        }
    }

    #[test]
    fn a_right_to_left_override_is_shown_as_a_marker_not_applied() {
        let name = "evil\u{202E}exe.txt";
        assert_eq!(
            pieces(name),
            vec![
                Piece::Text("evil"),
                Piece::Control('\u{202E}', "RLO"),
                Piece::Text("exe.txt"),
            ]
        );
        assert_eq!(plain(name), "evil⟨RLO⟩exe.txt");
        // Every kind of control, at the start, at the end and side by side.
        assert_eq!(
            plain("\u{2067}a\u{2069}\u{200F}\u{061C}"),
            "⟨RLI⟩a⟨PDI⟩⟨RLM⟩⟨ALM⟩"
        );
        assert!(
            !plain("\u{202A}\u{202B}\u{202C}\u{202D}\u{2066}\u{2068}\u{200E}")
                .contains(|c| bidi::control_name(c).is_some())
        );
    }

    #[test]
    fn line_breaks_tabs_and_controls_show_as_escapes() {
        assert_eq!(plain("a\nb"), "a\\nb");
        assert_eq!(plain("at x\r\n\tat y"), "at x\\r\\n\\tat y");
        assert_eq!(
            plain("\u{7}\u{0}\u{7f}\u{85}"),
            "\\u0007\\u0000\\u007F\\u0085"
        );
        assert_eq!(hex4('\u{202e}'), "202E");
        assert_eq!(hex4('\u{1F600}'), "1F600");
        assert_eq!(plain("p\u{2028}q\u{2029}"), "p\\u2028q\\u2029");
        // Near misses stay text: a backslash and an `n`, a space, U+FFFD.
        assert_eq!(
            pieces("a\\n b\u{fffd}"),
            vec![Piece::Text("a\\n b\u{fffd}")]
        );
    }
}
