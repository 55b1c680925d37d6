//! The hub's writer side against a store the test scripts: appends held at a gate, a write
//! that fails, a store that cannot be read back. What a producer and a panel see of each.

use std::sync::mpsc;

use super::tests::seqs;
use super::*;

/// What the scripted store holds and does.
#[derive(Default)]
struct Script {
    /// Committed events, in order.
    stored: Vec<(u64, String)>,
    /// Appends entered (held or not), and the number of events each brought.
    entered: Vec<usize>,
    /// While set, appends wait.
    hold: bool,
    /// The next append fails with this (`Full` when `full`).
    fail_next: Option<String>,
    full: bool,
    /// Reading back fails.
    fail_load: bool,
    /// Each compaction's `(seq, snapshot events, keep_from)`.
    compactions: Vec<(u64, usize, u64)>,
}

/// A durable store kept in memory, driven by the test through [`Shared`].
#[derive(Clone, Default)]
struct Shared(Arc<(Mutex<Script>, Condvar)>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut Script) -> T) -> T {
        let out = f(&mut self.0 .0.lock().expect("script"));
        self.0 .1.notify_all();
        out
    }

    /// Waits (at most 20 s, then fails the test) until `done` holds.
    fn wait(&self, what: &str, done: impl Fn(&Script) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut s = self.0 .0.lock().expect("script");
        while !done(&s) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}");
            s = self.0 .1.wait_timeout(s, left).expect("script").0;
        }
    }
}

