//! The `Outbox` handle: starts a worker per endpoint, adds, removes, pauses and lists
//! endpoints, lists and replays dead letters, and stops everything cleanly.

use crate::backoff::{Clock, SystemClock};
use crate::config::{
    ConfigError, Delivery, ENDPOINTS_MAX, EndpointSpec, EndpointText, Origin, Start, WebhooksConfig,
};
use crate::error::{Error, Result};
use crate::signing::Secret;
use crate::store::{DeadLetter, EndpointState, Inflight, Store};
use crate::worker::{Control, Shared, Worker};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tally_log::Log;
use tally_projections::ViewStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Most dead letters one listing returns.
pub const DEAD_LETTERS_PAGE_MAX: usize = 1000;

/// An endpoint to add through the API.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// Name (`[a-z0-9_-]`, 1 to 64 bytes).
    pub name: String,
    /// `https://…` (or `http://…`) URL.
    pub url: String,
    /// For an `https://` URL: a PEM file of the CA certificates its server certificate must
    /// chain to (a private CA), absolute or relative to the data directory.
    pub ca_file: Option<String>,
    /// Type names or globs.
    pub types: Vec<String>,
    /// Only these channels (empty: all).
    pub channels: Vec<String>,
    /// Only these SKUs (empty: all).
    pub skus: Vec<String>,
    /// `whsec_…`; `None` generates one.
    pub secret: Option<String>,
    /// Where its cursor starts.
    pub start: Start,
}

/// An endpoint with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// The CA file its server certificate must chain to (resolved path), if any.
    pub ca_file: Option<String>,
    /// Type patterns.
    pub types: Vec<String>,
    /// Channel filter (empty: all).
    pub channels: Vec<String>,
    /// SKU filter (empty: all).
    pub skus: Vec<String>,
    /// Where it is defined.
    pub origin: Origin,
    /// Paused (by an operator, or by a 410 answer).
    pub paused: bool,
    /// Why.
    pub paused_reason: Option<String>,
    /// Every event ≤ this is done for the endpoint.
    pub cursor: u64,
    /// The log's head.
    pub head: u64,
    /// `head − cursor`: events not yet looked at or delivered.
    pub lag: u64,
    /// Cut `ats.changed` messages waiting.
    pub ats_pending: u64,
    /// Dead letters waiting to be replayed.
    pub replay_pending: u64,
    /// Dead letters held.
    pub dead_letters: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Failed attempts in total.
    pub failed_attempts: u64,
    /// Failed attempts since the last 2xx.
    pub consecutive_failures: u32,
    /// The message being retried.
    pub retrying: Option<Inflight>,
    /// The last failure.
    pub last_error: Option<String>,
    /// The last attempt (ms since the epoch).
    pub last_attempt_ms: Option<i64>,
    /// The last 2xx (ms since the epoch).
    pub last_success_ms: Option<i64>,
}

/// What a reload of `webhooks.toml` did, by endpoint name (each list sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Endpoints that were not running and started.
    pub added: Vec<String>,
    /// Endpoints whose definition changed: restarted with their cursor.
    pub changed: Vec<String>,
    /// File endpoints no longer in the file: stopped (their cursor is kept).
    pub removed: Vec<String>,
    /// Endpoints left running as they were.
    pub unchanged: Vec<String>,
    /// `[delivery]` differs from the settings in force, which stay until the next start.
    pub delivery_changed: bool,
}

struct Running {
    spec: Arc<EndpointSpec>,
    control: watch::Sender<Control>,
    status: watch::Receiver<EndpointState>,
    task: Option<JoinHandle<()>>,
}

struct Inner {
    log: Log,
    views: ViewStore,
    data_dir: PathBuf,
    store_path: PathBuf,
    delivery: Delivery,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    shared: Mutex<Option<Arc<Shared>>>,
    /// Held by a reload of `webhooks.toml` (one at a time).
    reload: tokio::sync::Mutex<()>,
    running: Mutex<BTreeMap<String, Running>>,
    shutdown: watch::Sender<bool>,
}

