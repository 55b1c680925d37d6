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
        for &t in &self.roots {
            self.dump_trace(&mut out, t, 0);
        }
        let (traces, spans) = self.orphans();
        if !traces.is_empty() || !spans.is_empty() {
            out.push_str("waiting:\n");
        }
        for t in traces {
            self.dump_trace(&mut out, t, 1);
        }
        for s in spans {
            self.dump_span(&mut out, s, 1);
        }
        out
    }

    fn dump_trace(&self, out: &mut String, id: TraceId, depth: usize) {
        let Some(t) = self.trace(id) else { return };
        let _ = writeln!(
            out,
            "{:indent$}trace {} {:?} [{}] {} @{}..{:?}",
            "",
            t.key,
            t.name,
            t.processes.join(","),
            status(&t.status),
            t.start_ts,
            t.end_ts,
            indent = depth * 2
        );
        for &s in &t.spans {
            self.dump_span(out, s, depth + 1);
        }
    }

    fn dump_span(&self, out: &mut String, id: SpanId, depth: usize) {
        let Some(s) = self.span(id) else { return };
        let content = match &s.content {
            Content::Text(t) => format!("{t:?}"),
            Content::Json(j) => j.get().to_owned(),
            other => {
                let mut json = String::new();
                user_trace_protocol::writer::content(&mut json, other);
                json
            }
        };
        let _ = writeln!(
            out,
            "{:indent$}span {} {} {:?} by {}+[{}] {} @{}..{:?} = {}",
            "",
            s.key,
            s.kind.as_str(),
            s.title,
            s.process,
            s.writers.join(","),
            status(&s.status),
            s.start_ts,
            s.end_ts,
            content,
            indent = depth * 2
        );
        for &c in &s.children {
            self.dump_trace(out, c, depth + 1);
        }
    }
}

fn status(s: &RunStatus) -> String {
    match s {
        RunStatus::Running => "running".into(),
        RunStatus::Ok => "ok".into(),
        RunStatus::Error(m) => format!("error({m:?})"),
    }
}
