//! The fuzzing harness body, shared by the cargo-fuzz target (`fuzz/`) and the corpus test
//! that runs in the test command: arbitrary bytes through the decoders and the model, checking
//! that nothing panics and that the model's invariants hold.

use user_trace_protocol::{decode_producer, decode_server, ProducerMessage, ServerMessage};

use crate::{json, Limits, Model, Options, Outcome};

/// Feeds `data` (lines of frames) to the decoders and a small model, then checks invariants.
pub fn decode_and_apply(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let options = Options {
        max_bytes: 64 << 10,
        dedup_window: 64,
        limits: Limits {
            max_text_bytes: 4096,
            max_json_bytes: 4096,
            max_items: 32,
            max_label_bytes: 64,
        },
    };
    let mut model = Model::new(options);
    let mut out = Outcome::default();
    for line in text.lines() {
        if let Ok(msg) = decode_server(line) {
            match msg {
                ServerMessage::Events { first_seq, events } => {
                    model.apply_batch(first_seq, events, &mut out)
                }
                ServerMessage::Snapshot { seq, events } => {
                    model.apply_snapshot(seq, events, &mut out)
                }
                ServerMessage::SnapshotPart {
                    seq,
                    part,
                    last,
                    events,
                } => {
                    let _ = model.apply_snapshot_part(seq, part, last, events, &mut out);
                }
                _ => {}
            }
        }
        if let Ok(ProducerMessage::Events { events }) = decode_producer(line) {
            for e in events.into_iter().flatten() {
                model.apply(e, &mut out);
            }
        }
        // The lazy JSON reader on anything at all.
        let _ = json::summary(line, 8);
        let _ = json::page_starts(line, 3);
        out.clear();
    }
    check(&model);
}

/// The model's invariants: its snapshot rebuilds it exactly (a fixpoint), and every node it
/// lists can be read.
pub fn check(model: &Model) {
    let events = model.snapshot_events();
    let mut rebuilt = Model::new(model.options().clone());
    let mut out = Outcome::default();
    rebuilt.apply_snapshot(0, events.iter().cloned().map(Ok).collect(), &mut out);
    assert!(
        out.rejected.is_empty(),
        "a snapshot was refused: {:?}",
        out.rejected
    );
    assert_eq!(
        rebuilt.snapshot_events(),
        events,
        "the snapshot is not a fixpoint"
    );
    for &t in model.roots() {
        assert!(model.trace(t).is_some(), "a root is dangling");
    }
}
