//! Unit tests: every event type, every invalid case, what each reports as changed.

mod common;

use common::*;
use user_trace_model::protocol::writer::snapshot_parts;
use user_trace_model::protocol::{decode_server, Content, Op, RawJson, ServerMessage, Status};
use user_trace_model::{
    Change, Limits, Model, Options, Orphans, Parent, PartOutOfOrder, RunStatus, SpanId, TraceId,
};

#[test]
fn trace_and_text_span_stream_tokens() {
    let mut m = Model::default();
    let mut p = Producer::new("agent");
    apply_ok(&mut m, [p.trace("t1", "Answer"), p.text("t1", "s1", "Hel")]);
    let mut out = apply_ok(&mut m, [p.append("s1", "lo"), p.append("s1", ", world")]);
    let s = m.span(m.span_by_key("s1").unwrap()).unwrap();
    assert_eq!(s.text(), Some("Hello, world"));
    assert_eq!(
        out.changes,
        vec![
            Change::TextAppended {
                span: m.span_by_key("s1").unwrap(),
                from: 3
            },
            Change::TextAppended {
                span: m.span_by_key("s1").unwrap(),
                from: 5
            },
        ]
    );
    out.clear();
    let t = m.trace(m.trace_by_key("t1").unwrap()).unwrap();
    assert_eq!(t.name, "Answer");
    assert_eq!(t.spans.len(), 1);
    assert_eq!(m.roots().len(), 1);
}

#[test]
fn every_change_kind_is_reported() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    let out = apply_ok(&mut m, [p.trace("t", "T")]);
    assert_eq!(out.changes, vec![Change::Roots]);
    let t = m.trace_by_key("t").unwrap();
    let out = apply_ok(&mut m, [p.items("t", "i", &[("tokens", "12")])]);
    let i = m.span_by_key("i").unwrap();
    assert_eq!(out.changes, vec![Change::TraceSpans(t)]);
    let out = apply_ok(
        &mut m,
        [p.event(Op::ItemsSet {
            span: "i".into(),
            items: item_list(&[("tokens", "13"), ("ms", "40")]),
        })],
    );
    assert_eq!(out.changes, vec![Change::Content(i)]);
    let Content::Items(items) = &m.span(i).unwrap().content else {
        panic!()
    };
    let rows: Vec<_> = items
        .iter()
        .map(|i| (i.name.as_str(), i.value.get()))
        .collect();
    assert_eq!(
        rows,
        vec![("tokens", "13"), ("ms", "40")],
        "set replaces in place, appends new names"
    );
    apply_ok(
        &mut m,
        [p.event(Op::ItemsAdd {
            span: "i".into(),
            items: item_list(&[("ms", "41")]),
        })],
    );
    let Content::Items(items) = &m.span(i).unwrap().content else {
        panic!()
    };
    assert_eq!(items.len(), 3, "add appends even when the name repeats");

    let out = apply_ok(&mut m, [p.end_span("i")]);
    assert_eq!(out.changes, vec![Change::Span(i)]);
    assert_eq!(m.span(i).unwrap().status, RunStatus::Ok);
    let out = apply_ok(
        &mut m,
        [p.end_trace(
            "t",
            Status::Error {
                message: "boom".into(),
            },
        )],
    );
    assert_eq!(out.changes, vec![Change::Trace(t)]);
    assert_eq!(m.trace(t).unwrap().status, RunStatus::Error("boom".into()));
    assert!(m.trace(t).unwrap().end_ts().is_some());

    let out = apply_ok(&mut m, [p.event(Op::Clear)]);
    assert_eq!(out.changes, vec![Change::Cleared]);
    assert_eq!(m.trace_count(), 0);
    assert_eq!(m.span_count(), 0);
    assert_eq!(m.bytes(), 0);
}

