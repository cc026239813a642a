//! The single writer: owns the head, groups queued appends into one durable fjall batch.
//!
//! Appends arrive on a bounded queue. The writer takes the first waiting request, drains more
//! until `batch_events_max` / `batch_bytes_max`, checks each request in queue order against
//! the state left by the ones before it, writes every accepted request into one fjall batch
//! with `PersistMode::SyncData`, and only then answers the callers of that group. A failed
//! commit poisons the log: every caller of the group gets an error and the writer stops.

use crate::append::{Appended, Position, PreparedRequest};
use crate::chain::{Digest, chain_hash};
use crate::checkpoint::{self as cp, encode_counts};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::frame::{HASH_BYTES, patch};
use crate::head::Head;
use crate::ids::EventId;
use crate::keyspaces::Keyspaces;
use crate::layout;
use crate::mark::{Mark, MarkFile};
use fjall::{Database, PersistMode};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use std::time::{SystemTime, UNIX_EPOCH};
use tally_proof::checkpoint::{Checkpoint, SignedCheckpoint};
use tally_proof::hash::leaf_hash;
use tally_proof::merkle::Frontier;
use tokio::sync::{mpsc, oneshot, watch};

/// Streams whose current version the writer keeps in memory.
const STREAM_VERSIONS_CACHED_MAX: usize = 1 << 20;

/// One queued append and where to send its answer.
pub(crate) struct Job {
    pub request: PreparedRequest,
    pub reply: oneshot::Sender<Result<Appended>>,
}

/// What the writer's queue carries.
pub(crate) enum Msg {
    Append(Job),
    /// Cut a checkpoint of everything queued before this (or return the one at the head).
    Checkpoint(oneshot::Sender<Result<SignedCheckpoint>>),
    /// Finish what is queued before this and stop.
    Shutdown,
}

/// State the writer shares with the handles.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Set once a commit failed; the reason.
    pub poisoned: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn poison_reason(&self) -> Option<String> {
        self.poisoned.lock().map_or_else(|e| e.into_inner().clone(), |g| g.clone())
    }

    fn poison(&self, reason: String) {
        match self.poisoned.lock() {
            Ok(mut guard) => *guard = Some(reason),
            Err(poisoned) => *poisoned.into_inner() = Some(reason),
        }
    }
}

pub(crate) struct Writer {
    pub db: Database,
    pub ks: Keyspaces,
    pub config: Config,
    pub head: Head,
    pub head_tx: watch::Sender<Head>,
    pub shared: Arc<Shared>,
    /// Current version of streams the writer has seen; misses read the stream index.
    pub versions: HashMap<String, u64>,
    /// The Merkle frontier at the head.
    pub frontier: Frontier,
    /// Events per type up to the head.
    pub counts: BTreeMap<String, u64>,
    /// Tree size of the newest checkpoint and when this writer cut or found it.
    pub last_checkpoint: (Option<u64>, Instant),
    /// Ordinal of the last batch committed (stored in `meta` with every batch).
    pub commits: u64,
    /// The high-water mark, written after every commit.
    pub mark: MarkFile,
}

/// An event id staged earlier in the same group.
#[derive(Clone, Copy)]
struct Staged {
    seq: u64,
    stream_version: u64,
    digest: Digest,
}

/// What one group accumulates before its commit.
struct Group {
    batch: fjall::OwnedWriteBatch,
    staged_ids: HashMap<EventId, Staged>,
    replies: Vec<(oneshot::Sender<Result<Appended>>, Result<Appended>)>,
    head: Head,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Writer {
    /// Runs until the queue closes, a shutdown arrives, or a commit fails; then answers every
    /// request still queued, so no caller waits for an answer that cannot come.
    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        self.serve(&mut rx);
        // Closing first and then receiving until `None` also answers a request whose sender
        // took its slot before the close but queued it after: merely dropping the receiver
        // would leave such a request (and its caller) waiting as long as the log lives.
        rx.close();
        while let Some(msg) = rx.blocking_recv() {
            let error = || match self.shared.poison_reason() {
                Some(reason) => Error::Poisoned(reason),
                None => Error::Closed,
            };
            match msg {
                Msg::Append(job) => {
                    let _ = job.reply.send(Err(error()));
                }
                Msg::Checkpoint(reply) => {
                    let _ = reply.send(Err(error()));
                }
                Msg::Shutdown => {}
            }
        }
    }

