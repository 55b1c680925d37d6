//! The background task: batches events, sends them, reconnects, resends what was not
//! acknowledged. The runtime drops duplicates, so resending is always safe.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use user_trace_protocol::{Event, ProducerMessage, ProducerReply};

use crate::tracer::{Stats, TracerOptions};

pub enum Sink {
    WebSocket(String),
    File(PathBuf),
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(url: &str, token: Option<&str>) -> Result<Ws, String> {
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some(t) = token {
        let value = format!("Bearer {t}")
            .parse()
            .map_err(|_| "the token is not a valid header value")?;
        req.headers_mut().insert("authorization", value);
    }
    // Without Nagle's algorithm: a small batch or ack is sent now, not after the peer's
    // delayed ACK (up to ~40 ms; see the runtime's fan-out benchmark).
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true)
        .await
        .map_err(|e| e.to_string())?;
    // The server speaks first: its hello.
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<ProducerReply>(t.as_str()) {
            Ok(ProducerReply::Hello(h)) if h.protocol == user_trace_protocol::PROTOCOL_VERSION => {
                Ok(ws)
            }
            Ok(ProducerReply::Hello(h)) => {
                let why = format!(
                    "the runtime speaks protocol {}, this SDK speaks {}",
                    h.protocol,
                    user_trace_protocol::PROTOCOL_VERSION
                );
                // PROTOCOL.md: a client refuses another version with this close code.
                let frame = CloseFrame {
                    code: CloseCode::from(user_trace_protocol::CLOSE_OTHER_VERSION),
                    reason: why.clone().into(),
                };
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(Some(frame))).await;
                Err(why)
            }
            _ => Err(format!("unexpected first message: {t}")),
        },
        _ => Err("no hello from the runtime".into()),
    }
}

/// Checks that the runtime can be reached now.
/// Whether one of the URLs (comma-separated) can be reached now.
pub async fn probe(url: &str, token: Option<&str>) -> Result<(), String> {
    let mut last = String::from("no URL given");
    for u in url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        match open(u, token).await {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{u}: {e}"),
        }
    }
    Err(last)
}

/// The `events` message of a batch.
fn message(events: &[Event]) -> String {
    ProducerMessage::events_json(events)
}

/// Counts an event that will never be sent as refused (and acknowledged, so that `flush`
/// returns), saying why on stderr as the runtime's refusals are.
fn refuse(event: &Event, reason: &str, progress: &watch::Sender<Stats>) {
    eprintln!(
        "user-trace-sdk: event {:?} was not sent: {reason}",
        event.id
    );
    progress.send_modify(|s| {
        s.acked += 1;
        s.refused += 1;
    });
}

/// Splits a batch whose message would be over `max` bytes into messages under it. An event
/// over it on its own is refused here: the runtime would close the connection on it, and
/// resending it would block every event after it.
fn split(batch: Vec<Event>, max: usize, progress: &watch::Sender<Stats>) -> Vec<Vec<Event>> {
    const ENVELOPE: usize = r#"{"type":"events","events":[]}"#.len();
    let mut parts = Vec::new();
    let mut part = Vec::new();
    let mut bytes = ENVELOPE;
    for event in batch {
        let len = event.to_json().len() + 1;
        if len.saturating_add(ENVELOPE) > max {
            let reason = format!(
                "it is {len} bytes, over the message limit of {max} bytes (the runtime's \
                 --max-message-bytes, TracerOptions::max_message_bytes)"
            );
            refuse(&event, &reason, progress);
            continue;
        }
        if bytes + len > max && !part.is_empty() {
            parts.push(std::mem::take(&mut part));
            bytes = ENVELOPE;
        }
        bytes += len;
        part.push(event);
    }
    if !part.is_empty() {
        parts.push(part);
    }
    parts
}

/// The runtime closed the connection with 1009 (too big) on the oldest message not yet
/// acknowledged (its limit is below ours): halve that message, or refuse its only event.
fn too_big(unacked: &mut VecDeque<Vec<Event>>, reason: &str, progress: &watch::Sender<Stats>) {
    let Some(mut batch) = unacked.pop_front() else {
        return;
    };
    if batch.len() > 1 {
        let second = batch.split_off(batch.len() / 2);
        unacked.push_front(second);
        unacked.push_front(batch);
    } else if let Some(event) = batch.first() {
        refuse(
            event,
            &format!("the runtime refused it: {reason}"),
            progress,
        );
    }
}

