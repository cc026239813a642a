//! View answers and where projection queries plug in.
//!
//! Every view answer carries a [`ViewMeta`]: the seq it reflects and the newest signed
//! checkpoint covering it. A projection query (inventory/ATS, orders, fill rate, KPIs, audit
//! trail, lots, finance) is written as:
//!
//! ```text
//! #[graphql(guard = "FieldGuard(\"Query.ats\")")]          // + a row in auth::FIELD_ROLES
//! async fn ats(&self, ctx: &Context<'_>, sku: String, as_of: Option<AsOf>)
//!     -> async_graphql::Result<AtsAnswer> {
//!     let state = ctx.data_unchecked::<AppState>();
//!     let view = read_view(state, "inventory", as_of).await?;   // live, or replayed as of
//!     let rows = view.reader.scan_typed::<Row>(prefix)?;        // typed reads of the view
//!     Ok(AtsAnswer { meta: view.meta, rows })                   // meta on every answer
//! }
//! ```
//!
//! in its own `#[Object]` struct in this directory, added to `Query` in `schema/mod.rs`.

use super::proofs::Checkpoint;
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult, code, log_error};
use crate::state::AppState;
use async_graphql::{Context, Object, OneofObject, SimpleObject};
use chrono::{DateTime, Utc};
use tally_log::Log;
use tally_projections::{ViewReader, ViewStore};

/// Events a view could not apply (quarantined): its answers leave them out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, SimpleObject)]
pub struct QuarantineSummary {
    /// How many events up to `meta.seq` the view quarantined (0 when its answers are whole).
    pub count: u64,
    /// The first of them (see `quarantined(view:)`); null when there is none.
    pub first_seq: Option<u64>,
}

/// What a view answer reflects.
#[derive(Debug, Clone, SimpleObject)]
pub struct ViewMeta {
    /// The seq the answer reflects: every event up to it, none after.
    pub seq: u64,
    /// The durable head when the answer was made (`headSeq − seq` = how far behind).
    pub head_seq: u64,
    /// The newest stored checkpoint with size ≤ `seq`: the signed state this answer can be
    /// tied to (with a consistency proof from it to `seq`). Null when none is that old.
    /// Checkpoints are audit data: admin and auditor only (`FORBIDDEN` for other roles, the
    /// rest of the answer unchanged).
    #[graphql(guard = "FieldGuard(\"ViewMeta.checkpoint\")")]
    pub checkpoint: Option<Checkpoint>,
    /// Events the view(s) behind this answer could not apply up to `seq`. When `count` is
    /// not 0 the answer is incomplete: it leaves those events out.
    pub quarantined: QuarantineSummary,
    /// Set when the views stopped applying events after a storage failure: the answer is
    /// stale (`seq` will not move) until the server is restarted.
    pub views_stopped: Option<String>,
}

/// The message an answer carries while the views are stopped (details are in the log).
pub const VIEWS_STOPPED: &str = "the views stopped after a storage failure; restart the server to resume from their checkpoints";

/// Builds the meta of an answer reflecting `seq` that no view quarantine applies to.
pub fn view_meta(log: &Log, seq: u64) -> ApiResult<ViewMeta> {
    let head_seq = log.head().seq;
    // Checkpoints are few (one per 10 000 events by default); a lookup by size in tally-log
    // would make this O(log n).
    let all = log.checkpoints().map_err(|e| log_error("checkpoints", &e))?;
    let checkpoint = all.iter().rev().find(|c| c.unverified().size <= seq).map(Checkpoint::from);
    Ok(ViewMeta {
        seq,
        head_seq,
        checkpoint,
        quarantined: QuarantineSummary::default(),
        views_stopped: None,
    })
}

/// The meta of an answer read from `reader` (a view's snapshot), with its quarantine.
fn reader_meta(
    state: &AppState,
    name: &str,
    reader: &ViewReader,
    live: bool,
) -> ApiResult<ViewMeta> {
    let mut meta = view_meta(state.engine().log(), reader.applied())?;
    let (count, first_seq) = reader.quarantine_summary().map_err(|e| view_error(name, &e))?;
    meta.quarantined = QuarantineSummary { count, first_seq };
    if live && state.engine().views().failure().is_some() {
        meta.views_stopped = Some(VIEWS_STOPPED.to_owned());
    }
    Ok(meta)
}

/// When a view answer should be taken: at a seq, or at the last event recorded by a time.
#[derive(Debug, Clone, OneofObject)]
pub enum AsOf {
    /// After this seq.
    Seq(u64),
    /// After the last event recorded at or before this time.
    Time(DateTime<Utc>),
}

