//! Find: a walk over the model in the order the tree shows it, listing the places where a
//! predicate holds (trace names, span titles, texts, JSON keys and values, items, messages),
//! whether or not a view shows them (collapsed, virtualized away, never rendered).
//!
//! The walk is resumable: [`Search::run`] stops when its budget of bytes is spent and carries
//! on from there at the next call, so that a panel can search a large model in slices between
//! frames and drop the search when the query changes. It keeps its own stack (the data never
//! chooses the depth of a Rust stack). Nodes are looked up by id at each step: a node evicted
//! meanwhile is skipped; JSON text is shared (`Arc<str>`), so a value walked over several
//! slices stays the same even if the span's content is replaced.
//!
//! The same walk finds errors ([`Search::errors`]): spans and traces that ended with an error,
//! and `error` spans.

use std::sync::Arc;

use user_trace_protocol::{Content, MessageContent, Part, SpanKind};

use crate::json::{self, JsonKind};
use crate::model::Model;
use crate::node::{RunStatus, Span, SpanId, TraceId};

/// At most this many places are listed (the counter then says "N+").
pub const MAX_FOUND: usize = 100_000;

/// A fixed cost per node or member visited, beside the bytes it looks at.
const NODE_COST: usize = 64;

/// One step into a JSON value: a member's position in its container and its full path
/// (`$.results[2].title`, as the tree view writes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub index: usize,
    pub path: String,
}

/// Where something was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A trace's name, or (when looking for errors) the trace itself.
    Trace(TraceId),
    /// A span's title, or (when looking for errors) the span itself.
    SpanTitle(SpanId),
    /// The text of a text, markdown or error span, or of a conversation's messages.
    SpanText(SpanId),
    /// A key or value in a JSON span: the steps from the top level to its member (none: the
    /// top-level value itself).
    Json { span: SpanId, steps: Vec<Step> },
    /// An item's name or value (anywhere inside it) in an `items` span.
    Item { span: SpanId, index: usize },
}

impl Place {
    /// The span the place is in (none for a trace's name).
    pub fn span(&self) -> Option<SpanId> {
        match self {
            Place::Trace(_) => None,
            Place::SpanTitle(s) | Place::SpanText(s) => Some(*s),
            Place::Json { span, .. } | Place::Item { span, .. } => Some(*span),
        }
    }
}

/// What the walk looks for.
enum Looking<'q> {
    Text(&'q dyn Fn(&str) -> bool),
    Errors,
}

/// A container of a JSON value being walked: its trimmed span in the text, where the next
/// member starts (relative to the container), that member's index, and the step that led
/// into it (none for the top level).
struct Frame {
    start: usize,
    end: usize,
    pos: usize,
    index: usize,
    path: String,
    via: Option<Step>,
}

/// A JSON value part way through.
struct JsonWalk {
    span: SpanId,
    text: Arc<str>,
    stack: Vec<Frame>,
}

enum Task {
    Trace(TraceId),
    Span(SpanId),
    Json(JsonWalk),
}

/// A search in progress: the places found so far, and where to go on.
pub struct Search {
    tasks: Vec<Task>,
    found: Vec<Place>,
    /// More places matched than [`MAX_FOUND`].
    truncated: bool,
    /// Set by [`Search::for_parts`]: the longest text a match can be, in bytes.
    for_parts: Option<usize>,
}

impl Search {
    /// A search of every trace `m` holds (roots in order, then what waits for a parent).
    pub fn new(m: &Model) -> Self {
        let crate::model::Orphans {
            traces: orphan_traces,
            spans: orphan_spans,
        } = m.orphans();
        let mut tasks: Vec<Task> = Vec::new();
        tasks.extend(orphan_spans.into_iter().rev().map(Task::Span));
        tasks.extend(orphan_traces.into_iter().rev().map(Task::Trace));
        let roots: Vec<TraceId> = m.roots().iter().copied().collect();
        tasks.extend(roots.into_iter().rev().map(Task::Trace));
        Search {
            tasks,
            found: Vec::new(),
            truncated: false,
            for_parts: None,
        }
    }

    /// Says that what the search matches holds for a text whenever it holds for a part of it
    /// (as a search for a substring does; an anchored regular expression does not), and that a
    /// match is at most `reach` bytes long: a JSON value whose whole text does not match is then
    /// passed over rather than walked member by member, and a streamed document is read in its
    /// chunks (around their seams too) rather than joined.
    pub fn for_parts(mut self, reach: usize) -> Self {
        self.for_parts = Some(reach);
        self
    }

