//! An OTLP export request as protocol events: pure, no I/O and no state, so that the same
//! request always gives the same events with the same ids (an exporter's retry is a duplicate,
//! and runtimes sharing one log map it alike). docs/OTEL.md has the table.
//!
//! Each OTel span `S` of trace `T` becomes:
//! - a trace `otel/T/S` named after the span: a root trace for a root span, else nested in
//!   its parent's attributes span (`otel/T/P/2a`), so a span's children are child traces
//!   inside it at any depth. A span that arrives before its parent waits for it (the model
//!   keeps it until the parent's attributes span exists).
//! - in it: other input parts (`1i…`, at the start), the conversation (`1m`, a `messages`
//!   span created at the start, ended, with the output messages, at the end), an `items` span of the
//!   attributes (`2a`, at the start; it holds the children), the output parts (`3o…`, at the
//!   end), the span events (`4e…`, at their time) and, for an error status without an
//!   `exception` event, an error span (`5x`, at the end);
//! - a `trace_end` with the span's status.
//!
//! Spans order by `(ts, id)`: the keys' digits put the input before the attributes at the
//! same start time.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, Span};
use user_trace_protocol::{Content, ErrorContent, Event, Item, Op, RawJson, SpanKind, Status};

use super::genai::{self, clip, Body, Part};
use super::json;

/// The attribute Logfire sets on every span it makes; `pending_span` on the twin it exports
/// when a span starts (same name and attributes, a fresh span id, the real span as parent).
pub const LOGFIRE_SPAN_TYPE: &str = "logfire.span_type";
/// On a pending span: the real span's parent (16 zeros for a root span).
pub const LOGFIRE_PENDING_PARENT: &str = "logfire.pending_parent_id";

/// Longest trace name, title or item name made here (the model allows 4096 bytes).
const MAX_LABEL: usize = 1024;

/// Spans a request's events are reserved for at most (exporters send 512 by default).
const RESERVE_SPANS: usize = 4096;

/// The events of a request and where each came from.
#[derive(Debug, Default)]
pub struct Mapped {
    pub events: Vec<Event>,
    /// For each event, the index of its OTel span in the request (in request order).
    pub span_of: Vec<u32>,
    /// How many OTel spans the request holds.
    pub spans: usize,
    /// Spans that could not be mapped (invalid ids), by index, with the reason.
    pub refused: Vec<(usize, String)>,
}

/// Maps a request; `now_us` stands in for a span without any timestamp.
pub fn map_request(req: &ExportTraceServiceRequest, now_us: u64) -> Mapped {
    let mut m = Mapped::default();
    // Three events for a span without GenAI content: reserved once, not grown by doubling.
    // Capped: an empty span is two bytes of protobuf, and it may map to nothing.
    let spans: usize = (req.resource_spans.iter())
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    let guess = spans.min(RESERVE_SPANS) * 3;
    m.events.reserve(guess);
    m.span_of.reserve(guess);
    for rs in &req.resource_spans {
        let process = process_name(rs.resource.as_ref());
        for ss in &rs.scope_spans {
            let scope = ss.scope.as_ref().map_or("", |s| s.name.as_str());
            for s in &ss.spans {
                let index = m.spans;
                m.spans += 1;
                let mut out = Out {
                    events: &mut m.events,
                    span_of: &mut m.span_of,
                    process: &process,
                    index: index as u32,
                };
                let before = out.events.len();
                if let Err(reason) = map_span(&mut out, s, scope, now_us) {
                    // Nothing of a refused span is sent.
                    m.events.truncate(before);
                    m.span_of.truncate(before);
                    m.refused.push((index, reason));
                }
            }
        }
    }
    m
}

/// `service.name`, with `@host.name` and `:process.pid` when present: the protocol's process.
pub fn process_name(resource: Option<&Resource>) -> String {
    let attrs = resource.map_or(&[][..], |r| &r.attributes[..]);
    let get = |key: &str| {
        attrs
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| json::text(kv.value.as_ref()))
            .filter(|s| !s.is_empty())
    };
    let mut name = get("service.name").unwrap_or_else(|| "unknown_service".into());
    if let Some(host) = get("host.name") {
        name.push('@');
        name.push_str(&host);
    }
    if let Some(pid) = get("process.pid") {
        name.push(':');
        name.push_str(&pid);
    }
    clip(&name, 256).to_owned()
}

