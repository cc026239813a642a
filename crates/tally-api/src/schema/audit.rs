//! The audit trail of an entity (Relay connection, cursor = seq; the `audit` view) and the
//! trace of a lot (the `lots` view).

use super::args;
use super::connection::{self, Connection, Direction, PageArgs, Window};
use super::event_type::EventType;
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::ids::{LocationId, LotId, OrderId, PayoutId, ReturnId, SettlementId, Sku};
use tally_domain::time::{Date, Timestamp};
use tally_projections::audit::{self, AuditRecord, Entity};
use tally_projections::inventory::StockRow;
use tally_projections::lots;

const AUDIT_VIEW: &str = "audit";
const LOTS_VIEW: &str = "lots";
const SEQ_CURSOR: &str = "audit-seq";

/// Kind of entity with a trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum EntityKind {
    /// An order (`id`).
    Order,
    /// A SKU at a location, all lots (`location` and `sku`).
    Stock,
    /// A customer return (`id`).
    Return,
    /// A marketplace settlement (`id`).
    Settlement,
    /// A processor payout (`id`).
    Payout,
    /// A lot of a SKU (`sku` and `lot`).
    Lot,
}

/// Which entity: `kind` with `id`, or `location` + `sku` (STOCK), or `sku` + `lot` (LOT).
#[derive(Debug, Clone, InputObject)]
pub struct EntityInput {
    /// The kind.
    pub kind: EntityKind,
    /// Id of an order, return, settlement or payout.
    pub id: Option<String>,
    /// Location of a STOCK entity.
    pub location: Option<String>,
    /// SKU of a STOCK or LOT entity.
    pub sku: Option<String>,
    /// Lot of a LOT entity.
    pub lot: Option<String>,
}

fn required(value: Option<String>, field: &str, kind: EntityKind) -> ApiResult<String> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| {
        ApiError::invalid(format!("entity of kind {kind:?} needs '{field}'").to_lowercase())
    })
}

impl EntityInput {
    fn entity(self) -> ApiResult<Entity> {
        let kind = self.kind;
        // Every field given is checked, also one the kind does not use.
        match kind {
            EntityKind::Order => args::opt_id::<OrderId>("entity.id", self.id.as_deref()).map(drop),
            EntityKind::Return => {
                args::opt_id::<ReturnId>("entity.id", self.id.as_deref()).map(drop)
            }
            EntityKind::Settlement => {
                args::opt_id::<SettlementId>("entity.id", self.id.as_deref()).map(drop)
            }
            _ => args::opt_id::<PayoutId>("entity.id", self.id.as_deref()).map(drop),
        }?;
        args::opt_id::<LocationId>("entity.location", self.location.as_deref())?;
        args::opt_id::<Sku>("entity.sku", self.sku.as_deref())?;
        args::opt_id::<LotId>("entity.lot", self.lot.as_deref())?;
        Ok(match kind {
            EntityKind::Order => Entity::Order(required(self.id, "id", kind)?),
            EntityKind::Return => Entity::Return(required(self.id, "id", kind)?),
            EntityKind::Settlement => Entity::Settlement(required(self.id, "id", kind)?),
            EntityKind::Payout => Entity::Payout(required(self.id, "id", kind)?),
            EntityKind::Stock => Entity::Stock {
                location: required(self.location, "location", kind)?,
                sku: required(self.sku, "sku", kind)?,
            },
            EntityKind::Lot => Entity::Lot {
                sku: required(self.sku, "sku", kind)?,
                lot: required(self.lot, "lot", kind)?,
            },
        })
    }
}

/// One event of a trail. (A copy of the view's `AuditRecord`: its type is the API's
/// `EventType` enum, which the projections crate does not know.)
#[derive(Debug, Clone, SimpleObject)]
pub struct AuditEntry {
    /// Its seq.
    pub seq: UnsignedInt64,
    /// Its chain hash (64 hex digits), as `event(…).hash` gives it.
    pub hash: String,
    /// Event type.
    #[graphql(name = "type")]
    pub event_type: EventType,
    /// Its stream.
    pub stream: String,
    /// Who.
    pub actor: String,
    /// From where.
    pub source: String,
    /// Ledger time.
    pub recorded_at: Timestamp,
    /// Business time.
    pub occurred_at: Timestamp,
}

impl TryFrom<AuditRecord> for AuditEntry {
    type Error = ApiError;

