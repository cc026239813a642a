//! Log access: the head, events by range, stream or id, and the event node.

use super::args;
use super::cursor::{self, PageInfo};
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult, log_error};
use crate::state::AppState;
use async_graphql::{Context, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tally_log::{EventId, RecordedEvent};

/// Milliseconds since the epoch as a UTC time (the epoch itself when out of range).
#[must_use]
pub fn time_of(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The last durable event.
#[derive(Debug, Clone, SimpleObject)]
pub struct Head {
    /// Its seq (0 for an empty log).
    pub seq: u64,
    /// Its chain hash, hex.
    pub hash: String,
    /// When it was recorded (the epoch for an empty log).
    pub recorded_at: DateTime<Utc>,
}

impl From<tally_log::Head> for Head {
    fn from(h: tally_log::Head) -> Self {
        Self { seq: h.seq, hash: h.hash.to_hex(), recorded_at: time_of(h.recorded_at_ms) }
    }
}

/// A stored event with its envelope.
#[derive(Debug, Clone)]
pub struct EventNode(pub RecordedEvent);

#[Object(name = "Event")]
impl EventNode {
    /// Global seq.
    async fn seq(&self) -> u64 {
        self.0.seq()
    }
    /// Entity stream: `kind:part[:part]`, e.g. `order:1001` or `inventory:WH1:SKU-A`, each
    /// part an id with `%` written `%25` and `:` written `%3A`.
    async fn stream(&self) -> &str {
        self.0.stream()
    }
    /// Version within the stream (from 1).
    async fn stream_version(&self) -> u64 {
        self.0.stream_version()
    }
    /// Stable type name, e.g. `order.received`.
    #[graphql(name = "type")]
    async fn event_type(&self) -> &str {
        self.0.event_type()
    }
    /// Payload schema version.
    async fn schema_version(&self) -> u16 {
        self.0.schema_version()
    }
    /// Event id (32 hex digits), derived from the command's idempotency key.
    async fn id(&self) -> String {
        self.0.event_id().to_string()
    }
    /// Correlation id, if any.
    async fn correlation_id(&self) -> Option<String> {
        self.0.correlation_id().map(|id| id.to_string())
    }
    /// Causation id: the content id of the command that caused it.
    async fn causation_id(&self) -> Option<String> {
        self.0.causation_id().map(|id| id.to_string())
    }
    /// Business time.
    async fn occurred_at(&self) -> DateTime<Utc> {
        time_of(self.0.occurred_at_ms())
    }
    /// Ledger time (non-decreasing along seq).
    async fn recorded_at(&self) -> DateTime<Utc> {
        time_of(self.0.recorded_at_ms())
    }
    /// Where it came from.
    async fn source(&self) -> &str {
        self.0.source()
    }
    /// Who asked.
    async fn actor(&self) -> &str {
        self.0.actor()
    }
    /// Chain hash of the frame, hex.
    async fn hash(&self) -> String {
        self.0.hash().to_hex()
    }
    /// Chain hash of the previous frame, hex.
    async fn prev_hash(&self) -> String {
        self.0.prev_hash().to_hex()
    }
    /// The domain event as JSON.
    async fn payload(&self) -> async_graphql::Result<Json<serde_json::Value>> {
        Ok(Json(payload_json(&self.0)?))
    }
}

/// The domain event of `recorded` as JSON.
pub fn payload_json(recorded: &RecordedEvent) -> ApiResult<serde_json::Value> {
    let event =
        tally_domain::decode(recorded.event_type(), recorded.schema_version(), recorded.payload())
            .map_err(|e| {
                ApiError::internal("decode event", &format!("seq {}: {e}", recorded.seq()))
            })?;
    serde_json::to_value(&event).map_err(|e| ApiError::internal("event to json", &e))
}

/// An edge of an event connection.
#[derive(Debug, Clone, SimpleObject)]
pub struct EventEdge {
    /// Opaque cursor of this edge.
    pub cursor: String,
    /// The event.
    pub node: EventNode,
}

/// A page of events.
#[derive(Debug, Clone, SimpleObject)]
pub struct EventConnection {
    /// The events of this page.
    pub edges: Vec<EventEdge>,
    /// Where the page stands.
    pub page_info: PageInfo,
}

const SEQ_CURSOR: &str = "seq";
const STREAM_CURSOR: &str = "stream-version";

fn connection(
    events: Vec<RecordedEvent>,
    size: usize,
    kind: &str,
    position: impl Fn(&RecordedEvent) -> u64,
) -> EventConnection {
    let has_next_page = events.len() > size;
    let edges: Vec<EventEdge> = events
        .into_iter()
        .take(size)
        .map(|e| EventEdge { cursor: cursor::encode(kind, position(&e)), node: EventNode(e) })
        .collect();
    let end_cursor = edges.last().map(|e| e.cursor.clone());
    EventConnection { edges, page_info: PageInfo { has_next_page, end_cursor } }
}

/// Log queries.
#[derive(Debug, Default)]
pub struct LogQuery;

#[Object]
impl LogQuery {
    /// The last durable event.
    #[graphql(guard = "FieldGuard(\"Query.head\")")]
    async fn head(&self, ctx: &Context<'_>) -> Head {
        ctx.data_unchecked::<AppState>().log().head().into()
    }

    /// Events in seq order, `from`..=`to` (default: the whole log), paginated.
    #[graphql(
        guard = "FieldGuard(\"Query.events\")",
        complexity = "first.map_or(50, |n| usize::try_from(n).unwrap_or(0)).saturating_mul(child_complexity).saturating_add(1)"
    )]
    async fn events(
        &self,
        ctx: &Context<'_>,
        from: Option<u64>,
        to: Option<u64>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<EventConnection> {
        let state = ctx.data_unchecked::<AppState>();
        let size = cursor::page_size(state.config(), first)?;
        args::cursor("after", after.as_deref())?;
        let mut start = from.unwrap_or(1).max(1);
        if let Some(after) = after {
            start = start.max(cursor::decode(SEQ_CURSOR, &after)?.saturating_add(1));
        }
        let end = to.unwrap_or(u64::MAX);
        let mut events = Vec::with_capacity(size.saturating_add(1).min(1024));
        if start <= end {
            for e in state.log().read(start..=end).take(size.saturating_add(1)) {
                events.push(e.map_err(|e| log_error("read events", &e))?);
            }
        }
        Ok(connection(events, size, SEQ_CURSOR, RecordedEvent::seq))
    }

    /// The events of one stream in stream order, paginated.
    #[graphql(
        guard = "FieldGuard(\"Query.stream\")",
        complexity = "first.map_or(50, |n| usize::try_from(n).unwrap_or(0)).saturating_mul(child_complexity).saturating_add(1)"
    )]
    async fn stream(
        &self,
        ctx: &Context<'_>,
        stream: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<EventConnection> {
        let state = ctx.data_unchecked::<AppState>();
        let size = cursor::page_size(state.config(), first)?;
        args::stream("stream", &stream)?;
        args::cursor("after", after.as_deref())?;
        let from_version = match after {
            Some(after) => cursor::decode(STREAM_CURSOR, &after)?.saturating_add(1),
            None => 1,
        };
        let mut events = Vec::new();
        for e in state.log().read_stream(&stream, from_version).take(size.saturating_add(1)) {
            events.push(e.map_err(|e| log_error("read stream", &e))?);
        }
        Ok(connection(events, size, STREAM_CURSOR, RecordedEvent::stream_version))
    }

    /// The event with this id (32 hex digits), or null.
    #[graphql(guard = "FieldGuard(\"Query.event\")")]
    async fn event(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<EventNode>> {
        let state = ctx.data_unchecked::<AppState>();
        args::bounded("id", &id, 32)?;
        let event_id = EventId::parse_hex(&id)
            .ok_or_else(|| ApiError::invalid(format!("event id '{id}' is not 32 hex digits")))?;
        let found =
            state.log().get_by_event_id(event_id).map_err(|e| log_error("get event", &e))?;
        Ok(found.map(EventNode))
    }
}
