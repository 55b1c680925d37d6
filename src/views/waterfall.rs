//! The waterfall (issue 17, item 11): a span's or child trace's start within its trace and its
//! duration, as a compact bar and as words (`+1.2 s · 3.4 s`); while it runs, the bar grows
//! with the clock (`crate::clock`, a few times a second), not with its tokens.

use crate::reactive::Track;
use user_trace_model::{Model, Parent, SpanId, TraceId};
use web_sys::Element;

use crate::store::Store;
use crate::timing::{self, Bar};
use crate::{clock, dom, format};

/// What a bar is drawn for.
#[derive(Clone, Copy)]
pub enum Timed {
    Span(SpanId),
    /// A child trace (a root trace is in no trace: it shows no bar).
    Trace(TraceId),
}

/// The times a bar is drawn from (microseconds), read from the model.
#[derive(Clone, Copy, PartialEq)]
struct Times {
    start: u64,
    end: Option<u64>,
    trace_start: u64,
    trace_end: Option<u64>,
}

/// The trace that `what` is in, and its own start and end.
fn times(m: &Model, what: Timed) -> Option<Times> {
    let (start, end, trace) = match what {
        Timed::Span(id) => {
            let s = m.span(id)?;
            let Parent::Node(t) = s.trace else {
                return None;
            };
            // An interrupted span stops where its writer was reported gone.
            (s.start_ts, s.end_ts().or(s.interrupted()), t)
        }
        Timed::Trace(id) => {
            let t = m.trace(id)?;
            let Parent::Node(span) = t.parent else {
                return None;
            };
            let Parent::Node(outer) = m.span(span)?.trace else {
                return None;
            };
            (t.start_ts, t.end_ts(), outer)
        }
    };
    let trace = m.trace(trace)?;
    Some(Times {
        start,
        end,
        trace_start: trace.start_ts,
        trace_end: trace.end_ts(),
    })
}

/// Appends `what`'s bar to `parent`, kept current while it lives: one element, its words as
/// its text and the bar drawn before them by the stylesheet from its `--l` and `--w` (a row of
/// a long list mounts one, and each element costs it).
pub fn waterfall(parent: &Element, store: Store, what: Timed) {
    let root = dom::add(parent, "span", "utp-wf");
    // A span's times change with its header, not with its appends (the clock grows an open
    // bar a few times a second): a token costs the bar nothing.
    let trigger = match what {
        Timed::Span(id) => store.span_shape_trigger(id),
        Timed::Trace(id) => store.trace_trigger(id),
    };
    let mut shown: Option<(Bar, String, bool)> = None;
    // The classes as set (a new bar has neither): each is written only when it changes.
    let (mut hidden, mut was_open) = (false, false);
    dom::effect(move || {
        trigger.track();
        let Some(t) = store.with(|m| times(m, what)) else {
            if !hidden {
                dom::toggle_class(&root, "utp-hidden", true);
                hidden = true;
            }
            // Shown again, the same bar must be written again.
            shown = None;
            return;
        };
        // Open in an open trace: it grows with the clock. Open in an ended trace: it is cut at
        // the trace's end (unfinished, nothing more will come).
        let open = t.end.is_none() && t.trace_end.is_none();
        let now = if open || t.trace_end.is_none() {
            clock::now_tracked().max(t.start)
        } else {
            0
        };
        let trace_end = t.trace_end.unwrap_or(now).max(t.start);
        let end = t.end.unwrap_or(trace_end);
        let bar = timing::bar(t.start, end, t.trace_start, trace_end);
        let text = format!(
            "{} · {}",
            timing::offset(t.start, t.trace_start),
            format::duration(end.saturating_sub(t.start))
        );
        let now_shown = (bar, text, open);
        if shown.as_ref() == Some(&now_shown) {
            return;
        }
        let (bar, text, open) = &now_shown;
        if hidden {
            dom::toggle_class(&root, "utp-hidden", false);
            hidden = false;
        }
        if was_open != *open {
            dom::toggle_class(&root, "utp-wf-open", *open);
            was_open = *open;
        }
        dom::set(
            &root,
            "style",
            &format!(
                "--l:{};--w:{}",
                timing::percent(bar.left),
                timing::percent(bar.width)
            ),
        );
        dom::set_text(&root, text);
        let verb = if *open { "running for" } else { "lasted" };
        dom::set(
            &root,
            "title",
            &format!(
                "started {} after its trace, {verb} {}",
                format::duration(t.start.saturating_sub(t.trace_start)),
                format::duration(end.saturating_sub(t.start))
            ),
        );
        shown = Some(now_shown);
    });
}
