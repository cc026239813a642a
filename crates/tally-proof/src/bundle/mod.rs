//! The offline verifier: recomputes chain and tree from a bundle's frames and checks every
//! checkpoint, that a checkpoint signed by the ledger's key covers the last event, and that
//! the log extends a checkpoint the auditor saved earlier.
//!
//! The chain and Merkle hashes use public constants: anyone can append frames to a bundle and
//! recompute them. Only a signature binds events to the ledger, so a bundle verifies only when
//! a signed checkpoint covers its **last** event. Events beyond the newest signed checkpoint are
//! an *unsigned tail*: refused ([`UnsignedTail::Refuse`]), or, on request
//! ([`UnsignedTail::Allow`]), counted in [`BundleReport::unsigned_event_count`] and verified for
//! chain consistency only. A bundle without a signed checkpoint of at least one event never
//! verifies.
//!
//! [`verify_log`] needs nothing but the bundle's contents and the public key, and holds
//! O(log n) digests whatever the log's length: the tree is kept as a [`Frontier`], plus the
//! few nodes the consistency proof to the trusted checkpoint needs.
//! [`dir`] reads the documented bundle directory layout.

pub mod dir;

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::hash::{Digest, GENESIS, chain_hash, leaf_hash};
use crate::merkle::{
    ConsistencyProof, Frontier, NodeId, NodeSource, ProofError, consistency_proof,
    verify_consistency,
};

/// What a bundle verification established.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BundleReport {
    /// Events verified (the head seq; 0 for an empty log).
    pub event_count: u64,
    /// Chain hash of the last event ([`GENESIS`] for an empty log).
    pub head_hash: Digest,
    /// Merkle root over all events.
    pub root: Digest,
    /// Checkpoints whose signature, root, head seq and chain hash were checked.
    pub checkpoints_verified: usize,
    /// The checkpoint with the largest tree size, if any.
    pub latest_checkpoint: Option<Checkpoint>,
    /// The consistency proof from the trusted checkpoint to the whole log, when one was given.
    pub trusted_proof: Option<ConsistencyProof>,
    /// Events covered by the newest signed checkpoint (its size).
    pub signed_event_count: u64,
    /// Events beyond the newest signed checkpoint: 0 unless [`UnsignedTail::Allow`] was given.
    pub unsigned_event_count: u64,
}

/// What to do with events beyond the newest signed checkpoint.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum UnsignedTail {
    /// Fail with [`BundleError::UnsignedTail`] (the default: nothing unsigned is evidence).
    #[default]
    Refuse,
    /// Verify them for chain consistency only and count them in
    /// [`BundleReport::unsigned_event_count`].
    Allow,
}

