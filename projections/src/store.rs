//! The view store: one fjall database holding every projection's keyspace, its checkpoint and
//! quarantine, plus the machinery to catch up with the log, rebuild blue/green and replay into a
//! temporary store for as-of reads.
//!
//! Layout: projection `name` lives in keyspace `v.<name>.<generation>`, and every version of its
//! keys in `h.<name>.<generation>` (its history: see [`crate::history`]; reads as of an earlier
//! seq use it); `views_meta` maps `active/<name>` to the generation served and
//! `history_from/<name>/<generation>` to the seq its history starts after, when it was added to
//! a view that already had state (absent: from the start). Inside a projection keyspace, keys starting with
//! 0xFF are reserved: [`CHECKPOINT_KEY`] (last applied seq, u64 BE) and
//! `0xFF quarantine 0x00 <seq BE>` (why that event could not be applied). The checkpoint is
//! written in the same fjall batch as the state it covers, so after any crash a projection
//! resumes exactly after the last event it applied. Projections are derived data: batches are
//! not fsynced; the log is the durable source.

use crate::history::{self, AsOf, prefix_end};
use crate::projection::{Applied, ApplyError, Projection};
use crate::tx::{HistoryKeyspaces, Tx};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable as _, Snapshot};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use tally_log::{Log, RecordedEvent};
use tokio::sync::watch;

/// Reserved key of a projection's checkpoint (last applied seq).
pub const CHECKPOINT_KEY: &[u8] = b"\xffcheckpoint";
/// Reserved prefix of a projection's quarantined events.
pub const QUARANTINE_PREFIX: &[u8] = b"\xffquarantine\x00";
const META: &str = "views_meta";
/// Longest key fjall accepts (longer ones panic inside it), in bytes.
pub const KEY_BYTES_MAX: usize = u16::MAX as usize;

/// `Err(KeyTooLong)` for a key fjall cannot hold.
fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > KEY_BYTES_MAX { Err(Error::KeyTooLong(key.len())) } else { Ok(()) }
}

/// Events applied per fjall batch.
pub const CHUNK_EVENTS: usize = 2048;

/// Errors of the view store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage engine failed.
    #[error("view storage: {0}")]
    Storage(#[from] fjall::Error),
    /// Reading the log failed.
    #[error("log: {0}")]
    Log(#[from] tally_log::Error),
    /// No projection has that name.
    #[error("unknown view '{0}'")]
    UnknownView(String),
    /// A key asked for is longer than the store can hold ([`KEY_BYTES_MAX`]); callers
    /// bound their inputs well below it (ids are at most 64 bytes).
    #[error("a key of {0} bytes is longer than {KEY_BYTES_MAX}")]
    KeyTooLong(usize),
    /// Stored view data is malformed.
    #[error("view '{view}': {reason}")]
    Malformed {
        /// The view.
        view: String,
        /// What is wrong.
        reason: String,
    },
    /// Waiting for a seq timed out.
    #[error("view is at seq {applied}, still short of {wanted} after the timeout")]
    Lagging {
        /// Where the views are.
        applied: u64,
        /// What was asked for.
        wanted: u64,
    },
    /// I/O on a temporary directory.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A projection's storage failed while it applied `seq`: nothing of that chunk was
    /// committed and the store stopped (see [`ViewStore::failure`]).
    #[error("view '{view}' storage failed at seq {seq}: {reason}")]
    ApplyStorage {
        /// The view.
        view: String,
        /// The event being applied.
        seq: u64,
        /// The storage error.
        reason: String,
    },
    /// The store stopped after a storage failure; restart the process to resume from the
    /// views' checkpoints.
    #[error("the views stopped after a storage failure ({0}); restart to resume")]
    Stopped(String),
    /// The view keeps no complete history (it was built before history was kept and not
    /// rebuilt since, or the store keeps none): an earlier state needs a replay of the log.
    #[error("view '{view}' keeps no complete history: an earlier state needs a replay")]
    NoHistory {
        /// The view.
        view: String,
    },
}

impl Error {
    /// Whether this is a failure of the view store's own storage (which stops the store).
    #[must_use]
    pub fn is_storage(&self) -> bool {
        matches!(self, Self::Storage(_) | Self::ApplyStorage { .. } | Self::Io(_))
    }
}

/// `Result` with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

struct Active {
    generation: u64,
    keyspace: Keyspace,
    history: Option<History>,
}

/// A generation's history keyspaces.
#[derive(Clone)]
struct History {
    keyspace: Keyspace,
    /// The lifetimes of the keys deleted ([`history::lifetime_entry`]).
    lifetimes: Keyspace,
    /// Whether `lifetimes` holds every lifetime the history does (it was kept from the
    /// generation's first event): only then do scans read it.
    indexed: bool,
    /// The seq its history starts after (0: complete). A history started later lacks the
    /// keys not written since, so only a complete one answers reads as of a seq.
    from: u64,
}

impl History {
    fn keyspaces(&self) -> HistoryKeyspaces<'_> {
        HistoryKeyspaces { versions: &self.keyspace, lifetimes: &self.lifetimes }
    }
}

struct View {
    projection: Arc<dyn Projection>,
    active: RwLock<Active>,
    applied: watch::Sender<u64>,
}

impl View {
    /// The keyspace served now.
    fn keyspace(&self) -> Keyspace {
        self.served().0
    }

    /// The keyspace served now and its history.
    fn served(&self) -> (Keyspace, Option<History>) {
        let read = |a: &Active| (a.keyspace.clone(), a.history.clone());
        self.active.read().map_or_else(|e| read(&e.into_inner()), |a| read(&a))
    }
}