impl Storage for Shared {
    fn append(&mut self, events: &[Record<'_>]) -> Result<(), StorageError> {
        let (lock, cv) = &*self.0;
        let mut s = lock.lock().expect("script");
        s.entered.push(events.len());
        cv.notify_all();
        while s.hold {
            s = cv.wait(s).expect("script");
        }
        if let Some(why) = s.fail_next.take() {
            return Err(if s.full {
                StorageError::Full(why)
            } else {
                StorageError::Other(why)
            });
        }
        s.stored
            .extend(events.iter().map(|r| (r.seq, r.json.to_owned())));
        Ok(())
    }

    fn compact(
        &mut self,
        seq: u64,
        snapshot: &[String],
        keep_from: u64,
    ) -> Result<(), StorageError> {
        self.with(|s| s.compactions.push((seq, snapshot.len(), keep_from)));
        Ok(())
    }

    fn load(&mut self) -> Result<Loaded, StorageError> {
        self.with(|s| {
            if s.fail_load {
                return Err(StorageError::Other("cannot read back".into()));
            }
            let mut loaded = Loaded {
                session: "scripted".into(),
                ..Loaded::default()
            };
            for (seq, json) in &s.stored {
                let event = decode_event(0, json).map_err(|e| StorageError::Other(e.reason))?;
                loaded.history_bytes += json.len() as u64;
                loaded.events.push(crate::storage::Stored {
                    seq: *seq,
                    json: json.clone(),
                    event,
                });
            }
            Ok(loaded)
        })
    }

    fn close(&mut self) {}

    fn disk_bytes(&self) -> u64 {
        0
    }
}

/// A hub on a scripted durable store, its window keeping `retain` events.
fn hub(retain: usize) -> (Arc<Hub>, Shared) {
    let store = Shared::default();
    (hub_on(&store, retain), store)
}

fn hub_on(store: &Shared, retain: usize) -> Arc<Hub> {
    let mut c = Config::default_for("127.0.0.1:0".parse().expect("an address"));
    c.retain_events = retain;
    Hub::with_storage(c, Box::new(store.clone())).expect("a hub")
}

/// A trace start whose JSON is exactly `bytes` long (at least about 90).
fn sized(tag: &str, k: u64, bytes: usize) -> Event {
    let mut e = Event {
        id: format!("{tag}{k:06}"),
        process: "p".into(),
        ts: k,
        op: Op::TraceStart {
            trace: format!("{tag}{k:06}"),
            name: String::new(),
            parent_span: None,
            source: None,
        },
    };
    let pad = bytes - e.to_json().len();
    if let Op::TraceStart { name, .. } = &mut e.op {
        *name = "n".repeat(pad);
    }
    assert_eq!(e.to_json().len(), bytes);
    e
}

fn batch(tag: &str, n: u64, bytes: usize) -> Vec<EventResult> {
    (1..=n).map(|k| Ok(sized(tag, k, bytes))).collect()
}

/// The batch accepted on a thread of its own; its answer, or a failed test after 20 s.
struct Pending(mpsc::Receiver<Result<Accepted, Refused>>);

fn accept_on_a_thread(hub: &Arc<Hub>, events: Vec<EventResult>) -> Pending {
    let (tx, rx) = mpsc::channel();
    let hub = hub.clone();
    std::thread::spawn(move || {
        let _ = tx.send(hub.accept(events));
    });
    Pending(rx)
}

impl Pending {
    fn answer(self) -> Result<Accepted, Refused> {
        self.0
            .recv_timeout(Duration::from_secs(20))
            .expect("an answer within 20 s")
    }
}

fn applied(hub: &Hub) -> u64 {
    hub.lock().next_seq - 1
}

/// Waits until `done` holds, failing the test after 20 s.
fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until the hub has applied up to `seq`, failing after 20 s.
fn wait_applied(hub: &Hub, seq: u64) {
    until(&format!("event {seq} applied"), || applied(hub) >= seq);
}

/// Runs `f` with the hub on a thread of its own.
fn on_a_thread(hub: &Arc<Hub>, f: fn(&Hub)) -> std::thread::JoinHandle<()> {
    let hub = hub.clone();
    std::thread::spawn(move || f(&hub))
}

fn refusal(r: Result<Accepted, Refused>) -> String {
    match r {
        Ok(a) => panic!("accepted {} events", a.accepted),
        Err(Refused::Stopping) => "stopping".into(),
        Err(Refused::Storage(why)) => why,
    }
}

fn stored_seqs(store: &Shared) -> Vec<u64> {
    store.with(|s| s.stored.iter().map(|(seq, _)| *seq).collect())
}

#[test]
fn a_large_batch_goes_in_one_chunk_at_a_time_and_another_producer_gets_in_between() {
    let (hub, store) = hub(100_000);
    // 263 events of 1,000 bytes are a chunk's worth: 262 are just under 256 KiB.
    let per_chunk = 263;
    store.with(|s| s.hold = true);
    let big = accept_on_a_thread(&hub, batch("a", 4 * per_chunk, 1000));
    store.wait("the first chunk's write", |s| s.entered.len() == 1);
    assert_eq!(store.with(|s| s.entered[0]), per_chunk as usize);
    // The writer holds the first chunk; the second is applied and waits; no more.
    wait_applied(&hub, 2 * per_chunk);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(applied(&hub), 2 * per_chunk, "more than one chunk queued");
    // Another producer's batch is numbered after the queued chunk, not after the whole batch.
    let small = accept_on_a_thread(&hub, batch("b", 1, 200));
    wait_applied(&hub, 2 * per_chunk + 1);
    assert_eq!(
        hub.head(),
        0,
        "nothing is committed while the store holds it"
    );
    store.with(|s| s.hold = false);
    assert_eq!(small.answer().map(|a| a.accepted).ok(), Some(1));
    assert_eq!(big.answer().map(|a| a.accepted).ok(), Some(4 * per_chunk));
    let all = 4 * per_chunk + 1;
    assert_eq!(stored_seqs(&store), (1..=all).collect::<Vec<_>>());
    let second = store.with(|s| s.stored[2 * per_chunk as usize].1.clone());
    assert!(second.contains("\"b000001\""), "{second:.80}");
    assert_eq!(hub.head(), all);
}

#[test]
fn exactly_one_chunk_queued_does_not_hold_the_next_back() {
    let (hub, store) = hub(100_000);
    // 256 events of 1,024 bytes: chunks of exactly 256 KiB.
    let per_chunk = 256;
    store.with(|s| s.hold = true);
    let big = accept_on_a_thread(&hub, batch("a", 3 * per_chunk, 1024));
    store.wait("the first chunk's write", |s| !s.entered.is_empty());
    // At most one chunk waits behind the one being written: with exactly that much queued,
    // the next goes in, so the whole batch is applied while the first chunk is held.
    wait_applied(&hub, 3 * per_chunk);
    store.with(|s| s.hold = false);
    assert_eq!(big.answer().map(|a| a.accepted).ok(), Some(3 * per_chunk));
    assert_eq!(hub.head(), 3 * per_chunk);
}

#[test]
fn a_failed_write_refuses_its_batch_and_those_after_it_and_no_panel_sees_them() {
    let (hub, store) = hub(5);
    assert_eq!(
        hub.accept(batch("a", 10, 200)).map(|a| a.accepted).ok(),
        Some(10)
    );
    store.with(|s| {
        s.hold = true;
        s.fail_next = Some("the disk went away".into());
    });
    let failing = accept_on_a_thread(&hub, batch("b", 1, 200));
    store.wait("the failing write", |s| s.entered.len() == 2);
    // Applied after the committed head while the write is held: dropped with it.
    let after = accept_on_a_thread(&hub, batch("c", 2, 200));
    wait_applied(&hub, 13);
    store.with(|s| s.hold = false);
    assert_eq!(refusal(failing.answer()), "the disk went away");
    assert_eq!(
        refusal(after.answer()),
        "the disk went away",
        "a batch applied after the failed one is refused with it"
    );
    // The state is what the store has: numbering goes on from its last event.
    assert_eq!((hub.head(), applied(&hub)), (10, 10));
    assert_eq!(stored_seqs(&store), (1..=10).collect::<Vec<_>>());
    let Start::Snapshot { seq, events, .. } = hub.resync() else {
        panic!("a resync is a snapshot");
    };
    let frame = ServerMessage::Snapshot { seq, events }.to_json();
    assert_eq!(seq, 10);
    assert!(frame.contains("a000010") && !frame.contains("b000001") && !frame.contains("c000001"));
    // The window does not reach back further than it did before the failure (9..=13).
    assert!(matches!(hub.read_after(7, 1 << 20), Read::Behind));
    assert_eq!(seqs(hub.read_after(8, 1 << 20)), Some(vec![9, 10]));
    assert_eq!(hub.window_bytes(), 400, "the window counts what it holds");
    // For a moment new batches are refused at once, with the reason.
    assert_eq!(
        refusal(hub.accept(batch("d", 1, 200))),
        "the disk went away"
    );
    std::thread::sleep(FAILED_PAUSE + Duration::from_millis(50));
    // Then the dropped events are taken again as new ones, not as duplicates.
    let again = hub.accept(batch("b", 1, 200)).map(|a| a.accepted).ok();
    assert_eq!(again, Some(1));
    assert_eq!(stored_seqs(&store), (1..=11).collect::<Vec<_>>());
    assert!(store.with(|s| s.stored[10].1.contains("b000001")));
}

#[test]
fn a_store_that_cannot_be_read_back_refuses_everything_and_shows_nothing_uncommitted() {
    let (hub, store) = hub(100);
    assert!(hub.accept(batch("a", 3, 200)).is_ok());
    store.with(|s| {
        s.hold = true;
        s.fail_next = Some("write failed".into());
        s.fail_load = true;
    });
    let failing = accept_on_a_thread(&hub, batch("b", 2, 200));
    store.wait("the failing write", |s| s.entered.len() == 2);
    wait_applied(&hub, 5);
    store.with(|s| s.hold = false);
    assert_eq!(refusal(failing.answer()), "write failed");
    // Nothing past the committed head stays in the window, and numbering goes on from it.
    assert_eq!((hub.head(), applied(&hub)), (3, 3));
    assert_eq!(seqs(hub.read_after(0, 1 << 20)), Some(vec![1, 2, 3]));
    assert_eq!(hub.lock().window.events.len(), 3);
    assert_eq!(hub.window_bytes(), 600, "the window counts what it holds");
    // Refused past the pause too, until a restart checks the store.
    std::thread::sleep(FAILED_PAUSE + Duration::from_millis(50));
    store.with(|s| s.fail_load = false);
    assert_eq!(refusal(hub.accept(batch("c", 1, 200))), "write failed");
    assert_eq!(stored_seqs(&store), vec![1, 2, 3]);
}

#[test]
fn a_full_store_gets_a_compaction_that_keeps_no_events_and_a_normal_one_keeps_the_recent() {
    let (hub, store) = hub(100);
    assert!(hub.accept(batch("a", 3, 200)).is_ok());
    hub.compact_now();
    // Nothing cleared, store not full: the last KEEP_AFTER_COMPACTION events stay.
    assert_eq!(store.with(|s| s.compactions.clone()), vec![(3, 3, 1)]);
    assert_eq!(
        hub.lock().history_bytes,
        0,
        "the folded history is counted off"
    );
    store.with(|s| {
        s.fail_next = Some("no space".into());
        s.full = true;
    });
    assert_eq!(refusal(hub.accept(batch("b", 1, 200))), "no space");
    assert!(hub.lock().full);
    hub.compact_now();
    assert_eq!(
        store.with(|s| s.compactions[1]),
        (3, 3, 4),
        "keeps no event"
    );
    // Only once: the next compaction keeps the recent events again.
    hub.compact_now();
    assert_eq!(store.with(|s| s.compactions[2]), (3, 3, 1));
}

#[test]
fn a_compaction_never_runs_beside_another() {
    let (hub, store) = hub(100);
    assert!(hub.accept(batch("a", 2, 200)).is_ok());
    hub.lock().compacting = true;
    hub.compact_now();
    assert!(store.with(|s| s.compactions.is_empty()));
    hub.lock().compacting = false;
    hub.compact_now();
    assert_eq!(store.with(|s| s.compactions.len()), 1);
}

#[test]
fn a_compaction_keeps_exactly_the_last_events_it_promises() {
    let (hub, store) = hub(100);
    let n = KEEP_AFTER_COMPACTION + 10;
    let events: Vec<EventResult> = (1..=n).map(|k| Ok(sized("k", k, 100))).collect();
    assert!(hub.accept(events).is_ok());
    hub.compact_now();
    let (seq, _, keep_from) = store.with(|s| s.compactions[0]);
    assert_eq!((seq, keep_from), (n, 11));
    assert_eq!(seq - keep_from + 1, KEEP_AFTER_COMPACTION);
}

#[test]
fn a_compaction_waits_for_the_commit_of_what_its_snapshot_holds() {
    let (hub, store) = hub(100);
    store.with(|s| s.hold = true);
    let pending = accept_on_a_thread(&hub, batch("a", 2, 200));
    store.wait("the write", |s| s.entered.len() == 1);
    let compacting = on_a_thread(&hub, Hub::compact_now);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        store.with(|s| s.compactions.is_empty()),
        "compacted before the commit"
    );
    store.with(|s| s.hold = false);
    assert!(pending.answer().is_ok());
    until("the compaction's end", || compacting.is_finished());
    assert_eq!(store.with(|s| s.compactions.clone()), vec![(2, 2, 1)]);
}

