//! Long-running operations on a served store (`startOperation`, `operation`): a full
//! verification (optionally against a saved checkpoint), an audit bundle export, and a replay
//! check of the views. Each runs on a blocking thread and reads snapshots of the log and the
//! views, so appends and view updates go on while it runs; its progress and outcome are kept
//! for `operation(id)`. The CLI uses them when the store is served (`tally verify`, `tally
//! export --bundle`, `tally replay --check` against a running server).
//!
//! Bounds: one running operation per kind (a second start is refused with
//! `OPERATION_RUNNING`), the [`OPERATIONS_KEPT_MAX`] newest operations are kept (older finished
//! ones are forgotten), and only the newest export's bundle files are kept on disk.

use crate::state::AppState;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tally_log::tally_proof::bundle::dir::{CHECKPOINTS_FILE, EVENTS_FILE, KEY_FILE};
use tally_log::tally_proof::checkpoint::{Checkpoint, SignedCheckpoint};
use tally_log::{Corruption, Error as LogError, VerifyOptions};
use tally_projections::ViewStore;
use tally_projections::diff::{Difference, show};

/// Operations kept (running and finished); the oldest finished one is forgotten first.
pub const OPERATIONS_KEPT_MAX: usize = 32;

/// The files of an audit bundle, in the order the CLI downloads them.
pub const BUNDLE_FILES: [&str; 3] = [EVENTS_FILE, CHECKPOINTS_FILE, KEY_FILE];

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum OperationKind {
    /// Verify the chain, the Merkle tree, the indexes and every view's entries (what `tally
    /// verify` does), optionally against a saved signed checkpoint.
    Verify,
    /// Cut a signed checkpoint of the head and write an audit bundle of the log up to it,
    /// downloadable from `GET /operations/{id}/bundle/{file}` (what `tally export --bundle`
    /// writes).
    ExportBundle,
    /// Rebuild the views from the log into a temporary store and compare them byte for byte
    /// with the served views at the seq each one has applied (what `tally replay --check`
    /// does).
    ReplayCheck,
}

impl OperationKind {
    fn word(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::ExportBundle => "export-bundle",
            Self::ReplayCheck => "replay-check",
        }
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub enum Request {
    /// A verification; `against` is a saved signed checkpoint's text.
    Verify {
        /// The signed note, as `tally checkpoint` or `cutCheckpoint { text }` gave it.
        against: Option<String>,
    },
    /// A bundle export.
    ExportBundle,
    /// A replay check of every view, or of one.
    ReplayCheck {
        /// Only this view.
        view: Option<String>,
    },
}

impl Request {
    /// The kind of operation this starts.
    #[must_use]
    pub fn kind(&self) -> OperationKind {
        match self {
            Self::Verify { .. } => OperationKind::Verify,
            Self::ExportBundle => OperationKind::ExportBundle,
            Self::ReplayCheck { .. } => OperationKind::ReplayCheck,
        }
    }
}

/// Why an operation was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// One of the same kind is running.
    #[error("a {kind} operation is already running (operation '{id}'); wait for it to finish")]
    Running {
        /// The kind, in words.
        kind: &'static str,
        /// The running one.
        id: String,
    },
    /// The request is wrong (a checkpoint that does not parse, an unknown view).
    #[error("{0}")]
    Invalid(String),
    /// The server cannot run it (no signing key, no projections).
    #[error("{0}")]
    Unavailable(String),
}

/// A written bundle: its directory (removed when the operation is forgotten or a newer export
/// finishes) and what it holds.
#[derive(Debug)]
pub struct Bundle {
    dir: tempfile::TempDir,
    /// Events written (seq 1 to this).
    pub event_count: u64,
    /// Checkpoints written.
    pub checkpoint_count: usize,
    /// The chain hash of the last event, hex.
    pub head_hash: String,
    /// Each file's name and size in bytes, in [`BUNDLE_FILES`] order.
    pub files: Vec<(String, u64)>,
}

