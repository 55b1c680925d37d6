//! Which root traces the filter shows: pure logic over the model.

use user_trace_model::protocol::{Content, Message, MessageContent, Part};
use user_trace_model::{Model, TraceId};

/// What the user filters by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Text to find (case-insensitive) in trace names, span titles, text and JSON content.
    pub text: String,
    /// Only traces this process wrote into (its full name).
    pub process: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty() && self.process.is_none()
    }

    /// Whether the root trace `id` (or anything nested in it) matches.
    pub fn matches(&self, m: &Model, id: TraceId) -> bool {
        if let Some(p) = &self.process {
            if !m
                .trace(id)
                .is_some_and(|t| t.processes.iter().any(|x| **x == **p))
            {
                return false;
            }
        }
        let needle = lower(self.text.trim());
        needle.is_empty() || contains(m, id, &needle)
    }
}

/// `s` in lower case, as `str::to_lowercase` gives it (Unicode's default mapping). In the
/// browser, JavaScript's `toLowerCase` (the same mapping) does it for text that is not ASCII:
/// Rust's case tables and their code were 7.6 KB of the wasm's gzip (BENCHMARKS.md, B6).
pub fn lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::JsString::from(s).to_lower_case().into()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        s.to_lowercase()
    }
}

/// Whether `hay` holds `needle` (in lower case, as [`lower`] makes it) in any case. Most text
/// is short and ASCII, and is compared as it is, without lower-casing a copy: the copy and its
/// allocation were most of the cost of a find over a million spans. A long text is lower-cased
/// and searched in linear time (the window scan is quadratic on hostile text: `aaa…` for
/// `aaa…b`).
pub fn has(hay: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        // An ASCII needle needs at least as many bytes of text: no character's lower case holds
        // more ASCII bytes than the character has (the Kelvin sign's `k` is one of its three),
        // and most of what a find looks at (titles, names, numbers) is short.
        if hay.len() < needle.len() {
            return false;
        }
        if hay.len() <= SCAN_LIMIT {
            if let Some(found) = ascii_folded(hay.as_bytes(), needle.as_bytes()) {
                return found;
            }
        }
    }
    hay.contains(needle) || lower(hay).contains(needle)
}

/// The longest text [`has`] scans window by window.
const SCAN_LIMIT: usize = 4096;

/// Whether `hay` holds `needle` (lower-case ASCII) in any ASCII case; None when `hay` is not
/// ASCII (its lower case, which can hold ASCII, must then be made: the Kelvin sign is a `k`).
/// The ASCII check reads a word at a time, and only the places a match can start are
/// compared: most texts a find looks at are a few bytes longer than the query.
fn ascii_folded(hay: &[u8], needle: &[u8]) -> Option<bool> {
    if !hay.is_ascii() {
        return None;
    }
    let Some((&first, rest)) = needle.split_first() else {
        return Some(true);
    };
    let other = first.to_ascii_uppercase();
    let starts = hay
        .len()
        .checked_sub(needle.len())
        .map_or(0, |last| last + 1);
    Some(hay.iter().take(starts).enumerate().any(|(i, &b)| {
        (b == first || b == other)
            && hay
                .get(i + 1..i + needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(rest))
    }))
}

fn contains(m: &Model, id: TraceId, needle: &str) -> bool {
    let mut stack = vec![id];
    while let Some(t) = stack.pop() {
        let Some(trace) = m.trace(t) else { continue };
        if has(&trace.name, needle) {
            return true;
        }
        for &s in trace.spans.iter() {
            let Some(span) = m.span(s) else { continue };
            let found = span.title.as_deref().is_some_and(|x| has(x, needle))
                || match &span.content {
                    Content::Text(x) => has(x, needle),
                    // A streamed document (the content, once complete) is read below, in
                    // its chunks: not joined.
                    Content::Json(j) => span.stream.is_none() && has(j.get(), needle),
                    Content::Items(items) => items
                        .iter()
                        .any(|i| has(&i.name, needle) || has(i.value.get(), needle)),
                    Content::Error(e) => has(&e.message, needle),
                    Content::Messages(list) => list.iter().any(|m| message_has(m, needle)),
                }
                || span
                    .streamed_json()
                    // Chunk by chunk and around their seams (a character's lower case is at
                    // least a third of its bytes: the Kelvin sign is a `k`).
                    .is_some_and(|(_, text)| text.any(4 * needle.len(), &mut |t| has(t, needle)));
            if found {
                return true;
            }
            stack.extend(span.children.iter().copied());
        }
    }
    false
}

