//! The panel's subscribe message, as runtimes old and new read it.

use user_trace_protocol::{decode_panel, PanelMessage};

#[test]
fn binary_frames_are_asked_for_only_when_wanted() {
    // A panel that does not know the field (or does not want binary frames) gets text.
    assert_eq!(
        decode_panel(r#"{"type":"subscribe"}"#).unwrap(),
        PanelMessage::Subscribe {
            session: None,
            last_seq: None,
            binary: false
        }
    );
    let text = |binary| {
        serde_json::to_string(&PanelMessage::Subscribe {
            session: Some("s".into()),
            last_seq: Some(3),
            binary,
        })
        .unwrap()
    };
    assert_eq!(
        text(false),
        r#"{"type":"subscribe","session":"s","last_seq":3}"#
    );
    assert_eq!(
        text(true),
        r#"{"type":"subscribe","session":"s","last_seq":3,"binary":true}"#
    );
    assert!(matches!(
        decode_panel(&text(true)),
        Ok(PanelMessage::Subscribe { binary: true, .. })
    ));
}
