//! Decoding errors: what was wrong, said so a person can fix the producer.

use std::fmt;

/// A frame that could not be decoded at all (not JSON, or not a known message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

#[cfg(feature = "serde")]
impl From<serde_json::Error> for DecodeError {
    fn from(e: serde_json::Error) -> Self {
        DecodeError(format!("malformed message: {e}"))
    }
}

/// One event of a batch that is invalid; the other events of the batch are unaffected.
/// Also sent back to a producer in an `ack` for each refused event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EventError {
    /// Position of the event in its batch.
    pub index: usize,
    /// The event's id, when it could be read.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub id: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "event `{id}`: {}", self.reason),
            None => write!(f, "event #{}: {}", self.index, self.reason),
        }
    }
}

impl std::error::Error for EventError {}