#[test]
fn a_compaction_whose_snapshot_a_failed_write_made_wrong_is_dropped() {
    let (hub, store) = hub(100);
    assert!(hub.accept(batch("a", 1, 200)).is_ok());
    store.with(|s| {
        s.hold = true;
        s.fail_next = Some("failed".into());
    });
    let failing = accept_on_a_thread(&hub, batch("b", 1, 200));
    store.wait("the write", |s| s.entered.len() == 2);
    // The snapshot would hold b000001, which the store never gets.
    let compacting = on_a_thread(&hub, Hub::compact_now);
    std::thread::sleep(Duration::from_millis(100));
    store.with(|s| s.hold = false);
    assert!(failing.answer().is_err());
    until("the compaction's end", || compacting.is_finished());
    assert!(store.with(|s| s.compactions.is_empty()));
    assert!(!hub.lock().compacting, "the next compaction may run");
}

#[test]
fn a_stopped_hub_commits_what_is_queued_then_refuses() {
    let (hub, store) = hub(100);
    store.with(|s| s.hold = true);
    let pending = accept_on_a_thread(&hub, batch("a", 2, 200));
    store.wait("the write", |s| s.entered.len() == 1);
    let stopping = on_a_thread(&hub, Hub::stop);
    until("the stop", || hub.is_stopped());
    store.with(|s| s.hold = false);
    assert_eq!(pending.answer().map(|a| a.accepted).ok(), Some(2));
    until("the stop's end", || stopping.is_finished());
    assert_eq!(stored_seqs(&store), vec![1, 2]);
    assert_eq!(refusal(hub.accept(batch("b", 1, 200))), "stopping");
}

