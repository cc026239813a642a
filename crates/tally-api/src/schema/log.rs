//! Log access: the head, events (filtered by type, stream, seq range and time range) and
//! the events of one stream as Relay connections, one event by id, and the event node.

use super::args;
use super::connection::{self, Connection, Direction, PageArgs, Window};
use super::event_type::EventType;
use super::views::view_meta;
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult, log_error};
use crate::state::AppState;
use async_graphql::{Context, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::time::Timestamp;
use tally_log::{EventId, Log, RecordedEvent};

/// Milliseconds since the epoch as a UTC time (the epoch itself when out of range).
#[must_use]
pub fn time_of(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The last durable event.
#[derive(Debug, Clone, SimpleObject)]
pub struct Head {
    /// Its seq (0 for an empty log).
    pub seq: UnsignedInt64,
    /// Its chain hash, hex.
    pub hash: String,
    /// When it was recorded (the epoch for an empty log).
    pub recorded_at: Timestamp,
}

impl From<tally_log::Head> for Head {
    fn from(h: tally_log::Head) -> Self {
        Self {
            seq: UnsignedInt64(h.seq),
            hash: h.hash.to_hex(),
            recorded_at: Timestamp::from_millis(h.recorded_at_ms),
        }
    }
}

/// A stored event with its envelope.
#[derive(Debug, Clone)]
pub struct EventNode(pub RecordedEvent);

/// A stored event with its envelope: seq, chain hash, stream, type, actor, source, times
/// and its payload.
#[Object(name = "Event")]
impl EventNode {
    /// Global seq (from 1, gap-free).
    async fn seq(&self) -> UnsignedInt64 {
        UnsignedInt64(self.0.seq())
    }
    /// Entity stream: `kind:part[:part]`, e.g. `order:1001` or `inventory:WH1:SKU-A`, each
    /// part an id with `%` written `%25` and `:` written `%3A`.
    async fn stream(&self) -> &str {
        self.0.stream()
    }
    /// Version within the stream (from 1, gap-free).
    async fn stream_version(&self) -> UnsignedInt64 {
        UnsignedInt64(self.0.stream_version())
    }
    /// Its type (`ORDER_RECEIVED` is the stored name `order.received`).
    #[graphql(name = "type")]
    async fn event_type(&self) -> ApiResult<EventType> {
        event_type_of(&self.0)
    }
    /// Payload schema version (a small number, from 1).
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
    async fn occurred_at(&self) -> Timestamp {
        Timestamp::from_millis(self.0.occurred_at_ms())
    }
    /// Ledger time (non-decreasing along seq).
    async fn recorded_at(&self) -> Timestamp {
        Timestamp::from_millis(self.0.recorded_at_ms())
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

/// The type of a stored event; `INTERNAL` for a name the codec does not know (the log only
/// holds events the codec wrote).
pub fn event_type_of(recorded: &RecordedEvent) -> ApiResult<EventType> {
    EventType::parse(recorded.event_type()).ok_or_else(|| {
        ApiError::internal(
            "event type",
            &format!("seq {}: '{}'", recorded.seq(), recorded.event_type()),
        )
    })
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

/// Most event types one filter may name.
pub const TYPES_MAX: usize = 64;

/// Which events: every condition given must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct EventFilter {
    /// Only events of these types (at most 64; an unknown name is a validation error).
    pub types: Option<Vec<EventType>>,
    /// Only the events of this stream (its exact name, e.g. `order:W1001`).
    pub stream: Option<String>,
    /// Only events with seq ≥ this.
    pub from_seq: Option<UnsignedInt64>,
    /// Only events with seq ≤ this.
    pub to_seq: Option<UnsignedInt64>,
    /// Only events recorded at or after this time (ledger time).
    pub recorded_from: Option<Timestamp>,
    /// Only events recorded at or before this time (ledger time).
    pub recorded_to: Option<Timestamp>,
}

/// The last seq recorded at or before `at_ms` (0 when none): ledger time is non-decreasing
/// along seq, so a binary search.
pub fn last_seq_recorded_by(log: &Log, at_ms: i64) -> ApiResult<u64> {
    let (mut lo, mut hi) = (0_u64, log.head().seq);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let recorded = log
            .get(mid)
            .map_err(|e| log_error("events by time", &e))?
            .map_or(i64::MAX, |e| e.recorded_at_ms());
        if recorded <= at_ms {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// A checked [`EventFilter`]: a seq window and the optional type and stream conditions.
struct Selection {
    lo: u64,
    hi: u64,
    types: Option<Vec<EventType>>,
    stream: Option<String>,
}

impl Selection {
    fn new(log: &Log, filter: EventFilter) -> ApiResult<Self> {
        if let Some(types) = &filter.types
            && types.len() > TYPES_MAX
        {
            return Err(ApiError::invalid(format!(
                "filter.types has {} entries, more than {TYPES_MAX}",
                types.len()
            )));
        }
        if let Some(stream) = &filter.stream {
            args::stream("filter.stream", stream)?;
        }
        let mut lo = filter.from_seq.map_or(1, u64::from).max(1);
        let mut hi = filter.to_seq.map_or(u64::MAX, u64::from).min(log.head().seq);
        if let Some(from) = filter.recorded_from {
            let before = last_seq_recorded_by(log, from.millis().saturating_sub(1))?;
            lo = lo.max(before.saturating_add(1));
        }
        if let Some(to) = filter.recorded_to {
            hi = hi.min(last_seq_recorded_by(log, to.millis())?);
        }
        Ok(Self { lo, hi, types: filter.types, stream: filter.stream })
    }

    fn wants(&self, e: &RecordedEvent) -> bool {
        (self.lo..=self.hi).contains(&e.seq())
            && self.types.as_ref().is_none_or(|t| t.iter().any(|t| t.as_str() == e.event_type()))
    }

    /// The number of selected events when it is known without reading them.
    fn cheap_count(&self) -> Option<u64> {
        if self.types.is_some() || self.stream.is_some() {
            return None;
        }
        Some(if self.lo > self.hi { 0 } else { self.hi - self.lo + 1 })
    }
}

/// How many events a backward read takes from the log at a time.
const BACKWARD_CHUNK: u64 = 256;

fn read_range(log: &Log, from: u64, to: u64, out: &mut Vec<RecordedEvent>) -> ApiResult<()> {
    if from <= to {
        for e in log.read(from..=to) {
            out.push(e.map_err(|e| log_error("read events", &e))?);
        }
    }
    Ok(())
}

/// At most `n` selected events after / before `from` (exclusive), nearest first.
fn fetch_log(
    log: &Log,
    sel: &Selection,
    direction: Direction,
    from: Option<&u64>,
    n: usize,
) -> ApiResult<Vec<(u64, EventNode)>> {
    let mut out = Vec::with_capacity(n.min(1024));
    if n == 0 || sel.lo > sel.hi {
        return Ok(out);
    }
    match direction {
        Direction::Forward => {
            let start = from.map_or(sel.lo, |s| s.saturating_add(1)).max(sel.lo);
            if start > sel.hi {
                return Ok(out);
            }
            for e in log.read(start..=sel.hi) {
                let e = e.map_err(|e| log_error("read events", &e))?;
                if sel.wants(&e) {
                    out.push((e.seq(), EventNode(e)));
                    if out.len() == n {
                        break;
                    }
                }
            }
        }
        Direction::Backward => {
            let mut end = from.map_or(sel.hi, |s| s.saturating_sub(1)).min(sel.hi);
            while end >= sel.lo && end > 0 && out.len() < n {
                let start = end.saturating_sub(BACKWARD_CHUNK - 1).max(sel.lo);
                let mut chunk = Vec::new();
                read_range(log, start, end, &mut chunk)?;
                for e in chunk.into_iter().rev() {
                    if sel.wants(&e) && out.len() < n {
                        out.push((e.seq(), EventNode(e)));
                    }
                }
                end = start.saturating_sub(1);
            }
        }
    }
    Ok(out)
}

const EVENT_CURSOR: &str = "event";

/// A page of the events `filter` selects, in seq order.
fn events_page(
    state: &AppState,
    filter: EventFilter,
    page: &PageArgs,
) -> ApiResult<Connection<EventNode>> {
    let log = state.log();
    let window = Window::<u64>::new(state.config(), EVENT_CURSOR, page)?;
    let meta = view_meta(log, log.head().seq)?;
    let sel = Selection::new(log, filter)?;
    match &sel.stream {
        // A stream is one entity's events: read it whole (it is short), then page in memory.
        Some(stream) => {
            let mut all = Vec::new();
            for e in log.read_stream(stream, 1) {
                let e = e.map_err(|e| log_error("read stream", &e))?;
                if sel.wants(&e) {
                    all.push((e.seq(), EventNode(e)));
                }
            }
            connection::paginate_sorted(EVENT_CURSOR, &window, meta, all)
        }
        None => {
            connection::paginate(EVENT_CURSOR, &window, meta, sel.cheap_count(), |d, from, n| {
                fetch_log(log, &sel, d, from, n)
            })
        }
    }
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

    /// Events in seq order, those `filter` selects (default: the whole log), paged. A filter
    /// on types reads the log until it fills the page; `totalCount` is null then.
    #[graphql(
        guard = "FieldGuard(\"Query.events\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which events (every condition given must hold).")] filter: Option<
            EventFilter,
        >,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor of the event to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor of the event to end before.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<EventNode>> {
        let state = ctx.data_unchecked::<AppState>();
        let page = PageArgs::new(first, after, last, before);
        Ok(events_page(state, filter.unwrap_or_default(), &page)?)
    }

    /// The events of one stream in stream order, paged (the same as
    /// `events(filter: {stream})`).
    #[graphql(
        guard = "FieldGuard(\"Query.stream\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    async fn stream(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stream's exact name, e.g. `order:W1001`.")] stream: String,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor of the event to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor of the event to end before.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<EventNode>> {
        let state = ctx.data_unchecked::<AppState>();
        args::stream("stream", &stream)?;
        let filter = EventFilter { stream: Some(stream), ..EventFilter::default() };
        Ok(events_page(state, filter, &PageArgs::new(first, after, last, before))?)
    }

    /// The event with this id (32 hex digits), or null.
    #[graphql(guard = "FieldGuard(\"Query.event\")")]
    async fn event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event id: 32 hex digits.")] id: String,
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
