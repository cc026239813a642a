//! Audit: verification, signed checkpoints, inclusion and consistency proofs.

use super::connection::{self, Connection, PageArgs, Window};
use super::event_type::EventType;
use super::views::view_meta;
use crate::auth::FieldGuard;
use crate::error::{ApiError, log_error};
use crate::state::AppState;
use async_graphql::{Context, Enum, Object, SimpleObject};
use std::sync::Arc;
use tally_domain::graphql::UnsignedInt64;
use tally_domain::time::Timestamp;
use tally_log::VerifyOptions;
use tally_log::tally_proof::checkpoint::SignedCheckpoint;

/// Outcome of a full verification of the store.
#[derive(Debug, Clone, SimpleObject)]
pub struct VerifyResult {
    /// Whether chain, indexes and tree all checked out.
    pub ok: bool,
    /// Frames whose chain hash was recomputed.
    pub frames_checked: UnsignedInt64,
    /// First seq checked.
    pub first_seq: UnsignedInt64,
    /// Last seq checked.
    pub last_seq: UnsignedInt64,
    /// Chain hash at the last seq, hex.
    pub head_hash: Option<String>,
    /// Merkle root recomputed from the frames, hex.
    pub root: Option<String>,
    /// Whether the indexes were checked.
    pub indexes_checked: bool,
    /// Why it failed (`CORRUPTION` for stored data that does not check out, `STORAGE` for an
    /// I/O failure).
    pub failure: Option<VerifyFailure>,
}

/// What kind of failure verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum VerifyFailureCode {
    /// Stored data does not check out (a broken chain, a wrong index or root).
    Corruption,
    /// An I/O failure while reading.
    Storage,
}

/// Why verification failed.
#[derive(Debug, Clone, SimpleObject)]
pub struct VerifyFailure {
    /// Corruption or storage.
    pub code: VerifyFailureCode,
    /// What was found, naming the seq.
    pub message: String,
}

/// A per-type event count of a checkpoint.
#[derive(Debug, Clone, SimpleObject)]
pub struct TypeCount {
    /// Event type.
    #[graphql(name = "type")]
    pub event_type: EventType,
    /// Events of that type up to the checkpoint.
    pub count: UnsignedInt64,
}

/// A signer of a checkpoint.
#[derive(Debug, Clone, SimpleObject)]
pub struct CheckpointSignature {
    /// Key name.
    pub name: String,
    /// `name+keyid`, hex.
    pub key: String,
}

/// A signed checkpoint: the note text and its parsed (not re-verified) fields.
#[derive(Debug, Clone, SimpleObject)]
pub struct Checkpoint {
    /// The signed note, verbatim (feed it to `tally verify --against`).
    pub text: String,
    /// The log's identity.
    pub origin: String,
    /// Tree size (events covered).
    pub size: UnsignedInt64,
    /// Merkle root, hex.
    pub root: String,
    /// Seq of the last covered event (= size).
    pub head_seq: UnsignedInt64,
    /// Chain hash at `head_seq`, hex.
    pub head_hash: String,
    /// When it was cut (null if the note's time is not RFC 3339).
    pub time: Option<Timestamp>,
    /// Event count per type.
    pub counts: Vec<TypeCount>,
    /// Signatures.
    pub signatures: Vec<CheckpointSignature>,
}

impl From<&SignedCheckpoint> for Checkpoint {
    fn from(signed: &SignedCheckpoint) -> Self {
        let c = signed.unverified();
        Self {
            text: signed.to_text(),
            origin: c.origin.clone(),
            size: UnsignedInt64(c.size),
            root: c.root.to_hex(),
            head_seq: UnsignedInt64(c.head_seq),
            head_hash: c.head_hash.to_hex(),
            time: Timestamp::parse_rfc3339(&c.time).ok(),
            // The counts name the log's own types, all known to the codec.
            counts: c
                .counts
                .iter()
                .filter_map(|(t, n)| {
                    EventType::parse(t)
                        .map(|t| TypeCount { event_type: t, count: UnsignedInt64(*n) })
                })
                .collect(),
            signatures: signed
                .signatures()
                .iter()
                .map(|s| CheckpointSignature { name: s.name.clone(), key: s.key_label() })
                .collect(),
        }
    }
}

/// Proof that an event is in the tree of the first `size` events.
#[derive(Debug, Clone, SimpleObject)]
pub struct InclusionProof {
    /// The event's seq.
    pub seq: UnsignedInt64,
    /// Its leaf index (seq − 1).
    pub index: UnsignedInt64,
    /// Tree size.
    pub size: UnsignedInt64,
    /// The event's chain hash (the leaf is its Merkle leaf hash), hex.
    pub event_hash: String,
    /// Root of the tree of `size`, hex.
    pub root: String,
    /// Audit path, hex, leaf to root.
    pub path: Vec<String>,
}

/// Proof that the tree of `newSize` extends the tree of `oldSize`.
#[derive(Debug, Clone, SimpleObject)]
pub struct ConsistencyProof {
    /// Older size.
    pub old_size: UnsignedInt64,
    /// Newer size.
    pub new_size: UnsignedInt64,
    /// Root at `oldSize`, hex.
    pub old_root: String,
    /// Root at `newSize`, hex.
    pub new_root: String,
    /// Proof path, hex.
    pub path: Vec<String>,
}

