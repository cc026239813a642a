//! Order queries: one order, orders by status (Relay connection, cursor = order id), holds
//! past their SLA, and lines waiting for stock (the `orders` view).

use super::args;
use super::cursor::{self, PageInfo};
use super::values::{name_of, time_of};
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::state::AppState;
use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tally_domain::ids::OrderId;
use tally_projections::orders::{self, BackorderRow, HoldException, HoldView, LineView, OrderView};

const VIEW: &str = "orders";
const ORDER_CURSOR: &str = "order";

/// Where an order is in its lifecycle (holds are separate: see `Order.openHold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum OrderStatus {
    /// Received, not yet validated.
    Received,
    /// Validated, ready to allocate.
    Validated,
    /// Allocated (possibly split or partly backordered), in fulfilment.
    Fulfilling,
    /// Every unit shipped.
    Shipped,
    /// Delivered.
    Delivered,
    /// Cancelled.
    Cancelled,
}

impl From<OrderStatus> for tally_domain::order::OrderStatus {
    fn from(s: OrderStatus) -> Self {
        use tally_domain::order::OrderStatus as D;
        match s {
            OrderStatus::Received => D::Received,
            OrderStatus::Validated => D::Validated,
            OrderStatus::Fulfilling => D::Fulfilling,
            OrderStatus::Shipped => D::Shipped,
            OrderStatus::Delivered => D::Delivered,
            OrderStatus::Cancelled => D::Cancelled,
        }
    }
}

impl From<tally_domain::order::OrderStatus> for OrderStatus {
    fn from(s: tally_domain::order::OrderStatus) -> Self {
        use tally_domain::order::OrderStatus as D;
        match s {
            D::Received => OrderStatus::Received,
            D::Validated => OrderStatus::Validated,
            D::Fulfilling => OrderStatus::Fulfilling,
            D::Shipped => OrderStatus::Shipped,
            D::Delivered => OrderStatus::Delivered,
            D::Cancelled => OrderStatus::Cancelled,
        }
    }
}

/// A hold, open or released.
#[derive(Debug, Clone, SimpleObject)]
pub struct Hold {
    /// Why (`fraud`, `payment`, `address`, `credit`, `manual`).
    pub reason: String,
    /// Free text.
    pub note: String,
    /// When it was put on (business time).
    pub held_at: DateTime<Utc>,
    /// SLA due time.
    pub due_at: DateTime<Utc>,
    /// When it was released; null while open.
    pub released_at: Option<DateTime<Utc>>,
}

impl From<&HoldView> for Hold {
    fn from(h: &HoldView) -> Self {
        Self {
            reason: name_of(&h.reason),
            note: h.note.clone(),
            held_at: time_of(h.held_at_ms),
            due_at: time_of(h.due_at_ms),
            released_at: h.released_at_ms.map(time_of),
        }
    }
}

/// Unshipped units of a line at one location and lot.
#[derive(Debug, Clone, SimpleObject)]
pub struct LineReservation {
    /// Where.
    pub location: String,
    /// Which lot.
    pub lot: Option<String>,
    /// Reserved, not picked.
    pub reserved: u64,
    /// Picked, not packed.
    pub picked: u64,
    /// Packed, not shipped.
    pub packed: u64,
}

/// One order line.
#[derive(Debug, Clone, SimpleObject)]
pub struct OrderLine {
    /// Its index in the order.
    pub line: u32,
    /// The SKU (after substitution).
    pub sku: String,
    /// The SKU ordered, when substituted.
    pub substituted_from: Option<String>,
    /// Units ordered.
    pub ordered: u64,
    /// Units allocated (net of released reservations).
    pub allocated: u64,
    /// Units waiting for stock.
    pub backordered: u64,
    /// Since when the line waits, while it does.
    pub backordered_since: Option<DateTime<Utc>>,
    /// Units picked, cumulative.
    pub picked: u64,
    /// Units packed, cumulative.
    pub packed: u64,
    /// Units shipped, cumulative.
    pub shipped: u64,
    /// Units cancelled.
    pub cancelled: u64,
    /// Where its unshipped units are.
    pub reservations: Vec<LineReservation>,
}