    fn serve(&mut self, rx: &mut mpsc::Receiver<Msg>) {
        let mut carry: Option<Job> = None;
        loop {
            let first = match carry.take() {
                Some(job) => job,
                None => match rx.blocking_recv() {
                    Some(Msg::Append(job)) => job,
                    Some(Msg::Checkpoint(reply)) => {
                        if !self.checkpoint_on_demand(reply) {
                            return;
                        }
                        continue;
                    }
                    Some(Msg::Shutdown) | None => return,
                },
            };
            let mut jobs = vec![first];
            let mut events = jobs[0].request.events.len();
            let mut bytes = jobs[0].request.payload_bytes;
            let mut stop = false;
            let mut checkpoint_reply = None;
            while events < self.config.batch_events_max && bytes < self.config.batch_bytes_max {
                match rx.try_recv() {
                    Ok(Msg::Append(job)) => {
                        let job_events = job.request.events.len();
                        let job_bytes = job.request.payload_bytes;
                        if events + job_events > self.config.batch_events_max
                            || bytes + job_bytes > self.config.batch_bytes_max
                        {
                            carry = Some(job);
                            break;
                        }
                        events += job_events;
                        bytes += job_bytes;
                        jobs.push(job);
                    }
                    Ok(Msg::Shutdown) => {
                        stop = true;
                        break;
                    }
                    Ok(Msg::Checkpoint(reply)) => {
                        checkpoint_reply = Some(reply);
                        break;
                    }
                    Err(_) => break,
                }
            }
            if !self.commit_group(jobs) || stop {
                return;
            }
            if let Some(reply) = checkpoint_reply
                && !self.checkpoint_on_demand(reply)
            {
                return;
            }
        }
    }

    /// Stages, commits and answers one group. Returns false when the log is now poisoned.
    fn commit_group(&mut self, jobs: Vec<Job>) -> bool {
        if self.versions.len() >= STREAM_VERSIONS_CACHED_MAX {
            // A cache of committed versions, not state: dropping it between groups costs
            // index reads and keeps memory bounded by this limit, not by history. (Never
            // inside a group: it also holds the versions the group has staged.)
            self.versions.clear();
        }
        let mut group = Group {
            batch: self.db.batch().durability(Some(PersistMode::SyncData)),
            staged_ids: HashMap::new(),
            replies: Vec::with_capacity(jobs.len()),
            head: self.head,
        };
        let recorded_at_ms = now_ms().max(self.head.recorded_at_ms);
        for job in jobs {
            let mut job = job;
            let answer = self.stage(&mut job.request, recorded_at_ms, &mut group);
            group.replies.push((job.reply, answer));
        }
        let wrote = group.head.seq != self.head.seq;
        if wrote {
            self.write_state(&mut group.batch, &group.head);
            let due = self.checkpoint_due(group.head.seq);
            let cut = if due { self.cut_into(&mut group.batch, &group.head) } else { None };
            if let Err(err) = self.commit(group.batch).and_then(|()| self.mark(&group.head)) {
                self.poison(&err.to_string());
                for (reply, _) in group.replies {
                    let _ = reply.send(Err(self.poisoned_error()));
                }
                return false;
            }
            if let Some(size) = cut {
                self.last_checkpoint = (Some(size), Instant::now());
            }
            self.head = group.head;
            self.head_tx.send_replace(self.head);
        }
        for (reply, answer) in group.replies {
            // A caller that went away still had its events made durable; nothing to undo.
            let _ = reply.send(answer);
        }
        true
    }

    /// Makes `batch` durable (or, with the `fault-injection` feature, fails as told to),
    /// with the next commit count in it.
    fn commit(&mut self, mut batch: fjall::OwnedWriteBatch) -> Result<()> {
        let commit = self.commits + 1;
        batch.insert(&self.ks.meta, layout::META_COMMITS, commit.to_be_bytes().to_vec());
        #[cfg(feature = "fault-injection")]
        if let Some(err) = self.config.faults.commit_error() {
            drop(batch);
            return Err(err.into());
        }
        batch.commit()?;
        self.commits = commit;
        Ok(())
    }

    /// Records the batch just committed in the high-water mark, durably, before any caller
    /// of it is answered ([`crate::mark`]).
    fn mark(&self, head: &Head) -> Result<()> {
        self.mark.write(Mark { commit: self.commits, seq: head.seq, hash: head.hash })
    }