/// Verifies a log bundle.
///
/// `frames` yields `(seq, frame bytes, claimed chain hash)` in seq order. Checks, failing on
/// the first problem with a [`BundleError`] that names it:
/// 1. every checkpoint's signature by `key`, and that all share one origin;
/// 2. seqs run from 1 without gaps, and each claimed hash is `chain_hash(prev, frame)`;
/// 3. at each checkpoint's size: the recomputed Merkle root, head seq and head chain hash
///    equal the signed ones; no checkpoint is beyond the log's end;
/// 4. given `trusted` (a checkpoint the auditor verified and kept earlier): same origin, the
///    log reaches its size, its head chain hash matches, and a consistency proof from its
///    size to the log's size verifies against its root — today's log extends it;
/// 5. some checkpoint of at least one event is signed by `key`, and the newest one covers the
///    last event (unless `tail` is [`UnsignedTail::Allow`]); `trusted` is no larger than it,
///    so the trusted checkpoint is a prefix of (or equal to) a signed checkpoint in the bundle.
pub fn verify_log<E, I>(
    frames: I,
    checkpoints: &[SignedCheckpoint],
    key: &VerifyingKey,
    trusted: Option<&Checkpoint>,
    tail: UnsignedTail,
) -> Result<BundleReport, BundleError<E>>
where
    I: IntoIterator<Item = Result<(u64, Vec<u8>, Digest), E>>,
{
    let verified = verify_signatures(checkpoints, key, trusted)?;
    let mut pending: Vec<(usize, &Checkpoint)> = verified.iter().enumerate().collect();
    // Largest size last, so the next one due is popped off the end.
    pending.sort_by_key(|(index, checkpoint)| std::cmp::Reverse((checkpoint.size, *index)));

    let mut frontier = Frontier::new();
    let mut path_nodes = trusted.map(|trusted| PathNodes::new(trusted.size));
    let mut prev = GENESIS;
    let mut seq = 0u64;
    let mut trusted_head = GENESIS;
    check_due(&mut pending, 0, &frontier, &prev)?;
    for item in frames {
        let (found_seq, frame, claimed) =
            item.map_err(|source| BundleError::Read { after_seq: seq, source })?;
        let expected_seq = seq + 1;
        if found_seq != expected_seq {
            return Err(BundleError::SeqGap { expected: expected_seq, found: found_seq });
        }
        let computed = chain_hash(&prev, &frame);
        if computed != claimed {
            return Err(BundleError::ChainMismatch { seq: found_seq, computed, claimed });
        }
        seq = found_seq;
        prev = computed;
        let leaf = leaf_hash(&computed);
        match path_nodes.as_mut() {
            Some(nodes) => frontier.push_with(leaf, |id, digest| nodes.offer(id, digest)),
            None => frontier.push_with(leaf, |_, _| {}),
        }
        if trusted.is_some_and(|trusted| trusted.size == seq) {
            trusted_head = computed;
        }
        check_due(&mut pending, seq, &frontier, &prev)?;
    }
    if let Some(&(index, checkpoint)) = pending.last() {
        return Err(BundleError::CheckpointBeyondLog {
            checkpoint: label(index, checkpoint),
            event_count: seq,
        });
    }

    let root = frontier.root();
    let trusted_proof = match (trusted, path_nodes) {
        (Some(trusted), Some(mut nodes)) => {
            Some(check_trusted(trusted, &frontier, &mut nodes, trusted_head)?)
        }
        _ => None,
    };
    let latest_checkpoint = verified.iter().max_by_key(|checkpoint| checkpoint.size).cloned();
    let signed_event_count = latest_checkpoint.as_ref().map_or(0, |checkpoint| checkpoint.size);
    if signed_event_count == 0 {
        return Err(BundleError::NoSignedCheckpoint {
            checkpoint_count: verified.len(),
            event_count: seq,
        });
    }
    let unsigned_event_count = seq - signed_event_count;
    if unsigned_event_count > 0 && tail == UnsignedTail::Refuse {
        return Err(BundleError::UnsignedTail { signed_event_count, event_count: seq });
    }
    if let Some(trusted) = trusted
        && trusted.size > signed_event_count
    {
        return Err(BundleError::TrustedBeyondSigned {
            checkpoint: format!("trusted {}", trusted.describe()),
            signed_event_count,
        });
    }
    Ok(BundleReport {
        event_count: seq,
        head_hash: prev,
        root,
        checkpoints_verified: verified.len(),
        latest_checkpoint,
        trusted_proof,
        signed_event_count,
        unsigned_event_count,
    })
}

fn verify_signatures<E>(
    checkpoints: &[SignedCheckpoint],
    key: &VerifyingKey,
    trusted: Option<&Checkpoint>,
) -> Result<Vec<Checkpoint>, BundleError<E>> {
    let mut verified = Vec::with_capacity(checkpoints.len());
    for (index, signed) in checkpoints.iter().enumerate() {
        let checkpoint = signed.verify(key).map_err(|source| BundleError::CheckpointSignature {
            checkpoint: label(index, signed.unverified()),
            source,
        })?;
        let origin = trusted
            .map_or(verified.first().map(|c: &Checkpoint| c.origin.as_str()), |t| {
                Some(t.origin.as_str())
            });
        if let Some(origin) = origin
            && checkpoint.origin != origin
        {
            return Err(BundleError::CheckpointOrigin {
                checkpoint: label(index, &checkpoint),
                expected: origin.to_owned(),
                found: checkpoint.origin.clone(),
            });
        }
        // A log has one tree per size: two notes of one size are a malformed bundle, even
        // when they agree.
        if let Some(first) = verified.iter().position(|c| c.size == checkpoint.size) {
            return Err(BundleError::CheckpointDuplicate {
                checkpoint: label(index, &checkpoint),
                first: first + 1,
            });
        }
        verified.push(checkpoint);
    }
    Ok(verified)
}