fn line(index: u32, l: &LineView) -> OrderLine {
    OrderLine {
        line: index,
        sku: l.sku.to_string(),
        substituted_from: l.substituted_from.as_ref().map(ToString::to_string),
        ordered: l.ordered,
        allocated: l.allocated,
        backordered: l.backordered,
        backordered_since: l.backordered_since_ms.map(time_of),
        picked: l.picked,
        packed: l.packed,
        shipped: l.shipped,
        cancelled: l.cancelled,
        reservations: l
            .reservations
            .iter()
            .map(|r| LineReservation {
                location: r.location.to_string(),
                lot: r.lot.as_ref().map(ToString::to_string),
                reserved: r.reserved,
                picked: r.picked,
                packed: r.packed,
            })
            .collect(),
    }
}

/// One order as the `orders` view knows it.
#[derive(Debug, Clone, SimpleObject)]
pub struct Order {
    /// Its id.
    pub id: String,
    /// The channel.
    pub channel: String,
    /// The channel's priority class at receipt (`contract` or `standard`).
    pub priority_class: String,
    /// Status.
    pub status: OrderStatus,
    /// When the customer placed it.
    pub placed_at: DateTime<Utc>,
    /// When the ledger received it (business time).
    pub received_at: DateTime<Utc>,
    /// Seq of `order.received`.
    pub received_seq: u64,
    /// When it was released to fulfilment.
    pub released_at: Option<DateTime<Utc>>,
    /// The open hold, if any.
    pub open_hold: Option<Hold>,
    /// Every hold, oldest first.
    pub holds: Vec<Hold>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// Its lines.
    pub lines: Vec<OrderLine>,
}

impl From<&OrderView> for Order {
    fn from(o: &OrderView) -> Self {
        Self {
            id: o.id.to_string(),
            channel: o.channel.to_string(),
            priority_class: name_of(&o.class),
            status: o.status.into(),
            placed_at: time_of(o.placed_at_ms),
            received_at: time_of(o.received_at_ms),
            received_seq: o.received_seq,
            released_at: o.released_at_ms.map(time_of),
            open_hold: o.open_hold().map(Hold::from),
            holds: o.holds.iter().map(Hold::from).collect(),
            cancel_reason: o.cancel_reason.as_ref().map(name_of),
            lines: o.lines.iter().zip(0_u32..).map(|(l, i)| line(i, l)).collect(),
        }
    }
}

/// One order, or null when the view does not know it.
#[derive(Debug, Clone, SimpleObject)]
pub struct OrderAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The order.
    pub order: Option<Order>,
}

/// An order in a page.
#[derive(Debug, Clone, SimpleObject)]
pub struct OrderEdge {
    /// Opaque cursor (the order id).
    pub cursor: String,
    /// The order.
    pub node: Order,
}

/// A page of orders, by order id.
#[derive(Debug, Clone, SimpleObject)]
pub struct OrderConnection {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The orders of this page.
    pub edges: Vec<OrderEdge>,
    /// Where the page stands.
    pub page_info: PageInfo,
}

/// An open hold past its SLA due time.
#[derive(Debug, Clone, SimpleObject)]
pub struct HoldExceptionNode {
    /// The order.
    pub order: String,
    /// The hold.
    pub hold: Hold,
    /// now − due, ms.
    pub overdue_ms: i64,
}

impl From<&HoldException> for HoldExceptionNode {
    fn from(e: &HoldException) -> Self {
        Self { order: e.order.to_string(), hold: (&e.hold).into(), overdue_ms: e.overdue_ms }
    }
}

/// Holds past their SLA, most overdue first.
#[derive(Debug, Clone, SimpleObject)]
pub struct ExceptionsAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The time the SLAs were judged against.
    pub now: DateTime<Utc>,
    /// How many there are.
    pub total: u64,
    /// The first ones (at most the page size limit).
    pub holds: Vec<HoldExceptionNode>,
}

/// A line waiting for stock.
#[derive(Debug, Clone, SimpleObject)]
pub struct Backorder {
    /// The order.
    pub order: String,
    /// The line.
    pub line: u32,
    /// The SKU.
    pub sku: String,
    /// Units waiting.
    pub qty: u64,
    /// The channel.
    pub channel: String,
    /// Its priority class.
    pub priority_class: String,
    /// When the order was placed.
    pub placed_at: DateTime<Utc>,
    /// Since when the line waits.
    pub since: DateTime<Utc>,
    /// now − since, ms.
    pub age_ms: i64,
}

