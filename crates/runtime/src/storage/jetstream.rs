//! The event log across machines (`--nats URL`): a NATS JetStream stream that several runtime
//! instances share.
//!
//! - A producer's events, on any instance, are published one message each to the stream;
//!   the batch is acknowledged once JetStream has acknowledged every message (stored, per the
//!   stream's storage). The message id header is the event's `(process, id)`, so JetStream's
//!   duplicate window drops a resent event however many instances it went through.
//! - Every instance follows the stream in order (an ordered consumer) and applies each message
//!   to its model: the stream's sequence is the one global sequence panels see, on any
//!   instance, so a panel resumes on any of them.
//! - The state is folded now and then into a snapshot kept in a JetStream object store; an
//!   instance starts from it and follows the stream after it. The stream keeps at most the
//!   state cap in bytes (oldest messages dropped first).
//!
//! Events the model refuses (an append to a span it does not know, …) cannot be refused to
//! their producer here (another instance may be the one to know the span first): they are
//! numbered, and every instance and panel applies the same refusal in the same order.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, object_store, stream};
use async_nats::HeaderMap;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use super::StorageError;

/// The subject events are published on (one per stream name).
fn subject(stream: &str) -> String {
    format!("utp.{stream}.events")
}

/// How to reach the stream.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server URLs, comma-separated.
    pub url: String,
    pub stream: String,
    /// The stream's byte cap (the state cap).
    pub max_bytes: u64,
}

pub struct JetStream {
    context: jetstream::Context,
    stream: String,
    subject: String,
    /// The session every instance reports: the stream's name and creation time.
    pub session: String,
    /// Largest message the server takes.
    pub max_payload: usize,
}

/// A message of the stream: its sequence and the event's JSON.
pub struct Followed {
    pub seq: u64,
    pub json: String,
}

fn other(what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Other(format!("NATS JetStream: {what}: {e}"))
}

/// The message id JetStream deduplicates by: the event's process and id, escaped to printable
/// ASCII (header values must be) and unambiguous (`/` separates, `%` escapes).
pub fn message_id(process: &str, id: &str) -> String {
    let mut out = String::with_capacity(process.len() + id.len() + 1);
    escape_into(&mut out, process);
    out.push('/');
    escape_into(&mut out, id);
    out
}

fn escape_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

