//! The checked-in schemas must equal the ones generated from the types.
//! Set `UPDATE_SCHEMA=1` (or run `cargo xtask schema`) to rewrite them after a deliberate change.

use std::path::Path;

#[test]
fn checked_in_schema_matches_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    let update = std::env::var_os("UPDATE_SCHEMA").is_some();
    let mut stale = Vec::new();
    for (name, text) in user_trace_protocol::schema::generate() {
        let path = dir.join(name);
        if update {
            std::fs::write(&path, &text).expect("write schema");
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != text {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "schema files out of date: {stale:?}; run `cargo xtask schema` and commit the result"
    );
}