/// Checks every pending checkpoint whose size is `seq`.
fn check_due<E>(
    pending: &mut Vec<(usize, &Checkpoint)>,
    seq: u64,
    frontier: &Frontier,
    head_hash: &Digest,
) -> Result<(), BundleError<E>> {
    while let Some(&(index, checkpoint)) = pending.last() {
        if checkpoint.size != seq {
            break;
        }
        pending.pop();
        if checkpoint.head_seq != checkpoint.size {
            return Err(BundleError::CheckpointHead {
                checkpoint: label(index, checkpoint),
                head_seq: checkpoint.head_seq,
            });
        }
        let recomputed = frontier.root();
        if checkpoint.root != recomputed {
            return Err(BundleError::CheckpointRoot {
                checkpoint: label(index, checkpoint),
                signed: checkpoint.root,
                recomputed,
            });
        }
        if checkpoint.head_hash != *head_hash {
            return Err(BundleError::CheckpointChain {
                checkpoint: label(index, checkpoint),
                signed: checkpoint.head_hash,
                recomputed: *head_hash,
            });
        }
    }
    Ok(())
}

fn check_trusted<E>(
    trusted: &Checkpoint,
    frontier: &Frontier,
    nodes: &mut PathNodes,
    trusted_head: Digest,
) -> Result<ConsistencyProof, BundleError<E>> {
    let describe = || format!("trusted {}", trusted.describe());
    let size = frontier.size();
    if trusted.size > size {
        return Err(BundleError::TrustedBeyondLog { checkpoint: describe(), event_count: size });
    }
    if trusted.head_seq != trusted.size {
        return Err(BundleError::CheckpointHead {
            checkpoint: describe(),
            head_seq: trusted.head_seq,
        });
    }
    // The ragged right edge of the whole tree is made of the final frontier's roots.
    for (id, digest) in frontier.root_ids().zip(frontier.roots()) {
        nodes.nodes.insert(id, *digest);
    }
    let proof = consistency_proof(&*nodes, trusted.size, size).map_err(|error| {
        BundleError::Internal { reason: format!("building the consistency proof: {error}") }
    })?;
    let root = frontier.root();
    verify_consistency(&proof, trusted.size, size, &trusted.root, &root)
        .map_err(|source| BundleError::TrustedNotExtended { checkpoint: describe(), source })?;
    if trusted.head_hash != trusted_head {
        return Err(BundleError::CheckpointChain {
            checkpoint: describe(),
            signed: trusted.head_hash,
            recomputed: trusted_head,
        });
    }
    Ok(proof)
}

/// The nodes a consistency proof from `old_size` needs: the old tree's last leaf's ancestors
/// and their siblings. Everything else [`Frontier::push`] completes is dropped.
#[derive(Debug)]
struct PathNodes {
    last_leaf: Option<u64>,
    nodes: HashMap<NodeId, Digest>,
}

impl PathNodes {
    fn new(old_size: u64) -> Self {
        Self { last_leaf: old_size.checked_sub(1), nodes: HashMap::new() }
    }

    fn offer(&mut self, id: NodeId, digest: Digest) {
        let Some(last_leaf) = self.last_leaf else { return };
        let ancestor = last_leaf.checked_shr(u32::from(id.level)).unwrap_or(0);
        if id.index == ancestor || id.index == ancestor ^ 1 {
            self.nodes.insert(id, digest);
        }
    }
}

impl NodeSource for PathNodes {
    type Error = NodeId;

    fn node(&self, level: u8, index: u64) -> Result<Digest, NodeId> {
        let id = NodeId::new(level, index);
        self.nodes.get(&id).copied().ok_or(id)
    }
}

fn label(index: usize, checkpoint: &Checkpoint) -> String {
    format!("checkpoint #{} ({})", index + 1, checkpoint.describe())
}

