//! `POST /v1/traces` answered as an OpenTelemetry collector answers it (OTLP/HTTP): protobuf
//! or JSON bodies, gzip or deflate, an `ExportTraceServiceResponse` in the request's encoding
//! with `partial_success` for refused spans, and a `google.rpc.Status` with the reason for a
//! request that is refused whole.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use user_trace_protocol::message::EventResult;

use super::map::{map_request, Mapped};
use crate::hub::{Accepted, Hub, Refused};
use crate::{access, ingest};

/// Where OTLP/HTTP exporters send traces (the path they append to `OTEL_EXPORTER_OTLP_ENDPOINT`).
pub const TRACES_PATH: &str = "/v1/traces";

/// Bodies from this size on (and every compressed one) are decoded and stored on a blocking
/// thread, at most two at once (`Hub::large_messages`), as large producer messages are.
const LARGE_BODY: usize = 256 << 10;

/// The encoding of a request, and so of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Json,
}

/// `google.rpc.Status`, which OTLP/HTTP puts in the body of every 4xx and 5xx answer. It is
/// not among the OpenTelemetry protos; these are its first two fields (the third, `details`,
/// is left out: it is never sent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// A request refused whole: its HTTP status and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    /// The gRPC code that goes with the HTTP status, as the OTLP/HTTP spec pairs them.
    fn code(&self) -> i32 {
        match self.status {
            StatusCode::BAD_REQUEST => 3,            // INVALID_ARGUMENT
            StatusCode::UNAUTHORIZED => 16,          // UNAUTHENTICATED
            StatusCode::FORBIDDEN => 7,              // PERMISSION_DENIED
            StatusCode::PAYLOAD_TOO_LARGE => 8,      // RESOURCE_EXHAUSTED
            StatusCode::UNSUPPORTED_MEDIA_TYPE => 3, // INVALID_ARGUMENT
            StatusCode::SERVICE_UNAVAILABLE => 14,   // UNAVAILABLE
            _ => 2,                                  // UNKNOWN
        }
    }
}

/// The format a `Content-Type` names: `application/x-protobuf` or `application/json`
/// (parameters such as `charset` are ignored).
pub fn format_of(headers: &HeaderMap) -> Result<Format, Failure> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let essence = given
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
        "application/json" => Ok(Format::Json),
        _ => Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported content type {}: OTLP/HTTP traces are application/x-protobuf or application/json",
                given.map_or("(none)".into(), |g| format!("`{g}`"))
            ),
        )),
    }
}

/// The body as sent, or inflated (`gzip`, `deflate`) up to `limit` bytes: a small body that
/// inflates past the limit is refused without holding more than the limit.
pub fn decompress<'a>(
    headers: &HeaderMap,
    body: &'a [u8],
    limit: usize,
) -> Result<Cow<'a, [u8]>, Failure> {
    let encoding = headers.get(header::CONTENT_ENCODING).map(|v| {
        v.to_str()
            .unwrap_or("(not text)")
            .trim()
            .to_ascii_lowercase()
    });
    let reader: Box<dyn Read + 'a> = match encoding.as_deref() {
        None | Some("" | "identity") => return Ok(Cow::Borrowed(body)),
        Some("gzip" | "x-gzip") => Box::new(flate2::read::MultiGzDecoder::new(body)),
        Some("deflate") => Box::new(flate2::read::ZlibDecoder::new(body)),
        Some(other) => {
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content encoding `{other}`: send gzip, deflate or none"),
            ))
        }
    };
    let mut out = Vec::new();
    let read = reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!("malformed {} body: {e}", encoding.as_deref().unwrap_or("")),
            )
        })?;
    if read > limit {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the decompressed body is over the limit of {limit} bytes (see --max-message-bytes)"),
        ));
    }
    Ok(Cow::Owned(out))
}

