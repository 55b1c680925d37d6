//! The background task: batches events, sends them, reconnects, resends what was not
//! acknowledged. The runtime drops duplicates, so resending is always safe.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use user_trace_protocol::writer::{fragment_ends, FRAGMENT_BYTES};
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
                close(&mut ws, Some(frame)).await;
                Err(why)
            }
            _ => Err(format!("unexpected first message: {t}")),
        },
        _ => Err("no hello from the runtime".into()),
    }
}

/// Closes `ws` as the protocol asks: a close frame, then the runtime's answer read (a socket
/// dropped without it is a reset, which the runtime logs). Bounded: a runtime that does not
/// answer does not hold the caller.
async fn close(ws: &mut Ws, frame: Option<CloseFrame>) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        if ws.close(frame).await.is_ok() {
            while let Some(Ok(m)) = ws.next().await {
                if m.is_close() {
                    break;
                }
            }
        }
    })
    .await;
}

/// Whether one of the URLs (comma-separated) can be reached now.
pub async fn probe(url: &str, token: Option<&str>) -> Result<(), String> {
    let mut last = String::from("no URL given");
    for u in url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        match open(u, token).await {
            Ok(mut ws) => {
                close(&mut ws, None).await;
                return Ok(());
            }
            Err(e) => last = format!("{u}: {e}"),
        }
    }
    Err(last)
}

/// Sends a message's text, in fragments of at most [`FRAGMENT_BYTES`] when it is longer: the
/// WebSocket on each side keeps a buffer of the largest frame it wrote or read for the
/// connection's life (the runtime's reader, this process's writer).
async fn send_text<S>(ws: &mut S, text: String) -> Result<(), tungstenite::Error>
where
    S: futures_util::Sink<Message, Error = tungstenite::Error> + Unpin,
{
    if text.len() <= FRAGMENT_BYTES {
        return ws.send(Message::Text(text.into())).await;
    }
    let ends = fragment_ends(&text, FRAGMENT_BYTES);
    let bytes = tungstenite::Bytes::from(text.into_bytes());
    let mut start = 0;
    for (i, &end) in ends.iter().enumerate() {
        let opcode = OpCode::Data(if i == 0 { Data::Text } else { Data::Continue });
        let frame = Frame::message(bytes.slice(start..end), opcode, i + 1 == ends.len());
        ws.send(Message::Frame(frame)).await?;
        start = end;
    }
    Ok(())
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
        let len = event.to_json().len();
        if len.saturating_add(ENVELOPE) > max {
            let reason = format!(
                "it is {len} bytes, over the message limit of {max} bytes (the runtime's \
                 --max-message-bytes, TracerOptions::max_message_bytes)"
            );
            refuse(&event, &reason, progress);
            continue;
        }
        // A message of exactly `max` bytes is within the limit; events are separated by a comma.
        if !part.is_empty() && bytes + 1 + len > max {
            parts.push(std::mem::take(&mut part));
            bytes = ENVELOPE;
        }
        bytes += usize::from(!part.is_empty()) + len;
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

/// The wait before the next attempt: 50 ms, doubled after each failure up to a cap, back to
/// 50 ms after a success.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);

    fn new(max: Duration) -> Self {
        Self {
            next: Self::FIRST.min(max),
            max,
        }
    }

    /// The wait to take now; the one after it is twice as long (at most the cap).
    fn step(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(self.max);
        now
    }

    fn reset(&mut self) {
        self.next = Self::FIRST.min(self.max);
    }
}

/// The runtime's URLs (comma-separated), tried in turn: after a failure or a lost
/// connection, the next one.
struct Urls {
    list: Vec<String>,
    at: usize,
}

impl Urls {
    fn new(urls: &str) -> Self {
        let list: Vec<String> = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        Self { list, at: 0 }
    }

    /// The URL to try now (`None` when none was given).
    fn current(&self) -> Option<&str> {
        self.list
            .get(self.at % self.list.len().max(1))
            .map(String::as_str)
    }

