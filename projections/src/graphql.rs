//! The read models as GraphQL output types (feature `graphql`, enabled by tally-api).
//!
//! The structs the views store and return (`OrderView`, `StockRow`, `AtsView`,
//! `TrialBalanceRow`, `SettlementView`, …) derive `SimpleObject` under this feature, so the API
//! returns them as they are instead of copying them into look-alike structs. A field whose
//! stored form is not its GraphQL shape is skipped and given again here by a getter:
//! milliseconds become `DateTime`, minor units become `MoneyV2`, 64-bit counts become
//! `UnsignedInt64` (GraphQL's `Int` is 32-bit). Quantities of one order line stay `Int`: they
//! are bounded by `tally_domain::limits::QTY_MAX` (10⁹ < 2³¹).
//!
//! Global ids ([`global_id`]) live here too, since the read models that are Relay nodes
//! (`Order`, `Settlement`, `JournalEntry`) answer their own `id`.

use async_graphql::{ComplexObject, Enum, ID, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::inventory::QuarantineReason;
use tally_domain::journal::JournalRef;
use tally_domain::money::{Currency, Money};
use tally_domain::time::{Date, Timestamp};

use crate::finance::{EntryTotal, JournalEntryView, SettlementView, TrialBalanceRow};
use crate::inventory::{AtsView, ChannelAts, ReorderPoint, StockRow};
use crate::orders::{BackorderRow, HoldException, HoldView, LineView, OrderView};

/// The scheme and authority every global id starts with.
pub const GLOBAL_ID_PREFIX: &str = "gid://tally/";

/// Writes one part of a global id: `%` as `%25` and `/` as `%2F`, so parts never contain the
/// separator.
fn push_part(out: &mut String, part: &str) {
    for c in part.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            c => out.push(c),
        }
    }
}

/// The global id of an entity: `gid://tally/{type}/{part}[/{part}]`, e.g.
/// `gid://tally/Order/W1001` or `gid://tally/Lot/SKU-A/L1`, each part an id with `%` written
/// `%25` and `/` written `%2F`. Clients treat it as opaque.
#[must_use]
pub fn global_id(type_name: &str, parts: &[&str]) -> ID {
    let mut out = String::with_capacity(
        GLOBAL_ID_PREFIX.len() + type_name.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>(),
    );
    out.push_str(GLOBAL_ID_PREFIX);
    out.push_str(type_name);
    for part in parts {
        out.push('/');
        push_part(&mut out, part);
    }
    ID(out)
}

/// Reads a global id made by [`global_id`] back into its type name and parts; `None` when it
/// is not one (another prefix, an empty type or part, a `%` escape other than `%25`/`%2F`).
#[must_use]
pub fn parse_global_id(id: &str) -> Option<(&str, Vec<String>)> {
    let rest = id.strip_prefix(GLOBAL_ID_PREFIX)?;
    let mut pieces = rest.split('/');
    let type_name = pieces.next().filter(|t| !t.is_empty())?;
    let mut parts = Vec::new();
    for piece in pieces {
        if piece.is_empty() {
            return None;
        }
        let mut part = String::with_capacity(piece.len());
        let mut tail = piece;
        while let Some(at) = tail.find('%') {
            part.push_str(&tail[..at]);
            part.push(match tail.get(at..at + 3)? {
                "%25" => '%',
                "%2F" => '/',
                _ => return None,
            });
            tail = &tail[at + 3..];
        }
        part.push_str(tail);
        parts.push(part);
    }
    Some((type_name, parts))
}

