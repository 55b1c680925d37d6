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

/// Handles one producer message; the reply to send back.
pub fn handle_text(hub: &Hub, text: &str) -> ProducerReply {
    match decode_producer(text) {
        Ok(ProducerMessage::Events { events }) => {
            let a = hub.accept(events);
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
            m = socket.recv() => m,
            _ = stopping.changed() => break,
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

/// The close code and reason for a read error: 1009 (too big) names the limit.
pub fn close_reason(error: &str, limit: usize) -> (u16, String) {
    if error.contains("too long") || error.contains("Space limit") || error.contains("too big") {
        (1009, format!("message over the limit of {limit} bytes"))
    } else {
        (1002, format!("protocol error: {error}"))
    }
}