#[test]
fn a_hub_started_on_stored_events_is_committed_up_to_them_and_numbers_on() {
    let (first, store) = hub(100);
    assert!(first.accept(batch("a", 3, 200)).is_ok());
    first.stop();
    let again = hub_on(&store, 100);
    assert_eq!(again.head(), 3);
    assert_eq!(*again.watch_head().borrow(), Committed { epoch: 0, seq: 3 });
    assert!(again.accept(batch("b", 1, 200)).is_ok());
    assert_eq!(stored_seqs(&store), vec![1, 2, 3, 4]);
}

/// Fails the test if `f` resolves within 100 ms.
fn still_pending<F: std::future::Future>(
    rt: &tokio::runtime::Runtime,
    f: &mut std::pin::Pin<Box<F>>,
    what: &str,
) {
    rt.block_on(async {
        let waited = tokio::time::timeout(Duration::from_millis(100), f.as_mut()).await;
        assert!(waited.is_err(), "{what}");
    });
}

#[test]
fn an_async_producer_is_answered_once_the_store_has_its_batch_and_refused_if_it_failed() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let (hub, store) = hub(100);
    store.with(|s| s.hold = true);
    let Ok(submitted) = hub.submit(batch("a", 2, 200)) else {
        panic!("refused")
    };
    let mut confirm = Box::pin(hub.confirm(submitted));
    still_pending(&rt, &mut confirm, "answered before the commit");
    store.with(|s| s.hold = false);
    let answer =
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), confirm).await });
    let answer = answer.expect("an answer within 20 s");
    assert_eq!(answer.map(|a| a.accepted).ok(), Some(2));
    // A write that fails: the batch is refused with the store's reason.
    store.with(|s| {
        s.hold = true;
        s.fail_next = Some("gone".into());
    });
    let Ok(submitted) = hub.submit(batch("b", 1, 200)) else {
        panic!("refused")
    };
    let mut confirm = Box::pin(hub.confirm(submitted));
    still_pending(&rt, &mut confirm, "answered before the commit");
    store.with(|s| s.hold = false);
    let answer =
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), confirm).await });
    assert_eq!(refusal(answer.expect("an answer within 20 s")), "gone");
}

