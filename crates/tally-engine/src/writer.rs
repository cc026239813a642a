//! The engine's single writer: decides queued commands in order against the in-memory state,
//! appends a group's events in one durable log batch, then answers every caller of the group.
//!
//! A failed append leaves the in-memory state ahead of the log, so it stops the writer for
//! good (callers get `Unavailable`); reopening rebuilds the state from the log.

use crate::config::EngineConfig;
use crate::error::SubmitError;
use crate::ids::{command_id, event_id};
use crate::stats::{SubmissionStats, day_of_ms};
use crate::submission::{Accepted, EventRef, Submission};
use std::collections::HashMap;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tally_domain::event::CommandAccepted;
use tally_domain::ids::Actor;
use tally_domain::time::Timestamp;
use tally_domain::{Context, Event, State, decide_or_load, encode, evolve};
use tally_log::{AppendRequest, EventId, Log, NewEvent};
use tokio::sync::{mpsc, oneshot};

/// The type of the marker event of a command accepted with no other event.
const ACCEPTED_MARKER: &str = "command.accepted";

pub(crate) type Reply = oneshot::Sender<Result<Accepted, SubmitError>>;

pub(crate) struct Job {
    pub submission: Submission,
    pub reply: Reply,
    /// How many rule reactions led to this job (0: a caller's or the timer's).
    pub depth: u8,
}

impl Job {
    /// A job nobody waits for (the timer's, a rule's).
    fn unanswered(submission: Submission, depth: u8) -> Self {
        let (reply, _) = oneshot::channel();
        Job { submission, reply, depth }
    }
}

/// Longest chain of rule reactions one command may start (received → validated → held is 2;
/// a longer chain means rules that feed each other, which the writer stops rather than loop).
const REACTION_DEPTH_MAX: u8 = 8;

pub(crate) enum Msg {
    Submit(Box<Job>),
    /// The timer's tick: decide what the passing of time made due (`tally_domain::timers`).
    Tick,
    Shutdown,
}

#[derive(Debug)]
pub(crate) struct Shared {
    /// Groups appended, and commands decided in them (for batch-size metrics).
    pub groups: std::sync::atomic::AtomicU64,
    pub grouped_commands: std::sync::atomic::AtomicU64,
    pub poisoned: Mutex<Option<String>>,
    /// Whether the writer stopped because the store could not persist a group.
    pub storage_failed: std::sync::atomic::AtomicBool,
    /// Set at open when the log or the views disagree with what was acknowledged: the engine
    /// serves reads and refuses every command.
    pub integrity: Mutex<Option<String>>,
    /// Submissions and rejections per day, source and command type, outside the log.
    pub stats: Mutex<SubmissionStats>,
}

impl Shared {
    pub(crate) fn new(stats: SubmissionStats) -> Self {
        Self {
            groups: std::sync::atomic::AtomicU64::new(0),
            grouped_commands: std::sync::atomic::AtomicU64::new(0),
            poisoned: Mutex::new(None),
            storage_failed: std::sync::atomic::AtomicBool::new(false),
            integrity: Mutex::new(None),
            stats: Mutex::new(stats),
        }
    }

