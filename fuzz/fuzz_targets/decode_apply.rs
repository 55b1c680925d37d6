#![no_main]
//! Arbitrary frames through the decoders and the model. Crashes found become files in
//! `fuzz/corpus/decode_apply/`, which `crates/model/tests/corpus.rs` replays in the test command.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    user_trace_model::fuzz::decode_and_apply(data);
});