#[test]
fn a_resent_batch_is_acknowledged_but_neither_numbered_nor_stored_again() {
    let (hub, store) = hub(100);
    let sent = batch("a", 3, 200);
    assert_eq!(hub.accept(sent.clone()).map(|a| a.accepted).ok(), Some(3));
    // The producer lost the acknowledgement and sends the batch again.
    assert_eq!(hub.accept(sent).map(|a| a.accepted).ok(), Some(3));
    assert_eq!((hub.head(), applied(&hub)), (3, 3));
    assert_eq!(stored_seqs(&store), vec![1, 2, 3]);
    assert_eq!(seqs(hub.read_after(0, 1 << 20)), Some(vec![1, 2, 3]));
}

#[test]
fn a_panel_gets_a_snapshot_only_once_the_store_has_what_it_holds() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let (hub, store) = hub(100);
    let snapshot_of = |hub: &Hub| match hub.resync() {
        Start::Snapshot { seq, epoch, .. } => (epoch, seq),
        Start::Resume(_) => panic!("a resync is a snapshot"),
    };
    for fails in [false, true] {
        store.with(|s| {
            s.hold = true;
            s.fail_next = fails.then(|| "gone".into());
        });
        let before = applied(&hub);
        let pending = accept_on_a_thread(&hub, batch(if fails { "b" } else { "a" }, 2, 200));
        wait_applied(&hub, before + 2);
        // The snapshot holds the batch the store has not committed yet.
        let (epoch, seq) = snapshot_of(&hub);
        assert_eq!(seq, before + 2);
        let mut committed = Box::pin(hub.committed(epoch, seq));
        still_pending(&rt, &mut committed, "sent before the commit");
        store.with(|s| s.hold = false);
        let answer =
            rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), committed).await });
        assert_eq!(
            answer.ok(),
            Some(!fails),
            "a failed write voids the snapshot"
        );
        let _ = pending.answer();
    }
}

