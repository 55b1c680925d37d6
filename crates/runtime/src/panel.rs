//! Panels: hello, subscribe (resume or snapshot), then live events in batched frames.
//!
//! A panel reads the hub's window at its own pace through a cursor (the last sequence number
//! sent), so it holds no queue of its own. Events are gathered for `--batch-ms` or up to
//! `--batch-bytes` per frame: a browser pays per message. A panel that falls out of the window
//! is sent a fresh snapshot; one that stops reading is closed after `--write-timeout-secs`
//! with a reason. Producers and other panels never wait for a panel.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use user_trace_protocol::writer::PartWriter;
use user_trace_protocol::{decode_panel, Event, PanelMessage, ServerMessage};

use crate::hub::{Hub, Opening, Published, Read, Slot};
use crate::ingest::hello;
use crate::panel_socket::{self, Socket};

/// Largest message a panel may send (it sends only a subscribe).
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;

/// Frames above this size wait for one of the hub's large-frame permits before they are made.
const LARGE_FRAME: usize = 1 << 20;

/// About how large each part of a snapshot is for a panel that asked for parts: small enough
/// for a browser to decode and apply within a frame or two.
pub const SNAPSHOT_PART_BYTES: usize = 1 << 20;

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

/// Why a panel's connection ends.
enum End {
    /// The panel went away.
    Gone,
    /// It did not read a frame within the write timeout.
    NotReading,
    /// It did not answer a ping.
    Silent,
    /// The server is stopping.
    Stopping,
    /// The panel broke the protocol at the WebSocket level (a message over the size limit, a
    /// text frame that is not UTF-8): an `error` message, then a close with this code.
    Refused(u16, String),
}

/// An `error` message for the panel.
fn error_message(message: &str) -> String {
    ServerMessage::<user_trace_protocol::Event>::Error {
        message: message.to_owned(),
    }
    .to_json()
}

/// How a read error ends the connection: an `error`, then a close with the code.
fn refused(error: &str) -> End {
    let (code, reason) = crate::ingest::close_reason(error, MAX_MESSAGE_BYTES);
    match code {
        1002 => End::Gone,
        _ => End::Refused(code, reason),
    }
}

/// One panel's connection: its socket and how it wants frames.
struct Conn {
    socket: Socket,
    /// Binary frames of the same UTF-8 JSON, when the panel asked for them.
    binary: bool,
    /// Snapshots in parts, when the panel asked for them.
    parts: bool,
    write_timeout: Duration,
}

impl Conn {
    async fn send(&mut self, text: String) -> Result<(), End> {
        let sent = panel_socket::send(&mut self.socket, text, self.binary);
        match tokio::time::timeout(self.write_timeout, sent).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::NotReading),
        }
    }

    /// Closes with a code and reason (best effort: a panel that does not read may not get it).
    async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            self.socket.send(Message::Close(Some(frame))),
        )
        .await;
    }
}

/// Before the runtime spends memory on a large frame for a panel, the panel shows that it
/// reads: it answers a ping (browsers do so by themselves) within the write timeout. One that
/// does not is closed without ever holding a copy, and never keeps a permit from a panel
/// that reads.
async fn proves_reading(conn: &mut Conn) -> Result<(), End> {
    let ping = conn.socket.send(Message::Ping(b"reading?".to_vec().into()));
    match tokio::time::timeout(conn.write_timeout, ping).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Err(End::Gone),
        Err(_) => return Err(End::NotReading),
    }
    let deadline = Instant::now() + conn.write_timeout;
    loop {
        match tokio::time::timeout_at(deadline, conn.socket.next()).await {
            Ok(Some(Ok(Message::Pong(_)))) => return Ok(()),
            Ok(Some(Ok(Message::Close(_))) | None | Some(Err(_))) => return Err(End::Gone),
            Ok(Some(Ok(_))) => {}
            Err(_) => return Err(End::NotReading),
        }
    }
}