    fn try_from(r: AuditRecord) -> ApiResult<Self> {
        let event_type = EventType::parse(&r.event_type).ok_or_else(|| {
            ApiError::internal("audit trail", &format!("seq {}: type '{}'", r.seq, r.event_type))
        })?;
        Ok(Self {
            seq: UnsignedInt64(r.seq),
            hash: r.hash,
            event_type,
            stream: r.stream,
            actor: r.actor,
            source: r.source,
            recorded_at: Timestamp::from_millis(r.recorded_at_ms),
            occurred_at: Timestamp::from_millis(r.occurred_at_ms),
        })
    }
}

/// A receipt of units of a lot.
#[derive(Debug, Clone, SimpleObject)]
pub struct LotReceipt {
    /// Where.
    pub location: String,
    /// Units (at most 10⁹, the quantity bound).
    pub qty: u64,
    /// Expiry recorded on receipt.
    pub expiry: Option<Date>,
    /// Business time.
    pub at: Timestamp,
    /// Seq of the event.
    pub seq: UnsignedInt64,
}

/// Units of a lot shipped to a customer.
#[derive(Debug, Clone, SimpleObject)]
pub struct LotShipment {
    /// The customer order.
    pub order: String,
    /// Its line.
    pub line: u32,
    /// From where.
    pub location: String,
    /// Units (at most 10⁹, the quantity bound).
    pub qty: u64,
    /// Serial numbers recorded on the shipment (at most 10 000).
    pub serials: Vec<String>,
    /// Carrier tracking number.
    pub tracking: String,
    /// Business time.
    pub at: Timestamp,
    /// Seq of the event.
    pub seq: UnsignedInt64,
}

/// Units of a lot a customer order received.
#[derive(Debug, Clone, SimpleObject)]
pub struct LotOrder {
    /// The order.
    pub order: String,
    /// Units shipped to it.
    pub units: UnsignedInt64,
}

/// Everything known about a lot (docs/domain.md §3).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Lot", complex)]
pub struct LotTrace {
    /// The SKU.
    pub sku: String,
    /// The lot.
    pub lot: String,
    /// Global id (`gid://tally/Lot/{sku}/{lot}`), for `node(id:)`.
    #[graphql(name = "id", owned)]
    pub global_id: async_graphql::ID,
    /// Expiry, from its first receipt.
    pub expiry: Option<Date>,
    /// When it was recalled (business time), if it was.
    pub recalled_at: Option<Timestamp>,
    /// Seq of the recall.
    pub recalled_seq: Option<UnsignedInt64>,
    /// Receipts in seq order (every one; a lot is received a few times).
    pub receipts: Vec<LotReceipt>,
    /// Where its units are now, by location (one row per location holding it).
    pub locations: Vec<StockRow>,
    /// Every shipment, in seq order (paged by `shipments`).
    #[graphql(skip)]
    pub shipment_list: Vec<LotShipment>,
    /// Every customer order that received it, by order id (paged by `orders`).
    #[graphql(skip)]
    pub order_list: Vec<LotOrder>,
    /// What the view answer reflects (the `meta` of the nested connections).
    #[graphql(skip)]
    pub meta: ViewMeta,
}

#[async_graphql::ComplexObject]
impl LotTrace {
    /// Shipments of the lot in seq order, paged: a lot can go to thousands of orders.
    #[graphql(complexity = "connection::complexity(first, last, child_complexity)")]
    async fn shipments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start or after `after` (default 50, at most the \
                          page size limit).")]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end or before `before` (at most the page size \
                          limit).")]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<LotShipment>> {
        let config = ctx.data_unchecked::<AppState>().config();
        let window: Window<u64> =
            Window::new(config, "lot-shipment", &PageArgs::new(first, after, last, before))?;
        // Shipments only ever append, in seq order: a position is a stable cursor.
        let items = (0u64..).zip(self.shipment_list.iter().cloned()).collect();
        Ok(connection::paginate_sorted("lot-shipment", &window, self.meta.clone(), items)?)
    }

    /// Customer orders that received the lot, by order id, paged.
    #[graphql(complexity = "connection::complexity(first, last, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start or after `after` (default 50, at most the \
                          page size limit).")]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end or before `before` (at most the page size \
                          limit).")]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
    ) -> async_graphql::Result<Connection<LotOrder>> {
        let config = ctx.data_unchecked::<AppState>().config();
        let window: Window<String> =
            Window::new(config, "lot-order", &PageArgs::new(first, after, last, before))?;
        let items = self.order_list.iter().map(|o| (o.order.clone(), o.clone())).collect();
        Ok(connection::paginate_sorted("lot-order", &window, self.meta.clone(), items)?)
    }
}

/// A lot's trace, or null when the lot was never seen.
#[derive(Debug, Clone, SimpleObject)]
pub struct LotTraceAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The trace.
    pub trace: Option<LotTrace>,
}