fn time(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[ComplexObject]
impl OrderView {
    /// Global id (`gid://tally/Order/{orderId}`), for `node(id:)`.
    #[graphql(name = "id")]
    pub async fn global_id(&self) -> ID {
        global_id("Order", &[self.id.as_str()])
    }
    /// When the customer placed it.
    async fn placed_at(&self) -> Timestamp {
        time(self.placed_at_ms)
    }
    /// When the ledger received it (business time of `order.received`).
    async fn received_at(&self) -> Timestamp {
        time(self.received_at_ms)
    }
    /// Seq of `order.received`: arrival order.
    async fn received_seq(&self) -> UnsignedInt64 {
        UnsignedInt64(self.received_seq)
    }
    /// Since when it is in its workflow stage (business time); null once closed.
    async fn stage_since(&self) -> Option<Timestamp> {
        self.stage_since_ms.map(time)
    }
    /// When it was released to fulfilment (its first allocation decision); null before.
    async fn released_at(&self) -> Option<Timestamp> {
        self.released_at_ms.map(time)
    }
    /// The open hold, if any.
    #[graphql(name = "openHold")]
    async fn open_hold_field(&self) -> Option<&HoldView> {
        OrderView::open_hold(self)
    }
}

#[ComplexObject]
impl HoldView {
    /// When it was put on (business time).
    async fn held_at(&self) -> Timestamp {
        time(self.held_at_ms)
    }
    /// SLA due time.
    async fn due_at(&self) -> Timestamp {
        time(self.due_at_ms)
    }
    /// When it was released (or replaced by another hold); null while open.
    async fn released_at(&self) -> Option<Timestamp> {
        self.released_at_ms.map(time)
    }
}

#[ComplexObject]
impl LineView {
    /// Since when the line waits for stock (business time), while it does.
    async fn backordered_since(&self) -> Option<Timestamp> {
        self.backordered_since_ms.map(time)
    }
}

/// A duration in milliseconds as an [`UnsignedInt64`] (negative ones, which a `now` before
/// the event gives, as 0).
fn duration(ms: i64) -> UnsignedInt64 {
    UnsignedInt64(u64::try_from(ms).unwrap_or(0))
}

#[ComplexObject]
impl crate::orders::RaisedException {
    /// When the decision that raised it happened (business time).
    async fn raised_at(&self) -> Timestamp {
        time(self.raised_at_ms)
    }
    /// The seq of its `exception.raised` event (its place in the audit trail).
    async fn seq(&self) -> UnsignedInt64 {
        UnsignedInt64(self.seq)
    }
    /// Its number (the ordinal of its `exception.raised`, 1 being the first ever raised):
    /// what `acknowledgeException` and `resolveException` take.
    async fn number(&self) -> UnsignedInt64 {
        UnsignedInt64(self.number)
    }
    /// Still in the queue (not resolved, dismissed or cleared).
    async fn open(&self) -> bool {
        self.closed.is_none()
    }
}

#[ComplexObject]
impl crate::orders::ExceptionNote {
    /// When (business time).
    async fn at(&self) -> Timestamp {
        time(self.at_ms)
    }
    /// The seq of its `exception.acknowledged` event.
    async fn seq(&self) -> UnsignedInt64 {
        UnsignedInt64(self.seq)
    }
}

#[ComplexObject]
impl crate::orders::ExceptionClosure {
    /// When (business time).
    async fn at(&self) -> Timestamp {
        time(self.at_ms)
    }
    /// The seq of its `exception.resolved` event.
    async fn seq(&self) -> UnsignedInt64 {
        UnsignedInt64(self.seq)
    }
}

#[ComplexObject]
impl HoldException {
    /// How long past its due time the hold is at `now`, in milliseconds.
    async fn overdue_ms(&self) -> UnsignedInt64 {
        duration(self.overdue_ms)
    }
}

#[ComplexObject]
impl BackorderRow {
    /// When the order was placed.
    async fn placed_at(&self) -> Timestamp {
        time(self.placed_at_ms)
    }
    /// Since when the line waits.
    async fn since(&self) -> Timestamp {
        time(self.since_ms)
    }
    /// How long the line has waited at `now`, in milliseconds (0 when `now` is earlier).
    async fn age_ms(&self) -> UnsignedInt64 {
        duration(self.age_ms)
    }
}

/// Units quarantined for one reason.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct QuarantinedUnits {
    /// The reason.
    pub reason: QuarantineReason,
    /// Units (at most 10¹⁵ per bucket, `limits::BUCKET_UNITS_MAX`; sums may be larger).
    pub units: UnsignedInt64,
}

#[ComplexObject]
impl StockRow {
    /// Sellable, unclaimed.
    async fn available(&self) -> UnsignedInt64 {
        UnsignedInt64(self.stock.available)
    }
    /// Claimed by an order line, not yet picked.
    async fn reserved(&self) -> UnsignedInt64 {
        UnsignedInt64(self.stock.reserved)
    }
    /// Picked.
    async fn picked(&self) -> UnsignedInt64 {
        UnsignedInt64(self.stock.picked)
    }
    /// Packed, awaiting the carrier.
    async fn packed(&self) -> UnsignedInt64 {
        UnsignedInt64(self.stock.packed)
    }
    /// Not sellable, all reasons.
    async fn quarantined(&self) -> UnsignedInt64 {
        UnsignedInt64(self.stock.quarantined.values().fold(0, |a, b| a.saturating_add(*b)))
    }
    /// Not sellable, by reason (reasons with units only).
    async fn quarantined_by_reason(&self) -> Vec<QuarantinedUnits> {
        self.stock
            .quarantined
            .iter()
            .map(|(reason, units)| QuarantinedUnits {
                reason: *reason,
                units: UnsignedInt64(*units),
            })
            .collect()
    }
    /// Returned, awaiting inspection.
    async fn returned(&self) -> UnsignedInt64 {
        UnsignedInt64(self.stock.returned)
    }
    /// On the way from another location.
    async fn in_transit(&self) -> UnsignedInt64 {
        UnsignedInt64(self.stock.in_transit)
    }
    /// Expected inbound.
    async fn incoming(&self) -> UnsignedInt64 {
        UnsignedInt64(self.stock.incoming)
    }
    /// Cumulative units shipped to customers from here (a counter, not stock).
    async fn shipped(&self) -> UnsignedInt64 {
        UnsignedInt64(self.stock.shipped)
    }
    /// Physically there: available + reserved + picked + packed + quarantined + returned.
    async fn on_hand(&self) -> UnsignedInt64 {
        UnsignedInt64(self.on_hand)
    }
}

