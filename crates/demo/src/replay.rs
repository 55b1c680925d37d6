//! Replaying a JSON Lines file of events into a runtime.

use std::path::Path;
use std::time::Duration;

use user_trace_protocol::{decode_event, Event, Op};
use user_trace_sdk::{Tracer, TracerOptions};

/// Appends `suffix` to every id the event names, so that a replay does not collide with an
/// earlier one of the same file.
fn freshen(event: &mut Event, suffix: &str) {
    let add = |s: &mut String| s.push_str(suffix);
    add(&mut event.id);
    match &mut event.op {
        Op::TraceStart {
            trace, parent_span, ..
        } => {
            add(trace);
            if let Some(p) = parent_span {
                add(p);
            }
        }
        Op::SpanCreate { trace, span, .. } => {
            add(trace);
            add(span);
        }
        Op::TextAppend { span, .. }
        | Op::ContentReplace { span, .. }
        | Op::ItemsSet { span, .. }
        | Op::ItemsAdd { span, .. }
        | Op::MessagesAdd { span, .. }
        | Op::MessageAppend { span, .. }
        | Op::JsonAppend { span, .. }
        | Op::SpanInterrupted { span }
        | Op::SpanEnd { span, .. } => add(span),
        Op::TraceEnd { trace, .. } => add(trace),
        Op::Clear => {}
    }
}

pub async fn run(
    url: &str,
    token: Option<String>,
    file: &Path,
    speed: f64,
    fresh: bool,
) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut events = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match decode_event(n, line) {
            Ok(e) => events.push(e),
            Err(e) => eprintln!("{}:{}: skipped: {}", file.display(), n + 1, e.reason),
        }
    }
    let options = TracerOptions {
        token,
        ..TracerOptions::default()
    };
    let tracer = Tracer::connect_with(url, options)
        .await
        .map_err(|e| e.to_string())?;
    let suffix = format!(
        "~{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let first_ts = events.first().map_or(0, |e| e.ts);
    let start = tokio::time::Instant::now();
    let count = events.len();
    for mut e in events {
        if speed > 0.0 {
            let due = Duration::from_secs_f64(e.ts.saturating_sub(first_ts) as f64 / 1e6 / speed);
            tokio::time::sleep_until(start + due).await;
        }
        if fresh {
            freshen(&mut e, &suffix);
        }
        tracer.send_event(e);
    }
    tracer.flush().await;
    let stats = tracer.stats();
    tracer.close().await;
    println!("sent {count} events ({} refused) to {url}", stats.refused);
    Ok(())
}
