//! The audit trail of an entity (Relay connection, cursor = seq; the `audit` view) and the
//! trace of a lot (the `lots` view).

use super::args;
use super::cursor::{self, PageInfo};
use super::values::time_of;
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tally_domain::ids::{LocationId, LotId, OrderId, PayoutId, ReturnId, SettlementId, Sku};
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

/// One event of a trail.
#[derive(Debug, Clone, SimpleObject)]
pub struct AuditEntry {
    /// Its seq.
    pub seq: u64,
    /// Its chain hash (64 hex digits), as `event(…).hash` gives it.
    pub hash: String,
    /// Event type.
    #[graphql(name = "type")]
    pub event_type: String,
    /// Its stream.
    pub stream: String,
    /// Who.
    pub actor: String,
    /// From where.
    pub source: String,
    /// Ledger time.
    pub recorded_at: DateTime<Utc>,
    /// Business time.
    pub occurred_at: DateTime<Utc>,
}

impl From<AuditRecord> for AuditEntry {
    fn from(r: AuditRecord) -> Self {
        Self {
            seq: r.seq,
            hash: r.hash,
            event_type: r.event_type,
            stream: r.stream,
            actor: r.actor,
            source: r.source,
            recorded_at: time_of(r.recorded_at_ms),
            occurred_at: time_of(r.occurred_at_ms),
        }
    }
}

/// An event in a trail page.
#[derive(Debug, Clone, SimpleObject)]
pub struct AuditEdge {
    /// Opaque cursor (the seq).
    pub cursor: String,
    /// The event.
    pub node: AuditEntry,
}

/// A page of an entity's trail, in seq order.
#[derive(Debug, Clone, SimpleObject)]
pub struct AuditConnection {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The events of this page.
    pub edges: Vec<AuditEdge>,
    /// Where the page stands.
    pub page_info: PageInfo,
}

/// A receipt of units of a lot.
#[derive(Debug, Clone, SimpleObject)]
pub struct LotReceipt {
    /// Where.
    pub location: String,
    /// Units.
    pub qty: u64,
    /// Expiry recorded on receipt.
    pub expiry: Option<NaiveDate>,
    /// Business time.
    pub at: DateTime<Utc>,
    /// Seq of the event.
    pub seq: u64,
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
    /// Units.
    pub qty: u64,
    /// Serial numbers recorded on the shipment.
    pub serials: Vec<String>,
    /// Carrier tracking number.
    pub tracking: String,
    /// Business time.
    pub at: DateTime<Utc>,
    /// Seq of the event.
    pub seq: u64,
}

/// Units of a lot a customer order received.
#[derive(Debug, Clone, SimpleObject)]
pub struct LotOrder {
    /// The order.
    pub order: String,
    /// Units shipped to it.
    pub units: u64,
}

/// Everything known about a lot (DOMAIN.md §7).
#[derive(Debug, Clone, SimpleObject)]
pub struct LotTrace {
    /// The SKU.
    pub sku: String,
    /// The lot.
    pub lot: String,
    /// Expiry, from its first receipt.
    pub expiry: Option<NaiveDate>,
    /// When it was recalled (business time), if it was.
    pub recalled_at: Option<DateTime<Utc>>,
    /// Seq of the recall.
    pub recalled_seq: Option<u64>,
    /// Receipts in seq order.
    pub receipts: Vec<LotReceipt>,
    /// Where its units are now, by location.
    pub locations: Vec<super::inventory::StockStates>,
    /// Shipments in seq order.
    pub shipments: Vec<LotShipment>,
    /// Customer orders that received it, by order id.
    pub orders: Vec<LotOrder>,
}

/// A lot's trace, or null when the lot was never seen.
#[derive(Debug, Clone, SimpleObject)]
pub struct LotTraceAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// The trace.
    pub trace: Option<LotTrace>,
}

