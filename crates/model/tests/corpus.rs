//! Replays the fuzz corpus (seeds, and every crash the fuzzer found, kept as regressions)
//! through the fuzz harness: none may panic.

use std::path::Path;

#[test]
fn fuzz_corpus_replays_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode_apply");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus directory exists") {
        let path = entry.expect("readable").path();
        let data = std::fs::read(&path).expect("readable file");
        let result = std::panic::catch_unwind(|| user_trace_model::fuzz::decode_and_apply(&data));
        assert!(result.is_ok(), "{} panics", path.display());
        n += 1;
    }
    assert!(n >= 6, "the corpus holds its seeds ({n} files)");
}