#[test]
fn content_replace_follows_the_span_kind() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    apply_ok(
        &mut m,
        [
            p.trace("t", "T"),
            p.json("t", "j", r#"{"a":1}"#),
            p.text("t", "x", "old"),
        ],
    );
    apply_ok(
        &mut m,
        [
            p.event(Op::ContentReplace {
                span: "j".into(),
                content: RawJson::from_string(r#"[1, 2.50]"#.into()).unwrap(),
            }),
            p.event(Op::ContentReplace {
                span: "x".into(),
                content: RawJson::from_string(r#""new""#.into()).unwrap(),
            }),
        ],
    );
    let j = m.span(m.span_by_key("j").unwrap()).unwrap();
    assert_eq!(
        j.content,
        Content::Json(RawJson::from_string("[1, 2.50]".into()).unwrap())
    );
    assert_eq!(
        m.span(m.span_by_key("x").unwrap()).unwrap().text(),
        Some("new")
    );
    // A text span's content must be a string.
    let out = apply_all(
        &mut m,
        [p.event(Op::ContentReplace {
            span: "x".into(),
            content: RawJson::from_string("{}".into()).unwrap(),
        })],
    );
    assert_eq!(out.rejected.len(), 1);
    assert!(
        out.rejected[0].reason.contains("must be a string"),
        "{:?}",
        out.rejected
    );
}

#[test]
fn child_traces_nest_inside_spans_at_any_depth() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    apply_ok(
        &mut m,
        [
            p.trace("t", "Agent"),
            p.text("t", "s", "calling tool"),
            p.child_trace("c", "tool: search", "s"),
            p.json("c", "args", r#"{"q":"rust"}"#),
            p.child_trace("cc", "http", "args"),
        ],
    );
    let s = m.span_by_key("s").unwrap();
    let c = m.trace_by_key("c").unwrap();
    let cc = m.trace_by_key("cc").unwrap();
    assert_eq!(m.span(s).unwrap().children.to_vec(), vec![c]);
    assert_eq!(m.trace(c).unwrap().parent, Parent::Node(s));
    assert_eq!(m.depth(cc), 2);
    assert_eq!(m.roots().len(), 1, "child traces are not roots");
}

#[test]
fn orphans_wait_for_their_parent_and_attach_when_it_arrives() {
    let mut m = Model::default();
    let mut a = Producer::new("a");
    let mut b = Producer::new("b");
    // b's span and a child trace arrive before a's trace and the parent span.
    let out = apply_ok(
        &mut m,
        [
            b.text("t", "sb", "from b"),
            b.child_trace("c", "child", "sa"),
        ],
    );
    assert!(out.changes.contains(&Change::Orphans));
    let Orphans {
        traces: wt,
        spans: ws,
    } = m.orphans();
    assert_eq!((wt.len(), ws.len()), (1, 1));
    assert!(m.dump().contains("waiting:"));
    let out = apply_ok(
        &mut m,
        [a.trace("t", "Shared"), a.text("t", "sa", "from a")],
    );
    assert!(out.changes.contains(&Change::Orphans));
    let Orphans {
        traces: wt,
        spans: ws,
    } = m.orphans();
    assert!(wt.is_empty() && ws.is_empty(), "everything attached");
    let t = m.trace(m.trace_by_key("t").unwrap()).unwrap();
    assert_eq!(t.spans.len(), 2);
    assert_eq!(
        t.processes,
        vec!["a".into(), "b".into()],
        "badges of both writers"
    );
    let sa = m.span_by_key("sa").unwrap();
    assert_eq!(
        m.span(sa).unwrap().children.to_vec(),
        vec![m.trace_by_key("c").unwrap()]
    );
}

#[test]
fn spans_are_ordered_by_time_then_id_whatever_the_arrival_order() {
    let mut m = Model::default();
    let mut a = Producer::new("a");
    let e1 = a.trace("t", "T");
    let e2 = a.text("t", "first", "");
    let e3 = a.text("t", "second", "");
    apply_ok(&mut m, [e1, e3, e2]);
    let t = m.trace(m.trace_by_key("t").unwrap()).unwrap();
    let keys: Vec<_> = t
        .spans
        .iter()
        .map(|&s| m.span(s).unwrap().key.to_string())
        .collect();
    assert_eq!(keys, vec!["first", "second"]);
}

#[test]
fn duplicates_change_nothing() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    let events = vec![p.trace("t", "T"), p.text("t", "s", "a"), p.append("s", "b")];
    apply_ok(&mut m, events.clone());
    let before = m.dump();
    let out = apply_all(&mut m, events);
    assert_eq!(out.duplicates, 3);
    assert!(out.changes.is_empty() && out.rejected.is_empty());
    assert_eq!(m.dump(), before);
}

/// A refused event is not remembered as seen: sent again once it can apply (here, its span
/// was created by another process meanwhile), it applies; a duplicate of an applied one still
/// changes nothing.
#[test]
fn a_refused_event_sent_again_is_judged_again() {
    let mut m = Model::default();
    let (mut a, mut b) = (Producer::new("a"), Producer::new("b"));
    apply_ok(&mut m, [a.trace("t", "T")]);
    let early = b.append("s", "late");
    let out = apply_all(&mut m, [early.clone()]);
    assert_eq!(
        out.rejected.len(),
        1,
        "an append to an unknown span is refused"
    );
    apply_ok(&mut m, [a.text("t", "s", "on ")]);
    let out = apply_all(&mut m, [early.clone()]);
    assert!(out.rejected.is_empty() && out.duplicates == 0, "{out:?}");
    let out = apply_all(&mut m, [early]);
    assert_eq!(out.duplicates, 1);
    assert!(m.dump().contains("on late"), "{}", m.dump());
}

fn batch(
    events: Vec<user_trace_model::protocol::Event>,
) -> Vec<Result<user_trace_model::protocol::Event, user_trace_model::protocol::EventError>> {
    events.into_iter().map(Ok).collect()
}

#[test]
fn sequence_numbers_skip_duplicates_and_report_gaps() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    let e = [
        p.trace("t", "T"),
        p.text("t", "s", ""),
        p.append("s", "x"),
        p.append("s", "y"),
    ];
    let mut out = user_trace_model::Outcome::default();
    m.apply_batch(1, batch(e[..2].to_vec()), &mut out);
    assert_eq!(m.last_seq(), Some(2));
    // Overlapping batch: 2 is a duplicate, 3 is new.
    m.apply_batch(2, batch(e[1..3].to_vec()), &mut out);
    assert_eq!(out.duplicates, 1);
    assert_eq!(m.last_seq(), Some(3));
    // A gap: 5 follows 3.
    out.clear();
    m.apply_batch(5, batch(e[3..].to_vec()), &mut out);
    assert_eq!(
        out.gap,
        Some(user_trace_model::Gap {
            expected: 4,
            got: 5
        })
    );
    assert_eq!(m.last_seq(), Some(3), "nothing after a gap is applied");
    assert_eq!(
        m.span(m.span_by_key("s").unwrap()).unwrap().text(),
        Some("x")
    );
}