/// Gathers events for up to `batch_time`, or `batch_events` of them.
async fn gather(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    first: Event,
    options: &TracerOptions,
) -> Vec<Event> {
    let mut batch = vec![first];
    let deadline = Instant::now() + options.batch_time;
    while batch.len() < options.batch_events {
        tokio::select! {
            e = rx.recv() => match e { Some(e) => batch.push(e), None => break },
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    batch
}

pub async fn run(
    sink: Sink,
    options: TracerOptions,
    rx: mpsc::UnboundedReceiver<Event>,
    progress: watch::Sender<Stats>,
) {
    match sink {
        Sink::File(path) => record(path, rx, progress).await,
        Sink::WebSocket(url) => stream(url, options, rx, progress).await,
    }
}

async fn record(
    path: PathBuf,
    mut rx: mpsc::UnboundedReceiver<Event>,
    progress: watch::Sender<Stats>,
) {
    let Ok(file) = std::fs::OpenOptions::new().append(true).open(&path) else {
        return;
    };
    let mut file = file;
    while let Some(e) = rx.recv().await {
        let mut line = e.to_json();
        line.push('\n');
        // One write per line: several tracers may record into one file (O_APPEND).
        let _ = file.write_all(line.as_bytes());
        progress.send_modify(|s| s.acked += 1);
    }
}

async fn stream(
    url: String,
    options: TracerOptions,
    mut rx: mpsc::UnboundedReceiver<Event>,
    progress: watch::Sender<Stats>,
) {
    // Sent but not yet acknowledged, one entry per message, oldest first.
    let mut unacked: VecDeque<Vec<Event>> = VecDeque::new();
    let mut backoff = Duration::from_millis(50);
    let mut closed = false;
    let urls: Vec<&str> = url.split(',').filter(|u| !u.trim().is_empty()).collect();
    let mut next_url = 0;
    let mut refused_batch = false;
    loop {
        if closed && unacked.is_empty() {
            return;
        }
        if refused_batch {
            refused_batch = false;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(options.max_backoff);
        }
        // Several URLs (comma-separated): the next one after a failure, round the list.
        let url = urls[next_url % urls.len()].trim();
        let mut ws = match open(url, options.token.as_deref()).await {
            Ok(ws) => ws,
            Err(_) => {
                next_url += 1;
                if next_url % urls.len() == 0 {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(options.max_backoff);
                }
                continue;
            }
        };
        backoff = Duration::from_millis(50);
        progress.send_modify(|s| s.connections += 1);
        // Resend what the previous connection left unacknowledged, in order.
        let mut ok = true;
        // A send failed: read what the runtime still says (acks, and why it closed: a 1009
        // close names a message over its limit) before reconnecting.
        let mut draining = false;
        for batch in &unacked {
            let text = message(batch);
            if ws.send(Message::Text(text.into())).await.is_err() {
                draining = true;
                break;
            }
        }
        while ok {
            tokio::select! {
                e = rx.recv(), if !closed && !draining => match e {
                    Some(first) => {
                        let batch = gather(&mut rx, first, &options).await;
                        let text = message(&batch);
                        let max = options.max_message_bytes;
                        let messages = if text.len() <= max {
                            vec![(batch, text)]
                        } else {
                            split(batch, max, &progress)
                                .into_iter()
                                .map(|part| {
                                    let text = message(&part);
                                    (part, text)
                                })
                                .collect()
                        };
                        for (part, text) in messages {
                            unacked.push_back(part);
                            if !draining && ws.send(Message::Text(text.into())).await.is_err() {
                                draining = true;
                            }
                        }
                    }
                    None => closed = true,
                },
                m = ws.next() => match m {
                    Some(Ok(Message::Text(t))) => {
                        match serde_json::from_str(t.as_str()) {
                            Ok(ProducerReply::Ack { accepted, rejected }) => {
                                let _ = accepted;
                                if let Some(batch) = unacked.pop_front() {
                                    let n = batch.len() as u64;
                                    for r in &rejected {
                                        eprintln!("user-trace-sdk: the runtime refused an event: {r}");
                                    }
                                    progress.send_modify(|s| {
                                        s.acked += n;
                                        s.refused += rejected.len() as u64;
                                    });
                                }
                            }
                            // A message over the runtime's limit (its limit is below ours):
                            // halve it instead of sending it again whole; the close follows.
                            Ok(ProducerReply::Error { message, close: Some(1009) }) => {
                                too_big(&mut unacked, &message, &progress);
                                ok = false;
                            }
                            // The oldest unacknowledged batch was not accepted (the server is
                            // stopping, or could not store it): start over from it, in order,
                            // after a pause. Batches after it that were accepted meanwhile
                            // are resent too and dropped by the runtime as duplicates.
                            Ok(ProducerReply::Error { message, .. }) => {
                                eprintln!("user-trace-sdk: the runtime did not accept a batch, sending it again: {message}");
                                refused_batch = true;
                                ok = false;
                            }
                            _ => {}
                        }
                    }
                    Some(Ok(Message::Close(Some(frame)))) if u16::from(frame.code) == 1009 => {
                        too_big(&mut unacked, &frame.reason, &progress);
                        ok = false;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => ok = false,
                    Some(Ok(_)) => {}
                },
                _ = tokio::time::sleep(Duration::from_secs(5)), if draining => ok = false,
            }
            if closed && unacked.is_empty() {
                let _ = ws.close(None).await;
                return;
            }
        }
        // The connection ended: with several URLs, try the next one first.
        next_url += 1;
    }
}