/// The seq `as_of` designates (clamped to the head).
pub fn resolve_as_of(log: &Log, as_of: &AsOf) -> ApiResult<u64> {
    let head = log.head().seq;
    match as_of {
        AsOf::Seq(seq) => Ok((*seq).min(head)),
        AsOf::Time(time) => {
            let at = time.timestamp_millis();
            // recorded_at is non-decreasing along seq: binary search the last seq ≤ `at`.
            let (mut lo, mut hi) = (0u64, head);
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                let recorded = log
                    .get(mid)
                    .map_err(|e| log_error("as of", &e))?
                    .map_or(i64::MAX, |e| e.recorded_at_ms());
                if recorded <= at {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            Ok(lo)
        }
    }
}

/// A consistent read of one view, with what it reflects.
#[derive(Debug)]
pub struct ViewRead {
    /// The snapshot to read from.
    pub reader: ViewReader,
    /// What it reflects.
    pub meta: ViewMeta,
    /// Keeps a replayed (as-of) store alive while it is read.
    _replayed: Option<ViewStore>,
}

/// Reads view `name` now, or as of an earlier point by replaying the log into a temporary
/// store (cost: every event up to that point; runs on a blocking thread).
pub async fn read_view(state: &AppState, name: &str, as_of: Option<AsOf>) -> ApiResult<ViewRead> {
    let engine = state.engine();
    let views = engine.views();
    let live = views.reader(name).map_err(|e| view_error(name, &e))?;
    let target = match &as_of {
        None => None,
        Some(a) => Some(resolve_as_of(engine.log(), a)?),
    };
    match target {
        Some(seq) if seq != live.applied() => {
            let log = engine.log().clone();
            let projections = state.projections().to_vec();
            if !projections.iter().any(|p| p.name() == name) {
                return Err(ApiError::not_found(format!("view '{name}' cannot be replayed")));
            }
            let store = tokio::task::spawn_blocking(move || {
                ViewStore::replay_as_of(&log, projections, seq, &mut |_, _| {})
            })
            .await
            .map_err(|e| ApiError::internal("replay task", &e))?
            .map_err(|e| ApiError::internal("replay", &e))?;
            let reader = store.reader(name).map_err(|e| view_error(name, &e))?;
            let meta = reader_meta(state, name, &reader, false)?;
            Ok(ViewRead { reader, meta, _replayed: Some(store) })
        }
        _ => {
            let meta = reader_meta(state, name, &live, true)?;
            Ok(ViewRead { reader: live, meta, _replayed: None })
        }
    }
}

/// A projection error as an API error: `NOT_FOUND` for an unknown view, `INTERNAL` otherwise.
pub(crate) fn view_error(name: &str, e: &tally_projections::Error) -> ApiError {
    match e {
        tally_projections::Error::UnknownView(_) => {
            ApiError::not_found(format!("unknown view '{name}'"))
        }
        tally_projections::Error::KeyTooLong(_) => ApiError::invalid(e.to_string()),
        _ => ApiError::internal("view read", e),
    }
}

/// One projection's progress.
#[derive(Debug, Clone, SimpleObject)]
pub struct ViewStatus {
    /// The projection's name.
    pub name: String,
    /// The last seq it has applied.
    pub applied_seq: u64,
    /// Head − applied.
    pub lag_events: u64,
    /// Events it could not apply (see `quarantined`).
    pub quarantined_count: u64,
    /// The first of them; null when there is none.
    pub quarantined_first_seq: Option<u64>,
}

/// The projections and where they stand.
#[derive(Debug, Clone, SimpleObject)]
pub struct ViewsAnswer {
    /// Reflects the smallest applied seq over all views.
    pub meta: ViewMeta,
    /// Each projection.
    pub views: Vec<ViewStatus>,
}

/// An event a projection could not apply.
#[derive(Debug, Clone, SimpleObject)]
pub struct QuarantinedEvent {
    /// Its seq.
    pub seq: u64,
    /// Why the projection refused it.
    pub reason: String,
}

/// Events one projection could not apply.
#[derive(Debug, Clone, SimpleObject)]
pub struct QuarantinedAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The view.
    pub view: String,
    /// Total quarantined.
    pub total: u64,
    /// The first ones, by seq (at most the page size limit).
    pub events: Vec<QuarantinedEvent>,
}

/// Submissions and rejections of one source and command type.
#[derive(Debug, Clone, SimpleObject)]
pub struct SubmissionStat {
    /// Where the commands came from.
    pub source: String,
    /// Command type.
    pub command_type: String,
    /// Submissions decided.
    pub submitted: u64,
    /// Of which rejected.
    pub rejected: u64,
    /// Integration failure rate: rejected / submitted.
    pub failure_rate: f64,
}

/// Rejections of one code.
#[derive(Debug, Clone, SimpleObject)]
pub struct CodeCount {
    /// The rejection code.
    pub code: String,
    /// How many.
    pub count: u64,
}

/// The integration failure rate (DOMAIN.md §5) since the engine opened.
#[derive(Debug, Clone, SimpleObject)]
pub struct SubmissionStats {
    /// Reflects the head (the counters are kept by the engine, not by a projection).
    pub meta: ViewMeta,
    /// Per source and command type.
    pub rows: Vec<SubmissionStat>,
    /// Rejections per code.
    pub rejections_by_code: Vec<CodeCount>,
}

