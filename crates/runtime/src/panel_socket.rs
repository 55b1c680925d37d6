//! A panel's WebSocket, upgraded here rather than by axum's extractor, so that a large message
//! goes out in fragments.
//!
//! Why: tungstenite copies each frame it sends into a write buffer, and that buffer keeps its
//! largest size for the connection's life. A 100 MB snapshot part sent as one frame left
//! 100 MB resident for every panel that stayed open (four panels: 178 → 568 MiB). Sent in
//! fragments of [`FRAGMENT_BYTES`] bytes, each a slice of the message (no copy of it), the buffer
//! never holds more than one fragment. axum's `WebSocket` sends whole messages only.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use futures_util::SinkExt;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::WebSocketStream;
use user_trace_protocol::writer::{fragment_ends, FRAGMENT_BYTES};

/// A panel's upgraded connection.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Checks that `req` asks for a WebSocket (RFC 6455, as axum's extractor checks it). Returns the
/// `101 Switching Protocols` response and the socket once the client has it, or why the
/// request is refused.
pub fn upgrade(
    req: &mut Request,
    config: WebSocketConfig,
) -> Result<(Response, impl Future<Output = Option<Socket>>), (StatusCode, &'static str)> {
    let bad = |why: &'static str| (StatusCode::BAD_REQUEST, why);
    if req.method() != Method::GET {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket is opened with GET",
        ));
    }
    let headers = req.headers();
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(bad("`Connection` must include `upgrade`"));
    }
    if !has_token(headers, header::UPGRADE, "websocket") {
        return Err(bad("`Upgrade` must be `websocket`"));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(bad("`Sec-WebSocket-Version` must be 13"));
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err(bad("`Sec-WebSocket-Key` is missing"));
    };
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(req);
    let response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(axum::body::Body::empty())
        .map_err(|_| bad("the upgrade could not be answered"))?;
    let socket = async move {
        let upgraded = on_upgrade.await.ok()?;
        Some(
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await,
        )
    };
    Ok((response, socket))
}

/// Whether header `name` lists `token` (comma-separated, any case).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Sends `text` as one message (binary frames when `binary`), in fragments of at most
/// [`FRAGMENT_BYTES`] bytes, each written out before the next is made. A text message is cut on
/// character boundaries (each fragment's bytes then being whole characters is not required by
/// the protocol, but costs nothing).
pub async fn send(socket: &mut Socket, text: String, binary: bool) -> Result<(), Error> {
    if text.len() <= FRAGMENT_BYTES {
        let message = if binary {
            Message::Binary(text.into_bytes().into())
        } else {
            Message::Text(text.into())
        };
        return socket.send(message).await;
    }
    let cuts = fragment_ends(&text, FRAGMENT_BYTES);
    let bytes = Bytes::from(text.into_bytes());
    let mut start = 0;
    for (i, &end) in cuts.iter().enumerate() {
        let opcode = match (i, binary) {
            (0, true) => OpCode::Data(Data::Binary),
            (0, false) => OpCode::Data(Data::Text),
            _ => OpCode::Data(Data::Continue),
        };
        let last = i + 1 == cuts.len();
        let frame = Frame::message(bytes.slice(start..end), opcode, last);
        socket.send(Message::Frame(frame)).await?;
        start = end;
    }
    Ok(())
}