/// The trace of `lot` of `sku` as its GraphQL shape.
pub(crate) fn trace(sku: &str, lot: &str, t: lots::LotTrace, meta: ViewMeta) -> LotTrace {
    LotTrace {
        meta,
        global_id: tally_projections::graphql::global_id("Lot", &[sku, lot]),
        sku: sku.to_owned(),
        lot: lot.to_owned(),
        expiry: t.info.expiry,
        recalled_at: t.info.recalled_at_ms.map(Timestamp::from_millis),
        recalled_seq: t.info.recalled_seq.map(UnsignedInt64),
        receipts: t
            .receipts
            .into_iter()
            .map(|r| LotReceipt {
                location: r.location.to_string(),
                qty: r.qty,
                expiry: r.expiry,
                at: Timestamp::from_millis(r.at_ms),
                seq: UnsignedInt64(r.seq),
            })
            .collect(),
        locations: t
            .locations
            .into_iter()
            .map(|l| {
                let on_hand = l.on_hand;
                StockRow {
                    location: l.location,
                    sku: sku.to_owned(),
                    lot: Some(lot.to_owned()),
                    stock: l.stock,
                    on_hand,
                    // The lots view keeps no reorder points (see `StockStates.reorderPoint`).
                    reorder_point: None,
                    below_reorder_point: false,
                }
            })
            .collect(),
        shipment_list: t
            .shipments
            .into_iter()
            .map(|s| LotShipment {
                order: s.order.to_string(),
                line: s.line,
                location: s.location.to_string(),
                qty: s.qty,
                serials: s.serials,
                tracking: s.tracking,
                at: Timestamp::from_millis(s.at_ms),
                seq: UnsignedInt64(s.seq),
            })
            .collect(),
        order_list: t
            .orders
            .into_iter()
            .map(|(order, units)| LotOrder {
                order: order.to_string(),
                units: UnsignedInt64(units),
            })
            .collect(),
    }
}

/// Audit trail and lot trace queries.
#[derive(Debug, Default)]
pub struct AuditTrailQuery;

#[Object]
impl AuditTrailQuery {
    /// The events that touched `entity`, in seq order, paged.
    #[graphql(
        guard = "FieldGuard(\"Query.auditTrail\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose trail.")] entity: EntityInput,
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
    ) -> async_graphql::Result<Connection<AuditEntry>> {
        let state = ctx.data_unchecked::<AppState>();
        let window = Window::<u64>::new(
            state.config(),
            SEQ_CURSOR,
            &PageArgs::new(first, after, last, before),
        )?;
        let entity = entity.entity()?;
        let view = read_view(state, AUDIT_VIEW, as_of).await?;
        let reader = &view.reader;
        let fetch = |direction: Direction,
                     from: Option<&u64>,
                     n: usize|
         -> ApiResult<Vec<(u64, AuditEntry)>> {
            let records = match direction {
                // Forward reads O(n) entries from the cursor.
                Direction::Forward => {
                    audit::trail(reader, &entity, from.copied().unwrap_or(0), n)
                        .map_err(|e| view_error(AUDIT_VIEW, &e))?
                        .items
                }
                // Backward reads the trail up to the cursor (trails are per entity).
                Direction::Backward => {
                    let mut all = audit::trail(reader, &entity, 0, usize::MAX)
                        .map_err(|e| view_error(AUDIT_VIEW, &e))?
                        .items;
                    all.retain(|r| from.is_none_or(|f| r.seq < *f));
                    all.into_iter().rev().take(n).collect()
                }
            };
            records.into_iter().map(|r| Ok((r.seq, AuditEntry::try_from(r)?))).collect()
        };
        Ok(connection::paginate(SEQ_CURSOR, &window, view.meta, None, fetch)?)
    }

    /// The trace of `lot` of `sku`: receipts, where its units are, shipments, the orders
    /// that received it, and its recall status.
    #[graphql(guard = "FieldGuard(\"Query.lotTrace\")")]
    async fn lot_trace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lot-tracked SKU.")] sku: String,
        #[graphql(desc = "The lot.")] lot: String,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<LotTraceAnswer> {
        args::id::<Sku>("sku", &sku)?;
        args::id::<LotId>("lot", &lot)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), LOTS_VIEW, as_of).await?;
        let found = lots::trace(&view.reader, &sku, &lot).map_err(|e| view_error(LOTS_VIEW, &e))?;
        let trace = found.map(|t| trace(&sku, &lot, t, view.meta.clone()));
        Ok(LotTraceAnswer { meta: view.meta, trace })
    }
}
