//! Links to the editor (issue 17, item 6): traces and spans may carry `source`, a host's opaque
//! name for the part of its program that made them (a node of a visual editor). The host learns
//! which item the reader activates (click, or Enter on a trace header or an item inside a span),
//! can reveal the newest span of a source (its traces expanded, scrolled to, highlighted), and
//! learns the set of sources with errors as it changes (for badges on its nodes).
//!
//! `reveal(source)` finds the newest span (else trace) of the source in the model and hands it
//! to the panel's one reveal (`views::reveal`), the one find and "next error" use.

use std::collections::HashMap;
use std::rc::Rc;

use user_trace_model::protocol::SpanKind;
use user_trace_model::{Change, Model, Parent, RunStatus, Sourced, SpanId, TraceId};
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::dom;
use crate::reactive::on_cleanup;
use crate::store::Store;
use crate::views::reveal::reveal;
use crate::views::PanelCx;
use user_trace_model::search::Place;

/// What the reader activated: its trace, its span (none: the trace's header) and the nearest
/// `source` (the span's, else its trace's, else the enclosing span's, and so on up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The trace's producer id.
    pub trace: String,
    /// The span's producer id, when a span was activated.
    pub span: Option<String>,
    pub source: Option<String>,
}

/// A host's callback for activations.
pub type OnActivate = Rc<dyn Fn(&Activation)>;
/// A host's callback for the sources with errors.
pub type OnErrorSources = Rc<dyn Fn(&[String])>;

/// A host's callbacks and what `reveal` and the error sources need (kept in the store).
#[derive(Default)]
pub struct Links {
    pub on_activate: Option<OnActivate>,
    pub on_error_sources: Option<OnErrorSources>,
    /// Sources of traces and spans that failed (an error status, or an `error` span), sorted
    /// and each once: a few names, where a `BTreeSet` of its own cost the wasm its tree's code.
    error_sources: Vec<String>,
    /// Per trace, the start of the newest span looked at for errors (see `failed_sources`).
    marks: HashMap<u64, u64>,
    /// The panel's element and what a reveal needs (its store, filter and follow mode).
    root: Option<Element>,
    reveal: Option<PanelCx>,
}

/// The nearest source from span `span` (or trace `trace`) up.
fn nearest_source(
    m: &Model,
    mut span: Option<SpanId>,
    mut trace: Option<TraceId>,
) -> Option<String> {
    // A bounded walk up (a cycle is impossible, the bound is a guard).
    for _ in 0..10_000 {
        if let Some(s) = span.and_then(|s| m.span(s)) {
            if let Some(src) = s.source() {
                return Some(src.to_string());
            }
            trace = match s.trace {
                Parent::Node(t) => Some(t),
                _ => None,
            };
            span = None;
        } else if let Some(t) = trace.and_then(|t| m.trace(t)) {
            if let Some(src) = &t.source {
                return Some(src.to_string());
            }
            span = match t.parent {
                Parent::Node(s) => Some(s),
                _ => None,
            };
            trace = None;
        } else {
            return None;
        }
    }
    None
}

/// The activation of span `span` (or, without it, trace `trace`).
pub fn activation(m: &Model, span: Option<SpanId>, trace: Option<TraceId>) -> Option<Activation> {
    let trace = match span {
        Some(s) => match m.span(s)?.trace {
            Parent::Node(t) => t,
            _ => return None,
        },
        None => trace?,
    };
    Some(Activation {
        trace: m.trace(trace)?.key.to_string(),
        span: span.and_then(|s| m.span(s)).map(|s| s.key.to_string()),
        source: nearest_source(m, span, Some(trace)),
    })
}

/// Whether a span failed: an error status, or an `error` span.
/// Set in a trace's mark while [`failed_sources`] has looked at its list in this call. A start
/// time in microseconds is far below it; a hostile one above it leaves the mark at `LOOKED - 1`
/// once the flag is cleared, so that its spans are looked at again, never skipped.
const LOOKED: u64 = 1 << 63;

fn span_failed(s: &user_trace_model::Span) -> bool {
    matches!(s.status, RunStatus::Error(_)) || s.kind == SpanKind::Error
}