/// Audit queries.
#[derive(Debug, Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Verifies the whole store: chain, indexes, Merkle tree. Reads every frame: slow on a big
    /// store; it runs on a blocking thread, one verification at a time.
    #[graphql(guard = "FieldGuard(\"Query.verify\")")]
    async fn verify(&self, ctx: &Context<'_>) -> async_graphql::Result<VerifyResult> {
        let state = ctx.data_unchecked::<AppState>();
        let slot = Arc::clone(state.verify_slots())
            .acquire_owned()
            .await
            .map_err(|e| ApiError::internal("verify slot", &e))?;
        let log = state.log().clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            log.verify(VerifyOptions::full())
        })
        .await
        .map_err(|e| ApiError::internal("verify task", &e))?;
        Ok(match outcome {
            Ok(report) => VerifyResult {
                ok: true,
                frames_checked: UnsignedInt64(report.frames_checked),
                first_seq: UnsignedInt64(report.first_seq),
                last_seq: UnsignedInt64(report.last_seq),
                head_hash: Some(report.head_hash.to_hex()),
                root: report.root.map(|r| r.to_hex()),
                indexes_checked: report.indexes_checked,
                failure: None,
            },
            Err(e) => {
                tracing::warn!(error = %e, "verification failed");
                let code = if e.is_corruption() {
                    VerifyFailureCode::Corruption
                } else {
                    VerifyFailureCode::Storage
                };
                VerifyResult {
                    ok: false,
                    frames_checked: UnsignedInt64(0),
                    first_seq: UnsignedInt64(0),
                    last_seq: UnsignedInt64(0),
                    head_hash: None,
                    root: None,
                    indexes_checked: false,
                    failure: Some(VerifyFailure { code, message: e.to_string() }),
                }
            }
        })
    }

    /// Every stored checkpoint, oldest first (by size), paged.
    #[graphql(
        guard = "FieldGuard(\"Query.checkpoints\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    async fn checkpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<Checkpoint>> {
        let state = ctx.data_unchecked::<AppState>();
        let window = Window::<u64>::new(
            state.config(),
            "checkpoint",
            &PageArgs::new(first, after, last, before),
        )?;
        let log = state.log();
        let total = log.checkpoint_count().map_err(|e| log_error("checkpoints", &e))?;
        let meta = view_meta(log, log.head().seq)?;
        // One range read per page (and one probe for the other side), never every checkpoint.
        Ok(connection::paginate("checkpoint", &window, meta, Some(total), |direction, from, n| {
            let forward = direction == connection::Direction::Forward;
            let page = log
                .checkpoints_page(forward, from.copied(), n)
                .map_err(|e| log_error("checkpoints", &e))?;
            Ok(page.iter().map(|c| (c.unverified().size, Checkpoint::from(c))).collect())
        })?)
    }

    /// The checkpoint of the largest tree size, if any.
    #[graphql(guard = "FieldGuard(\"Query.latestCheckpoint\")")]
    async fn latest_checkpoint(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Checkpoint>> {
        let state = ctx.data_unchecked::<AppState>();
        let latest = state.log().latest_checkpoint().map_err(|e| log_error("checkpoint", &e))?;
        Ok(latest.as_ref().map(Checkpoint::from))
    }

    /// Proof that event `seq` is in the tree of the first `size` events (default: the head).
    #[graphql(guard = "FieldGuard(\"Query.inclusionProof\")")]
    async fn inclusion_proof(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event's seq.")] seq: UnsignedInt64,
        #[graphql(desc = "Tree size (default: the head).")] size: Option<UnsignedInt64>,
    ) -> async_graphql::Result<InclusionProof> {
        let state = ctx.data_unchecked::<AppState>();
        let log = state.log();
        let seq = seq.0;
        let size = size.map_or_else(|| log.head().seq, u64::from);
        if seq == 0 || seq > size {
            return Err(
                ApiError::invalid(format!("seq {seq} is not in a tree of size {size}")).into()
            );
        }
        let proof = log.inclusion_proof(seq, size).map_err(|e| log_error("inclusion proof", &e))?;
        let root = log.root_at(size).map_err(|e| log_error("root", &e))?;
        let event = log
            .get(seq)
            .map_err(|e| log_error("get event", &e))?
            .ok_or_else(|| ApiError::not_found(format!("no event at seq {seq}")))?;
        Ok(InclusionProof {
            seq: UnsignedInt64(seq),
            index: UnsignedInt64(proof.index),
            size: UnsignedInt64(proof.size),
            event_hash: event.hash().to_hex(),
            root: root.to_hex(),
            path: proof.path.iter().map(|d| d.to_hex()).collect(),
        })
    }

    /// Proof that the tree of `to` events extends the tree of `from` events.
    #[graphql(guard = "FieldGuard(\"Query.consistencyProof\")")]
    async fn consistency_proof(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The older tree size.")] from: UnsignedInt64,
        #[graphql(desc = "The newer tree size (default: the head).")] to: Option<UnsignedInt64>,
    ) -> async_graphql::Result<ConsistencyProof> {
        let state = ctx.data_unchecked::<AppState>();
        let log = state.log();
        let from = from.0;
        let to = to.map_or_else(|| log.head().seq, u64::from);
        if from > to {
            return Err(ApiError::invalid(format!("from {from} is after to {to}")).into());
        }
        let proof =
            log.consistency_proof(from, to).map_err(|e| log_error("consistency proof", &e))?;
        let old_root = log.root_at(from).map_err(|e| log_error("root", &e))?;
        let new_root = log.root_at(to).map_err(|e| log_error("root", &e))?;
        Ok(ConsistencyProof {
            old_size: UnsignedInt64(proof.old_size),
            new_size: UnsignedInt64(proof.new_size),
            old_root: old_root.to_hex(),
            new_root: new_root.to_hex(),
            path: proof.path.iter().map(|d| d.to_hex()).collect(),
        })
    }
}
