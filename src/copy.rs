//! What the copy buttons put on the clipboard: a span as one JSON object, a trace as JSON
//! Lines of events that import back (the toolbar's Import reads them), and whether a JSON
//! string holds JSON that can be shown as a tree. Pure logic over the model, tested natively.

use user_trace_model::protocol::{writer, RawJson};
use user_trace_model::{Model, Parent, RunStatus, SpanId, TraceId};

/// Span `id` as a JSON object: its ids, kind, title, processes, status, times and content as
/// sent (a JSON document still streaming: the text so far, under `partial`).
pub fn span_json(m: &Model, id: SpanId) -> Option<String> {
    let s = m.span(id)?;
    let mut out = String::from("{\"span\":");
    writer::string(&mut out, &s.key);
    let trace = match &s.trace {
        Parent::Node(t) => m.trace(*t).map(|t| t.key.to_string()),
        Parent::Waiting(k) => Some(k.to_string()),
        Parent::Root => None,
    };
    if let Some(t) = trace {
        out.push_str(",\"trace\":");
        writer::string(&mut out, &t);
    }
    out.push_str(",\"kind\":");
    writer::string(&mut out, s.kind.as_str());
    if let Some(t) = &s.title {
        out.push_str(",\"title\":");
        writer::string(&mut out, t);
    }
    out.push_str(",\"process\":");
    writer::string(&mut out, &s.process);
    if !s.writers().is_empty() {
        out.push_str(",\"writers\":[");
        for (i, w) in s.writers().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            writer::string(&mut out, w);
        }
        out.push(']');
    }
    out.push_str(",\"status\":");
    match &s.status {
        RunStatus::Running => writer::string(&mut out, "running"),
        RunStatus::Ok => writer::string(&mut out, "ok"),
        RunStatus::Error(message) => {
            writer::string(&mut out, "error");
            out.push_str(",\"message\":");
            writer::string(&mut out, message);
        }
    }
    out.push_str(&format!(",\"start_ts\":{}", s.start_ts));
    if let Some(end) = s.end_ts() {
        out.push_str(&format!(",\"end_ts\":{end}"));
    }
    match s.streamed_json() {
        Some((stream, text)) if !stream.done() || stream.error().is_some() => {
            out.push_str(",\"partial\":");
            writer::string(&mut out, &text.whole());
        }
        _ => {
            out.push_str(",\"content\":");
            writer::content(&mut out, &s.content);
        }
    }
    out.push('}');
    Some(out)
}

/// Trace `id` and everything nested in it as JSON Lines of events, one a line, that rebuild
/// it as a root trace when imported (`Model::trace_events`).
pub fn trace_jsonl(m: &Model, id: TraceId) -> String {
    let mut out = String::new();
    for e in m.trace_events(id) {
        writer::event(&mut out, &e);
        out.push('\n');
    }
    out
}

/// Whether a JSON string literal (`raw`, quotes included) reads like an object or an array:
/// a cheap look at its ends, for the tree to offer "view as JSON" (checked when asked).
pub fn looks_like_json_string(raw: &str) -> bool {
    let inner = raw
        .trim()
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or("")
        .trim();
    (inner.starts_with('{') && inner.ends_with('}'))
        || (inner.starts_with('[') && inner.ends_with(']'))
}

/// The JSON a string value holds, if it is an object or an array (what "view as JSON" shows):
/// `decoded` is the string's text, escapes decoded. Invalid JSON says why.
pub fn json_in_string(decoded: &str) -> Option<Result<RawJson, String>> {
    let t = decoded.trim();
    let looks =
        (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']'));
    if !looks {
        return None;
    }
    Some(RawJson::from_string(t.to_owned()).map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use user_trace_model::protocol::decode_event;
    use user_trace_model::Outcome;

    fn model(lines: &[&str]) -> Model {
        let mut m = Model::default();
        let mut out = Outcome::default();
        for (i, l) in lines.iter().enumerate() {
            m.apply(decode_event(i, l).unwrap(), &mut out);
        }
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        m
    }

    #[test]
    fn a_span_is_one_json_object_with_its_content_as_sent() {
        let m = model(&[
            r#"{"id":"1","process":"a@h:1","ts":5,"op":"trace_start","trace":"t","name":"T"}"#,
            r#"{"id":"2","process":"a@h:1","ts":6,"op":"span_create","trace":"t","span":"s","kind":"json","title":"say \"hi\"","content":{"z":1.50,"a":[true]}}"#,
            r#"{"id":"3","process":"a@h:1","ts":9,"op":"span_end","span":"s","status":"error","message":"bad"}"#,
        ]);
        let s = m.span_by_key("s").unwrap();
        let json = span_json(&m, s).unwrap();
        assert_eq!(
            json,
            r#"{"span":"s","trace":"t","kind":"json","title":"say \"hi\"","process":"a@h:1","status":"error","message":"bad","start_ts":6,"end_ts":9,"content":{"z":1.50,"a":[true]}}"#
        );
        // It is JSON.
        assert!(RawJson::from_string(json).is_ok());
    }

    #[test]
    fn a_trace_copies_as_lines_that_decode() {
        let m = model(&[
            r#"{"id":"1","process":"a@h:1","ts":5,"op":"trace_start","trace":"t","name":"T"}"#,
            r#"{"id":"2","process":"a@h:1","ts":6,"op":"span_create","trace":"t","span":"s","kind":"text","content":"hi\n<script>"}"#,
        ]);
        let text = trace_jsonl(&m, m.trace_by_key("t").unwrap());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for (i, l) in lines.iter().enumerate() {
            decode_event(i, l).unwrap();
        }
    }

    #[test]
    fn strings_that_hold_json() {
        assert!(looks_like_json_string(r#""{\"a\":1}""#));
        assert!(looks_like_json_string(r#"" [1] ""#));
        assert!(!looks_like_json_string(r#""{ half""#));
        assert!(!looks_like_json_string("12"));
        assert!(json_in_string(r#" {"a":[1,2]} "#).unwrap().is_ok());
        assert!(json_in_string("[1, 2]").unwrap().is_ok());
        // Near misses: a scalar, plain text, JSON cut short.
        assert!(json_in_string("42").is_none());
        assert!(json_in_string("{not json").is_none());
        assert!(json_in_string(r#"{"a":}"#).unwrap().is_err());
    }
}
