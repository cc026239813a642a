//! `AppState`: what every request needs — the engine, the auth table, the limits.

use crate::auth::AuthConfig;
use crate::config::ApiConfig;
use std::sync::Arc;
use tally_engine::Engine;
use tally_projections::Projection;
use tokio::sync::watch;

/// Full verifications that may run at once (each reads every frame); others wait.
pub const VERIFY_CONCURRENCY_MAX: usize = 1;

/// Shared server state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    auth: AuthConfig,
    config: ApiConfig,
    projections: Vec<Arc<dyn Projection>>,
    shutdown: watch::Sender<bool>,
    verify_slots: Arc<tokio::sync::Semaphore>,
    /// Rejections answered by this server, per source and code (bounded).
    rejections: std::sync::Mutex<crate::telemetry::RejectionCounts>,
    /// The webhook outbox, when the server runs one (`tally serve` always does).
    outbox: std::sync::OnceLock<tally_outbox::Outbox>,
    /// Online view rebuilds started through `rebuildView`, by view: the running one or the
    /// last one's outcome.
    rebuilds: std::sync::Mutex<std::collections::BTreeMap<String, Rebuild>>,
    /// Long-running operations started through `startOperation` (bounded).
    operations: crate::operations::Operations,
}

/// An online rebuild of one view (blue/green: the served generation answers until the swap).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuild {
    /// Events applied to the new generation so far.
    pub done: u64,
    /// Events to apply (the head when it started; the catch-up adds what came since).
    pub total: u64,
    /// `None` while running; then the generation swapped in, or why it failed.
    pub outcome: Option<Result<u64, String>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("engine", &self.inner.engine)
            .field("tokens", &self.inner.auth.len())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over an open engine.
    #[must_use]
    pub fn new(engine: Engine, auth: AuthConfig, config: ApiConfig) -> Self {
        Self::with_projections(engine, auth, config, Vec::new())
    }

    /// State that also knows the engine's projections, so that view queries can replay them
    /// `asOf` an earlier seq (fresh instances of the same projections the engine runs).
    #[must_use]
    pub fn with_projections(
        engine: Engine,
        auth: AuthConfig,
        config: ApiConfig,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Self {
        let (shutdown, _) = watch::channel(false);
        let verify_slots = Arc::new(tokio::sync::Semaphore::new(VERIFY_CONCURRENCY_MAX));
        Self {
            inner: Arc::new(Inner {
                engine,
                auth,
                config,
                projections,
                shutdown,
                verify_slots,
                rejections: std::sync::Mutex::default(),
                outbox: std::sync::OnceLock::new(),
                rebuilds: std::sync::Mutex::default(),
                operations: crate::operations::Operations::default(),
            }),
        }
    }

    /// The engine.
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The log.
    #[must_use]
    pub fn log(&self) -> &tally_log::Log {
        self.inner.engine.log()
    }

    /// The token table.
    #[must_use]
    pub fn auth(&self) -> &AuthConfig {
        &self.inner.auth
    }

    /// The limits.
    #[must_use]
    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    /// The projections for as-of replays.
    #[must_use]
    pub fn projections(&self) -> &[Arc<dyn Projection>] {
        &self.inner.projections
    }

    /// Slots for full verifications ([`VERIFY_CONCURRENCY_MAX`]).
    #[must_use]
    pub fn verify_slots(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.inner.verify_slots
    }

    /// Counts a rejection answered to a client, for `/metrics`.
    pub fn record_rejection(&self, code: &'static str, source: &str) {
        self.rejection_counts().record(code, source);
    }

    /// Starts an online rebuild of view `name` in the background (blue/green; progress in
    /// [`AppState::rebuilds`]). `Err` with a message when one is already running.
    pub fn start_rebuild(&self, name: &str) -> Result<(), String> {
        self.register_rebuild(name)?;
        let state = self.clone();
        let view = name.to_owned();
        tokio::task::spawn_blocking(move || state.run_rebuild(&view));
        Ok(())
    }

    /// Records a rebuild of `name` as started (so a second one is refused).
    fn register_rebuild(&self, name: &str) -> Result<(), String> {
        let mut rebuilds = self.rebuilds();
        if rebuilds.get(name).is_some_and(|r| r.outcome.is_none()) {
            return Err(format!("a rebuild of '{name}' is already running"));
        }
        rebuilds.insert(name.to_owned(), Rebuild::default());
        Ok(())
    }

    /// Rebuilds `view` (registered) on this thread and records how it ended.
    fn run_rebuild(&self, view: &str) {
        let engine = self.engine();
        let mut progress = |done: u64, total: u64| {
            if let Some(r) = self.rebuilds().get_mut(view) {
                (r.done, r.total) = (done, total);
            }
        };
        let outcome = engine
            .views()
            .rebuild(view, engine.log(), &mut progress)
            .map(|report| report.generation)
            .map_err(|e| e.to_string());
        match &outcome {
            Ok(generation) => tracing::info!(view, generation, "view rebuilt online"),
            Err(error) => tracing::error!(view, %error, "online rebuild failed"),
        }
        if let Some(r) = self.rebuilds().get_mut(view) {
            r.outcome = Some(outcome);
        }
    }

    /// Starts an online rebuild of every view this binary should rebuild (another projection
    /// version built it, or its history is incomplete): no manual step, no downtime; the
    /// served generations answer until each new one is swapped in. They are rebuilt one after
    /// another on one blocking thread (each reads the whole log), queued ones showing as
    /// running with no progress yet.
    pub fn rebuild_stale_views(&self) {
        let stale = match self.engine().views().stale() {
            Ok(stale) => stale,
            Err(error) => {
                tracing::error!(%error, "cannot tell which views need a rebuild");
                return;
            }
        };
        let mut queued = Vec::new();
        for (name, why) in stale {
            tracing::info!(view = name, reason = %why, "rebuilding the view online");
            match self.register_rebuild(name) {
                Ok(()) => queued.push(name),
                Err(error) => tracing::warn!(view = name, %error, "no automatic rebuild"),
            }
        }
        if queued.is_empty() {
            return;
        }
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            for view in queued {
                state.run_rebuild(view);
            }
        });
    }

    /// The online view rebuilds started through `rebuildView`, by view.
    pub fn rebuilds(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, Rebuild>> {
        self.inner.rebuilds.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The long-running operations (verify, bundle export, replay check) of this server.
    #[must_use]
    pub fn operations(&self) -> &crate::operations::Operations {
        &self.inner.operations
    }

    /// The rejections answered so far, per source and code.
    pub fn rejection_counts(&self) -> std::sync::MutexGuard<'_, crate::telemetry::RejectionCounts> {
        self.inner.rejections.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands the server the webhook outbox its admin fields drive (once; a second call is
    /// ignored).
    pub fn set_outbox(&self, outbox: tally_outbox::Outbox) {
        let _ = self.inner.outbox.set(outbox);
    }

    /// The webhook outbox, if the server runs one.
    #[must_use]
    pub fn outbox(&self) -> Option<&tally_outbox::Outbox> {
        self.inner.outbox.get()
    }

    /// Marks the server as shutting down: `/readyz` fails and subscriptions end.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Whether shutdown has begun.
    #[must_use]
    pub fn shutting_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }

    /// A receiver that flips to `true` at shutdown.
    #[must_use]
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }
}
