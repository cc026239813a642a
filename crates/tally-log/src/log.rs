//! The `Log` handle: opening, appending through the writer, and the durable head.

use crate::append::{AppendRequest, Appended};
use crate::config::Config;
use crate::error::{Corruption, Error, Result};
use crate::head::Head;
use crate::keyspaces::Keyspaces;
use crate::layout;
use crate::mark::{self, Mark, MarkFile, MarkSlots, StoreState};
use crate::recovery;
use crate::writer::{Job, Msg, Shared, Writer};
use fjall::Database;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot, watch};

/// An append queued by [`Log::append_nowait`].
#[must_use = "the append is acknowledged only through wait()"]
pub struct PendingAppend {
    answer: oneshot::Receiver<Result<Appended>>,
    log: Log,
}

impl std::fmt::Debug for PendingAppend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAppend").finish_non_exhaustive()
    }
}

impl PendingAppend {
    /// Blocks until the append is durable (or refused). Not for async contexts.
    pub fn wait(self) -> Result<Appended> {
        match self.answer.blocking_recv() {
            Ok(answer) => answer,
            Err(_) => Err(self.log.unavailable()),
        }
    }
}

/// An open log. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct Log {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("path", &self.inner.path).field("head", &self.head()).finish()
    }
}

pub(crate) struct Inner {
    pub path: PathBuf,
    pub db: Database,
    pub ks: Keyspaces,
    pub config: Config,
    tx: mpsc::Sender<Msg>,
    pub head_rx: watch::Receiver<Head>,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
    pub node_cache: crate::tree::NodeCache,
    /// Set when the log opened in disagreement with its high-water mark.
    refusal: Option<Corruption>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Close the queue, then wait for the writer so the store is released when we return.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, closed));
        let handle = self.writer.lock().map_or_else(|e| e.into_inner().take(), |mut g| g.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

/// Refuses a store whose fjall files are missing in ways fjall 3.1 does not notice. fjall
/// always keeps an active journal; when it finds none in an existing store it starts a new one
/// without recovering its sequence counter from the tables, so later writes are shadowed by
/// older ones. At open, fjall also *deletes* a keyspace directory that has no `current` file
/// (taking it for a keyspace whose creation was interrupted), and every keyspace directory its
/// registry (keyspace 0) does not name: with `keyspaces/0/current` gone, opening would delete
/// the whole store. Both are refused here, before fjall runs, unless no table is at stake.
pub fn check_store_files(path: &Path) -> Result<()> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    if !path.join("version").exists() {
        return Ok(());
    }
    let missing = |what: String| {
        Err(Error::Corrupt(crate::Corruption::Files(format!(
            "{what} of the store in '{}' is missing",
            path.display()
        ))))
    };
    let mut journals = 0;
    for entry in std::fs::read_dir(path).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.path().extension().is_some_and(|e| e == "jnl") {
            journals += 1;
        }
    }
    if journals == 0 {
        return missing("the journal (*.jnl)".to_owned());
    }
    let keyspaces = path.join("keyspaces");
    let has_tables = |dir: &Path| {
        std::fs::read_dir(dir.join("tables")).is_ok_and(|mut entries| entries.next().is_some())
    };
    let mut any_tables = false;
    for entry in std::fs::read_dir(&keyspaces).map_err(io)? {
        let dir = entry.map_err(io)?.path();
        if !dir.is_dir() || !has_tables(&dir) {
            continue;
        }
        any_tables = true;
        if !dir.join("current").exists() {
            return missing(format!(
                "the 'current' file of '{}' (a keyspace holding tables)",
                dir.strip_prefix(path).unwrap_or(&dir).display()
            ));
        }
    }
    if any_tables && !keyspaces.join("0").join("current").exists() {
        return missing("fjall's keyspace registry (keyspaces/0/current)".to_owned());
    }
    Ok(())
}

