//! Ids unique across processes and machines: `<process>` names host and pid, and every id
//! carries a per-run random tag, so two runs (or two hosts) never collide.

use std::sync::atomic::{AtomicU64, Ordering};

pub struct Ids {
    tag: String,
    next: AtomicU64,
}

fn random_tag() -> String {
    // Eight hex digits: enough to tell runs apart, short enough to read in ids.
    format!("{:08x}", user_trace_protocol::random::random_u64() as u32)
}

/// `name@host:pid`, as shown on the panel's process badges.
pub fn process_name(name: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{name}@{host}:{}", std::process::id())
}

impl Ids {
    pub fn new() -> Self {
        Ids {
            tag: random_tag(),
            next: AtomicU64::new(1),
        }
    }

    /// A fresh id for an event, trace or span.
    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.tag)
    }
}

pub fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
