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
            binary: false,
            parts: false
        }
    );
    let text = |binary| {
        serde_json::to_string(&PanelMessage::Subscribe {
            session: Some("s".into()),
            last_seq: Some(3),
            binary,
            parts: false,
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

/// The runtime reads a panel's message with the protocol's reader: near misses are refused
/// with a reason that names the problem, never taken for something else.
#[test]
fn near_miss_subscribes_are_refused_with_a_reason() {
    for (text, why) in [
        (r#"{"type":"subscribe","last_seq":"12"}"#, "last_seq"),
        (r#"{"type":"subscribe","last_seq":-1}"#, "last_seq"),
        (r#"{"type":"subscribe","last_seq":1.5}"#, "last_seq"),
        (r#"{"type":"subscribe","binary":"true"}"#, "binary"),
        (r#"{"type":"subscribe","parts":1}"#, "parts"),
        (r#"{"type":"subscribe","session":7}"#, "malformed"),
        (
            r#"{"type":"Subscribe"}"#,
            "unknown message type `Subscribe`",
        ),
        (r#"{"type":"subscribe"} x"#, "malformed"),
        (r#"{"session":"s"}"#, "missing field `type`"),
        (r#"["subscribe"]"#, "malformed"),
        ("", "malformed"),
    ] {
        match decode_panel(text) {
            Err(e) => assert!(e.0.contains(why), "{text}: {}", e.0),
            Ok(m) => panic!("{text} was read as {m:?}"),
        }
    }
    // Unknown fields are ignored; null is as absent.
    assert_eq!(
        decode_panel(
            r#"{"type":"subscribe","x":[1,{"y":2}],"last_seq":null,"session":"s","binary":null}"#
        )
        .unwrap(),
        PanelMessage::Subscribe {
            session: Some("s".into()),
            last_seq: None,
            binary: false,
            parts: false
        }
    );
    assert_eq!(
        decode_panel(r#"{"last_seq":18446744073709551615,"type":"subscribe"}"#).unwrap(),
        PanelMessage::Subscribe {
            session: None,
            last_seq: Some(u64::MAX),
            binary: false,
            parts: false
        }
    );
}

#[test]
fn a_snapshot_in_parts_is_asked_for_only_when_wanted() {
    let m = decode_panel(r#"{"type":"subscribe","parts":true}"#).unwrap();
    assert!(matches!(
        m,
        PanelMessage::Subscribe {
            parts: true,
            binary: false,
            ..
        }
    ));
    assert_eq!(m.to_json(), r#"{"type":"subscribe","parts":true}"#);
    for text in [
        r#"{"type":"subscribe"}"#,
        r#"{"type":"subscribe","parts":false}"#,
        r#"{"type":"subscribe","parts":null}"#,
    ] {
        assert!(
            matches!(
                decode_panel(text),
                Ok(PanelMessage::Subscribe { parts: false, .. })
            ),
            "{text}"
        );
    }
}
