//! One endpoint's delivery task: replays first, then the log's events in seq order with the
//! `ats.changed` cuts at their place, one message in flight, each retried with backoff until
//! a 2xx or its dead letter. The cursor moves only after a message is done.

use crate::ats;
use crate::backoff::{Clock, delay_ms};
use crate::config::{Delivery, EndpointSpec};
use crate::message::{self, AtsFigure, Message};
use crate::store::{
    DeadLetter, EndpointState, Inflight, SYNC_INTERVAL_MS, Source, Store, StoreError,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tally_log::{Log, RecordedEvent};
use tally_projections::ViewStore;
use tokio::sync::watch;
use tokio::time::Instant;

/// Events read ahead of the cursor at a time.
const READ_AHEAD_EVENTS_MAX: usize = 256;
/// How long a worker waits for the views before it retries (they apply within milliseconds
/// normally; longer means they stopped).
const VIEWS_WAIT_MS: u64 = 5_000;
/// Pause after an unexpected error (storage, views) before the step is tried again.
const ERROR_PAUSE_MS: u64 = 1_000;
/// Most bytes of a response body read (so the connection can be reused); the rest is dropped.
const RESPONSE_BYTES_MAX: usize = 64 * 1024;

/// What everything shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub log: Log,
    pub views: ViewStore,
    pub store: Store,
    pub client: reqwest::Client,
    pub delivery: Delivery,
    pub clock: Arc<dyn Clock>,
    pub shutdown: watch::Receiver<bool>,
}

/// What the handle asks of a worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Control {
    pub paused: bool,
    pub removed: bool,
    /// Bumped to wake the worker (a replay was queued).
    pub wake: u64,
    /// Bumped by every pause or resume of an operator (so a resume also lifts a pause the
    /// worker made itself on a 410).
    pub pause_generation: u64,
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    spec: Arc<EndpointSpec>,
    /// The shared client, or the endpoint's own when it has a CA file.
    client: reqwest::Client,
    control: watch::Receiver<Control>,
    shutdown: watch::Receiver<bool>,
    head: watch::Receiver<tally_log::Head>,
    status: watch::Sender<EndpointState>,
    state: EndpointState,
    /// Events after the cursor whose type the endpoint wants, read ahead.
    buffer: VecDeque<RecordedEvent>,
    /// Every event ≤ this has been read into `buffer` or skipped.
    read_upto: u64,
    /// When stock moves were first seen after the last cut.
    dirty_since: Option<Instant>,
    last_sync: Instant,
    /// State written to the OS since the last fsync.
    unsynced: bool,
    /// The last `pause_generation` applied.
    pause_generation: u64,
    /// Cut `ats.changed` messages not yet delivered (the store holds them durably).
    pending: VecDeque<(u64, Message)>,
    /// Dead letters queued for replay (reloaded from the store when woken for a replay).
    replays: VecDeque<DeadLetter>,
    /// The last `wake` the replay queue was loaded for.
    replay_wake: Option<u64>,
}

enum Step {
    Worked,
    Idle(Option<Instant>),
}

enum Outcome {
    Delivered,
    Dead(String, Inflight),
    Stopped,
}

