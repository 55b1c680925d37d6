//! JSON streamed in pieces: the incremental parser agrees with the validating reader on what is
//! JSON however the text is cut, knows after every piece which containers are open and how many
//! of their members are complete, costs each append its own length, and never recurses.

use user_trace_model::json::{self, JsonKind};
use user_trace_model::json_stream::{JsonStream, Partial, DETAIL_LEVELS};
use user_trace_model::protocol::reader::validate;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const STRINGS: &[&str] = &[
    r#""""#,
    r#""plain""#,
    r#""a longer string that spans more than one eight-byte word""#,
    r#""esc \" \\ \/ \b \f \n \r \t""#,
    r#""\u00e9\u20ac\ud83d\ude00""#,
    r#""\ud800""#,
    r#""\udfff x""#,
    r#""\ud83dx""#,
    r#""ünïcödé 😀""#,
];
const SCALARS: &[&str] = &[
    "0", "-0", "1", "-12", "3.25", "1e9", "-1.5E-7", "10.0e+2", "true", "false", "null",
];

/// A random document (the generator nests at most 5 levels: it is the test's own data).
fn value(rng: &mut Rng, depth: usize, out: &mut String) {
    let pick = if depth > 4 {
        rng.below(2)
    } else {
        rng.below(4)
    };
    let ws = |rng: &mut Rng| ["", " ", "\n  ", "\t"][rng.below(4)];
    match pick {
        0 => out.push_str(SCALARS[rng.below(SCALARS.len())]),
        1 => out.push_str(STRINGS[rng.below(STRINGS.len())]),
        2 => {
            out.push('[');
            for i in 0..rng.below(5) {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws(rng));
                value(rng, depth + 1, out);
                out.push_str(ws(rng));
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for i in 0..rng.below(5) {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws(rng));
                out.push_str(STRINGS[rng.below(STRINGS.len())]);
                out.push_str([":", " : "][rng.below(2)]);
                value(rng, depth + 1, out);
            }
            out.push('}');
        }
    }
}

const MUTATIONS: &[&str] = &[
    "", "{", "}", "[", "]", ",", ":", "\"", "\\", "\n", "\u{1}", "0", "-", ".", "e", "x", "t",
    "\\u12", "\\ud800", " ", "01", "1.", "]]",
];

/// `doc` with one character replaced by one of [`MUTATIONS`] (at a random place).
fn mutated(rng: &mut Rng, doc: &str) -> String {
    let chars: Vec<char> = doc.chars().collect();
    let at = rng.below(chars.len().max(1));
    let mut out: String = chars[..at.min(chars.len())].iter().collect();
    out.push_str(MUTATIONS[rng.below(MUTATIONS.len())]);
    out.extend(chars.get(at + 1..).unwrap_or_default());
    out
}

/// Streams `doc` in pieces cut at the byte offsets `cuts` (at character boundaries).
/// `doc` streamed in the pieces `cuts` make, its text kept in chunks of `chunk` bytes.
fn stream(doc: &str, cuts: &[usize], chunk: usize) -> JsonStream {
    let mut s = JsonStream::with_chunk(chunk);
    let mut from = 0;
    for &c in cuts.iter().chain([doc.len()].iter()) {
        if c >= from && doc.is_char_boundary(c) {
            s.append(&doc[from..c]);
            from = c;
        }
    }
    s
}

