//! Reveal: bring one place of the model on screen, however it is hidden: its ancestors
//! expanded, the virtualized lists on the way mounted where it is, JSON containers and pages
//! opened down to its member, then scrolled to the middle of the tree and highlighted.
//!
//! [`reveal`] is the one way in for everything that goes to a place (find's matches, "next
//! error", a host's `reveal(source)`). It works from the model, not the DOM: the chain of
//! traces and spans from the root to the place, and the place's index in each list. A
//! virtualized list mounts rows only once the observer says they are near (a frame later), so
//! the reveal goes one level per frame: it scrolls to the block (or group) that holds the next
//! node, waits for it to mount, and goes on, for at most [`MAX_FRAMES`] frames. What it cannot
//! reach (a trace past the depth cap, a list the filter hides) leaves the deepest node it
//! reached highlighted.

use crate::reactive::*;
use user_trace_model::search::{Place, Step};
use user_trace_model::{Model, Parent, SpanId, TraceId};
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::dom;
use crate::filter::Filter;
use crate::views::PanelCx;
use crate::windowing::{BLOCK, GROUP};

/// Frames a reveal may take (each mounts one level of virtualized list, or waits for one).
const MAX_FRAMES: u32 = 90;

/// The class of the highlighted place (one at a time in a tree).
pub const FOUND: &str = "utp-found";
/// The scroller's attribute naming its reveal in progress: a reveal goes on over frames, and
/// one that a newer reveal or a dropped search replaced must not highlight its place after.
const REVEAL: &str = "data-reveal";

/// Reveals made so far, which name them.
static REVEALS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Stops the reveal in progress in `scroller`, if any (its search was dropped).
pub fn cancel(scroller: &Element) {
    let _ = scroller.remove_attribute(REVEAL);
}

/// One node on the way to a place.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hop {
    Trace(TraceId),
    Span(SpanId),
    /// An item row of an `items` span (the span is the hop before).
    Item(usize),
}

/// The hops from the tree's root level down to `place`'s node, and its index in the list it is
/// in (`None`: a list that is not virtualized, as the orphans and a span's child traces are).
fn chain(m: &Model, place: &Place, filter: &Filter) -> Vec<(Hop, Option<usize>)> {
    let mut up: Vec<(Hop, Option<usize>)> = Vec::new();
    let mut trace = match place {
        Place::Trace(t) => Some(*t),
        _ => None,
    };
    if let Some(span) = place.span() {
        if let Place::Item { index, .. } = place {
            up.push((Hop::Item(*index), Some(*index)));
        }
        let s = m.span(span);
        trace = match s.map(|s| &s.trace) {
            Some(Parent::Node(t)) => Some(*t),
            _ => None,
        };
        let index = trace
            .and_then(|t| m.trace(t))
            .and_then(|t| t.spans.iter().position(|&x| x == span));
        up.push((Hop::Span(span), index));
    }
    while let Some(t) = trace {
        match m.trace(t).map(|x| &x.parent) {
            Some(Parent::Node(s)) => {
                up.push((Hop::Trace(t), None));
                let s = *s;
                let parent = match m.span(s).map(|x| &x.trace) {
                    Some(Parent::Node(p)) => Some(*p),
                    _ => None,
                };
                let index = parent
                    .and_then(|p| m.trace(p))
                    .and_then(|p| p.spans.iter().position(|&x| x == s));
                up.push((Hop::Span(s), index));
                trace = parent;
            }
            Some(Parent::Root) => {
                let index = m
                    .roots()
                    .iter()
                    .filter(|&&r| filter.is_empty() || filter.matches(m, r))
                    .position(|&r| r == t);
                up.push((Hop::Trace(t), index));
                trace = None;
            }
            // Waiting for its parent: in the orphans' list, not virtualized.
            _ => {
                up.push((Hop::Trace(t), None));
                trace = None;
            }
        }
    }
    up.reverse();
    up
}