    fn poison(&self, reason: &str) {
        tracing::error!(error = %reason, "log commit failed; the log is poisoned");
        self.shared.poison(reason.to_owned());
    }

    fn poisoned_error(&self) -> Error {
        Error::Poisoned(self.shared.poison_reason().unwrap_or_default())
    }

    /// Head, frontier and counts, into the group's batch.
    fn write_state(&self, batch: &mut fjall::OwnedWriteBatch, head: &Head) {
        batch.insert(
            &self.ks.meta,
            layout::META_HEAD,
            layout::head_value(head.seq, &head.hash, head.recorded_at_ms).to_vec(),
        );
        batch.insert(&self.ks.meta, layout::META_FRONTIER, self.frontier.to_bytes());
        batch.insert(&self.ks.meta, layout::META_COUNTS, encode_counts(&self.counts));
    }

    fn checkpoint_due(&self, head_seq: u64) -> bool {
        let Some(policy) = &self.config.checkpoints else { return false };
        let (size, at) = self.last_checkpoint;
        let since = head_seq - size.unwrap_or(0).min(head_seq);
        if since == 0 && size.is_some() {
            return false;
        }
        (policy.every_events > 0 && since >= policy.every_events)
            || (policy.every_ms > 0 && at.elapsed().as_millis() >= u128::from(policy.every_ms))
    }

    /// Signs a checkpoint of `head` (with the writer's frontier and counts, which are at
    /// `head`) and puts it into `batch`. Returns its size, or `None` when signing failed
    /// (logged; the events are still committed).
    fn cut_into(&self, batch: &mut fjall::OwnedWriteBatch, head: &Head) -> Option<u64> {
        let policy = self.config.checkpoints.as_ref()?;
        let checkpoint = Checkpoint {
            origin: policy.origin.clone(),
            size: head.seq,
            root: self.frontier.root(),
            head_seq: head.seq,
            head_hash: head.hash,
            time: cp::now_rfc3339(),
            counts: self.counts.clone(),
        };
        match cp::cut(policy, checkpoint) {
            Ok(signed) => {
                batch.insert(&self.ks.meta, cp::meta_key(head.seq), signed.to_text());
                Some(head.seq)
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot cut a checkpoint");
                None
            }
        }
    }

    /// Answers an on-demand checkpoint: the stored one at the head, or a new one made durable
    /// on its own. Returns false when the log is now poisoned.
    fn checkpoint_on_demand(&mut self, reply: oneshot::Sender<Result<SignedCheckpoint>>) -> bool {
        if self.config.checkpoints.is_none() {
            let _ = reply.send(Err(Error::Invalid(
                "no checkpoint key is configured for this log".to_owned(),
            )));
            return true;
        }
        if self.last_checkpoint.0 == Some(self.head.seq) {
            let stored = self.ks.meta.get(cp::meta_key(self.head.seq)).map_err(Error::from);
            let answer = stored.and_then(|v| {
                let text = v.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default();
                SignedCheckpoint::parse(&text)
                    .map_err(|e| Error::Invalid(format!("stored checkpoint: {e}")))
            });
            let _ = reply.send(answer);
            return true;
        }
        let head = self.head;
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        let Some(size) = self.cut_into(&mut batch, &head) else {
            let _ = reply.send(Err(Error::Invalid("cannot sign a checkpoint".to_owned())));
            return true;
        };
        if let Err(err) = self.commit(batch).and_then(|()| self.mark(&head)) {
            self.poison(&err.to_string());
            let _ = reply.send(Err(self.poisoned_error()));
            return false;
        }
        self.last_checkpoint = (Some(size), Instant::now());
        let stored = self.ks.meta.get(cp::meta_key(size)).map_err(Error::from).and_then(|v| {
            let text = v.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default();
            SignedCheckpoint::parse(&text).map_err(|e| Error::Invalid(format!("checkpoint: {e}")))
        });
        let _ = reply.send(stored);
        true
    }

    fn current_version(&mut self, stream: &str) -> Result<u64> {
        if let Some(version) = self.versions.get(stream) {
            return Ok(*version);
        }
        let version = match self.ks.streams.prefix(layout::stream_prefix(stream)).next_back() {
            None => 0,
            Some(guard) => {
                let key = guard.key()?;
                key.len()
                    .checked_sub(8)
                    .and_then(|at| layout::be_u64(&key[at..]))
                    .unwrap_or_default()
            }
        };
        self.versions.insert(stream.to_owned(), version);
        Ok(version)
    }