/// Who the token belongs to.
#[derive(Debug, Clone, SimpleObject)]
pub struct Whoami {
    /// The token's name (the actor of commands it submits).
    pub name: String,
    /// Its role.
    pub role: crate::auth::Role,
}

/// View queries that work without projection modules.
#[derive(Debug, Default)]
pub struct ViewsQuery;

#[Object]
impl ViewsQuery {
    /// The projections and how far each has applied the log.
    #[graphql(guard = "FieldGuard(\"Query.views\")")]
    async fn views(&self, ctx: &Context<'_>) -> async_graphql::Result<ViewsAnswer> {
        let state = ctx.data_unchecked::<AppState>();
        let engine = state.engine();
        let head = engine.log().head().seq;
        let mut views = Vec::new();
        let mut all = QuarantineSummary::default();
        for name in engine.views().names() {
            let applied = engine.views().applied(name).map_err(|e| view_error(name, &e))?;
            let quarantined = engine.views().quarantined(name).map_err(|e| view_error(name, &e))?;
            let count = u64::try_from(quarantined.len()).unwrap_or(u64::MAX);
            let first = quarantined.first().map(|(seq, _)| *seq);
            all.count = all.count.saturating_add(count);
            all.first_seq = match (all.first_seq, first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            views.push(ViewStatus {
                name: name.to_owned(),
                applied_seq: applied,
                lag_events: head.saturating_sub(applied),
                quarantined_count: count,
                quarantined_first_seq: first,
            });
        }
        let low = if views.is_empty() { head } else { engine.views().low_water() };
        let mut meta = view_meta(engine.log(), low)?;
        meta.quarantined = all;
        if engine.views().failure().is_some() {
            meta.views_stopped = Some(VIEWS_STOPPED.to_owned());
        }
        Ok(ViewsAnswer { meta, views })
    }

    /// Events the view `view` could not apply.
    #[graphql(guard = "FieldGuard(\"Query.quarantined\")")]
    async fn quarantined(
        &self,
        ctx: &Context<'_>,
        view: String,
    ) -> async_graphql::Result<QuarantinedAnswer> {
        let state = ctx.data_unchecked::<AppState>();
        super::args::view_name("view", &view)?;
        let views = state.engine().views();
        let applied = views.applied(&view).map_err(|e| view_error(&view, &e))?;
        let all = views.quarantined(&view).map_err(|e| view_error(&view, &e))?;
        let total = u64::try_from(all.len()).unwrap_or(u64::MAX);
        let first_seq = all.first().map(|(seq, _)| *seq);
        let events = all
            .into_iter()
            .take(state.config().page_size_max)
            .map(|(seq, reason)| QuarantinedEvent { seq, reason })
            .collect();
        let mut meta = view_meta(state.log(), applied)?;
        meta.quarantined = QuarantineSummary { count: total, first_seq };
        if views.failure().is_some() {
            meta.views_stopped = Some(VIEWS_STOPPED.to_owned());
        }
        Ok(QuarantinedAnswer { meta, view, total, events })
    }

    /// Submissions and rejections per source and command type since the engine opened.
    #[graphql(guard = "FieldGuard(\"Query.submissionStats\")")]
    async fn submission_stats(&self, ctx: &Context<'_>) -> async_graphql::Result<SubmissionStats> {
        let state = ctx.data_unchecked::<AppState>();
        let engine = state.engine();
        #[expect(clippy::cast_precision_loss, reason = "a rate; counts far below 2^53")]
        let rows = engine
            .submission_counts()
            .into_iter()
            .map(|((source, command_type), c)| SubmissionStat {
                source,
                command_type,
                submitted: c.submitted,
                rejected: c.rejected,
                failure_rate: if c.submitted == 0 {
                    0.0
                } else {
                    c.rejected as f64 / c.submitted as f64
                },
            })
            .collect();
        let rejections_by_code = engine
            .rejections_by_code()
            .into_iter()
            .map(|(code, count)| CodeCount { code: code.to_owned(), count })
            .collect();
        let head = engine.log().head().seq;
        Ok(SubmissionStats { meta: view_meta(engine.log(), head)?, rows, rejections_by_code })
    }

    /// The caller's token name and role.
    #[graphql(guard = "FieldGuard(\"Query.whoami\")")]
    async fn whoami(&self, ctx: &Context<'_>) -> async_graphql::Result<Whoami> {
        let auth = ctx.data_opt::<crate::auth::Auth>().unwrap_or(&crate::auth::Auth::Anonymous);
        match auth {
            crate::auth::Auth::Caller(c) => Ok(Whoami { name: c.name.clone(), role: c.role }),
            _ => Err(ApiError::new(code::UNAUTHENTICATED, "a bearer token is required").into()),
        }
    }
}