/// Brings `place` on screen in the tree `scroller` and highlights it (see the module's docs).
/// Returns at once; the reveal goes on over the next frames.
pub fn reveal(cx: PanelCx, scroller: &Element, place: Place) {
    let PanelCx {
        store,
        filter,
        follow,
        ..
    } = cx;
    if follow.get_untracked() {
        follow.set(false);
    }
    let hops = store.with(|m| chain(m, &place, &filter.get_untracked()));
    if hops.is_empty() {
        return;
    }
    // The tree may be rooted at a nested trace: from there if it is on the way, else all.
    if let Some(root) = store.rooted_untracked() {
        if !hops.iter().any(|(h, _)| *h == Hop::Trace(root)) {
            store.show_all();
        }
    }
    // Every trace on the way is expanded (the target trace itself need not be).
    for (i, (hop, _)) in hops.iter().enumerate() {
        if let Hop::Trace(t) = hop {
            if i + 1 < hops.len() {
                store.reveal_trace(*t);
            }
        }
    }
    let steps = match &place {
        Place::Json { steps, .. } => steps.clone(),
        _ => Vec::new(),
    };
    let text = matches!(place, Place::SpanText(_) | Place::Json { .. });
    let id = (REVEALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1).to_string();
    dom::set(scroller, REVEAL, &id);
    let job = Job {
        id,
        scroller: scroller.clone(),
        hops,
        steps,
        text,
    };
    step(job, 0, 0);
}

struct Job {
    /// The reveal's [`REVEAL`] while it is the scroller's current one.
    id: String,
    scroller: Element,
    hops: Vec<(Hop, Option<usize>)>,
    /// Into the JSON value of the last hop (a span).
    steps: Vec<Step>,
    /// The place is in the span's content, not its header.
    text: bool,
}

fn step(job: Job, frame: u32, settled: u32) {
    request_animation_frame(move || {
        let current = job.scroller.get_attribute(REVEAL).as_deref() == Some(job.id.as_str());
        if !current || !dom::document().contains(Some(&job.scroller)) {
            return;
        }
        // The deepest hop already in the DOM, looked up from the top each frame (lists
        // unmount and remount rows).
        let mut at: Option<(usize, Element)> = None;
        let mut within = job.scroller.clone();
        for (i, (hop, _)) in job.hops.iter().enumerate() {
            let Some(e) = find(&within, *hop) else { break };
            within = e.clone();
            at = Some((i, e));
        }
        let last = job.hops.len() - 1;
        match at {
            Some((i, el)) if i == last => {
                let target = target_of(&el, job.hops[last].0, &job.steps, job.text);
                highlight(&job.scroller, &target);
                center(&job.scroller, &target);
                // Rows above it may still measure and move it: center it again a few times.
                if settled < 3 {
                    step(job, frame + 1, settled + 1);
                }
            }
            _ if frame >= MAX_FRAMES => {
                if let Some((i, el)) = at {
                    let target = target_of(&el, job.hops[i].0, &[], false);
                    highlight(&job.scroller, &target);
                    center(&job.scroller, &target);
                }
            }
            _ => {
                let (container, next) = match &at {
                    Some((i, el)) => (list_of(el, job.hops[*i].0), i + 1),
                    None => (Some(job.scroller.clone()), 0),
                };
                if let (Some(list), (_, Some(index))) = (container, job.hops[next]) {
                    bring_near(&job.scroller, &list, index);
                }
                step(job, frame + 1, 0);
            }
        }
    });
}

/// The element of `hop` inside `within`.
fn find(within: &Element, hop: Hop) -> Option<Element> {
    let selector = match hop {
        Hop::Trace(t) => format!("[data-trace=\"{}\"]", t.as_u64()),
        Hop::Span(s) => format!("[data-span=\"{}\"]", s.as_u64()),
        Hop::Item(i) => format!("[data-item=\"{i}\"]"),
    };
    within.query_selector(&selector).ok().flatten()
}

/// The element that holds the virtualized list below `hop`'s element: a trace's spans, an
/// items span's rows; none for a span's child traces (all mounted).
fn list_of(el: &Element, hop: Hop) -> Option<Element> {
    let selector = match hop {
        Hop::Trace(_) => ":scope > .utp-spans",
        Hop::Span(_) => ".utp-items",
        Hop::Item(_) => return None,
    };
    el.query_selector(selector).ok().flatten()
}

