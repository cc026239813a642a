//! The audit view: per entity (order, SKU × location, return, settlement, and the rest) its
//! events in seq order with seq, chain hash, type, actor, source and times. An event touching
//! several entities (an allocation touches its order and a stock location) is in each trail.
//!
//! Key layout: `trail/{kind}/{id parts…}/{seq: 8 bytes BE}` → [`AuditRecord`]; a trail is a
//! prefix scan in seq order.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::inventory::StockKey;
use tally_domain::journal::JournalRef;

use crate::keys::{Page, be64, page, prefix};
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::Tx;

const TRAIL: &[u8] = b"trail";

/// The audit projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Audit;

/// Something with a trail.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Entity {
    /// An order.
    Order(String),
    /// A SKU at a location (all its lots).
    Stock {
        /// The location.
        location: String,
        /// The SKU.
        sku: String,
    },
    /// A customer return.
    Return(String),
    /// A marketplace settlement.
    Settlement(String),
    /// A processor payout.
    Payout(String),
    /// A lot of a SKU.
    Lot {
        /// The SKU.
        sku: String,
        /// The lot.
        lot: String,
    },
    /// Master data: a location, channel, SKU or customer (`kind` is `location`, `channel`,
    /// `sku` or `customer`).
    Master {
        /// Which kind.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// Manual journal entries.
    Journal,
}

impl Entity {
    fn parts(&self) -> Vec<&[u8]> {
        match self {
            Entity::Order(id) => vec![b"order", id.as_bytes()],
            Entity::Stock { location, sku } => vec![b"stock", sku.as_bytes(), location.as_bytes()],
            Entity::Return(id) => vec![b"return", id.as_bytes()],
            Entity::Settlement(id) => vec![b"settlement", id.as_bytes()],
            Entity::Payout(id) => vec![b"payout", id.as_bytes()],
            Entity::Lot { sku, lot } => vec![b"lot", sku.as_bytes(), lot.as_bytes()],
            Entity::Master { kind, id } => vec![b"master", kind.as_bytes(), id.as_bytes()],
            Entity::Journal => vec![b"journal"],
        }
    }

    fn stock(key: &StockKey) -> Self {
        Entity::Stock { location: key.location.to_string(), sku: key.sku.to_string() }
    }

    fn order(id: &impl ToString) -> Self {
        Entity::Order(id.to_string())
    }
}

/// One event in a trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Global seq.
    pub seq: u64,
    /// Chain hash, 64 lowercase hex digits.
    pub hash: String,
    /// Event type.
    pub event_type: String,
    /// Its stream.
    pub stream: String,
    /// Who.
    pub actor: String,
    /// From where.
    pub source: String,
    /// Ledger time.
    pub recorded_at_ms: i64,
    /// Business time.
    pub occurred_at_ms: i64,
}