/// The outbox. Cheap to clone; every clone drives the same workers.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("store", &self.inner.store_path).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Outbox {
    /// Starts the outbox of a data directory: reads `webhooks.toml` (if any), opens
    /// `outbox/` if there are endpoints or it exists, and starts a worker per endpoint. Call
    /// inside a Tokio runtime.
    pub fn open(data_dir: &Path, log: Log, views: ViewStore) -> Result<Self> {
        let config = WebhooksConfig::load(data_dir)?.unwrap_or_default();
        Self::start(data_dir, config, log, views, Arc::new(SystemClock))
    }

    /// Starts with an explicit configuration and clock (tests, benches).
    pub fn start(
        data_dir: &Path,
        config: WebhooksConfig,
        log: Log,
        views: ViewStore,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        config.delivery.check()?;
        let client = crate::http::client(&config.delivery, None).map_err(Error::Client)?;
        let (shutdown, _) = watch::channel(false);
        let outbox = Self {
            inner: Arc::new(Inner {
                log,
                views,
                data_dir: data_dir.to_path_buf(),
                store_path: data_dir.join(crate::store::DIR_NAME),
                delivery: config.delivery,
                clock,
                client,
                shared: Mutex::new(None),
                reload: tokio::sync::Mutex::new(()),
                running: Mutex::new(BTreeMap::new()),
                shutdown,
            }),
        };
        if !config.endpoints.is_empty() || outbox.inner.store_path.exists() {
            let shared = outbox.shared()?;
            let mut specs = config.endpoints;
            for text in shared.store.api_endpoints()? {
                if specs.iter().any(|s| s.name == text.name) {
                    tracing::warn!(endpoint = %text.name, "outbox: an endpoint of the API has the name of one in webhooks.toml; the file's wins");
                    continue;
                }
                specs.push(text.into_spec_in(Origin::Api, Some(data_dir))?);
            }
            for spec in specs {
                outbox.launch(&shared, spec)?;
            }
        }
        Ok(outbox)
    }

    /// The shared parts, opening the store on first use.
    fn shared(&self) -> Result<Arc<Shared>> {
        let mut slot = lock(&self.inner.shared);
        if let Some(shared) = &*slot {
            return Ok(Arc::clone(shared));
        }
        let store = Store::open(&self.inner.store_path)?;
        let shared = Arc::new(Shared {
            log: self.inner.log.clone(),
            views: self.inner.views.clone(),
            store,
            client: self.inner.client.clone(),
            delivery: self.inner.delivery.clone(),
            clock: Arc::clone(&self.inner.clock),
            shutdown: self.inner.shutdown.subscribe(),
        });
        *slot = Some(Arc::clone(&shared));
        Ok(shared)
    }

    /// The HTTP client of an endpoint: the shared one, or its own when it has a CA file.
    fn client_for(shared: &Shared, spec: &EndpointSpec) -> Result<reqwest::Client> {
        match &spec.ca_file {
            None => Ok(shared.client.clone()),
            Some(ca) => crate::http::client(&shared.delivery, Some(ca))
                .map_err(|e| Error::Client(format!("endpoint '{}': {e}", spec.name))),
        }
    }

    fn launch(&self, shared: &Arc<Shared>, spec: EndpointSpec) -> Result<()> {
        let client = Self::client_for(shared, &spec)?;
        self.launch_with(shared, spec, client)
    }

    fn launch_with(
        &self,
        shared: &Arc<Shared>,
        spec: EndpointSpec,
        client: reqwest::Client,
    ) -> Result<()> {
        let state = match shared.store.state(&spec.name)? {
            Some(state) => state,
            None => {
                let start = match spec.start {
                    Start::Head => shared.log.head().seq,
                    Start::Earliest => 0,
                };
                let state =
                    EndpointState { cursor: start, ats_seq: start, ..EndpointState::default() };
                shared.store.put_state(&spec.name, &state, true)?;
                state
            }
        };
        let (control, control_rx) =
            watch::channel(Control { paused: state.paused, ..Control::default() });
        let (status_tx, status) = watch::channel(state.clone());
        let spec = Arc::new(spec);
        let dead = shared.store.dead_count(&spec.name)?;
        metrics::gauge!("tally_outbox_dead_letters", "endpoint" => spec.name.clone())
            .set(dead as f64);
        let pending = shared.store.pending(&spec.name)?;
        let worker = Worker::new(
            Arc::clone(shared),
            Arc::clone(&spec),
            client,
            control_rx,
            status_tx,
            state,
            pending,
        );
        // Checked and inserted under one lock: an endpoint added through the API and one of a
        // reloaded file under the same name at the same moment never run side by side.
        let mut running = lock(&self.inner.running);
        if running.contains_key(&spec.name) {
            return Err(Error::Exists(spec.name.clone()));
        }
        let task = tokio::spawn(worker.run());
        running.insert(spec.name.clone(), Running { spec, control, status, task: Some(task) });
        Ok(())
    }

    /// Every endpoint with its delivery state, by name.
    pub fn endpoints(&self) -> Result<Vec<EndpointStatus>> {
        let running: Vec<(Arc<EndpointSpec>, EndpointState)> = lock(&self.inner.running)
            .values()
            .map(|r| (Arc::clone(&r.spec), r.status.borrow().clone()))
            .collect();
        if running.is_empty() {
            return Ok(Vec::new());
        }
        let shared = self.shared()?;
        let head = self.inner.log.head().seq;
        running
            .into_iter()
            .map(|(spec, state)| {
                Ok(EndpointStatus {
                    name: spec.name.clone(),
                    url: spec.url.clone(),
                    ca_file: spec.ca_file.as_ref().map(|c| c.path.display().to_string()),
                    types: spec.types.iter().map(|t| t.as_str().to_owned()).collect(),
                    channels: spec.channels.clone(),
                    skus: spec.skus.clone(),
                    origin: spec.origin,
                    paused: state.paused,
                    paused_reason: state.paused_reason.clone(),
                    cursor: state.cursor,
                    head,
                    lag: head.saturating_sub(state.cursor),
                    ats_pending: shared.store.pending_count(&spec.name)?,
                    replay_pending: shared.store.replay_count(&spec.name)?,
                    dead_letters: shared.store.dead_count(&spec.name)?,
                    delivered: state.delivered,
                    failed_attempts: state.failed_attempts,
                    consecutive_failures: state.consecutive_failures,
                    retrying: state.inflight.clone(),
                    last_error: state.last_error.clone(),
                    last_attempt_ms: state.last_attempt_ms,
                    last_success_ms: state.last_success_ms,
                })
            })
            .collect()
    }

    /// One endpoint's status.
    pub fn endpoint(&self, name: &str) -> Result<EndpointStatus> {
        self.endpoints()?
            .into_iter()
            .find(|e| e.name == name)
            .ok_or_else(|| Error::NotFound(name.to_owned()))
    }

    /// Adds an endpoint (kept in the outbox store) and starts delivering to it. Returns its
    /// status and its secret (generated when none was given), to show once.
    pub fn add_endpoint(&self, new: NewEndpoint) -> Result<(EndpointStatus, String)> {
        let secret = match new.secret {
            Some(text) => text,
            None => Secret::generate().expose(),
        };
        let text = EndpointText {
            name: new.name,
            url: new.url,
            types: new.types,
            channels: new.channels,
            skus: new.skus,
            secret: secret.clone(),
            start: new.start,
            ca_file: new.ca_file,
        };
        let spec = text.clone().into_spec_in(Origin::Api, Some(&self.inner.data_dir))?;
        // Stored with the CA file's resolved path.
        let text = spec.to_text();
        {
            let running = lock(&self.inner.running);
            if running.contains_key(&spec.name) {
                return Err(Error::Exists(spec.name));
            }
            if running.len() >= ENDPOINTS_MAX {
                return Err(ConfigError(format!("already {ENDPOINTS_MAX} endpoints")).into());
            }
        }
        let shared = self.shared()?;
        // A name used before (and removed) starts afresh.
        shared.store.remove_endpoint(&spec.name)?;
        shared.store.put_endpoint(&text)?;
        let name = spec.name.clone();
        self.launch(&shared, spec)?;
        Ok((self.endpoint(&name)?, secret))
    }

    /// Reads `webhooks.toml` of the data directory again (blocking file reads: call it off the
    /// async threads), for [`Outbox::reload`]. No file: no file endpoints.
    pub fn load_file(&self) -> Result<WebhooksConfig> {
        Ok(WebhooksConfig::load(&self.inner.data_dir)?.unwrap_or_default())
    }

    /// Puts the endpoints of a new `webhooks.toml` in force without a restart (SIGHUP in
    /// `tally serve`). Every check is made before anything changes: a name an endpoint of the
    /// API has, or more than [`ENDPOINTS_MAX`] endpoints in all, refuse the reload and leave
    /// the endpoints in force as they are (an invalid file is refused earlier, by
    /// [`WebhooksConfig::load`]). Then an endpoint of the file that is new starts (from its
    /// `start`, or from the cursor it had under that name), one that changed (URL, CA file or
    /// its contents, filters, secret, `start`) is stopped and started again with its cursor,
    /// retry state and dead letters kept, one no longer in the file stops (its cursor is kept
    /// in `outbox/`), and an unchanged one is not touched. `[delivery]` is read once, at
    /// start: a change is reported in [`Reloaded::delivery_changed`] and applies at the next
    /// start.
    pub async fn reload(&self, config: WebhooksConfig) -> Result<Reloaded> {
        let _one_at_a_time = self.inner.reload.lock().await;
        config.delivery.check()?;
        let mut report = Reloaded {
            delivery_changed: config.delivery != self.inner.delivery,
            ..Reloaded::default()
        };
        let mut start = Vec::new();
        let mut stop = Vec::new();
        {
            let running = lock(&self.inner.running);
            let mut api = 0usize;
            for (name, entry) in running.iter() {
                match entry.spec.origin {
                    Origin::Api => {
                        api += 1;
                        if config.endpoints.iter().any(|s| &s.name == name) {
                            return Err(ConfigError(format!(
                                "endpoint '{name}' is defined through the API: remove it there (removeWebhookEndpoint) or give the file's endpoint another name"
                            ))
                            .into());
                        }
                    }
                    Origin::Config => {
                        if !config.endpoints.iter().any(|s| &s.name == name) {
                            stop.push(name.clone());
                            report.removed.push(name.clone());
                        }
                    }
                }
            }
            if api + config.endpoints.len() > ENDPOINTS_MAX {
                return Err(ConfigError(format!(
                    "{} endpoints in webhooks.toml and {api} added through the API: at most {ENDPOINTS_MAX} in all",
                    config.endpoints.len()
                ))
                .into());
            }
            for spec in config.endpoints {
                match running.get(&spec.name) {
                    Some(entry) if *entry.spec == spec => report.unchanged.push(spec.name),
                    Some(_) => {
                        stop.push(spec.name.clone());
                        report.changed.push(spec.name.clone());
                        start.push(spec);
                    }
                    None => {
                        report.added.push(spec.name.clone());
                        start.push(spec);
                    }
                }
            }
        }
        for names in
            [&mut report.added, &mut report.changed, &mut report.removed, &mut report.unchanged]
        {
            names.sort();
        }
        if start.is_empty() && stop.is_empty() {
            return Ok(report);
        }
        let shared = self.shared()?;
        // Clients first: nothing is stopped when one cannot be built.
        let mut clients = Vec::with_capacity(start.len());
        for spec in &start {
            clients.push(Self::client_for(&shared, spec)?);
        }
        for name in &stop {
            self.stop_worker(name).await;
        }
        for (spec, client) in start.into_iter().zip(clients) {
            self.launch_with(&shared, spec, client)?;
        }
        Ok(report)
    }

    /// Stops an endpoint's worker and drops it from the running set; its state stays stored
    /// (the worker saves its cursor durably as it stops).
    async fn stop_worker(&self, name: &str) {
        let task = lock(&self.inner.running).remove(name).and_then(|mut entry| {
            entry.control.send_modify(|c| c.removed = true);
            entry.task.take()
        });
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Stops and forgets an endpoint added through the API, with its cursor and dead letters.
    pub async fn remove_endpoint(&self, name: &str) -> Result<()> {
        let task = {
            let mut running = lock(&self.inner.running);
            let entry = running.get(name).ok_or_else(|| Error::NotFound(name.to_owned()))?;
            if entry.spec.origin == Origin::Config {
                return Err(Error::FromConfig(name.to_owned()));
            }
            let mut entry = running.remove(name).ok_or_else(|| Error::NotFound(name.to_owned()))?;
            entry.control.send_modify(|c| c.removed = true);
            entry.task.take()
        };
        if let Some(task) = task {
            let _ = task.await;
        }
        self.shared()?.store.remove_endpoint(name)?;
        Ok(())
    }

    /// Pauses (no attempts; the cursor stays) or resumes an endpoint. The worker records it
    /// durably before its next attempt.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<EndpointStatus> {
        {
            let running = lock(&self.inner.running);
            let entry = running.get(name).ok_or_else(|| Error::NotFound(name.to_owned()))?;
            entry.control.send_modify(|c| {
                c.paused = paused;
                c.pause_generation += 1;
            });
        }
        // The worker records it before its next attempt; the answer shows it at once.
        let mut status = self.endpoint(name)?;
        status.paused = paused;
        if !paused {
            status.paused_reason = None;
        }
        Ok(status)
    }

    /// The endpoint's dead letters, oldest first (at most [`DEAD_LETTERS_PAGE_MAX`]).
    pub fn dead_letters(&self, name: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        self.check_known(name)?;
        Ok(self.shared()?.store.dead_letters(name, limit.min(DEAD_LETTERS_PAGE_MAX))?)
    }

    /// Queues dead letters for another round of attempts (all, or those with these message
    /// ids), with their original `webhook-id`s; returns how many.
    pub fn replay(&self, name: &str, ids: Option<&[String]>) -> Result<u64> {
        self.check_known(name)?;
        let moved = self.shared()?.store.replay(name, ids)?;
        if let Some(entry) = lock(&self.inner.running).get(name) {
            entry.control.send_modify(|c| c.wake += 1);
        }
        Ok(moved)
    }

    /// Waits until every event ≤ `seq` is done for the endpoint (delivered, dead-lettered or
    /// filtered out); `false` after `timeout`.
    pub async fn wait_for_cursor(&self, name: &str, seq: u64, timeout: Duration) -> Result<bool> {
        self.wait_for(name, timeout, |s| s.cursor >= seq).await
    }

    /// Waits until the endpoint's recorded state satisfies `done`; `false` after `timeout`.
    pub async fn wait_for(
        &self,
        name: &str,
        timeout: Duration,
        done: impl Fn(&EndpointState) -> bool,
    ) -> Result<bool> {
        let mut status = lock(&self.inner.running)
            .get(name)
            .map(|r| r.status.clone())
            .ok_or_else(|| Error::NotFound(name.to_owned()))?;
        let reached = tokio::time::timeout(timeout, status.wait_for(|s| done(s))).await;
        Ok(matches!(reached, Ok(Ok(_))))
    }

    fn check_known(&self, name: &str) -> Result<()> {
        if lock(&self.inner.running).contains_key(name) {
            Ok(())
        } else {
            Err(Error::NotFound(name.to_owned()))
        }
    }

    /// Stops every worker (a request in flight is abandoned: it is sent again, with the same
    /// id, at the next start) and makes the cursors durable.
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let tasks: Vec<JoinHandle<()>> =
            lock(&self.inner.running).values_mut().filter_map(|r| r.task.take()).collect();
        for task in tasks {
            let _ = task.await;
        }
        let shared = lock(&self.inner.shared).clone();
        if let Some(shared) = shared
            && let Err(e) = shared.store.sync()
        {
            tracing::error!(error = %e, "outbox: final sync failed");
        }
    }
}
