//! JSON Schemas of the wire messages, generated from the types.
//!
//! The checked-in copies under `crates/protocol/schema/` are compared with these by a test, so
//! the published schema cannot drift from the code. `cargo xtask schema` rewrites them.

use schemars::{generate::SchemaSettings, JsonSchema};

use crate::{Event, PanelMessage, ProducerMessage, ProducerReply, ServerMessage};

fn one<T: JsonSchema>() -> String {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// `(file name, schema text)` for every message, and for a single event.
pub fn generate() -> Vec<(&'static str, String)> {
    vec![
        ("event.schema.json", one::<Event>()),
        ("server-message.schema.json", one::<ServerMessage>()),
        ("panel-message.schema.json", one::<PanelMessage>()),
        ("producer-message.schema.json", one::<ProducerMessage>()),
        ("producer-reply.schema.json", one::<ProducerReply>()),
    ]
}