/// The entities an event touches.
#[must_use]
pub fn entities(event: &Event) -> BTreeSet<Entity> {
    let mut out = BTreeSet::new();
    let stock = |l: &tally_domain::ids::LocationId, s: &tally_domain::ids::Sku| Entity::Stock {
        location: l.to_string(),
        sku: s.to_string(),
    };
    match event {
        Event::LocationDefined(e) => {
            out.insert(Entity::Master { kind: "location", id: e.id.to_string() });
        }
        Event::ChannelDefined(e) => {
            out.insert(Entity::Master { kind: "channel", id: e.id.to_string() });
        }
        Event::SkuDefined(e) => {
            out.insert(Entity::Master { kind: "sku", id: e.sku.to_string() });
        }
        Event::SafetyStockSet(e) => {
            out.insert(stock(&e.location, &e.sku));
        }
        Event::ReorderPointSet(e) => {
            out.insert(stock(&e.location, &e.sku));
        }
        Event::CountToleranceSet(e) => {
            out.insert(Entity::Master { kind: "count_tolerance", id: e.class.as_str().to_owned() });
        }
        Event::OrderReceived(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::OrderAmended(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::OrderValidated(e) | Event::OrderHoldReleased(e) | Event::OrderDelivered(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::OrderHeld(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::LineAllocated(e) => {
            out.insert(Entity::order(&e.order));
            out.insert(stock(&e.location, &e.sku));
        }
        Event::LineBackordered(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::LineSubstituted(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::ReservationReleased(e) => {
            out.insert(Entity::order(&e.order));
            out.insert(stock(&e.location, &e.sku));
        }
        Event::OrderPicked(e) | Event::OrderPacked(e) => {
            out.insert(Entity::order(&e.order));
            out.extend(e.items.iter().map(|i| stock(&i.location, &i.sku)));
        }
        Event::OrderShipped(e) => {
            out.insert(Entity::order(&e.order));
            for i in &e.items {
                out.insert(stock(&i.location, &i.sku));
                if let Some(lot) = &i.lot {
                    out.insert(Entity::Lot { sku: i.sku.to_string(), lot: lot.to_string() });
                }
            }
        }
        Event::OrderCancelled(e) | Event::OrderRemainderCancelled(e) => {
            out.insert(Entity::order(&e.order));
            out.extend(e.released.iter().map(|i| stock(&i.location, &i.sku)));
        }
        Event::BackordersCancelled(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::WorkflowConfigured(e) => {
            out.extend(
                e.channels
                    .iter()
                    .map(|w| Entity::Master { kind: "workflow", id: w.channel.to_string() }),
            );
        }
        Event::InboundExpected(e) => {
            out.insert(stock(&e.location, &e.sku));
        }
        Event::InventoryReceived(e) => {
            out.insert(Entity::stock(&e.key));
            if let Some(lot) = &e.key.lot {
                out.insert(Entity::Lot { sku: e.key.sku.to_string(), lot: lot.to_string() });
            }
        }
        Event::InventoryAdjusted(e) => {
            out.insert(Entity::stock(&e.key));
        }
        Event::CycleCounted(e) => {
            out.insert(Entity::stock(&e.key));
        }
        Event::StockSnapshotReconciled(e) => {
            out.insert(Entity::stock(&e.key));
        }
        Event::TransferShipped(e) => {
            out.insert(Entity::stock(&e.from));
            out.insert(stock(&e.to, &e.from.sku));
        }
        Event::TransferReceived(e) => {
            out.insert(Entity::stock(&e.key));
        }
        Event::StockQuarantined(e) | Event::QuarantineReleased(e) => {
            out.insert(Entity::stock(&e.key));
        }
        Event::StockScrapped(e) => {
            out.insert(Entity::stock(&e.key));
        }
        Event::LotRecalled(e) => {
            out.insert(Entity::Lot { sku: e.sku.to_string(), lot: e.lot.to_string() });
        }
        Event::ReturnAuthorized(e) => {
            out.insert(Entity::Return(e.return_id.to_string()));
            out.insert(Entity::order(&e.order));
        }
        Event::ReturnReceived(e) => {
            out.insert(Entity::Return(e.return_id.to_string()));
            out.extend(e.items.iter().map(|i| stock(&e.location, &i.sku)));
        }
        Event::ReturnInspected(e) => {
            out.insert(Entity::Return(e.return_id.to_string()));
            out.extend(e.items.iter().map(|i| stock(&e.location, &i.sku)));
        }
        Event::ReturnClosed(e) => {
            out.insert(Entity::Return(e.return_id.to_string()));
        }
        Event::PaymentCaptured(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::InvoiceIssued(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::ProcessorFeeRecorded(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::RefundIssued(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::DepositRefunded(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::ProcessorPayoutRecorded(e) => {
            out.insert(Entity::Payout(e.payout.to_string()));
        }
        Event::SettlementOpened(e) => {
            out.insert(Entity::Settlement(e.settlement.to_string()));
        }
        Event::SettlementLineRecorded(e) => {
            out.insert(Entity::Settlement(e.settlement.to_string()));
            if let Some(order) = &e.order {
                out.insert(Entity::order(order));
            }
        }
        Event::PayoutSettled(e) => {
            out.insert(Entity::Settlement(e.settlement.to_string()));
        }
        Event::JournalEntryPosted(e) => {
            out.insert(entity_of_ref(&e.reference));
        }
        // The marker of a command accepted with no change touches no entity.
        Event::CommandAccepted(_) => {}
        Event::ExceptionRaised(e) => {
            out.insert(entity_of_ref(&e.subject));
        }
        Event::ExceptionAcknowledged(e) => {
            out.insert(entity_of_ref(&e.subject));
        }
        Event::ExceptionResolved(e) => {
            out.insert(entity_of_ref(&e.subject));
        }
        Event::HoldSlaBreached(e) => {
            out.insert(Entity::order(&e.order));
        }
        Event::SupplierDefined(e) => {
            out.insert(supplier(e.id.as_str()));
        }
        Event::PurchaseOrderCreated(e) => {
            out.insert(purchase_order(e.purchase_order.as_str()));
            out.insert(supplier(e.supplier.as_str()));
        }
        Event::PurchaseOrderReceived(e) => {
            out.insert(purchase_order(e.purchase_order.as_str()));
            out.insert(Entity::stock(&e.key));
        }
        Event::SupplierInvoiceRecorded(e) => {
            out.insert(supplier(e.supplier.as_str()));
            if let Some(po) = &e.purchase_order {
                out.insert(purchase_order(po.as_str()));
            }
        }
        Event::SupplierPaymentRecorded(e) => {
            out.insert(supplier(e.supplier.as_str()));
        }
        Event::CustomerDefined(e) => {
            out.insert(Entity::Master { kind: "customer", id: e.id.to_string() });
        }
        Event::CustomerPaymentRecorded(e) => {
            out.insert(Entity::Master { kind: "customer", id: e.customer.to_string() });
            out.extend(e.applications.iter().map(|a| Entity::order(&a.order)));
        }
    }
    out
}

/// The entity a journal entry or an exception is about.
fn entity_of_ref(reference: &JournalRef) -> Entity {
    match reference {
        JournalRef::Order(id) => Entity::order(id),
        JournalRef::Return(id) => Entity::Return(id.to_string()),
        JournalRef::Settlement(id) => Entity::Settlement(id.to_string()),
        JournalRef::Stock(k) => Entity::stock(k),
        JournalRef::Payout(id) => Entity::Payout(id.to_string()),
        JournalRef::Manual => Entity::Journal,
        JournalRef::Supplier(id) => supplier(id.as_str()),
        JournalRef::Customer(id) => Entity::Master { kind: "customer", id: id.to_string() },
    }
}

/// A supplier's trail: its definition, purchase orders, invoices and payments.
fn supplier(id: &str) -> Entity {
    Entity::Master { kind: "supplier", id: id.to_owned() }
}

/// A purchase order's trail: creation, receipts against it and invoices of it.
fn purchase_order(id: &str) -> Entity {
    Entity::Master { kind: "purchase_order", id: id.to_owned() }
}

fn trail_prefix(entity: &Entity) -> Vec<u8> {
    let mut parts = vec![TRAIL];
    parts.extend(entity.parts());
    prefix(&parts)
}

impl Projection for Audit {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        let record = AuditRecord {
            seq: a.seq,
            hash: a.hash.to_hex(),
            event_type: a.event_type.to_owned(),
            stream: a.stream.to_owned(),
            actor: a.actor.to_owned(),
            source: a.source.to_owned(),
            recorded_at_ms: a.recorded_at_ms,
            occurred_at_ms: a.occurred_at_ms,
        };
        for entity in entities(a.event) {
            let mut k = trail_prefix(&entity);
            k.extend_from_slice(&be64(a.seq));
            tx.put(k, &record)?;
        }
        Ok(())
    }
}

/// The events of `entity` with seq after `after_seq` (0 for the start), in seq order, at most
/// `limit`; the page's cursor is the last seq returned.
pub fn trail(
    r: &ViewReader,
    entity: &Entity,
    after_seq: u64,
    limit: usize,
) -> Result<Page<AuditRecord, u64>> {
    let p = trail_prefix(entity);
    // Seqs start at 1, so the cursor key of `after_seq = 0` sorts before every entry.
    let mut cursor = p.clone();
    cursor.extend_from_slice(&be64(after_seq));
    let rows = r
        .scan_after(&p, Some(&cursor), limit.saturating_add(1))?
        .into_iter()
        .map(|(_, v)| r.decode::<AuditRecord>(&v))
        .collect::<Result<Vec<_>>>()?;
    Ok(page(rows, limit, |rec| rec.seq))
}
