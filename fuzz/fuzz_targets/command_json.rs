//! Arbitrary bytes as an NDJSON import file, decided against a small domain state.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tally_fuzz::command::command_json(data);
});