/// The reorder point of a location × SKU: when its units available or in transit (summed over
/// lots) fall to or below the point, it needs the reorder quantity more.
#[Object]
impl ReorderPoint {
    /// Units available or in transit at or below which to reorder (at least 1).
    async fn point(&self) -> UnsignedInt64 {
        UnsignedInt64(self.point)
    }
    /// Units to order each time.
    async fn reorder_qty(&self) -> UnsignedInt64 {
        UnsignedInt64(self.reorder_qty)
    }
}

#[ComplexObject]
impl AtsView {
    /// Network ATS: Σ over locations of max(0, available − safety stock).
    async fn network(&self) -> UnsignedInt64 {
        UnsignedInt64(self.network)
    }
}

#[ComplexObject]
impl ChannelAts {
    /// Units the channel may sell.
    async fn ats(&self) -> UnsignedInt64 {
        UnsignedInt64(self.ats)
    }
}

#[ComplexObject]
impl TrialBalanceRow {
    /// Σ debits.
    async fn debits(&self) -> Money {
        Money::from_minor(self.debits, self.currency)
    }
    /// Σ credits (positive).
    async fn credits(&self) -> Money {
        Money::from_minor(self.credits, self.currency)
    }
    /// Debits − credits (debit positive).
    async fn net(&self) -> Money {
        Money::from_minor(self.net, self.currency)
    }
}

/// A settlement's totals, each in the settlement's currency. (The stored `Totals` keeps minor
/// units without a currency, so this shape is built from it and the settlement.)
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct SettlementTotals {
    /// Principal and shipping.
    pub gross: Money,
    /// Commissions, fulfilment and storage fees (negative).
    pub fees: Money,
    /// Tax and facilitator tax.
    pub tax: Money,
    /// Refunds (negative).
    pub refunds: Money,
    /// Reserve held (negative) or released (positive).
    pub reserve: Money,
    /// Σ of every line: what the payout must equal.
    pub net: Money,
    /// Number of lines (at most 2³² − 1 per settlement).
    pub line_count: UnsignedInt64,
}

/// A settlement's payout.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct SettlementPayoutShape {
    /// Amount deposited.
    pub amount: Money,
    /// Deposit date.
    pub deposit_date: Date,
    /// Seq of `settlement.payout_settled`.
    pub event_seq: UnsignedInt64,
}

fn money(minor: i64, currency: Currency) -> Money {
    Money::from_minor(minor, currency)
}

#[ComplexObject]
impl SettlementView {
    /// Global id (`gid://tally/Settlement/{settlementId}`), for `node(id:)`.
    #[graphql(name = "id")]
    pub async fn global_id(&self) -> ID {
        global_id("Settlement", &[self.id.as_str()])
    }
    /// Totals so far.
    async fn totals(&self) -> SettlementTotals {
        let (t, c) = (&self.totals, self.currency);
        SettlementTotals {
            gross: money(t.gross, c),
            fees: money(t.fees, c),
            tax: money(t.tax, c),
            refunds: money(t.refunds, c),
            reserve: money(t.reserve, c),
            net: money(t.net, c),
            line_count: UnsignedInt64(u64::from(t.line_count)),
        }
    }
    /// The payout, once settled.
    async fn payout(&self) -> Option<SettlementPayoutShape> {
        self.payout.as_ref().map(|p| SettlementPayoutShape {
            amount: money(p.amount, self.currency),
            deposit_date: p.deposit_date,
            event_seq: UnsignedInt64(p.event_seq),
        })
    }
}