impl JetStream {
    /// Connects and makes sure the stream and the snapshot store exist.
    pub async fn connect(options: &Options) -> Result<JetStream, StorageError> {
        let urls: Vec<&str> = options.url.split(',').map(str::trim).collect();
        // No retry at start: a runtime that cannot reach its log says so and exits.
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(urls.join(","))
            .await
            .map_err(|e| other(&format!("cannot connect to {}", options.url), e))?;
        // NATS' default when the server did not say (1 MiB).
        let max_payload = match client.server_info().max_payload {
            0 => 1 << 20,
            n => n,
        };
        let context = jetstream::new(client);
        let subject = subject(&options.stream);
        let mut stream = context
            .get_or_create_stream(stream::Config {
                name: options.stream.clone(),
                subjects: vec![subject.clone()],
                max_bytes: options.max_bytes as i64,
                discard: stream::DiscardPolicy::Old,
                storage: stream::StorageType::File,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|e| other("cannot create the stream", e))?;
        let info = stream
            .info()
            .await
            .map_err(|e| other("cannot read the stream", e))?;
        let session = format!(
            "nats-{}-{:x}",
            options.stream,
            info.created.unix_timestamp_nanos()
        );
        context
            .create_object_store(object_store::Config {
                bucket: snapshot_bucket(&options.stream),
                ..Default::default()
            })
            .await
            .map_err(|e| other("cannot create the snapshot store", e))?;
        Ok(JetStream {
            context,
            stream: options.stream.clone(),
            subject,
            session,
            max_payload,
        })
    }

    /// Publishes events (`(process, id, json)`) in order and waits until JetStream has every
    /// one. An error means some may not be stored: the producer resends the batch, and what
    /// was stored is dropped as a duplicate.
    pub async fn publish(&self, events: &[(&str, &str, String)]) -> Result<(), StorageError> {
        let mut acks = Vec::with_capacity(events.len());
        for (process, id, json) in events {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", message_id(process, id).as_str());
            let ack = self
                .context
                .publish_with_headers(self.subject.clone(), headers, json.clone().into())
                .await
                .map_err(|e| other("publish failed", e))?;
            acks.push(ack);
        }
        for ack in acks {
            tokio::time::timeout(Duration::from_secs(10), ack)
                .await
                .map_err(|_| other("no acknowledgement", "within 10 s"))?
                .map_err(|e| other("not stored", e))?;
        }
        Ok(())
    }

    async fn stream(&self) -> Result<stream::Stream, StorageError> {
        self.context
            .get_stream(&self.stream)
            .await
            .map_err(|e| other("cannot open the stream", e))
    }

    async fn snapshots(&self) -> Result<object_store::ObjectStore, StorageError> {
        self.context
            .get_object_store(snapshot_bucket(&self.stream))
            .await
            .map_err(|e| other("cannot open the snapshot store", e))
    }

    /// The stream's messages from `from` on, in order, for good (an ordered consumer, which
    /// recreates itself after a reconnect).
    pub async fn follow(
        &self,
        from: u64,
    ) -> Result<impl futures_util::Stream<Item = Result<Followed, StorageError>>, StorageError>
    {
        let stream = self.stream().await?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from.max(1),
                },
                ..Default::default()
            })
            .await
            .map_err(|e| other("cannot follow the stream", e))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|e| other("cannot follow the stream", e))?;
        Ok(messages.map(|m| {
            let m = m.map_err(|e| other("following the stream", e))?;
            let seq = m
                .info()
                .map_err(|e| other("a message without stream info", e))?
                .stream_sequence;
            let json = String::from_utf8(m.payload.to_vec())
                .map_err(|e| other(&format!("message {seq} is not UTF-8"), e))?;
            Ok(Followed { seq, json })
        }))
    }

    /// The first sequence the stream still holds (older ones were dropped by its byte cap).
    pub async fn first_seq(&self) -> Result<u64, StorageError> {
        let mut stream = self.stream().await?;
        let info = stream
            .info()
            .await
            .map_err(|e| other("cannot read the stream", e))?;
        Ok(info.state.first_sequence)
    }

    /// Keeps a snapshot frame (`{"type":"snapshot","seq":…,"events":[…]}`).
    pub async fn save_snapshot(&self, frame: &str) -> Result<(), StorageError> {
        let store = self.snapshots().await?;
        store
            .put("snapshot", &mut frame.as_bytes())
            .await
            .map_err(|e| other("cannot store the snapshot", e))?;
        Ok(())
    }

    /// The last snapshot frame kept, if any. Another runtime may replace it meanwhile: the
    /// old object's chunks then go, and a read of them could wait for ever. So each attempt
    /// has a time limit, and the next one reads the new object. (A start on a stream once
    /// waited past a test's 3 minutes while the runtime beside it kept snapshots; this is the
    /// likely cause, not a proven one.)
    pub async fn load_snapshot(&self) -> Result<Option<String>, StorageError> {
        const ATTEMPTS: u32 = 3;
        for attempt in 1..=ATTEMPTS {
            match tokio::time::timeout(SNAPSHOT_READ, self.read_snapshot()).await {
                Ok(result) => return result,
                Err(_) => tracing::warn!(
                    attempt,
                    "reading the shared snapshot took over {} s; reading it again",
                    SNAPSHOT_READ.as_secs()
                ),
            }
        }
        Err(other(
            "cannot read the snapshot",
            format!(
                "{ATTEMPTS} attempts of {} s each timed out",
                SNAPSHOT_READ.as_secs()
            ),
        ))
    }

    async fn read_snapshot(&self) -> Result<Option<String>, StorageError> {
        let store = self.snapshots().await?;
        let mut object = match store.get("snapshot").await {
            Ok(o) => o,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(other("cannot read the snapshot", e)),
        };
        let mut text = String::new();
        object
            .read_to_string(&mut text)
            .await
            .map_err(|e| other("cannot read the snapshot", e))?;
        Ok(Some(text))
    }
}

/// How long one read of the shared snapshot may take: generous for a large state's snapshot
/// (not measured at its largest).
const SNAPSHOT_READ: Duration = Duration::from_secs(30);

fn snapshot_bucket(stream: &str) -> String {
    format!("{stream}-snapshots")
}

#[cfg(test)]
mod tests {
    use super::message_id;

    #[test]
    fn message_ids_are_printable_and_unambiguous() {
        assert_eq!(message_id("agent-1", "e.17"), "agent-1/e.17");
        // A `/` inside a part cannot be confused with the separator.
        assert_ne!(message_id("a/b", "c"), message_id("a", "b/c"));
        assert_eq!(message_id("a/b", "c"), "a%2Fb/c");
        assert_eq!(message_id("é", "\n"), "%C3%A9/%0A");
        assert!(message_id("日本", "\u{202e}x").is_ascii());
    }
}
