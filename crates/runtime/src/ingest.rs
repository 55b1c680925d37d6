//! Producers: events in over WebSocket (or one batch per HTTP POST), acknowledged per message.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use user_trace_protocol::{
    decode_producer, Hello, ProducerMessage, ProducerReply, PROTOCOL_VERSION,
};

use crate::hub::Hub;

pub fn hello(hub: &Hub) -> Hello {
    Hello {
        protocol: PROTOCOL_VERSION,
        session: hub.session.clone(),
        server: concat!("user-trace-runtime/", env!("CARGO_PKG_VERSION")).into(),
    }
}

fn reply_json(reply: &ProducerReply) -> String {
    serde_json::to_string(reply).unwrap_or_default()
}

/// The reply to a batch that arrives while the server stops (it was not accepted).
pub const STOPPING: &str = "the server is stopping: nothing was accepted, send again";

/// Handles one producer message; the reply to send back.
pub fn handle_text(hub: &Hub, text: &str) -> ProducerReply {
    match decode_producer(text) {
        Ok(ProducerMessage::Events { events }) => {
            let Some(a) = hub.accept(events) else {
                return ProducerReply::Error {
                    message: STOPPING.into(),
                };
            };
            if !a.rejected.is_empty() {
                tracing::warn!(rejected = a.rejected.len(), first = %a.rejected[0], "events refused");
            }
            ProducerReply::Ack {
                accepted: a.accepted,
                rejected: a.rejected,
            }
        }
        Err(e) => ProducerReply::Error {
            message: e.to_string(),
        },
    }
}

pub async fn serve(hub: Arc<Hub>, mut socket: WebSocket) {
    let hello = reply_json(&ProducerReply::Hello(hello(&hub)));
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    let mut stopping = hub.stopping();
    loop {
        let msg = tokio::select! {
            // A stopping server accepts nothing: close before reading more.
            biased;
            _ = stopping.changed() => break,
            m = socket.recv() => m,
        };
        let reply = match msg {
            Some(Ok(Message::Text(text))) => handle_text(&hub, text.as_str()),
            Some(Ok(Message::Binary(_))) => ProducerReply::Error {
                message: "binary frames are not part of the protocol: send JSON text frames".into(),
            },
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                let (code, reason) = close_reason(&e.to_string(), hub.config.max_message_bytes);
                tracing::warn!(%reason, "producer connection closed");
                let frame = CloseFrame {
                    code,
                    reason: reason.into(),
                };
                let _ = socket.send(Message::Close(Some(frame))).await;
                break;
            }
        };
        if socket
            .send(Message::Text(reply_json(&reply).into()))
            .await
            .is_err()
        {
            break;
        }
    }
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
