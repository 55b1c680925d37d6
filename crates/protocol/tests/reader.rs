//! The protocol's JSON reader agrees with serde_json on what is JSON: the same texts are valid,
//! strings decode to the same text, and every invalid one is refused with a reason.

use serde_json::value::RawValue;
use user_trace_protocol::reader::{decode_string, validate, Reader};

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
    r#""ünïcödé 😀""#,
];
const SCALARS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-12",
    "3.25",
    "1e9",
    "-1.5E-7",
    "123456789012345678901234567890",
    "true",
    "false",
    "null",
];

fn value(rng: &mut Rng, depth: usize, out: &mut String) {
    let pick = if depth > 4 {
        rng.below(2)
    } else {
        rng.below(4)
    };
    match pick {
        0 => out.push_str(SCALARS[rng.below(SCALARS.len())]),
        1 => out.push_str(STRINGS[rng.below(STRINGS.len())]),
        2 => {
            out.push('[');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push_str([",", " , ", ",\n"][rng.below(3)]);
                }
                value(rng, depth + 1, out);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(STRINGS[rng.below(STRINGS.len())]);
                out.push_str([":", " : "][rng.below(2)]);
                value(rng, depth + 1, out);
            }
            out.push('}');
        }
    }
}

/// Bytes that break JSON in interesting ways when put anywhere.
const MUTATIONS: &[&str] = &[
    "", "{", "}", "[", "]", ",", ":", "\"", "\\", "\n", "\u{1}", "0", "-", ".", "e", "x", "t",
    "\\u12", "\\ud800", " ",
];

#[test]
fn validity_matches_serde_json_on_generated_and_mutated_documents() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut valid, mut invalid) = (0, 0);
    for _ in 0..30_000 {
        let mut doc = String::new();
        value(&mut rng, 0, &mut doc);
        if rng.below(2) == 0 && !doc.is_empty() {
            // Replace a random character with a mutation (or delete it).
            let chars: Vec<char> = doc.chars().collect();
            let at = rng.below(chars.len());
            let mut mutated: String = chars[..at].iter().collect();
            mutated.push_str(MUTATIONS[rng.below(MUTATIONS.len())]);
            mutated.extend(&chars[at + 1..]);
            doc = mutated;
        }
        let serde_ok = serde_json::from_str::<&RawValue>(&doc).is_ok();
        let ours = validate(&doc);
        assert_eq!(ours.is_ok(), serde_ok, "{doc:?}: ours {ours:?}");
        // The outlining pass (for large JSON spans) validates the same way.
        let mut r = Reader::new(&doc);
        let outlined = r.raw_outlined().and_then(|_| r.end());
        assert_eq!(outlined.is_ok(), serde_ok, "{doc:?}: outlined {outlined:?}");
        if serde_ok {
            valid += 1;
        } else {
            invalid += 1;
            assert!(!ours.unwrap_err().what.is_empty());
        }
    }
    // Both kinds were exercised.
    assert!(
        valid > 10_000 && invalid > 5_000,
        "{valid} valid, {invalid} invalid"
    );
}

#[test]
fn strings_decode_as_serde_json_decodes_them() {
    let mut rng = Rng(42);
    for s in STRINGS {
        assert_eq!(
            decode_string(s).ok(),
            serde_json::from_str::<String>(s).ok(),
            "{s}"
        );
    }
    // Random concatenations of plain text and escapes, across eight-byte word boundaries.
    let pieces = [
        "a",
        "bcdefgh",
        "é",
        "\\n",
        "\\\"",
        "\\u0041",
        "\\ud83d\\ude00",
        "\\t",
        " ",
    ];
    for _ in 0..10_000 {
        let mut s = String::from("\"");
        for _ in 0..rng.below(12) {
            s.push_str(pieces[rng.below(pieces.len())]);
        }
        s.push('"');
        assert_eq!(
            decode_string(&s).ok(),
            Some(serde_json::from_str::<String>(&s).unwrap()),
            "{s}"
        );
    }
}