/// Why a bundle failed verification. Each variant names the seq or checkpoint that failed and,
/// where there is one, the expected and found values. Checkpoints are named
/// `checkpoint #i (checkpoint size N at TIME)` with `i` their 1-based position in the bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError<E> {
    /// The frame source failed.
    #[error("reading the event after seq {after_seq}")]
    Read {
        /// The last seq read successfully.
        after_seq: u64,
        /// The source's error.
        #[source]
        source: E,
    },
    /// Seqs do not run from 1 without gaps.
    #[error("event seq {found} where seq {expected} was expected (seqs start at 1, without gaps)")]
    SeqGap {
        /// The seq due.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// A frame's recomputed chain hash is not the one the bundle claims.
    #[error("chain hash of seq {seq} mismatch: recomputed {computed}, bundle says {claimed}")]
    ChainMismatch {
        /// The frame's seq.
        seq: u64,
        /// `chain_hash(prev, frame)`.
        computed: Digest,
        /// The hash in the bundle.
        claimed: Digest,
    },
    /// A checkpoint's signature does not verify.
    #[error("{checkpoint}: {source}")]
    CheckpointSignature {
        /// Which checkpoint.
        checkpoint: String,
        /// Why.
        #[source]
        source: CheckpointError,
    },
    /// A checkpoint is for another log.
    #[error("{checkpoint} is for origin '{found}', expected '{expected}'")]
    CheckpointOrigin {
        /// Which checkpoint.
        checkpoint: String,
        /// The origin of the first (or trusted) checkpoint.
        expected: String,
        /// Its origin.
        found: String,
    },
    /// A checkpoint's head seq is not its tree size.
    #[error("{checkpoint} has head seq {head_seq}, expected its tree size")]
    CheckpointHead {
        /// Which checkpoint.
        checkpoint: String,
        /// The signed head seq.
        head_seq: u64,
    },
    /// The Merkle root recomputed from the events is not the signed one: the events up to the
    /// checkpoint's size were altered after it was signed.
    #[error("{checkpoint} root mismatch: signed {signed}, recomputed {recomputed} from the events")]
    CheckpointRoot {
        /// Which checkpoint.
        checkpoint: String,
        /// The root in the checkpoint.
        signed: Digest,
        /// The root of the bundle's events.
        recomputed: Digest,
    },
    /// The chain hash at the checkpoint's head is not the signed one.
    #[error("{checkpoint} head chain hash mismatch: signed {signed}, recomputed {recomputed}")]
    CheckpointChain {
        /// Which checkpoint.
        checkpoint: String,
        /// The hash in the checkpoint.
        signed: Digest,
        /// The bundle's chain hash at that seq.
        recomputed: Digest,
    },
    /// A checkpoint covers more events than the bundle holds.
    #[error("{checkpoint} is beyond the end of the log at {event_count} events")]
    CheckpointBeyondLog {
        /// Which checkpoint.
        checkpoint: String,
        /// Events in the bundle.
        event_count: u64,
    },
    /// The trusted checkpoint covers more events than the bundle holds: the log was truncated.
    #[error(
        "{checkpoint} is beyond the end of the log at {event_count} events: the log was truncated"
    )]
    TrustedBeyondLog {
        /// The trusted checkpoint.
        checkpoint: String,
        /// Events in the bundle.
        event_count: u64,
    },
    /// The consistency proof from the trusted checkpoint fails: the log does not extend it.
    #[error("the log does not extend the {checkpoint}: {source}")]
    TrustedNotExtended {
        /// The trusted checkpoint.
        checkpoint: String,
        /// Why the proof failed.
        #[source]
        source: ProofError,
    },
    /// Two checkpoints of the bundle have the same tree size.
    #[error("{checkpoint} has the same tree size as checkpoint #{first}")]
    CheckpointDuplicate {
        /// The later one.
        checkpoint: String,
        /// 1-based position of the first one.
        first: usize,
    },
    /// No checkpoint of at least one event is signed by the key: nothing in the bundle is
    /// attested by the ledger (the chain alone can be computed by anyone).
    #[error(
        "no checkpoint signed by the key covers any event ({checkpoint_count} signed checkpoints \
         of size 0 or none, {event_count} events): the bundle proves nothing"
    )]
    NoSignedCheckpoint {
        /// Checkpoints verified (all of size 0).
        checkpoint_count: usize,
        /// Events in the bundle.
        event_count: u64,
    },
    /// Events beyond the newest signed checkpoint: anyone can append to a chain, so they are
    /// not evidence.
    #[error(
        "{} events (seq {} to {event_count}) are beyond the newest signed checkpoint (size \
         {signed_event_count}): no signature covers them",
        event_count - signed_event_count,
        signed_event_count + 1
    )]
    UnsignedTail {
        /// Events the newest signed checkpoint covers.
        signed_event_count: u64,
        /// Events in the bundle.
        event_count: u64,
    },
    /// The trusted checkpoint is larger than every signed checkpoint in the bundle, so it is
    /// not a prefix of (or equal to) one of them.
    #[error(
        "{checkpoint} is beyond the newest signed checkpoint of the bundle (size \
         {signed_event_count})"
    )]
    TrustedBeyondSigned {
        /// The trusted checkpoint.
        checkpoint: String,
        /// Events the newest signed checkpoint covers.
        signed_event_count: u64,
    },
    /// A bug in this crate, not a property of the bundle.
    #[error("internal error: {reason}")]
    Internal {
        /// What went wrong.
        reason: String,
    },
}