    /// Places found so far, in the tree's order.
    pub fn found(&self) -> &[Place] {
        &self.found
    }

    /// Whether more matched than were kept.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Whether the walk is over.
    pub fn done(&self) -> bool {
        self.tasks.is_empty() || self.truncated
    }

    /// Walks on, looking for `matches` in every text, until about `budget` bytes were looked
    /// at or the walk is over; returns whether it is over.
    pub fn run(&mut self, m: &Model, matches: &dyn Fn(&str) -> bool, budget: usize) -> bool {
        self.walk(m, &Looking::Text(matches), budget)
    }

    /// Every error in `m`, in the tree's order: traces and spans that ended with an error
    /// ([`Place::Trace`], [`Place::SpanTitle`]) and `error` spans. In one go (it reads no text).
    pub fn errors(m: &Model) -> Vec<Place> {
        let mut s = Search::new(m);
        s.walk(m, &Looking::Errors, usize::MAX);
        s.found
    }

    fn push(&mut self, place: Place) {
        if self.found.len() >= MAX_FOUND {
            self.truncated = true;
        } else {
            self.found.push(place);
        }
    }

    fn walk(&mut self, m: &Model, looking: &Looking, mut budget: usize) -> bool {
        while !self.done() {
            if budget == 0 {
                return false;
            }
            let Some(task) = self.tasks.pop() else { break };
            let cost = match task {
                Task::Trace(id) => self.trace(m, id, looking),
                Task::Span(id) => self.span(m, id, looking),
                Task::Json(walk) => match looking {
                    Looking::Text(f) => self.json(walk, *f, budget),
                    Looking::Errors => 0,
                },
            };
            budget = budget.saturating_sub(cost + NODE_COST);
        }
        true
    }

    fn trace(&mut self, m: &Model, id: TraceId, looking: &Looking) -> usize {
        let Some(t) = m.trace(id) else { return 0 };
        let hit = match looking {
            Looking::Text(f) => f(&t.name),
            Looking::Errors => matches!(t.status, RunStatus::Error(_)),
        };
        if hit {
            self.push(Place::Trace(id));
        }
        self.tasks
            .extend(t.spans.iter().rev().map(|&s| Task::Span(s)));
        t.name.len()
    }

    fn span(&mut self, m: &Model, id: SpanId, looking: &Looking) -> usize {
        let Some(s) = m.span(id) else { return 0 };
        // Child traces come after the span's own content.
        self.tasks
            .extend(s.children.iter().rev().map(|&t| Task::Trace(t)));
        let f = match looking {
            Looking::Errors => {
                if is_error(s) {
                    self.push(Place::SpanTitle(id));
                }
                return 0;
            }
            Looking::Text(f) => *f,
        };
        if s.title.as_deref().is_some_and(f) {
            self.push(Place::SpanTitle(id));
        }
        match &s.content {
            Content::Text(t) => {
                if f(t) {
                    self.push(Place::SpanText(id));
                }
                t.len()
            }
            Content::Error(e) => {
                if f(&e.message) || e.details.as_ref().is_some_and(|d| f(d.get())) {
                    self.push(Place::SpanText(id));
                }
                e.message.len()
            }
            Content::Messages(list) => {
                let mut cost = 0;
                let hit = list.iter().any(|msg| {
                    let mut texts: Vec<&str> = Vec::new();
                    match &msg.content {
                        MessageContent::Text(t) => texts.push(t),
                        MessageContent::Parts(parts) => {
                            texts.extend(parts.iter().map(|p| match p {
                                Part::Text(t) => t.as_str(),
                                Part::Other(raw) => raw.get(),
                            }))
                        }
                    }
                    texts.extend(msg.name.as_deref());
                    for c in &msg.tool_calls {
                        texts.push(&c.name);
                        texts.push(c.arguments.get());
                    }
                    cost += texts.iter().map(|t| t.len()).sum::<usize>();
                    texts.into_iter().any(f)
                });
                if hit {
                    self.push(Place::SpanText(id));
                }
                cost
            }
            Content::Items(items) => {
                let mut cost = 0;
                for (index, item) in items.iter().enumerate() {
                    let value = item.value.get();
                    cost += item.name.len() + value.len();
                    let hit = f(&item.name)
                        || match json::kind(value) {
                            JsonKind::String => f(&json::decode_string(value.trim_ascii())),
                            _ => f(value),
                        };
                    if hit {
                        self.push(Place::Item { span: id, index });
                    }
                }
                cost
            }
            Content::Json(j) => {
                let text = j.text();
                // One look at each part for both (a seam's window holds no escape its parts
                // do not).
                let passed_over = self
                    .for_parts
                    .is_some_and(|reach| !text.any(reach, &mut |part| has_escape(part) || f(part)));
                if passed_over {
                    // Without an escape, every key and value shows as it is in the text: what
                    // the whole does not hold, no member holds, and the walk is not made (most
                    // JSON spans, for most searches).
                    return text.len();
                }
                let (text, range) = j.shared();
                let raw = text.get(range).unwrap_or_default().trim();
                let start = raw.as_ptr() as usize - text.as_ptr() as usize;
                let end = start + raw.len();
                let kind = json::kind(raw);
                if kind.is_container() {
                    self.tasks.push(Task::Json(JsonWalk {
                        span: id,
                        text: text.clone(),
                        stack: vec![Frame {
                            start,
                            end,
                            pos: 0,
                            index: 0,
                            path: "$".to_owned(),
                            via: None,
                        }],
                    }));
                } else if scalar_matches(raw, kind, f) {
                    self.push(Place::Json {
                        span: id,
                        steps: Vec::new(),
                    });
                }
                0
            }
        }
    }

