//! The `Engine` handle: opening (state rebuilt from the log), submitting, views, shutdown.

use crate::config::EngineConfig;
use crate::error::{OpenError, SubmitError};
use crate::runner;
use crate::spill::Spill;
use crate::stats::{SubmissionCounts, SubmissionStats, day_of_ms};
use crate::submission::{Accepted, Submission};
use crate::writer::{Job, Msg, Shared, Writer};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tally_domain::{State, decode, evolve};
use tally_log::Log;
use tally_projections::{Projection, ViewStore};
use tokio::sync::{mpsc, oneshot};

/// An open engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("head", &self.inner.log.head().seq).finish_non_exhaustive()
    }
}

struct Inner {
    log: Log,
    views: ViewStore,
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    clock_ms: fn() -> i64,
    writer: Mutex<Option<JoinHandle<()>>>,
    runner: Mutex<Option<JoinHandle<()>>>,
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
}

impl Drop for Inner {
    fn drop(&mut self) {
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, closed));
        if let Some(handle) = take(&self.writer) {
            let _ = handle.join();
        }
        if let Some(handle) = take(&self.runner) {
            let _ = handle.join();
        }
    }
}

/// Replays every stored event into a fresh decision state, checking that each is stored on
/// the stream its body names (the naming this version writes). Closed orders beyond the
/// bound go to `spill` as the replay goes (checked after each event: cheap when under it),
/// so the rebuild holds no more of them than the running writer.
fn rebuild_state(log: &Log, spill: &Spill) -> Result<State, OpenError> {
    let mut state = State::new();
    for recorded in log.read(..) {
        let recorded = recorded?;
        let event = decode(recorded.event_type(), recorded.schema_version(), recorded.payload())
            .map_err(|e| OpenError::Decode { seq: recorded.seq(), reason: e.to_string() })?;
        let expected = event.stream();
        if recorded.stream() != expected {
            return Err(OpenError::StreamNaming {
                seq: recorded.seq(),
                stored: recorded.stream().to_owned(),
                expected,
            });
        }
        // `evolve` asserts its sums (overflow checks are on in every profile of the
        // workspace): an old event that would wrap one stops the open with its seq.
        let at = tally_domain::time::Timestamp::from_millis(recorded.occurred_at_ms());
        spill.evict(&mut state)?;
        spill.load(&mut state, tally_domain::evolve::closed_orders_touched(&event))?;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| evolve(&mut state, &event, at)))
            .map_err(|panic| OpenError::Invariant {
            seq: recorded.seq(),
            reason: panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default(),
        })?;
    }
    spill.evict(&mut state)?;
    Ok(state)
}

/// Why the store must refuse writes, if it must: the log disagrees with its high-water mark,
/// or a view has applied events beyond the log's head (the log lost events the views saw).
/// Appending then would reuse seqs and re-accept idempotency keys that were acknowledged.
fn integrity_problem(log: &Log, views: &ViewStore) -> Result<Option<String>, OpenError> {
    if let Some(refusal) = log.refusal() {
        return Ok(Some(refusal.to_string()));
    }
    let head = log.head().seq;
    for name in views.names() {
        let applied = views.applied(name)?;
        if applied > head {
            return Ok(Some(format!(
                "view '{name}' has applied events up to seq {applied}, beyond the log's head at \
                 seq {head}: the log lost acknowledged events"
            )));
        }
    }
    Ok(None)
}

/// The timer: every `interval` it asks the writer to submit what time made due. It holds only
/// a weak sender, so it never keeps the writer alive: once the engine closes it stops at its
/// next wake-up (it wakes at least every 200 ms to check). A full queue skips a tick (the
/// next one finds the same facts due).
fn spawn_timer(tx: mpsc::WeakSender<Msg>, interval: std::time::Duration) -> std::io::Result<()> {
    let step = interval.min(std::time::Duration::from_millis(200));
    std::thread::Builder::new().name("tally-timer".to_owned()).spawn(move || {
        let mut waited = std::time::Duration::ZERO;
        loop {
            std::thread::sleep(step);
            waited += step;
            let Some(sender) = tx.upgrade() else { return };
            if sender.is_closed() {
                return;
            }
            if waited >= interval {
                waited = std::time::Duration::ZERO;
                let _ = sender.try_send(Msg::Tick);
            }
        }
    })?;
    Ok(())
}

