//! Panels: hello, subscribe (resume or snapshot), then live events in batched frames.
//!
//! Events are gathered for `--batch-ms` or up to `--batch-bytes` per frame: a browser pays per
//! message. A panel whose queue overflows is sent a fresh snapshot instead of what it missed;
//! producers and other panels never wait for it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::Instant;
use user_trace_protocol::{decode_panel, PanelMessage, ServerMessage};

use crate::hub::{Hub, PanelSlot, Published, Start};
use crate::ingest::hello;

/// Builds an `events` frame from already serialized events, without re-encoding them.
pub fn events_frame(events: &[Arc<Published>]) -> String {
    let first_seq = events.first().map_or(0, |p| p.seq);
    let len: usize = events.iter().map(|p| p.json.len() + 1).sum();
    let mut s = String::with_capacity(len + 48);
    s.push_str(r#"{"type":"events","first_seq":"#);
    s.push_str(&first_seq.to_string());
    s.push_str(r#","events":["#);
    for (i, p) in events.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&p.json);
    }
    s.push_str("]}");
    s
}

/// How a panel wants its frames: text, or binary frames of the same UTF-8 JSON.
#[derive(Clone, Copy)]
struct Frames {
    binary: bool,
}

async fn send(socket: &mut WebSocket, text: String, frames: Frames) -> bool {
    let message = if frames.binary {
        Message::Binary(text.into_bytes().into())
    } else {
        Message::Text(text.into())
    };
    socket.send(message).await.is_ok()
}

const TEXT: Frames = Frames { binary: false };

/// Sends already published events in frames of at most `max_bytes`.
async fn send_events(
    socket: &mut WebSocket,
    events: &[Arc<Published>],
    max_bytes: usize,
    frames: Frames,
) -> bool {
    let mut start = 0;
    while start < events.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < events.len() && (end == start || bytes + events[end].json.len() < max_bytes) {
            bytes += events[end].json.len() + 1;
            end += 1;
        }
        if !send(socket, events_frame(&events[start..end]), frames).await {
            return false;
        }
        start = end;
    }
    true
}

async fn start(
    socket: &mut WebSocket,
    start: Start,
    max_bytes: usize,
    frames: Frames,
) -> Option<u64> {
    match start {
        Start::Resume(events) => {
            let last = events.last().map(|p| p.seq);
            send_events(socket, &events, max_bytes, frames)
                .await
                .then_some(last.unwrap_or(0))
        }
        Start::Snapshot { seq, frame } => send(socket, frame, frames).await.then_some(seq),
    }
}

pub async fn serve(hub: Arc<Hub>, mut socket: WebSocket, _slot: PanelSlot) {
    let hello = ServerMessage::<user_trace_protocol::Event>::Hello(hello(&hub)).to_json();
    if !send(&mut socket, hello, TEXT).await {
        return;
    }
    // The first message must be a subscribe.
    let subscribe = tokio::time::timeout(Duration::from_secs(10), socket.recv()).await;
    let (session, last_seq, frames) = match subscribe {
        Ok(Some(Ok(Message::Text(t)))) => match decode_panel(t.as_str()) {
            Ok(PanelMessage::Subscribe {
                session,
                last_seq,
                binary,
            }) => (session, last_seq, Frames { binary }),
            Err(e) => {
                let msg = ServerMessage::<user_trace_protocol::Event>::Error {
                    message: e.to_string(),
                };
                let _ = send(&mut socket, msg.to_json(), TEXT).await;
                return;
            }
        },
        _ => return,
    };
    let (begin, mut rx) = hub.subscribe(session.as_deref(), last_seq);
    let resumed_from = last_seq.unwrap_or(0);
    let Some(mut sent) = start(&mut socket, begin, hub.config.batch_bytes, frames).await else {
        return;
    };
    if sent == 0 {
        sent = resumed_from.min(hub.head());
    }
    tracing::info!(session = ?session, last_seq = ?last_seq, from = sent, "panel subscribed");

    let batch_time = Duration::from_millis(hub.config.batch_ms);
    let max_bytes = hub.config.batch_bytes;
    let mut stopping = hub.stopping();
    let mut batch: Vec<Arc<Published>> = Vec::new();
    loop {
        // Wait for the first event of a batch, or for the panel to go away.
        let first = tokio::select! {
            r = rx.recv() => r,
            m = socket.recv() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
            _ = stopping.changed() => return,
        };
        let mut lagged = false;
        match first {
            Ok(p) if p.seq > sent => batch.push(p),
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => lagged = true,
            Err(RecvError::Closed) => return,
        }
        // Gather more until the deadline or the size bound.
        let deadline = Instant::now() + batch_time;
        let mut bytes: usize = batch.iter().map(|p| p.json.len()).sum();
        while !lagged && bytes < max_bytes {
            match rx.try_recv() {
                Ok(p) if p.seq > sent => {
                    bytes += p.json.len();
                    batch.push(p);
                }
                Ok(_) => {}
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(TryRecvError::Closed) => return,
                Err(TryRecvError::Empty) => {
                    if Instant::now() >= deadline {
                        break;
                    }
                    tokio::select! {
                        r = rx.recv() => match r {
                            Ok(p) if p.seq > sent => { bytes += p.json.len(); batch.push(p); }
                            Ok(_) => {}
                            Err(RecvError::Lagged(_)) => lagged = true,
                            Err(RecvError::Closed) => return,
                        },
                        _ = tokio::time::sleep_until(deadline) => break,
                    }
                }
            }
        }
        if lagged {
            // Too slow to keep up: what it missed is gone from its queue; start it over.
            tracing::warn!(sent, "slow panel: resyncing from a snapshot");
            batch.clear();
            let (begin, new_rx) = hub.resync();
            rx = new_rx;
            match start(&mut socket, begin, max_bytes, frames).await {
                Some(seq) => sent = seq,
                None => return,
            }
            continue;
        }
        if batch.is_empty() {
            continue;
        }
        if !send(&mut socket, events_frame(&batch), frames).await {
            return;
        }
        sent = batch.last().map_or(sent, |p| p.seq);
        batch.clear();
    }
}