    /// Walks a JSON value's members until `budget` is spent; puts the walk back on the task
    /// stack if it is not over. Returns the bytes looked at.
    fn json(&mut self, mut walk: JsonWalk, f: &dyn Fn(&str) -> bool, budget: usize) -> usize {
        let mut spent = 0;
        while let Some(frame) = walk.stack.last_mut() {
            if spent >= budget {
                self.tasks.push(Task::Json(walk));
                return spent;
            }
            let container = walk.text.get(frame.start..frame.end).unwrap_or("");
            let Some(member) = json::members_from(container, frame.pos).next() else {
                walk.stack.pop();
                continue;
            };
            let value_start = offset_in(container, member.value);
            let frame_start = frame.start;
            frame.pos = value_start + member.value.len();
            let index = frame.index;
            frame.index += 1;
            spent += member.value.len() + member.key.map_or(0, str::len) + NODE_COST;
            let kind = json::kind(member.value);
            let hit = member.key.is_some_and(|k| f(&json::decode_string(k)))
                || (!kind.is_container() && scalar_matches(member.value, kind, f));
            if !hit && !kind.is_container() {
                // Most members: no path is written for them.
                continue;
            }
            let path = format!("{}{}", frame.path, json::path_segment(member.key, index));
            let step = Step { index, path };
            if hit {
                let mut steps: Vec<Step> =
                    walk.stack.iter().filter_map(|fr| fr.via.clone()).collect();
                steps.push(step.clone());
                self.push(Place::Json {
                    span: walk.span,
                    steps,
                });
            }
            if kind.is_container() {
                let start = frame_start + value_start;
                walk.stack.push(Frame {
                    start,
                    end: start + member.value.len(),
                    pos: 0,
                    index: 0,
                    path: step.path.clone(),
                    via: Some(step),
                });
            }
        }
        spent
    }
}

/// Whether a span is an error: it ended with one, or it is an `error` span.
pub fn is_error(s: &Span) -> bool {
    matches!(s.status, RunStatus::Error(_)) || s.kind == SpanKind::Error
}

/// A scalar matches by what it shows: a string decoded, anything else as sent.
fn scalar_matches(raw: &str, kind: JsonKind, f: &dyn Fn(&str) -> bool) -> bool {
    match kind {
        JsonKind::String => f(&json::decode_string(raw.trim_ascii())),
        _ => f(raw.trim_ascii()),
    }
}

/// Whether a JSON text holds an escape. Most of the documents find passes over are a few dozen
/// bytes: read byte by byte, they cost less than a call to `memchr` does in the wasm, where it
/// reads four bytes at a time after aligning (`memchr_aligned` was 11 % of B8's find in a
/// profile; clippy's advice holds for long texts, which take it).
#[allow(clippy::manual_contains)]
fn has_escape(part: &str) -> bool {
    let bytes = part.as_bytes();
    if bytes.len() <= 64 {
        bytes.iter().any(|&b| b == b'\\')
    } else {
        bytes.contains(&b'\\')
    }
}

/// Byte offset of `part` inside `whole` (a slice of it).
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}