impl Bundle {
    /// The path of `file` (one of [`BUNDLE_FILES`]), if the bundle holds it.
    #[must_use]
    pub fn file(&self, file: &str) -> Option<PathBuf> {
        BUNDLE_FILES.contains(&file).then(|| self.dir.path().join(file))
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Whether everything checked out (false: a problem was found and is described in
    /// `report`).
    pub ok: bool,
    /// The report, line by line, as the CLI prints it.
    pub report: Vec<String>,
    /// Why the operation could not run to its end (then `ok` is false).
    pub error: Option<String>,
    /// The seq the operation covered (the head of its snapshot).
    pub seq: u64,
}

/// Progress and outcome of one operation, as `operation(id)` reads it.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Events processed so far.
    pub done: u64,
    /// Events to process (known once the snapshot is taken).
    pub total: u64,
    /// When it ended (ms since the epoch).
    pub finished_at_ms: Option<i64>,
    /// How it ended; `None` while running.
    pub outcome: Option<Outcome>,
}

/// One operation.
#[derive(Debug)]
pub struct Operation {
    /// Its id (unique for the life of the server process).
    pub id: String,
    /// What it does.
    pub kind: OperationKind,
    /// When it started (ms since the epoch).
    pub started_at_ms: i64,
    status: Mutex<Status>,
    bundle: Mutex<Option<Arc<Bundle>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Operation {
    /// Its progress and outcome now.
    #[must_use]
    pub fn status(&self) -> Status {
        lock(&self.status).clone()
    }

    /// Whether it is still running.
    #[must_use]
    pub fn running(&self) -> bool {
        lock(&self.status).outcome.is_none()
    }

    /// The bundle an export wrote (while it is kept).
    #[must_use]
    pub fn bundle(&self) -> Option<Arc<Bundle>> {
        lock(&self.bundle).clone()
    }

    fn progress(&self, done: u64, total: u64) {
        let mut status = lock(&self.status);
        (status.done, status.total) = (done, total);
    }

    fn finish(&self, outcome: Outcome) {
        let mut status = lock(&self.status);
        status.finished_at_ms = Some(now_ms());
        status.outcome = Some(outcome);
    }
}

/// The operations of one server.
#[derive(Debug)]
pub struct Operations {
    list: Mutex<VecDeque<Arc<Operation>>>,
    next: AtomicU64,
    /// Distinguishes ids across restarts of the server.
    epoch_ms: i64,
}

impl Default for Operations {
    fn default() -> Self {
        Self { list: Mutex::default(), next: AtomicU64::new(1), epoch_ms: now_ms() }
    }
}

impl Operations {
    /// The operation `id`, if kept.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<Arc<Operation>> {
        lock(&self.list).iter().find(|op| op.id == id).cloned()
    }

    /// The kept operations, newest first.
    #[must_use]
    pub fn list(&self) -> Vec<Arc<Operation>> {
        lock(&self.list).iter().rev().cloned().collect()
    }

