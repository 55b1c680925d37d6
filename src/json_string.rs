//! A JSON string literal decoded for display, whatever its escapes.
//!
//! JSON allows a `\u` escape of half a surrogate pair with no other half (`"\ud800"`); such a
//! string has no exact Unicode text. The panel shows each lone half as U+FFFD (�), the
//! replacement character, everywhere a JSON string is shown (keys, values, item values), as
//! browsers do when they decode it; the exact text is still what "copy value" copies.

use std::borrow::Cow;

/// The text of the JSON string literal `raw` (with its quotes); a lone surrogate becomes
/// U+FFFD. Text that is not a string literal is returned as it is.
pub fn decode(raw: &str) -> Cow<'_, str> {
    let raw = raw.trim();
    let Some(inner) = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return Cow::Borrowed(raw);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    // A high surrogate waiting for its low half.
    let mut high: Option<u32> = None;
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut out, &mut high);
            out.push(c);
            continue;
        }
        let e = chars.next().unwrap_or('\\');
        if e != 'u' {
            flush(&mut out, &mut high);
            out.push(match e {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'b' => '\u{8}',
                'f' => '\u{c}',
                other => other,
            });
            continue;
        }
        let hex: String = chars.by_ref().take(4).collect();
        let Ok(unit) = u32::from_str_radix(&hex, 16) else {
            flush(&mut out, &mut high);
            out.push(char::REPLACEMENT_CHARACTER);
            continue;
        };
        match (high.take(), unit) {
            (Some(h), 0xDC00..=0xDFFF) => {
                let c = 0x10000 + ((h - 0xD800) << 10) + (unit - 0xDC00);
                out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            (h, 0xD800..=0xDBFF) => {
                if h.is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                high = Some(unit);
            }
            (h, _) => {
                if h.is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                out.push(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }
    flush(&mut out, &mut high);
    Cow::Owned(out)
}

fn flush(out: &mut String, high: &mut Option<u32>) {
    if high.take().is_some() {
        out.push(char::REPLACEMENT_CHARACTER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_as_json_says() {
        assert_eq!(
            decode(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 end""#),
            "a\"b\\c/d\u{8}\u{c}\n\r\té😀 end"
        );
        assert!(matches!(decode(r#""plain""#), Cow::Borrowed("plain")));
        assert_eq!(decode(r#""""#), "");
        assert_eq!(decode("12"), "12", "not a string: as it is");
    }

    #[test]
    fn a_lone_surrogate_is_the_replacement_character() {
        assert_eq!(decode(r#""\ud800""#), "\u{fffd}");
        assert_eq!(decode(r#""\udc00x""#), "\u{fffd}x");
        assert_eq!(decode(r#""a\ud800b""#), "a\u{fffd}b");
        assert_eq!(decode(r#""\ud800\ud800\udc00""#), "\u{fffd}𐀀");
        assert_eq!(decode(r#""\ud83d\n""#), "\u{fffd}\n");
        assert_eq!(decode(r#""\ud83d\u0041""#), "\u{fffd}A");
        // Both halves in order are one character; reversed, two replacements.
        assert_eq!(decode(r#""\ud83d\ude00""#), "😀");
        assert_eq!(decode(r#""\ude00\ud83d""#), "\u{fffd}\u{fffd}");
    }
}