#[test]
fn invalid_events_are_rejected_with_a_reason_and_nothing_else_is_lost() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    apply_ok(
        &mut m,
        [
            p.trace("t", "T"),
            p.text("t", "s", ""),
            p.json("t", "j", "{}"),
        ],
    );
    let cases = [
        (p.append("nope", "x"), "unknown span `nope`"),
        (
            p.append("j", "x"),
            "cannot append text to span `j` of kind `json`",
        ),
        (p.text("t", "s", "again"), "span `s` already exists"),
        (p.trace("t", "T").clone(), ""), // joining an existing trace is fine
        (
            p.child_trace("t", "T", "s"),
            "already exists with another parent",
        ),
        (
            p.event(Op::ItemsSet {
                span: "s".into(),
                items: vec![],
            }),
            "cannot set items of span `s`",
        ),
        (p.end_trace("zzz", Status::Ok), "unknown trace `zzz`"),
    ];
    for (event, reason) in cases {
        let out = apply_all(&mut m, [event]);
        if reason.is_empty() {
            assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        } else {
            assert_eq!(out.rejected.len(), 1, "expected a rejection: {reason}");
            assert!(
                out.rejected[0].reason.contains(reason),
                "{} !~ {reason}",
                out.rejected[0].reason
            );
            assert!(out.rejected[0].event_id.is_some());
        }
    }
    // The stream goes on.
    apply_ok(&mut m, [p.append("s", "still works")]);
    assert_eq!(
        m.span(m.span_by_key("s").unwrap()).unwrap().text(),
        Some("still works")
    );
    // Appending after the end is refused.
    apply_ok(&mut m, [p.end_span("s")]);
    let out = apply_all(&mut m, [p.append("s", "late")]);
    assert!(out.rejected[0].reason.contains("has ended"));
}

#[test]
fn size_limits_are_enforced() {
    let limits = Limits {
        max_text_bytes: 10,
        max_json_bytes: 8,
        max_items: 2,
        max_label_bytes: 16,
    };
    let mut m = Model::new(Options {
        limits,
        ..Options::default()
    });
    let mut p = Producer::new("a");
    apply_ok(&mut m, [p.trace("t", "T"), p.text("t", "s", "12345")]);
    let cases = [
        (p.append("s", "123456"), "over the limit of 10"),
        (
            p.json("t", "j", r#"{"a":"long"}"#),
            "JSON of 12 bytes is over the limit of 8",
        ),
        (
            p.items("t", "i", &[("a", "1"), ("b", "2"), ("c", "3")]),
            "3 items are over the limit of 2",
        ),
        (p.trace("a-very-long-trace-id", "T"), "trace id is 20 bytes"),
    ];
    for (event, reason) in cases {
        let out = apply_all(&mut m, [event]);
        assert_eq!(out.rejected.len(), 1, "expected: {reason}");
        assert!(
            out.rejected[0].reason.contains(reason),
            "{} !~ {reason}",
            out.rejected[0].reason
        );
    }
    assert_eq!(
        m.span(m.span_by_key("s").unwrap()).unwrap().text(),
        Some("12345")
    );
}

#[test]
fn cycles_are_refused() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    // Span s waits for trace t; then t claims s as its parent: t would be inside itself.
    apply_ok(&mut m, [p.text("t", "s", "")]);
    let out = apply_all(&mut m, [p.child_trace("t", "T", "s")]);
    assert_eq!(out.rejected.len(), 1);
    assert!(out.rejected[0].reason.contains("nested inside itself"));
    // Trace u waits for span v; then v is created in u.
    apply_ok(&mut m, [p.child_trace("u", "U", "v")]);
    let out = apply_all(&mut m, [p.text("u", "v", "")]);
    assert_eq!(out.rejected.len(), 1);
    assert!(out.rejected[0].reason.contains("nested inside itself"));
}

