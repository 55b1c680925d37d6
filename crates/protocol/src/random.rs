//! A random number for ids that must differ between runs and machines (the runtime's session,
//! the SDK's per-run id tag). Not cryptographic: std's per-process random hash keys, the clock
//! and the pid, which is all an id needs and costs no dependency.

use std::hash::{BuildHasher, Hasher};

/// A fresh random 64-bit number.
pub fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}