/// Opens fjall. Its journal recovery asserts on some damaged entries (an uncompressed value
/// whose two length fields differ trips a `debug_assert`); such a panic is damage found, not a
/// bug of ours, so it becomes [`Corruption::Files`] instead of unwinding through the caller.
fn open_fjall(path: &Path, cache_bytes: u64) -> Result<Database> {
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Database::builder(path).cache_size(cache_bytes).open()
    }));
    match opened {
        Ok(db) => Ok(db?),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            Err(Error::Corrupt(Corruption::Files(format!(
                "the storage engine failed while recovering the store in '{}' ({what}): its \
                 journal is damaged; the store was not opened",
                path.display()
            ))))
        }
    }
}

/// Reconciles the store fjall recovered with the high-water mark read before fjall opened.
/// `Ok(Ok((commits, file)))` to go on writing; `Ok(Err(reason))` to refuse writes.
fn check_mark(
    path: &Path,
    db: &Database,
    ks: &Keyspaces,
    head: Head,
    marked: Option<MarkSlots>,
) -> Result<std::result::Result<(u64, MarkFile), String>> {
    let stored = match ks.meta.get(layout::META_COMMITS)? {
        None => None,
        Some(v) => Some(layout::be_u64(&v).ok_or_else(|| {
            Error::Corrupt(Corruption::Head("the commit count is malformed".to_owned()))
        })?),
    };
    let store = StoreState { commit: stored.unwrap_or(0), seq: head.seq, hash: head.hash };
    let Some(slots) = marked else {
        if stored.is_some() {
            return Ok(Err(format!(
                "the high-water mark file ({}) is missing, so nothing vouches that the log \
                 (commit {}, head seq {}) holds every acknowledged event",
                mark::MARK_FILE,
                store.commit,
                head.seq
            )));
        }
        // A new store, or one written before the mark existed: the mark starts here. The
        // file comes first, so a crash between the two steps leaves a mark at commit 0.
        if head.seq > 0 {
            tracing::warn!(
                head = head.seq,
                "this store has no high-water mark yet; it starts at the current head"
            );
        }
        let file = MarkFile::create(path, Mark { commit: 0, seq: head.seq, hash: head.hash })?;
        ks.meta.insert(layout::META_COMMITS, 0u64.to_be_bytes())?;
        db.persist(fjall::PersistMode::SyncData)?;
        return Ok(Ok((0, file)));
    };
    let hash_at = |seq: u64| -> Result<Option<crate::Digest>> {
        match ks.frames.get(layout::frame_key(seq))? {
            None => Ok(None),
            Some(value) => Ok(Some(crate::read::decode_at(seq, value)?.hash())),
        }
    };
    if let Some(reason) = mark::check(store, &slots, &hash_at)? {
        return Ok(Err(reason));
    }
    let file = MarkFile::open(path)?;
    if slots.newest().map(|m| m.commit) != Some(store.commit) {
        // The mark write after the last commit did not happen: catch it up.
        file.write(Mark { commit: store.commit, seq: head.seq, hash: head.hash })?;
    }
    if stored.is_none() {
        ks.meta.insert(layout::META_COMMITS, 0u64.to_be_bytes())?;
        db.persist(fjall::PersistMode::SyncData)?;
    }
    Ok(Ok((store.commit, file)))
}

impl Log {
    /// Opens (or creates) the log in `path`.
    ///
    /// Opening checks the stored head against the last frames and refuses a broken chain with
    /// [`Error::Corrupt`]; it never drops acknowledged data.
    pub fn open(path: impl AsRef<Path>, config: Config) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        std::fs::create_dir_all(&path)
            .map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        check_store_files(&path)?;
        let kept = if path.join("version").exists() {
            crate::journal::check_journals(&path)?
        } else {
            Vec::new()
        };
        let marked = mark::read(&path)?;
        let db = open_fjall(&path, config.cache_bytes)?;
        let ks = Keyspaces::open(&db, config.memtable_bytes)?;
        let recovered = recovery::check(&db, &ks, config.recovery_tail_frames)?;
        let head = recovered.head;
        let (commits, mark_file) = match check_mark(&path, &db, &ks, head, marked)? {
            Ok(opened) => opened,
            Err(mut reason) => {
                if !kept.is_empty() {
                    let kept: Vec<String> = kept.iter().map(|p| p.display().to_string()).collect();
                    reason.push_str(&format!(
                        "; the bytes fjall's recovery cut from the journal are kept in {}",
                        kept.join(", ")
                    ));
                }
                tracing::error!(%reason, head = head.seq, "the log refuses writes");
                return Ok(Self::refusing(path, db, ks, config, head, reason));
            }
        };