#[test]
fn memory_cap_evicts_the_oldest_finished_traces_first() {
    let mut m = Model::new(Options {
        max_bytes: 20_000,
        ..Options::default()
    });
    let mut p = Producer::new("a");
    apply_ok(
        &mut m,
        [p.trace("running", "R"), p.text("running", "r", "")],
    );
    let mut evicted = 0;
    for i in 0..100 {
        let t = format!("t{i}");
        let out = apply_ok(
            &mut m,
            [
                p.trace(&t, "T"),
                p.text(&t, &format!("s{i}"), &"x".repeat(1000)),
                p.end_trace(&t, Status::Ok),
            ],
        );
        evicted += out.evicted;
    }
    assert!(m.bytes() <= 20_000, "{} bytes", m.bytes());
    assert!(evicted > 50, "evicted {evicted}");
    assert_eq!(m.evicted_total(), evicted);
    assert!(
        m.trace_by_key("running").is_some(),
        "the running trace is kept while finished ones can go"
    );
    assert!(m.trace_by_key("t99").is_some(), "the newest is kept");
    assert!(m.trace_by_key("t0").is_none(), "the oldest is gone");
    // Events for an evicted span say so.
    let out = apply_all(&mut m, [p.append("s0", "x")]);
    assert!(out.rejected[0].reason.contains("evicted"));
}

/// A model with nesting, several writers, every common kind, an ended error and an orphan.
fn varied_model() -> Model {
    let mut m = Model::default();
    let mut a = Producer::new("a");
    let mut b = Producer::new("b");
    apply_ok(
        &mut m,
        [
            a.trace("t", "Agent"),
            a.text("t", "s", "tok"),
            a.append("s", "ens"),
            b.json(
                "t",
                "j",
                r#"{"big": 123456789012345678901234567890, "é": "\u00e9"}"#,
            ),
            a.child_trace("c", "tool", "s"),
            a.items("c", "i", &[("n", "1")]),
            a.end_span("s"),
            a.end_trace(
                "c",
                Status::Error {
                    message: "failed".into(),
                },
            ),
            b.text("other", "orphan", "waiting"),
        ],
    );
    m
}

#[test]
fn snapshot_rebuilds_the_same_tree() {
    let m = varied_model();
    let events = m.snapshot_events();
    let json = ServerMessage::Snapshot { seq: 9, events }.to_json();
    let ServerMessage::Snapshot { seq, events } = decode_server(&json).unwrap() else {
        panic!()
    };
    let mut rebuilt = Model::default();
    let mut out = user_trace_model::Outcome::default();
    rebuilt.apply_snapshot(seq, events, &mut out);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(rebuilt.dump(), m.dump());
    assert_eq!(rebuilt.last_seq(), Some(9));
}

/// Decodes one `snapshot_part` message.
fn part_of(
    text: &str,
) -> (
    u64,
    u32,
    bool,
    Vec<user_trace_model::protocol::message::EventResult>,
) {
    match decode_server(text) {
        Ok(ServerMessage::SnapshotPart {
            seq,
            part,
            last,
            events,
        }) => (seq, part, last, events),
        other => panic!("not a part: {other:?}"),
    }
}