    /// Moves to the next URL; true when that starts the list over (every URL was tried).
    fn advance(&mut self) -> bool {
        self.at = (self.at + 1) % self.list.len().max(1);
        self.at == 0
    }
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
    let mut backoff = Backoff::new(options.max_backoff);
    let mut closed = false;
    let mut urls = Urls::new(&url);
    let mut refused_batch = false;
    loop {
        // Every tracer dropped and nothing left to send (also while the runtime is away).
        let drained = closed || (rx.is_closed() && rx.is_empty());
        if drained && unacked.is_empty() {
            return;
        }
        if refused_batch {
            refused_batch = false;
            tokio::time::sleep(backoff.step()).await;
        }
        // Several URLs (comma-separated): the next one after a failure, round the list.
        let Some(url) = urls.current() else {
            // No URL at all (`connect_lazy("")`): nothing can be sent. Each event is refused
            // and says so, and `flush` returns.
            while let Some(e) = rx.recv().await {
                refuse(&e, "no runtime URL was given", &progress);
            }
            return;
        };
        let mut ws = match open(url, options.token.as_deref()).await {
            Ok(ws) => ws,
            Err(_) => {
                if urls.advance() {
                    tokio::time::sleep(backoff.step()).await;
                }
                continue;
            }
        };
        backoff.reset();
        progress.send_modify(|s| s.connections += 1);
        // Resend what the previous connection left unacknowledged, in order.
        let mut ok = true;
        // A send failed: read what the runtime still says (acks, and why it closed: a 1009
        // close names a message over its limit) before reconnecting.
        let mut draining = false;
        for batch in &unacked {
            let text = message(batch);
            if send_text(&mut ws, text).await.is_err() {
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
                            if !draining && send_text(&mut ws, text).await.is_err() {
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
                            // after a pause. The runtime took none of the batches sent after
                            // it on this connection (PROTOCOL.md).
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
                close(&mut ws, None).await;
                return;
            }
        }
        // The connection ended: with several URLs, try the next one first.
        urls.advance();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use user_trace_protocol::{Content, Op, SpanKind};

    /// A text span's create whose text is `len` bytes: its JSON size grows with `len`.
    fn event(n: usize, len: usize) -> Event {
        Event {
            id: format!("e{n}"),
            process: "p".into(),
            ts: 1,
            op: Op::SpanCreate {
                span: format!("s{n}"),
                trace: "t".into(),
                kind: SpanKind::Text,
                title: None,
                content: Content::Text("x".repeat(len)),
                source: None,
            },
        }
    }

    fn ids(parts: &[Vec<Event>]) -> Vec<Vec<&str>> {
        parts
            .iter()
            .map(|p| p.iter().map(|e| e.id.as_str()).collect())
            .collect()
    }

    #[test]
    fn split_fills_each_message_up_to_the_limit_exactly_and_never_over() {
        let events: Vec<Event> = (0..4).map(|n| event(n, 100)).collect();
        // What three of them take in one message, byte for byte.
        let three = message(&events[..3]).len();
        let (progress, _) = watch::channel(Stats::default());
        let parts = split(events.clone(), three, &progress);
        assert_eq!(ids(&parts), [vec!["e0", "e1", "e2"], vec!["e3"]]);
        for p in &parts {
            assert!(message(p).len() <= three, "{} > {three}", message(p).len());
        }
        // One byte less: two per message.
        let parts = split(events.clone(), three - 1, &progress);
        assert_eq!(ids(&parts), [vec!["e0", "e1"], vec!["e2", "e3"]]);
        // One byte short of all four: every comma counts.
        let four = message(&events).len();
        let parts = split(events, four - 1, &progress);
        assert_eq!(ids(&parts), [vec!["e0", "e1", "e2"], vec!["e3"]]);
        assert!(parts.iter().all(|p| message(p).len() < four));
        assert_eq!(progress.borrow().refused, 0);
    }

    #[test]
    fn split_refuses_only_an_event_over_the_limit_on_its_own_and_keeps_the_order() {
        let events = vec![event(0, 10), event(1, 1000), event(2, 10)];
        let alone = message(&events[1..2]).len();
        let (progress, _) = watch::channel(Stats::default());
        // Exactly its size: it is sent, alone.
        let parts = split(events.clone(), alone, &progress);
        assert_eq!(ids(&parts), [vec!["e0"], vec!["e1"], vec!["e2"]]);
        assert_eq!(progress.borrow().refused, 0);
        // One byte less: it is refused (counted as refused and acknowledged), the rest go.
        let parts = split(events, alone - 1, &progress);
        assert_eq!(ids(&parts), [vec!["e0", "e2"]]);
        let stats = *progress.borrow();
        assert_eq!((stats.refused, stats.acked), (1, 1));
        // Nothing left: no empty message.
        assert!(split(vec![event(3, 1000)], alone - 1, &progress).is_empty());
        assert_eq!(progress.borrow().refused, 2);
    }

    #[test]
    fn a_message_the_runtime_found_too_big_is_halved_and_a_single_event_refused() {
        let (progress, _) = watch::channel(Stats::default());
        let mut unacked: VecDeque<Vec<Event>> = VecDeque::new();
        too_big(&mut unacked, "too big", &progress);
        assert!(unacked.is_empty());

        unacked.push_back((0..5).map(|n| event(n, 1)).collect());
        unacked.push_back(vec![event(9, 1)]);
        too_big(&mut unacked, "too big", &progress);
        let parts: Vec<Vec<Event>> = unacked.iter().cloned().collect();
        assert_eq!(
            ids(&parts),
            [vec!["e0", "e1"], vec!["e2", "e3", "e4"], vec!["e9"]]
        );
        assert_eq!(progress.borrow().refused, 0);

        let mut single: VecDeque<Vec<Event>> =
            VecDeque::from([vec![event(7, 1)], vec![event(8, 1)]]);
        too_big(&mut single, "too big", &progress);
        let parts: Vec<Vec<Event>> = single.iter().cloned().collect();
        assert_eq!(ids(&parts), [vec!["e8"]]);
        let stats = *progress.borrow();
        assert_eq!((stats.refused, stats.acked), (1, 1));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_starts_over_after_a_success() {
        let mut b = Backoff::new(Duration::from_millis(300));
        let waits: Vec<u128> = (0..5).map(|_| b.step().as_millis()).collect();
        assert_eq!(waits, [50, 100, 200, 300, 300]);
        b.reset();
        assert_eq!(b.step().as_millis(), 50);
        // A cap below the first step is the cap.
        assert_eq!(
            Backoff::new(Duration::from_millis(20)).step().as_millis(),
            20
        );
    }

    #[test]
    fn urls_are_tried_in_turn_and_a_round_is_reported() {
        let mut u = Urls::new(" ws://a , ,ws://b,");
        assert_eq!(u.current(), Some("ws://a"));
        assert!(!u.advance());
        assert_eq!(u.current(), Some("ws://b"));
        assert!(u.advance(), "back to the first: every URL was tried");
        assert_eq!(u.current(), Some("ws://a"));

        let mut one = Urls::new("ws://only");
        assert!(one.advance());
        assert_eq!(one.current(), Some("ws://only"));

        let mut none = Urls::new(" , ");
        assert_eq!(none.current(), None);
        assert!(none.advance());
    }

    #[tokio::test]
    async fn gather_takes_at_most_a_batch_and_waits_at_most_the_batch_time() {
        let options = TracerOptions {
            batch_events: 3,
            batch_time: Duration::from_secs(30),
            ..TracerOptions::default()
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        for n in 1..6 {
            tx.send(event(n, 1)).expect("sends");
        }
        let batch = tokio::time::timeout(
            Duration::from_secs(10),
            gather(&mut rx, event(0, 1), &options),
        )
        .await
        .expect("a full batch does not wait for the batch time");
        assert_eq!(batch.len(), 3);

        let got: Vec<&str> = batch.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(got, ["e0", "e1", "e2"]);

        // Fewer than a batch: what is there once the batch time is up.
        let quick = TracerOptions {
            batch_events: 3,
            batch_time: Duration::from_millis(20),
            ..TracerOptions::default()
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(event(1, 1)).expect("sends");
        let batch = tokio::time::timeout(
            Duration::from_secs(10),
            gather(&mut rx, event(0, 1), &quick),
        )
        .await
        .expect("the batch time ends it");
        assert_eq!(batch.len(), 2);
        // A closed channel ends it at once, even with a long batch time.
        tx.send(event(2, 1)).expect("sends");
        drop(tx);
        let batch = tokio::time::timeout(
            Duration::from_secs(10),
            gather(&mut rx, event(0, 1), &options),
        )
        .await
        .expect("a closed channel ends it");
        assert_eq!(batch.len(), 2);
    }
}