fn trace(sku: &str, lot: &str, t: lots::LotTrace) -> LotTrace {
    let day = |d: tally_domain::time::Date| super::values::date_of(d.days());
    LotTrace {
        sku: sku.to_owned(),
        lot: lot.to_owned(),
        expiry: t.info.expiry.map(day),
        recalled_at: t.info.recalled_at_ms.map(time_of),
        recalled_seq: t.info.recalled_seq,
        receipts: t
            .receipts
            .into_iter()
            .map(|r| LotReceipt {
                location: r.location.to_string(),
                qty: r.qty,
                expiry: r.expiry.map(day),
                at: time_of(r.at_ms),
                seq: r.seq,
            })
            .collect(),
        locations: t
            .locations
            .into_iter()
            .map(|l| {
                let on_hand = l.on_hand;
                let row = StockRow {
                    location: l.location,
                    sku: sku.to_owned(),
                    lot: Some(lot.to_owned()),
                    stock: l.stock,
                    on_hand,
                };
                row.into()
            })
            .collect(),
        shipments: t
            .shipments
            .into_iter()
            .map(|s| LotShipment {
                order: s.order.to_string(),
                line: s.line,
                location: s.location.to_string(),
                qty: s.qty,
                serials: s.serials,
                tracking: s.tracking,
                at: time_of(s.at_ms),
                seq: s.seq,
            })
            .collect(),
        orders: t
            .orders
            .into_iter()
            .map(|(order, units)| LotOrder { order: order.to_string(), units })
            .collect(),
    }
}

/// Audit trail and lot trace queries.
#[derive(Debug, Default)]
pub struct AuditTrailQuery;

#[Object]
impl AuditTrailQuery {
    /// The events that touched `entity`, in seq order: `first` of them after the cursor
    /// `after`.
    #[graphql(
        guard = "FieldGuard(\"Query.auditTrail\")",
        complexity = "first.map_or(50, |n| usize::try_from(n).unwrap_or(0)).saturating_mul(child_complexity).saturating_add(1)"
    )]
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        entity: EntityInput,
        first: Option<i32>,
        after: Option<String>,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<AuditConnection> {
        let state = ctx.data_unchecked::<AppState>();
        let limit = cursor::page_size(state.config(), first)?;
        args::cursor("after", after.as_deref())?;
        let after_seq = after.map(|c| cursor::decode(SEQ_CURSOR, &c)).transpose()?.unwrap_or(0);
        let entity = entity.entity()?;
        let view = read_view(state, AUDIT_VIEW, as_of).await?;
        let page = audit::trail(&view.reader, &entity, after_seq, limit)
            .map_err(|e| view_error(AUDIT_VIEW, &e))?;
        let has_next_page = page.next.is_some();
        let edges: Vec<AuditEdge> = page
            .items
            .into_iter()
            .map(|r| AuditEdge { cursor: cursor::encode(SEQ_CURSOR, r.seq), node: r.into() })
            .collect();
        let end_cursor = edges.last().map(|e| e.cursor.clone());
        Ok(AuditConnection {
            meta: view.meta,
            edges,
            page_info: PageInfo { has_next_page, end_cursor },
        })
    }

    /// The trace of `lot` of `sku`: receipts, where its units are, shipments, the orders
    /// that received it, and its recall status.
    #[graphql(guard = "FieldGuard(\"Query.lotTrace\")")]
    async fn lot_trace(
        &self,
        ctx: &Context<'_>,
        sku: String,
        lot: String,
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<LotTraceAnswer> {
        args::id::<Sku>("sku", &sku)?;
        args::id::<LotId>("lot", &lot)?;
        let view = read_view(ctx.data_unchecked::<AppState>(), LOTS_VIEW, as_of).await?;
        let found = lots::trace(&view.reader, &sku, &lot).map_err(|e| view_error(LOTS_VIEW, &e))?;
        Ok(LotTraceAnswer { meta: view.meta, trace: found.map(|t| trace(&sku, &lot, t)) })
    }
}