#[test]
fn a_snapshot_in_parts_rebuilds_the_same_tree_and_is_numbered_only_once_whole() {
    let m = varied_model();
    let events = m.snapshot_events();
    // One event per part (a bound of one byte), and the whole snapshot in one part.
    let parts: Vec<String> = snapshot_parts(9, &events, 1).collect();
    assert_eq!(parts.len(), events.len());
    assert_eq!(snapshot_parts(9, &events, 1 << 20).count(), 1);
    assert_eq!(
        snapshot_parts(9, &[], 1 << 20).count(),
        1,
        "an empty state is one part"
    );
    let mut rebuilt = varied_model();
    let mut out = user_trace_model::Outcome::default();
    for (i, text) in parts.iter().enumerate() {
        let (seq, part, last, events) = part_of(text);
        assert_eq!((seq, part as usize, last), (9, i, i + 1 == parts.len()));
        assert_eq!(
            rebuilt.apply_snapshot_part(seq, part, last, events, &mut out),
            Ok(())
        );
        // A connection lost before the last part must not resume from a partial state.
        let numbered = if last { Some(9) } else { None };
        assert_eq!(rebuilt.last_seq(), numbered, "after part {part}");
    }
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(rebuilt.dump(), m.dump(), "part 0 replaced what was there");
    assert_eq!(
        out.changes
            .iter()
            .filter(|c| **c == Change::Cleared)
            .count(),
        1
    );
}

#[test]
fn a_snapshot_part_out_of_order_applies_nothing_and_asks_for_a_whole_snapshot() {
    let m = varied_model();
    let events = m.snapshot_events();
    let parts: Vec<String> = snapshot_parts(9, &events, 1).collect();
    let later: Vec<String> = snapshot_parts(12, &events, 1).collect();
    let mut out = user_trace_model::Outcome::default();
    let apply = |model: &mut Model, text: &str, out: &mut user_trace_model::Outcome| {
        let (seq, part, last, events) = part_of(text);
        model.apply_snapshot_part(seq, part, last, events, out)
    };
    // A later part with nothing before it.
    let mut fresh = Model::default();
    let err = apply(&mut fresh, &parts[1], &mut out);
    assert_eq!(
        err,
        Err(PartOutOfOrder {
            seq: 9,
            part: 1,
            expected: None
        })
    );
    assert!(err.is_err_and(|e| e.to_string().contains("starting over")));
    assert_eq!(fresh.dump(), Model::default().dump());
    // A part skipped, and a part of another snapshot: nothing of them applies.
    let mut model = Model::default();
    assert_eq!(apply(&mut model, &parts[0], &mut out), Ok(()));
    let before = model.dump();
    let skipped = apply(&mut model, &parts[2], &mut out);
    assert_eq!(skipped.map_err(|e| e.expected), Err(Some((9, 1))));
    assert_eq!(model.dump(), before);
    assert_eq!(model.last_seq(), None);
    // After that, even the part that was due is refused: only a part 0 starts over.
    assert!(apply(&mut model, &parts[1], &mut out).is_err());
    assert_eq!(apply(&mut model, &later[0], &mut out), Ok(()));
    let other = apply(&mut model, &parts[1], &mut out);
    assert_eq!(other.map_err(|e| e.expected), Err(Some((12, 1))));
    // The last part numbers the model; a whole snapshot after parts starts clean.
    model.apply_snapshot(
        5,
        m.snapshot_events().into_iter().map(Ok).collect(),
        &mut out,
    );
    assert_eq!(model.last_seq(), Some(5));
    assert!(
        apply(&mut model, &later[1], &mut out).is_err(),
        "no parts are due after a whole snapshot"
    );
}

#[test]
fn json_is_kept_exactly_as_sent() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    let text = r#"{"z": 1, "a": 1.50, "big": 123456789012345678901234567890, "s": "\u00e9\n"}"#;
    apply_ok(&mut m, [p.trace("t", "T"), p.json("t", "j", text)]);
    let Content::Json(j) = &m.span(m.span_by_key("j").unwrap()).unwrap().content else {
        panic!()
    };
    assert_eq!(j.get(), text);
}

#[test]
fn ids_round_trip_through_the_numbers_views_key_rows_by() {
    let mut p = Producer::new("p");
    let mut m = Model::default();
    apply_ok(&mut m, [p.trace("t", "T"), p.text("t", "s", "x")]);
    let t = m.trace_by_key("t").unwrap();
    let s = m.span_by_key("s").unwrap();
    assert_eq!(TraceId::from_u64(t.as_u64()), t);
    assert_eq!(SpanId::from_u64(s.as_u64()), s);
    // A number of no live node finds nothing (a stale generation, say).
    assert!(m.trace(TraceId::from_u64(t.as_u64() + (1 << 32))).is_none());
    assert!(m.span(SpanId::from_u64(u64::MAX)).is_none());
}