/// The error sources `changes` add (a node that failed and carries a source). A new span is
/// reported as its trace's list changing: `marks` keeps, per trace, the start of the newest
/// span looked at, so that only spans from there on are looked at again (a span that arrives
/// out of order, older than one already seen, is missed until it changes). Each trace's list
/// is looked at once, however many of its spans arrived: spans that share a start are all
/// looked at again, and one look per new span made 5,000 spans created at one instant 25
/// million looks (B9's start: 100 ms in one frame).
pub fn failed_sources(m: &Model, changes: &[Change], marks: &mut HashMap<u64, u64>) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |source: Option<&str>| {
        if let Some(s) = source {
            out.push(s.to_owned());
        }
    };
    for c in changes {
        match c {
            Change::Span(s) | Change::Content(s) => {
                if let Some(s) = m.span(*s).filter(|s| span_failed(s)) {
                    push(s.source());
                }
            }
            Change::Trace(t) => {
                if let Some(t) = m.trace(*t) {
                    if matches!(t.status, RunStatus::Error(_)) {
                        push(t.source.as_deref());
                    }
                }
            }
            Change::TraceSpans(t) => {
                let Some(trace) = m.trace(*t) else { continue };
                let mark = marks.entry(t.as_u64()).or_insert(0);
                if *mark & LOOKED != 0 {
                    continue;
                }
                let mut newest = *mark;
                for s in trace.spans.iter().rev().filter_map(|s| m.span(*s)) {
                    if s.start_ts < *mark {
                        break;
                    }
                    newest = newest.max(s.start_ts);
                    if span_failed(s) {
                        push(s.source());
                    }
                }
                *mark = newest | LOOKED;
            }
            _ => {}
        }
    }
    for c in changes {
        if let Change::TraceSpans(t) = c {
            *marks.entry(t.as_u64()).or_insert(0) &= !LOOKED;
        }
    }
    out
}

impl Store {
    /// Calls `on_activate` for span `span` (or trace `trace`).
    pub fn activate(&self, span: Option<SpanId>, trace: Option<TraceId>) {
        let Some(a) = self.with(|m| activation(m, span, trace)) else {
            return;
        };
        if let Some(f) = self.links(|l| l.on_activate.clone()).flatten() {
            f(&a);
        }
    }

    /// The sources with errors so far, sorted.
    pub fn error_sources(&self) -> Vec<String> {
        self.links(|l| l.error_sources.clone()).unwrap_or_default()
    }

    /// Keeps the error sources current from a batch's changes, and tells the host when they
    /// changed (outside any borrow: its callback may call back into the panel).
    pub(crate) fn note_error_sources(&self, changes: &[Change]) {
        let cleared = changes.iter().any(|c| matches!(c, Change::Cleared));
        let mut marks = self
            .links(|l| std::mem::take(&mut l.marks))
            .unwrap_or_default();
        if cleared {
            marks.clear();
        }
        let failed = self.with(|m| failed_sources(m, changes, &mut marks));
        self.links(|l| l.marks = marks);
        if failed.is_empty() && !cleared {
            return;
        }
        let changed = self
            .links(|l| {
                let mut changed = false;
                if cleared && !l.error_sources.is_empty() {
                    l.error_sources.clear();
                    changed = true;
                }
                for s in failed {
                    if let Err(at) = l.error_sources.binary_search(&s) {
                        l.error_sources.insert(at, s);
                        changed = true;
                    }
                }
                changed.then(|| l.on_error_sources.clone()).flatten()
            })
            .flatten();
        if let Some(f) = changed {
            f(&self.error_sources());
        }
    }

    /// Shows the newest span of `source` (else its newest trace): the traces it is in are
    /// expanded, following stops, and it is scrolled to and highlighted (`views::reveal`).
    /// False when nothing carries that source.
    pub fn reveal(&self, source: &str) -> bool {
        let Some(found) = self.with(|m| m.newest_with_source(source)) else {
            return false;
        };
        let place = match found {
            Sourced::Span(s) => Place::SpanTitle(s),
            Sourced::Trace(t) => Place::Trace(t),
        };
        let (root, cx) = self
            .links(|l| (l.root.clone(), l.reveal))
            .unwrap_or_default();
        let tree = root.and_then(|r| r.query_selector(".utp-tree").ok().flatten());
        if let (Some(tree), Some(cx)) = (tree, cx) {
            reveal(cx, &tree, place);
        }
        true
    }
}