impl From<&BackorderRow> for Backorder {
    fn from(b: &BackorderRow) -> Self {
        Self {
            order: b.order.to_string(),
            line: b.line,
            sku: b.sku.to_string(),
            qty: b.qty,
            channel: b.channel.to_string(),
            priority_class: name_of(&b.class),
            placed_at: time_of(b.placed_at_ms),
            since: time_of(b.since_ms),
            age_ms: b.age_ms,
        }
    }
}

/// Lines waiting for stock in the order stock will fill them.
#[derive(Debug, Clone, SimpleObject)]
pub struct BackordersAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The time ages are measured to.
    pub now: DateTime<Utc>,
    /// How many there are.
    pub total: u64,
    /// The first ones (at most the page size limit).
    pub lines: Vec<Backorder>,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Order queries.
#[derive(Debug, Default)]
pub struct OrdersQuery;

#[Object]
impl OrdersQuery {
    /// One order by id.
    #[graphql(guard = "FieldGuard(\"Query.order\")")]
    async fn order(
        &self,
        ctx: &Context<'_>,
        id: String,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<OrderAnswer> {
        args::id::<OrderId>("id", &id)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let order = orders::order(&view.reader, &id).map_err(|e| view_error(VIEW, &e))?;
        Ok(OrderAnswer { meta: view.meta, order: order.as_ref().map(Order::from) })
    }

    /// Orders in `status`, by order id: `first` of them after the cursor `after`.
    #[graphql(
        guard = "FieldGuard(\"Query.orders\")",
        complexity = "first.map_or(50, |n| usize::try_from(n).unwrap_or(0)).saturating_mul(child_complexity).saturating_add(1)"
    )]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        status: OrderStatus,
        first: Option<i32>,
        after: Option<String>,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<OrderConnection> {
        let state = ctx.data_unchecked::<AppState>();
        let limit = cursor::page_size(state.config(), first)?;
        args::cursor("after", after.as_deref())?;
        let after = after.map(|c| cursor::decode_text(ORDER_CURSOR, &c)).transpose()?;
        let after: Option<OrderId> = args::opt_id("after", after.as_deref())?;
        let after = after.map(String::from);
        let view = read_view(state, VIEW, as_of).await?;
        let page = orders::orders_by_status(&view.reader, status.into(), after.as_deref(), limit)
            .map_err(|e| view_error(VIEW, &e))?;
        let edges: Vec<OrderEdge> = page
            .items
            .iter()
            .map(|o| OrderEdge {
                cursor: cursor::encode_text(ORDER_CURSOR, o.id.as_str()),
                node: o.into(),
            })
            .collect();
        let page_info = PageInfo {
            has_next_page: page.next.is_some(),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Ok(OrderConnection { meta: view.meta, edges, page_info })
    }

    /// Open holds past their SLA due time at `now` (default: the server clock).
    #[graphql(guard = "FieldGuard(\"Query.exceptions\")")]
    async fn exceptions(
        &self,
        ctx: &Context<'_>,
        now: Option<DateTime<Utc>>,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<ExceptionsAnswer> {
        let state = ctx.data_unchecked::<AppState>();
        let now = now.unwrap_or_else(Utc::now);
        let view = read_view(state, VIEW, as_of).await?;
        let all = orders::exceptions(&view.reader, now.timestamp_millis())
            .map_err(|e| view_error(VIEW, &e))?;
        let holds = all.iter().take(state.config().page_size_max).map(Into::into).collect();
        Ok(ExceptionsAnswer { meta: view.meta, now, total: count(all.len()), holds })
    }

    /// Lines waiting for stock (contract first, then oldest placement, then arrival), aged
    /// to `now` (default: the server clock).
    #[graphql(guard = "FieldGuard(\"Query.backorders\")")]
    async fn backorders(
        &self,
        ctx: &Context<'_>,
        now: Option<DateTime<Utc>>,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<BackordersAnswer> {
        let state = ctx.data_unchecked::<AppState>();
        let now = now.unwrap_or_else(Utc::now);
        let view = read_view(state, VIEW, as_of).await?;
        let all = orders::backorders(&view.reader, now.timestamp_millis())
            .map_err(|e| view_error(VIEW, &e))?;
        let lines = all.iter().take(state.config().page_size_max).map(Into::into).collect();
        Ok(BackordersAnswer { meta: view.meta, now, total: count(all.len()), lines })
    }
}