/// A code comment promises it: ending twice keeps the first end (a retried end, or a second
/// process ending the same span or trace, must not change the outcome), for spans and traces.
#[test]
fn a_second_end_never_overwrites_the_first() {
    let mut m = Model::default();
    let mut p = Producer::new("p");
    apply_ok(&mut m, [p.trace("t", "T"), p.text("t", "s", "x")]);
    let ok_end = p.end_span("s");
    let ok_ts = ok_end.ts;
    let error_end = p.event(Op::SpanEnd {
        span: "s".into(),
        status: Status::Error {
            message: "late".into(),
        },
    });
    apply_ok(&mut m, [ok_end, error_end]);
    let s = m.span(m.span_by_key("s").unwrap()).unwrap();
    assert_eq!(s.status, RunStatus::Ok, "the first end stays");
    assert_eq!(s.end_ts(), Some(ok_ts), "and its time");

    let first = p.end_trace(
        "t",
        Status::Error {
            message: "first".into(),
        },
    );
    let first_ts = first.ts;
    apply_ok(&mut m, [first, p.end_trace("t", Status::Ok)]);
    let t = m.trace(m.trace_by_key("t").unwrap()).unwrap();
    assert_eq!(t.status, RunStatus::Error("first".into()));
    assert_eq!(t.end_ts(), Some(first_ts));
}

/// Several processes may announce the same nested trace: one naming the same parent span joins
/// it, whether that span is known yet or not; one naming another parent (or none) is refused.
#[test]
fn a_second_trace_start_joins_only_with_the_same_parent() {
    for parent_known in [true, false] {
        let mut m = Model::default();
        let (mut a, mut b, mut c) = (Producer::new("a"), Producer::new("b"), Producer::new("c"));
        apply_ok(&mut m, [a.trace("root", "R")]);
        if parent_known {
            apply_ok(&mut m, [a.text("root", "s", "")]);
        }
        apply_ok(&mut m, [a.child_trace("child", "C", "s")]);
        let joined = apply_all(&mut m, [b.child_trace("child", "C", "s")]);
        assert!(
            joined.rejected.is_empty(),
            "known={parent_known}: {joined:?}"
        );
        for near_miss in [
            c.child_trace("child", "C", "s2"),
            c.child_trace("child", "C", ""),
        ] {
            let out = apply_all(&mut m, [near_miss]);
            assert_eq!(out.rejected.len(), 1, "known={parent_known}: {out:?}");
            assert!(out.rejected[0].reason.contains("another parent"), "{out:?}");
        }
        let out = apply_all(&mut m, [c.trace("child", "C")]);
        assert_eq!(out.rejected.len(), 1, "as a root: refused");
        if !parent_known {
            apply_ok(&mut m, [a.text("root", "s", "")]);
        }
        let child = m.trace_by_key("child").expect("the child trace");
        let procs: Vec<&str> = m
            .trace(child)
            .unwrap()
            .processes
            .iter()
            .map(|p| &**p)
            .collect();
        assert_eq!(procs, ["a", "b"], "known={parent_known}");
    }
}