/// The kind of entity a journal entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum JournalReferenceKind {
    /// An order (payment, invoice, COGS, fee, refund).
    Order,
    /// A return (restocked units back into inventory).
    Return,
    /// A marketplace settlement.
    Settlement,
    /// A stock bucket (receipt, adjustment, scrap).
    Stock,
    /// A processor payout.
    Payout,
    /// A manual entry.
    Manual,
    /// A supplier (its invoices and payments).
    Supplier,
    /// A B2B customer (a customer payment).
    Customer,
}

/// What a journal entry is about.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct JournalReference {
    /// The kind of entity.
    pub kind: JournalReferenceKind,
    /// The entity's ledger id: an order, return, settlement, payout or customer id; null for
    /// stock and manual entries.
    pub entity_id: Option<String>,
    /// The entity's global id when it is a node (`Order`, `Return`, `Settlement`); null
    /// otherwise.
    pub node_id: Option<ID>,
    /// The location, for a stock entry; null otherwise.
    pub location: Option<String>,
    /// The SKU, for a stock entry; null otherwise.
    pub sku: Option<String>,
    /// The lot, for a stock entry of a lot-tracked SKU; null otherwise.
    pub lot: Option<String>,
    /// The log stream the entry is recorded on (`stream(stream:)` reads it).
    pub stream: String,
}

impl JournalReference {
    /// The GraphQL shape of a journal reference.
    #[must_use]
    pub fn of(r: &JournalRef) -> Self {
        let entity = |kind, type_name: Option<&str>, id: &str| Self {
            kind,
            entity_id: Some(id.to_owned()),
            node_id: type_name.map(|t| global_id(t, &[id])),
            location: None,
            sku: None,
            lot: None,
            stream: r.stream(),
        };
        match r {
            JournalRef::Order(id) => {
                entity(JournalReferenceKind::Order, Some("Order"), id.as_str())
            }
            JournalRef::Return(id) => {
                entity(JournalReferenceKind::Return, Some("Return"), id.as_str())
            }
            JournalRef::Settlement(id) => {
                entity(JournalReferenceKind::Settlement, Some("Settlement"), id.as_str())
            }
            JournalRef::Payout(id) => entity(JournalReferenceKind::Payout, None, id.as_str()),
            JournalRef::Supplier(id) => entity(JournalReferenceKind::Supplier, None, id.as_str()),
            JournalRef::Customer(id) => entity(JournalReferenceKind::Customer, None, id.as_str()),
            JournalRef::Stock(k) => Self {
                kind: JournalReferenceKind::Stock,
                entity_id: None,
                node_id: None,
                location: Some(k.location.to_string()),
                sku: Some(k.sku.to_string()),
                lot: k.lot.as_ref().map(ToString::to_string),
                stream: r.stream(),
            },
            JournalRef::Manual => Self {
                kind: JournalReferenceKind::Manual,
                entity_id: None,
                node_id: None,
                location: None,
                sku: None,
                lot: None,
                stream: r.stream(),
            },
        }
    }
}

#[ComplexObject]
impl JournalEntryView {
    /// Global id (`gid://tally/JournalEntry/{entryId}`), for `node(id:)`.
    #[graphql(name = "id")]
    pub async fn global_id(&self) -> ID {
        global_id("JournalEntry", &[self.id.as_str()])
    }
    /// What it is about.
    async fn reference(&self) -> JournalReference {
        JournalReference::of(&self.reference)
    }
    /// Business time of posting (its event's `occurredAt`).
    async fn posted_at(&self) -> Timestamp {
        time(self.posted_at_ms)
    }
    /// Seq of its `journal.entry_posted` event.
    async fn seq(&self) -> UnsignedInt64 {
        UnsignedInt64(self.seq)
    }
}

#[ComplexObject]
impl EntryTotal {
    /// Σ debits.
    async fn debits(&self) -> Money {
        money(self.debits, self.currency)
    }
    /// Σ credits (positive).
    async fn credits(&self) -> Money {
        money(self.credits, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_escape_the_separator() {
        let id = global_id("Lot", &["SKU/A", "L%1"]);
        assert_eq!(id.as_str(), "gid://tally/Lot/SKU%2FA/L%251");
        assert_eq!(parse_global_id(&id), Some(("Lot", vec!["SKU/A".to_owned(), "L%1".to_owned()])));
        assert_eq!(parse_global_id("gid://tally/Order/W1"), Some(("Order", vec!["W1".into()])));
        for bad in ["", "gid://tally/", "gid://tally//x", "gid://other/Order/1", "gid://tally/A/%2"]
        {
            assert_eq!(parse_global_id(bad), None, "{bad}");
        }
    }
}