fn message_has(m: &Message, needle: &str) -> bool {
    let parts = match &m.content {
        MessageContent::Text(t) => has(t, needle),
        MessageContent::Parts(parts) => parts.iter().any(|p| match p {
            Part::Text(t) => has(t, needle),
            Part::Other(raw) => has(raw.get(), needle),
        }),
    };
    parts
        || m.name.as_deref().is_some_and(|n| has(n, needle))
        || m.tool_calls
            .iter()
            .any(|c| has(&c.name, needle) || has(c.arguments.get(), needle))
}

/// Where the filter's `needle` occurs in `hay` (case-insensitively, as [`Filter::matches`]
/// finds it): the byte ranges to highlight, in order, not overlapping.
pub fn found(hay: &str, needle: &str) -> Vec<std::ops::Range<usize>> {
    let needle = lower(needle.trim());
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    let mut i = 0;
    while let Some(c) = hay[i..].chars().next() {
        match match_len(&hay[i..], &needle) {
            Some(n) => {
                out.push(i..i + n);
                i += n;
            }
            None => i += c.len_utf8(),
        }
    }
    out
}

/// How many bytes at the start of `hay` match the lower-case `needle`, if they do.
fn match_len(hay: &str, needle: &str) -> Option<usize> {
    let mut want = needle.chars();
    let mut buf = [0; 4];
    for (i, c) in hay.char_indices() {
        if c.is_ascii() {
            if want.next() != Some(c.to_ascii_lowercase()) {
                return None;
            }
        } else {
            for l in lower(c.encode_utf8(&mut buf)).chars() {
                if want.next() != Some(l) {
                    return None;
                }
            }
        }
        if want.as_str().is_empty() {
            return Some(i + c.len_utf8());
        }
    }
    None
}