    /// Checks one request against the state so far and, when it is accepted, writes it into
    /// the group. Nothing is changed when it is refused.
    fn stage(
        &mut self,
        request: &mut PreparedRequest,
        recorded_at_ms: i64,
        group: &mut Group,
    ) -> Result<Appended> {
        // Idempotency first: a retry of a stored request answers with its original positions.
        let mut known = Vec::with_capacity(request.events.len());
        for event in &request.events {
            let digest = &event.digest;
            let stored =
                match group.staged_ids.get(&event.event_id) {
                    Some(s) => Some(*s),
                    None => self.ks.event_ids.get(event.event_id.to_be_bytes())?.and_then(|v| {
                        layout::parse_event_id_value(&v).map(|(seq, stream_version, digest)| {
                            Staged { seq, stream_version, digest }
                        })
                    }),
                };
            if let Some(s) = stored
                && s.digest != *digest
            {
                return Err(Error::IdempotencyConflict {
                    event_id: event.event_id,
                    reason: format!("is stored at seq {} with a different body", s.seq),
                });
            }
            known.push(stored);
        }
        let known_count = known.iter().filter(|k| k.is_some()).count();
        if known_count == request.events.len() {
            let positions = known
                .into_iter()
                .flatten()
                .map(|s| Position { seq: s.seq, stream_version: s.stream_version })
                .collect();
            return Ok(Appended { positions, deduplicated: true });
        }
        if known_count > 0 {
            let event_id = request
                .events
                .iter()
                .zip(&known)
                .find_map(|(e, k)| k.map(|_| e.event_id))
                .unwrap_or(request.events[0].event_id);
            return Err(Error::IdempotencyConflict {
                event_id,
                reason: "is already stored but other events of the same append are not".to_owned(),
            });
        }

        for expectation in &request.expectations {
            let current = self.current_version(&expectation.stream)?;
            if !expectation.expected.admits(current) {
                return Err(Error::VersionConflict {
                    stream: expectation.stream.clone(),
                    expected: expectation.expected.describe(),
                    current,
                });
            }
        }
        for event in &request.events {
            // Caches the current version of every stream (committed or staged in this group).
            self.current_version(&event.stream)?;
        }
        let mut versions = Vec::with_capacity(request.events.len());
        for event in &request.events {
            // Present: cached just above, and nothing evicts inside a group.
            let version = self.versions.entry(event.stream.clone()).or_default();
            *version += 1;
            versions.push(*version);
        }

        // Accepted: assign positions, patch the caller's frame templates, hash and write.
        let mut positions = Vec::with_capacity(request.events.len());
        // Every fallible step is above: from here on the request is written whole.
        for (event, version) in request.events.iter_mut().zip(versions) {
            let seq = group.head.seq + 1;
            let frame_len = event.frame.len() - HASH_BYTES;
            patch(&mut event.frame, seq, version, recorded_at_ms, &group.head.hash);
            let hash = chain_hash(&group.head.hash, &event.frame[..frame_len]);
            event.frame[frame_len..].copy_from_slice(hash.as_bytes());
            group.batch.insert(&self.ks.frames, layout::frame_key(seq), event.frame.as_slice());
            group.batch.insert(
                &self.ks.streams,
                layout::stream_key(&event.stream, version),
                seq.to_be_bytes(),
            );
            group.batch.insert(
                &self.ks.event_ids,
                event.event_id.to_be_bytes(),
                layout::event_id_value(seq, version, &event.digest),
            );
            let merkle = &self.ks.merkle;
            let batch = &mut group.batch;
            self.frontier.push_with(leaf_hash(&hash), |id, digest| {
                // Level-0 nodes are the frames' own hashes; only inner nodes are stored.
                if id.level > 0 {
                    batch.insert(merkle, id.to_bytes(), digest.as_bytes());
                }
            });
            match self.counts.get_mut(event.event_type.as_str()) {
                Some(count) => *count += 1,
                None => {
                    self.counts.insert(event.event_type.clone(), 1);
                }
            }
            group.staged_ids.insert(
                event.event_id,
                Staged { seq, stream_version: version, digest: event.digest },
            );
            group.head = Head { seq, hash, recorded_at_ms };
            positions.push(Position { seq, stream_version: version });
        }
        Ok(Appended { positions, deduplicated: false })
    }
}
