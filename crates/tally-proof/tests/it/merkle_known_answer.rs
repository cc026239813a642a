//! Known-answer tests: every root, inclusion proof and consistency proof of trees of size
//! 1..=64 equals the naive RFC 9162 reference and verifies.

use tally_proof::hash::{Digest, empty_root, node_hash};
use tally_proof::merkle::{
    ConsistencyProof, Frontier, FrontierError, InclusionProof, MemoryNodes, NodeId, NodeSource,
    ProofError, ProveError, consistency_proof, inclusion_proof, root_at, verify_consistency,
    verify_inclusion_leaf,
};

use crate::reference;
use crate::support::{Counting, ceil_log2, leaves};

const SIZE_MAX: u64 = 64;

#[test]
fn roots_match_reference_for_every_size() {
    let leaves = leaves(SIZE_MAX);
    let nodes = MemoryNodes::from_leaves(leaves.iter().copied());
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), empty_root());
    assert_eq!(root_at(&nodes, 0).expect("root"), empty_root());
    for n in 1..=SIZE_MAX {
        frontier.push(leaves[n as usize - 1]);
        let expected = reference::mth(&leaves[..n as usize]);
        assert_eq!(frontier.root(), expected, "frontier root at size {n}");
        assert_eq!(root_at(&nodes, n).expect("root"), expected, "root_at size {n}");
        assert_eq!(frontier.size(), n);
        assert_eq!(frontier.roots().len(), n.count_ones() as usize);
    }
    assert_eq!(nodes.root(), reference::mth(&leaves));
}

#[test]
fn inclusion_proofs_match_reference_for_every_index_and_size() {
    let leaves = leaves(SIZE_MAX);
    let nodes = MemoryNodes::from_leaves(leaves.iter().copied());
    for n in 1..=SIZE_MAX {
        let root = reference::mth(&leaves[..n as usize]);
        for i in 0..n {
            let proof = inclusion_proof(&nodes, i, n).expect("proof");
            assert_eq!(
                proof.path,
                reference::path(i as usize, &leaves[..n as usize]),
                "i={i} n={n}"
            );
            assert!(proof.path.len() <= ceil_log2(n), "i={i} n={n} len {}", proof.path.len());
            verify_inclusion_leaf(&proof, &leaves[i as usize], i, n, &root)
                .unwrap_or_else(|e| panic!("i={i} n={n}: {e}"));
        }
        assert_eq!(
            inclusion_proof(&nodes, n, n),
            Err(ProveError::Invalid(ProofError::IndexOutOfRange { index: n, size: n }))
        );
    }
}

#[test]
fn consistency_proofs_match_reference_for_every_pair_of_sizes() {
    let leaves = leaves(SIZE_MAX);
    let nodes = MemoryNodes::from_leaves(leaves.iter().copied());
    for n in 1..=SIZE_MAX {
        let new_root = reference::mth(&leaves[..n as usize]);
        for m in 0..=n {
            let old_root = reference::mth(&leaves[..m as usize]);
            let proof = consistency_proof(&nodes, m, n).expect("proof");
            assert_eq!(
                proof.path,
                reference::proof(m as usize, &leaves[..n as usize]),
                "m={m} n={n}"
            );
            let bound = ceil_log2(n) + usize::from(!m.is_power_of_two());
            assert!(proof.path.len() <= bound, "m={m} n={n} len {}", proof.path.len());
            verify_consistency(&proof, m, n, &old_root, &new_root)
                .unwrap_or_else(|e| panic!("m={m} n={n}: {e}"));
        }
        assert_eq!(
            consistency_proof(&nodes, n + 1, n),
            Err(ProveError::Invalid(ProofError::SizeOrder { old_size: n + 1, new_size: n }))
        );
    }
}

#[test]
fn push_emits_every_completed_node_once() {
    let leaves = leaves(SIZE_MAX);
    let nodes = MemoryNodes::from_leaves(leaves.iter().copied());
    let mut frontier = Frontier::new();
    let mut emitted = Vec::new();
    for (i, leaf) in leaves.iter().enumerate() {
        let completed = frontier.push(*leaf);
        assert_eq!(completed[0], (NodeId::new(0, i as u64), *leaf));
        // One node per trailing one bit of the new size's predecessor, plus the leaf.
        assert_eq!(completed.len(), 1 + (i as u64).trailing_ones() as usize);
        emitted.extend(completed);
    }
    // 2n - 1 nodes for a power of two: amortised two writes per leaf.
    assert_eq!(emitted.len() as u64, 2 * SIZE_MAX - 1);
    for (id, digest) in emitted {
        assert_eq!(nodes.node(id.level, id.index), Ok(digest), "{id}");
        let first = id.first_leaf().expect("fits") as usize;
        let len = 1usize << id.level;
        assert_eq!(digest, reference::mth(&leaves[first..first + len]), "{id}");
    }
}

