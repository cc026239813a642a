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

use super::connection::{self, Connection, PageArgs, Window};
use super::proofs::Checkpoint;
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult, code, log_error};
use crate::state::AppState;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::money::{PPM_PER_WHOLE, Rate};
use tally_domain::time::{Date, Timestamp};
use tally_log::Log;
use tally_projections::{ViewReader, ViewStore};

/// Events a view could not apply (quarantined): its answers leave them out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, SimpleObject)]
pub struct QuarantineSummary {
    /// How many events up to `meta.seq` the view quarantined (0 when its answers are whole).
    pub count: UnsignedInt64,
    /// The first of them (see `quarantined(view:)`); null when there is none.
    pub first_seq: Option<UnsignedInt64>,
}

/// What a view answer reflects.
#[derive(Debug, Clone, SimpleObject)]
pub struct ViewMeta {
    /// The seq the answer reflects: every event up to it, none after.
    pub seq: UnsignedInt64,
    /// The durable head when the answer was made (`headSeq − seq` = how far behind).
    pub head_seq: UnsignedInt64,
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
    /// The business time the answer is as of (`asOf.occurredAt`): it counts only the events
    /// up to `seq` that occurred by then. Null for answers in log time.
    pub occurred_at: Option<Timestamp>,
}

/// The message an answer carries while the views are stopped (details are in the log).
pub const VIEWS_STOPPED: &str = "the views stopped after a storage failure; restart the server to resume from their checkpoints";