/// An `ExportTraceServiceRequest` from its protobuf or OTLP/JSON encoding.
pub fn decode(format: Format, bytes: &[u8]) -> Result<ExportTraceServiceRequest, Failure> {
    match format {
        Format::Protobuf => ExportTraceServiceRequest::decode(bytes).map_err(|e| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!("malformed OTLP protobuf (ExportTraceServiceRequest): {e}"),
            )
        }),
        Format::Json => serde_json::from_slice(bytes).map_err(|e| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!("malformed OTLP/JSON (ExportTraceServiceRequest): {e}"),
            )
        }),
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Decoded and mapped.
pub fn prepare(
    headers: &HeaderMap,
    format: Format,
    body: &[u8],
    limit: usize,
) -> Result<Mapped, Failure> {
    let bytes = decompress(headers, body, limit)?;
    let request = decode(format, &bytes)?;
    drop(bytes);
    Ok(map_request(&request, now_us()))
}

/// How many spans were refused, and the first reasons.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub rejected_spans: usize,
    pub message: String,
}

/// The spans a hub refused (by any of their events) and those the mapping refused.
pub fn outcome(span_of: &[u32], refused: &[(usize, String)], accepted: &Accepted) -> Outcome {
    let mut spans: Vec<usize> = refused.iter().map(|r| r.0).collect();
    let mut reasons: Vec<String> = refused
        .iter()
        .map(|(i, why)| format!("span #{i}: {why}"))
        .collect();
    for e in &accepted.rejected {
        if let Some(&s) = span_of.get(e.index) {
            spans.push(s as usize);
        }
        reasons.push(e.to_string());
    }
    spans.sort_unstable();
    spans.dedup();
    const SHOWN: usize = 3;
    let mut message = reasons
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if reasons.len() > SHOWN {
        message.push_str(&format!("; and {} more", reasons.len() - SHOWN));
    }
    Outcome {
        rejected_spans: spans.len(),
        message,
    }
}

/// The events as a batch for the hub, where each came from, and what the mapping refused.
type Batch = (Vec<EventResult>, Vec<u32>, Vec<(usize, String)>);

fn batch(mapped: Mapped) -> Batch {
    let events = mapped.events.into_iter().map(Ok).collect();
    (events, mapped.span_of, mapped.refused)
}

fn store_local(hub: &Hub, mapped: Mapped) -> Result<Outcome, Refused> {
    let (events, span_of, refused) = batch(mapped);
    let accepted = hub.accept(events)?;
    Ok(outcome(&span_of, &refused, &accepted))
}

/// [`store_local`] on an async task: the wait for the store's commit does not hold a worker.
async fn store_local_async(hub: &Hub, mapped: Mapped) -> Result<Outcome, Refused> {
    let (events, span_of, refused) = batch(mapped);
    let submitted = hub.submit(events)?;
    let accepted = hub.confirm(submitted).await?;
    Ok(outcome(&span_of, &refused, &accepted))
}

async fn store_shared(hub: &Hub, mapped: Mapped) -> Result<Outcome, Refused> {
    let (events, span_of, refused) = batch(mapped);
    let accepted = hub.publish(events).await?;
    Ok(outcome(&span_of, &refused, &accepted))
}

/// Whether the mapped events may fill more than one of the hub's chunks
/// ([`crate::hub::CHUNK_BYTES`] of JSON; the size is estimated from above).
pub fn fills_chunks(mapped: &Mapped) -> bool {
    let mut bytes = 0;
    mapped.events.iter().any(|e| {
        bytes += user_trace_protocol::writer::size_hint(e);
        bytes > crate::hub::CHUNK_BYTES
    })
}

fn refused_by_hub(r: Refused) -> Failure {
    let message = match r {
        Refused::Stopping => ingest::STOPPING.to_owned(),
        Refused::Storage(why) => format!("{}: {why}", ingest::STORAGE_FAILED),
    };
    Failure::new(StatusCode::SERVICE_UNAVAILABLE, message)
}