        let (head_tx, head_rx) = watch::channel(head);
        let (tx, rx) = mpsc::channel(config.append_queue_depth_max.max(1));
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            db: db.clone(),
            ks: ks.clone(),
            config: config.clone(),
            head,
            head_tx,
            shared: Arc::clone(&shared),
            versions: HashMap::new(),
            frontier: recovered.frontier,
            counts: recovered.counts,
            last_checkpoint: (recovered.checkpoint_size, std::time::Instant::now()),
            commits,
            mark: mark_file,
        };
        let handle = std::thread::Builder::new()
            .name("tally-log-writer".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                db,
                ks,
                config,
                tx,
                head_rx,
                shared,
                writer: Mutex::new(Some(handle)),
                node_cache: crate::tree::NodeCache::default(),
                refusal: None,
            }),
        })
    }

    /// A log that serves reads and refuses every write: no writer runs, so nothing can be
    /// appended, checkpointed or reused.
    fn refusing(
        path: PathBuf,
        db: Database,
        ks: Keyspaces,
        config: Config,
        head: Head,
        reason: String,
    ) -> Self {
        let (_head_tx, head_rx) = watch::channel(head);
        let (tx, _rx) = mpsc::channel(1);
        Self {
            inner: Arc::new(Inner {
                path,
                db,
                ks,
                config,
                tx,
                head_rx,
                shared: Arc::new(Shared::default()),
                writer: Mutex::new(None),
                node_cache: crate::tree::NodeCache::default(),
                refusal: Some(Corruption::HighWaterMark(reason)),
            }),
        }
    }

    /// Why this log refuses writes, if it does: it disagrees with its high-water mark
    /// ([`crate::mark`]). Reads still work; every append and checkpoint fails with this
    /// [`Corruption`].
    #[must_use]
    pub fn refusal(&self) -> Option<&Corruption> {
        self.inner.refusal.as_ref()
    }

    /// The directory of the store.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The configuration it was opened with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Bytes held in the store's write buffers (memtables, active and sealed, not yet
    /// flushed), as the storage engine counts them: a gauge for memory.
    #[must_use]
    pub fn write_buffer_bytes(&self) -> u64 {
        self.inner.db.write_buffer_size()
    }

    /// The last durable event.
    #[must_use]
    pub fn head(&self) -> Head {
        *self.inner.head_rx.borrow()
    }

    /// A receiver that sees every new durable head (for tailing the log).
    #[must_use]
    pub fn subscribe_head(&self) -> watch::Receiver<Head> {
        self.inner.head_rx.clone()
    }

    fn unavailable(&self) -> Error {
        if let Some(refusal) = &self.inner.refusal {
            return Error::Corrupt(refusal.clone());
        }
        match self.inner.shared.poison_reason() {
            Some(reason) => Error::Poisoned(reason),
            None => Error::Closed,
        }
    }

    fn prepare(
        &self,
        request: AppendRequest,
    ) -> Result<(Msg, oneshot::Receiver<Result<Appended>>)> {
        let request = request.prepare(&self.inner.config.limits)?;
        if let Some(refusal) = &self.inner.refusal {
            return Err(Error::Corrupt(refusal.clone()));
        }
        if let Some(reason) = self.inner.shared.poison_reason() {
            return Err(Error::Poisoned(reason));
        }
        let (reply, answer) = oneshot::channel();
        Ok((Msg::Append(Job { request, reply }), answer))
    }

    /// Appends all of `request` or nothing; answers once the events are durable.
    ///
    /// Waits (without blocking the runtime) while the writer's queue is full.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended> {
        let (msg, answer) = self.prepare(request)?;
        self.inner.tx.send(msg).await.map_err(|_| self.unavailable())?;
        answer.await.map_err(|_| self.unavailable())?
    }

    /// [`Log::append`] for threads outside an async runtime. Panics inside one (tokio's rule).
    pub fn append_blocking(&self, request: AppendRequest) -> Result<Appended> {
        let (msg, answer) = self.prepare(request)?;
        self.inner.tx.blocking_send(msg).map_err(|_| self.unavailable())?;
        answer.blocking_recv().map_err(|_| self.unavailable())?
    }

    /// Queues `request` and returns at once (blocking only while the queue is full); the
    /// answer comes from [`PendingAppend::wait`]. Lets a caller prepare its next append while
    /// this one is being made durable. Appends are applied in the order they are queued.
    pub fn append_nowait(&self, request: AppendRequest) -> Result<PendingAppend> {
        let (msg, answer) = self.prepare(request)?;
        self.inner.tx.blocking_send(msg).map_err(|_| self.unavailable())?;
        Ok(PendingAppend { answer, log: self.clone() })
    }

    /// Where `event_id` is stored, if it is durable: a single index read.
    pub fn event_position(&self, event_id: crate::EventId) -> Result<Option<crate::Position>> {
        let Some(value) = self.inner.ks.event_ids.get(event_id.to_be_bytes())? else {
            return Ok(None);
        };
        let (seq, stream_version, _) = layout::parse_event_id_value(&value).ok_or_else(|| {
            Error::Corrupt(crate::Corruption::Index {
                index: layout::EVENT_IDS,
                seq: 0,
                reason: format!("entry for {event_id} is malformed"),
            })
        })?;
        Ok((seq <= self.head().seq).then_some(crate::Position { seq, stream_version }))
    }

    /// Stops the writer after what is already queued, and waits for it. Later appends fail
    /// with [`Error::Closed`]. Blocks: from async code, call it in `spawn_blocking`.
    pub fn close(&self) {
        let _ = self.inner.tx.blocking_send(Msg::Shutdown);
        let handle =
            self.inner.writer.lock().map_or_else(|e| e.into_inner().take(), |mut g| g.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// A signed checkpoint of everything appended before this call: the stored one when the
    /// newest checkpoint is at the head, else a new one, durable before it is returned.
    pub async fn checkpoint(&self) -> Result<tally_proof::checkpoint::SignedCheckpoint> {
        let (reply, answer) = oneshot::channel();
        self.inner.tx.send(Msg::Checkpoint(reply)).await.map_err(|_| self.unavailable())?;
        answer.await.map_err(|_| self.unavailable())?
    }

    /// [`Log::checkpoint`] for threads outside an async runtime.
    pub fn checkpoint_blocking(&self) -> Result<tally_proof::checkpoint::SignedCheckpoint> {
        let (reply, answer) = oneshot::channel();
        self.inner.tx.blocking_send(Msg::Checkpoint(reply)).map_err(|_| self.unavailable())?;
        answer.blocking_recv().map_err(|_| self.unavailable())?
    }

    /// The current version of `stream` among durable events (0 = no such stream).
    pub fn stream_version(&self, stream: &str) -> Result<u64> {
        let head = self.head().seq;
        let snapshot = self.inner.db.snapshot();
        use fjall::Readable as _;
        for guard in snapshot.prefix(&self.inner.ks.streams, layout::stream_prefix(stream)).rev() {
            let (key, value) = guard.into_inner()?;
            let seq = layout::be_u64(&value).unwrap_or(u64::MAX);
            if seq <= head {
                let at = key.len().saturating_sub(8);
                return Ok(layout::be_u64(&key[at..]).unwrap_or_default());
            }
        }
        Ok(0)
    }
}