/// Every size limit at its edge: exactly the limit is kept, one more is refused with a reason
/// (text, an error's message, JSON, an item's value, items and messages by count, ids).
#[test]
fn every_limit_holds_exactly_at_its_edge() {
    let limits = Limits {
        max_text_bytes: 10,
        max_json_bytes: 8,
        max_items: 2,
        max_label_bytes: 16,
    };
    let mut m = Model::new(Options {
        limits,
        ..Options::default()
    });
    let mut n = 0;
    let mut event = |body: String| {
        n += 1;
        let text = format!(r#"{{"id":"e{n}","process":"p","ts":{n},{body}}}"#);
        user_trace_model::protocol::decode_event(0, &text).expect("a valid event")
    };
    let create = |span: &str, kind: &str, content: &str| {
        format!(
            r#""op":"span_create","trace":"t","span":"{span}","kind":"{kind}","content":{content}"#
        )
    };
    apply_ok(
        &mut m,
        [event(r#""op":"trace_start","trace":"t","name":"T""#.into())],
    );
    let msg = r#"{"role":"user","content":"x"}"#;
    let cases = [
        // (at the limit, one over, why the second is refused)
        (
            create("a", "text", r#""0123456789""#),
            create("b", "text", r#""0123456789X""#),
            "text of 11 bytes",
        ),
        (
            create("c", "error", r#"{"message":"0123456789"}"#),
            create("d", "error", r#"{"message":"0123456789X"}"#),
            "over the limit of 10",
        ),
        (
            create("e", "json", r#""123456""#),
            create("f", "json", r#""1234567""#),
            "JSON of 9 bytes",
        ),
        (
            create("g", "items", r#"[{"name":"v","value":"123456"}]"#),
            create("h", "items", r#"[{"name":"v","value":"1234567"}]"#),
            "value of item `v`",
        ),
        (
            create(
                "i",
                "items",
                r#"[{"name":"a","value":1},{"name":"b","value":2}]"#,
            ),
            create(
                "j",
                "items",
                r#"[{"name":"a","value":1},{"name":"b","value":2},{"name":"c","value":3}]"#,
            ),
            "3 items",
        ),
        (
            create("k", "messages", &format!("[{msg},{msg}]")),
            create("l", "messages", &format!("[{msg},{msg},{msg}]")),
            "over the limit of 2",
        ),
        (
            r#""op":"trace_start","trace":"0123456789abcdef","name":"T""#.into(),
            r#""op":"trace_start","trace":"0123456789abcdefX","name":"T""#.into(),
            "trace id is 17 bytes",
        ),
    ];
    for (at, over, why) in cases {
        let out = apply_all(&mut m, [event(at.clone())]);
        assert!(out.rejected.is_empty(), "{at}: {:?}", out.rejected);
        let out = apply_all(&mut m, [event(over.clone())]);
        assert_eq!(out.rejected.len(), 1, "{over} was kept");
        assert!(
            out.rejected[0].reason.contains(why),
            "{over}: {}",
            out.rejected[0].reason
        );
    }
    // Items added past the count: refused, and the span keeps its two.
    let out = apply_all(
        &mut m,
        [event(
            r#""op":"items_add","span":"i","items":[{"name":"c","value":3}]"#.into(),
        )],
    );
    assert_eq!(out.rejected.len(), 1, "a third item");
    // An event id at the label limit, and one over.
    let mut at = event(r#""op":"trace_start","trace":"u","name":"U""#.into());
    at.id = "i".repeat(16);
    assert!(apply_all(&mut m, [at]).rejected.is_empty());
    let mut over = event(r#""op":"trace_start","trace":"w","name":"W""#.into());
    over.id = "i".repeat(17);
    assert_eq!(apply_all(&mut m, [over]).rejected.len(), 1);
}

/// The duplicate window's edges: a refused event whose id turned the window over (it went to
/// the older half as it was recorded) is still forgotten; a snapshot starts the window anew.
#[test]
fn the_duplicate_window_forgets_refused_ids_at_its_turnover_and_after_a_snapshot() {
    let mut m = Model::new(Options {
        dedup_window: 4,
        ..Options::default()
    });
    let mut p = Producer::new("a");
    apply_ok(
        &mut m,
        [p.trace("t", "T"), p.text("t", "s", ""), p.append("s", "1")],
    );
    // The fourth id fills the window: recorded, the halves turn over, then it is refused.
    let early = p.append("x", "late");
    assert_eq!(apply_all(&mut m, [early.clone()]).rejected.len(), 1);
    apply_ok(&mut m, [p.text("t", "x", "on ")]);
    let out = apply_all(&mut m, [early]);
    assert!(out.rejected.is_empty() && out.duplicates == 0, "{out:?}");

    // After a snapshot, an id from before it is new again (the snapshot replaced everything).
    let mut m = Model::default();
    let start = p.trace("u", "U");
    apply_ok(&mut m, [start.clone()]);
    m.apply_snapshot(9, vec![], &mut user_trace_model::Outcome::default());
    let out = apply_all(&mut m, [start]);
    assert_eq!(out.duplicates, 0, "{out:?}");
    assert!(m.trace_by_key("u").is_some());
}

/// Cycles through a longer chain: the walk goes up through spans and traces that exist before
/// it reaches the one that waits (each step of the walk is needed to see the cycle).
#[test]
fn cycles_through_a_chain_of_existing_traces_and_spans_are_refused() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    // s1 waits for trace t; u hangs below s1, and s2 is in u. Trace t under s2 would be its
    // own ancestor: t -> s2 -> u -> s1 -> t.
    apply_ok(
        &mut m,
        [
            p.text("t", "s1", ""),
            p.child_trace("u", "U", "s1"),
            p.text("u", "s2", ""),
        ],
    );
    let out = apply_all(&mut m, [p.child_trace("t", "T", "s2")]);
    assert_eq!(out.rejected.len(), 1, "{:?}", out.rejected);
    assert!(out.rejected[0].reason.contains("nested inside itself"));
    // Trace w waits for span v; x is in w, y hangs below x. Span v in y would be its own
    // ancestor: v -> y -> x -> w -> v.
    apply_ok(
        &mut m,
        [
            p.child_trace("w", "W", "v"),
            p.text("w", "x", ""),
            p.child_trace("y", "Y", "x"),
        ],
    );
    let out = apply_all(&mut m, [p.text("y", "v", "")]);
    assert_eq!(out.rejected.len(), 1, "{:?}", out.rejected);
    assert!(out.rejected[0].reason.contains("nested inside itself"));
}

/// A span waiting for a trace is not a cycle by itself: the trace arriving under some other
/// span is taken, and the waiting span joins it.
#[test]
fn a_trace_that_a_span_waits_for_may_arrive_under_another_span() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    apply_ok(
        &mut m,
        [
            p.trace("root", "Root"),
            p.text("root", "parent", ""),
            p.text("t", "waiting", ""),
        ],
    );
    apply_ok(&mut m, [p.child_trace("t", "T", "parent")]);
    let t = m.trace_by_key("t").unwrap();
    let waiting = m.span_by_key("waiting").unwrap();
    assert_eq!(m.span(waiting).unwrap().trace, Parent::Node(t));
}

/// A batch that starts exactly at the next number is applied; one after it is a gap; after a
/// reset any number is taken; an id remembered without an event is a duplicate.
#[test]
fn a_batch_at_the_next_number_applies_and_reset_and_remember_do_what_they_say() {
    let mut m = Model::default();
    let mut p = Producer::new("a");
    let e = [p.trace("t", "T"), p.text("t", "s", ""), p.append("s", "x")];
    let mut out = user_trace_model::Outcome::default();
    m.apply_batch(1, batch(e[..2].to_vec()), &mut out);
    m.apply_batch(3, batch(e[2..].to_vec()), &mut out);
    assert_eq!(out.gap, None, "3 follows 2");
    assert_eq!(m.last_seq(), Some(3));
    let append = p.append("s", "y");
    m.apply_batch(10, batch(vec![append.clone()]), &mut out);
    assert!(out.gap.is_some(), "10 does not follow 3");
    m.reset_sequence();
    out.clear();
    m.apply_batch(10, batch(vec![append]), &mut out);
    assert_eq!(
        out.gap, None,
        "after a reset, the next batch is taken as it comes"
    );
    assert_eq!(m.last_seq(), Some(10));
    assert_eq!(
        m.span(m.span_by_key("s").unwrap()).unwrap().text(),
        Some("xy")
    );
    // An id folded into a snapshot is still recognized when resent.
    let resent = p.append("s", "z");
    m.remember("a", &resent.id);
    let out = apply_all(&mut m, [resent]);
    assert_eq!(out.duplicates, 1);
    assert_eq!(
        m.span(m.span_by_key("s").unwrap()).unwrap().text(),
        Some("xy")
    );
}

/// The memory cap at its edge: a model exactly at its cap keeps everything and reports no
/// eviction; one byte less evicts. Attaching a child trace and a second process count bytes.
#[test]
fn the_memory_cap_evicts_only_past_it_and_attachments_are_counted() {
    let build = |p: &mut Producer| {
        vec![
            p.trace("old", "Old"),
            p.end_trace("old", Status::Ok),
            p.trace("t", "T"),
            p.text("t", "s", "hello"),
        ]
    };
    let mut m = Model::default();
    let mut p = Producer::new("a");
    apply_ok(&mut m, build(&mut p));
    let before = m.bytes();
    // A child trace attached to s, and a second process joining t: each adds bytes.
    apply_ok(&mut m, [p.child_trace("c", "C", "s")]);
    let with_child = m.bytes();
    assert!(with_child > before, "{with_child} > {before}");
    // A second process announcing the same trace joins it: only its name is added.
    let mut q = Producer::new("b");
    apply_ok(&mut m, [q.trace("t", "T")]);
    assert!(m.bytes() > with_child, "a second process counts");
    // The cap at its edge.
    let exact = {
        let mut m = Model::default();
        apply_ok(&mut m, build(&mut Producer::new("a")));
        m.bytes()
    };
    let mut at_cap = Model::new(Options {
        max_bytes: exact,
        ..Options::default()
    });
    let out = apply_ok(&mut at_cap, build(&mut Producer::new("a")));
    assert_eq!(out.evicted, 0, "exactly at the cap: nothing evicted");
    assert!(!out.changes.contains(&Change::Orphans));
    let mut over = Model::new(Options {
        max_bytes: exact - 1,
        ..Options::default()
    });
    let out = apply_ok(&mut over, build(&mut Producer::new("a")));
    assert_eq!(out.evicted, 1, "one byte less: the finished trace goes");
}
