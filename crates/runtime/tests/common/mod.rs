//! What the runtime's integration tests share: a server on a free loopback port, WebSocket
//! clients, and a raw producer speaking the producer protocol.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use user_trace_protocol::{Event, Op, ProducerMessage, ProducerReply};
use user_trace_runtime::{Config, Running};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A config in memory without token, listening on `listen`.
pub fn config(listen: &str) -> Config {
    let mut c = Config::default_for(listen.parse().expect("a socket address"));
    c.token = None;
    // No `span_interrupted` reports unless a test asks for them (tests/interrupt.rs): tests
    // that count the runtime's events must not get one from a producer they dropped.
    c.interrupt_grace_ms = 0;
    c
}

/// A fresh, empty data directory for a durable store, unique to this process and `name`.
pub fn data_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("utp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Makes `c` durable, on SQLite in `dir`.
pub fn durable(c: &mut Config, dir: &std::path::Path) {
    c.in_memory = false;
    c.data = Some(dir.to_owned());
}

/// Every event in a store's history, `(seq, json)` in order, read with SQLite directly (as an
/// operator would: a row holds a run of events as JSON Lines), beside a server that may be
/// running.
pub fn stored_events(dir: &std::path::Path) -> Vec<(u64, String)> {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("events.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the store opens");
    let mut st = conn
        .prepare("SELECT seq, count, json FROM batches ORDER BY seq")
        .expect("a query");
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .expect("rows");
    let mut events = Vec::new();
    for row in rows {
        let (first, count, json) = row.expect("a row");
        let lines: Vec<&str> = if count == 1 {
            vec![&json]
        } else {
            json.split('\n').collect()
        };
        assert_eq!(lines.len() as i64, count, "the row from {first}");
        events.extend((first..).zip(lines.into_iter().map(str::to_owned)));
    }
    events
}

/// A runtime on a free loopback port, `tweak`ed.
pub async fn server(tweak: impl FnOnce(&mut Config)) -> Running {
    let mut c = config("127.0.0.1:0");
    tweak(&mut c);
    user_trace_runtime::start(c).await.expect("server starts")
}

pub async fn connect(url: String) -> Ws {
    tokio_tungstenite::connect_async(url)
        .await
        .expect("connects")
        .0
}

/// Opens a WebSocket as a page of `origin` would.
pub async fn connect_from(
    url: String,
    origin: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("origin", origin.parse().expect("a header value"));
    Ok(tokio_tungstenite::connect_async(req).await?.0)
}

/// The next text message; panics if the connection closes or nothing comes within 10 s.
pub async fn recv_text(ws: &mut Ws) -> String {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("open")
            .expect("no error");
        match m {
            Message::Text(t) => return t.to_string(),
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => {}
        }
    }
}

/// The next text message, or None once the connection is closed; panics if nothing comes
/// within 20 s (a hang guard).
pub async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.to_string()),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(_))) => {}
            Err(_) => panic!("nothing from the server within 20 s"),
        }
    }
}

/// A producer speaking the protocol by hand, numbering its own events.
pub struct Producer {
    pub ws: Ws,
    name: String,
    n: u64,
}

impl Producer {
    pub async fn connect(addr: SocketAddr, name: &str) -> Producer {
        let mut ws = connect(format!("ws://{addr}/v1/ingest")).await;
        let hello = next_text(&mut ws).await.expect("hello");
        assert!(hello.contains(r#""type":"hello""#), "{hello}");
        Producer {
            ws,
            name: name.into(),
            n: 0,
        }
    }

    /// An event of this producer with the next id and timestamp.
    pub fn event(&mut self, op: Op) -> Event {
        self.n += 1;
        Event {
            id: format!("{}-{}", self.name, self.n),
            process: self.name.clone(),
            ts: 1000 + self.n,
            op,
        }
    }

    /// Sends a message as it is; its reply, or None if the connection closed.
    pub async fn send_text(&mut self, text: String) -> Option<ProducerReply> {
        self.ws.send(Message::Text(text.into())).await.ok()?;
        next_text(&mut self.ws)
            .await
            .map(|t| serde_json::from_str(&t).expect("a reply"))
    }

    pub async fn send(&mut self, events: Vec<Event>) -> ProducerReply {
        let text = ProducerMessage::Events { events }.to_json();
        self.send_text(text).await.expect("a reply")
    }
}

/// Runs a test's body with a time limit: a hang fails the test instead of stalling CI.
pub async fn within<F: std::future::Future>(secs: u64, body: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(secs), body).await {
        Ok(out) => out,
        Err(_) => panic!("the test did not finish within {secs} s"),
    }
}
