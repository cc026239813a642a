//! The hash constructions: keys, domain separation, hex form.

use tally_proof::hash::{
    CHAIN_CONTEXT, CHAIN_KEY, Digest, GENESIS, MERKLE_CONTEXT, MERKLE_KEY, chain_hash, empty_root,
    leaf_hash, node_hash,
};

#[test]
fn keys_are_the_documented_derivations() {
    assert_eq!(blake3::derive_key(CHAIN_CONTEXT, b""), CHAIN_KEY);
    assert_eq!(blake3::derive_key(MERKLE_CONTEXT, b""), MERKLE_KEY);
    assert_ne!(CHAIN_KEY, MERKLE_KEY);
}

#[test]
fn constructions_match_their_definitions() {
    let prev = Digest::from_bytes([3; 32]);
    let frame = b"a frame";
    let mut input = prev.as_bytes().to_vec();
    input.extend_from_slice(frame);
    assert_eq!(
        chain_hash(&prev, frame).as_bytes(),
        blake3::keyed_hash(&CHAIN_KEY, &input).as_bytes()
    );

    let mut leaf_input = vec![0u8];
    leaf_input.extend_from_slice(prev.as_bytes());
    assert_eq!(
        leaf_hash(&prev).as_bytes(),
        blake3::keyed_hash(&MERKLE_KEY, &leaf_input).as_bytes()
    );

    let right = Digest::from_bytes([4; 32]);
    let mut node_input = vec![1u8];
    node_input.extend_from_slice(prev.as_bytes());
    node_input.extend_from_slice(right.as_bytes());
    assert_eq!(
        node_hash(&prev, &right).as_bytes(),
        blake3::keyed_hash(&MERKLE_KEY, &node_input).as_bytes()
    );
    assert_eq!(empty_root().as_bytes(), blake3::keyed_hash(&MERKLE_KEY, b"").as_bytes());
    assert_eq!(GENESIS, Digest::from_bytes([0; 32]));
}

#[test]
fn leaf_and_node_are_domain_separated() {
    // A leaf over 32 bytes never equals a node over the same bytes split in two, nor the
    // chain hash over the same input.
    let d = Digest::from_bytes([9; 32]);
    assert_ne!(leaf_hash(&d), chain_hash(&GENESIS, d.as_bytes()));
    assert_ne!(node_hash(&d, &d), leaf_hash(&d));
}

#[test]
fn digest_hex_roundtrip_is_strict() {
    let d = chain_hash(&GENESIS, b"x");
    let text = d.to_string();
    assert_eq!(text.len(), 64);
    assert_eq!(text.parse::<Digest>(), Ok(d));
    assert!(text.to_uppercase().parse::<Digest>().is_err());
    assert!(text[..63].parse::<Digest>().is_err());
    let json = serde_json::to_string(&d).expect("serialises");
    assert_eq!(json, format!("\"{text}\""));
    assert_eq!(serde_json::from_str::<Digest>(&json).expect("parses"), d);
    assert!(Digest::from_slice(&[0; 31]).is_err());
}
