//! Arbitrary bytes as a stored frame value, other stored log values, and event bodies.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = tally_fuzz::frame::frame_decode(data);
});
