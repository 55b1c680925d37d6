//! Stream stats (issue 17, item 5): on a streamed span (text, markdown, a conversation, JSON in
//! pieces), a live marker while it is open, its time to first token and tokens per second
//! (`crate::timing`); its elapsed time and duration are the waterfall's (`views::waterfall`).
//! The words move with the shared clock (`crate::clock`, a few times a second) while the span is
//! live, and with its header's changes (its end): a frame of tokens costs them nothing.

use crate::reactive::Track;
use user_trace_model::{Parent, SpanId};
use web_sys::Element;

use crate::store::Store;
use crate::{dom, timing};

/// How many of the clock's ticks the live marker stays lit, then dimmed (half a second).
const BLINK_TICKS: u64 = 2;

/// What the stats show, read from the model.
#[derive(Clone, PartialEq)]
struct Shown {
    /// Open, in a trace still running: the live marker.
    live: bool,
    text: String,
}

/// The stats' elements: made the first time there is something to show (most spans never
/// stream, and a mounted row costs each element it makes).
struct Els {
    root: Element,
    dot: Element,
    words: Element,
}

impl Els {
    /// Made at the start of `parent` (before the waterfall).
    fn new(parent: &Element) -> Els {
        let root = dom::el("span", "utp-stats");
        let _ = parent.insert_before(&root, parent.first_child().as_ref());
        let dot = dom::add(&root, "span", "utp-live");
        dom::set(&dot, "role", "img");
        dom::set(&dot, "aria-label", "still streaming");
        dom::set(&dot, "title", "still streaming");
        let words = dom::add(&root, "span", "utp-stats-text");
        dom::set(&words, "title", "time to first token · tokens per second");
        Els { root, dot, words }
    }
}

/// Adds span `id`'s stream stats to `parent` (nothing for kinds that do not stream).
pub fn stream_stats(parent: &Element, store: Store, id: SpanId) {
    let parent = parent.clone();
    let mut els: Option<Els> = None;
    // Not the span's trigger: its appends change the figures every frame, which no one reads
    // that fast; the clock moves them while the span is live.
    let shape = store.span_shape_trigger(id);
    let mut shown: Option<Shown> = None;
    let mut dim = false;
    dom::effect(move || {
        shape.track();
        // The trace's end ends the live marker.
        let trace = store.with(|m| match m.span(id).map(|s| &s.trace) {
            Some(Parent::Node(t)) => Some(*t),
            _ => None,
        });
        if let Some(t) = trace {
            store.trace_trigger(t).track();
        }
        let now = store
            .with(|m| {
                let s = m.span(id)?;
                if !(s.kind.is_streamed() || s.stream.is_some()) {
                    return None;
                }
                let trace_running = match s.trace {
                    Parent::Node(t) => m.trace(t).is_none_or(|t| t.status.is_running()),
                    _ => true,
                };
                Some(Shown {
                    live: s.status.is_running() && trace_running && s.interrupted().is_none(),
                    text: timing::stats_text(timing::stream_stats(s.appends(), s.start_ts)),
                })
            })
            .filter(|s| s.live || !s.text.is_empty());
        // The live marker blinks with the clock: a CSS animation restyled it on every frame,
        // and each open stream's marker with it (B9: a third of a millisecond a frame).
        let dim_now = now.as_ref().is_some_and(|s| s.live) && {
            crate::clock::now_tracked();
            (crate::clock::ticks() / BLINK_TICKS) % 2 == 1
        };
        if dim_now != dim {
            if let Some(e) = &els {
                dom::toggle_class(&e.dot, "utp-dim", dim_now);
                dim = dim_now;
            }
        }
        if now == shown {
            return;
        }
        match (&now, &els) {
            (Some(s), _) => {
                let e = els.get_or_insert_with(|| Els::new(&parent));
                dom::toggle_class(&e.root, "utp-hidden", false);
                dom::toggle_class(&e.dot, "utp-hidden", !s.live);
                dom::set_text(&e.words, &s.text);
            }
            (None, Some(e)) => dom::toggle_class(&e.root, "utp-hidden", true),
            (None, None) => {}
        }
        shown = now;
    });
}