    pub(crate) fn stats(&self) -> std::sync::MutexGuard<'_, SubmissionStats> {
        self.stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn integrity_reason(&self) -> Option<String> {
        self.integrity.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub(crate) fn poison_reason(&self) -> Option<String> {
        self.poisoned.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The error for a caller the stopped writer cannot serve.
    pub(crate) fn stopped_error(&self, otherwise: &str) -> SubmitError {
        if let Some(reason) = self.integrity_reason() {
            return SubmitError::IntegrityFailed(reason);
        }
        let reason = self.poison_reason().unwrap_or_else(|| otherwise.to_owned());
        if self.storage_failed.load(std::sync::atomic::Ordering::SeqCst) {
            SubmitError::StorageFailed(reason)
        } else {
            SubmitError::Unavailable(reason)
        }
    }
}

/// A decided group: its answers-to-be and its queued append.
struct Decided {
    outcomes: Vec<Outcome>,
    replies: Vec<Reply>,
    /// Idempotency keys of the commands appended by this group.
    keys: HashMap<String, (usize, EventId)>,
    append: tally_log::Result<Option<tally_log::PendingAppend>>,
}

enum Outcome {
    Done(Result<Accepted, SubmitError>),
    /// Accepted; its events are `range` of the group's append.
    Pending {
        command_id: EventId,
        range: std::ops::Range<usize>,
        refs: Vec<(String, String)>,
    },
    /// The same key and command as an earlier job of the group.
    SameAs(usize),
}

pub(crate) struct Writer {
    pub log: Log,
    pub state: State,
    /// Closed orders beyond the state's bound (`crate::spill`).
    pub spill: crate::spill::Spill,
    pub config: EngineConfig,
    pub notify: Option<SyncSender<()>>,
    pub shared: Arc<Shared>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Writer {
    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        self.serve(&mut rx);
        // Answer every submission still queued. Closing first and then receiving until `None`
        // also answers one whose sender took its slot before the close but queued it after:
        // merely dropping the receiver would leave that caller waiting as long as the engine
        // lives.
        rx.close();
        while let Some(msg) = rx.blocking_recv() {
            if let Msg::Submit(job) = msg {
                let _ = job.reply.send(Err(self.shared.stopped_error("the engine is closed")));
            }
        }
    }

    fn serve(&mut self, rx: &mut mpsc::Receiver<Msg>) {
        // What the workflow rules want of the state as opened (a chain a crash or a restart
        // cut short is picked up here).
        let mut carry: Vec<Job> = self.workflow_scan_jobs();
        // The previous group, decided and queued for append, not yet answered. Deciding the
        // next group while it is made durable keeps the log writer and this thread busy at
        // once. Its events are already in `self.state`; if its append fails the writer stops,
        // and every later append is refused by the poisoned log as well.
        let mut in_flight: Option<Decided> = None;
        let mut stop = false;
        loop {
            let mut jobs = std::mem::take(&mut carry);
            if jobs.is_empty() && !stop {
                match rx.try_recv() {
                    Ok(Msg::Submit(job)) => jobs.push(*job),
                    Ok(Msg::Tick) => jobs.extend(self.timer_jobs()),
                    Ok(Msg::Shutdown) => stop = true,
                    Err(mpsc::error::TryRecvError::Disconnected) => stop = true,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        // Nothing queued: answer the group in flight before sleeping.
                        if let Some(previous) = in_flight.take()
                            && !self.finish(previous)
                        {
                            return;
                        }
                        match rx.blocking_recv() {
                            Some(Msg::Submit(job)) => jobs.push(*job),
                            Some(Msg::Tick) => jobs.extend(self.timer_jobs()),
                            Some(Msg::Shutdown) | None => stop = true,
                        }
                    }
                }
            }
            while !stop && jobs.len() < self.config.batch_commands_max {
                match rx.try_recv() {
                    Ok(Msg::Submit(job)) => jobs.push(*job),
                    Ok(Msg::Tick) => jobs.extend(self.timer_jobs()),
                    Ok(Msg::Shutdown) => stop = true,
                    Err(_) => break,
                }
            }
            if jobs.is_empty() {
                // A tick with nothing due is not the end of the queue: only a shutdown or a
                // closed queue stops the writer (an idle tick once stopped it for good, and
                // every later command was refused as "the engine is closed").
                if !stop {
                    continue;
                }
                if let Some(previous) = in_flight.take() {
                    self.finish(previous);
                }
                return;
            }
            let in_flight_keys = in_flight.as_ref().map(|d| &d.keys);
            let (decided, rest) = self.decide_group(jobs, in_flight_keys);
            self.flush_stats();
            carry = rest;
            if let Some(previous) = in_flight.take()
                && !self.finish(previous)
            {
                self.abandon(decided, carry);
                return;
            }
            in_flight = Some(decided);
        }
    }

    /// The commands time made due now, as jobs nobody waits for: each has the key
    /// `tally_domain::timers::due` derived from its fact, so a tick that finds a fact already
    /// appended gets the first result back and appends nothing.
    fn timer_jobs(&self) -> Vec<Job> {
        let now = Timestamp::from_millis((self.config.clock_ms)());
        let mut jobs: Vec<Job> = tally_domain::timers::due(&self.state, now)
            .into_iter()
            .map(|(key, command)| {
                let mut submission = Submission::new(key, command);
                tally_domain::timers::TIMER_ACTOR.clone_into(&mut submission.actor);
                tally_domain::timers::TIMER_SOURCE.clone_into(&mut submission.source);
                Job::unanswered(submission, 0)
            })
            .collect();
        for (key, rule, command) in tally_domain::timers::due_by_rules(&self.state, now) {
            let mut submission = Submission::new(key, command);
            submission.actor = tally_domain::workflow::rule_actor(rule);
            tally_domain::timers::TIMER_SOURCE.clone_into(&mut submission.source);
            jobs.push(Job::unanswered(submission, 0));
        }
        jobs.extend(self.workflow_scan_jobs());
        jobs
    }

    /// What the workflow rules want of every order now: the same answer [`Self::reactions`]
    /// gives right after a command, asked of the whole state (at start and at each tick).
    fn workflow_scan_jobs(&self) -> Vec<Job> {
        let now_ms = (self.config.clock_ms)();
        let now = Timestamp::from_millis(now_ms);
        tally_domain::workflow::scan(&self.state, now)
            .into_iter()
            .map(|(order, reaction)| {
                let parent = format!("scan:{now_ms}");
                let mut submission = Submission::new(
                    reaction_key(&parent, &reaction.rule, &order),
                    reaction.command,
                );
                submission.actor = tally_domain::workflow::rule_actor(&reaction.rule);
                tally_domain::timers::TIMER_SOURCE.clone_into(&mut submission.source);
                submission.occurred_at_ms = Some(now_ms);
                Job::unanswered(submission, 1)
            })
            .collect()
    }

    /// What the workflow rules want of the orders `events` touched, as jobs to decide next:
    /// each names its rule as the actor, keeps the command's source, business time and
    /// correlation, and has a key derived from the command's key.
    fn reactions(
        &self,
        parent: &Submission,
        parent_id: EventId,
        occurred_at_ms: i64,
        depth: u8,
        events: &[Event],
    ) -> Vec<Job> {
        if self.state.workflow_is_empty() {
            return Vec::new();
        }
        if depth >= REACTION_DEPTH_MAX {
            tracing::warn!(key = %parent.idempotency_key, "workflow rules feed each other; the chain stops here");
            return Vec::new();
        }
        let now = Timestamp::from_millis(occurred_at_ms);
        let mut orders: Vec<tally_domain::ids::OrderId> = Vec::new();
        for event in events {
            for order in tally_domain::workflow::touched_orders(&self.state, event) {
                if !orders.contains(&order) {
                    orders.push(order);
                }
            }
        }
        let mut jobs = Vec::new();
        for id in orders {
            let Some(order) = self.state.order(&id) else { continue };
            let Some(reaction) = tally_domain::workflow::next(&self.state, order, now) else {
                continue;
            };
            let mut submission = Submission::new(
                reaction_key(&parent.idempotency_key, &reaction.rule, &id),
                reaction.command,
            );
            submission.actor = tally_domain::workflow::rule_actor(&reaction.rule);
            submission.source.clone_from(&parent.source);
            submission.occurred_at_ms = Some(occurred_at_ms);
            submission.correlation_id = Some(parent.correlation_id.unwrap_or(parent_id));
            jobs.push(Job::unanswered(submission, depth + 1));
        }
        jobs
    }

    /// Looks for the first result of `key` in the log.
    fn first_result(
        &self,
        key: &str,
        command_id: EventId,
    ) -> Result<Option<Accepted>, SubmitError> {
        let unavailable = |e: tally_log::Error| SubmitError::Unavailable(e.to_string());
        // The common case is a new key: one index read says so.
        if self.log.event_position(event_id(key, 0)).map_err(unavailable)?.is_none() {
            return Ok(None);
        }
        let Some(first) = self.log.get_by_event_id(event_id(key, 0)).map_err(unavailable)? else {
            return Ok(None);
        };
        if first.causation_id() != Some(command_id) {
            return Err(SubmitError::IdempotencyConflict { key: key.to_owned() });
        }
        if first.event_type() == ACCEPTED_MARKER {
            // Accepted with no change: the first result had no events.
            return Ok(Some(Accepted { command_id, events: Vec::new(), deduplicated: true }));
        }
        let mut events = vec![EventRef {
            seq: first.seq(),
            stream: first.stream().to_owned(),
            event_type: first.event_type().to_owned(),
        }];
        for index in 1.. {
            match self.log.get_by_event_id(event_id(key, index)).map_err(unavailable)? {
                Some(e) => events.push(EventRef {
                    seq: e.seq(),
                    stream: e.stream().to_owned(),
                    event_type: e.event_type().to_owned(),
                }),
                None => break,
            }
        }
        Ok(Some(Accepted { command_id, events, deduplicated: true }))
    }

    fn count(&self, source: &str, kind: &'static str, rejection: Option<&'static str>) {
        let today = day_of_ms((self.config.clock_ms)());
        self.shared.stats().count(today, source, kind, rejection);
    }

    /// Records the counters of the group just decided (outside the log). A failure to write
    /// them is logged, not fatal: they are operational statistics, not the ledger.
    fn flush_stats(&self) {
        let today = day_of_ms((self.config.clock_ms)());
        if let Err(e) = self.shared.stats().flush(today) {
            tracing::warn!(error = %e, "submission counters were not written");
        }
    }

    /// Decides `jobs` against the state and queues one log append for their events. Stops
    /// early (returning the rest) when the group is full, or when a job's idempotency key
    /// belongs to the group still in flight: that job is decided once the earlier group is
    /// durable, so its retry finds the first result in the log.
    /// Decides `command`, first loading the closed orders it reads and those its events
    /// change (`tally_domain::closed`): deciding is pure, so a decision that named missing
    /// orders is made again once they are loaded. Errors only when the closed-order store
    /// fails; the state is then unchanged but for orders loaded (a cache).
    fn decide_loading(
        &mut self,
        command: &tally_domain::Command,
        ctx: &Context,
    ) -> Result<Result<Vec<Event>, tally_domain::Rejection>, crate::spill::SpillError> {
        // A command reads a handful of orders; each pass loads all it named, so a second
        // pass sees them. More passes would mean a decision reading orders it did not name.
        const PASSES_MAX: usize = 4;
        // The one closed-order read of the hot path (is a received order a re-send of one
        // closed?) is loaded before the first pass rather than named by it.
        if let tally_domain::Command::ReceiveOrder(c) = command {
            self.spill.load(&mut self.state, [&c.order])?;
        }
        let mut pass = 0;
        let decided = loop {
            pass += 1;
            match decide_or_load(&self.state, command, ctx) {
                Ok(decided) => break decided,
                Err(missing) => {
                    assert!(pass < PASSES_MAX, "decide keeps naming unloaded orders {missing:?}");
                    self.spill.load(&mut self.state, &missing)?;
                }
            }
        };
        if let Ok(events) = &decided {
            for event in events {
                self.spill
                    .load(&mut self.state, tally_domain::evolve::closed_orders_touched(event))?;
            }
        }
        Ok(decided)
    }

    fn decide_group(
        &mut self,
        jobs: Vec<Job>,
        in_flight_keys: Option<&HashMap<String, (usize, EventId)>>,
    ) -> (Decided, Vec<Job>) {
        let limits = self.log.config().limits.clone();
        let mut events: Vec<NewEvent> = Vec::new();
        let mut payload_bytes = 0usize;
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(jobs.len());
        let mut keys: HashMap<String, (usize, EventId)> = HashMap::new();
        let mut replies: Vec<Reply> = Vec::with_capacity(jobs.len());
        let mut carry = Vec::new();
        let mut jobs: std::collections::VecDeque<Job> = jobs.into();
        while let Some(job) = jobs.pop_front() {
            let sub = &job.submission;
            let index = outcomes.len();
            if let Err(reason) = sub.validate() {
                outcomes.push(Outcome::Done(Err(SubmitError::Invalid(reason))));
                replies.push(job.reply);
                continue;
            }
            if in_flight_keys.is_some_and(|k| k.contains_key(&sub.idempotency_key)) {
                carry.push(job);
                carry.extend(jobs);
                break;
            }
            let kind = sub.command.kind();
            let command_id = match command_id(&sub.command) {
                Ok(id) => id,
                Err(e) => {
                    outcomes.push(Outcome::Done(Err(SubmitError::Invalid(e.to_string()))));
                    replies.push(job.reply);
                    continue;
                }
            };
            if let Some(&(first, first_id)) = keys.get(&sub.idempotency_key) {
                outcomes.push(if first_id == command_id {
                    Outcome::SameAs(first)
                } else {
                    Outcome::Done(Err(SubmitError::IdempotencyConflict {
                        key: sub.idempotency_key.clone(),
                    }))
                });
                replies.push(job.reply);
                continue;
            }
            match self.first_result(&sub.idempotency_key, command_id) {
                Ok(Some(accepted)) => {
                    outcomes.push(Outcome::Done(Ok(accepted)));
                    replies.push(job.reply);
                    continue;
                }
                Err(e) => {
                    outcomes.push(Outcome::Done(Err(e)));
                    replies.push(job.reply);
                    continue;
                }
                Ok(None) => {}
            }
            let actor = match Actor::parse(sub.actor.clone()) {
                Ok(actor) => actor,
                Err(e) => {
                    outcomes.push(Outcome::Done(Err(SubmitError::Invalid(e.to_string()))));
                    replies.push(job.reply);
                    continue;
                }
            };
            let occurred_at_ms = sub.occurred_at_ms.unwrap_or_else(self.config.clock_ms);
            let ctx = Context { now: Timestamp::from_millis(occurred_at_ms), actor };
            let decided = match self.decide_loading(&sub.command, &ctx) {
                Ok(decided) => decided,
                Err(e) => {
                    tracing::error!(error = %e, "loading closed orders failed");
                    outcomes.push(Outcome::Done(Err(SubmitError::StorageFailed(e.to_string()))));
                    replies.push(job.reply);
                    continue;
                }
            };
            let (decided, marker) = match decided {
                // Accepted with no change: a marker records the key (its answer has no events).
                Ok(decided) if decided.is_empty() => (
                    vec![Event::CommandAccepted(CommandAccepted { command: kind.to_owned() })],
                    true,
                ),
                Ok(decided) => (decided, false),
                Err(rejection) => {
                    self.count(&sub.source, kind, Some(rejection.code()));
                    outcomes.push(Outcome::Done(Err(SubmitError::Rejected(rejection))));
                    replies.push(job.reply);
                    continue;
                }
            };
            // Encode first: a command whose events the log would refuse is refused here,
            // before the state changes.
            let streams: Vec<String> = decided.iter().map(Event::stream).collect();
            if let Some(long) = streams.iter().find(|s| s.len() > limits.stream_id_bytes_max) {
                outcomes.push(Outcome::Done(Err(SubmitError::Invalid(format!(
                    "stream '{long}' of this command is {} bytes, over the limit of {}: use shorter ids",
                    long.len(),
                    limits.stream_id_bytes_max
                )))));
                replies.push(job.reply);
                continue;
            }
            let encoded: Vec<Vec<u8>> = decided.iter().map(encode).collect();
            let bytes: usize = encoded.iter().map(Vec::len).sum();
            if let Some(too_big) =
                encoded.iter().map(Vec::len).find(|&n| n > limits.event_bytes_max)
            {
                outcomes.push(Outcome::Done(Err(SubmitError::Invalid(format!(
                    "an event of this command would be {too_big} bytes, over the limit of {}",
                    limits.event_bytes_max
                )))));
                replies.push(job.reply);
                continue;
            }
            let over = events.len() + decided.len() > self.config.batch_events_max
                || events.len() + decided.len() > limits.append_events_max
                || payload_bytes + bytes > limits.append_bytes_max;
            if over && !events.is_empty() {
                // Decide it again in the next group, against the state this group leaves.
                carry.push(job);
                carry.extend(jobs);
                break;
            }
            if over {
                outcomes.push(Outcome::Done(Err(SubmitError::Invalid(format!(
                    "this command produces {} events ({bytes} bytes), over what one append may hold",
                    decided.len()
                )))));
                replies.push(job.reply);
                continue;
            }
            self.count(&sub.source, kind, None);
            let start = events.len();
            let mut refs = Vec::with_capacity(decided.len());
            for (i, ((event, payload), stream)) in
                decided.iter().zip(encoded).zip(streams).enumerate()
            {
                evolve(&mut self.state, event, ctx.now);
                if !marker {
                    refs.push((stream.clone(), event.event_type().to_owned()));
                }
                events.push(NewEvent {
                    event_id: event_id(&sub.idempotency_key, u32::try_from(i).unwrap_or(u32::MAX)),
                    stream,
                    event_type: event.event_type().to_owned(),
                    schema_version: event.schema_version(),
                    occurred_at_ms,
                    source: sub.source.clone(),
                    correlation_id: Some(sub.correlation_id.unwrap_or(command_id)),
                    causation_id: Some(command_id),
                    actor: sub.actor.clone(),
                    payload,
                });
            }
            payload_bytes += bytes;
            keys.insert(sub.idempotency_key.clone(), (index, command_id));
            // A marker is appended but is not one of the command's events.
            let end = if marker { start } else { events.len() };
            outcomes.push(Outcome::Pending { command_id, range: start..end, refs });
            // The rules' reactions to what just changed are decided next, in this group when
            // it has room: a chain lands with its cause.
            if !marker {
                let reactions =
                    self.reactions(sub, command_id, occurred_at_ms, job.depth, &decided);
                for reaction in reactions.into_iter().rev() {
                    jobs.push_front(reaction);
                }
            }
            replies.push(job.reply);
        }
        // The state keeps its bound of closed orders; what it cannot write out stays (and
        // the next group tries again).
        if let Err(e) = self.spill.evict(&mut self.state) {
            tracing::error!(error = %e, "keeping closed orders outside the state failed");
        }
        self.shared.groups.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.shared
            .grouped_commands
            .fetch_add(outcomes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let append = if events.is_empty() {
            Ok(None)
        } else {
            self.log.append_nowait(AppendRequest::new(events)).map(Some)
        };
        (Decided { outcomes, replies, keys, append }, carry)
    }

    fn poison(&self, reason: &str) {
        tracing::error!(%reason, "engine writer stops");
        *self.shared.poisoned.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(reason.to_owned());
    }

    /// Answers every caller of a group that will not be appended (the writer is stopping).
    fn abandon(&self, decided: Decided, carry: Vec<Job>) {
        if let Ok(Some(pending)) = decided.append {
            let _ = pending.wait();
        }
        for reply in decided.replies {
            let _ = reply.send(Err(self.shared.stopped_error("the engine stopped")));
        }
        for job in carry {
            let _ = job.reply.send(Err(self.shared.stopped_error("the engine stopped")));
        }
    }

    /// Waits until the group's append is durable, then answers its callers. Returns false
    /// when the append failed: the writer must stop.
    fn finish(&mut self, decided: Decided) -> bool {
        let Decided { outcomes, replies, append, .. } = decided;
        let positions = match append.and_then(|pending| pending.map(|p| p.wait()).transpose()) {
            Ok(Some(appended)) => appended.positions,
            Ok(None) => Vec::new(),
            Err(err) => {
                let storage = matches!(
                    err,
                    tally_log::Error::Storage(_)
                        | tally_log::Error::Poisoned(_)
                        | tally_log::Error::Io { .. }
                );
                let reason = match err {
                    tally_log::Error::Poisoned(_) => format!("the log refused an append: {err}"),
                    _ => format!("the log refused an append ({err}); restart to recover"),
                };
                self.shared.storage_failed.store(storage, std::sync::atomic::Ordering::SeqCst);
                self.poison(&reason);
                for reply in replies {
                    let _ = reply.send(Err(self.shared.stopped_error(&reason)));
                }
                return false;
            }
        };
        if let Some(notify) = &self.notify {
            let _ = notify.try_send(());
        }
        let mut results: Vec<Result<Accepted, SubmitError>> = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            let result = match outcome {
                Outcome::Done(result) => result,
                Outcome::Pending { command_id, range, refs } => Ok(Accepted {
                    command_id,
                    events: positions[range]
                        .iter()
                        .zip(refs)
                        .map(|(p, (stream, event_type))| EventRef {
                            seq: p.seq,
                            stream,
                            event_type,
                        })
                        .collect(),
                    deduplicated: false,
                }),
                Outcome::SameAs(first) => match &results[first] {
                    Ok(accepted) => Ok(Accepted { deduplicated: true, ..accepted.clone() }),
                    Err(e) => Err(e.clone()),
                },
            };
            results.push(result);
        }
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
        true
    }
}

/// The key of a rule's reaction: derived from its cause's key, the rule and the order, so it
/// is unique per cause and within the 128-byte limit whatever the ids' lengths.
fn reaction_key(parent: &str, rule: &str, order: &tally_domain::ids::OrderId) -> String {
    let mut h = blake3::Hasher::new_derive_key("tally rule reaction key v1");
    for part in [parent, rule, order.as_str()] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("rule:{rule}:{}", &h.finalize().to_hex()[..32])
}
