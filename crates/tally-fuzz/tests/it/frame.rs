//! Stored bytes: arbitrary, and real frames and bodies with structured damage.

use crate::support::{byte_mutation, config, mutate_bytes};
use proptest::prelude::*;
use std::sync::OnceLock;
use tally_domain::codec::KNOWN_TYPES;
use tally_fuzz::frame::frame_decode;
use tally_log::frame::{FrameError, HASH_BYTES, HEADER_BYTES};

/// Stored values (`frame ‖ hash`) of a real log: the domain's scenarios imported into an
/// engine, so most event types appear.
pub fn real_frames() -> &'static [Vec<u8>] {
    static FRAMES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let engine = tally_engine::Engine::open(
            dir.path(),
            tally_engine::EngineConfig::default(),
            Vec::new(),
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let lines = crate::command::scenario_lines();
        let file = tally_engine::import::ImportFile::of_bytes(lines.join("\n").as_bytes());
        let submissions = (1..)
            .zip(lines.iter())
            .map(|(number, line)| {
                tally_engine::import::parse_import_line(line, &file, number).unwrap()
            })
            .collect();
        let answers = runtime.block_on(engine.submit_many(submissions));
        assert!(answers.iter().filter(|a| a.is_ok()).count() > 20);
        let frames: Vec<Vec<u8>> =
            engine.log().read(..).map(|e| e.unwrap().stored_bytes().to_vec()).collect();
        engine.close();
        frames
    })
}

#[test]
fn real_frames_decode_with_their_bodies() {
    let frames = real_frames();
    let mut types = std::collections::BTreeSet::new();
    for frame in frames {
        let outcome = frame_decode(frame);
        let event_type = outcome.frame.unwrap();
        assert!(matches!(outcome.body, Some(Ok(_))), "{event_type}: {:?}", outcome.body);
        types.insert(event_type);
    }
    assert!(types.len() >= 25, "the scenarios cover most event types: {types:?}");
}

#[test]
fn frame_lengths_that_lie_are_refused_without_allocating() {
    let frame = real_frames()[0].clone();
    // The payload length (offset 119, u32) and each text length (115..119) set to extremes.
    for (at, width) in [(119, 4), (115, 1), (116, 1), (117, 1), (118, 1)] {
        for fill in [0x00, 0x01, 0x7f, 0xff] {
            let mut bad = frame.clone();
            bad[at..at + width].fill(fill);
            let outcome = frame_decode(&bad);
            if bad != frame {
                assert!(
                    matches!(outcome.frame, Err(FrameError::LengthMismatch { .. })),
                    "{at}/{fill}: {:?}",
                    outcome.frame
                );
            }
        }
    }
    for len in [0, 1, HEADER_BYTES, HEADER_BYTES + HASH_BYTES - 1] {
        assert!(matches!(frame_decode(&frame[..len]).frame, Err(FrameError::TooShort { .. })));
    }
}

/// A postcard varint of `value`.
fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn huge_length_prefixes_in_bodies_are_refused() {
    // Every real body with a huge collection/string length spliced in at every position:
    // postcard must refuse it from the bytes present, never reserve what the prefix claims.
    for frame in real_frames().iter().take(60) {
        let event = tally_log::RecordedEvent::decode(fjall::Slice::from(frame.as_slice())).unwrap();
        let body = event.payload();
        let selector = KNOWN_TYPES.iter().position(|t| *t == event.event_type()).unwrap();
        let selector = selector + KNOWN_TYPES.len() * usize::from(event.schema_version());
        let Ok(selector) = u8::try_from(selector) else { continue };
        for at in 0..body.len().min(48) {
            for len in [u64::from(u32::MAX), u64::MAX, 1 << 40] {
                let mut input = vec![selector];
                input.extend_from_slice(&body[..at]);
                input.extend(varint(len));
                input.extend_from_slice(&body[at..]);
                // Refused, or (when the prefix lands on an integer field) read as a number:
                // either way quickly and without reserving what the prefix claims.
                let _ = frame_decode(&input);
            }
        }
    }
}

#[test]
fn a_string_or_list_claiming_more_bytes_than_present_is_malformed() {
    for (selector, event_type) in KNOWN_TYPES.iter().enumerate() {
        for len in [u64::from(u32::MAX), u64::MAX] {
            let mut input = vec![u8::try_from(selector + KNOWN_TYPES.len()).unwrap()];
            input.extend(varint(len));
            input.extend_from_slice(b"short");
            let outcome = frame_decode(&input);
            assert!(matches!(outcome.direct, Some(Err(_))), "{event_type}: {:?}", outcome.direct);
        }
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = frame_decode(&bytes);
    }

    #[test]
    fn damaged_real_frames_decode_or_fail_typed(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(byte_mutation(), 1..6),
    ) {
        let frames = real_frames();
        let mut bytes = frames[pick % frames.len()].clone();
        for m in &mutations {
            mutate_bytes(&mut bytes, m);
        }
        let outcome = frame_decode(&bytes);
        // Damage inside the payload keeps the envelope valid; the body then decodes or not.
        if let Ok(event_type) = &outcome.frame {
            prop_assert!(outcome.body.is_some(), "{event_type}");
        }
    }

    #[test]
    fn damaged_real_bodies_decode_or_fail_typed(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(byte_mutation(), 1..4),
    ) {
        let frames = real_frames();
        let event = tally_log::RecordedEvent::decode(
            fjall::Slice::from(frames[pick % frames.len()].as_slice())).unwrap();
        let selector = KNOWN_TYPES.iter().position(|t| *t == event.event_type()).unwrap()
            + KNOWN_TYPES.len() * usize::from(event.schema_version());
        let mut input = vec![u8::try_from(selector).unwrap()];
        input.extend_from_slice(event.payload());
        for m in &mutations {
            // Keep the selector byte: damage the body only.
            let mut body = input.split_off(1);
            mutate_bytes(&mut body, m);
            input.extend(body);
        }
        let _ = frame_decode(&input);
    }
}