#[test]
fn validity_matches_the_reader_however_the_text_is_cut() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut valid, mut invalid) = (0, 0);
    for round in 0..20_000 {
        let mut doc = String::new();
        if round % 7 == 0 {
            doc.push_str(["  ", "\n", ""][rng.below(3)]);
        }
        value(&mut rng, 0, &mut doc);
        if rng.below(2) == 0 {
            doc = mutated(&mut rng, &doc);
        }
        let expected = validate(&doc).is_ok();
        // Whole, byte by byte, and in random pieces.
        let bytes: Vec<usize> = (0..doc.len()).collect();
        let mut random: Vec<usize> = (0..rng.below(6))
            .map(|_| rng.below(doc.len() + 1))
            .collect();
        random.sort_unstable();
        // Chunks of a byte, of a few and of a megabyte: pieces and chunks meet anywhere.
        for (cuts, chunk) in [
            (&[][..], 1 << 20),
            (&bytes, 1),
            (&random, 1 << 20),
            (&random, 3),
        ] {
            let mut s = stream(&doc, cuts, chunk);
            assert_eq!(
                s.text().whole(),
                doc.trim_start(),
                "{doc:?} cut at {cuts:?}"
            );
            let ours = s.finish();
            assert_eq!(ours.is_ok(), expected, "{doc:?} cut at {cuts:?}: {ours:?}");
            if let Err(e) = ours {
                assert!(!e.what.is_empty() && e.at <= doc.len(), "{e:?}");
                assert!(e.what.contains(" at line "), "{e:?}");
            }
        }
        if expected {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(
        valid > 8_000 && invalid > 5_000,
        "{valid} valid, {invalid} invalid"
    );
}

/// A container of a valid document, found by walking it (with a stack: no recursion).
struct Container {
    start: usize,
    end: usize,
    object: bool,
    /// Each member: where it starts (its key, or its value), where its value ends, and whether
    /// that value is a number (which only ends when the next byte arrives).
    members: Vec<(usize, usize, bool)>,
}

fn containers(doc: &str) -> Vec<Container> {
    let base = doc.as_ptr() as usize;
    let at = |s: &str| s.as_ptr() as usize - base;
    let mut out = Vec::new();
    let mut stack = vec![doc.trim()];
    while let Some(raw) = stack.pop() {
        let kind = json::kind(raw);
        if !kind.is_container() {
            continue;
        }
        let mut members = Vec::new();
        for m in json::members(raw) {
            let start = at(m.key.unwrap_or(m.value));
            members.push((
                start,
                at(m.value) + m.value.len(),
                json::kind(m.value) == JsonKind::Number,
            ));
            stack.push(m.value);
        }
        out.push(Container {
            start: at(raw),
            end: at(raw) + raw.len(),
            object: kind == JsonKind::Object,
            members,
        });
    }
    out.sort_by_key(|c| c.start);
    out
}

#[test]
fn after_every_byte_the_open_containers_and_their_complete_members_are_known() {
    let mut rng = Rng(7);
    for _ in 0..400 {
        let mut doc = String::new();
        value(&mut rng, 0, &mut doc);
        let all = containers(&doc);
        let mut s = JsonStream::new();
        for k in 1..=doc.len() {
            if !doc.is_char_boundary(k) {
                continue;
            }
            let before = s.text().len();
            s.append(&doc[before..k]);
            assert!(s.error().is_none(), "{doc:?} at {k}: {:?}", s.error());
            let expected: Vec<_> = all.iter().filter(|c| c.start < k && k < c.end).collect();
            let open = s.open();
            assert_eq!(open.len(), expected.len(), "{doc:?} at {k}");
            for (o, c) in open.iter().zip(&expected) {
                assert_eq!((o.start, o.object), (c.start, c.object), "{doc:?} at {k}");
                let complete = c
                    .members
                    .iter()
                    .filter(|&&(_, end, number)| end < k || (end == k && !number))
                    .count();
                assert_eq!(o.count, complete, "{doc:?} at {k}: members of {}", c.start);
                let started: Vec<usize> = c
                    .members
                    .iter()
                    .filter(|&&(start, _, _)| start < k)
                    .map(|&(start, _, _)| start)
                    .step_by(100)
                    .collect();
                assert_eq!(o.page_starts, started, "{doc:?} at {k}");
            }
        }
        assert!(s.finish().is_ok());
    }
}

#[test]
fn the_token_at_the_end_is_partial_until_it_ends() {
    let mut s = JsonStream::new();
    s.append("  {\"ke");
    assert_eq!(s.text(), "{\"ke", "whitespace before the value is not kept");
    assert_eq!(s.partial(), Partial::Key(1));
    s.append("y\": \"val");
    assert_eq!(s.partial(), Partial::Value(8));
    assert_eq!(s.open()[0].key, Some(1..6));
    assert_eq!(s.open()[0].member, Some(1));
    s.append("ue\", \"n\": 12");
    // A number may go on: it is partial until a byte that is not part of it.
    assert_eq!(s.partial(), Partial::Value(22));
    assert_eq!(s.open()[0].count, 1);
    s.append("3, \"list\": [tr");
    assert_eq!(s.open()[0].count, 2);
    assert_eq!(s.open().len(), 2);
    assert_eq!(s.partial(), Partial::Value(36));
    s.append("ue]}");
    assert!(s.open().is_empty() && s.complete());
    assert_eq!(s.partial(), Partial::None);
    assert!(s.finish().is_ok());
    // A top-level number is complete only at the end.
    let mut n = JsonStream::new();
    n.append("-12.5e");
    assert!(!n.complete());
    n.append("3 ");
    assert!(n.complete());
    let mut n = JsonStream::new();
    n.append("42");
    assert!(n.finish().is_ok());
}

#[test]
fn errors_say_what_and_where_and_the_rest_is_kept_as_text() {
    let mut s = JsonStream::new();
    s.append("[1 2");
    let e = s.error().cloned().expect("found at once");
    s.append(", 3]");
    assert_eq!(s.text(), "[1 2, 3]", "the text is kept whole");
    assert_eq!(s.error(), Some(&e), "the first error stays");
    for (pieces, what) in [
        (&["{\"a\" 1}"][..], "expected `:` at line 1 column 6"),
        (&["[1,", "]"], "expected a value at line 1 column 4"),
        (
            &["{\"a\":1,}"],
            "expected a key (a string) at line 1 column 8",
        ),
        (&["[1 2]"], "expected `,` or `]` at line 1 column 4"),
        // Columns count characters, not bytes.
        (&["[\"é😀\" 1]"], "expected `,` or `]` at line 1 column 7"),
        (&["{\"a\":1", "]"], "expected `,` or `}` at line 1 column 7"),
        (
            &["\"\\u12x\""],
            "invalid escape in a string at line 1 column 6",
        ),
        (&["[01]"], "expected `,` or `]` at line 1 column 3"),
        (&["[\n1.]"], "invalid number at line 2 column 3"),
        (
            &["nul", "x"],
            "invalid literal (expected true, false or null) at line 1 column 4",
        ),
        (
            &["{} {}"],
            "trailing characters after the value at line 1 column 4",
        ),
        (
            &["[\"a\nb\"]"],
            "control character in a string (it must be escaped) at line 1 column 4",
        ),
        (
            &["[1, [2, {\"a\":"],
            "the text ends with 3 containers still open at line 1 column 14",
        ),
        (
            &["\"abc"],
            "the text ends inside a string at line 1 column 5",
        ),
        (&["  "], "no JSON value was sent at line 1 column 1"),
        (&["tr"], "the text ends inside a value at line 1 column 3"),
    ] {
        // The line and column are counted over the text's chunks, however small.
        for chunk in [1, 2, 3, 1 << 20] {
            let mut s = JsonStream::with_chunk(chunk);
            for p in pieces {
                if chunk < 4 {
                    // A character a piece: each its own chunk, or a few a chunk.
                    p.chars().for_each(|c| s.append(c.encode_utf8(&mut [0; 4])));
                } else {
                    s.append(p);
                }
            }
            let e = s.finish().unwrap_err();
            assert_eq!(e.what, what, "{pieces:?} in chunks of {chunk}");
            assert!(validate(&s.text().whole()).is_err());
        }
    }
}

#[test]
fn an_append_costs_its_own_length_however_large_the_document() {
    // About 4 MB of objects in an array, streamed in 64-byte pieces.
    let record = r#"{"id": 12345, "name": "Customer \"12345\"", "tags": ["a", "b"], "ok": true, "x": -1.5e3}"#;
    let mut doc = String::from("[");
    while doc.len() < 4 << 20 {
        if doc.len() > 1 {
            doc.push(',');
        }
        doc.push_str(record);
    }
    doc.push(']');
    let mut s = JsonStream::new();
    let mut worst = 0;
    let mut from = 0;
    while from < doc.len() {
        let mut to = (from + 64).min(doc.len());
        while !doc.is_char_boundary(to) {
            to += 1;
        }
        let before = s.work();
        s.append(&doc[from..to]);
        worst = worst.max(s.work() - before);
        from = to;
    }
    // Each byte is looked at once, a few twice (after a number or literal, or in the one
    // member a piece tried to read whole and that did not end in it): never the text again.
    assert!(
        worst <= 2 * 64 + 8,
        "an append of 64 bytes looked at {worst}"
    );
    assert!(
        s.work() < doc.len() * 5 / 4,
        "{} for {}",
        s.work(),
        doc.len()
    );
    assert!(s.finish().is_ok());
    // The open array knows its member count and page starts without reading it again.
    let mut open = JsonStream::new();
    open.append(&doc[..doc.len() - 1]);
    let o = &open.open()[0];
    assert_eq!(o.count, (doc.len() - 2) / (record.len() + 1) + 1);
    assert_eq!(o.page_starts.len(), o.count.div_ceil(100));
}

/// What a view can see of a stream: its open containers, the token at the end, levels past
/// the detailed ones, and the error.
fn seen(s: &JsonStream) -> String {
    let open: Vec<_> = s
        .open()
        .iter()
        .map(|o| (o.object, o.start, o.count, &o.page_starts, o.member, &o.key))
        .collect();
    format!("{open:?} {:?} {} {:?}", s.partial(), s.deeper(), s.error())
}

#[test]
fn members_read_whole_within_a_piece_leave_the_state_that_reading_byte_by_byte_leaves() {
    // Random documents, and arrays of hundreds of objects (pages of members), mutated or not,
    // cut in pieces of any size: after each piece the stream shows what a stream fed the
    // same text one byte at a time shows.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut whole = 0;
    for round in 0..3_000 {
        let mut doc = String::new();
        if round % 3 == 0 {
            doc.push_str("{\"rows\": [");
            for i in 0..rng.below(450) {
                if i > 0 {
                    doc.push(',');
                }
                value(&mut rng, 1, &mut doc);
            }
            doc.push_str("], \"n\": 1}");
        } else {
            value(&mut rng, 0, &mut doc);
        }
        if rng.below(3) == 0 {
            doc = mutated(&mut rng, &doc);
        }
        let (mut fast, mut slow) = (JsonStream::new(), JsonStream::new());
        let mut from = 0;
        while from < doc.len() {
            let most = [4, 40, 400, 4_000][rng.below(4)];
            let mut to = (from + 1 + rng.below(most)).min(doc.len());
            while !doc.is_char_boundary(to) {
                to += 1;
            }
            let (work, slow_work) = (fast.work(), slow.work());
            fast.append(&doc[from..to]);
            // Twice at most, a byte after a number three times.
            assert!(
                fast.work() - work <= 3 * (to - from),
                "round {round}: {} bytes looked at for {}",
                fast.work() - work,
                to - from
            );
            for k in from + 1..=to {
                if doc.is_char_boundary(k) {
                    slow.append(&doc[slow.text().len()..k]);
                }
            }
            assert_eq!(seen(&fast), seen(&slow), "round {round}, cut at {to}");
            // Read whole, a member's numbers and literals are not read again at their end.
            if fast.work() - work < slow.work() - slow_work {
                whole += 1;
            }
            from = to;
        }
        assert_eq!(fast.finish(), slow.finish(), "round {round}");
    }
    // The case is tested: many pieces were read faster than byte by byte.
    assert!(whole > 1_000, "{whole} pieces read members whole");
}

#[test]
fn a_document_nested_100_000_deep_streams_on_a_small_stack_and_memory_stays_near_the_text() {
    let depth = 100_000;
    let doc = format!(
        "{}1{}",
        "[{\"k\":".repeat(depth / 2),
        "}]".repeat(depth / 2)
    );
    let run = move || {
        let mut s = JsonStream::new();
        for piece in doc.as_bytes().chunks(1000) {
            s.append(std::str::from_utf8(piece).unwrap());
        }
        assert!(s.finish().is_ok());
        let mut open = JsonStream::new();
        open.append(&doc[..(depth / 2) * 6]);
        // Levels past the detailed ones cost a byte each, about what their text costs.
        assert_eq!(open.open().len(), DETAIL_LEVELS);
        assert_eq!(open.open().len() + open.deeper(), depth);
        assert!(open.heap_bytes() < 3 * doc.len(), "{}", open.heap_bytes());
    };
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}