#[test]
fn a_history_past_64_mib_and_past_the_state_asks_for_a_compaction() {
    use futures_util::FutureExt;
    let (hub, _store) = hub(10);
    let mut events = batch("a", 1, 200);
    let span = |k: u64, text: String| Event {
        id: format!("s{k}"),
        process: "p".into(),
        ts: 10 + k,
        op: Op::SpanCreate {
            trace: "a000001".into(),
            span: "s".into(),
            kind: user_trace_protocol::SpanKind::Text,
            title: None,
            content: user_trace_protocol::Content::Text(text),
            source: None,
        },
    };
    events.push(Ok(span(0, String::new())));
    assert!(hub.accept(events).is_ok());
    // The same span's content replaced by 1 MiB again and again: the history grows, the
    // state does not.
    let compaction_asked = |hub: &Hub| hub.compact.notified().now_or_never().is_some();
    let mut k = 1;
    while hub.lock().history_bytes <= COMPACT_AFTER_BYTES {
        assert!(
            !compaction_asked(&hub),
            "asked at {} bytes",
            hub.lock().history_bytes
        );
        let replace = Event {
            id: format!("r{k}"),
            process: "p".into(),
            ts: 10 + k,
            op: Op::ContentReplace {
                span: "s".into(),
                content: user_trace_protocol::RawJson::from_string(format!(
                    "\"{}\"",
                    format!("{}", k % 10).repeat(1 << 19)
                ))
                .expect("a JSON string"),
            },
        };
        assert!(hub.accept(vec![Ok(replace)]).is_ok());
        k += 1;
    }
    assert!(hub.lock().model.bytes() < 4 << 20);
    assert!(compaction_asked(&hub), "not asked past 64 MiB of history");
}

#[test]
fn a_large_batch_waiting_for_room_is_refused_when_the_write_before_it_fails() {
    let (hub, store) = hub(100_000);
    store.with(|s| {
        s.hold = true;
        s.fail_next = Some("gone".into());
    });
    // Three chunks: the first held and then failed, the second queued, the third waiting.
    let big = accept_on_a_thread(&hub, batch("a", 3 * 263, 1000));
    store.wait("the first chunk's write", |s| s.entered.len() == 1);
    wait_applied(&hub, 2 * 263);
    store.with(|s| s.hold = false);
    assert_eq!(
        refusal(big.answer()),
        "gone",
        "the waiting batch hears of the failure"
    );
    assert!(stored_seqs(&store).is_empty());
}
