//! Arbitrary bytes as a `POST /graphql` body against the real router and engine.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tally_fuzz::graphql::graphql_input(data);
});