struct Out<'a> {
    events: &'a mut Vec<Event>,
    span_of: &'a mut Vec<u32>,
    process: &'a str,
    index: u32,
}

impl Out<'_> {
    fn push(&mut self, id: String, ts: u64, op: Op) {
        self.events.push(Event {
            id,
            process: self.process.to_owned(),
            ts,
            op,
        });
        self.span_of.push(self.index);
    }

    /// A span made complete: `text` spans are ended at once, or they would read as running.
    fn part(&mut self, trace: &str, key: String, ts: u64, title: &str, body: Body) {
        let (kind, content) = match body {
            Body::Text(t) => (SpanKind::Text, Content::Text(t)),
            Body::Json(j) => (SpanKind::Json, Content::Json(j)),
        };
        let textual = kind.is_textual();
        self.push(
            key.clone(),
            ts,
            Op::SpanCreate {
                trace: trace.to_owned(),
                span: key.clone(),
                kind,
                title: Some(clip(title, MAX_LABEL).to_owned()),
                content,
                source: None,
            },
        );
        if textual {
            self.push(
                format!("{key}/e"),
                ts,
                Op::SpanEnd {
                    span: key,
                    status: Status::Ok,
                },
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    json::hex_into(&mut s, bytes);
    s
}

fn is_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

fn string_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        }
    })
}

/// Nanoseconds to the protocol's microseconds.
fn micros(ns: u64) -> u64 {
    ns / 1000
}