/// Makes a snapshot (or resumes) holding a snapshot permit until it is sent, so that at
/// most a few snapshots are in memory at once however many panels subscribe.
async fn subscribe(
    hub: &Arc<Hub>,
    conn: &mut Conn,
    session: Option<&str>,
    last_seq: Option<u64>,
) -> Result<u64, End> {
    if hub.state_bytes() > LARGE_FRAME {
        proves_reading(conn).await?;
    }
    let _permit = hub.snapshots.acquire().await.map_err(|_| End::Stopping)?;
    let (mut session, mut last_seq) = (session.map(str::to_owned), last_seq);
    loop {
        let opening = hub
            .open(session.clone(), last_seq)
            .await
            .ok_or(End::Stopping)?;
        match opening {
            Opening::Resume(last) => return Ok(last),
            Opening::Snapshot {
                seq,
                epoch,
                mut chunks,
            } => {
                // The model may be ahead of the store: nothing uncommitted reaches a panel.
                // Serialized without the hub's lock, so that producers and other panels do
                // not wait for it; in parts, each sent as soon as it is written, while the
                // hub still makes the rest.
                if hub.committed(epoch, seq).await {
                    if conn.parts {
                        let mut writer = PartWriter::new(seq, SNAPSHOT_PART_BYTES);
                        while let Some(chunk) = next_chunk(&mut chunks).await? {
                            for e in &chunk {
                                if let Some(part) = writer.push(e) {
                                    conn.send(part).await?;
                                }
                            }
                        }
                        conn.send(writer.finish()).await?;
                    } else {
                        let mut events = Vec::new();
                        while let Some(mut chunk) = next_chunk(&mut chunks).await? {
                            events.append(&mut chunk);
                        }
                        conn.send(ServerMessage::Snapshot { seq, events }.to_json())
                            .await?;
                    }
                    return Ok(seq);
                }
                if hub.is_stopped() {
                    return Err(End::Stopping);
                }
                // A write failed and the state was read back: a new snapshot.
                (session, last_seq) = (None, None);
            }
        }
    }
}

/// The next chunk of a snapshot being made; None after its last. A walk that ended without
/// its end mark (its thread failed) is not sent as if whole: the panel is closed, and resumes.
async fn next_chunk(
    chunks: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<Event>>,
) -> Result<Option<Vec<Event>>, End> {
    match chunks.recv().await {
        Some(chunk) if chunk.is_empty() => Ok(None),
        Some(chunk) => Ok(Some(chunk)),
        None => Err(End::Stopping),
    }
}

pub async fn serve(hub: Arc<Hub>, socket: Socket, _slot: Slot) {
    let mut conn = Conn {
        socket,
        binary: false,
        parts: false,
        write_timeout: Duration::from_secs(hub.config.write_timeout_secs.max(1)),
    };
    let end = run(&hub, &mut conn).await;
    match end {
        End::Gone => {}
        End::NotReading => {
            tracing::warn!("panel not reading: closed (it resumes when it reconnects)");
            conn.close(
                1008,
                "not reading: frames waited longer than the write timeout",
            )
            .await;
        }
        End::Silent => conn.close(1001, "no answer to ping").await,
        End::Stopping => conn.close(1001, "the server is stopping").await,
        End::Refused(code, reason) => {
            tracing::warn!(%reason, "panel connection closed");
            let _ = conn.send(error_message(&reason)).await;
            conn.close(code, &reason).await;
        }
    }
}

