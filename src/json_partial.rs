//! How a JSON document that is still arriving reads: the token in progress, the summary of a
//! container not closed yet, where a closed container ends. Pure logic for
//! `views/json_stream.rs`, tested natively; each function looks at a bounded part of the text
//! (never the whole document), so that a frame costs the same however large it grows.

use crate::format::MAX_SHOWN_CHARS;
use crate::json_string;

/// A string, number or literal that has not ended, as shown: a string decoded (a half escape
/// at its end left out) and cut after [`MAX_SHOWN_CHARS`] characters, other tokens as sent;
/// `…` says more is coming. Looks at most at the first few thousand bytes of `token`.
pub fn partial_scalar(token: &str) -> String {
    let cut = crate::format::cut_at(token, MAX_SHOWN_CHARS + 1).unwrap_or(token.len());
    let head = &token[..cut];
    let Some(inner) = head.strip_prefix('"') else {
        return format!("{head}…");
    };
    let inner = without_half_escape(inner);
    format!("\"{}…", json_string::decode(&format!("\"{inner}\"")))
}

/// A key that has not ended, as shown (quoted, like a partial string).
pub fn partial_key(token: &str) -> String {
    partial_scalar(token)
}

/// `inner` (a string's text so far, without its opening quote) without an escape cut in half
/// at its end (`\`, `\u00`), which is not text yet.
fn without_half_escape(inner: &str) -> &str {
    let bytes = inner.as_bytes();
    // The last backslash that starts an escape (not one escaped by the one before it).
    let mut i = bytes.len();
    let mut start = None;
    while i > 0 && bytes.len() - i < 6 {
        i -= 1;
        if bytes[i] == b'\\' {
            let mut run = 1;
            while i >= run && bytes[i - run] == b'\\' {
                run += 1;
            }
            if run % 2 == 1 {
                start = Some(i);
            }
            break;
        }
    }
    let Some(s) = start else {
        return inner;
    };
    let escape = &inner[s..];
    let complete = match escape.as_bytes().get(1) {
        None => false,
        Some(b'u') => escape.len() >= 6,
        Some(_) => true,
    };
    if complete {
        inner
    } else {
        &inner[..s]
    }
}

/// The summary of a container that is still open: `{3 keys` / `[1 item` (no closing bracket:
/// more may come).
pub fn open_summary(object: bool, count: usize) -> String {
    match (object, count) {
        (true, 1) => "{1 key".to_owned(),
        (true, n) => format!("{{{n} keys"),
        (false, 1) => "[1 item".to_owned(),
        (false, n) => format!("[{n} items"),
    }
}

/// Where the container whose last member ends at `after` ends: the offset after its closing
/// bracket (whitespace skipped), if it is there.
pub fn container_end(text: &str, after: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = after;
    while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    matches!(bytes.get(i), Some(b'}' | b']')).then_some(i + 1)
}

/// A size in bytes, as the reader says it. Integer tenths: float formatting would add about
/// 15 KB of wasm for one decimal.
pub fn size(bytes: usize) -> String {
    let tenths = |unit: usize| {
        let t = (bytes + unit / 20) / (unit / 10);
        format!("{}.{}", t / 10, t % 10)
    };
    match bytes {
        0..=999 => format!("{bytes} B"),
        1_000..=999_949 => format!("{} KB", tenths(1_000)),
        _ => format!("{} MB", tenths(1_000_000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_string_is_decoded_without_its_half_escape() {
        assert_eq!(partial_scalar("\"Hel"), "\"Hel…");
        assert_eq!(partial_scalar("\"a\\n"), "\"a\n…");
        assert_eq!(partial_scalar("\"a\\"), "\"a…");
        assert_eq!(partial_scalar("\"a\\u00"), "\"a…");
        assert_eq!(partial_scalar("\"a\\u00e9"), "\"aé…");
        assert_eq!(
            partial_scalar("\"a\\\\"),
            "\"a\\…",
            "an escaped backslash is text"
        );
        assert_eq!(partial_scalar("\"q\\\""), "\"q\"…");
        assert_eq!(partial_scalar("-12.5e"), "-12.5e…");
        assert_eq!(partial_scalar("tr"), "tr…");
        assert_eq!(partial_key("\"ke"), "\"ke…");
        // A long token is cut: what is shown stays bounded however long it grows.
        let long = format!("\"{}", "x".repeat(100_000));
        assert_eq!(partial_scalar(&long).chars().count(), MAX_SHOWN_CHARS + 2);
    }

    #[test]
    fn open_containers_read_without_their_closing_bracket() {
        assert_eq!(open_summary(true, 1), "{1 key");
        assert_eq!(open_summary(true, 3), "{3 keys");
        assert_eq!(open_summary(false, 0), "[0 items");
        assert_eq!(open_summary(false, 1), "[1 item");
    }

    #[test]
    fn a_closed_container_ends_after_its_bracket() {
        assert_eq!(container_end("[1, 2 \n]", 5), Some(8));
        assert_eq!(container_end("{\"a\":1}", 6), Some(7));
        assert_eq!(container_end("[1, 2", 5), None);
        assert_eq!(container_end("[1, 2,", 5), None);
    }

    #[test]
    fn sizes_read_in_bytes_kilobytes_and_megabytes() {
        assert_eq!(size(812), "812 B");
        assert_eq!(size(12_345), "12.3 KB");
        assert_eq!(size(4_100_000), "4.1 MB");
        assert_eq!(size(999_949), "999.9 KB");
        assert_eq!(size(999_950), "1.0 MB");
        assert_eq!(size(1_000), "1.0 KB");
    }
}
