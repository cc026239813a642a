//! Property tests: proofs verify, and any flipped byte or wrong index/size fails.

use proptest::prelude::*;
use tally_proof::hash::Digest;
use tally_proof::merkle::{
    MemoryNodes, consistency_proof, inclusion_proof, root_at, verify_consistency, verify_inclusion,
};

use crate::support::event_hash;

fn flip(digest: &Digest, byte: usize, bit: u8) -> Digest {
    let mut bytes = *digest.as_bytes();
    bytes[byte % 32] ^= 1 << (bit % 8);
    Digest::from_bytes(bytes)
}

fn tree(size: u64) -> (Vec<Digest>, MemoryNodes) {
    let events: Vec<Digest> = (0..size).map(event_hash).collect();
    let nodes = MemoryNodes::from_leaves(events.iter().map(tally_proof::hash::leaf_hash));
    (events, nodes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_verifies_and_any_flip_fails(
        size in 1u64..3000,
        index_seed in any::<u64>(),
        pick in any::<usize>(),
        byte in 0usize..32,
        bit in 0u8..8,
    ) {
        let index = index_seed % size;
        let (events, nodes) = tree(size);
        let root = nodes.root();
        let event = events[index as usize];
        let proof = inclusion_proof(&nodes, index, size).expect("proof");
        prop_assert!(verify_inclusion(&proof, &event, index, size, &root).is_ok());

        if !proof.path.is_empty() {
            let mut bad = proof.clone();
            let at = pick % bad.path.len();
            bad.path[at] = flip(&bad.path[at], byte, bit);
            prop_assert!(verify_inclusion(&bad, &event, index, size, &root).is_err());
        }
        prop_assert!(verify_inclusion(&proof, &flip(&event, byte, bit), index, size, &root).is_err());
        prop_assert!(verify_inclusion(&proof, &event, index, size, &flip(&root, byte, bit)).is_err());

        // A wrong index or size fails, whether the proof claims it or not.
        let other_index = (index + 1 + pick as u64 % size.max(2)) % size;
        if other_index != index {
            prop_assert!(verify_inclusion(&proof, &event, other_index, size, &root).is_err());
            let mut relabelled = proof.clone();
            relabelled.index = other_index;
            prop_assert!(verify_inclusion(&relabelled, &event, other_index, size, &root).is_err());
        }
        // Against the true root of another size (a checkpoint binds size and root together).
        let mut bigger = nodes.clone();
        bigger.push(tally_proof::hash::leaf_hash(&event_hash(size)));
        let mut resized = proof.clone();
        resized.size = size + 1;
        prop_assert!(verify_inclusion(&resized, &event, index, size + 1, &bigger.root()).is_err());
        prop_assert!(verify_inclusion(&proof, &event, index, size + 1, &bigger.root()).is_err());
        // Dropping or adding a hash fails.
        if !proof.path.is_empty() {
            let mut short = proof.clone();
            short.path.pop();
            prop_assert!(verify_inclusion(&short, &event, index, size, &root).is_err());
        }
        let mut long = proof;
        long.path.push(root);
        prop_assert!(verify_inclusion(&long, &event, index, size, &root).is_err());
    }

    #[test]
    fn consistency_verifies_and_any_flip_fails(
        new_size in 1u64..3000,
        old_seed in any::<u64>(),
        pick in any::<usize>(),
        byte in 0usize..32,
        bit in 0u8..8,
    ) {
        let old_size = old_seed % (new_size + 1);
        let (_, nodes) = tree(new_size);
        let new_root = nodes.root();
        let old_root = root_at(&nodes, old_size).expect("root");
        let proof = consistency_proof(&nodes, old_size, new_size).expect("proof");
        prop_assert!(verify_consistency(&proof, old_size, new_size, &old_root, &new_root).is_ok());

        if !proof.path.is_empty() {
            let mut bad = proof.clone();
            let at = pick % bad.path.len();
            bad.path[at] = flip(&bad.path[at], byte, bit);
            prop_assert!(verify_consistency(&bad, old_size, new_size, &old_root, &new_root).is_err());
        }
        prop_assert!(verify_consistency(
            &proof, old_size, new_size, &flip(&old_root, byte, bit), &new_root).is_err());
        // Every tree extends the empty one, so only a non-empty old tree pins the new root.
        if old_size > 0 {
            prop_assert!(verify_consistency(
                &proof, old_size, new_size, &old_root, &flip(&new_root, byte, bit)).is_err());
        }

        // The proof does not pass for other sizes, even when relabelled.
        if old_size > 0 && old_size < new_size {
            let other = old_size + 1;
            let other_root = root_at(&nodes, other).expect("root");
            let mut relabelled = proof.clone();
            relabelled.old_size = other;
            prop_assert!(
                verify_consistency(&relabelled, other, new_size, &other_root, &new_root).is_err()
                    || other == new_size && relabelled.path.is_empty()
            );
            prop_assert!(verify_consistency(&proof, other, new_size, &old_root, &new_root).is_err());
        }
    }
}
