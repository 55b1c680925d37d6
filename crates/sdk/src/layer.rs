//! A `tracing_subscriber::Layer`: a program instrumented with `tracing` shows in the panel.
//!
//! Each tracing span becomes a trace named after the span, holding a name-value span of its
//! fields and a text span of its events (one line each); a span entered inside another becomes
//! a child trace nested in the parent's events span. Events outside any span go to one
//! "events" trace.

use std::fmt::Write;
use std::sync::OnceLock;

use serde_json::Value;
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::handles::{SpanHandle, TraceHandle};
use crate::tracer::Tracer;

/// The layer; see the module docs.
pub struct TraceLayer {
    tracer: Tracer,
    loose: OnceLock<(TraceHandle, SpanHandle)>,
}

impl TraceLayer {
    pub fn new(tracer: Tracer) -> Self {
        TraceLayer {
            tracer,
            loose: OnceLock::new(),
        }
    }
}

struct Handles {
    trace: TraceHandle,
    fields: SpanHandle,
    log: SpanHandle,
}

#[derive(Default)]
struct Fields {
    values: Vec<(String, Value)>,
    message: Option<String>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.values
                .push((field.name().to_owned(), Value::String(text)));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.values
                .push((field.name().to_owned(), Value::String(value.to_owned())));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.values.push((field.name().to_owned(), value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.values.push((field.name().to_owned(), value.into()));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.values.push((field.name().to_owned(), value.into()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.values.push((field.name().to_owned(), value.into()));
    }
}

impl<S> Layer<S> for TraceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let parent_log = span
            .parent()
            .and_then(|p| p.extensions().get::<Handles>().map(|h| h.log.clone()));
        let name = attrs.metadata().name();
        let trace = match parent_log {
            Some(log) => log.child_trace(name),
            None => self.tracer.trace(name),
        };
        let handles = Handles {
            fields: trace.items("fields", fields.values),
            log: trace.text("events", ""),
            trace,
        };
        span.extensions_mut().insert(handles);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        values.record(&mut fields);
        let ext = span.extensions();
        if let Some(h) = ext.get::<Handles>() {
            h.fields.set_items(fields.values);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let mut line = format!(
            "{} {}: {}",
            meta.level(),
            meta.target(),
            fields.message.unwrap_or_default()
        );
        for (k, v) in &fields.values {
            let _ = write!(
                line,
                " {k}={}",
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            );
        }
        line.push('\n');
        let log = ctx
            .event_span(event)
            .and_then(|s| s.extensions().get::<Handles>().map(|h| h.log.clone()));
        match log {
            Some(log) => log.append(&line),
            None => {
                let (_, loose) = self.loose.get_or_init(|| {
                    let t = self.tracer.trace("events");
                    let log = t.text("events", "");
                    (t, log)
                });
                loose.append(&line);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        if let Some(h) = ext.get::<Handles>() {
            h.fields.end();
            h.log.end();
            h.trace.end();
        }
    }
}