fn map_span(out: &mut Out<'_>, s: &Span, scope: &str, now_us: u64) -> Result<(), String> {
    if s.trace_id.len() != 16 || is_zero(&s.trace_id) {
        return Err(format!(
            "trace_id must be 16 bytes, not all zero (got {} bytes)",
            s.trace_id.len()
        ));
    }
    if s.span_id.len() != 8 || is_zero(&s.span_id) {
        return Err(format!(
            "span_id must be 8 bytes, not all zero (got {} bytes)",
            s.span_id.len()
        ));
    }
    if !s.parent_span_id.is_empty() && s.parent_span_id.len() != 8 {
        return Err(format!(
            "parent_span_id must be empty or 8 bytes (got {} bytes)",
            s.parent_span_id.len()
        ));
    }
    let tid = hex(&s.trace_id);
    let span_type = string_attr(&s.attributes, LOGFIRE_SPAN_TYPE);
    // (the span shown, its parent, whether this is its end)
    let (sid, parent, ended) = if span_type == Some("pending_span") {
        // Stands for its parent, the real span, which has not ended yet.
        if s.parent_span_id.is_empty() || is_zero(&s.parent_span_id) {
            return Err(
                "a pending span (logfire.span_type = pending_span) needs its real span as parent"
                    .into(),
            );
        }
        let real_parent = string_attr(&s.attributes, LOGFIRE_PENDING_PARENT)
            .filter(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| format!("a pending span needs {LOGFIRE_PENDING_PARENT}: 16 hex digits"))?
            .to_ascii_lowercase();
        let parent = (real_parent != "0000000000000000").then_some(real_parent);
        (hex(&s.parent_span_id), parent, false)
    } else {
        let parent = (!s.parent_span_id.is_empty() && !is_zero(&s.parent_span_id))
            .then(|| hex(&s.parent_span_id));
        (hex(&s.span_id), parent, true)
    };
    let base = format!("otel/{tid}/{sid}");
    let start = match (s.start_time_unix_nano, s.end_time_unix_nano) {
        (0, 0) => now_us,
        (0, end) => micros(end),
        (start, _) => micros(start),
    };
    let end = micros(s.end_time_unix_nano).max(start);
    let name = if s.name.is_empty() {
        "(unnamed span)"
    } else {
        clip(&s.name, MAX_LABEL)
    };
    out.push(
        format!("{base}/t"),
        start,
        Op::TraceStart {
            trace: base.clone(),
            name: name.to_owned(),
            parent_span: parent.map(|p| format!("otel/{tid}/{p}/2a")),
            source: None,
        },
    );

    let g = genai::read(&s.attributes);
    for (n, p) in g.input.into_iter().enumerate() {
        out.part(&base, format!("{base}/1i{n:06}"), start, &p.title, p.body);
    }
    // The conversation: one `messages` span, the input at the start, the output at the end.
    let conversation = format!("{base}/1m");
    let talks = !g.input_messages.is_empty() || !g.output_messages.is_empty();
    let mut output_messages = g.output_messages;
    if talks {
        let mut messages = g.input_messages;
        // A span that ends here, and that no pending twin announced: one create holds all.
        if ended && span_type.is_none() {
            messages.append(&mut output_messages);
        }
        out.push(
            conversation.clone(),
            start,
            Op::SpanCreate {
                trace: base.clone(),
                span: conversation.clone(),
                kind: SpanKind::Messages,
                title: Some("conversation".into()),
                content: Content::Messages(messages),
                source: None,
            },
        );
    }
    let mut items = g.summary;
    for (kv, consumed) in s.attributes.iter().zip(&g.consumed) {
        if *consumed || kv.key == LOGFIRE_SPAN_TYPE || kv.key == LOGFIRE_PENDING_PARENT {
            continue;
        }
        items.push(Item {
            name: clip(&kv.key, MAX_LABEL).to_owned(),
            value: json::value(kv.value.as_ref()),
        });
    }
    let kind = match span::SpanKind::try_from(s.kind) {
        Ok(span::SpanKind::Server) => Some("server"),
        Ok(span::SpanKind::Client) => Some("client"),
        Ok(span::SpanKind::Producer) => Some("producer"),
        Ok(span::SpanKind::Consumer) => Some("consumer"),
        _ => None,
    };
    if let Some(kind) = kind {
        items.push(Item {
            name: "span.kind".into(),
            value: RawJson::from_value(kind),
        });
    }
    if !scope.is_empty() {
        items.push(Item {
            name: "otel.scope.name".into(),
            value: RawJson::from_value(clip(scope, MAX_LABEL)),
        });
    }
    let host = format!("{base}/2a");
    // A span that Logfire may have announced with a pending twin: the twin made the attributes
    // span (the create here is then a duplicate); the end's attributes replace the start's.
    let refresh = (ended && span_type.is_some()).then(|| items.clone());
    out.push(
        host.clone(),
        start,
        Op::SpanCreate {
            trace: base.clone(),
            span: host.clone(),
            kind: SpanKind::Items,
            title: Some("attributes".into()),
            content: Content::Items(items),
            source: None,
        },
    );
    if !ended {
        return Ok(());
    }
    if let Some(items) = refresh {
        out.push(
            format!("{host}/f"),
            end,
            Op::ItemsSet {
                span: host.clone(),
                items,
            },
        );
    }
    if talks {
        if !output_messages.is_empty() {
            out.push(
                format!("{conversation}/o"),
                end,
                Op::MessagesAdd {
                    span: conversation.clone(),
                    messages: output_messages,
                },
            );
        }
        out.push(
            format!("{conversation}/e"),
            end,
            Op::SpanEnd {
                span: conversation,
                status: Status::Ok,
            },
        );
    }
    for (n, p) in g.output.into_iter().enumerate() {
        out.part(&base, format!("{base}/3o{n:06}"), end, &p.title, p.body);
    }
    let mut exception: Option<String> = None;
    for (n, e) in s.events.iter().enumerate() {
        let key = format!("{base}/4e{n:06}");
        let ts = micros(e.time_unix_nano).clamp(start, end);
        if e.name == "exception" {
            let content = exception_content(&e.attributes);
            exception.get_or_insert_with(|| content.message.clone());
            out.push(
                key.clone(),
                ts,
                Op::SpanCreate {
                    trace: base.clone(),
                    span: key,
                    kind: SpanKind::Error,
                    title: Some("exception".into()),
                    content: Content::Error(content),
                    source: None,
                },
            );
            continue;
        }
        event_span(out, &base, key, ts, e);
    }
    let code = s.status.as_ref().map_or(0, |st| st.code);
    let status = if code == status::StatusCode::Error as i32 {
        let given = s.status.as_ref().map_or("", |st| st.message.as_str());
        let message = match (&exception, given.is_empty()) {
            (_, false) => given.to_owned(),
            (Some(e), true) => e.clone(),
            (None, true) => "error".to_owned(),
        };
        if exception.is_none() {
            let key = format!("{base}/5x");
            out.push(
                key.clone(),
                end,
                Op::SpanCreate {
                    trace: base.clone(),
                    span: key,
                    kind: SpanKind::Error,
                    title: Some("status".into()),
                    content: Content::Error(ErrorContent {
                        message: message.clone(),
                        details: None,
                    }),
                    source: None,
                },
            );
        }
        Status::Error { message }
    } else {
        Status::Ok
    };
    out.push(
        format!("{base}/te"),
        end,
        Op::TraceEnd {
            trace: base,
            status,
        },
    );
    Ok(())
}

