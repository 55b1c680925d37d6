//! OTLP attribute values as JSON text, written on a stack of our own (the data chooses how
//! deeply arrays and key-value lists nest, so the call stack must not).

use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use user_trace_protocol::writer;
use user_trace_protocol::RawJson;

/// Appends `v` as JSON: strings, numbers, booleans; arrays and key-value lists as arrays and
/// objects; bytes as a hex string; an empty value as `null`. A non-finite double becomes a
/// string (`"NaN"`), which JSON has no number for.
pub fn any_value(out: &mut String, v: &AnyValue) {
    enum Frame<'a> {
        Array(std::slice::Iter<'a, AnyValue>),
        Object(std::slice::Iter<'a, KeyValue>),
    }
    let mut stack: Vec<(Frame<'_>, bool)> = Vec::new();
    let mut next = Some(v.value.as_ref());
    loop {
        if let Some(value) = next.take() {
            match value {
                Some(Value::ArrayValue(a)) => {
                    out.push('[');
                    stack.push((Frame::Array(a.values.iter()), true));
                }
                Some(Value::KvlistValue(kv)) => {
                    out.push('{');
                    stack.push((Frame::Object(kv.values.iter()), true));
                }
                other => scalar(out, other),
            }
        }
        let Some((frame, first)) = stack.last_mut() else {
            return;
        };
        let comma = !std::mem::replace(first, false);
        match frame {
            Frame::Array(items) => match items.next() {
                Some(item) => {
                    if comma {
                        out.push(',');
                    }
                    next = Some(item.value.as_ref());
                }
                None => {
                    out.push(']');
                    stack.pop();
                }
            },
            Frame::Object(members) => match members.next() {
                Some(member) => {
                    if comma {
                        out.push(',');
                    }
                    writer::string(out, &member.key);
                    out.push(':');
                    next = Some(member.value.as_ref().and_then(|v| v.value.as_ref()));
                }
                None => {
                    out.push('}');
                    stack.pop();
                }
            },
        }
    }
}

fn scalar(out: &mut String, v: Option<&Value>) {
    use std::fmt::Write;
    match v {
        Some(Value::StringValue(s)) => writer::string(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) if d.is_finite() => {
            // `{:?}` is the shortest text that reads back as the same double, and valid JSON.
            let _ = write!(out, "{d:?}");
        }
        Some(Value::DoubleValue(d)) => {
            let _ = write!(out, "\"{d}\"");
        }
        Some(Value::BytesValue(b)) => {
            out.push('"');
            hex_into(out, b);
            out.push('"');
        }
        // Containers are handled by the caller; a string-table index belongs to profiles.
        Some(Value::ArrayValue(_) | Value::KvlistValue(_) | Value::StringValueStrindex(_))
        | None => out.push_str("null"),
    }
}

/// Lowercase hex of `bytes`.
pub fn hex_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// A JSON object or array held in a string (many instrumentations serialize structured values
/// so), validated by the protocol's reader; `None` for any other text.
pub fn embedded(s: &str) -> Option<RawJson> {
    let t = s.trim();
    let container = matches!(
        (t.as_bytes().first(), t.as_bytes().last()),
        (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']'))
    );
    if !container {
        return None;
    }
    RawJson::from_string(t.to_owned()).ok()
}

/// An attribute value as an item value: a string that holds a JSON object or array is that
/// JSON (shown as a tree), everything else as [`any_value`] writes it.
pub fn value(v: Option<&AnyValue>) -> RawJson {
    let Some(v) = v else {
        return RawJson::null();
    };
    if let Some(Value::StringValue(s)) = &v.value {
        if let Some(j) = embedded(s) {
            return j;
        }
    }
    let mut out = String::new();
    any_value(&mut out, v);
    // What `any_value` writes is JSON by construction; a failure would be a bug shown as null.
    RawJson::from_string(out).unwrap_or_else(|_| RawJson::null())
}

/// The text of a string value, or the JSON of any other value.
pub fn text(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(_) => {
            let mut out = String::new();
            if let Some(v) = v {
                any_value(&mut out, v);
            }
            out
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn s(v: &str) -> AnyValue {
        AnyValue {
            value: Some(Value::StringValue(v.into())),
        }
    }
    fn json(v: &AnyValue) -> String {
        let mut out = String::new();
        any_value(&mut out, v);
        out
    }

    #[test]
    fn scalars_containers_and_escapes() {
        let kv = |k: &str, v: AnyValue| KeyValue {
            key: k.into(),
            value: Some(v),
            key_strindex: 0,
        };
        let v = AnyValue {
            value: Some(Value::KvlistValue(KeyValueList {
                values: vec![
                    kv("a\"b", s("x\ny")),
                    kv(
                        "n",
                        AnyValue {
                            value: Some(Value::IntValue(-42)),
                        },
                    ),
                    kv(
                        "d",
                        AnyValue {
                            value: Some(Value::DoubleValue(1.5)),
                        },
                    ),
                    kv(
                        "nan",
                        AnyValue {
                            value: Some(Value::DoubleValue(f64::NAN)),
                        },
                    ),
                    kv(
                        "list",
                        AnyValue {
                            value: Some(Value::ArrayValue(ArrayValue {
                                values: vec![
                                    AnyValue {
                                        value: Some(Value::BoolValue(true)),
                                    },
                                    AnyValue { value: None },
                                    AnyValue {
                                        value: Some(Value::BytesValue(vec![0, 0xab])),
                                    },
                                ],
                            })),
                        },
                    ),
                    KeyValue {
                        key: "empty".into(),
                        value: None,
                        key_strindex: 0,
                    },
                ],
            })),
        };
        let text = json(&v);
        assert_eq!(
            text,
            r#"{"a\"b":"x\ny","n":-42,"d":1.5,"nan":"NaN","list":[true,null,"00ab"],"empty":null}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed["list"][2], "00ab");
    }

    #[test]
    fn a_100_000_deep_array_is_written_without_recursion() {
        // Built and dropped on a stack of our own: prost's decoder refuses this depth, but a
        // value built in memory could have it.
        let depth = 100_000;
        let mut v = AnyValue {
            value: Some(Value::IntValue(1)),
        };
        for _ in 0..depth {
            v = AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })),
            };
        }
        let text = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let out = json(&v);
                // Take the value apart level by level: its own drop would recurse.
                let mut v = Some(v);
                while let Some(AnyValue {
                    value: Some(Value::ArrayValue(mut a)),
                }) = v.take()
                {
                    v = a.values.pop();
                }
                out
            })
            .expect("a thread")
            .join()
            .expect("no stack overflow");
        assert_eq!(text.len(), depth * 2 + 1);
        assert_eq!(text.find('1'), Some(depth));
        assert!(
            text[..depth].bytes().all(|b| b == b'[')
                && text[depth + 1..].bytes().all(|b| b == b']')
        );
    }

    #[test]
    fn only_containers_in_strings_are_embedded() {
        assert_eq!(
            value(Some(&s(r#" {"a": [1, 2]} "#))).get(),
            r#"{"a": [1, 2]}"#
        );
        assert_eq!(value(Some(&s("[1]"))).get(), "[1]");
        // Near misses stay strings: a number, a broken object, a bracketed word.
        assert_eq!(value(Some(&s("42"))).get(), r#""42""#);
        assert_eq!(value(Some(&s(r#"{"a": }"#))).get(), r#""{\"a\": }""#);
        assert_eq!(value(Some(&s("[draft]"))).get(), r#""[draft]""#);
        assert_eq!(value(None).get(), "null");
    }
}