    /// Registers an operation of `kind`, unless one of that kind is running.
    fn register(&self, kind: OperationKind) -> Result<Arc<Operation>, StartError> {
        let mut list = lock(&self.list);
        if let Some(running) = list.iter().find(|op| op.kind == kind && op.running()) {
            return Err(StartError::Running { kind: kind.word(), id: running.id.clone() });
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let op = Arc::new(Operation {
            id: format!("{}-{}-{n}", kind.word(), self.epoch_ms),
            kind,
            started_at_ms: now_ms(),
            status: Mutex::default(),
            bundle: Mutex::default(),
        });
        list.push_back(op.clone());
        // Forget the oldest finished ones past the bound (running ones are at most one per
        // kind, so the list stays bounded).
        while list.len() > OPERATIONS_KEPT_MAX {
            let Some(at) = list.iter().position(|op| !op.running()) else { break };
            list.remove(at);
        }
        Ok(op)
    }

    /// Drops the bundles of every export but `keep`.
    fn drop_other_bundles(&self, keep: &str) {
        for op in lock(&self.list).iter() {
            if op.id != keep && op.kind == OperationKind::ExportBundle {
                lock(&op.bundle).take();
            }
        }
    }
}

/// Checks `request` and starts it on a blocking thread; answers at once with the operation.
pub fn start(state: &AppState, request: Request) -> Result<Arc<Operation>, StartError> {
    let log = state.log();
    let against = match &request {
        Request::Verify { against: Some(text) } => Some(parse_against(log, text)?),
        _ => None,
    };
    match &request {
        Request::ExportBundle if log.config().checkpoints.is_none() => {
            return Err(StartError::Unavailable(
                "the log has no signing key: a bundle needs a signed checkpoint".to_owned(),
            ));
        }
        Request::ReplayCheck { view } => {
            if state.projections().is_empty() {
                return Err(StartError::Unavailable(
                    "this server was started without its projections: it cannot rebuild views"
                        .to_owned(),
                ));
            }
            if let Some(view) = view
                && !state.projections().iter().any(|p| p.name() == view)
            {
                return Err(StartError::Invalid(format!("unknown view '{view}'")));
            }
        }
        _ => {}
    }
    let op = state.operations().register(request.kind())?;
    let task_state = state.clone();
    let task_op = op.clone();
    tokio::task::spawn_blocking(move || {
        let op = task_op;
        let outcome = match request {
            Request::Verify { .. } => verify(&task_state, &op, against),
            Request::ExportBundle => export_bundle(&task_state, &op),
            Request::ReplayCheck { view } => replay_check(&task_state, &op, view.as_deref()),
        };
        tracing::info!(id = %op.id, ok = outcome.ok, "operation finished");
        op.finish(outcome);
    });
    Ok(op)
}

/// A saved checkpoint's text, parsed and checked against the log's own key: a checkpoint this
/// ledger did not sign is a finding of the verification (`Ok(Err(reason))`), not an error.
fn parse_against(
    log: &tally_log::Log,
    text: &str,
) -> Result<Result<Checkpoint, String>, StartError> {
    let signed = SignedCheckpoint::parse(text)
        .map_err(|e| StartError::Invalid(format!("against: not a signed checkpoint: {e}")))?;
    let policy = log.config().checkpoints.as_ref().ok_or_else(|| {
        StartError::Unavailable(
            "the log has no signing key: a checkpoint's signature cannot be checked".to_owned(),
        )
    })?;
    Ok(signed.verify_with(&policy.key.public_key()).map_err(|e| e.to_string()))
}

/// A failure found, reported as `FAILED: …`.
fn problem(seq: u64, report: Vec<String>) -> Outcome {
    Outcome { ok: false, report, error: None, seq }
}

/// An operation that could not run to its end; details are logged.
fn failed(context: &str, error: &dyn std::fmt::Display) -> Outcome {
    tracing::warn!(context, %error, "operation failed");
    Outcome { ok: false, report: Vec::new(), error: Some(format!("{context}: {error}")), seq: 0 }
}

fn verify(
    state: &AppState,
    op: &Operation,
    against: Option<Result<Checkpoint, String>>,
) -> Outcome {
    let against = match against {
        None => None,
        Some(Ok(checkpoint)) => Some(checkpoint),
        Some(Err(reason)) => {
            return problem(
                0,
                vec![format!("FAILED: the checkpoint is not signed by this ledger: {reason}")],
            );
        }
    };
    let log = state.log();
    let options = VerifyOptions { against: against.clone(), ..VerifyOptions::full() };
    let mut lines = Vec::new();
    let seq = match log.verify_with_progress(options, &mut |done, total| op.progress(done, total)) {
        Ok(report) => {
            lines.push(format!(
                "ok: {} events verified (chain, merkle tree, indexes); head {} hash {}",
                report.frames_checked, report.last_seq, report.head_hash
            ));
            if let Some(root) = report.root {
                lines.push(format!("merkle root {root}"));
            }
            if let Some(cp) = against {
                lines.push(format!("the log contains what checkpoint of size {} attests", cp.size));
            }
            report.last_seq
        }
        Err(LogError::Corrupt(corruption)) => {
            let mut report = vec![format!("FAILED: {corruption}")];
            if matches!(corruption, Corruption::HighWaterMark(_)) {
                report.push(
                    "the store refuses writes until an operator acts: see 'The store refuses \
                     writes' in docs/operations.md"
                        .to_owned(),
                );
            }
            return problem(0, report);
        }
        Err(err) if err.damage().is_some() => {
            return problem(
                0,
                vec![format!(
                    "FAILED: reading the log: its files are damaged: {} ({err})",
                    err.damage().unwrap_or_default()
                )],
            );
        }
        Err(err) => return failed("verifying", &err),
    };
    match verify_views(state.engine().views(), log) {
        Ok(line) => {
            lines.push(line);
            Outcome { ok: true, report: lines, error: None, seq }
        }
        Err(line) => {
            lines.push(line);
            problem(seq, lines)
        }
    }
}

/// Reads every entry of every served view from a snapshot (fjall checks each block's checksum
/// on the way), and checks that no view applied beyond the log's head.
fn verify_views(views: &ViewStore, log: &tally_log::Log) -> Result<String, String> {
    let failed = |e: &dyn std::fmt::Display| {
        format!(
            "FAILED: views: {e}; the views are derived from the log: rebuild the view \
             (`tally replay --view NAME`, or the rebuildView mutation)"
        )
    };
    let mut entries = 0usize;
    for name in views.names() {
        let reader = views.reader(name).map_err(|e| failed(&format_args!("view '{name}': {e}")))?;
        // Read after the snapshot: a view only applies durable events, so its applied seq can
        // never be beyond a head read later.
        let head = log.head().seq;
        if reader.applied() > head {
            return Err(format!(
                "FAILED: view '{name}' has applied events up to seq {}, beyond the log's head at \
                 seq {head}: the log lost acknowledged events",
                reader.applied()
            ));
        }
        entries += reader.scan(&[]).map_err(|e| failed(&format_args!("view '{name}': {e}")))?.len();
    }
    Ok(format!("views: {entries} entries of {} views read", views.names().len()))
}

fn export_bundle(state: &AppState, op: &Operation) -> Outcome {
    let log = state.log();
    let upto = match log.checkpoint_blocking() {
        Ok(upto) => upto,
        Err(e) => return failed("cutting a checkpoint of the head", &e),
    };
    let size = upto.unverified().size;
    if size == 0 {
        return failed(
            "export",
            &"the log holds no events: a bundle of an empty log proves nothing",
        );
    }
    // Next to the store (same disk, same owner-only directory), removed with the operation.
    let parent = log.path().parent().map_or_else(std::env::temp_dir, Path::to_path_buf);
    let dir = match tempfile::Builder::new().prefix(".bundle-").tempdir_in(&parent) {
        Ok(dir) => dir,
        Err(e) => return failed("creating the bundle directory", &e),
    };
    let summary = match log.export_bundle_with_progress(dir.path(), &upto, &mut |done, total| {
        op.progress(done, total);
    }) {
        Ok(summary) => summary,
        Err(e) => return failed("writing the bundle", &e),
    };
    let mut files = Vec::new();
    for name in BUNDLE_FILES {
        match std::fs::metadata(dir.path().join(name)) {
            Ok(meta) => files.push((name.to_owned(), meta.len())),
            Err(e) => return failed("reading the bundle", &e),
        }
    }
    let report = vec![format!(
        "{} events, {} checkpoints (the newest, size {size}, signs the last event), head hash {}",
        summary.event_count, summary.checkpoint_count, summary.head_hash
    )];
    let bundle = Bundle {
        dir,
        event_count: summary.event_count,
        checkpoint_count: summary.checkpoint_count,
        head_hash: summary.head_hash.to_hex(),
        files,
    };
    *lock(&op.bundle) = Some(Arc::new(bundle));
    state.operations().drop_other_bundles(&op.id);
    Outcome { ok: true, report, error: None, seq: size }
}

/// Rebuilds the views from the log into a temporary store and compares each with a snapshot of
/// the served view at the seq that snapshot has applied: the rebuild replays up to the lowest
/// of those seqs, then advances view by view (in seq order) to each one's seq.
fn replay_check(state: &AppState, op: &Operation, view: Option<&str>) -> Outcome {
    let log = state.log();
    let views = state.engine().views();
    let projections: Vec<_> = state
        .projections()
        .iter()
        .filter(|p| view.is_none_or(|v| p.name() == v))
        .cloned()
        .collect();
    let mut readers = Vec::new();
    for p in &projections {
        match views.reader(p.name()) {
            Ok(reader) => readers.push((p.name(), reader)),
            Err(e) => return failed(&format!("reading view '{}'", p.name()), &e),
        }
    }
    readers.sort_by_key(|(_, r)| r.applied());
    let low = readers.first().map_or(0, |(_, r)| r.applied());
    let high = readers.last().map_or(0, |(_, r)| r.applied());
    let fresh = match ViewStore::replay_as_of(log, projections, low, &mut |done, total| {
        op.progress(done, total.max(high));
    }) {
        Ok(fresh) => fresh,
        Err(e) => return failed("rebuilding the views from the log", &e),
    };
    let mut keys = 0usize;
    let mut report = Vec::new();
    for (name, reader) in &readers {
        let at = reader.applied();
        if let Err(e) = fresh.catch_up(log, Some(at)) {
            return failed("rebuilding the views from the log", &e);
        }
        op.progress(at, high);
        let ours = match reader.scan(&[]) {
            Ok(rows) => rows,
            Err(e) => return failed(&format!("reading view '{name}'"), &e),
        };
        let rebuilt = match fresh.dump(name) {
            Ok(rows) => rows,
            Err(e) => return failed(&format!("reading rebuilt '{name}'"), &e),
        };
        keys += ours.len().max(rebuilt.len());
        let diff = Difference::of(&ours, &rebuilt);
        if let Some(first) = diff.first {
            report.push(format!(
                "FAILED: view '{name}' differs from a rebuild from the log at seq {at} ({} \
                 differing keys); first at key \"{}\": live {}, rebuilt {}",
                diff.count,
                first.key.escape_ascii(),
                show(first.live.as_deref()),
                show(first.rebuilt.as_deref()),
            ));
        }
        // The history every asOf answer reads must hold the state at the seq it reflects.
        let twin = match views.history_twin(name, reader) {
            Ok(twin) => twin,
            Err(e) => return failed(&format!("reading history of '{name}'"), &e),
        };
        if let Some(twin) = twin {
            let history = match twin.scan(&[]) {
                Ok(rows) => rows,
                Err(e) => return failed(&format!("reading history of '{name}'"), &e),
            };
            let diff = Difference::of(&ours, &history);
            if let Some(first) = diff.first {
                report.push(format!(
                    "FAILED: the history of view '{name}' as of seq {at} differs from its state \
                     ({} differing keys); first at key \"{}\": state {}, history {}",
                    diff.count,
                    first.key.escape_ascii(),
                    show(first.live.as_deref()),
                    show(first.rebuilt.as_deref()),
                ));
            }
        }
    }
    if !report.is_empty() {
        return problem(high, report);
    }
    let at = if low == high { format!("seq {high}") } else { format!("seqs {low} to {high}") };
    report.push(format!(
        "ok: {} views equal a rebuild from the log at {at} ({keys} keys compared byte for byte), \
         and their history as of it",
        readers.len()
    ));
    Outcome { ok: true, report, error: None, seq: high }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::{OPERATIONS_KEPT_MAX, OperationKind, Operations, Outcome, StartError};

    #[test]
    fn one_operation_of_a_kind_runs_at_a_time_and_the_list_is_bounded() {
        let ops = Operations::default();
        let verify = ops.register(OperationKind::Verify).unwrap();
        let second = ops.register(OperationKind::Verify);
        assert_eq!(
            second.unwrap_err(),
            StartError::Running { kind: "verify", id: verify.id.clone() }
        );
        // Another kind may run meanwhile.
        let export = ops.register(OperationKind::ExportBundle).unwrap();
        verify.finish(Outcome::default());
        export.finish(Outcome::default());
        for _ in 0..OPERATIONS_KEPT_MAX * 2 {
            let op = ops.register(OperationKind::ReplayCheck).unwrap();
            assert!(ops.get(&op.id).is_some());
            op.finish(Outcome::default());
        }
        assert_eq!(ops.list().len(), OPERATIONS_KEPT_MAX);
        assert!(ops.get(&verify.id).is_none(), "the oldest finished ones are forgotten");
        // A running one is never forgotten.
        let running = ops.register(OperationKind::Verify).unwrap();
        for _ in 0..OPERATIONS_KEPT_MAX * 2 {
            ops.register(OperationKind::ReplayCheck).unwrap().finish(Outcome::default());
        }
        assert!(ops.get(&running.id).is_some_and(|op| op.running()));
        assert_eq!(ops.list().len(), OPERATIONS_KEPT_MAX);
    }
}
