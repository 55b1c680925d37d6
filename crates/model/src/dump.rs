//! A canonical text rendering of the tree, for tests and debugging: two models hold the same
//! tree exactly when their dumps are equal.

use std::fmt::Write;

use user_trace_protocol::Content;

use crate::model::Model;
use crate::node::{RunStatus, SpanId, TraceId};

impl Model {
    /// One line per trace and span, indented by depth.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        let roots: Vec<TraceId> = self.roots().iter().copied().collect();
        self.dump_nodes(&mut out, roots.into_iter().map(|t| (Node::Trace(t), 0)));
        let crate::model::Orphans { traces, spans } = self.orphans();
        if !traces.is_empty() || !spans.is_empty() {
            out.push_str("waiting:\n");
        }
        let waiting = traces.into_iter().map(|t| (Node::Trace(t), 1));
        self.dump_nodes(
            &mut out,
            waiting.chain(spans.into_iter().map(|s| (Node::Span(s), 1))),
        );
        out
    }

    /// Writes `nodes` and everything below them, depth first, on a stack of its own (the data
    /// chooses how deep traces nest, so the call stack must not).
    fn dump_nodes(&self, out: &mut String, nodes: impl DoubleEndedIterator<Item = (Node, usize)>) {
        let mut stack: Vec<(Node, usize)> = nodes.rev().collect();
        while let Some((node, depth)) = stack.pop() {
            match node {
                Node::Trace(t) => {
                    self.dump_trace(out, t, depth);
                    if let Some(t) = self.trace(t) {
                        stack.extend(t.spans.iter().rev().map(|&s| (Node::Span(s), depth + 1)));
                    }
                }
                Node::Span(s) => {
                    self.dump_span(out, s, depth);
                    if let Some(s) = self.span(s) {
                        stack.extend(
                            s.children
                                .iter()
                                .rev()
                                .map(|&t| (Node::Trace(t), depth + 1)),
                        );
                    }
                }
            }
        }
    }

    fn dump_trace(&self, out: &mut String, id: TraceId, depth: usize) {
        let Some(t) = self.trace(id) else { return };
        let _ = writeln!(
            out,
            "{}trace {} {:?} [{}] {} @{}..{:?}",
            Indent(depth),
            t.key,
            t.name,
            t.processes.join(","),
            status(&t.status),
            t.start_ts,
            t.end_ts(),
        );
    }

    fn dump_span(&self, out: &mut String, id: SpanId, depth: usize) {
        let Some(s) = self.span(id) else { return };
        let content = match (&s.content, s.stream.as_deref()) {
            (_, Some(st)) if !st.done() || st.error().is_some() => format!(
                "stream {:?}{}{}",
                st.text().whole(),
                if st.done() { " done" } else { "" },
                st.error()
                    .map_or(String::new(), |e| format!(" error {:?}", e.what)),
            ),
            (c, _) => match c {
                Content::Text(t) => format!("{t:?}"),
                Content::Json(j) => j.get().to_owned(),
                other => {
                    let mut json = String::new();
                    user_trace_protocol::writer::content(&mut json, other);
                    json
                }
            },
        };
        let _ = writeln!(
            out,
            "{}span {} {} {:?} by {}+[{}] {} @{}..{:?} = {}",
            Indent(depth),
            s.key,
            s.kind.as_str(),
            s.title,
            s.process,
            s.writers().join(","),
            status(&s.status),
            s.start_ts,
            s.end_ts(),
            content,
        );
    }
}

/// Two spaces per level up to [`MAX_INDENT`] levels, then the level's number: a dump stays
/// linear in the tree's size however deep it nests (and a format width over 65,535 panics).
struct Indent(usize);

const MAX_INDENT: usize = 64;

impl std::fmt::Display for Indent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for _ in 0..self.0.min(MAX_INDENT) {
            f.write_str("  ")?;
        }
        if self.0 > MAX_INDENT {
            write!(f, "<{}> ", self.0)?;
        }
        Ok(())
    }
}

enum Node {
    Trace(TraceId),
    Span(SpanId),
}

fn status(s: &RunStatus) -> String {
    match s {
        RunStatus::Running => "running".into(),
        RunStatus::Ok => "ok".into(),
        RunStatus::Error(m) => format!("error({m:?})"),
    }
}