/// Decodes, maps and stores a request: on the request's task when it is small, else on a
/// blocking thread.
async fn handle(
    hub: &Arc<Hub>,
    headers: HeaderMap,
    format: Format,
    body: Bytes,
) -> Result<Outcome, Failure> {
    let limit = hub.config.max_message_bytes;
    let large = body.len() >= LARGE_BODY || headers.contains_key(header::CONTENT_ENCODING);
    if !large {
        let mapped = prepare(&headers, format, &body, limit)?;
        if hub.is_shared() {
            return store_shared(hub, mapped).await.map_err(refused_by_hub);
        }
        if !fills_chunks(&mapped) {
            return store_local_async(hub, mapped).await.map_err(refused_by_hub);
        }
        // A small body can map to more events than one of the hub's chunks (a span is three
        // events or more, in JSON with their ids): the hub waits for the store's writer
        // between chunks, which must not hold an async worker (nor the panels and producers
        // served on it). On a blocking thread, as the native path does for large messages;
        // the wait for the commit stays on this task.
        let (events, span_of, refused) = batch(mapped);
        let h = hub.clone();
        let submitted = tokio::task::spawn_blocking(move || h.submit(events))
            .await
            .map_err(|e| {
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("the request could not be handled: {e}"),
                )
            })?
            .map_err(refused_by_hub)?;
        let accepted = hub.confirm(submitted).await.map_err(refused_by_hub)?;
        return Ok(outcome(&span_of, &refused, &accepted));
    }
    let Ok(_permit) = hub.large_messages.acquire().await else {
        return Err(refused_by_hub(Refused::Stopping));
    };
    let shared = hub.is_shared();
    let h = hub.clone();
    let done = tokio::task::spawn_blocking(move || {
        let mapped = prepare(&headers, format, &body, limit)?;
        drop(body);
        if shared {
            return Ok(Err(mapped));
        }
        store_local(&h, mapped).map(Ok).map_err(refused_by_hub)
    })
    .await
    .map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request could not be handled: {e}"),
        )
    })??;
    match done {
        Ok(outcome) => Ok(outcome),
        Err(mapped) => store_shared(hub, mapped).await.map_err(refused_by_hub),
    }
}

fn content_type(format: Format) -> HeaderValue {
    HeaderValue::from_static(match format {
        Format::Protobuf => "application/x-protobuf",
        Format::Json => "application/json",
    })
}

/// The answer to an accepted request: an `ExportTraceServiceResponse`, with `partial_success`
/// when spans were refused.
pub fn success(format: Format, outcome: &Outcome) -> Response {
    let message = ExportTraceServiceResponse {
        partial_success: (outcome.rejected_spans > 0 || !outcome.message.is_empty()).then(|| {
            ExportTracePartialSuccess {
                rejected_spans: outcome.rejected_spans as i64,
                error_message: outcome.message.clone(),
            }
        }),
    };
    let body = match format {
        Format::Protobuf => message.encode_to_vec(),
        Format::Json => serde_json::to_vec(&message).unwrap_or_default(),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type(format))],
        body,
    )
        .into_response()
}

