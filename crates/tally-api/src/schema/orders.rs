//! Order queries: one order, orders by filter and sort (a Relay connection), holds past
//! their SLA, and lines waiting for stock (the `orders` view). Orders, holds, lines and
//! backorders are the view's own structs (`OrderView` is GraphQL `Order`, …).

use super::args;
use super::connection::{self, Connection, PageArgs, Window};
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::ids::{ChannelId, OrderId, Sku};
use tally_domain::master::PriorityClass;
use tally_domain::order::{HoldReason, OrderStatus};
use tally_domain::time::Timestamp;
use tally_projections::orders::{self, BackorderRow, HoldException, OrderView, RaisedException};

const VIEW: &str = "orders";

/// Open orders in one workflow stage and channel.
#[derive(Debug, Clone, SimpleObject)]
pub struct StageCount {
    /// The stage.
    pub stage: orders::Stage,
    /// The channel.
    pub channel: ChannelId,
    /// Orders in it.
    pub orders: UnsignedInt64,
    /// Since when the longest-waiting of them is in it (business time).
    pub oldest_since: Timestamp,
    /// How long the longest-waiting has been in it at `now`, in seconds (0 if `now` is earlier).
    pub oldest_age_seconds: UnsignedInt64,
}

/// Orders per workflow stage.
#[derive(Debug, Clone, SimpleObject)]
pub struct WorkflowStages {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// Open orders per stage and channel, in stage order, then channel.
    pub stages: Vec<StageCount>,
}

/// Open orders in one stage, longest in it first.
#[derive(Debug, Clone, SimpleObject)]
pub struct OrdersInStage {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The orders (their `stageSince` says since when).
    pub orders: Vec<OrderView>,
}

/// The workflow rules in force.
#[derive(Debug, Clone, SimpleObject)]
pub struct WorkflowRules {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// One workflow per channel that has one.
    pub channels: Vec<tally_domain::workflow::ChannelWorkflow>,
}

/// One order, or null when the view does not know it.
#[derive(Debug, Clone, SimpleObject)]
pub struct OrderAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The order.
    pub order: Option<OrderView>,
}

/// Which orders: every condition given must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct OrderFilter {
    /// Only orders in one of these statuses (at most 6: the statuses).
    pub status: Option<Vec<OrderStatus>>,
    /// Only orders of this channel.
    pub channel: Option<String>,
    /// Only orders placed at or after this time.
    pub placed_from: Option<Timestamp>,
    /// Only orders placed at or before this time.
    pub placed_to: Option<Timestamp>,
    /// Only orders with an open hold for this reason.
    pub hold_reason: Option<HoldReason>,
    /// Only orders with a line of this SKU (ordered or substituted to).
    pub sku: Option<String>,
}

/// How orders are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
pub enum OrderSortKey {
    /// By order id (text order).
    #[default]
    OrderId,
    /// By the time the customer placed it, then by order id.
    PlacedAt,
}

/// A time as 20 digits that sort like the time.
fn sortable_time(ms: i64) -> String {
    format!("{:020}", ms.cast_unsigned() ^ (1 << 63))
}

/// The cursor key of `order` under `sort` (`reverse` flips the order of the time part).
fn order_key(order: &OrderView, sort: OrderSortKey, reverse: bool) -> Vec<String> {
    match sort {
        OrderSortKey::OrderId => vec![order.id.to_string()],
        OrderSortKey::PlacedAt => vec![sortable_time(order.placed_at_ms), order.id.to_string()],
    }
    .into_iter()
    .map(|part| if reverse { flip(&part) } else { part })
    .collect()
}

/// A key part whose text order is the reverse of `part`'s: each byte complemented, then an
/// end byte above every complement (so a prefix sorts after its extensions).
fn flip(part: &str) -> String {
    let mut out: String = part.bytes().map(|b| format!("{:02x}", 255 - b)).collect();
    out.push_str("zz");
    out
}

struct CheckedFilter {
    status: Option<Vec<OrderStatus>>,
    channel: Option<ChannelId>,
    placed_from: Option<i64>,
    placed_to: Option<i64>,
    hold_reason: Option<HoldReason>,
    sku: Option<Sku>,
}

impl CheckedFilter {
    fn new(filter: OrderFilter) -> ApiResult<Self> {
        if let Some(status) = &filter.status
            && status.len() > 6
        {
            return Err(ApiError::invalid("filter.status names more than the 6 statuses"));
        }
        let placed_from = filter.placed_from.map(Timestamp::millis);
        let placed_to = filter.placed_to.map(Timestamp::millis);
        if let (Some(from), Some(to)) = (placed_from, placed_to)
            && from > to
        {
            return Err(ApiError::invalid("filter.placedFrom is after filter.placedTo"));
        }
        Ok(Self {
            status: filter.status,
            channel: args::opt_id("filter.channel", filter.channel.as_deref())?,
            placed_from,
            placed_to,
            hold_reason: filter.hold_reason,
            sku: args::opt_id("filter.sku", filter.sku.as_deref())?,
        })
    }