/// The span or trace (by its view's data attribute) a header belongs to.
pub(crate) fn node_of(header: &Element) -> (Option<SpanId>, Option<TraceId>) {
    let parent = header.parent_element();
    let number = |name: &str| {
        parent
            .as_ref()
            .and_then(|p| p.get_attribute(name))
            .and_then(|v| v.parse::<u64>().ok())
    };
    (
        number("data-span").map(SpanId::from_u64),
        number("data-trace").map(TraceId::from_u64),
    )
}

/// Listens on the panel's `section` for the reader activating items, and keeps what `reveal`
/// needs. Clicks on a header's own buttons (copy, "+N") are theirs.
pub fn install(section: &Element, cx: PanelCx) {
    let store = cx.store;
    let root = section.clone();
    store.links(move |l| {
        l.root = Some(root);
        l.reveal = Some(cx);
    });
    // A host's store outlives the panels mounted on it: the section it kept would keep an
    // unmounted panel's whole DOM alive. Another panel may have taken the store since.
    let mounted = section.clone();
    on_cleanup(move || {
        store.links(|l| {
            if l.root.as_ref() == Some(&mounted) {
                l.root = None;
                l.reveal = None;
            }
        });
    });
    dom::on(section, "click", move |e| {
        let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if t.closest("button, a, input, select")
            .ok()
            .flatten()
            .is_some()
        {
            return;
        }
        if let Some(header) = t
            .closest(".utp-span-header, .utp-trace-header")
            .ok()
            .flatten()
        {
            let (span, trace) = node_of(&header);
            store.activate(span, trace);
        }
    });
    // Enter on an item inside a span that has nothing to expand (a text, a message, a JSON
    // value) activates the span; on a trace header, Enter is a click (above).
    dom::on(section, "keydown", move |e| {
        let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        if k.key() != "Enter" {
            return;
        }
        let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if t.get_attribute("role").as_deref() != Some("treeitem")
            || t.has_attribute("aria-expanded")
        {
            return;
        }
        if let Some(span) = t.closest("[data-span]").ok().flatten() {
            let id = span
                .get_attribute("data-span")
                .and_then(|v| v.parse::<u64>().ok());
            store.activate(id.map(SpanId::from_u64), None);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use user_trace_model::protocol::decode_event;
    use user_trace_model::{Outcome, Sourced};

    fn apply(m: &mut Model, lines: &[&str]) -> Vec<Change> {
        let mut out = Outcome::default();
        for (i, l) in lines.iter().enumerate() {
            let line = format!(
                r#"{{"id":"{}-{i}","process":"p","ts":{},{l}}}"#,
                l.len(),
                10 + i
            );
            m.apply(decode_event(i, &line).unwrap(), &mut out);
        }
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        out.changes
    }

    #[test]
    fn an_activation_names_the_nearest_source() {
        let mut m = Model::default();
        apply(
            &mut m,
            &[
                r#""op":"trace_start","trace":"t","name":"n","source":"run""#,
                r#""op":"span_create","trace":"t","span":"a","kind":"text","source":"llm""#,
                r#""op":"span_create","trace":"t","span":"b","kind":"text""#,
                r#""op":"trace_start","trace":"c","name":"n","parent_span":"b""#,
                r#""op":"span_create","trace":"c","span":"d","kind":"text""#,
            ],
        );
        let span = |k: &str| m.span_by_key(k);
        let of = |k: &str| activation(&m, span(k), None).unwrap();
        assert_eq!(of("a").source.as_deref(), Some("llm"));
        assert_eq!(of("b").source.as_deref(), Some("run"), "its trace's");
        // Two levels up: its trace has none, the span it nests in has none, that one's trace.
        let d = of("d");
        assert_eq!((d.trace.as_str(), d.span.as_deref()), ("c", Some("d")));
        assert_eq!(d.source.as_deref(), Some("run"));
        assert_eq!(m.newest_with_source("llm"), span("a").map(Sourced::Span));
        assert_eq!(m.newest_with_source("nothing"), None);
    }

    #[test]
    fn spans_created_at_one_instant_are_looked_at_once_a_batch() {
        // 1,000 spans that share their start, in one batch, one of them failed: its source is
        // reported once. Each new span had the trace's list looked at again, and all the spans
        // at the newest start with it: the failed one was reported 1,000 times, and 5,000
        // spans made 25 million looks. Each from a process of its own: the model reports a run
        // of spans added to a trace as one change, and a new process between them breaks it.
        let mut m = Model::default();
        let mut out = Outcome::default();
        let mut lines = vec![r#""op":"trace_start","trace":"t","name":"n""#.to_owned()];
        for i in 0..1000 {
            let kind = if i == 500 { "error" } else { "text" };
            lines.push(format!(
                r#""op":"span_create","trace":"t","span":"s{i}","kind":"{kind}","content":"x","source":"src{i}""#
            ));
        }
        for (i, l) in lines.iter().enumerate() {
            let line = format!(r#"{{"id":"e{i}","process":"p{i}","ts":7,{l}}}"#);
            m.apply(decode_event(i, &line).unwrap(), &mut out);
        }
        assert!(out.rejected.is_empty());
        let spans_changed = out
            .changes
            .iter()
            .filter(|c| matches!(c, Change::TraceSpans(_)))
            .count();
        assert_eq!(
            spans_changed, 1000,
            "one change per span, as the model reports them"
        );
        let mut marks = HashMap::new();
        assert_eq!(failed_sources(&m, &out.changes, &mut marks), ["src500"]);
    }

    #[test]
    fn spans_that_start_at_the_end_of_time_are_looked_at_in_every_batch() {
        // A start time with the mark's flag bit set (hostile: any `u64` is a valid `ts`).
        let mut m = Model::default();
        let mut marks = HashMap::new();
        let mut batch = |lines: &[&str]| {
            let mut out = Outcome::default();
            for (i, l) in lines.iter().enumerate() {
                let line = format!(
                    r#"{{"id":"{}-{i}","process":"p","ts":{},{l}}}"#,
                    l.len(),
                    u64::MAX
                );
                m.apply(decode_event(i, &line).unwrap(), &mut out);
            }
            failed_sources(&m, &out.changes, &mut marks)
        };
        let first = batch(&[
            r#""op":"trace_start","trace":"t","name":"n""#,
            r#""op":"span_create","trace":"t","span":"a","kind":"error","content":"x","source":"one""#,
        ]);
        assert_eq!(first, ["one"]);
        let second = batch(&[
            r#""op":"span_create","trace":"t","span":"b","kind":"error","content":"x","source":"two""#,
        ]);
        assert!(second.contains(&"two".to_owned()), "{second:?}");
    }

    #[test]
    fn error_sources_come_from_failed_spans_and_traces() {
        let mut m = Model::default();
        let mut marks = HashMap::new();
        let changes = apply(
            &mut m,
            &[
                r#""op":"trace_start","trace":"t","name":"n","source":"run""#,
                r#""op":"span_create","trace":"t","span":"e","kind":"error","content":"x","source":"check""#,
                r#""op":"span_create","trace":"t","span":"ok","kind":"text","source":"fine""#,
            ],
        );
        assert_eq!(failed_sources(&m, &changes, &mut marks), ["check"]);
        // Near misses: an append, and an error without a source.
        let changes = apply(
            &mut m,
            &[
                r#""op":"text_append","span":"ok","text":"more""#,
                r#""op":"span_create","trace":"t","span":"e2","kind":"error","content":"x""#,
            ],
        );
        assert!(failed_sources(&m, &changes, &mut marks).is_empty());
        let changes = apply(
            &mut m,
            &[
                r#""op":"span_end","span":"ok","status":"error","message":"no""#,
                r#""op":"trace_end","trace":"t","status":"error","message":"no""#,
            ],
        );
        assert_eq!(failed_sources(&m, &changes, &mut marks), ["fine", "run"]);
    }
}