async fn run(hub: &Arc<Hub>, conn: &mut Conn) -> End {
    let hello =
        ServerMessage::<user_trace_protocol::Event>::Hello(hello(hub, MAX_MESSAGE_BYTES)).to_json();
    if let Err(e) = conn.send(hello).await {
        return e;
    }
    // The first message must be a subscribe.
    let subscribe_msg = tokio::time::timeout(Duration::from_secs(10), conn.socket.next()).await;
    let (session, last_seq) = match subscribe_msg {
        Ok(Some(Ok(Message::Text(t)))) => match decode_panel(t.as_str()) {
            Ok(PanelMessage::Subscribe {
                session,
                last_seq,
                binary,
                parts,
            }) => {
                conn.binary = binary;
                conn.parts = parts;
                (session, last_seq)
            }
            Err(e) => {
                let _ = conn.send(error_message(&e.to_string())).await;
                return End::Gone;
            }
        },
        Ok(Some(Err(e))) => return refused(&e.to_string()),
        _ => return End::Gone,
    };
    let mut sent = match subscribe(hub, conn, session.as_deref(), last_seq).await {
        Ok(s) => s,
        Err(e) => return e,
    };
    tracing::info!(session = ?session, last_seq = ?last_seq, from = sent, "panel subscribed");

    let batch_time = Duration::from_millis(hub.config.batch_ms);
    let idle = Duration::from_secs(hub.config.idle_timeout_secs.max(1));
    let max_bytes = hub.config.batch_bytes;
    let mut stopping = hub.stopping();
    let mut head = hub.watch_head();
    let mut last_send = Instant::now() - batch_time;
    let mut last_heard = Instant::now();
    let mut pinged = false;
    // A large-frame permit taken for the next frame.
    let mut large = None;
    loop {
        // Marked seen before reading, so that an event published after the read wakes us.
        head.borrow_and_update();
        match hub.read_after(sent, max_bytes) {
            Read::Behind => {
                tracing::warn!(sent, "panel behind the window: resyncing from a snapshot");
                match subscribe(hub, conn, None, None).await {
                    Ok(seq) => sent = seq,
                    Err(e) => return e,
                }
                continue;
            }
            Read::Events(events) if !events.is_empty() => {
                let size: usize = events.iter().map(|p| p.json.len()).sum();
                let (events, _permit) = if size > LARGE_FRAME && large.is_none() {
                    // Waits for a permit holding nothing (not even the events, which the
                    // window may drop meanwhile), then reads again.
                    drop(events);
                    if let Err(e) = proves_reading(conn).await {
                        return e;
                    }
                    match hub.large_frames.acquire().await {
                        Ok(p) => large = Some(p),
                        Err(_) => return End::Stopping,
                    }
                    continue;
                } else {
                    (events, large.take())
                };
                let last = events.last().map_or(sent, |p| p.seq);
                let frame = events_frame(&events);
                drop(events);
                if let Err(e) = conn.send(frame).await {
                    return e;
                }
                sent = last;
                last_send = Instant::now();
                continue;
            }
            Read::Events(_) => {}
        }
        // At the head: wait for events, the panel, the ping time, or the stop.
        let ping_at = last_heard + idle * if pinged { 2 } else { 1 };
        tokio::select! {
            changed = head.changed() => {
                if changed.is_err() {
                    return End::Stopping;
                }
                // Gather what else arrives within the batch time of the last frame.
                let gather = last_send + batch_time;
                if gather > Instant::now() {
                    tokio::time::sleep_until(gather).await;
                }
            }
            m = conn.socket.next() => {
                match m {
                    Some(Ok(Message::Close(_))) | None => return End::Gone,
                    Some(Err(e)) => return refused(&e.to_string()),
                    // Anything but pings and pongs is reported and skipped.
                    Some(Ok(Message::Text(t))) => {
                        let why = match decode_panel(t.as_str()) {
                            Ok(PanelMessage::Subscribe { .. }) => {
                                "already subscribed: a connection subscribes once".to_owned()
                            }
                            Err(e) => e.to_string(),
                        };
                        if let Err(e) = conn.send(error_message(&why)).await {
                            return e;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let why = "binary frames are not part of the protocol: send JSON text frames";
                        if let Err(e) = conn.send(error_message(why)).await {
                            return e;
                        }
                    }
                    Some(Ok(_)) => {}
                }
                last_heard = Instant::now();
                pinged = false;
            },
            _ = tokio::time::sleep_until(ping_at) => {
                if pinged {
                    return End::Silent;
                }
                pinged = true;
                let ping = conn.socket.send(Message::Ping(Vec::new().into()));
                if !matches!(tokio::time::timeout(conn.write_timeout, ping).await, Ok(Ok(()))) {
                    return End::NotReading;
                }
            }
            _ = stopping.changed() => return End::Stopping,
        }
    }
}