/// An `exception` event: `type: message` as the message, the other attributes (the stack
/// above all) as details.
fn exception_content(attrs: &[KeyValue]) -> ErrorContent {
    let ty = string_attr(attrs, "exception.type").filter(|t| !t.is_empty());
    let msg = string_attr(attrs, "exception.message").filter(|t| !t.is_empty());
    let message = match (ty, msg) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (Some(x), None) | (None, Some(x)) => x.to_owned(),
        (None, None) => "exception".to_owned(),
    };
    let rest: Vec<&KeyValue> = attrs
        .iter()
        .filter(|kv| kv.key != "exception.message")
        .collect();
    let details = (!rest.is_empty()).then(|| {
        let mut text = String::from("{");
        for (i, kv) in rest.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            let key = kv.key.strip_prefix("exception.").unwrap_or(&kv.key);
            user_trace_protocol::writer::string(&mut text, key);
            text.push(':');
            text.push_str(json::value(kv.value.as_ref()).get());
        }
        text.push('}');
        RawJson::from_string(text).unwrap_or_else(|_| RawJson::null())
    });
    ErrorContent { message, details }
}

/// Another span event: its GenAI content as parts (`gen_ai.content.prompt` and the like), else
/// its attributes as items titled with its name.
fn event_span(out: &mut Out<'_>, trace: &str, key: String, ts: u64, e: &span::Event) {
    let g = genai::read(&e.attributes);
    let parts: Vec<Part> = g.input.into_iter().chain(g.output).collect();
    let mut messages = g.input_messages;
    messages.extend(g.output_messages);
    if !parts.is_empty() || !messages.is_empty() {
        if !messages.is_empty() {
            let title = if e.name.is_empty() {
                "conversation"
            } else {
                clip(&e.name, MAX_LABEL)
            };
            let span = format!("{key}m");
            out.push(
                span.clone(),
                ts,
                Op::SpanCreate {
                    trace: trace.to_owned(),
                    span: span.clone(),
                    kind: SpanKind::Messages,
                    title: Some(title.to_owned()),
                    content: Content::Messages(messages),
                    source: None,
                },
            );
            out.push(
                format!("{span}/e"),
                ts,
                Op::SpanEnd {
                    span,
                    status: Status::Ok,
                },
            );
        }
        for (m, p) in parts.into_iter().enumerate() {
            out.part(trace, format!("{key}p{m:04}"), ts, &p.title, p.body);
        }
        return;
    }
    let mut items = g.summary;
    for (kv, consumed) in e.attributes.iter().zip(&g.consumed) {
        if !consumed {
            items.push(Item {
                name: clip(&kv.key, MAX_LABEL).to_owned(),
                value: json::value(kv.value.as_ref()),
            });
        }
    }
    let title = if e.name.is_empty() {
        "event"
    } else {
        clip(&e.name, MAX_LABEL)
    };
    out.push(
        key.clone(),
        ts,
        Op::SpanCreate {
            trace: trace.to_owned(),
            span: key,
            kind: SpanKind::Items,
            title: Some(title.to_owned()),
            content: Content::Items(items),
            source: None,
        },
    );
}