impl Engine {
    /// Opens the engine in `dir` (log in `dir/log`, views in `dir/views`, the store format
    /// marker in `dir/store-format`) with these projections. A store of another format is
    /// refused ([`OpenError::Format`]). The decision state is rebuilt from the log; the views
    /// resume from their checkpoints in the background.
    pub fn open(
        dir: &Path,
        config: EngineConfig,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Result<Self, OpenError> {
        let log = Log::open(dir.join("log"), config.log.clone())?;
        // Before the views open or anything is written: a store of another format is refused.
        crate::format::check_or_mark(dir, log.head().seq)?;
        let views = ViewStore::open(&dir.join("views"), projections)?;
        let integrity = integrity_problem(&log, &views)?;
        let spill = Spill::open(&dir.join("spill"), config.closed_orders_resident_max)?;
        let state = rebuild_state(&log, &spill)?;
        let (tx, rx) = mpsc::channel(config.command_queue_depth_max.max(1));
        let stats = SubmissionStats::open(
            &dir.join("stats"),
            config.submission_stats_retention_days,
            day_of_ms((config.clock_ms)()),
        )?;
        let shared = Arc::new(Shared::new(stats));
        let (runner, notify) = if config.run_projections {
            let (notify, wake) = std::sync::mpsc::sync_channel(1);
            (Some(runner::spawn(log.clone(), views.clone(), wake)?), Some(notify))
        } else {
            (None, None)
        };
        let timer_interval = config.timer_interval;
        let clock_ms = config.clock_ms;
        let writer = if let Some(reason) = integrity {
            // No writer: every command is refused with the reason, nothing can be appended.
            tracing::error!(%reason, "the store refuses writes; see docs/operations.md");
            *shared.integrity.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(reason);
            drop(rx);
            None
        } else {
            let writer = Writer {
                log: log.clone(),
                state,
                spill,
                config,
                notify,
                shared: Arc::clone(&shared),
            };
            Some(
                std::thread::Builder::new()
                    .name("tally-engine".to_owned())
                    .spawn(move || writer.run(rx))?,
            )
        };
        if let (Some(interval), Some(_)) = (timer_interval, &writer) {
            spawn_timer(tx.downgrade(), interval)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                log,
                views,
                tx,
                shared,
                clock_ms,
                writer: Mutex::new(writer),
                runner: Mutex::new(runner),
            }),
        })
    }

    /// The log.
    #[must_use]
    pub fn log(&self) -> &Log {
        &self.inner.log
    }

    /// The views.
    #[must_use]
    pub fn views(&self) -> &ViewStore {
        &self.inner.views
    }

    fn unavailable(&self) -> SubmitError {
        self.inner.shared.stopped_error("the engine is closed")
    }

    /// Decides `submission`; answers once its events are durable (or with why not).
    pub async fn submit(&self, submission: Submission) -> Result<Accepted, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Submit(Box::new(Job { submission, reply, depth: 0 })))
            .await
            .map_err(|_| self.unavailable())?;
        answer.await.map_err(|_| self.unavailable())?
    }

    /// Submits many; each gets its own answer, in order. They are decided in this order,
    /// possibly interleaved with other callers' submissions.
    pub async fn submit_many(
        &self,
        submissions: Vec<Submission>,
    ) -> Vec<Result<Accepted, SubmitError>> {
        let mut answers = Vec::with_capacity(submissions.len());
        for submission in submissions {
            let (reply, answer) = oneshot::channel();
            if self
                .inner
                .tx
                .send(Msg::Submit(Box::new(Job { submission, reply, depth: 0 })))
                .await
                .is_err()
            {
                answers.push(None);
            } else {
                answers.push(Some(answer));
            }
        }
        let mut results = Vec::with_capacity(answers.len());
        for answer in answers {
            results.push(match answer {
                None => Err(self.unavailable()),
                Some(answer) => answer.await.unwrap_or_else(|_| Err(self.unavailable())),
            });
        }
        results
    }

    /// [`Engine::submit`] for threads outside an async runtime.
    pub fn submit_blocking(&self, submission: Submission) -> Result<Accepted, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .tx
            .blocking_send(Msg::Submit(Box::new(Job { submission, reply, depth: 0 })))
            .map_err(|_| self.unavailable())?;
        answer.blocking_recv().map_err(|_| self.unavailable())?
    }

    /// Waits until the views reflect at least `seq` (read-your-writes).
    pub async fn wait_for_views(
        &self,
        seq: u64,
        timeout: std::time::Duration,
    ) -> Result<u64, tally_projections::Error> {
        self.inner.views.wait_for(seq, timeout).await
    }

    /// Submissions and rejections per (source, command type) over every retained day. Kept
    /// outside the log (`<store>/stats`, see `stats.rs`), so they survive a restart.
    #[must_use]
    pub fn submission_counts(&self) -> BTreeMap<(String, String), SubmissionCounts> {
        self.inner.shared.stats().since(i32::MIN)
    }

    /// Submissions and rejections per (source, command type) decided on UTC day `since_day`
    /// (days since the epoch) or later.
    #[must_use]
    pub fn submission_counts_since(
        &self,
        since_day: i32,
    ) -> BTreeMap<(String, String), SubmissionCounts> {
        self.inner.shared.stats().since(since_day)
    }

    /// Counts a source record an importer refused before it became a command (bad amount,
    /// unreadable id, a duplicated row) in the submission counters, as a rejection of command
    /// type `record` from `source` with `code`: the integration failure rate then covers
    /// records that never reached a decision.
    pub fn count_refused_record(&self, source: &str, code: &str) {
        let today = day_of_ms((self.inner.clock_ms)());
        let mut stats = self.inner.shared.stats();
        stats.count(today, source, "record", Some(code));
        if let Err(e) = stats.flush(today) {
            tracing::warn!(error = %e, "submission counters were not written");
        }
    }

    /// Rejections per code over every retained day.
    #[must_use]
    pub fn rejections_by_code(&self) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for counts in self.submission_counts().values() {
            for (code, n) in &counts.rejected_by_code {
                let entry = out.entry(code.clone()).or_default();
                *entry = entry.saturating_add(*n);
            }
        }
        out
    }

    /// The counters' window: the first day with counters (if any), today by the engine's
    /// clock, and the days kept.
    #[must_use]
    pub fn submission_stats_window(&self) -> (Option<i32>, i32, u32) {
        let stats = self.inner.shared.stats();
        (stats.first_day(), day_of_ms((self.inner.clock_ms)()), stats.retention_days())
    }

    /// Groups decided so far and the commands in them (mean group size = commands / groups).
    #[must_use]
    pub fn group_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.inner.shared.groups.load(Relaxed), self.inner.shared.grouped_commands.load(Relaxed))
    }

    /// Why the engine stopped taking commands, if it did.
    #[must_use]
    pub fn poisoned(&self) -> Option<String> {
        self.inner.shared.poison_reason()
    }

    /// Why the store refuses writes since it opened, if it does: its log holds less than it
    /// acknowledged (see [`SubmitError::IntegrityFailed`]). Reads go on.
    #[must_use]
    pub fn integrity_problem(&self) -> Option<String> {
        self.inner.shared.integrity_reason()
    }

    /// Whether the engine stopped because the store could not persist events (a full disk,
    /// an I/O error). Recovery is a restart: reopening rebuilds the state from what is durable.
    #[must_use]
    pub fn storage_failed(&self) -> bool {
        self.inner.shared.storage_failed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Finishes queued commands, brings the views up to date, and stops. Blocks: from async
    /// code, call it in `spawn_blocking`.
    pub fn close(&self) {
        let _ = self.inner.tx.blocking_send(Msg::Shutdown);
        if let Some(handle) = take(&self.inner.writer) {
            let _ = handle.join();
        }
        if let Some(handle) = take(&self.inner.runner) {
            let _ = handle.join();
        }
        self.inner.log.close();
    }
}