struct Inner {
    db: Database,
    meta: Keyspace,
    views: Vec<View>,
    /// Serialises catch-up and generation swaps.
    apply_lock: Mutex<()>,
    /// Storage reads of projections still to fail (fault injection in tests; 0 otherwise).
    read_faults: AtomicU64,
    /// Set by the first storage failure of a catch-up: the store applies nothing more until it
    /// is opened again.
    failure: Mutex<Option<String>>,
    /// The smallest applied seq over all views.
    low_water: watch::Sender<u64>,
    /// Whether writes keep their versions (not in throw-away replays).
    keep_history: bool,
    /// [`DEAD_KEYS_BEFORE_INDEX`], changed by tests only.
    dead_before_index: std::sync::atomic::AtomicUsize,
    _temp: Option<tempfile::TempDir>,
}

/// The projections of one store. Cheap to clone.
#[derive(Clone)]
pub struct ViewStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ViewStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewStore").field("views", &self.names()).finish()
    }
}

fn keyspace_name(view: &str, generation: u64) -> String {
    format!("v.{view}.{generation}")
}

fn history_name(view: &str, generation: u64) -> String {
    format!("h.{view}.{generation}")
}

/// Memtable of a view's state: a bound on what each view holds in memory (fjall's default is
/// 64 MiB; with up to four sealed ones waiting on a flush, ten views could hold 3 GiB). Applies
/// to keyspaces created from now on: fjall keeps a keyspace's options.
const STATE_MEMTABLE_BYTES: u64 = 16 << 20;

fn state_options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default().max_memtable_size(STATE_MEMTABLE_BYTES)
}

/// Memtable of a history keyspace: history is written with every event and read only by
/// answers as of an earlier seq, so it gets a smaller write buffer than fjall's 64 MiB default
/// (ten views keep ten history memtables in memory).
const HISTORY_MEMTABLE_BYTES: u64 = 8 << 20;

fn history_options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default().max_memtable_size(HISTORY_MEMTABLE_BYTES)
}

fn lifetimes_name(view: &str, generation: u64) -> String {
    format!("l.{view}.{generation}")
}

/// Memtable of a lifetime index: one entry per key deleted, far fewer than versions.
const LIFETIMES_MEMTABLE_BYTES: u64 = 4 << 20;

fn lifetimes_options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default().max_memtable_size(LIFETIMES_MEMTABLE_BYTES)
}

/// Meta key holding [`LIFETIMES_FORMAT`] when a generation's lifetime index was kept from
/// its first event.
fn indexed_key(view: &str, generation: u64) -> String {
    format!("lifetimes/{view}/{generation}")
}

/// The layout of the lifetime index (1: a binary tree, never read since; 2: 16-ary).
const LIFETIMES_FORMAT: [u8; 1] = [2];

/// Keys not alive as of the seq that a forward history scan walks before it reads the
/// lifetime index instead: walking one costs ~0.3 µs, starting the index read a seek per
/// level (7 at 10 M events).
const DEAD_KEYS_BEFORE_INDEX: usize = 256;

fn history_from_key(view: &str, generation: u64) -> String {
    format!("history_from/{view}/{generation}")
}

/// Meta key of the projection version that built a generation (u32 BE).
fn version_key(view: &str, generation: u64) -> String {
    format!("version/{view}/{generation}")
}

/// Opens the history of generation `generation` of `view`, whose state has applied `applied`.
/// A view with state but no history yet (built by an older binary) gets history from
/// `applied` on: the seq is recorded durably before the keyspace exists, so no history entry
/// is ever read as complete when it is not.
fn open_history(
    db: &Database,
    meta: &Keyspace,
    view: &str,
    generation: u64,
    applied: u64,
) -> Result<History> {
    let name = history_name(view, generation);
    let from_key = history_from_key(view, generation);
    let from = if db.keyspace_exists(&name) {
        match meta.get(&from_key)? {
            None => 0,
            Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).map_err(|_| {
                Error::Malformed { view: view.to_owned(), reason: "bad history_from".into() }
            })?,
        }
    } else if applied > 0 {
        let mut batch = db.batch().durability(Some(PersistMode::SyncData));
        batch.insert(meta, &from_key, applied.to_be_bytes());
        batch.commit()?;
        applied
    } else {
        0
    };
    if applied == 0 {
        // Nothing applied yet: every lifetime is kept from the first event, in this layout.
        meta.insert(indexed_key(view, generation), LIFETIMES_FORMAT)?;
    }
    let indexed =
        meta.get(indexed_key(view, generation))?.is_some_and(|v| *v == LIFETIMES_FORMAT[..]);
    let keyspace = db.keyspace(&name, history_options)?;
    let lifetimes = db.keyspace(&lifetimes_name(view, generation), lifetimes_options)?;
    Ok(History { keyspace, lifetimes, indexed, from })
}

