//! Long-running operations on the served store (`startOperation`, `operation`): see
//! [`crate::operations`].

use crate::auth::FieldGuard;
use crate::error::{ApiError, code};
use crate::operations::{self, OperationKind, Request, StartError};
use crate::state::AppState;
use async_graphql::{Context, Object, SimpleObject};
use std::sync::Arc;
use tally_domain::graphql::UnsignedInt64;
use tally_domain::time::Timestamp;

/// A file of an exported bundle.
#[derive(Debug, Clone, SimpleObject)]
pub struct BundleFile {
    /// Its name (`events.ndjson`, `checkpoints.txt`, `key.pub`).
    pub name: String,
    /// Its size in bytes.
    pub bytes: UnsignedInt64,
    /// Where to download it: `GET` this path on the server with the same bearer token.
    pub path: String,
}

/// The audit bundle an `EXPORT_BUNDLE` operation wrote (kept while the operation is kept and
/// no newer export has finished).
#[derive(Debug, Clone, SimpleObject)]
pub struct OperationBundle {
    /// Events in the bundle (seq 1 to this).
    pub event_count: UnsignedInt64,
    /// Signed checkpoints in the bundle; the newest signs the last event.
    pub checkpoint_count: UnsignedInt64,
    /// Chain hash of the last event, hex.
    pub head_hash: String,
    /// Its files, to download into one directory (`tally verify-bundle` reads it).
    pub files: Vec<BundleFile>,
}

/// A long-running operation: its progress while it runs, then its outcome.
#[derive(Debug, Clone)]
pub struct Operation(Arc<operations::Operation>);

/// A long-running operation (`startOperation`): its progress while it runs, then its outcome.
#[Object]
impl Operation {
    /// Its id, for `operation(id:)`.
    async fn id(&self) -> &str {
        &self.0.id
    }

    /// What it does.
    async fn kind(&self) -> OperationKind {
        self.0.kind
    }

    /// Whether it is still running.
    async fn running(&self) -> bool {
        self.0.running()
    }

    /// Events processed so far.
    async fn done_events(&self) -> UnsignedInt64 {
        UnsignedInt64(self.0.status().done)
    }

    /// Events to process (0 until the snapshot is taken).
    async fn total_events(&self) -> UnsignedInt64 {
        UnsignedInt64(self.0.status().total)
    }

    /// When it started.
    async fn started_at(&self) -> Timestamp {
        Timestamp::from_millis(self.0.started_at_ms)
    }

    /// When it ended (null while running).
    async fn finished_at(&self) -> Option<Timestamp> {
        self.0.status().finished_at_ms.map(Timestamp::from_millis)
    }

    /// Whether everything checked out: null while running; false when a problem was found
    /// (described in `report`) or the operation could not finish (`error`).
    async fn ok(&self) -> Option<bool> {
        self.0.status().outcome.map(|o| o.ok)
    }

    /// The report, line by line, as `tally` prints it (`ok: …` or `FAILED: …` lines); empty
    /// while running.
    async fn report(&self) -> Vec<String> {
        self.0.status().outcome.map(|o| o.report).unwrap_or_default()
    }

    /// Why the operation could not run to its end (null otherwise).
    async fn error(&self) -> Option<String> {
        self.0.status().outcome.and_then(|o| o.error)
    }

    /// The seq the outcome covers (the head of the snapshot it read); null while running.
    async fn seq(&self) -> Option<UnsignedInt64> {
        self.0.status().outcome.map(|o| UnsignedInt64(o.seq))
    }

    /// The bundle an `EXPORT_BUNDLE` wrote, while it is kept.
    async fn bundle(&self) -> Option<OperationBundle> {
        let bundle = self.0.bundle()?;
        Some(OperationBundle {
            event_count: UnsignedInt64(bundle.event_count),
            checkpoint_count: UnsignedInt64(u64::try_from(bundle.checkpoint_count).unwrap_or(0)),
            head_hash: bundle.head_hash.clone(),
            files: bundle
                .files
                .iter()
                .map(|(name, bytes)| BundleFile {
                    name: name.clone(),
                    bytes: UnsignedInt64(*bytes),
                    path: format!("/operations/{}/bundle/{name}", self.0.id),
                })
                .collect(),
        })
    }
}

/// An operation id's length at most (ids are short: kind, start time, counter).
const OPERATION_ID_BYTES_MAX: usize = 128;

/// `operation(id:)`.
#[derive(Debug, Default)]
pub struct OperationsQuery;

#[Object]
impl OperationsQuery {
    /// A long-running operation started by `startOperation`: its progress, then its outcome.
    /// The newest operations are kept (32); an unknown or forgotten id is `NOT_FOUND`.
    #[graphql(guard = "FieldGuard(\"Query.operation\")")]
    async fn operation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id `startOperation` answered.")] id: String,
    ) -> async_graphql::Result<Operation> {
        crate::schema::args::bounded("id", &id, OPERATION_ID_BYTES_MAX)?;
        let state = ctx.data_unchecked::<AppState>();
        let op = state
            .operations()
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("no operation '{id}'")))?;
        Ok(Operation(op))
    }
}

/// `startOperation`.
#[derive(Debug, Default)]
pub struct OperationsMutation;

#[Object]
impl OperationsMutation {
    /// Starts a long-running operation on the served store and answers at once; poll
    /// `operation(id:)` for progress and the outcome. It reads snapshots, so commands go on
    /// being appended meanwhile. One operation of each kind runs at a time: a second start is
    /// `OPERATION_RUNNING`. `against` (VERIFY only) is a saved signed checkpoint's text;
    /// `view` (REPLAY_CHECK only) checks one view.
    #[graphql(guard = "FieldGuard(\"Mutation.startOperation\")")]
    async fn start_operation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to run.")] kind: OperationKind,
        #[graphql(desc = "VERIFY: a signed checkpoint saved earlier (its note text); the log \
                          must still contain what it attests.")]
        against: Option<String>,
        #[graphql(desc = "REPLAY_CHECK: only this view.")] view: Option<String>,
    ) -> async_graphql::Result<Operation> {
        let state = ctx.data_unchecked::<AppState>();
        if let Some(text) = &against {
            const AGAINST_BYTES_MAX: usize = 64 * 1024;
            if kind != OperationKind::Verify {
                return Err(ApiError::invalid("against: only a VERIFY operation takes one").into());
            }
            crate::schema::args::bounded("against", text, AGAINST_BYTES_MAX)?;
        }
        if let Some(name) = &view {
            if kind != OperationKind::ReplayCheck {
                return Err(
                    ApiError::invalid("view: only a REPLAY_CHECK operation takes one").into()
                );
            }
            crate::schema::args::view_name("view", name)?;
        }
        let request = match kind {
            OperationKind::Verify => Request::Verify { against },
            OperationKind::ExportBundle => Request::ExportBundle,
            OperationKind::ReplayCheck => Request::ReplayCheck { view },
        };
        match operations::start(state, request) {
            Ok(op) => Ok(Operation(op)),
            Err(e @ StartError::Running { .. }) => {
                Err(ApiError::new(code::OPERATION_RUNNING, e.to_string()).into())
            }
            Err(e @ StartError::Invalid(_)) => Err(ApiError::invalid(e.to_string()).into()),
            Err(e) => Err(ApiError::new(code::UNAVAILABLE, e.to_string()).into()),
        }
    }
}
