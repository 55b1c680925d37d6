//! Copy a trace: its events as JSON Lines import back into an empty model as the same tree.

mod common;

use common::*;
use user_trace_model::protocol::{decode_event, writer, Event, Op, Status};
use user_trace_model::Model;

fn jsonl(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        writer::event(&mut out, e);
        out.push('\n');
    }
    out
}

fn import(text: &str) -> Model {
    let mut m = Model::default();
    let events: Vec<Event> = text
        .lines()
        .enumerate()
        .map(|(n, l)| decode_event(n, l).unwrap_or_else(|e| panic!("line {n}: {e:?}")))
        .collect();
    apply_ok(&mut m, events);
    m
}

fn trace_events(p: &mut Producer, q: &mut Producer) -> Vec<Event> {
    vec![
        p.trace("t", "Outer \u{202e} run"),
        p.text("t", "answer", "Hel"),
        q.append("answer", "lo"),
        p.json("t", "args", r#"{"k":[1,2.50,"\u00e9"],"n":null}"#),
        p.child_trace("c", "tool call", "args"),
        p.items(
            "c",
            "table",
            &[("tokens", "812"), ("cost", r#"{"usd":0.5}"#)],
        ),
        p.end_span("table"),
        p.end_trace(
            "c",
            Status::Error {
                message: "timeout".into(),
            },
        ),
        p.end_span("answer"),
    ]
}

#[test]
fn a_copied_trace_imports_back_as_the_same_tree() {
    let (mut p, mut q) = (Producer::new("agent@h:1"), Producer::new("worker@h:2"));
    let events = trace_events(&mut p, &mut q);
    let mut alone = Model::default();
    apply_ok(&mut alone, events.clone());
    let mut full = Model::default();
    apply_ok(&mut full, events);
    // Another root beside it is not copied.
    apply_ok(
        &mut full,
        [p.trace("other", "Other"), p.text("other", "o", "x")],
    );
    let t = full.trace_by_key("t").unwrap();
    let copied = jsonl(&full.trace_events(t));
    let back = import(&copied);
    assert_eq!(back.dump(), alone.dump());
    assert!(!copied.contains("\"other\""));
}

#[test]
fn a_nested_trace_copied_alone_imports_as_a_root() {
    let (mut p, mut q) = (Producer::new("agent@h:1"), Producer::new("worker@h:2"));
    let mut m = Model::default();
    apply_ok(&mut m, trace_events(&mut p, &mut q));
    let c = m.trace_by_key("c").unwrap();
    let copied = jsonl(&m.trace_events(c));
    let back = import(&copied);
    assert_eq!(back.roots().len(), 1, "{}", back.dump());
    let user_trace_model::Orphans {
        traces: waiting_traces,
        spans: waiting_spans,
    } = back.orphans();
    assert!(waiting_traces.is_empty() && waiting_spans.is_empty());
    let root = back.trace(*back.roots().first().unwrap()).unwrap();
    assert_eq!(root.name, "tool call");
    assert_eq!(root.spans.len(), 1);
    // A copy of the copy is the same text: nothing was lost or changed on the way.
    let again = jsonl(&back.trace_events(back.trace_by_key("c").unwrap()));
    assert_eq!(again, copied);
    // Near miss: the same events with the parent kept would wait for it.
    let kept: Vec<Event> = m
        .trace_events(c)
        .into_iter()
        .map(|mut e| {
            if let Op::TraceStart { parent_span, .. } = &mut e.op {
                *parent_span = Some("args".into());
            }
            e
        })
        .collect();
    let waiting = import(&jsonl(&kept));
    assert_eq!(waiting.roots().len(), 0);
}