/// The answer to a request refused whole: a `google.rpc.Status` in the request's encoding
/// (plain text when the encoding is what was wrong).
pub fn failure(format: Option<Format>, f: &Failure) -> Response {
    tracing::warn!(status = %f.status, reason = %f.message, "OTLP request refused");
    let status = RpcStatus {
        code: f.code(),
        message: f.message.clone(),
    };
    let (ct, body) = match format {
        Some(Format::Protobuf) => (content_type(Format::Protobuf), status.encode_to_vec()),
        Some(Format::Json) => (
            content_type(Format::Json),
            serde_json::to_vec(
                &serde_json::json!({"code": status.code, "message": status.message}),
            )
            .unwrap_or_default(),
        ),
        None => (
            HeaderValue::from_static("text/plain; charset=utf-8"),
            f.message.clone().into_bytes(),
        ),
    };
    let mut response = (f.status, [(header::CONTENT_TYPE, ct)], body).into_response();
    if f.status == StatusCode::SERVICE_UNAVAILABLE {
        // Exporters retry a 503 after this many seconds.
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The route's handler.
pub async fn traces(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let format = format_of(&headers);
    let mut response = match access::check(
        &hub.config,
        &headers,
        q.get("token").map(String::as_str),
    ) {
        Err((status, message)) => failure(format.ok(), &Failure { status, message }),
        Ok(()) => match format {
            Err(f) => failure(None, &f),
            Ok(format) => match handle(&hub, headers.clone(), format, body).await {
                Ok(outcome) => {
                    if outcome.rejected_spans > 0 {
                        tracing::warn!(rejected = outcome.rejected_spans, reason = %outcome.message, "OTLP spans refused");
                    }
                    success(format, &outcome)
                }
                Err(f) => failure(Some(format), &f),
            },
        },
    };
    crate::server::cors(&headers, response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).expect("a name"),
                HeaderValue::from_str(v).expect("a value"),
            );
        }
        h
    }

    #[test]
    fn content_types() {
        let f = |ct: &str| format_of(&headers(&[("content-type", ct)]));
        assert_eq!(f("application/x-protobuf"), Ok(Format::Protobuf));
        assert_eq!(f("Application/JSON; charset=utf-8"), Ok(Format::Json));
        let e = f("application/jsonl").expect_err("a near miss is refused");
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(e.message.contains("`application/jsonl`"), "{}", e.message);
        let none = format_of(&HeaderMap::new()).expect_err("no content type");
        assert!(none.message.contains("(none)"), "{}", none.message);
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    #[test]
    fn gzip_and_deflate_inflate_within_the_limit() {
        let data = b"hello otlp".repeat(10);
        let gz = gzip(&data);
        let h = headers(&[("content-encoding", "gzip")]);
        assert_eq!(
            decompress(&h, &gz, 100).expect("inflates").as_ref(),
            &data[..]
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&data).expect("in memory");
        let z = z.finish().expect("in memory");
        let h = headers(&[("content-encoding", "deflate")]);
        assert_eq!(
            decompress(&h, &z, 100).expect("inflates").as_ref(),
            &data[..]
        );
        // Exactly at the limit passes; one byte over does not.
        let h = headers(&[("content-encoding", "gzip")]);
        assert!(decompress(&h, &gz, 99).is_err());
        assert_eq!(
            decompress(&h, &gz, 99).expect_err("over").status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        // 64 MiB of zeros in about 64 KiB.
        let zeros = vec![0u8; 1 << 20];
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..64 {
            e.write_all(&zeros).expect("in memory");
        }
        let bomb = e.finish().expect("in memory");
        assert!(bomb.len() < 128 << 10);
        let h = headers(&[("content-encoding", "gzip")]);
        let f = decompress(&h, &bomb, 1 << 20).expect_err("refused");
        assert_eq!(f.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn bad_encodings_say_why() {
        let h = headers(&[("content-encoding", "br")]);
        let f = decompress(&h, b"x", 10).expect_err("unsupported");
        assert_eq!(f.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let h = headers(&[("content-encoding", "gzip")]);
        let f = decompress(&h, b"not gzip at all", 100).expect_err("malformed");
        assert_eq!(f.status, StatusCode::BAD_REQUEST);
        assert!(
            f.message.starts_with("malformed gzip body"),
            "{}",
            f.message
        );
        // No encoding, or identity: the body as it is.
        assert!(matches!(
            decompress(&headers(&[("content-encoding", "identity")]), b"x", 0),
            Ok(Cow::Borrowed(b"x"))
        ));
    }

    #[test]
    fn malformed_bodies_say_why() {
        let f = decode(Format::Json, br#"{"resourceSpans": 5}"#).expect_err("not a list");
        assert_eq!(f.status, StatusCode::BAD_REQUEST);
        assert!(
            f.message.starts_with("malformed OTLP/JSON"),
            "{}",
            f.message
        );
        let f = decode(Format::Protobuf, &[0x0a, 0xff, 0xff]).expect_err("truncated");
        assert!(
            f.message.starts_with("malformed OTLP protobuf"),
            "{}",
            f.message
        );
        // The empty body is a valid, empty request in both encodings.
        assert_eq!(
            decode(Format::Protobuf, b"")
                .expect("empty")
                .resource_spans
                .len(),
            0
        );
        assert_eq!(
            decode(Format::Json, b"{}")
                .expect("empty")
                .resource_spans
                .len(),
            0
        );
    }

    #[test]
    fn otlp_json_reads_hex_ids_camel_case_and_string_int64() {
        let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
            "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "parentSpanId":"","name":"x","kind":2,
            "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
            "attributes":[{"key":"n","value":{"intValue":"7"}}],
            "status":{"code":2,"message":"m"}}]}]}]}"#;
        let r = decode(Format::Json, body).expect("decodes");
        let s = &r.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(s.trace_id[0], 0x5b);
        assert_eq!(s.span_id.len(), 8);
        assert_eq!(s.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(s.end_time_unix_nano, 1_544_712_661_000_000_000);
        assert_eq!(s.status.as_ref().map(|s| s.code), Some(2));
        // A trace id that is not hex is malformed.
        let bad = String::from_utf8_lossy(body).replace("5b8efff7", "zz8efff7");
        assert!(decode(Format::Json, bad.as_bytes()).is_err());
    }

    #[test]
    fn partial_success_counts_spans_once() {
        use user_trace_protocol::EventError;
        let accepted = Accepted {
            accepted: 3,
            rejected: vec![
                EventError {
                    index: 1,
                    id: Some("e1".into()),
                    reason: "r1".into(),
                },
                EventError {
                    index: 2,
                    id: Some("e2".into()),
                    reason: "r2".into(),
                },
            ],
        };
        let o = outcome(&[0, 1, 1, 2], &[(5, "bad ids".into())], &accepted);
        assert_eq!(o.rejected_spans, 2);
        assert_eq!(
            o.message,
            "span #5: bad ids; event `e1`: r1; event `e2`: r2"
        );
        let none = outcome(
            &[0],
            &[],
            &Accepted {
                accepted: 1,
                rejected: vec![],
            },
        );
        assert_eq!(none, Outcome::default());
    }

    /// A protobuf body of `n` spans, each with a chat's six attributes (the fan-out bench's
    /// shape).
    fn chat_spans(n: usize) -> Vec<u8> {
        use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
        use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
        let kv = |k: &str, v: Value| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            key_strindex: 0,
        };
        let spans = (0..n as u64)
            .map(|i| Span {
                trace_id: vec![7; 16],
                span_id: (i + 1).to_be_bytes().to_vec(),
                name: "chat gpt-4o".into(),
                start_time_unix_nano: 1_700_000_000_000_000_000 + i,
                end_time_unix_nano: 1_700_000_000_000_000_100 + i,
                attributes: vec![
                    kv("gen_ai.request.model", Value::StringValue("gpt-4o".into())),
                    kv("gen_ai.system", Value::StringValue("openai".into())),
                    kv("gen_ai.usage.input_tokens", Value::IntValue(812)),
                    kv("gen_ai.usage.output_tokens", Value::IntValue(97)),
                    kv("gen_ai.request.temperature", Value::DoubleValue(0.2)),
                    kv(
                        "url.path",
                        Value::StringValue("/v1/chat/completions".into()),
                    ),
                ],
                ..Span::default()
            })
            .collect();
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn a_small_body_whose_events_fill_chunks_is_stored_off_the_async_workers() {
        let prepared = |n| {
            let body = chat_spans(n);
            let mapped =
                prepare(&HeaderMap::new(), Format::Protobuf, &body, 16 << 20).expect("maps");
            (body.len(), mapped)
        };
        // 512 spans, an SDK's batch: a body well under the large-body size, but its events'
        // JSON is more than one chunk.
        let (body, mapped) = prepared(512);
        assert!(body < LARGE_BODY, "{body}");
        let json: usize = mapped.events.iter().map(|e| e.to_json().len()).sum();
        assert!(json > crate::hub::CHUNK_BYTES, "{json}");
        assert!(fills_chunks(&mapped));
        // The estimate is from above: never under the JSON's length.
        let hint: usize = mapped
            .events
            .iter()
            .map(user_trace_protocol::writer::size_hint)
            .sum();
        assert!(hint >= json, "{hint} < {json}");
        // A near miss: 64 spans stay on the request's task.
        let (_, mapped) = prepared(64);
        assert!(!fills_chunks(&mapped));
    }
}