fn read_checkpoint(keyspace: &Keyspace, view: &str) -> Result<u64> {
    match keyspace.get(CHECKPOINT_KEY)? {
        None => Ok(0),
        Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).map_err(|_| Error::Malformed {
            view: view.to_owned(),
            reason: "checkpoint is not 8 bytes".to_owned(),
        }),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ViewStore {
    /// Opens (or creates) the view store in `path` with these projections.
    pub fn open(path: &Path, projections: Vec<Arc<dyn Projection>>) -> Result<Self> {
        std::fs::create_dir_all(path)?;
        // Views are derived: a damaged view store is rebuilt by deleting it.
        tally_log::check_store_files(path).map_err(|e| Error::Malformed {
            view: "*".to_owned(),
            reason: format!("{e}; delete '{}' to rebuild every view from the log", path.display()),
        })?;
        let db = Database::builder(path).open()?;
        Self::with_db(db, projections, None, true)
    }

    /// A throw-away store in a temporary directory (for as-of replays and rebuild checks).
    pub fn temporary(projections: Vec<Arc<dyn Projection>>) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("tally-views").tempdir()?;
        let db = Database::builder(dir.path()).temporary(true).open()?;
        Self::with_db(db, projections, Some(dir), false)
    }

    fn with_db(
        db: Database,
        projections: Vec<Arc<dyn Projection>>,
        temp: Option<tempfile::TempDir>,
        keep_history: bool,
    ) -> Result<Self> {
        let meta = db.keyspace(META, KeyspaceCreateOptions::default)?;
        let mut views = Vec::with_capacity(projections.len());
        for projection in projections {
            let name = projection.name();
            let generation = match meta.get(format!("active/{name}"))? {
                None => 0,
                Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).map_err(|_| {
                    Error::Malformed { view: name.to_owned(), reason: "bad generation".into() }
                })?,
            };
            let keyspace = db.keyspace(&keyspace_name(name, generation), state_options)?;
            let applied = read_checkpoint(&keyspace, name)?;
            let history = if keep_history {
                // A generation that has applied nothing is built by this binary from here on.
                if applied == 0 && meta.get(version_key(name, generation))?.is_none() {
                    meta.insert(version_key(name, generation), projection.version().to_be_bytes())?;
                }
                Some(open_history(&db, &meta, name, generation, applied)?)
            } else {
                None
            };
            views.push(View {
                projection,
                active: RwLock::new(Active { generation, keyspace, history }),
                applied: watch::Sender::new(applied),
            });
        }
        let low = views.iter().map(|v| *v.applied.borrow()).min().unwrap_or(0);
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                meta,
                views,
                apply_lock: Mutex::new(()),
                read_faults: AtomicU64::new(0),
                failure: Mutex::new(None),
                low_water: watch::Sender::new(low),
                keep_history,
                dead_before_index: std::sync::atomic::AtomicUsize::new(DEAD_KEYS_BEFORE_INDEX),
                _temp: temp,
            }),
        })
    }

    /// The served keyspace of every projection and its history, in registration order.
    fn active_keyspaces(&self) -> Vec<(Keyspace, Option<History>)> {
        self.inner.views.iter().map(View::served).collect()
    }

    /// Sets how many keys not alive as of the seq a history scan walks before it reads the
    /// lifetime index instead (0: always; test-only, to cover both ways of reading).
    #[doc(hidden)]
    pub fn set_dead_keys_before_index(&self, keys: usize) {
        self.inner.dead_before_index.store(keys, std::sync::atomic::Ordering::Relaxed);
    }

    fn historical(
        &self,
        snapshot: Snapshot,
        keyspace: Keyspace,
        seq: u64,
        head: u64,
        history: History,
    ) -> ViewReader {
        let dead_before_index =
            self.inner.dead_before_index.load(std::sync::atomic::Ordering::Relaxed);
        ViewReader {
            snapshot,
            keyspace,
            applied: seq,
            as_of: Some(AsOfState { history, head, dead_before_index }),
        }
    }

    /// Names of the projections, in registration order.
    #[must_use]
    pub fn names(&self) -> Vec<&'static str> {
        self.inner.views.iter().map(|v| v.projection.name()).collect()
    }

    fn view(&self, name: &str) -> Result<&View> {
        self.inner
            .views
            .iter()
            .find(|v| v.projection.name() == name)
            .ok_or_else(|| Error::UnknownView(name.to_owned()))
    }

    /// The last seq `name` has applied.
    pub fn applied(&self, name: &str) -> Result<u64> {
        Ok(*self.view(name)?.applied.borrow())
    }

    /// Bytes held in the views' write buffers (memtables, active and sealed, not yet
    /// flushed), as the storage engine counts them: a gauge for memory.
    #[must_use]
    pub fn write_buffer_bytes(&self) -> u64 {
        self.inner.db.write_buffer_size()
    }

    /// The smallest applied seq over all projections.
    #[must_use]
    pub fn low_water(&self) -> u64 {
        *self.inner.low_water.borrow()
    }

    /// Waits until every projection has applied `seq` (read-your-writes), or the timeout.
    pub async fn wait_for(&self, seq: u64, timeout: std::time::Duration) -> Result<u64> {
        let mut rx = self.inner.low_water.subscribe();
        let wait = rx.wait_for(|applied| *applied >= seq);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(applied)) => Ok(*applied),
            _ => Err(Error::Lagging { applied: self.low_water(), wanted: seq }),
        }
    }

    /// Applies every durable event the projections have not applied yet, up to `upto`.
    /// Returns the number of (event, projection) applications.
    ///
    /// A storage failure of the view store stops it: this and every later call answer an
    /// error and apply nothing (the checkpoints stay where they are) until the store is opened
    /// again. An event a projection cannot apply is quarantined instead (not an error).
    pub fn catch_up(&self, log: &Log, upto: Option<u64>) -> Result<u64> {
        let _guard = lock(&self.inner.apply_lock);
        if let Some(reason) = lock(&self.inner.failure).clone() {
            return Err(Error::Stopped(reason));
        }
        let result = self.catch_up_locked(log, upto);
        if let Err(e) = &result
            && e.is_storage()
        {
            tracing::error!(error = %e, "views stopped after a storage failure");
            *lock(&self.inner.failure) = Some(e.to_string());
        }
        result
    }

    /// Why the store stopped applying events (a storage failure), or `None` while it runs.
    #[must_use]
    pub fn failure(&self) -> Option<String> {
        lock(&self.inner.failure).clone()
    }

    fn catch_up_locked(&self, log: &Log, upto: Option<u64>) -> Result<u64> {
        let target = upto.unwrap_or(u64::MAX).min(log.head().seq);
        let actives = self.active_keyspaces();
        let targets: Vec<Target<'_>> = self
            .inner
            .views
            .iter()
            .zip(&actives)
            .map(|(v, (ks, history))| Target {
                projection: v.projection.as_ref(),
                keyspace: ks,
                history: history.as_ref().map(History::keyspaces),
                applied: *v.applied.borrow(),
            })
            .collect();
        let applied = apply_range(
            &self.inner,
            log,
            targets,
            (target, None),
            &mut |_, _| {},
            &mut |i, seq| {
                self.inner.views[i].applied.send_replace(seq);
                // Per chunk, not only at the end of the catch-up: a long catch-up (after a
                // restart, or behind a fast writer) shows its progress to waiters.
                self.publish_low_water();
            },
        )?;
        self.publish_low_water();
        Ok(applied)
    }

    fn publish_low_water(&self) {
        let low = self.inner.views.iter().map(|v| *v.applied.borrow()).min().unwrap_or(0);
        self.inner.low_water.send_if_modified(|old| std::mem::replace(old, low) != low);
    }

    /// The history of `name` read as of the seq `live` (a read of the view's state) reflects,
    /// in the same snapshot: what every `asOf` answer at that seq reads. It must hold exactly
    /// the state (`tally replay --check` compares them). `None` when the view keeps no
    /// complete history (a throw-away store, or history from a later seq on).
    pub fn history_twin(&self, name: &str, live: &ViewReader) -> Result<Option<ViewReader>> {
        let (_, history) = self.view(name)?.served();
        Ok(history.filter(|h| h.from == 0 && live.as_of.is_none()).map(|h| {
            let (snapshot, keyspace) = (live.snapshot.clone(), live.keyspace.clone());
            self.historical(snapshot, keyspace, live.applied, live.applied, h)
        }))
    }

    /// Views whose served generation this binary should rebuild, with why: built by another
    /// version of the projection ([`Projection::version`]), built before versions were
    /// recorded, or holding history only from some seq on (built before history was kept).
    /// A server rebuilds them online at start ([`ViewStore::rebuild`]), which records the
    /// version and a complete history.
    pub fn stale(&self) -> Result<Vec<(&'static str, String)>> {
        let mut out = Vec::new();
        if !self.inner.keep_history {
            return Ok(out);
        }
        for view in &self.inner.views {
            let name = view.projection.name();
            let (generation, history_from, indexed) = {
                let active = view.active.read().unwrap_or_else(std::sync::PoisonError::into_inner);
                let history = active.history.as_ref();
                (
                    active.generation,
                    history.map_or(0, |h| h.from),
                    history.is_none_or(|h| h.indexed),
                )
            };
            let wanted = view.projection.version();
            let built = match self.inner.meta.get(version_key(name, generation))? {
                None => None,
                Some(v) => Some(v.as_ref().try_into().map(u32::from_be_bytes).map_err(|_| {
                    Error::Malformed { view: name.to_owned(), reason: "bad version".into() }
                })?),
            };
            let why = match built {
                Some(v) if v != wanted => Some(format!(
                    "built by version {v} of the projection; this binary has {wanted}"
                )),
                None => Some(format!(
                    "built before projection versions were recorded; this binary has {wanted}"
                )),
                Some(_) if history_from > 0 => {
                    Some(format!("its history starts at seq {history_from}"))
                }
                Some(_) if !indexed => {
                    Some("its history has no lifetime index (built by an older binary)".into())
                }
                Some(_) => None,
            };
            if let Some(why) = why {
                out.push((name, why));
            }
        }
        Ok(out)
    }

    /// A consistent read of `name` at the seq it has applied.
    pub fn reader(&self, name: &str) -> Result<ViewReader> {
        let view = self.view(name)?;
        let keyspace = view.keyspace();
        let snapshot = self.inner.db.snapshot();
        let applied = match snapshot.get(&keyspace, CHECKPOINT_KEY)? {
            Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0),
            None => 0,
        };
        Ok(ViewReader { snapshot, keyspace, applied, as_of: None })
    }

    /// A consistent read of `name` as it was after `seq`, from its history: seeks, no replay.
    /// `seq` equal to what the view has applied reads the view itself.
    ///
    /// Errors: [`Error::Lagging`] when the view has not applied `seq` yet (wait with
    /// [`ViewStore::wait_for`]); [`Error::NoHistory`] when it keeps no complete history
    /// (replay the log instead: [`ViewStore::replay_as_of`]).
    pub fn reader_at(&self, name: &str, seq: u64) -> Result<ViewReader> {
        let view = self.view(name)?;
        let (keyspace, history) = view.served();
        let snapshot = self.inner.db.snapshot();
        let applied = match snapshot.get(&keyspace, CHECKPOINT_KEY)? {
            Some(v) => v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0),
            None => 0,
        };
        if seq > applied {
            return Err(Error::Lagging { applied, wanted: seq });
        }
        if seq == applied {
            return Ok(ViewReader { snapshot, keyspace, applied, as_of: None });
        }
        match history {
            Some(h) if h.from == 0 => Ok(self.historical(snapshot, keyspace, seq, applied, h)),
            // History kept from a later seq on lacks the keys not written since: it answers
            // nothing before the view is rebuilt ([`ViewStore::stale`]).
            Some(_) | None => Err(Error::NoHistory { view: name.to_owned() }),
        }
    }

    /// Rebuilds `name` from the log into a new generation while the current one keeps
    /// serving, then swaps it in atomically and drops the old one (blue/green).
    /// `progress(done, total)` is called after each chunk.
    pub fn rebuild(
        &self,
        name: &str,
        log: &Log,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RebuildReport> {
        let index = self
            .inner
            .views
            .iter()
            .position(|v| v.projection.name() == name)
            .ok_or_else(|| Error::UnknownView(name.to_owned()))?;
        let view = &self.inner.views[index];
        let generation =
            view.active.read().map(|a| a.generation).unwrap_or_else(|e| e.into_inner().generation)
                + 1;
        let ks_name = keyspace_name(name, generation);
        if self.inner.db.keyspace_exists(&ks_name) {
            // Left over by an interrupted rebuild: start it over.
            let stale = self.inner.db.keyspace(&ks_name, state_options)?;
            self.inner.db.delete_keyspace(stale)?;
        }
        let fresh = self.inner.db.keyspace(&ks_name, state_options)?;
        let fresh_history = if self.inner.keep_history {
            let db = &self.inner.db;
            let h_name = history_name(name, generation);
            let l_name = lifetimes_name(name, generation);
            if db.keyspace_exists(&h_name) {
                db.delete_keyspace(db.keyspace(&h_name, history_options)?)?;
            }
            if db.keyspace_exists(&l_name) {
                db.delete_keyspace(db.keyspace(&l_name, lifetimes_options)?)?;
            }
            Some(History {
                keyspace: db.keyspace(&h_name, history_options)?,
                lifetimes: db.keyspace(&l_name, lifetimes_options)?,
                indexed: true,
                from: 0,
            })
        } else {
            None
        };
        let fresh_target = |applied| Target {
            projection: view.projection.as_ref(),
            keyspace: &fresh,
            history: fresh_history.as_ref().map(History::keyspaces),
            applied,
        };
        // Phase 1, unlocked: replay up to the current head while live updates go on.
        let head = log.head().seq;
        let mut at = apply_single(&self.inner, log, fresh_target(0), head, progress)?;
        // Phase 2, locked: catch up with the live generation and swap.
        let _guard = lock(&self.inner.apply_lock);
        let live = *view.applied.borrow();
        at = apply_single(&self.inner, log, fresh_target(at), live, progress)?;
        let mut batch = self.inner.db.batch().durability(Some(PersistMode::SyncData));
        batch.insert(&self.inner.meta, format!("active/{name}"), generation.to_be_bytes());
        batch.insert(
            &self.inner.meta,
            version_key(name, generation),
            view.projection.version().to_be_bytes(),
        );
        if fresh_history.is_some() {
            batch.insert(&self.inner.meta, indexed_key(name, generation), LIFETIMES_FORMAT);
        }
        batch.commit()?;
        let old = {
            let mut active = view.active.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            let fresh = Active { generation, keyspace: fresh.clone(), history: fresh_history };
            std::mem::replace(&mut *active, fresh)
        };
        self.inner.db.delete_keyspace(old.keyspace)?;
        if let Some(history) = old.history {
            self.inner.db.delete_keyspace(history.keyspace)?;
            self.inner.db.delete_keyspace(history.lifetimes)?;
        }
        Ok(RebuildReport { generation, applied_seq: at })
    }

    /// Replays the log up to `seq` into a temporary store with fresh projections: the views as
    /// they were at that seq.
    pub fn replay_as_of(
        log: &Log,
        projections: Vec<Arc<dyn Projection>>,
        seq: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ViewStore> {
        Self::replay_where(log, projections, seq, None, progress)
    }

    /// Replays into a temporary store only the events up to `seq` that occurred at or before
    /// `occurred_by_ms` (business time): the views as the business was then, as known at
    /// `seq`. An event recorded late (a snapshot for yesterday recorded today) counts at its
    /// occurred time; one recorded after `seq` does not count at all. The checkpoint is `seq`.
    pub fn replay_occurred_by(
        log: &Log,
        projections: Vec<Arc<dyn Projection>>,
        seq: u64,
        occurred_by_ms: i64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ViewStore> {
        let keep = move |e: &RecordedEvent| e.occurred_at_ms() <= occurred_by_ms;
        Self::replay_where(log, projections, seq, Some(&keep), progress)
    }

    fn replay_where(
        log: &Log,
        projections: Vec<Arc<dyn Projection>>,
        seq: u64,
        keep: Option<&dyn Fn(&RecordedEvent) -> bool>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ViewStore> {
        let store = Self::temporary(projections)?;
        {
            let _guard = lock(&store.inner.apply_lock);
            let actives = store.active_keyspaces();
            let targets = store
                .inner
                .views
                .iter()
                .zip(&actives)
                .map(|(v, (ks, history))| Target {
                    projection: v.projection.as_ref(),
                    keyspace: ks,
                    history: history.as_ref().map(History::keyspaces),
                    applied: 0,
                })
                .collect();
            apply_range(
                &store.inner,
                log,
                targets,
                (seq.min(log.head().seq), keep),
                progress,
                &mut |i, s| {
                    store.inner.views[i].applied.send_replace(s);
                },
            )?;
        }
        let low = store.inner.views.iter().map(|v| *v.applied.borrow()).min().unwrap_or(0);
        store.inner.low_water.send_replace(low);
        Ok(store)
    }

    /// Writes every view's in-memory tables to disk and waits (for measurements of
    /// [`ViewStore::disk_space`]; views need no flush for durability, the log is the source).
    pub fn flush(&self) -> Result<()> {
        for view in &self.inner.views {
            let (keyspace, history) = view.served();
            keyspace.rotate_memtable_and_wait()?;
            if let Some(history) = history {
                history.keyspace.rotate_memtable_and_wait()?;
                history.lifetimes.rotate_memtable_and_wait()?;
            }
        }
        Ok(())
    }

    /// Bytes on disk of `name`'s served generation: (its state, its history with its
    /// lifetime index). Data still in memtables is not counted until flushed
    /// ([`ViewStore::flush`]).
    pub fn disk_space(&self, name: &str) -> Result<(u64, u64)> {
        let (keyspace, history) = self.view(name)?.served();
        let history = history.map_or(0, |h| h.keyspace.disk_space() + h.lifetimes.disk_space());
        Ok((keyspace.disk_space(), history))
    }

    /// Every stored (key, value) of `name`'s served generation, checkpoint included: for
    /// byte-for-byte comparisons.
    pub fn dump(&self, name: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let reader = self.reader(name)?;
        reader.scan(&[])
    }

    /// Makes the next `reads` storage reads of projections fail with an I/O error, as a
    /// failing disk would (test-only fault injection).
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn inject_read_faults(&self, reads: u64) {
        self.inner.read_faults.store(reads, std::sync::atomic::Ordering::Relaxed);
    }

    /// Events `name` could not apply: (seq, reason).
    pub fn quarantined(&self, name: &str) -> Result<Vec<(u64, String)>> {
        let reader = self.reader(name)?;
        Ok(reader
            .scan(QUARANTINE_PREFIX)?
            .into_iter()
            .map(|(k, v)| {
                let seq = k
                    .get(QUARANTINE_PREFIX.len()..)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                (seq, String::from_utf8_lossy(&v).into_owned())
            })
            .collect())
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    /// The generation now served.
    pub generation: u64,
    /// The seq it has applied.
    pub applied_seq: u64,
}

/// A snapshot read of one projection: of its state now, or of its history as of an earlier
/// seq ([`ViewStore::reader_at`]). Both answer every read the same way.
pub struct ViewReader {
    snapshot: Snapshot,
    keyspace: Keyspace,
    applied: u64,
    /// The history when this reads the view as of `applied` from its history.
    as_of: Option<AsOfState>,
}

/// What a read as of an earlier seq reads besides the state.
struct AsOfState {
    history: History,
    /// The seq the state has applied.
    head: u64,
    dead_before_index: usize,
}

impl std::fmt::Debug for ViewReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewReader").field("applied", &self.applied).finish_non_exhaustive()
    }
}

impl ViewReader {
    /// The seq this read reflects.
    #[must_use]
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Whether this reads the view's history (as of an earlier seq) rather than its state.
    #[must_use]
    pub fn is_historical(&self) -> bool {
        self.as_of.is_some()
    }

    fn history(&self) -> Option<AsOf<'_>> {
        self.as_of.as_ref().map(|a| AsOf {
            snapshot: &self.snapshot,
            state: &self.keyspace,
            history: &a.history.keyspace,
            lifetimes: a.history.indexed.then_some(&a.history.lifetimes),
            seq: self.applied,
            head: a.head,
            dead_before_index: a.dead_before_index,
        })
    }

    fn malformed(&self, e: history::Malformed) -> Error {
        Error::Malformed {
            view: String::from_utf8_lossy(self.keyspace.name().as_bytes()).into_owned(),
            reason: e.0,
        }
    }

    /// Adds the checkpoint entry (the seq read as of) to `found`, the result of a history
    /// read of the keys under `prefix` after `after` or before `before`, in key order or
    /// `descending`: the history keeps no checkpoint, and a read as of a seq answers as a
    /// replay to it does.
    fn with_checkpoint(
        &self,
        mut found: Vec<(Vec<u8>, Vec<u8>)>,
        prefix: &[u8],
        (after, before): (Option<&[u8]>, Option<&[u8]>),
        descending: bool,
        limit: usize,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let key = CHECKPOINT_KEY;
        let covered = key.starts_with(prefix)
            && after.is_none_or(|a| key > a)
            && before.is_none_or(|b| key < b);
        // A store that applied nothing has no checkpoint either.
        if covered && limit > 0 && self.applied > 0 {
            let entry = (key.to_vec(), self.applied.to_be_bytes().to_vec());
            let at = if descending {
                found.partition_point(|(k, _)| k.as_slice() > key)
            } else {
                found.partition_point(|(k, _)| k.as_slice() < key)
            };
            found.insert(at, entry);
            found.truncate(limit);
        }
        found
    }

    /// Raw read.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        if let Some(history) = self.history() {
            if key == CHECKPOINT_KEY {
                return Ok((self.applied > 0).then(|| self.applied.to_be_bytes().to_vec()));
            }
            return history.get(key).map_err(|e| self.malformed(e));
        }
        Ok(self.snapshot.get(&self.keyspace, key)?.map(|v| v.to_vec()))
    }

    /// Typed read.
    pub fn get<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.get_raw(key)? {
            None => Ok(None),
            Some(bytes) => postcard::from_bytes(&bytes).map(Some).map_err(|e| Error::Malformed {
                view: String::from_utf8_lossy(self.keyspace.name().as_bytes()).into_owned(),
                reason: e.to_string(),
            }),
        }
    }

    /// An i64 counter written by [`Tx::add`].
    pub fn counter(&self, key: &[u8]) -> Result<i64> {
        Ok(self
            .get_raw(key)?
            .and_then(|b| b.as_slice().try_into().ok().map(i64::from_be_bytes))
            .unwrap_or(0))
    }

    /// Every (key, value) under `prefix`, in key order.
    pub fn scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        check_key(prefix)?;
        if let Some(history) = self.history() {
            let found = history.scan_prefix(prefix).map_err(|e| self.malformed(e))?;
            return Ok(self.with_checkpoint(found, prefix, (None, None), false, usize::MAX));
        }
        let mut out = Vec::new();
        for guard in self.snapshot.prefix(&self.keyspace, prefix) {
            let (k, v) = guard.into_inner()?;
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// At most `limit` (key, value) pairs under `prefix` whose key is strictly after `after`
    /// (from the start of the prefix when `None`), in key order. Reads O(`limit`) entries
    /// whatever the size of the prefix: the read starts at the cursor and stops at the limit
    /// or at the end of the prefix.
    pub fn scan_after(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        check_key(prefix)?;
        if let Some(after) = after {
            check_key(after)?;
        }
        let end = prefix_end(prefix);
        let start = match after {
            Some(a) if a >= prefix => {
                if end.as_deref().is_some_and(|e| a >= e) {
                    return Ok(Vec::new());
                }
                Bound::Excluded(a.to_vec())
            }
            _ => Bound::Included(prefix.to_vec()),
        };
        let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
        if let Some(history) = self.history() {
            let found =
                history.scan((start, upper), false, limit).map_err(|e| self.malformed(e))?;
            return Ok(self.with_checkpoint(found, prefix, (after, None), false, limit));
        }
        let mut out = Vec::with_capacity(limit.min(1024));
        if limit == 0 {
            return Ok(out);
        }
        for guard in self.snapshot.range(&self.keyspace, (start, upper)) {
            let (k, v) = guard.into_inner()?;
            debug_assert!(k.starts_with(prefix), "range left the prefix");
            out.push((k.to_vec(), v.to_vec()));
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// At most `limit` (key, value) pairs under `prefix` whose key is strictly before
    /// `before` (from the end of the prefix when `None`), nearest first: the mirror of
    /// [`ViewReader::scan_after`], reading O(`limit`) entries.
    pub fn scan_before(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        check_key(prefix)?;
        if let Some(before) = before {
            check_key(before)?;
        }
        let end = prefix_end(prefix);
        let upper = match (before, end) {
            (Some(b), _) if b < prefix => return Ok(Vec::new()),
            (Some(b), Some(e)) if b >= e.as_slice() => Bound::Excluded(e),
            (Some(b), _) => Bound::Excluded(b.to_vec()),
            (None, Some(e)) => Bound::Excluded(e),
            (None, None) => Bound::Unbounded,
        };
        if let Some(history) = self.history() {
            let range = (Bound::Included(prefix.to_vec()), upper);
            let found = history.scan(range, true, limit).map_err(|e| self.malformed(e))?;
            return Ok(self.with_checkpoint(found, prefix, (None, before), true, limit));
        }
        let mut out = Vec::with_capacity(limit.min(1024));
        if limit == 0 {
            return Ok(out);
        }
        let range = self.snapshot.range(&self.keyspace, (Bound::Included(prefix.to_vec()), upper));
        for guard in range.rev() {
            let (k, v) = guard.into_inner()?;
            debug_assert!(k.starts_with(prefix), "range left the prefix");
            out.push((k.to_vec(), v.to_vec()));
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Events this view quarantined up to the seq it reflects: (how many, the first seq).
    /// Reads the quarantine keys of the snapshot, so it agrees with every other read of it.
    pub fn quarantine_summary(&self) -> Result<(u64, Option<u64>)> {
        let seq_of = |key: &[u8]| {
            key.get(QUARANTINE_PREFIX.len()..)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
        };
        if let Some(history) = self.history() {
            let keys = history.scan_prefix(QUARANTINE_PREFIX).map_err(|e| self.malformed(e))?;
            return Ok((keys.len() as u64, keys.first().and_then(|(k, _)| seq_of(k))));
        }
        let mut count = 0_u64;
        let mut first = None;
        for guard in self.snapshot.prefix(&self.keyspace, QUARANTINE_PREFIX) {
            let key = guard.key()?;
            if first.is_none() {
                first = seq_of(&key);
            }
            count += 1;
        }
        Ok((count, first))
    }

    /// Decodes a stored postcard value of this view.
    pub fn decode<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        postcard::from_bytes(bytes).map_err(|e| Error::Malformed {
            view: String::from_utf8_lossy(self.keyspace.name().as_bytes()).into_owned(),
            reason: e.to_string(),
        })
    }

    /// Typed values under `prefix`, with the key suffix after the prefix.
    pub fn scan_typed<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>> {
        self.scan(prefix)?
            .into_iter()
            .map(|(k, v)| {
                let value = self.decode(&v)?;
                Ok((k[prefix.len().min(k.len())..].to_vec(), value))
            })
            .collect()
    }
}

struct Target<'a> {
    projection: &'a dyn Projection,
    keyspace: &'a Keyspace,
    history: Option<HistoryKeyspaces<'a>>,
    applied: u64,
}

fn decode(event: &RecordedEvent) -> Result<tally_domain::Event, String> {
    tally_domain::decode(event.event_type(), event.schema_version(), event.payload()).map_err(|e| {
        format!("cannot decode {} v{}: {e}", event.event_type(), event.schema_version())
    })
}

fn quarantine_key(seq: u64) -> Vec<u8> {
    let mut key = QUARANTINE_PREFIX.to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// Only the events this keeps are applied (the others pass as if they did not exist).
type Keep<'a> = Option<&'a dyn Fn(&RecordedEvent) -> bool>;

/// Applies events `(min applied, to]` (those `keep` keeps) to every target in chunks of
/// [`CHUNK_EVENTS`], each chunk one fjall batch holding every target's writes and checkpoint.
fn apply_range(
    inner: &Inner,
    log: &Log,
    mut targets: Vec<Target<'_>>,
    (to, keep): (u64, Keep<'_>),
    progress: &mut dyn FnMut(u64, u64),
    on_applied: &mut dyn FnMut(usize, u64),
) -> Result<u64> {
    let from = targets.iter().map(|t| t.applied).min().unwrap_or(to);
    if from >= to {
        return Ok(0);
    }
    let total = to - from;
    let db = &inner.db;
    let mut txs: Vec<Tx<'_>> =
        targets.iter().map(|t| Tx::new(t.keyspace, t.history, &inner.read_faults)).collect();
    let mut applications = 0u64;
    let mut in_chunk = 0usize;
    let mut last = from;
    for recorded in log.read(from + 1..=to) {
        let recorded = recorded?;
        let seq = recorded.seq();
        if keep.is_some_and(|keep| !keep(&recorded)) {
            last = seq;
            in_chunk += 1;
            if in_chunk == CHUNK_EVENTS {
                commit_chunk(db, &mut targets, &mut txs, last, on_applied)?;
                progress(last - from, total);
                in_chunk = 0;
            }
            continue;
        }
        let decoded = decode(&recorded);
        let hash = recorded.hash();
        for (target, tx) in targets.iter().zip(txs.iter_mut()) {
            if seq <= target.applied {
                continue;
            }
            tx.begin();
            let outcome = match &decoded {
                Err(reason) => Err(reason.clone()),
                Ok(event) => {
                    let applied = Applied {
                        seq,
                        hash: &hash,
                        stream: recorded.stream(),
                        stream_version: recorded.stream_version(),
                        event_type: recorded.event_type(),
                        occurred_at_ms: recorded.occurred_at_ms(),
                        recorded_at_ms: recorded.recorded_at_ms(),
                        actor: recorded.actor(),
                        source: recorded.source(),
                        event,
                    };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        target.projection.apply(tx, &applied)
                    }))
                    .unwrap_or_else(|panic| Err(ApplyError::new(panic_message(&*panic))));
                    match result {
                        Ok(()) => Ok(()),
                        Err(ApplyError::Rejected(reason)) => {
                            tx.rollback();
                            Err(reason)
                        }
                        Err(e) => {
                            // Not the event's fault: nothing of this chunk is committed, the
                            // checkpoints stay, and a restart applies it again.
                            return Err(Error::ApplyStorage {
                                view: target.projection.name().to_owned(),
                                seq,
                                reason: e.to_string(),
                            });
                        }
                    }
                }
            };
            if let Err(reason) = outcome {
                tracing::warn!(view = target.projection.name(), seq, %reason, "event quarantined");
                tx.put_raw(quarantine_key(seq), reason.into_bytes());
            }
            tx.end(seq).map_err(|e| Error::ApplyStorage {
                view: target.projection.name().to_owned(),
                seq,
                reason: e.to_string(),
            })?;
            applications += 1;
        }
        last = seq;
        in_chunk += 1;
        if in_chunk == CHUNK_EVENTS || txs.iter().map(Tx::len).sum::<usize>() > 64 * CHUNK_EVENTS {
            commit_chunk(db, &mut targets, &mut txs, last, on_applied)?;
            progress(last - from, total);
            in_chunk = 0;
        }
    }
    if in_chunk > 0 {
        commit_chunk(db, &mut targets, &mut txs, last, on_applied)?;
        progress(last - from, total);
    }
    Ok(applications)
}

/// The message of a panic payload (a projection bug: deterministic, so the event is
/// quarantined like any rejection).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("projection panicked: {text}")
}

fn commit_chunk(
    db: &Database,
    targets: &mut [Target<'_>],
    txs: &mut [Tx<'_>],
    last: u64,
    on_applied: &mut dyn FnMut(usize, u64),
) -> Result<()> {
    let mut batch = db.batch();
    for (target, tx) in targets.iter_mut().zip(txs.iter_mut()) {
        if target.applied >= last {
            continue;
        }
        tx.drain_into(&mut batch);
        batch.insert(target.keyspace, CHECKPOINT_KEY, last.to_be_bytes());
        target.applied = last;
    }
    batch.commit()?;
    for (i, target) in targets.iter().enumerate() {
        on_applied(i, target.applied);
    }
    Ok(())
}

fn apply_single(
    inner: &Inner,
    log: &Log,
    target: Target<'_>,
    to: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64> {
    let applied = target.applied;
    let targets = vec![target];
    let mut at = applied;
    apply_range(inner, log, targets, (to, None), progress, &mut |_, seq| at = seq)?;
    Ok(at.max(applied))
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_is_the_first_key_past_the_prefix() {
        assert_eq!(prefix_end(b"ab\0"), Some(b"ab\x01".to_vec()));
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