impl Worker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        spec: Arc<EndpointSpec>,
        client: reqwest::Client,
        control: watch::Receiver<Control>,
        status: watch::Sender<EndpointState>,
        state: EndpointState,
        pending: Vec<(u64, Message)>,
    ) -> Self {
        let head = shared.log.subscribe_head();
        let shutdown = shared.shutdown.clone();
        let read_upto = state.cursor;
        let pause_generation = control.borrow().pause_generation;
        Self {
            shared,
            spec,
            client,
            control,
            shutdown,
            head,
            status,
            state,
            buffer: VecDeque::new(),
            read_upto,
            dirty_since: None,
            last_sync: Instant::now(),
            unsynced: false,
            pause_generation,
            pending: pending.into(),
            replays: VecDeque::new(),
            replay_wake: None,
        }
    }

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow() || self.control.borrow().removed
    }

    fn publish(&self) {
        self.status.send_replace(self.state.clone());
        let name = self.spec.name.clone();
        let lag = self.shared.log.head().seq.saturating_sub(self.state.cursor);
        metrics::gauge!("tally_outbox_lag_events", "endpoint" => name).set(lag as f64);
    }

    /// Writes the state to the OS, and fsyncs it when the last fsync is old.
    fn save(&mut self) -> Result<(), StoreError> {
        let durable = self.last_sync.elapsed() >= Duration::from_millis(SYNC_INTERVAL_MS);
        self.shared.store.put_state(self.name(), &self.state, durable)?;
        if durable {
            self.last_sync = Instant::now();
        }
        self.unsynced = !durable;
        self.publish();
        Ok(())
    }

    fn save_durably(&mut self) -> Result<(), StoreError> {
        self.shared.store.put_state(self.name(), &self.state, true)?;
        self.last_sync = Instant::now();
        self.unsynced = false;
        self.publish();
        Ok(())
    }

    /// Every event ≤ this is done (delivered, dead-lettered or filtered out).
    fn handled_upto(&self) -> u64 {
        self.buffer.front().map_or(self.read_upto, |e| e.seq() - 1)
    }

    pub(crate) async fn run(mut self) {
        self.publish();
        while !self.stopping() {
            self.apply_pause();
            if self.state.paused {
                self.wait(None, false).await;
                continue;
            }
            match self.step().await {
                Ok(Step::Worked) => {}
                Ok(Step::Idle(deadline)) => {
                    let sync_at = self.last_sync + Duration::from_millis(SYNC_INTERVAL_MS);
                    if self.unsynced && Instant::now() >= sync_at {
                        let _ = self.save_durably();
                    }
                    // Acknowledged cursors reach the disk within the sync interval, even idle.
                    let deadline = match (deadline, self.unsynced) {
                        (Some(d), true) => Some(d.min(sync_at)),
                        (None, true) => Some(sync_at),
                        (d, false) => d,
                    };
                    self.wait(deadline, true).await;
                }
                Err(e) => {
                    tracing::error!(endpoint = %self.spec.name, error = %e, "outbox: delivery step failed; retrying");
                    let until = Instant::now() + Duration::from_millis(ERROR_PAUSE_MS);
                    self.wait(Some(until), false).await;
                }
            }
        }
        self.apply_pause();
        self.state.cursor = self.state.cursor.max(self.handled_upto());
        if let Err(e) = self.save_durably() {
            tracing::error!(endpoint = %self.spec.name, error = %e, "outbox: saving the cursor at stop failed");
        }
    }

    /// Applies a pause or resume of an operator, durably.
    fn apply_pause(&mut self) {
        let control = *self.control.borrow_and_update();
        if control.pause_generation != self.pause_generation {
            self.pause_generation = control.pause_generation;
            self.state.paused = control.paused;
            if !control.paused {
                self.state.paused_reason = None;
            }
            if let Err(e) = self.save_durably() {
                tracing::error!(endpoint = %self.spec.name, error = %e, "outbox: saving the pause failed");
            }
        }
    }

    /// Sleeps until the deadline, a control change, shutdown, or (with `on_head`) a new head.
    async fn wait(&mut self, deadline: Option<Instant>, on_head: bool) {
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let head = async {
            if on_head {
                if self.head.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = sleep => {}
            () = head => {}
            _ = self.control.changed() => {}
            _ = self.shutdown.changed() => {}
        }
    }

    async fn step(&mut self) -> Result<Step, crate::Error> {
        // 1. Replayed dead letters, oldest first.
        let wake = self.control.borrow().wake;
        if self.replay_wake != Some(wake) {
            self.replays = self.shared.store.replays(self.name())?.into();
            self.replay_wake = Some(wake);
        }
        if let Some(letter) = self.replays.front().cloned() {
            let key = letter.key;
            match self.deliver(&letter.message, None).await? {
                Outcome::Delivered => {
                    self.shared.store.ack_replay(self.name(), key, &self.state)?;
                    self.replays.pop_front();
                    self.unsynced = true;
                    self.publish();
                }
                Outcome::Dead(error, inflight) => {
                    self.replays.pop_front();
                    self.bury(&letter.message, error, inflight, Some(Source::Replay(key)))?;
                }
                Outcome::Stopped => {}
            }
            return Ok(Step::Worked);
        }
        // 2. A cut ats.changed message whose events have all been handled.
        if let Some((key, msg)) = self.pending.front().cloned()
            && msg.seq <= self.handled_upto()
        {
            match self.deliver(&msg, None).await? {
                Outcome::Delivered => {
                    self.shared.store.ack_pending(self.name(), key, &self.state)?;
                    self.pending.pop_front();
                    self.unsynced = true;
                    self.publish();
                }
                Outcome::Dead(error, inflight) => {
                    self.pending.pop_front();
                    self.bury(&msg, error, inflight, Some(Source::Pending(key)))?;
                }
                Outcome::Stopped => {}
            }
            return Ok(Step::Worked);
        }
        // 3. The next event the endpoint wants.
        let head = self.head.borrow_and_update().seq;
        if self.buffer.is_empty() && self.read_upto < head {
            for event in self.shared.log.read(self.read_upto + 1..=head).take(READ_AHEAD_EVENTS_MAX)
            {
                let event = event?;
                self.read_upto = event.seq();
                if self.spec.wants_type(event.event_type()) {
                    self.buffer.push_back(event);
                }
            }
            if self.buffer.is_empty() && self.state.cursor < self.read_upto {
                self.state.cursor = self.read_upto;
                self.save()?;
            }
            return Ok(Step::Worked);
        }
        if let Some(event) = self.buffer.front().cloned() {
            self.send_event(&event).await?;
            return Ok(Step::Worked);
        }
        // 4. A cut of ats.changed, once the coalescing window has passed.
        if self.spec.wants_ats() && self.state.ats_seq < head {
            let now = Instant::now();
            let since = *self.dirty_since.get_or_insert(now);
            let due = since + Duration::from_millis(self.shared.delivery.ats_coalesce_ms);
            if now < due {
                return Ok(Step::Idle(Some(due)));
            }
            self.cut(head).await?;
            self.dirty_since = None;
            return Ok(Step::Worked);
        }
        Ok(Step::Idle(None))
    }

    /// Delivers (or filters out) the event at the front of the buffer.
    async fn send_event(&mut self, event: &RecordedEvent) -> Result<(), crate::Error> {
        let seq = event.seq();
        let body = event_json(event);
        let wanted = self.passes_filters(event.event_type(), &body, seq).await?;
        if !wanted {
            self.buffer.pop_front();
            self.state.cursor = self.handled_upto();
            return Ok(());
        }
        let msg = message::event_message(self.name(), event, body);
        match self.deliver(&msg, Some(event.recorded_at_ms())).await? {
            Outcome::Delivered => {
                self.buffer.pop_front();
                self.state.cursor = self.handled_upto();
                self.save()?;
            }
            Outcome::Dead(error, inflight) => {
                self.buffer.pop_front();
                self.state.cursor = self.handled_upto();
                self.bury(&msg, error, inflight, None)?;
            }
            Outcome::Stopped => {}
        }
        Ok(())
    }

    /// The endpoint's channel and SKU filters (types were checked when reading). What
    /// "belongs to a channel" means per event: [`crate::filter::channel_scope`].
    async fn passes_filters(
        &self,
        event_type: &str,
        body: &serde_json::Value,
        seq: u64,
    ) -> Result<bool, crate::Error> {
        use crate::filter::ChannelScope;
        if !self.spec.skus.is_empty() && !crate::filter::mentions_any_sku(body, &self.spec.skus) {
            return Ok(false);
        }
        if self.spec.channels.is_empty() {
            return Ok(true);
        }
        let wanted = |c: &str| self.spec.channels.iter().any(|w| w == c);
        match crate::filter::channel_scope(event_type, body) {
            ChannelScope::Channels(channels) => Ok(channels.iter().any(|c| wanted(c))),
            ChannelScope::None => Ok(false),
            ChannelScope::Order(order) => {
                self.shared.views.wait_for(seq, Duration::from_millis(VIEWS_WAIT_MS)).await?;
                let reader = self.shared.views.reader("orders")?;
                let channel = tally_projections::orders::order(&reader, &order)?
                    .map(|o| o.channel.as_str().to_owned());
                Ok(channel.is_some_and(|c| wanted(&c)))
            }
            ChannelScope::Locations(locations) => {
                // The channels a location ships for as the view knows them when the message
                // is sent (its definition at the event, unless it was redefined since).
                self.shared.views.wait_for(seq, Duration::from_millis(VIEWS_WAIT_MS)).await?;
                let reader = self.shared.views.reader(crate::ats::VIEW)?;
                for location in &locations {
                    if let Some(info) = tally_projections::inventory::location(&reader, location)?
                        && info.channels.iter().any(|c| wanted(c.as_str()))
                    {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    /// Cuts the ats.changed messages for the stock moves after `ats_seq`: stored durably
    /// before any is sent.
    async fn cut(&mut self, head: u64) -> Result<(), crate::Error> {
        self.shared.views.wait_for(head, Duration::from_millis(VIEWS_WAIT_MS)).await?;
        let reader = self.shared.views.reader(ats::VIEW)?;
        // The view may have applied more than `head`: the cut reads up to what it shows.
        let as_of = reader.applied().max(head);
        let touched = ats::touched(&self.shared.log, self.state.ats_seq, as_of)?;
        let mut skus = touched.skus;
        if touched.all {
            skus.extend(ats::every_sku(&reader)?);
        }
        if !self.spec.skus.is_empty() {
            skus.retain(|s| self.spec.skus.contains(s));
        }
        let now_ms = self.shared.clock.now_ms();
        let mut messages = Vec::new();
        let mut changed = Vec::new();
        for (channel, sku, value) in ats::figures(&reader, &skus, &self.spec.channels, now_ms)? {
            let previous = self.shared.store.ats(self.name(), &channel, &sku)?;
            if previous == Some(value) {
                continue;
            }
            let figure = AtsFigure { channel, sku, ats: value, previous };
            let mut msg = message::ats_message(self.name(), &figure, as_of, messages.len(), now_ms);
            // Ordered after the last event this cut read.
            msg.seq = touched.upto;
            messages.push(msg);
            changed.push((figure.channel, figure.sku, value));
        }
        self.state.ats_seq = touched.upto;
        let spec = Arc::clone(&self.spec);
        let keyed = self.shared.store.cut(&spec.name, &mut self.state, messages, &changed)?;
        self.pending.extend(keyed);
        self.last_sync = Instant::now();
        self.publish();
        Ok(())
    }

    fn bury(
        &mut self,
        msg: &Message,
        error: String,
        inflight: Inflight,
        from: Option<Source>,
    ) -> Result<(), StoreError> {
        let letter = DeadLetter {
            key: 0,
            message: msg.clone(),
            attempts: inflight.attempts,
            first_failure_ms: inflight.first_failure_ms,
            dead_at_ms: self.shared.clock.now_ms(),
            last_error: error,
        };
        tracing::warn!(endpoint = %self.spec.name, id = %msg.id, attempts = inflight.attempts, "outbox: message dead-lettered");
        metrics::counter!("tally_outbox_deliveries_total", "endpoint" => self.spec.name.clone(), "outcome" => "dead_lettered").increment(1);
        self.shared.store.dead_letter(&self.spec.name, &mut self.state, letter, from)?;
        self.last_sync = Instant::now();
        let dead = self.shared.store.dead_count(&self.spec.name)?;
        metrics::gauge!("tally_outbox_dead_letters", "endpoint" => self.spec.name.clone())
            .set(dead as f64);
        self.publish();
        Ok(())
    }

    /// Attempts `msg` until a 2xx, its dead letter, or a stop (pause, removal, shutdown).
    async fn deliver(
        &mut self,
        msg: &Message,
        recorded_at_ms: Option<i64>,
    ) -> Result<Outcome, crate::Error> {
        if self.state.inflight.as_ref().is_some_and(|i| i.id != msg.id) {
            self.state.inflight = None;
        }
        loop {
            let asked = *self.control.borrow();
            if self.stopping() || (asked.pause_generation != self.pause_generation && asked.paused)
            {
                return Ok(Outcome::Stopped);
            }
            if let Some(inflight) = &self.state.inflight {
                let wait_ms = inflight.next_attempt_ms - self.shared.clock.now_ms();
                if wait_ms > 0 {
                    let until =
                        Instant::now() + Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => {}
                        _ = self.control.changed() => {}
                        _ = self.shutdown.changed() => {}
                    }
                    continue;
                }
            }
            let now_ms = self.shared.clock.now_ms();
            self.state.last_attempt_ms = Some(now_ms);
            let started = std::time::Instant::now();
            let mut shutdown = self.shutdown.clone();
            let result = tokio::select! {
                r = self.post(msg, now_ms) => r,
                _ = shutdown.wait_for(|s| *s) => return Ok(Outcome::Stopped),
            };
            let endpoint = self.spec.name.clone();
            metrics::histogram!("tally_outbox_attempt_seconds", "endpoint" => endpoint.clone())
                .record(started.elapsed().as_secs_f64());
            let error = match result {
                Ok(status) if status.is_success() => {
                    metrics::counter!("tally_outbox_deliveries_total", "endpoint" => endpoint.clone(), "outcome" => "delivered").increment(1);
                    if let Some(recorded) = recorded_at_ms {
                        let delay_ms = self.shared.clock.now_ms().saturating_sub(recorded).max(0);
                        metrics::histogram!("tally_outbox_delivery_delay_seconds", "endpoint" => endpoint)
                            .record(delay_ms as f64 / 1000.0);
                    }
                    self.state.delivered += 1;
                    self.state.consecutive_failures = 0;
                    self.state.last_success_ms = Some(self.shared.clock.now_ms());
                    self.state.inflight = None;
                    return Ok(Outcome::Delivered);
                }
                Ok(status) if status == reqwest::StatusCode::GONE => {
                    metrics::counter!("tally_outbox_deliveries_total", "endpoint" => endpoint, "outcome" => "gone").increment(1);
                    self.state.paused = true;
                    self.state.paused_reason = Some("the endpoint answered 410 Gone".to_owned());
                    self.state.last_error = Some("410 Gone".to_owned());
                    self.save_durably()?;
                    tracing::warn!(endpoint = %self.spec.name, "outbox: endpoint answered 410 Gone; paused");
                    return Ok(Outcome::Stopped);
                }
                Ok(status) => format!("HTTP {}", status.as_u16()),
                Err(e) => e,
            };
            metrics::counter!("tally_outbox_deliveries_total", "endpoint" => endpoint, "outcome" => "failed").increment(1);
            self.state.failed_attempts += 1;
            self.state.consecutive_failures = self.state.consecutive_failures.saturating_add(1);
            self.state.last_error = Some(error.clone());
            let inflight = self.state.inflight.get_or_insert_with(|| Inflight {
                id: msg.id.clone(),
                attempts: 0,
                first_failure_ms: now_ms,
                next_attempt_ms: now_ms,
            });
            inflight.attempts += 1;
            let age_ms = now_ms.saturating_sub(inflight.first_failure_ms);
            let max_age_ms = i64::try_from(self.shared.delivery.max_age_s.saturating_mul(1000))
                .unwrap_or(i64::MAX);
            if inflight.attempts >= self.shared.delivery.max_attempts || age_ms >= max_age_ms {
                let inflight = inflight.clone();
                self.state.inflight = None;
                return Ok(Outcome::Dead(error, inflight));
            }
            let wait = delay_ms(&self.shared.delivery, &msg.id, inflight.attempts);
            inflight.next_attempt_ms =
                now_ms.saturating_add(i64::try_from(wait).unwrap_or(i64::MAX));
            self.save()?;
        }
    }

    /// One signed POST; the status, or the transport error as text.
    async fn post(&self, msg: &Message, now_ms: i64) -> Result<reqwest::StatusCode, String> {
        let timestamp_s = now_ms.div_euclid(1000);
        let signature = self.spec.secret.sign(&msg.id, timestamp_s, msg.body.as_bytes());
        let response = self
            .client
            .post(&self.spec.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &msg.id)
            .header("webhook-timestamp", timestamp_s.to_string())
            .header("webhook-signature", signature)
            .body(msg.body.clone())
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = response.status();
        let mut response = response;
        let mut read = 0;
        while read < RESPONSE_BYTES_MAX {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(status)
    }
}

fn transport_error(e: &reqwest::Error) -> String {
    // The URL is the operator's own; the source chain says why.
    let mut chain = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    // rustls reports an untrusted, expired or misnamed server certificate as "invalid peer
    // certificate: …", and other handshake failures as "received fatal alert: …".
    let tls = chain.contains("peer certificate")
        || chain.contains("fatal alert")
        || chain.contains("InvalidCertificate");
    let kind = if e.is_timeout() {
        "timed out"
    } else if tls {
        "TLS handshake failed"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    format!("{kind}{chain}").chars().take(500).collect()
}

/// The domain event's body as JSON (`data` of the serialised event, digests as hex); an event the codec
/// cannot read is sent with a `null` body and its type (the views quarantine it as well).
fn event_json(event: &RecordedEvent) -> serde_json::Value {
    tally_domain::decode(event.event_type(), event.schema_version(), event.payload())
        .ok()
        .and_then(|e| serde_json::to_value(&e).ok())
        .and_then(|mut v| v.get_mut("data").map(serde_json::Value::take))
        .map(|mut body| {
            message::hex_digests(&mut body);
            body
        })
        .unwrap_or(serde_json::Value::Null)
}
