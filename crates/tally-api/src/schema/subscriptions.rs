//! Subscriptions: tail the durable log (new events, filtered), and ATS changes of a SKU.
//!
//! A subscription follows the log's durable head (`Log::subscribe_head`) and reads the new
//! events from the last seq it delivered, at most `subscription_batch_events_max` at a time:
//! a slow client makes its own subscription lag, never grows a buffer. Streams end when the
//! server shuts down.

use super::event_type::EventType;
use super::inventory::AtsByChannelAnswer;
use super::log::{EventNode, event_type_of, payload_json};
use crate::auth::FieldGuard;
use crate::error::{ApiError, code};
use crate::state::AppState;
use async_graphql::{Context, Object, Subscription};
use futures_util::{Stream, StreamExt as _};
use std::collections::VecDeque;
use std::sync::Arc;
use tally_domain::graphql::UnsignedInt64;
use tally_log::RecordedEvent;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// The subscription slots of one WebSocket connection.
#[derive(Debug, Clone)]
pub struct ConnectionSlots(pub Arc<Semaphore>);

/// Which events a subscriber wants.
type Filter = Box<dyn Fn(&RecordedEvent) -> bool + Send + Sync>;

struct Tail {
    log: tally_log::Log,
    head: watch::Receiver<tally_log::Head>,
    shutdown: watch::Receiver<bool>,
    last_seq: u64,
    batch_max: usize,
    buffer: VecDeque<RecordedEvent>,
    filter: Filter,
    _slot: Option<OwnedSemaphorePermit>,
}

impl Tail {
    async fn next(mut self) -> Option<(EventNode, Self)> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Some((EventNode(event), self));
            }
            let head = self.head.borrow_and_update().seq;
            if head > self.last_seq {
                let from = self.last_seq + 1;
                let mut read = 0usize;
                for event in self.log.read(from..=head).take(self.batch_max) {
                    read += 1;
                    match event {
                        Ok(event) => {
                            self.last_seq = event.seq();
                            if (self.filter)(&event) {
                                self.buffer.push_back(event);
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "subscription read failed");
                            return None;
                        }
                    }
                }
                if read > 0 {
                    continue;
                }
            }
            tokio::select! {
                changed = self.head.changed() => if changed.is_err() { return None },
                _ = self.shutdown.wait_for(|stop| *stop) => return None,
            }
        }
    }
}

fn take_slot(ctx: &Context<'_>) -> Result<Option<OwnedSemaphorePermit>, ApiError> {
    match ctx.data_opt::<ConnectionSlots>() {
        None => Ok(None),
        Some(slots) => Arc::clone(&slots.0).try_acquire_owned().map(Some).map_err(|_| {
            ApiError::new(code::LIMIT_EXCEEDED, "too many subscriptions on this connection")
        }),
    }
}

fn tail(
    ctx: &Context<'_>,
    after_seq: Option<u64>,
    filter: Filter,
) -> Result<impl Stream<Item = EventNode>, ApiError> {
    let state = ctx.data_unchecked::<AppState>();
    let slot = take_slot(ctx)?;
    let log = state.log().clone();
    let mut head = log.subscribe_head();
    let head_seq = head.borrow_and_update().seq;
    let last_seq = after_seq.map_or(head_seq, |after| after.min(head_seq));
    let tail = Tail {
        log,
        head,
        shutdown: state.shutdown_signal(),
        last_seq,
        batch_max: state.config().subscription_batch_events_max.max(1),
        buffer: VecDeque::new(),
        filter,
        _slot: slot,
    };
    Ok(futures_util::stream::unfold(tail, Tail::next))
}

/// Whether a JSON value holds a `sku` field equal to `sku`, at any depth.
fn mentions_sku(value: &serde_json::Value, sku: &str) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            map.iter().any(|(k, v)| (k == "sku" && v.as_str() == Some(sku)) || mentions_sku(v, sku))
        }
        serde_json::Value::Array(items) => items.iter().any(|v| mentions_sku(v, sku)),
        _ => false,
    }
}

/// Most event types one `events` subscription may filter on.
pub const TYPES_MAX: usize = 64;

/// Subscriptions.
#[derive(Debug, Default)]
pub struct Subscription;

