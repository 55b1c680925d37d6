//! Producers: events in over WebSocket (or one batch per HTTP POST), acknowledged per message.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::time::Instant;
use user_trace_protocol::{
    decode_producer, Hello, Limits, ProducerMessage, ProducerReply, PROTOCOL_VERSION,
};

use crate::hub::{Hub, Refused, Slot, Submitted};
use crate::interrupt::{Carried, Interrupts};

/// The first message on a connection whose client may send messages of up to
/// `max_message_bytes` (producers: `--max-message-mib`; panels: their subscribe's limit).
pub fn hello(hub: &Hub, max_message_bytes: usize) -> Hello {
    let model = crate::hub::model_limits();
    let bytes = |n: usize| n as u64;
    Hello {
        protocol: PROTOCOL_VERSION,
        session: hub.session.clone(),
        server: concat!("user-trace-runtime/", env!("CARGO_PKG_VERSION")).into(),
        limits: Some(Limits {
            max_message_bytes: bytes(max_message_bytes),
            max_label_bytes: bytes(model.max_label_bytes),
            max_text_bytes: bytes(model.max_text_bytes),
            max_json_bytes: bytes(model.max_json_bytes),
            max_items: bytes(model.max_items),
        }),
    }
}

/// The reply to a batch that arrives while the server stops. A large batch may have been
/// stored in part: the resend is safe, what was stored of it is dropped as a duplicate.
pub const STOPPING: &str =
    "the server is stopping: the batch was not accepted, send it again (to the next server)";

/// The start of the reply to a batch the store could not keep (same resend rule).
pub const STORAGE_FAILED: &str = "not stored: the batch was not accepted, send it again";

/// The start of the reply to a batch that came after one this connection was told to send
/// again, before that one came again: not taken either, so that the producer's order holds
/// (it starts over from the refused batch, as it does after [`STORAGE_FAILED`]).
pub const NOT_IN_ORDER: &str =
    "not taken: a batch before it on this connection was not accepted, send again from that one";

/// The first event of a producer message, `(process, id)`: what names a batch sent again.
fn first_event(text: &str) -> Option<(String, String)> {
    match decode_producer(text) {
        Ok(ProducerMessage::Events { events }) => match events.into_iter().next() {
            Some(Ok(e)) => Some((e.process, e.id)),
            _ => None,
        },
        Err(_) => None,
    }
}

/// Whether `reply` tells the producer to send its batch again (not accepted, nothing wrong
/// with it).
fn to_send_again(reply: &ProducerReply) -> bool {
    matches!(reply, ProducerReply::Error { close: None, message }
        if message.starts_with(STORAGE_FAILED) || message.starts_with(STOPPING))
}

/// Handles one producer message, on any store, that came on connection `carried` (none: an
/// HTTP POST); the reply to send back.
pub async fn handle(hub: &Hub, text: &str, carried: Option<&Carried>) -> ProducerReply {
    if hub.is_shared() {
        return handle_shared(hub, text, carried).await;
    }
    match decode_producer(text) {
        Ok(ProducerMessage::Events { events }) => {
            hub.interrupts.heard(carried, &events);
            confirm(hub, hub.submit(events)).await
        }
        Err(e) => ProducerReply::Error {
            close: None,
            message: e.to_string(),
        },
    }
}

/// The reply once the store has committed a submitted batch (or refused it).
async fn confirm(hub: &Hub, submitted: Result<Submitted, Refused>) -> ProducerReply {
    match submitted {
        Ok(s) => reply(hub.confirm(s).await),
        Err(e) => reply(Err(e)),
    }
}

/// Messages from this size on are decoded and stored on a blocking thread, not on an async
/// worker: a 13 MiB batch took a worker for hundreds of ms, and connections waiting on it.
const LARGE_MESSAGE: usize = 256 << 10;

/// [`handle`] for a message the caller owns: a large one goes to a blocking thread (it is
/// applied in chunks, each waiting for the store's writer to take the one before).
pub async fn handle_owned<T>(
    hub: &Arc<Hub>,
    text: T,
    carried: Option<&Arc<Carried>>,
) -> ProducerReply
where
    T: std::ops::Deref<Target = str> + Send + 'static,
{
    let text_ref: &str = &text;
    if hub.is_shared() || text_ref.len() < LARGE_MESSAGE {
        return handle(hub, text_ref, carried.map(|c| &**c)).await;
    }
    // Decoding and storing a large message makes copies of it (events, their JSON, the
    // store's): at most two at once, whatever the number of producers sending them.
    let Ok(_permit) = hub.large_messages.acquire().await else {
        return reply(Err(Refused::Stopping));
    };
    let on_thread = hub.clone();
    let carried = carried.cloned();
    let submitted = tokio::task::spawn_blocking(move || {
        decode_producer(&text).map(|ProducerMessage::Events { events }| {
            on_thread.interrupts.heard(carried.as_deref(), &events);
            on_thread.submit(events)
        })
    })
    .await;
    match submitted {
        Ok(Ok(s)) => confirm(hub, s).await,
        Ok(Err(e)) => ProducerReply::Error {
            close: None,
            message: e.to_string(),
        },
        Err(e) => ProducerReply::Error {
            close: None,
            message: format!("the batch could not be handled: {e}"),
        },
    }
}

