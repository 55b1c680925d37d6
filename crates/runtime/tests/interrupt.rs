//! Spans a producer left open (issue 17, item 5): the runtime reports them as interrupted after
//! a grace period, unless the producer comes back in time; a later write clears the report. A
//! real server on loopback, real WebSocket producers and a panel; every test has a time limit.

use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;
use user_trace_model::{Model, Outcome};
use user_trace_protocol::{
    decode_server, Content, Event, Op, ProducerReply, ServerMessage, SpanKind, RUNTIME_PROCESS,
};
use user_trace_runtime::Running;

mod common;

use common::{connect, recv_text, server, within, Producer, Ws};

/// A panel that applies what it receives to its own model.
struct Panel {
    ws: Ws,
    model: Model,
    /// Events the runtime made itself.
    from_runtime: usize,
}

impl Panel {
    async fn connect(s: &Running) -> Panel {
        let mut ws = connect(format!("ws://{}/v1/panel", s.addr)).await;
        let _hello = recv_text(&mut ws).await;
        ws.send(Message::Text(r#"{"type":"subscribe"}"#.into()))
            .await
            .unwrap();
        Panel {
            ws,
            model: Model::default(),
            from_runtime: 0,
        }
    }

    /// Applies frames until `done` holds.
    async fn until(&mut self, done: impl Fn(&Model) -> bool) {
        while !done(&self.model) {
            let text = recv_text(&mut self.ws).await;
            let mut out = Outcome::default();
            match decode_server(&text).unwrap() {
                ServerMessage::Events { first_seq, events } => {
                    self.from_runtime += events
                        .iter()
                        .flatten()
                        .filter(|e| e.process == RUNTIME_PROCESS)
                        .count();
                    self.model.apply_batch(first_seq, events, &mut out);
                }
                ServerMessage::Snapshot { seq, events } => {
                    self.from_runtime += events
                        .iter()
                        .flatten()
                        .filter(|e| e.process == RUNTIME_PROCESS)
                        .count();
                    self.model.apply_snapshot(seq, events, &mut out);
                }
                other => panic!("unexpected {other:?}"),
            }
            assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        }
    }

    fn interrupted(&self, key: &str) -> Option<u64> {
        let id = self.model.span_by_key(key).expect("the span");
        self.model.span(id).unwrap().interrupted()
    }
}

fn ack(reply: ProducerReply) {
    match reply {
        ProducerReply::Ack { rejected, .. } => assert!(rejected.is_empty(), "{rejected:?}"),
        other => panic!("expected an ack, got {other:?}"),
    }
}

fn text_span(p: &mut Producer, span: &str) -> Event {
    p.event(Op::SpanCreate {
        trace: "t".into(),
        span: span.into(),
        kind: SpanKind::Text,
        title: None,
        content: Content::Text(String::new()),
        source: None,
    })
}

/// An event of `process` made by hand (a reconnected producer numbers on from `n`).
fn append(process: &str, n: u64, span: &str) -> Event {
    Event {
        id: format!("{process}-again-{n}"),
        process: process.into(),
        ts: 5_000 + n,
        op: Op::TextAppend {
            span: span.into(),
            text: "more".into(),
        },
    }
}

/// Starts trace `t` with spans `open`, `ended` and `shared` (which `helper` writes into too).
async fn start(agent: &mut Producer, helper: &mut Producer) {
    let mut events = vec![agent.event(Op::TraceStart {
        trace: "t".into(),
        name: "run".into(),
        parent_span: None,
        source: None,
    })];
    events.push(text_span(agent, "open"));
    events.push(text_span(agent, "ended"));
    events.push(text_span(agent, "shared"));
    events.push(agent.event(Op::SpanEnd {
        span: "ended".into(),
        status: user_trace_protocol::Status::Ok,
    }));
    ack(agent.send(events).await);
    let help = helper.event(Op::TextAppend {
        span: "shared".into(),
        text: "hi".into(),
    });
    ack(helper.send(vec![help]).await);
}

#[tokio::test]
async fn spans_a_producer_left_open_are_reported_after_the_grace_period() {
    within(20, async {
        let s = server(|c| c.interrupt_grace_ms = 300).await;
        let mut agent = Producer::connect(s.addr, "agent@h:1").await;
        let mut helper = Producer::connect(s.addr, "helper@h:2").await;
        start(&mut agent, &mut helper).await;
        let mut panel = Panel::connect(&s).await;
        panel.until(|m| m.span_by_key("shared").is_some()).await;
        let gone = std::time::Instant::now();
        drop(agent);
        panel
            .until(|m| {
                m.span_by_key("open")
                    .and_then(|id| m.span(id))
                    .is_some_and(|s| s.interrupted().is_some())
            })
            .await;
        assert!(
            gone.elapsed() >= Duration::from_millis(300),
            "not before the grace period"
        );
        // Near misses: an ended span, and one a process still connected writes into.
        assert_eq!(panel.interrupted("ended"), None);
        assert_eq!(panel.interrupted("shared"), None);
        assert_eq!(panel.from_runtime, 1, "one report, for the one span");
        // The producer writes again: the report is cleared.
        let mut back = Producer::connect(s.addr, "agent@h:1").await;
        ack(back.send(vec![append("agent@h:1", 1, "open")]).await);
        panel
            .until(|m| {
                m.span_by_key("open")
                    .and_then(|id| m.span(id))
                    .is_some_and(|s| s.interrupted().is_none())
            })
            .await;
        // A panel that joins later gets the report in its snapshot.
        drop(back);
        let mut late = Panel::connect(&s).await;
        late.until(|m| {
            m.span_by_key("open")
                .and_then(|id| m.span(id))
                .is_some_and(|s| s.interrupted().is_some())
        })
        .await;
        s.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_producer_that_comes_back_in_time_is_not_reported() {
    within(20, async {
        let s = server(|c| c.interrupt_grace_ms = 1_500).await;
        let mut agent = Producer::connect(s.addr, "agent@h:1").await;
        let mut helper = Producer::connect(s.addr, "helper@h:2").await;
        start(&mut agent, &mut helper).await;
        drop(agent);
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Back on a new connection (the SDK reconnects and resends), well within the grace.
        let mut back = Producer::connect(s.addr, "agent@h:1").await;
        ack(back.send(vec![append("agent@h:1", 1, "open")]).await);
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        // A marker after the grace period: everything the runtime made before it has arrived.
        ack(back.send(vec![append("agent@h:1", 2, "shared")]).await);
        let mut panel = Panel::connect(&s).await;
        panel
            .until(|m| {
                m.span_by_key("shared")
                    .and_then(|id| m.span(id))
                    .is_some_and(|s| s.text().is_some_and(|t| t.ends_with("more")))
            })
            .await;
        assert_eq!(panel.interrupted("open"), None);
        assert_eq!(panel.from_runtime, 0);
        s.stop().await;
    })
    .await;
}