#[test]
fn frontier_bytes_roundtrip_and_reject_damage() {
    let leaves = leaves(SIZE_MAX);
    let mut frontier = Frontier::new();
    let empty = frontier.to_bytes();
    assert_eq!(empty, [1, 0, 0, 0, 0, 0, 0, 0, 0]);
    for leaf in &leaves[..11] {
        frontier.push(*leaf);
    }
    let bytes = frontier.to_bytes();
    // version | size 11 | 3 roots (levels 3, 1, 0)
    assert_eq!(bytes.len(), 1 + 8 + 3 * 32);
    assert_eq!(&bytes[..9], &[1, 0, 0, 0, 0, 0, 0, 0, 11]);
    assert_eq!(Frontier::from_bytes(&bytes), Ok(frontier.clone()));
    let nodes = MemoryNodes::from_leaves(leaves.iter().copied());
    assert_eq!(Frontier::from_source(&nodes, 11).expect("reads"), frontier);
    assert_eq!(
        frontier.root_ids().collect::<Vec<_>>(),
        [NodeId::new(3, 0), NodeId::new(1, 4), NodeId::new(0, 10)]
    );

    assert!(matches!(
        Frontier::from_bytes(&bytes[..bytes.len() - 1]),
        Err(FrontierError::Length { .. })
    ));
    assert!(matches!(Frontier::from_bytes(&[]), Err(FrontierError::Truncated { .. })));
    let mut wrong_version = bytes.clone();
    wrong_version[0] = 2;
    assert_eq!(Frontier::from_bytes(&wrong_version), Err(FrontierError::Version { found: 2 }));
    let mut wrong_size = bytes.clone();
    wrong_size[8] = 12;
    assert!(matches!(Frontier::from_bytes(&wrong_size), Err(FrontierError::Length { .. })));
    let mut huge = bytes;
    huge[1] = 0xff;
    assert!(matches!(Frontier::from_bytes(&huge), Err(FrontierError::SizeTooLarge { .. })));
}

#[test]
fn node_id_bytes_sort_by_level_then_index() {
    let id = NodeId::new(3, 0x0102_0304_0506_0708);
    assert_eq!(id.to_bytes(), [3, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(NodeId::from_bytes(&id.to_bytes()), Some(id));
    assert_eq!(NodeId::from_bytes(&[0; 8]), None);
    assert!(NodeId::new(0, 9).to_bytes() < NodeId::new(0, 10).to_bytes());
    assert!(NodeId::new(0, u64::MAX).to_bytes() < NodeId::new(1, 0).to_bytes());
}

#[test]
fn proofs_read_a_logarithmic_number_of_complete_nodes() {
    let size = 100_003u64; // not a power of two: the right edge is ragged
    let leaves: Vec<Digest> = leaves(size);
    let nodes = MemoryNodes::from_leaves(leaves.iter().copied());
    let log = ceil_log2(size);
    for index in [0, 1, 2, 65_535, 65_536, 99_999, 100_000, 100_001, 100_002] {
        let counting = Counting::new(&nodes);
        let proof = inclusion_proof(&counting, index, size).expect("proof");
        assert!(counting.reads.get() <= 2 * log, "index {index}: {} reads", counting.reads.get());
        assert!(proof.path.len() <= log);
        verify_inclusion_leaf(&proof, &leaves[index as usize], index, size, &nodes.root())
            .expect("verifies");
    }
    for old_size in [1, 2, 3, 4096, 65_537, 99_999, 100_002] {
        let counting = Counting::new(&nodes);
        let proof = consistency_proof(&counting, old_size, size).expect("proof");
        assert!(
            counting.reads.get() <= 2 * log + 1,
            "m {old_size}: {} reads",
            counting.reads.get()
        );
        let old_root = root_at(&nodes, old_size).expect("root");
        verify_consistency(&proof, old_size, size, &old_root, &nodes.root()).expect("verifies");
    }
    let counting = Counting::new(&nodes);
    root_at(&counting, size).expect("root");
    assert_eq!(counting.reads.get(), size.count_ones() as usize);
}

#[test]
fn proof_binary_and_json_forms_roundtrip() {
    let leaves = leaves(13);
    let nodes = MemoryNodes::from_leaves(leaves.iter().copied());
    let inclusion = inclusion_proof(&nodes, 5, 13).expect("proof");
    let bytes = inclusion.to_bytes();
    assert_eq!(bytes.len(), 8 + 8 + 1 + 32 * inclusion.path.len());
    assert_eq!(InclusionProof::from_bytes(&bytes), Ok(inclusion.clone()));
    assert!(InclusionProof::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(InclusionProof::from_bytes(&extra).is_err());
    let json = serde_json::to_string(&inclusion).expect("json");
    assert!(json.starts_with("{\"index\":5,\"size\":13,\"path\":[\""), "{json}");
    assert_eq!(serde_json::from_str::<InclusionProof>(&json).expect("parses"), inclusion);

    let consistency = consistency_proof(&nodes, 6, 13).expect("proof");
    assert_eq!(ConsistencyProof::from_bytes(&consistency.to_bytes()), Ok(consistency.clone()));
    let json = serde_json::to_string(&consistency).expect("json");
    assert_eq!(serde_json::from_str::<ConsistencyProof>(&json).expect("parses"), consistency);
}

#[test]
fn equal_and_empty_sizes_are_consistent_only_with_matching_roots() {
    let leaves = leaves(4);
    let root = reference::mth(&leaves);
    let other = node_hash(&root, &root);
    let same = ConsistencyProof { old_size: 4, new_size: 4, path: vec![] };
    verify_consistency(&same, 4, 4, &root, &root).expect("equal");
    assert!(matches!(
        verify_consistency(&same, 4, 4, &root, &other),
        Err(ProofError::RootMismatch { size: 4, .. })
    ));
    let from_empty = ConsistencyProof { old_size: 0, new_size: 4, path: vec![] };
    verify_consistency(&from_empty, 0, 4, &empty_root(), &root).expect("empty is a prefix");
    assert!(matches!(
        verify_consistency(&from_empty, 0, 4, &other, &root),
        Err(ProofError::RootMismatch { size: 0, .. })
    ));
    let padded = ConsistencyProof { old_size: 4, new_size: 4, path: vec![root] };
    assert_eq!(
        verify_consistency(&padded, 4, 4, &root, &root),
        Err(ProofError::PathLength { expected: 0, found: 1 })
    );
}