async fn handle_shared(hub: &Hub, text: &str, carried: Option<&Carried>) -> ProducerReply {
    match decode_producer(text) {
        Ok(ProducerMessage::Events { events }) => {
            hub.interrupts.heard(carried, &events);
            reply(hub.publish(events).await)
        }
        Err(e) => ProducerReply::Error {
            close: None,
            message: e.to_string(),
        },
    }
}

fn reply(result: Result<crate::hub::Accepted, Refused>) -> ProducerReply {
    let a = match result {
        Ok(a) => a,
        Err(Refused::Stopping) => {
            return ProducerReply::Error {
                close: None,
                message: STOPPING.into(),
            }
        }
        Err(Refused::Storage(why)) => {
            return ProducerReply::Error {
                close: None,
                message: format!("{STORAGE_FAILED}: {why}"),
            }
        }
    };
    if !a.rejected.is_empty() {
        tracing::warn!(rejected = a.rejected.len(), first = %a.rejected[0], "events refused");
    }
    ProducerReply::Ack {
        accepted: a.accepted,
        rejected: a.rejected,
    }
}

/// Handles one producer message on the local store (SQLite or memory); the reply to send back.
pub fn handle_text(hub: &Hub, text: &str) -> ProducerReply {
    match decode_producer(text) {
        Ok(ProducerMessage::Events { events }) => reply(hub.accept(events)),
        Err(e) => ProducerReply::Error {
            close: None,
            message: e.to_string(),
        },
    }
}

pub async fn serve(hub: Arc<Hub>, socket: WebSocket, slot: Slot) {
    // The processes this connection carried: when it closes, the spans they left open are
    // reported unless they come back (`crate::interrupt`).
    let carried = Arc::new(Carried::default());
    serve_carrying(&hub, socket, slot, &carried).await;
    Interrupts::left(&hub, &carried);
}

async fn serve_carrying(
    hub: &Arc<Hub>,
    mut socket: WebSocket,
    _slot: Slot,
    carried: &Arc<Carried>,
) {
    let write_timeout = Duration::from_secs(hub.config.write_timeout_secs.max(1));
    let idle = Duration::from_secs(hub.config.idle_timeout_secs.max(1));
    let hello = ProducerReply::Hello(hello(hub, hub.config.max_message_bytes)).to_json();
    if !send_timed(&mut socket, Message::Text(hello.into()), write_timeout).await {
        return;
    }
    let mut stopping = hub.stopping();
    let mut last_heard = Instant::now();
    let mut pinged = false;
    // The first event of a batch this connection was told to send again: until it comes
    // again, the batches already sent after it are not taken either. Taken, they would come
    // before it (a text's appends out of order).
    let mut again: Option<(String, String)> = None;
    loop {
        let ping_at = last_heard + idle * if pinged { 2 } else { 1 };
        let msg = tokio::select! {
            // A stopping server accepts nothing: close before reading more.
            biased;
            _ = stopping.changed() => {
                close(&mut socket, 1001, "the server is stopping: send what was not acknowledged to the next one").await;
                break;
            }
            m = socket.recv() => m,
            _ = tokio::time::sleep_until(ping_at) => {
                if pinged {
                    close(&mut socket, 1001, "no answer to ping").await;
                    break;
                }
                pinged = true;
                if !send_timed(&mut socket, Message::Ping(Vec::new().into()), write_timeout).await {
                    break;
                }
                continue;
            }
        };
        last_heard = Instant::now();
        pinged = false;
        let reply = match msg {
            Some(Ok(Message::Text(text))) => {
                if again.is_some() && first_event(&text) != again {
                    ProducerReply::Error {
                        close: None,
                        message: NOT_IN_ORDER.into(),
                    }
                } else {
                    let reply = handle_owned(hub, text.clone(), Some(carried)).await;
                    again = to_send_again(&reply).then(|| first_event(&text)).flatten();
                    reply
                }
            }
            Some(Ok(Message::Binary(_))) => ProducerReply::Error {
                close: None,
                message: "binary frames are not part of the protocol: send JSON text frames".into(),
            },
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                let (code, reason) = close_reason(&e.to_string(), hub.config.max_message_bytes);
                tracing::warn!(%reason, "producer connection closed");
                // The reason as a message first (PROTOCOL.md), for clients that do not read
                // close frames; then the close.
                let error = ProducerReply::Error {
                    close: Some(code),
                    message: reason.clone(),
                }
                .to_json();
                let _ = send_timed(&mut socket, Message::Text(error.into()), write_timeout).await;
                close(&mut socket, code, &reason).await;
                break;
            }
        };
        if !send_timed(
            &mut socket,
            Message::Text(reply.to_json().into()),
            write_timeout,
        )
        .await
        {
            break;
        }
    }
}

/// Sends a message; false when it failed or took longer than `limit` (a peer not reading).
async fn send_timed(socket: &mut WebSocket, m: Message, limit: Duration) -> bool {
    matches!(
        tokio::time::timeout(limit, socket.send(m)).await,
        Ok(Ok(()))
    )
}

/// Sends a close frame, best effort (a peer that does not read may not get it).
async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}

/// The close code and reason for a read error: 1009 (too big) names the limit; 1007 (invalid
/// payload data) is a text frame that is not UTF-8.
pub fn close_reason(error: &str, limit: usize) -> (u16, String) {
    if error.contains("too long") || error.contains("Space limit") || error.contains("too big") {
        (1009, format!("message over the limit of {limit} bytes"))
    } else if error.contains("UTF-8") {
        (1007, format!("text frames must be UTF-8: {error}"))
    } else {
        (1002, format!("protocol error: {error}"))
    }
}