/// An attribute value from a string (for tests and callers building requests).
pub fn string_value(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::StringValue(s.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
    use user_trace_model::{Model, Outcome};

    const T: [u8; 16] = [0xab; 16];

    fn sid(n: u8) -> Vec<u8> {
        vec![0, 0, 0, 0, 0, 0, 0, n]
    }
    fn kv(key: &str, v: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: string_value(v),
            key_strindex: 0,
        }
    }
    fn span(id: u8, parent: Option<u8>, name: &str, start: u64, end: u64) -> Span {
        Span {
            trace_id: T.to_vec(),
            span_id: sid(id),
            parent_span_id: parent.map(sid).unwrap_or_default(),
            name: name.into(),
            start_time_unix_nano: start * 1000,
            end_time_unix_nano: end * 1000,
            ..Span::default()
        }
    }
    fn resource(service: &str) -> Option<Resource> {
        Some(Resource {
            attributes: vec![
                kv("service.name", service),
                kv("host.name", "box"),
                KeyValue {
                    key: "process.pid".into(),
                    value: Some(AnyValue {
                        value: Some(Value::IntValue(42)),
                    }),
                    key_strindex: 0,
                },
            ],
            ..Resource::default()
        })
    }
    fn request(groups: Vec<(&str, Vec<Span>)>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: groups
                .into_iter()
                .map(|(service, spans)| ResourceSpans {
                    resource: resource(service),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "lib".into(),
                            ..InstrumentationScope::default()
                        }),
                        spans,
                        ..ScopeSpans::default()
                    }],
                    ..ResourceSpans::default()
                })
                .collect(),
        }
    }
    /// Applies `events` to `model`; the refusals.
    fn apply(model: &mut Model, events: Vec<Event>) -> Vec<String> {
        let mut out = Outcome::default();
        let mut refused = Vec::new();
        for e in events {
            out.clear();
            model.apply(e, &mut out);
            refused.extend(out.rejected.drain(..).map(|r| r.reason));
        }
        refused
    }
    fn dump(req: &ExportTraceServiceRequest) -> String {
        let m = map_request(req, 1);
        assert!(m.refused.is_empty(), "{:?}", m.refused);
        let mut model = Model::default();
        let refused = apply(&mut model, m.events);
        assert!(refused.is_empty(), "{refused:?}");
        model.dump()
    }

    const ROOT: &str = "otel/abababababababababababababababab/0000000000000001";
    const CHILD: &str = "otel/abababababababababababababababab/0000000000000002";

    #[test]
    fn a_tree_nests_children_in_their_parents_attributes_at_any_order() {
        let mut root = span(1, None, "agent run", 100, 900);
        root.attributes = vec![kv("user", "ann"), kv("payload", r#"{"a":[1,2]}"#)];
        let child = span(2, Some(1), "step", 200, 300);
        let grandchild = span(3, Some(2), "leaf", 210, 220);
        // Children first, as exporters send them (a span is exported when it ends).
        let req = request(vec![("svc", vec![grandchild, child, root])]);
        let text = dump(&req);
        let expected = format!(
            r#"trace {ROOT} "agent run" [svc@box:42] ok @100..Some(900)
  span {ROOT}/2a items Some("attributes") by svc@box:42+[] running @100..None = [{{"name":"user","value":"ann"}},{{"name":"payload","value":{{"a":[1,2]}}}},{{"name":"otel.scope.name","value":"lib"}}]
    trace {CHILD} "step" [svc@box:42] ok @200..Some(300)
      span {CHILD}/2a items Some("attributes") by svc@box:42+[] running @200..None = [{{"name":"otel.scope.name","value":"lib"}}]
        trace otel/abababababababababababababababab/0000000000000003 "leaf" [svc@box:42] ok @210..Some(220)
          span otel/abababababababababababababababab/0000000000000003/2a items Some("attributes") by svc@box:42+[] running @210..None = [{{"name":"otel.scope.name","value":"lib"}}]
"#
        );
        assert_eq!(text, expected);
        // The same tree whatever the order the spans come in.
        let mut spans = req.resource_spans[0].scope_spans[0].spans.clone();
        spans.reverse();
        assert_eq!(dump(&request(vec![("svc", spans)])), expected);
    }

    #[test]
    fn a_child_before_its_parent_waits_then_attaches() {
        let mut model = Model::default();
        let child = map_request(
            &request(vec![("svc", vec![span(2, Some(1), "c", 2, 3)])]),
            0,
        );
        assert!(apply(&mut model, child.events).is_empty());
        assert!(model.dump().contains("waiting:"), "{}", model.dump());
        let root = map_request(&request(vec![("svc", vec![span(1, None, "r", 1, 4)])]), 0);
        assert!(apply(&mut model, root.events).is_empty());
        let d = model.dump();
        assert!(!d.contains("waiting:"), "{d}");
        assert!(d.contains(&format!("    trace {CHILD} \"c\"")), "{d}");
    }

    #[test]
    fn two_services_in_one_trace_are_two_processes() {
        let req = request(vec![
            ("frontend", vec![span(1, None, "GET /", 1, 10)]),
            ("backend", vec![span(2, Some(1), "query", 2, 5)]),
        ]);
        let d = dump(&req);
        assert!(d.contains(r#""GET /" [frontend@box:42] ok"#), "{d}");
        assert!(d.contains(r#""query" [backend@box:42] ok"#), "{d}");
        // Inside the root trace.
        assert!(d.lines().nth(2).is_some_and(|l| l.contains("query")), "{d}");
    }

    #[test]
    fn an_error_status_and_exception_events_become_error_content() {
        let mut failed = span(1, None, "call", 1, 9);
        failed.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
            message: "".into(),
            code: status::StatusCode::Error as i32,
        });
        failed.events = vec![span::Event {
            time_unix_nano: 5000,
            name: "exception".into(),
            attributes: vec![
                kv("exception.type", "ValueError"),
                kv("exception.message", "bad input"),
                kv("exception.stacktrace", "Traceback:\n  line 1"),
            ],
            dropped_attributes_count: 0,
        }];
        let d = dump(&request(vec![("svc", vec![failed])]));
        assert!(
            d.contains(r#""call" [svc@box:42] error("ValueError: bad input")"#),
            "{d}"
        );
        assert!(
            d.contains(r#"error Some("exception") by svc@box:42+[] running @5..None = {"message":"ValueError: bad input","details":{"type":"ValueError","stacktrace":"Traceback:\n  line 1"}}"#),
            "{d}"
        );
        // No second error span for the status: the exception says it.
        assert_eq!(d.matches(" error Some(").count(), 1, "{d}");

        // Without an exception event, the status makes the error span.
        let mut failed = span(1, None, "call", 1, 9);
        failed.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
            message: "timeout".into(),
            code: status::StatusCode::Error as i32,
        });
        let d = dump(&request(vec![("svc", vec![failed])]));
        assert!(d.contains(r#"error("timeout")"#), "{d}");
        assert!(
            d.contains(r#"/5x error Some("status") by svc@box:42+[] running @9..None = {"message":"timeout"}"#),
            "{d}"
        );
        // An OK status is not an error.
        let mut fine = span(1, None, "call", 1, 9);
        fine.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
            message: "ignored".into(),
            code: status::StatusCode::Ok as i32,
        });
        let d = dump(&request(vec![("svc", vec![fine])]));
        assert!(
            d.contains(r#""call" [svc@box:42] ok"#) && !d.contains("error"),
            "{d}"
        );
    }

    #[test]
    fn a_chat_span_shows_its_conversation_beside_its_attributes() {
        let mut chat = span(1, None, "chat gpt-4o", 10, 20);
        chat.attributes = vec![
            kv("gen_ai.request.model", "gpt-4o"),
            kv(
                "gen_ai.input.messages",
                r#"[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]"#,
            ),
            kv(
                "gen_ai.output.messages",
                r#"[{"role":"assistant","parts":[{"type":"text","content":"Hello!"}],"finish_reason":"stop"}]"#,
            ),
        ];
        let req = request(vec![("svc", vec![chat])]);
        // One create holds the whole conversation, one end completes it.
        let ops: Vec<&str> = map_request(&req, 0)
            .events
            .iter()
            .map(|e| e.op.name())
            .collect();
        assert_eq!(
            ops,
            [
                "trace_start",
                "span_create",
                "span_create",
                "span_end",
                "trace_end"
            ]
        );
        assert_eq!(
            dump(&req),
            format!(
                r#"trace {ROOT} "chat gpt-4o" [svc@box:42] ok @10..Some(20)
  span {ROOT}/1m messages Some("conversation") by svc@box:42+[] ok @10..Some(20) = [{{"role":"user","content":"Hi"}},{{"role":"assistant","content":"Hello!"}}]
  span {ROOT}/2a items Some("attributes") by svc@box:42+[] running @10..None = [{{"name":"model","value":"gpt-4o"}},{{"name":"finish reasons","value":["stop"]}},{{"name":"otel.scope.name","value":"lib"}}]
"#
            )
        );
    }

    #[test]
    fn a_pending_chat_shows_its_prompt_streaming_then_its_answer() {
        let prompt = kv(
            "gen_ai.input.messages",
            r#"[{"role":"user","content":"Hi"}]"#,
        );
        let mut pending = span(9, Some(1), "chat", 100, 100);
        pending.attributes = vec![
            kv("logfire.span_type", "pending_span"),
            kv("logfire.pending_parent_id", "0000000000000000"),
            prompt.clone(),
        ];
        let mut model = Model::default();
        let m = map_request(&request(vec![("svc", vec![pending])]), 0);
        assert!(apply(&mut model, m.events).is_empty());
        let d = model.dump();
        assert!(
            d.contains(r#"/1m messages Some("conversation") by svc@box:42+[] running @100..None = [{"role":"user","content":"Hi"}]"#),
            "{d}"
        );
        let mut done = span(1, None, "chat", 100, 500);
        done.attributes = vec![
            kv("logfire.span_type", "span"),
            prompt,
            kv(
                "gen_ai.output.messages",
                r#"[{"role":"assistant","content":"Hello"}]"#,
            ),
        ];
        let m = map_request(&request(vec![("svc", vec![done])]), 0);
        assert!(apply(&mut model, m.events).is_empty());
        let d = model.dump();
        assert!(
            d.contains(r#"/1m messages Some("conversation") by svc@box:42+[] ok @100..Some(500) = [{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]"#),
            "{d}"
        );
    }

    #[test]
    fn a_pending_span_shows_running_and_its_final_span_completes_it() {
        let mut model = Model::default();
        let mut pending = span(9, Some(1), "long job", 100, 100);
        pending.attributes = vec![
            kv("logfire.span_type", "pending_span"),
            kv("logfire.pending_parent_id", "0000000000000000"),
            kv("step", "starting"),
        ];
        let m = map_request(&request(vec![("svc", vec![pending.clone()])]), 0);
        assert!(apply(&mut model, m.events).is_empty());
        // A child that ended while the job runs attaches at once.
        let child = map_request(
            &request(vec![("svc", vec![span(2, Some(1), "step 1", 110, 120)])]),
            0,
        );
        assert!(apply(&mut model, child.events).is_empty());
        let d = model.dump();
        assert!(
            d.starts_with(&format!(
                "trace {ROOT} \"long job\" [svc@box:42] running @100..None"
            )),
            "{d}"
        );
        assert!(
            d.contains(r#"{"name":"step","value":"starting"}"#) && !d.contains("logfire"),
            "{d}"
        );
        assert!(
            d.contains(&format!("    trace {CHILD} \"step 1\"")) && !d.contains("waiting"),
            "{d}"
        );

        let mut done = span(1, None, "long job", 100, 500);
        done.attributes = vec![kv("logfire.span_type", "span"), kv("step", "finished")];
        let m = map_request(&request(vec![("svc", vec![done])]), 0);
        assert!(apply(&mut model, m.events).is_empty());
        let d = model.dump();
        assert!(
            d.starts_with(&format!(
                "trace {ROOT} \"long job\" [svc@box:42] ok @100..Some(500)"
            )),
            "{d}"
        );
        assert!(
            d.contains(r#"{"name":"step","value":"finished"}"#) && !d.contains("starting"),
            "{d}"
        );
        // The pending twin again (an exporter's retry) changes nothing.
        let m = map_request(&request(vec![("svc", vec![pending])]), 0);
        assert!(apply(&mut model, m.events).is_empty());
        assert_eq!(model.dump(), d);
    }

    #[test]
    fn a_retry_is_a_duplicate() {
        let req = request(vec![("svc", vec![span(1, None, "r", 1, 2)])]);
        let mut model = Model::default();
        let first = map_request(&req, 0);
        let again = map_request(&req, 0);
        assert_eq!(first.events, again.events);
        assert!(apply(&mut model, first.events).is_empty());
        let d = model.dump();
        let mut out = Outcome::default();
        for e in again.events {
            model.apply(e, &mut out);
        }
        assert!(out.rejected.is_empty());
        assert_eq!(out.duplicates, 3);
        assert_eq!(model.dump(), d);
    }

    #[test]
    fn invalid_ids_refuse_only_their_span() {
        let mut bad_trace = span(1, None, "a", 1, 2);
        bad_trace.trace_id = vec![0; 16];
        let mut short_span = span(2, None, "b", 1, 2);
        short_span.span_id = vec![1, 2, 3];
        let mut bad_parent = span(3, None, "c", 1, 2);
        bad_parent.parent_span_id = vec![1; 4];
        let mut pending_without_parent = span(4, Some(5), "d", 1, 1);
        pending_without_parent.attributes = vec![kv("logfire.span_type", "pending_span")];
        let good = span(6, None, "fine", 1, 2);
        let m = map_request(
            &request(vec![(
                "svc",
                vec![
                    bad_trace,
                    short_span,
                    bad_parent,
                    pending_without_parent,
                    good,
                ],
            )]),
            0,
        );
        assert_eq!(m.spans, 5);
        let refused: Vec<usize> = m.refused.iter().map(|r| r.0).collect();
        assert_eq!(refused, [0, 1, 2, 3]);
        assert!(m.refused[0].1.contains("trace_id"), "{:?}", m.refused);
        assert!(
            m.refused[1].1.contains("span_id must be 8 bytes"),
            "{:?}",
            m.refused
        );
        assert!(
            m.refused[3].1.contains("logfire.pending_parent_id"),
            "{:?}",
            m.refused
        );
        assert!(m.span_of.iter().all(|&s| s == 4));
        assert_eq!(m.events.len(), 3);
    }

    #[test]
    fn names_and_timestamps_are_made_safe() {
        let mut s = span(1, None, "", 0, 0);
        s.attributes = vec![kv(&"k".repeat(5000), "v")];
        let m = map_request(&request(vec![("svc", vec![s])]), 77);
        assert!(m.events.iter().all(|e| e.ts == 77));
        let mut model = Model::default();
        assert!(apply(&mut model, m.events).is_empty());
        assert!(model.dump().contains("\"(unnamed span)\""));
        // End before start is read as an instant.
        let m = map_request(&request(vec![("svc", vec![span(1, None, "x", 50, 10)])]), 0);
        assert!(m.events.iter().all(|e| e.ts == 50));
    }

    #[test]
    fn process_names() {
        assert_eq!(process_name(resource("a").as_ref()), "a@box:42");
        assert_eq!(process_name(None), "unknown_service");
        let only = Resource {
            attributes: vec![kv("service.name", "b"), kv("process.pid", "7")],
            ..Resource::default()
        };
        assert_eq!(process_name(Some(&only)), "b:7");
    }

    #[test]
    fn other_events_are_items_at_their_time() {
        let mut s = span(1, None, "x", 10, 20);
        s.events = vec![span::Event {
            time_unix_nano: 15_000,
            name: "cache miss".into(),
            attributes: vec![kv("key", "k1")],
            dropped_attributes_count: 0,
        }];
        let d = dump(&request(vec![("svc", vec![s])]));
        assert!(
            d.contains(r#"/4e000000 items Some("cache miss") by svc@box:42+[] running @15..None = [{"name":"key","value":"k1"}]"#),
            "{d}"
        );
    }
}
