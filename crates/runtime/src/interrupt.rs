//! Spans a producer left open (issue 17, item 5): when the last connection that carried a
//! process's events closes, and no event of that process arrives within the grace period
//! (`--interrupt-grace-ms`), the runtime reports each span that process was writing into, that is
//! still open and that no process still connected writes into, with a `span_interrupted` event of
//! its own (protocol 1.2). The producer resuming in time (any event of it, on any connection or
//! POST) cancels the report; a later write to the span, or its end, clears it in the model.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use user_trace_protocol::message::EventResult;
use user_trace_protocol::{Event, Op, RUNTIME_PROCESS};

use crate::hub::Hub;

/// The processes whose events one producer connection carried.
pub type Carried = Mutex<BTreeSet<Box<str>>>;

/// Where each process's connections are.
#[derive(Default)]
struct Presence {
    /// Open connections that carried its events.
    connections: usize,
    /// Goes up with each of its batches: a report scheduled before it is void.
    generation: u64,
}

pub struct Interrupts {
    grace: Duration,
    presence: Mutex<HashMap<Box<str>, Presence>>,
    /// Numbers the runtime's own events (with the start time, their ids never repeat).
    next: AtomicU64,
    started: u64,
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Interrupts {
    /// Reports after `grace` (zero: never).
    pub fn new(grace: Duration) -> Self {
        Interrupts {
            grace,
            presence: Mutex::default(),
            next: AtomicU64::new(0),
            started: now_micros(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<str>, Presence>> {
        self.presence.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A batch arrived, on connection `carried` (none: an HTTP POST): its processes are present
    /// (a report waiting for one of them is cancelled). Called before the batch is applied, so
    /// that a report never lands after the producer's next write.
    pub fn heard(&self, carried: Option<&Carried>, events: &[EventResult]) {
        let mut presence = self.lock();
        let mut carried = carried.map(|c| c.lock().unwrap_or_else(|p| p.into_inner()));
        let mut last: Option<&str> = None;
        for e in events.iter().flatten() {
            // A batch is usually one process's: look it up once.
            if last == Some(e.process.as_str()) {
                continue;
            }
            last = Some(&e.process);
            match carried.as_mut() {
                Some(c) => {
                    let entry = presence.entry(e.process.as_str().into()).or_default();
                    entry.generation += 1;
                    if c.insert(e.process.as_str().into()) {
                        entry.connections += 1;
                    }
                }
                // A POST carries no connection: it only voids a report waiting for its process,
                // and leaves no entry behind (a new process name per request must not grow it).
                None => {
                    if let Some(entry) = presence.get_mut(e.process.as_str()) {
                        entry.generation += 1;
                    }
                }
            }
        }
    }

    fn present(&self, process: &str) -> bool {
        self.lock().get(process).is_some_and(|p| p.connections > 0)
    }

    /// A producer connection closed: each process it carried that has no other connection is
    /// reported after the grace period unless it comes back.
    pub fn left(hub: &Arc<Hub>, carried: &Carried) {
        let this = &hub.interrupts;
        let processes = std::mem::take(&mut *carried.lock().unwrap_or_else(|p| p.into_inner()));
        let mut gone = Vec::new();
        {
            let mut presence = this.lock();
            for p in processes {
                if let Some(entry) = presence.get_mut(&p) {
                    entry.connections = entry.connections.saturating_sub(1);
                    if entry.connections == 0 {
                        if this.grace.is_zero() {
                            // Never reported: nothing more to remember of it.
                            presence.remove(&p);
                        } else {
                            gone.push((p, entry.generation));
                        }
                    }
                }
            }
        }
        for (process, generation) in gone {
            let hub = hub.clone();
            tokio::spawn(async move {
                tokio::time::sleep(hub.interrupts.grace).await;
                let back = {
                    let mut presence = hub.interrupts.lock();
                    let back = presence
                        .get(&process)
                        .is_none_or(|p| p.connections > 0 || p.generation != generation);
                    if !back {
                        // Nothing more to remember of it (it comes back as new).
                        presence.remove(&process);
                    }
                    back
                };
                if !back {
                    report(&hub, &process).await;
                }
            });
        }
    }
}

/// Reports the open spans `process` was writing into that no process still present writes into.
async fn report(hub: &Arc<Hub>, process: &str) {
    let this = &hub.interrupts;
    let spans = hub.open_spans(&|creator, writers| {
        let wrote = creator == process || writers.iter().any(|w| &**w == process);
        wrote && !this.present(creator) && !writers.iter().any(|w| this.present(w))
    });
    if spans.is_empty() {
        return;
    }
    let ts = now_micros();
    let events: Vec<EventResult> = spans
        .into_iter()
        .map(|span| {
            let n = this.next.fetch_add(1, Ordering::Relaxed);
            Ok(Event {
                id: format!("interrupted:{}:{n}", this.started),
                process: RUNTIME_PROCESS.into(),
                ts,
                op: Op::SpanInterrupted { span },
            })
        })
        .collect();
    tracing::info!(
        process,
        spans = events.len(),
        "producer gone: spans interrupted"
    );
    let result = if hub.is_shared() {
        hub.publish(events).await
    } else {
        match hub.submit(events) {
            Ok(s) => hub.confirm(s).await,
            Err(e) => Err(e),
        }
    };
    if result.is_err() {
        tracing::warn!(process, "the report of interrupted spans was not stored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use user_trace_protocol::decode_event;

    fn batch(processes: std::ops::Range<u32>) -> Vec<EventResult> {
        processes
            .map(|i| {
                let text = format!(
                    r#"{{"id":"e","process":"p{i}","ts":1,"op":"trace_start","trace":"t{i}","name":"n"}}"#
                );
                decode_event(0, &text)
            })
            .collect()
    }

    /// Memory stays bounded: POSTs from a thousand process names leave nothing behind, and a
    /// connection's processes are forgotten when it closes if reports are off.
    #[test]
    fn presence_keeps_only_processes_with_a_connection() {
        let interrupts = Interrupts::new(Duration::ZERO);
        interrupts.heard(None, &batch(0..1000));
        assert!(interrupts.lock().is_empty());
        let carried = Carried::default();
        interrupts.heard(Some(&carried), &batch(0..3));
        assert_eq!(interrupts.lock().len(), 3);
        assert!(interrupts.present("p1"));
        // A POST for a process on a connection keeps it present.
        interrupts.heard(None, &batch(1..2));
        assert!(interrupts.present("p1"));
    }
}
