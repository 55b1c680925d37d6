//! What the panel's live views read from the model (issue 17): a stream's pieces (stream stats)
//! and the values an item had before (live tables).

mod common;

use common::*;
use user_trace_model::protocol::{Op, RawJson};
use user_trace_model::{Model, ITEM_HISTORY};

#[test]
fn appends_count_the_pieces_and_when_they_came() {
    let mut m = Model::default();
    let mut p = Producer::new("agent");
    let t = p.trace("t", "run");
    let empty = p.text("t", "s", "");
    let created = empty.ts;
    apply_ok(&mut m, [t, empty]);
    let s = m.span_by_key("s").unwrap();
    assert_eq!(m.span(s).unwrap().appends().count, 0, "no token yet");
    let a1 = p.append("s", "Hel");
    let first = a1.ts;
    let a2 = p.append("s", "lo");
    let last = a2.ts;
    apply_ok(&mut m, [a1, a2]);
    let a = m.span(s).unwrap().appends();
    assert_eq!((a.count, a.first_ts, a.last_ts), (2, first, last));
    assert!(first > created);
    // A refused append (the span ended) counts nothing.
    let end = p.end_span("s");
    apply_ok(&mut m, [end]);
    apply_all(&mut m, [p.append("s", "late")]);
    assert_eq!(m.span(s).unwrap().appends().count, 2);
    // Text sent with the span is its first piece; a conversation's appends count too.
    let with_text = p.text("t", "w", "Hi");
    let ts = with_text.ts;
    apply_ok(&mut m, [with_text]);
    let w = m.span_by_key("w").unwrap();
    let a = m.span(w).unwrap().appends();
    assert_eq!((a.count, a.first_ts, a.last_ts), (1, ts, ts));
    // Streamed on after its text: the first piece stays the text's, the last moves on.
    let more = p.append("w", " there");
    let later = more.ts;
    apply_ok(&mut m, [more]);
    let a = m.span(w).unwrap().appends();
    assert_eq!((a.count, a.first_ts, a.last_ts), (2, ts, later));
    assert!(later > ts);
    // A piece stamped before the last does not move the last back.
    let mut early = p.append("w", "!");
    early.ts = ts;
    apply_ok(&mut m, [early]);
    let a = m.span(w).unwrap().appends();
    assert_eq!((a.count, a.first_ts, a.last_ts), (3, ts, later));
}

fn set(p: &mut Producer, span: &str, items: &[(&str, &str)]) -> user_trace_model::protocol::Event {
    p.event(Op::ItemsSet {
        span: span.into(),
        items: item_list(items),
    })
}

#[test]
fn items_keep_their_last_values_bounded() {
    let mut m = Model::default();
    let mut p = Producer::new("agent");
    let t = p.trace("t", "run");
    let i = p.items("t", "i", &[("tokens", "1"), ("model", "\"gpt\"")]);
    apply_ok(&mut m, [t, i]);
    let id = m.span_by_key("i").unwrap();
    assert!(m.span(id).unwrap().item_history(0).is_none());
    for n in 2..=9 {
        let e = set(&mut p, "i", &[("tokens", &n.to_string())]);
        apply_ok(&mut m, [e]);
    }
    // The same value again is no change; another item is untouched.
    let same = set(&mut p, "i", &[("tokens", "9"), ("model", "\"gpt\"")]);
    apply_ok(&mut m, [same]);
    let span = m.span(id).unwrap();
    let h = span.item_history(0).unwrap();
    assert_eq!(h.changes, 8);
    let previous: Vec<&str> = h.previous.iter().map(RawJson::get).collect();
    assert_eq!(previous.len(), ITEM_HISTORY);
    assert_eq!(
        previous,
        ["4", "5", "6", "7", "8"],
        "the last values, oldest first"
    );
    assert!(span.item_history(1).is_none());
    // items_add appends even a repeated name: no change of the first.
    let add = p.event(Op::ItemsAdd {
        span: "i".into(),
        items: item_list(&[("tokens", "100")]),
    });
    apply_ok(&mut m, [add]);
    assert_eq!(m.span(id).unwrap().item_history(0).unwrap().changes, 8);
    // A replaced content starts over, and the bytes it held are given back.
    let before = m.bytes();
    let replace = p.event(Op::ContentReplace {
        span: "i".into(),
        content: RawJson::from_string(r#"[{"name":"tokens","value":1}]"#.into()).unwrap(),
    });
    apply_ok(&mut m, [replace]);
    assert!(m.span(id).unwrap().item_history(0).is_none());
    assert!(m.bytes() < before);
}

#[test]
fn an_interrupted_span_is_cleared_by_a_write_or_its_end_and_kept_by_snapshots() {
    let mut m = Model::default();
    let mut p = Producer::new("agent");
    let t = p.trace("t", "run");
    let s = p.text("t", "s", "");
    let done = p.text("t", "done", "x");
    let end = p.end_span("done");
    apply_ok(&mut m, [t, s, done, end]);
    let mut runtime = Producer::new(user_trace_model::protocol::RUNTIME_PROCESS);
    let report = |r: &mut Producer, span: &str| r.event(Op::SpanInterrupted { span: span.into() });
    let (a, b) = (report(&mut runtime, "s"), report(&mut runtime, "done"));
    let at = a.ts;
    apply_ok(&mut m, [a, b]);
    let id = m.span_by_key("s").unwrap();
    assert_eq!(m.span(id).unwrap().interrupted(), Some(at));
    // Near miss: an ended span stays as it ended.
    let done = m.span_by_key("done").unwrap();
    assert_eq!(m.span(done).unwrap().interrupted(), None);
    // A snapshot keeps the report.
    let mut copy = Model::default();
    apply_ok(&mut copy, m.snapshot_events());
    let cid = copy.span_by_key("s").unwrap();
    assert_eq!(copy.span(cid).unwrap().interrupted(), Some(at));
    // The producer writes again: cleared; reported again, then ended: cleared.
    apply_ok(&mut m, [p.append("s", "more")]);
    assert_eq!(m.span(id).unwrap().interrupted(), None);
    apply_ok(&mut m, [report(&mut runtime, "s")]);
    assert!(m.span(id).unwrap().interrupted().is_some());
    apply_ok(&mut m, [p.end_span("s")]);
    assert_eq!(m.span(id).unwrap().interrupted(), None);
    // An unknown span is refused, like any op on one.
    let out = apply_all(&mut m, [report(&mut runtime, "nope")]);
    assert_eq!(out.rejected.len(), 1);
}