/// Scrolls to the block of `list` that holds row `index` (or its group, while the group is
/// one empty element): the observer then mounts it.
fn bring_near(scroller: &Element, list: &Element, index: usize) {
    let groups = dom::select_all(list, ":scope > .utp-group");
    let Some(group) = groups.get(index / (BLOCK * GROUP)) else {
        return;
    };
    let blocks = dom::select_all(group, ":scope > .utp-block");
    let near = blocks.get((index / BLOCK) % GROUP).unwrap_or(group);
    center(scroller, near);
}

/// What to highlight in the element of the last hop: a trace's header, a span's header or
/// content, an item's row, a JSON member's row (its containers and pages opened).
fn target_of(el: &Element, hop: Hop, steps: &[Step], text: bool) -> Element {
    let part = |selector: &str| el.query_selector(selector).ok().flatten();
    let found = match hop {
        Hop::Trace(_) => part(":scope > .utp-trace-header"),
        Hop::Item(_) => None,
        Hop::Span(_) if !steps.is_empty() => open_json(el, steps),
        Hop::Span(_) if text => part(":scope > .utp-span-content"),
        Hop::Span(_) => part(":scope > .utp-span-header"),
    };
    found.unwrap_or_else(|| el.clone())
}

/// Opens a span's JSON tree down to the member `steps` lead to; its row (or the deepest row
/// reached: a container past the depth cap opens only on request).
fn open_json(span: &Element, steps: &[Step]) -> Option<Element> {
    let mut row = span.query_selector("[data-path=\"$\"]").ok().flatten()?;
    for step in steps {
        expand(&row);
        let mut group = row.next_element_sibling()?;
        row = loop {
            if let Some(r) = child_row(&group, |r| {
                r.get_attribute("data-path").as_deref() == Some(&step.path)
            }) {
                break r;
            }
            // A large container's pages: the one that holds the index.
            let page = child_row(&group, |r| {
                let bound =
                    |name: &str| r.get_attribute(name).and_then(|v| v.parse::<usize>().ok());
                matches!((bound("data-first"), bound("data-last")), (Some(a), Some(b)) if (a..=b).contains(&step.index))
            });
            let Some(page) = page else {
                return Some(row);
            };
            expand(&page);
            group = page.next_element_sibling()?;
        };
    }
    Some(row)
}

/// The row among `group`'s children (a row, or a node whose first child is its row) that
/// `pick` chooses.
fn child_row(group: &Element, pick: impl Fn(&Element) -> bool) -> Option<Element> {
    let rows = ":scope > .utp-json-row, :scope > .utp-json-node > .utp-json-row";
    dom::select_all(group, rows).into_iter().find(|r| pick(r))
}

/// Expands a collapsed JSON row (as a click does; its children are built at once).
fn expand(row: &Element) {
    if row.get_attribute("aria-expanded").as_deref() == Some("false") {
        if let Some(r) = row.dyn_ref::<web_sys::HtmlElement>() {
            r.click();
        }
    }
}

/// Marks `el` as the place found (and no other element of the tree), for the eye and, as
/// the current place (`aria-current`), for a screen reader.
fn highlight(scroller: &Element, el: &Element) {
    if let Ok(Some(old)) = scroller.query_selector(&format!(".{FOUND}")) {
        if old != *el {
            dom::toggle_class(&old, FOUND, false);
            let _ = old.remove_attribute("aria-current");
        }
    }
    dom::toggle_class(el, FOUND, true);
    dom::set(el, "aria-current", "true");
}

/// Scrolls `scroller` so that `el` is in the middle of it (or its top, if taller). Only
/// vertically: rows wrap rather than widen the tree.
fn center(scroller: &Element, el: &Element) {
    let s = scroller.get_bounding_client_rect();
    let r = el.get_bounding_client_rect();
    let room = (s.height() - r.height()).max(0.0) / 2.0;
    let by = r.top() - s.top() - room;
    scroller.set_scroll_top(scroller.scroll_top() + by.round() as i32);
}