    fn wants(&self, o: &OrderView) -> bool {
        self.status.as_ref().is_none_or(|s| s.contains(&o.status))
            && self.channel.as_ref().is_none_or(|c| *c == o.channel)
            && self.placed_from.is_none_or(|t| o.placed_at_ms >= t)
            && self.placed_to.is_none_or(|t| o.placed_at_ms <= t)
            && self.hold_reason.is_none_or(|r| o.open_hold().is_some_and(|h| h.reason == r))
            && self.sku.as_ref().is_none_or(|s| {
                o.lines.iter().any(|l| l.sku == *s || l.substituted_from.as_ref() == Some(s))
            })
    }
}

/// A cursor key of a backorder: class, placement, arrival, line (the fill order).
fn backorder_key(b: &BackorderRow, received_seq: u64) -> Vec<String> {
    let class = match b.class {
        PriorityClass::Contract => "0",
        PriorityClass::Standard => "1",
    };
    vec![
        class.to_owned(),
        sortable_time(b.placed_at_ms),
        format!("{received_seq:020}"),
        format!("{:010}", b.line),
    ]
}

/// Order queries.
#[derive(Debug, Default)]
pub struct OrdersQuery;

#[Object]
impl OrdersQuery {
    /// One order by its ledger id.
    #[graphql(guard = "FieldGuard(\"Query.order\")")]
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's ledger id (`W1001`).")] id: String,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<OrderAnswer> {
        args::id::<OrderId>("id", &id)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let order = orders::order(&view.reader, &id).map_err(|e| view_error(VIEW, &e))?;
        Ok(OrderAnswer { meta: view.meta, order })
    }

    /// Orders that `filter` selects, sorted by `sortKey` (`reverse` for descending), paged.
    #[graphql(
        guard = "FieldGuard(\"Query.orders\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which orders (every condition given must hold; default: all).")]
        filter: Option<OrderFilter>,
        #[graphql(desc = "What to sort by (default: order id).", default)] sort_key: OrderSortKey,
        #[graphql(desc = "Sort descending instead of ascending.", default)] reverse: bool,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<Connection<OrderView>> {
        let state = ctx.data_unchecked::<AppState>();
        let page = PageArgs::new(first, after, last, before);
        // The cursor names the sort, so a cursor of another sort is refused.
        let kind = format!("order-{sort_key:?}-{reverse}");
        let window = Window::<Vec<String>>::new(state.config(), &kind, &page)?;
        let filter = CheckedFilter::new(filter.unwrap_or_default())?;
        let view = read_view(state, VIEW, as_of).await?;
        let candidates = match &filter.status {
            Some(statuses) => {
                let mut all = Vec::new();
                let mut seen = Vec::new();
                for status in statuses {
                    if seen.contains(status) {
                        continue;
                    }
                    seen.push(*status);
                    let page = orders::orders_by_status(&view.reader, *status, None, usize::MAX)
                        .map_err(|e| view_error(VIEW, &e))?;
                    all.extend(page.items);
                }
                all
            }
            None => orders::all(&view.reader).map_err(|e| view_error(VIEW, &e))?,
        };
        let items: Vec<(Vec<String>, OrderView)> = candidates
            .into_iter()
            .filter(|o| filter.wants(o))
            .map(|o| (order_key(&o, sort_key, reverse), o))
            .collect();
        Ok(connection::paginate_sorted(&kind, &window, view.meta, items)?)
    }

    /// Open orders per workflow stage (received, held, validated, backordered, allocated,
    /// picked, packed) and channel, with the age of the longest-waiting.
    #[graphql(guard = "FieldGuard(\"Query.workflowStages\")")]
    async fn workflow_stages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this channel.")] channel: Option<String>,
        #[graphql(desc = "The time ages are measured to (default: the server clock).")] now: Option<
            Timestamp,
        >,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<WorkflowStages> {
        let channel = channel.map(|c| args::id::<ChannelId>("channel", &c)).transpose()?;
        let now_ms = now.map_or_else(|| chrono::Utc::now().timestamp_millis(), Timestamp::millis);
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let counts = orders::stage_counts(&view.reader, channel.as_ref())
            .map_err(|e| view_error(VIEW, &e))?;
        let stages = counts
            .into_iter()
            .map(|c| StageCount {
                stage: c.stage,
                channel: c.channel,
                orders: UnsignedInt64(c.orders),
                oldest_since: Timestamp::from_millis(c.oldest_since_ms),
                oldest_age_seconds: UnsignedInt64(
                    u64::try_from(now_ms.saturating_sub(c.oldest_since_ms) / 1_000).unwrap_or(0),
                ),
            })
            .collect();
        Ok(WorkflowStages { meta: view.meta, stages })
    }

    /// Open orders in one workflow stage, longest in it first (at most `first`, default 50,
    /// at most the page size limit).
    #[graphql(guard = "FieldGuard(\"Query.ordersInStage\")")]
    async fn orders_in_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stage.")] stage: orders::Stage,
        #[graphql(desc = "Only this channel.")] channel: Option<String>,
        #[graphql(desc = "How many (default 50, at most the page size limit).")] first: Option<i32>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<OrdersInStage> {
        let state = ctx.data_unchecked::<AppState>();
        let channel = channel.map(|c| args::id::<ChannelId>("channel", &c)).transpose()?;
        let limit = connection::size(state.config(), "first", first.unwrap_or(50))?;
        let view = read_view(state, VIEW, as_of).await?;
        let orders = orders::orders_in_stage(&view.reader, stage, channel.as_ref(), limit)
            .map_err(|e| view_error(VIEW, &e))?;
        Ok(OrdersInStage { meta: view.meta, orders })
    }

    /// The workflow rules in force, per channel (`configureWorkflow`, or the store's
    /// `workflow.toml` at start and on SIGHUP).
    #[graphql(guard = "FieldGuard(\"Query.workflowRules\")")]
    async fn workflow_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<WorkflowRules> {
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let channels = orders::workflow_rules(&view.reader).map_err(|e| view_error(VIEW, &e))?;
        Ok(WorkflowRules { meta: view.meta, channels })
    }

    /// Open holds past their SLA due time at `now` (default: the server clock), most overdue
    /// first, paged.
    #[graphql(
        guard = "FieldGuard(\"Query.exceptions\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn exceptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The time SLAs are judged against (default: the server clock).")]
        now: Option<Timestamp>,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<Connection<HoldException>> {
        let state = ctx.data_unchecked::<AppState>();
        let window = Window::<Vec<String>>::new(
            state.config(),
            "exception",
            &PageArgs::new(first, after, last, before),
        )?;
        let now_ms = now.map_or_else(|| chrono::Utc::now().timestamp_millis(), Timestamp::millis);
        let view = read_view(state, VIEW, as_of).await?;
        let all = orders::exceptions(&view.reader, now_ms).map_err(|e| view_error(VIEW, &e))?;
        let items = all
            .into_iter()
            .map(|e| (vec![sortable_time(e.hold.due_at_ms), e.order.to_string()], e))
            .collect();
        Ok(connection::paginate_sorted("exception", &window, view.meta, items)?)
    }

    /// Exceptions decisions raised for a person to look at (a short pick's count task, a return
    /// of a lot that was not shipped, a payout above clearing, a deposit that differs from its
    /// settlement, a hold past its SLA), in log order, paged; with who acknowledged each and how
    /// it left the queue. `open: true` lists only those still in the queue.
    #[graphql(
        guard = "FieldGuard(\"Query.raisedExceptions\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn raised_exceptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Only exceptions still in the queue (default: every one).")] open: Option<
            bool,
        >,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<Connection<RaisedException>> {
        let state = ctx.data_unchecked::<AppState>();
        let window = Window::<u64>::new(
            state.config(),
            "raised-exception",
            &PageArgs::new(first, after, last, before),
        )?;
        let view = read_view(state, VIEW, as_of).await?;
        let all = orders::raised_exceptions(&view.reader, open.unwrap_or(false))
            .map_err(|e| view_error(VIEW, &e))?;
        let items = all.into_iter().map(|e| (e.seq, e)).collect();
        Ok(connection::paginate_sorted("raised-exception", &window, view.meta, items)?)
    }

    /// Lines waiting for stock in the order stock will fill them (contract first, then
    /// oldest placement, then arrival), aged to `now` (default: the server clock), paged.
    #[graphql(
        guard = "FieldGuard(\"Query.backorders\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn backorders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The time ages are measured to (default: the server clock).")] now: Option<
            Timestamp,
        >,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<Connection<BackorderRow>> {
        let state = ctx.data_unchecked::<AppState>();
        let window = Window::<Vec<String>>::new(
            state.config(),
            "backorder",
            &PageArgs::new(first, after, last, before),
        )?;
        let now_ms = now.map_or_else(|| chrono::Utc::now().timestamp_millis(), Timestamp::millis);
        let view = read_view(state, VIEW, as_of).await?;
        let all = orders::backorders(&view.reader, now_ms).map_err(|e| view_error(VIEW, &e))?;
        let mut items = Vec::with_capacity(all.len());
        for b in all {
            let received_seq = orders::order(&view.reader, b.order.as_str())
                .map_err(|e| view_error(VIEW, &e))?
                .map_or(0, |o| o.received_seq);
            items.push((backorder_key(&b, received_seq), b));
        }
        Ok(connection::paginate_sorted("backorder", &window, view.meta, items)?)
    }
}
