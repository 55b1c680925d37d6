//! Find: places in the tree's order, inside JSON at any depth, in slices that give the same
//! result as one go, and errors.

mod common;

use common::*;
use user_trace_model::protocol::{Content, ErrorContent, Op, SpanKind, Status};
use user_trace_model::search::{Place, Search, Step};
use user_trace_model::Model;

fn contains(needle: &'static str) -> impl Fn(&str) -> bool {
    move |hay: &str| hay.contains(needle)
}

fn all(m: &Model, f: &dyn Fn(&str) -> bool) -> Vec<Place> {
    let mut s = Search::new(m);
    assert!(s.run(m, f, usize::MAX));
    s.found().to_vec()
}

fn model() -> Model {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    apply_ok(
        &mut m,
        [
            p.trace("t1", "needle trace"),
            p.text("t1", "s1", "hay and a needle"),
            p.json(
                "t1",
                "s2",
                r#"{"results":[{"title":"x"},{"title":"a needle"}],"needle key":1,"n":"ne\u0065dle"}"#,
            ),
            p.child_trace("c1", "child", "s2"),
            p.text("c1", "s3", "needle in child"),
            p.items("t1", "s4", &[("plain", "1"), ("name", "\"needle value\"")]),
            p.trace("t2", "other"),
            p.text("t2", "s5", "needle last"),
        ],
    );
    m
}

fn span(m: &Model, key: &str) -> user_trace_model::SpanId {
    m.span_by_key(key).unwrap()
}

#[test]
fn places_come_in_the_order_the_tree_shows_them() {
    let m = model();
    let found = all(&m, &contains("needle"));
    let json = |steps: &[(usize, &str)]| Place::Json {
        span: span(&m, "s2"),
        steps: steps
            .iter()
            .map(|&(index, path)| Step {
                index,
                path: path.to_owned(),
            })
            .collect(),
    };
    assert_eq!(
        found,
        vec![
            Place::Trace(m.trace_by_key("t1").unwrap()),
            Place::SpanText(span(&m, "s1")),
            // Inside collapsed containers, with the steps that lead there.
            json(&[
                (0, "$.results"),
                (1, "$.results[1]"),
                (0, "$.results[1].title")
            ]),
            // A key that needs quoting; an escaped string matches as it reads.
            json(&[(1, "$[\"needle key\"]")]),
            json(&[(2, "$.n")]),
            // The child trace nested in s2 comes after s2's content.
            Place::SpanText(span(&m, "s3")),
            Place::Item {
                span: span(&m, "s4"),
                index: 1
            },
            Place::SpanText(span(&m, "s5")),
        ]
    );
    // Near misses: a different case or a word that is not there finds nothing.
    assert!(all(&m, &contains("Needle")).is_empty());
    assert!(all(&m, &contains("needles")).is_empty());
}