/// Subscriptions (graphql-transport-ws at `/graphql/ws`): new durable events, and ATS changes.
#[Subscription]
impl Subscription {
    /// New durable events, optionally only of these types and/or streams starting with
    /// `streamPrefix`: those after `afterSeq` (to resume without a gap after a reconnect),
    /// or from the head when the subscription starts.
    #[graphql(guard = "FieldGuard(\"Subscription.events\")")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only events of these types (at most 64; an unknown name is a validation error)."
        )]
        types: Option<Vec<EventType>>,
        #[graphql(desc = "Only events of streams starting with this text (e.g. `order:`).")]
        stream_prefix: Option<String>,
        #[graphql(
            desc = "Deliver the events after this seq first (to resume after a reconnect); default: from the head."
        )]
        after_seq: Option<UnsignedInt64>,
    ) -> async_graphql::Result<impl Stream<Item = EventNode>> {
        if let Some(types) = &types
            && types.len() > TYPES_MAX
        {
            return Err(crate::error::ApiError::invalid(format!(
                "argument types has {} entries, more than {TYPES_MAX}",
                types.len()
            ))
            .into());
        }
        if let Some(prefix) = &stream_prefix {
            super::args::bounded("streamPrefix", prefix, tally_domain::limits::STREAM_BYTES_MAX)?;
        }
        let filter: Filter = Box::new(move |e: &RecordedEvent| {
            types.as_ref().is_none_or(|t| t.iter().any(|t| t.as_str() == e.event_type()))
                && stream_prefix.as_ref().is_none_or(|p| e.stream().starts_with(p.as_str()))
        });
        Ok(tail(ctx, after_seq.map(u64::from), filter)?)
    }

    /// Changes that may move the ATS of `sku`: one item per durable event whose payload names
    /// the SKU (receipts, adjustments, allocations, shipments, transfers, …), after `afterSeq`
    /// or from the head when the subscription starts. Selecting `ats` waits for the views to
    /// apply the event, then reads the inventory view.
    #[graphql(guard = "FieldGuard(\"Subscription.atsChanged\")")]
    async fn ats_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The SKU.")] sku: String,
        #[graphql(
            desc = "Deliver the changes after this seq first (to resume after a reconnect); default: from the head."
        )]
        after_seq: Option<UnsignedInt64>,
    ) -> async_graphql::Result<impl Stream<Item = AtsChange>> {
        super::args::id::<tally_domain::ids::Sku>("sku", &sku)?;
        let wanted = sku.clone();
        let filter: Filter = Box::new(move |e: &RecordedEvent| {
            payload_json(e).is_ok_and(|v| mentions_sku(&v, &wanted))
        });
        let events = tail(ctx, after_seq.map(u64::from), filter)?;
        Ok(events.map(move |event| AtsChange { event: event.0, sku: sku.clone() }))
    }
}

/// An event that may have moved a SKU's ATS.
pub struct AtsChange {
    event: RecordedEvent,
    sku: String,
}

impl std::fmt::Debug for AtsChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtsChange")
            .field("seq", &self.event.seq())
            .field("sku", &self.sku)
            .finish_non_exhaustive()
    }
}

/// An event that may have moved a SKU's ATS, with the ATS once the views applied it.
#[Object]
impl AtsChange {
    /// Seq of the event.
    async fn seq(&self) -> UnsignedInt64 {
        UnsignedInt64(self.event.seq())
    }

    /// Its type.
    #[graphql(name = "type")]
    async fn event_type(&self) -> async_graphql::Result<EventType> {
        Ok(event_type_of(&self.event)?)
    }

    /// The event (its payload, source and actor): for the roles that may read the log.
    #[graphql(guard = "FieldGuard(\"AtsChange.event\")")]
    async fn event(&self) -> EventNode {
        EventNode(self.event.clone())
    }

    /// The SKU.
    async fn sku(&self) -> &str {
        &self.sku
    }

    /// ATS of the SKU network-wide and per channel once the views have applied the event
    /// (`meta.seq` ≥ `seq`: the figures may already include later events).
    async fn ats(&self, ctx: &Context<'_>) -> async_graphql::Result<AtsByChannelAnswer> {
        let state = ctx.data_unchecked::<AppState>();
        let seq = self.event.seq();
        state.engine().wait_for_views(seq, state.config().wait_for_views_timeout()).await.map_err(
            |_| {
                ApiError::new(
                    code::UNAVAILABLE,
                    format!("the views did not reach seq {seq} in time"),
                )
            },
        )?;
        Ok(super::inventory::ats_by_channel(state, self.sku.clone(), None).await?)
    }
}