/// Builds the meta of an answer reflecting `seq` that no view quarantine applies to.
pub fn view_meta(log: &Log, seq: u64) -> ApiResult<ViewMeta> {
    let head_seq = log.head().seq;
    // One seek (issue #16: this ran on every answer and parsed every stored checkpoint).
    let checkpoint = log
        .checkpoint_at_or_below(seq)
        .map_err(|e| log_error("checkpoint", &e))?
        .as_ref()
        .map(Checkpoint::from);
    Ok(ViewMeta {
        seq: UnsignedInt64(seq),
        head_seq: UnsignedInt64(head_seq),
        checkpoint,
        quarantined: QuarantineSummary::default(),
        views_stopped: None,
        occurred_at: None,
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
    meta.quarantined = summary(count, first_seq);
    if live && state.engine().views().failure().is_some() {
        meta.views_stopped = Some(VIEWS_STOPPED.to_owned());
    }
    Ok(meta)
}

/// A quarantine summary of `count` events, the first at `first_seq`.
#[must_use]
pub fn summary(count: u64, first_seq: Option<u64>) -> QuarantineSummary {
    QuarantineSummary { count: UnsignedInt64(count), first_seq: first_seq.map(UnsignedInt64) }
}

/// When a view answer should be taken, on two time axes (see docs/api.md "History"):
/// - **log time** (what the ledger knew): `seq`, or `recordedAt` — the last event recorded at
///   or before that time. At most one of them; default: now (the head).
/// - **business time** (what had happened): `occurredAt` — only the events that occurred at or
///   before that time, among those known at the log time above. A fact recorded late (a 3PL
///   snapshot for yesterday, a settlement for last month) counts at the time it occurred.
///
/// Answers in log time read the views' history (seeks, not a replay); answers in business
/// time replay the events they count into a temporary store.
#[derive(Debug, Clone, Default, InputObject)]
pub struct AsOf {
    /// After this seq (clamped to the head).
    pub seq: Option<UnsignedInt64>,
    /// After the last event recorded at or before this time.
    pub recorded_at: Option<Timestamp>,
    /// The former name of `recordedAt` (same meaning).
    #[graphql(deprecation = "use recordedAt")]
    pub time: Option<Timestamp>,
    /// Business time: count only the events that occurred at or before this time.
    pub occurred_at: Option<Timestamp>,
}

impl AsOf {
    /// The business day the answer is about: the day of `occurredAt`, else of `recordedAt`.
    #[must_use]
    pub fn day(&self) -> Option<Date> {
        self.occurred_at.or(self.recorded_at).or(self.time).map(|t| t.date())
    }
}

/// An `asOf` resolved against the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// Log time: the answer reflects events up to this seq (clamped to the head).
    pub seq: u64,
    /// Business time: only events that occurred by then (ms since the epoch).
    pub occurred_by_ms: Option<i64>,
}

/// What `as_of` designates: `INVALID_INPUT` when it names two log times or none at all.
pub fn resolve_as_of(log: &Log, as_of: &AsOf) -> ApiResult<Resolved> {
    let head = log.head().seq;
    let log_times = [as_of.seq.is_some(), as_of.recorded_at.is_some(), as_of.time.is_some()];
    if log_times.iter().filter(|given| **given).count() > 1 {
        return Err(ApiError::invalid(
            "asOf takes one log time: seq or recordedAt, not both".to_owned(),
        ));
    }
    let seq = match (as_of.seq, as_of.recorded_at.or(as_of.time)) {
        (Some(seq), _) => seq.0.min(head),
        // recorded_at is non-decreasing along seq: binary search the last seq ≤ `at`.
        (None, Some(time)) => super::log::last_seq_recorded_by(log, time.millis())?,
        (None, None) if as_of.occurred_at.is_some() => head,
        (None, None) => {
            return Err(ApiError::invalid("asOf needs seq, recordedAt or occurredAt".to_owned()));
        }
    };
    Ok(Resolved { seq, occurred_by_ms: as_of.occurred_at.map(Timestamp::millis) })
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

/// Reads view `name` now, or as of an earlier point:
/// - in log time (`seq`/`recordedAt`), from the view's history: seeks whose cost does not
///   grow with the length of history (a replay of the log only for a view whose history does
///   not reach back that far: one built before history was kept);
/// - in business time (`occurredAt`), by replaying the events it counts into a temporary
///   store on a blocking thread (cost: every event up to the log time).
pub async fn read_view(state: &AppState, name: &str, as_of: Option<AsOf>) -> ApiResult<ViewRead> {
    let engine = state.engine();
    let views = engine.views();
    let live = views.reader(name).map_err(|e| view_error(name, &e))?;
    let Some(as_of) = as_of else {
        let meta = reader_meta(state, name, &live, true)?;
        return Ok(ViewRead { reader: live, meta, _replayed: None });
    };
    let target = resolve_as_of(engine.log(), &as_of)?;
    if let Some(occurred_by_ms) = target.occurred_by_ms {
        let mut read = replayed(state, name, target.seq, Some(occurred_by_ms)).await?;
        read.meta.occurred_at = Some(Timestamp::from_millis(occurred_by_ms));
        return Ok(read);
    }
    if target.seq == live.applied() {
        let meta = reader_meta(state, name, &live, true)?;
        return Ok(ViewRead { reader: live, meta, _replayed: None });
    }
    drop(live);
    let mut historical = views.reader_at(name, target.seq);
    if matches!(historical, Err(tally_projections::Error::Lagging { .. })) {
        // The view is behind the seq asked for: it catches up in moments.
        if views.wait_for(target.seq, AS_OF_WAIT).await.is_ok() {
            historical = views.reader_at(name, target.seq);
        }
    }
    match historical {
        Ok(reader) => {
            let meta = reader_meta(state, name, &reader, false)?;
            Ok(ViewRead { reader, meta, _replayed: None })
        }
        Err(
            tally_projections::Error::NoHistory { .. } | tally_projections::Error::Lagging { .. },
        ) => replayed(state, name, target.seq, None).await,
        Err(e) => Err(view_error(name, &e)),
    }
}

/// How long an answer as of a seq the views have not applied yet waits for them before it
/// replays the log instead.
const AS_OF_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// View `name` replayed from the log up to `seq` into a temporary store (only the events that
/// occurred by `occurred_by_ms` when given).
async fn replayed(
    state: &AppState,
    name: &str,
    seq: u64,
    occurred_by_ms: Option<i64>,
) -> ApiResult<ViewRead> {
    let log = state.engine().log().clone();
    let projections = state.projections().to_vec();
    if !projections.iter().any(|p| p.name() == name) {
        return Err(ApiError::not_found(format!("view '{name}' cannot be replayed")));
    }
    let store = tokio::task::spawn_blocking(move || match occurred_by_ms {
        None => ViewStore::replay_as_of(&log, projections, seq, &mut |_, _| {}),
        Some(by) => ViewStore::replay_occurred_by(&log, projections, seq, by, &mut |_, _| {}),
    })
    .await
    .map_err(|e| ApiError::internal("replay task", &e))?
    .map_err(|e| ApiError::internal("replay", &e))?;
    let reader = store.reader(name).map_err(|e| view_error(name, &e))?;
    let meta = reader_meta(state, name, &reader, false)?;
    Ok(ViewRead { reader, meta, _replayed: Some(store) })
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
    pub applied_seq: UnsignedInt64,
    /// Head − applied.
    pub lag_events: UnsignedInt64,
    /// Events it could not apply (see `quarantined`).
    pub quarantined_count: UnsignedInt64,
    /// The first of them; null when there is none.
    pub quarantined_first_seq: Option<UnsignedInt64>,
    /// The online rebuild started by `rebuildView` (running, or how the last one ended);
    /// null when none was started since the server started.
    pub rebuild: Option<ViewRebuild>,
}

/// An online rebuild of a view: a new generation is built from the log while the served one
/// keeps answering, then swapped in atomically.
#[derive(Debug, Clone, SimpleObject)]
pub struct ViewRebuild {
    /// Still building.
    pub running: bool,
    /// Events applied to the new generation so far.
    pub done_events: UnsignedInt64,
    /// Events to apply (the head when it started, then what came since).
    pub total_events: UnsignedInt64,
    /// The generation swapped in, once done.
    pub generation: Option<UnsignedInt64>,
    /// Why it failed (the served generation stayed); null otherwise.
    pub error: Option<String>,
}

impl From<&crate::state::Rebuild> for ViewRebuild {
    fn from(r: &crate::state::Rebuild) -> Self {
        Self {
            running: r.outcome.is_none(),
            done_events: UnsignedInt64(r.done),
            total_events: UnsignedInt64(r.total),
            generation: r
                .outcome
                .as_ref()
                .and_then(|o| o.as_ref().ok())
                .copied()
                .map(UnsignedInt64),
            error: r.outcome.as_ref().and_then(|o| o.as_ref().err()).cloned(),
        }
    }
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
    pub seq: UnsignedInt64,
    /// Why the projection refused it.
    pub reason: String,
}

/// Submissions and rejections of one source and command type.
#[derive(Debug, Clone, SimpleObject)]
pub struct SubmissionStat {
    /// Where the commands came from.
    pub source: String,
    /// Command type.
    pub command_type: String,
    /// Submissions decided.
    pub submitted: UnsignedInt64,
    /// Of which rejected.
    pub rejected: UnsignedInt64,
    /// Integration failure rate, rejected / submitted, as a percentage rounded down to four
    /// decimals (`"12.5"`); null before any submission.
    pub failure_rate: Option<Rate>,
    /// Rejections per code (one row per code that occurred).
    pub rejections_by_code: Vec<CodeCount>,
}

/// Rejections of one code.
#[derive(Debug, Clone, SimpleObject)]
pub struct CodeCount {
    /// The rejection code.
    pub code: String,
    /// How many.
    pub count: UnsignedInt64,
}

/// The integration failure rate (docs/domain.md §5) over UTC days `sinceDay` to today.
///
/// The counters are kept by the engine **outside the audited log**: a rejected command
/// appends nothing to the hash-chained log, so its rejection is counted in a separate store
/// that is not hashed, signed, verified or exported, keeps `retentionDays` days, and may lose
/// the last moments of counts on a machine crash. They survive a restart.
#[derive(Debug, Clone, SimpleObject)]
pub struct SubmissionStats {
    /// The log head when answered (the counters are not a projection of the log).
    pub meta: ViewMeta,
    /// First UTC day counted (the `sinceDay` asked, or the first day kept).
    pub since_day: Option<Date>,
    /// Today, UTC, by the engine's clock: the last day counted.
    pub to_day: Date,
    /// Days of counters the engine keeps (older days are dropped).
    pub retention_days: i32,
    /// Always false: these counters are not part of the hash-chained, verifiable log.
    pub audited: bool,
    /// Per source and command type (at most `metrics_sources_max` sources × the command
    /// types).
    pub rows: Vec<SubmissionStat>,
    /// Rejections per code (one row per rejection code: a short closed list).
    pub rejections_by_code: Vec<CodeCount>,
}

/// `rejected / submitted` as a rate, rounded down to a part per million (`None` when nothing
/// was submitted).
fn failure_rate(rejected: u64, submitted: u64) -> Option<Rate> {
    if submitted == 0 {
        return None;
    }
    let ppm =
        u128::from(rejected.min(submitted)) * u128::from(PPM_PER_WHOLE) / u128::from(submitted);
    Rate::from_ppm(u32::try_from(ppm).ok()?).ok()
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
        let rebuilds = state.rebuilds().clone();
        for name in engine.views().names() {
            let applied = engine.views().applied(name).map_err(|e| view_error(name, &e))?;
            let quarantined = engine.views().quarantined(name).map_err(|e| view_error(name, &e))?;
            let count = u64::try_from(quarantined.len()).unwrap_or(u64::MAX);
            let first = quarantined.first().map(|(seq, _)| *seq);
            all.count = UnsignedInt64(all.count.0.saturating_add(count));
            all.first_seq = match (all.first_seq, first.map(UnsignedInt64)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            views.push(ViewStatus {
                name: name.to_owned(),
                applied_seq: UnsignedInt64(applied),
                lag_events: UnsignedInt64(head.saturating_sub(applied)),
                quarantined_count: UnsignedInt64(count),
                quarantined_first_seq: first.map(UnsignedInt64),
                rebuild: rebuilds.get(name).map(ViewRebuild::from),
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

    /// Events the view `view` could not apply, by seq, paged.
    #[graphql(
        guard = "FieldGuard(\"Query.quarantined\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    async fn quarantined(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The view's name (see `views`).")] view: String,
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
    ) -> async_graphql::Result<Connection<QuarantinedEvent>> {
        let state = ctx.data_unchecked::<AppState>();
        super::args::view_name("view", &view)?;
        let window = Window::<u64>::new(
            state.config(),
            "quarantined",
            &PageArgs::new(first, after, last, before),
        )?;
        let views = state.engine().views();
        let applied = views.applied(&view).map_err(|e| view_error(&view, &e))?;
        let all = views.quarantined(&view).map_err(|e| view_error(&view, &e))?;
        let total = u64::try_from(all.len()).unwrap_or(u64::MAX);
        let first_seq = all.first().map(|(seq, _)| *seq);
        let mut meta = view_meta(state.log(), applied)?;
        meta.quarantined = summary(total, first_seq);
        if views.failure().is_some() {
            meta.views_stopped = Some(VIEWS_STOPPED.to_owned());
        }
        let items = all
            .into_iter()
            .map(|(seq, reason)| (seq, QuarantinedEvent { seq: UnsignedInt64(seq), reason }))
            .collect();
        Ok(connection::paginate_sorted("quarantined", &window, meta, items)?)
    }

    /// Submissions and rejections per source and command type on UTC days `sinceDay` to
    /// today (default: every day kept). Counted outside the audited log; they survive a
    /// restart and are kept `retentionDays` days.
    #[graphql(guard = "FieldGuard(\"Query.submissionStats\")")]
    async fn submission_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First UTC day to count (default: the first day kept).")]
        since_day: Option<Date>,
    ) -> async_graphql::Result<SubmissionStats> {
        let state = ctx.data_unchecked::<AppState>();
        let engine = state.engine();
        let (first_kept, today, retention_days) = engine.submission_stats_window();
        let since = since_day.map(Date::days);
        let counts = engine.submission_counts_since(since.unwrap_or(i32::MIN));
        let codes = |by_code: &std::collections::BTreeMap<String, u64>| -> Vec<CodeCount> {
            by_code
                .iter()
                .map(|(code, n)| CodeCount { code: code.clone(), count: UnsignedInt64(*n) })
                .collect()
        };
        let mut all_codes: std::collections::BTreeMap<String, u64> = Default::default();
        for c in counts.values() {
            for (code, n) in &c.rejected_by_code {
                let entry = all_codes.entry(code.clone()).or_default();
                *entry = entry.saturating_add(*n);
            }
        }
        let rows = counts
            .into_iter()
            .map(|((source, command_type), c)| SubmissionStat {
                source,
                command_type,
                submitted: UnsignedInt64(c.submitted),
                rejected: UnsignedInt64(c.rejected),
                failure_rate: failure_rate(c.rejected, c.submitted),
                rejections_by_code: codes(&c.rejected_by_code),
            })
            .collect();
        let head = engine.log().head().seq;
        Ok(SubmissionStats {
            meta: view_meta(engine.log(), head)?,
            since_day: since.or(first_kept).map(Date::from_days),
            to_day: Date::from_days(today),
            retention_days: i32::try_from(retention_days).unwrap_or(i32::MAX),
            audited: false,
            rows,
            rejections_by_code: codes(&all_codes),
        })
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