#[test]
fn slices_find_what_one_go_finds() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    let big: String = {
        let rows: Vec<String> = (0..3_000)
            .map(|i| format!(r#"{{"id":{i},"tags":["t{i}",{{"deep":"v{}"}}]}}"#, i % 7))
            .collect();
        format!("[{}]", rows.join(","))
    };
    let mut events = vec![p.trace("t", "big")];
    events.push(p.json("t", "j", &big));
    for i in 0..500 {
        events.push(p.text("t", &format!("s{i}"), &format!("text v{}", i % 7)));
    }
    apply_ok(&mut m, events);
    let f = contains("v3");
    let whole = all(&m, &f);
    let threes = |n: usize| (0..n).filter(|i| i % 7 == 3).count();
    assert_eq!(whole.len(), threes(3_000) + threes(500));
    for budget in [1, 100, 5_000] {
        let mut s = Search::new(&m);
        let mut calls = 0;
        while !s.run(&m, &f, budget) {
            calls += 1;
        }
        assert_eq!(s.found(), &whole[..], "budget {budget}");
        assert!(calls > 10, "budget {budget} took {calls} slices");
    }
}

/// A JSON value without an escape reads as its text does: one that does not hold the needle is
/// passed over whole, not member by member; one that does is walked, and finds every member
/// that holds it (keys, numbers, strings) and nothing that only spans members.
#[test]
fn json_is_walked_only_when_its_text_can_hold_a_match() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    let big: String = {
        let rows: Vec<String> = (0..3_000)
            .map(|i| format!(r#"{{"id":{i},"name":"row {i}"}}"#))
            .collect();
        format!("[{}]", rows.join(","))
    };
    apply_ok(
        &mut m,
        [
            p.trace("t", "run"),
            p.json("t", "big", &big),
            p.json(
                "t",
                "j",
                r#"{"ab":"cd","n":12345,"key x":[true],"e":"\u0041BC"}"#,
            ),
        ],
    );
    // Passed over in one slice: walked, it took one a member.
    let mut s = Search::new(&m).for_parts(64);
    let f = contains("absent");
    let mut slices = 1;
    while !s.run(&m, &f, 1_000) {
        slices += 1;
    }
    assert!(slices <= 3, "{slices} slices");
    assert!(s.found().is_empty());
    let at = |needle: &str| {
        let mut s = Search::new(&m).for_parts(64);
        assert!(s.run(&m, &|hay: &str| hay.contains(needle), usize::MAX));
        s.found()
            .iter()
            .cloned()
            .filter_map(|place| match place {
                Place::Json { span, steps } if span == m.span_by_key("j").unwrap() => {
                    steps.last().map(|s| s.path.clone())
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(at("234"), ["$.n"], "inside a number");
    assert_eq!(at("ey x"), ["$[\"key x\"]"], "in a key");
    assert_eq!(at("true"), ["$[\"key x\"][0]"]);
    // Only across members in the text: no member holds it.
    assert!(at("b\":\"c").is_empty());
    // Escaped: the walk reads the string as it shows.
    assert_eq!(at("ABC"), ["$.e"]);
    assert!(at("u0041").is_empty());
    // A match that is not a substring one (a whole value, as `^cd$` finds it) walks every
    // value, unless the search was told otherwise.
    let whole = |hay: &str| hay == "cd";
    assert_eq!(all(&m, &whole).len(), 1, "$.ab");
}

/// The escape is seen wherever it is in a document of any length (short documents are read
/// byte by byte, longer ones otherwise): one each side of that edge, escaped last.
#[test]
fn an_escape_at_the_end_of_a_document_of_any_length_is_seen() {
    for len in [30, 63, 64, 65, 66, 200] {
        let tail = r#"","e":"\u0041BC"}"#;
        let doc = format!(r#"{{"pad":"{}{tail}"#, "x".repeat(len - 8 - tail.len()));
        assert_eq!(doc.len(), len, "{doc}");
        let mut m = Model::default();
        let mut p = Producer::new("a");
        apply_ok(&mut m, [p.trace("t", "run"), p.json("t", "j", &doc)]);
        let mut s = Search::new(&m).for_parts(64);
        assert!(s.run(&m, &|hay: &str| hay.contains("ABC"), usize::MAX));
        let paths: Vec<String> = s
            .found()
            .iter()
            .filter_map(|place| match place {
                Place::Json { steps, .. } => steps.last().map(|s| s.path.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(paths, ["$.e"], "a document of {len} bytes");
    }
}

#[test]
fn a_node_evicted_between_slices_is_skipped() {
    let mut m = model();
    let mut s = Search::new(&m);
    let f = contains("needle");
    assert!(!s.run(&m, &f, 1));
    m.clear();
    assert!(s.run(&m, &f, usize::MAX));
    assert!(s.found().len() <= 1);
}

#[test]
fn errors_are_listed_in_order() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    let start = [
        p.trace("t1", "one"),
        p.text("t1", "ok", "fine"),
        p.text("t1", "bad", "x"),
    ];
    let err = p.event(Op::SpanCreate {
        trace: "t1".into(),
        span: "e".into(),
        kind: SpanKind::Error,
        title: None,
        content: Content::Error(ErrorContent {
            message: "boom".into(),
            details: None,
        }),
        source: None,
    });
    let rest = [
        p.event(Op::SpanEnd {
            span: "bad".into(),
            status: Status::Error {
                message: "failed".into(),
            },
        }),
        p.trace("t2", "two"),
        p.end_trace(
            "t2",
            Status::Error {
                message: "no".into(),
            },
        ),
        p.trace("t3", "three"),
        p.end_trace("t3", Status::Ok),
    ];
    apply_ok(&mut m, start.into_iter().chain([err]).chain(rest));
    assert_eq!(m.errors(), 3);
    assert_eq!(
        Search::errors(&m),
        vec![
            Place::SpanTitle(span(&m, "bad")),
            Place::SpanTitle(span(&m, "e")),
            Place::Trace(m.trace_by_key("t2").unwrap()),
        ]
    );
}

#[test]
fn the_error_count_follows_every_event_and_eviction() {
    let mut m = Model::new(user_trace_model::Options {
        max_bytes: 40_000,
        ..Default::default()
    });
    let mut p = Producer::new("a");
    for i in 0..400 {
        let t = format!("t{i}");
        let s = format!("s{i}");
        let mut events = vec![p.trace(&t, "run"), p.text(&t, &s, "x")];
        if i % 3 == 0 {
            events.push(p.event(Op::SpanEnd {
                span: s.clone(),
                status: Status::Error {
                    message: "bad".into(),
                },
            }));
            // A second end changes nothing (the first one stays).
            events.push(p.end_span(&s));
        }
        let status = match i % 5 {
            0 => Status::Error {
                message: "x".into(),
            },
            _ => Status::Ok,
        };
        events.push(p.end_trace(&t, status));
        apply_all(&mut m, events);
        assert_eq!(m.errors(), Search::errors(&m).len(), "after trace {i}");
    }
    assert!(m.evicted_total() > 0, "the test must evict");
    assert!(m.errors() > 0);
    m.clear();
    assert_eq!(m.errors(), 0);
}

/// A complete streamed document is the span's content in its chunks: a plain search reads it
/// chunk by chunk and around the seams, so a miss joins nothing, and a value a seam cuts is
/// found at its place.
#[test]
fn a_streamed_document_is_searched_in_its_chunks_and_joined_only_for_a_match() {
    use user_trace_model::stream_text::StreamText;
    let row = |i: usize| format!("\"row {i} {}\"", "x".repeat(90));
    let doc = format!("[{}]", (0..20_000).map(row).collect::<Vec<_>>().join(","));
    // Pieces of 1,000 bytes (ASCII): where the seams fall, as the model's stream will cut them.
    let pieces: Vec<&str> = doc
        .as_bytes()
        .chunks(1_000)
        .map(|p| std::str::from_utf8(p).expect("ASCII"))
        .collect();
    let mut sim = StreamText::default();
    pieces.iter().for_each(|p| sim.push(p));
    let seam = sim.chunks()[0].len() + sim.chunks()[1].len() + sim.chunks()[2].len();
    // The member the third seam cuts, and a needle across that seam.
    let (mut at, mut k) = (1, 0);
    while at + row(k).len() <= seam {
        at += row(k).len() + 1;
        k += 1;
    }
    // From the start of its string (its row number makes it the only match) to past the seam.
    let needle = doc[at + 1..seam + 3].to_owned();
    assert!(
        needle.starts_with(&format!("row {k} x")) && needle.ends_with("xxx"),
        "the test's premise: member {k} straddles the seam: {needle:?}"
    );

    let mut m = Model::default();
    let mut p = Producer::new("a");
    let mut events = vec![p.trace("t", "streamed"), p.streamed_json("t", "doc")];
    for (i, piece) in pieces.iter().enumerate() {
        events.push(p.event(Op::JsonAppend {
            span: "doc".into(),
            text: (*piece).into(),
            done: i + 1 == pieces.len(),
        }));
    }
    apply_ok(&mut m, events);
    let id = m.span_by_key("doc").expect("the span");
    let held = |m: &Model| match &m.span(id).expect("the span").content {
        Content::Json(j) => j.held_bytes(),
        other => panic!("a JSON content: {other:?}"),
    };
    // The chunks, the last one not full yet.
    let before = held(&m);
    let chunk = user_trace_model::stream_text::CHUNK;
    assert!(
        before < doc.len() + chunk,
        "{before} held for {}",
        doc.len()
    );

    let search = |m: &Model, needle: &str| {
        let mut s = Search::new(m).for_parts(4 * needle.len());
        assert!(s.run(m, &|hay: &str| hay.contains(needle), usize::MAX));
        s.found().to_vec()
    };
    assert!(search(&m, "absent").is_empty());
    // A near miss: the needle's characters in another order.
    let near: String = needle.chars().rev().collect();
    assert!(search(&m, &near).is_empty(), "{near:?}");
    assert_eq!(held(&m), before, "a miss reads the chunks, joining nothing");
    let found = search(&m, &needle);
    let paths: Vec<String> = found
        .iter()
        .filter_map(|place| match place {
            Place::Json { steps, .. } => steps.last().map(|s| s.path.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(paths, [format!("$[{k}]")], "{needle:?} across the seam");
}