/// Every process that wrote into any trace, sorted (for the process filter).
pub fn processes(m: &Model) -> Vec<String> {
    let mut all: Vec<&str> = m
        .roots()
        .iter()
        .filter_map(|&t| m.trace(t))
        .flat_map(|t| t.processes.iter().map(|p| &**p))
        .collect();
    crate::badges::sort_natural(&mut all);
    all.dedup();
    all.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use user_trace_model::protocol::{Event, Op, SpanKind};
    use user_trace_model::Outcome;

    fn ev(process: &str, id: &str, op: Op) -> Event {
        Event {
            id: id.into(),
            process: process.into(),
            ts: 1,
            op,
        }
    }

    /// The ASCII path and the lower-casing one agree: at both ends, in any case, never past
    /// the end, and for text that is not ASCII (whose lower case can hold ASCII: the Kelvin
    /// sign is a `k`).
    #[test]
    fn has_matches_any_case_without_lower_casing_ascii() {
        for (hay, needle, want) in [
            ("Needle in a haystack", "needle", true),
            ("a haystack NEEDLE", "needle", true),
            ("a nEeDlE", "needle", true),
            ("a needl", "needle", false),
            ("needl", "needle", false),
            ("", "needle", false),
            ("anything", "", true),
            ("plain ascii", "école", false),
            ("ÉCOLE normale", "école", true),
            ("\u{212A}elvin", "kelvin", true),
            ("été NEEDLE", "needle", true),
            ("NEEDLE été", "needle", true),
            ("abc \u{212A}elvin", "kelvin", true),
            ("abc \u{212A}elvi", "kelvin", false),
            ("été needl", "needle", false),
            // Where a match can start: the last place, one past it, the whole text.
            ("xxNEEDLE", "needle", true),
            ("xxNEEDL", "needle", false),
            ("NEEDLE", "needle", true),
            ("xneedlx", "needle", false),
            ("nnnnnneedle", "needle", true),
        ] {
            assert_eq!(has(hay, needle), want, "{hay:?} {needle:?}");
            // The same answer as lower-casing a copy.
            assert_eq!(has(hay, needle), lower(hay).contains(needle), "{hay:?}");
        }
        // Every text of up to three characters from ASCII, the letters whose lower case is
        // ASCII or longer (Kelvin, dotted capital I, sharp s), and other scripts, against
        // ASCII needles one byte longer and shorter than it and as long: the same answer as
        // lower-casing a copy, so the shortcut for text shorter than the needle loses nothing.
        let chars = [
            'a', 'K', 'k', 'i', '\u{212A}', '\u{130}', '\u{1E9E}', 'é', '\u{5D0}', ' ',
        ];
        let mut texts = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = texts
                .iter()
                .flat_map(|t| chars.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(longer.into_iter().filter(|t| t.chars().count() <= 3));
            texts.sort();
            texts.dedup();
        }
        for hay in &texts {
            for needle in ["k", "i", "a", "ka", "ik", "kk", "aaa", "kik", "a k", "abcd"] {
                assert_eq!(
                    has(hay, needle),
                    lower(hay).contains(needle),
                    "{hay:?} {needle:?}"
                );
            }
        }
        // Both sides of the scan's limit, the match in its last bytes.
        for len in [SCAN_LIMIT, SCAN_LIMIT + 1] {
            let mut hay = "a".repeat(len - 7);
            hay.push_str("NEEDLE!");
            assert!(has(&hay, "needle"), "{len}");
            assert!(!has(&hay, "needles"), "{len}");
        }
    }

    #[test]
    fn found_gives_every_match_case_insensitively() {
        assert_eq!(found("Find hotels, HOTEL", "hotel"), vec![5..10, 13..18]);
        assert_eq!(found("Ünïcödé ünï", " ÜNÏ "), vec![0..5, 12..17]);
        assert_eq!(found("aaaa", "aa"), vec![0..2, 2..4], "not overlapping");
        // Near misses: a prefix at the end, an empty or blank needle, no match.
        assert!(found("hote", "hotel").is_empty());
        assert!(found("hotel", "").is_empty());
        assert!(found("hotel", "  ").is_empty());
        assert!(found("", "x").is_empty());
    }

    #[test]
    fn matches_nested_text_and_processes() {
        let mut m = Model::default();
        let mut out = Outcome::default();
        for e in [
            ev(
                "a",
                "1",
                Op::TraceStart {
                    trace: "t".into(),
                    name: "Agent".into(),
                    parent_span: None,
                    source: None,
                },
            ),
            ev(
                "a",
                "2",
                Op::SpanCreate {
                    trace: "t".into(),
                    span: "s".into(),
                    kind: SpanKind::Text,
                    title: None,
                    content: Content::Text("x".into()),
                    source: None,
                },
            ),
            ev(
                "b",
                "3",
                Op::TraceStart {
                    trace: "c".into(),
                    name: "child".into(),
                    parent_span: Some("s".into()),
                    source: None,
                },
            ),
            ev(
                "b",
                "4",
                Op::SpanCreate {
                    trace: "c".into(),
                    span: "s2".into(),
                    kind: SpanKind::Text,
                    title: None,
                    content: Content::Text("Needle here".into()),
                    source: None,
                },
            ),
            ev(
                "c",
                "5",
                Op::TraceStart {
                    trace: "u".into(),
                    name: "Other".into(),
                    parent_span: None,
                    source: None,
                },
            ),
        ] {
            m.apply(e, &mut out);
        }
        let t = m.trace_by_key("t").unwrap();
        let u = m.trace_by_key("u").unwrap();
        let f = |text: &str, process: Option<&str>| Filter {
            text: text.into(),
            process: process.map(Into::into),
        };
        assert!(
            f("needle", None).matches(&m, t),
            "found in a nested child trace, case-insensitively"
        );
        assert!(!f("needle", None).matches(&m, u));
        // Upper-case and mixed-case queries too, trimmed; a near miss does not match.
        for q in ["NEEDLE", "nEeDlE HERE", "  AGENT  ", "CHILD"] {
            assert!(f(q, None).matches(&m, t), "{q:?}");
        }
        assert!(!f("NEEDLES", None).matches(&m, t));
        assert!(!f("AGENTX", None).matches(&m, t));
        assert!(f("", Some("a")).matches(&m, t));
        assert!(
            !f("", Some("b")).matches(&m, t),
            "the filter is by the root trace's processes"
        );
        assert!(f("", Some("c")).matches(&m, u));
        assert_eq!(processes(&m), vec!["a", "c"]);
    }
    /// A model of one root trace `t` holding the spans given as JSON `span_create` bodies.
    fn model_with(spans: &[&str]) -> (Model, TraceId) {
        let mut m = Model::default();
        let mut out = Outcome::default();
        let mut lines = vec![
            r#"{"id":"0","process":"p","ts":1,"op":"trace_start","trace":"t","name":"run"}"#
                .to_owned(),
        ];
        for (i, body) in spans.iter().enumerate() {
            lines.push(format!(
                r#"{{"id":"s{i}","process":"p","ts":2,"op":"span_create","trace":"t","span":"s{i}",{body}}}"#
            ));
        }
        for (i, l) in lines.iter().enumerate() {
            let e = user_trace_model::protocol::decode_event(i, l).expect("a test event");
            m.apply(e, &mut out);
        }
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let t = m.trace_by_key("t").expect("trace t");
        (m, t)
    }

    fn text(q: &str) -> Filter {
        Filter {
            text: q.into(),
            process: None,
        }
    }

    /// A streamed document is kept in chunks (`stream_text.rs`): a word cut by a chunk's seam
    /// is found, in any case, and a near miss is not.
    #[test]
    fn a_streamed_document_matches_across_its_chunks() {
        let (mut m, t) = model_with(&[r#""kind":"json""#]);
        let mut out = Outcome::default();
        // A first piece larger than a first chunk gets a chunk of its size, full: the next
        // piece starts another.
        let pad = "x".repeat(1000);
        let pieces = [format!("[\"{pad}KEL"), "VIN tail".into()];
        for (i, piece) in pieces.into_iter().enumerate() {
            let op = Op::JsonAppend {
                span: "s0".into(),
                text: piece,
                done: false,
            };
            m.apply(ev("p", &format!("a{i}"), op), &mut out);
        }
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let (_, doc) = m
            .span(m.span_by_key("s0").expect("s0"))
            .and_then(|s| s.streamed_json())
            .expect("streaming");
        assert!(doc.parts().len() > 1, "the seam is inside `kelvin`");
        for q in ["kelvin", "xKelvin t", "KELVIN TAIL", "xxx"] {
            assert!(text(q).matches(&m, t), "{q:?}");
        }
        assert!(!text("kelvinx").matches(&m, t));
        assert!(!text("xkelvin  tail").matches(&m, t));
    }

    #[test]
    fn an_empty_filter_is_blank_text_and_no_process() {
        assert!(Filter::default().is_empty());
        assert!(text("  ").is_empty(), "blank text is no text");
        assert!(!text("x").is_empty());
        let by_process = Filter {
            text: " ".into(),
            process: Some("p".into()),
        };
        assert!(!by_process.is_empty(), "a process alone filters");
    }

    #[test]
    fn an_item_matches_by_its_name_or_by_its_value() {
        let (m, t) = model_with(&[
            r#""kind":"items","content":[{"name":"city","value":"Lisbon"},{"name":"units","value":3}]"#,
        ]);
        assert!(text("CITY").matches(&m, t), "by a name");
        assert!(text("lisbon").matches(&m, t), "by a value");
        assert!(!text("porto").matches(&m, t));
    }

    #[test]
    fn a_message_matches_by_its_text_parts_name_and_tool_calls() {
        let (m, t) = model_with(&[r#""kind":"messages","content":[
                {"role":"user","content":"plain words"},
                {"role":"assistant","content":[{"type":"text","text":"part text"},{"type":"image","url":"pic.png"}]},
                {"role":"tool","name":"weather-tool","content":"x"},
                {"role":"assistant","content":"","tool_calls":[{"id":"1","name":"lookup_city","arguments":{"q":"argument value"}}]}
            ]"#]);
        for q in [
            "PLAIN WORDS",
            "part text",
            "pic.png",
            "weather-tool",
            "lookup_city",
            "argument value",
        ] {
            assert!(text(q).matches(&m, t), "{q:?}");
        }
        assert!(!text("not there").matches(&m, t), "a near miss");
    }
}
