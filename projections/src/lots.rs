//! The lot traceability view (DOMAIN.md §7): for a SKU × lot, every receipt, where its units
//! are now by location and state, every shipment and the customer orders that got it, and its
//! recall status.
//!
//! Key layout (parts joined by 0x00; seq is 8 bytes BE, item index 4 bytes BE):
//! - `lot/{sku}/{lot}` → [`LotInfo`];
//! - `receipt/{sku}/{lot}/{seq}` → [`Receipt`];
//! - `where/{sku}/{lot}/{location}` → [`Stock`] of the lot at the location;
//! - `shipment/{sku}/{lot}/{seq}/{item}` → [`Shipment`];
//! - `alloc/…` → stages of order lines on lot buckets (for cancels).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::ids::{LocationId, OrderId};
use tally_domain::inventory::Stock;
use tally_domain::time::Date;

use crate::keys::{be32, be64, prefix, text};
use crate::movement::{self, apply_delta};
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::{Tx, key};

const LOT: &[u8] = b"lot";
const RECEIPT: &[u8] = b"receipt";
const WHERE: &[u8] = b"where";
const SHIPMENT: &[u8] = b"shipment";
const ALLOC: &[u8] = b"alloc";

/// The lots projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lots;

/// What is known of a lot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotInfo {
    /// Expiry, from its first receipt.
    pub expiry: Option<Date>,
    /// When it was recalled (business time), if it was.
    pub recalled_at_ms: Option<i64>,
    /// Seq of the recall.
    pub recalled_seq: Option<u64>,
}

/// A receipt of units of the lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Where.
    pub location: LocationId,
    /// Units.
    pub qty: u64,
    /// Expiry recorded on receipt.
    pub expiry: Option<Date>,
    /// Business time.
    pub at_ms: i64,
    /// Seq of the event.
    pub seq: u64,
}

/// Units of the lot shipped to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// The customer order.
    pub order: OrderId,
    /// Its line.
    pub line: u32,
    /// From where.
    pub location: LocationId,
    /// Units.
    pub qty: u64,
    /// Serial numbers recorded on the shipment.
    pub serials: Vec<String>,
    /// Carrier tracking number.
    pub tracking: String,
    /// Business time.
    pub at_ms: i64,
    /// Seq of the event.
    pub seq: u64,
}

fn parts<'a>(sku: &'a str, lot: &'a str) -> [&'a [u8]; 2] {
    [sku.as_bytes(), lot.as_bytes()]
}

impl Projection for Lots {
    fn name(&self) -> &'static str {
        "lots"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        match a.event {
            Event::InventoryReceived(e) => {
                if let Some(lot) = &e.key.lot {
                    let [s, l] = parts(e.key.sku.as_str(), lot.as_str());
                    tx.update(key(&[LOT, s, l]), |info: &mut LotInfo| {
                        if info.expiry.is_none() {
                            info.expiry = e.expiry;
                        }
                    })?;
                    let receipt = Receipt {
                        location: e.key.location.clone(),
                        qty: e.qty.get(),
                        expiry: e.expiry,
                        at_ms: a.occurred_at_ms,
                        seq: a.seq,
                    };
                    tx.put(key(&[RECEIPT, s, l, &be64(a.seq)]), &receipt)?;
                }
            }
            Event::LotRecalled(e) => {
                let [s, l] = parts(e.sku.as_str(), e.lot.as_str());
                tx.update(key(&[LOT, s, l]), |info: &mut LotInfo| {
                    info.recalled_at_ms = Some(a.occurred_at_ms);
                    info.recalled_seq = Some(a.seq);
                })?;
            }
            Event::OrderShipped(e) => {
                for (item, n) in e.items.iter().zip(0_u32..) {
                    let Some(lot) = &item.lot else { continue };
                    let [s, l] = parts(item.sku.as_str(), lot.as_str());
                    let shipment = Shipment {
                        order: e.order.clone(),
                        line: item.line,
                        location: item.location.clone(),
                        qty: item.qty.get(),
                        serials: e.serials.clone(),
                        tracking: e.tracking.clone(),
                        at_ms: a.occurred_at_ms,
                        seq: a.seq,
                    };
                    tx.put(key(&[SHIPMENT, s, l, &be64(a.seq), &be32(n)]), &shipment)?;
                }
            }
            _ => {}
        }
        for delta in movement::deltas(tx, ALLOC, &|k| k.lot.is_some(), a.event)? {
            let Some(lot) = &delta.key.lot else { continue };
            let k = key(&[
                WHERE,
                delta.key.sku.as_str().as_bytes(),
                lot.as_str().as_bytes(),
                delta.key.location.as_str().as_bytes(),
            ]);
            let mut stock: Stock = tx.get(&k)?.unwrap_or_default();
            apply_delta(&mut stock, delta.state, delta.units)
                .map_err(|e| ApplyError::new(format!("bucket {}: {e}", delta.key.stream())))?;
            tx.put(k, &stock)?;
        }
        Ok(())
    }
}

/// Units of the lot at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotAt {
    /// Where.
    pub location: String,
    /// By state.
    pub stock: Stock,
    /// Physically there.
    pub on_hand: u64,
}

/// Everything known about a lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotTrace {
    /// Expiry and recall status.
    pub info: LotInfo,
    /// Receipts in seq order.
    pub receipts: Vec<Receipt>,
    /// Where its units are now, by location.
    pub locations: Vec<LotAt>,
    /// Shipments in seq order.
    pub shipments: Vec<Shipment>,
    /// Customer orders that received it, with units, by order id.
    pub orders: Vec<(OrderId, u64)>,
}

/// The trace of `lot` of `sku`; `None` when the lot was never seen.
pub fn trace(r: &ViewReader, sku: &str, lot: &str) -> Result<Option<LotTrace>> {
    let [s, l] = parts(sku, lot);
    let Some(info) = r.get::<LotInfo>(&key(&[LOT, s, l]))? else { return Ok(None) };
    let receipts =
        r.scan_typed::<Receipt>(&prefix(&[RECEIPT, s, l]))?.into_iter().map(|(_, v)| v).collect();
    let locations = r
        .scan_typed::<Stock>(&prefix(&[WHERE, s, l]))?
        .into_iter()
        .map(|(loc, stock)| LotAt { location: text(&loc), on_hand: stock.on_hand(), stock })
        .collect();
    let shipments: Vec<Shipment> =
        r.scan_typed::<Shipment>(&prefix(&[SHIPMENT, s, l]))?.into_iter().map(|(_, v)| v).collect();
    let mut orders: BTreeMap<OrderId, u64> = BTreeMap::new();
    for sh in &shipments {
        *orders.entry(sh.order.clone()).or_insert(0) += sh.qty;
    }
    Ok(Some(LotTrace {
        info,
        receipts,
        locations,
        shipments,
        orders: orders.into_iter().collect(),
    }))
}
