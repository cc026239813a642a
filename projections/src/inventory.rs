//! The inventory view: every state of DOMAIN.md §1 per location × SKU × lot, totals per
//! location × SKU, and available-to-sell per channel and network-wide.
//!
//! Key layout (parts joined by 0x00; an empty lot part means "no lot"):
//! - `stock/{location}/{sku}/{lot}` → [`Stock`] of one bucket (scan by location, or by
//!   location × SKU for its lots);
//! - `total/{sku}/{location}` → [`Stock`] summed over lots (scan by SKU across locations);
//! - `location/{location}` → [`LocationInfo`] (rank and channels served);
//! - `channel/{channel}` → [`PriorityClass`];
//! - `safety/{location}/{sku}` → safety stock units (u64);
//! - `reorder/{location}/{sku}` → [`ReorderPoint`] (absent when unset or cleared);
//! - `alloc/{order}/{line}/{location}/{lot}` → stages of an order line's units (for cancels);
//! - `skudef/{sku}` → [`SkuAllocation`] (lot tracking and shelf-life margin, for ATS);
//! - `lot/{sku}/{lot}` → [`Lot`] (expiry and recall, for ATS).
//!
//! ATS policy (DOMAIN.md §1 and the domain crate's `State::ats`): *allocatable* units are the
//! available units allocation may take on the day asked: of untracked SKUs, or of lots neither
//! recalled nor past their removal date (expiry − the SKU's shelf-life margin). A `standard`
//! channel's ATS is Σ over locations serving it of max(0, allocatable − safety stock); a
//! `contract` channel may take safety stock, so its ATS is Σ allocatable; network ATS is
//! Σ max(0, allocatable − safety stock) over all locations. Never negative; exactly what
//! allocation would reserve for the channel that day.
//!
//! Reorder points: a location × SKU is below its reorder point when its units available plus
//! in transit (summed over lots) are at or below the point. Every row a read returns carries
//! the reorder point of its location × SKU and that flag, lot rows included.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::ids::ChannelId;
use tally_domain::inventory::{Lot, Stock, StockKey};
use tally_domain::master::PriorityClass;
use tally_domain::time::Date;

use crate::keys::{lot_part, prefix, split, text};
use crate::movement::{self, apply_delta};
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::{Tx, key};

const STOCK: &[u8] = b"stock";
const TOTAL: &[u8] = b"total";
const LOCATION: &[u8] = b"location";
const CHANNEL: &[u8] = b"channel";
const SAFETY: &[u8] = b"safety";
const ALLOC: &[u8] = b"alloc";
const REORDER: &[u8] = b"reorder";
const SKUDEF: &[u8] = b"skudef";
const LOT: &[u8] = b"lot";

/// What ATS needs of a SKU's master record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuAllocation {
    /// Kept by lot (FEFO, removal dates).
    pub lot_tracked: bool,
    /// Days before expiry a lot stops being allocatable.
    pub shelf_life_margin_days: u32,
}

/// Records the master data and lots ATS reads; every event still moves stock below.
fn track_lots(tx: &mut Tx<'_>, event: &Event) -> Result<(), ApplyError> {
    match event {
        Event::SkuDefined(def) => {
            let info = SkuAllocation {
                lot_tracked: def.lot_tracked,
                shelf_life_margin_days: def.shelf_life_margin_days,
            };
            tx.put(key(&[SKUDEF, def.sku.as_str().as_bytes()]), &info)?;
        }
        Event::InventoryReceived(e) => {
            if let Some(lot) = &e.key.lot {
                let k = key(&[LOT, e.key.sku.as_str().as_bytes(), lot.as_str().as_bytes()]);
                // The first receipt registers the lot (as the decision state does).
                if tx.get::<Lot>(&k)?.is_none() {
                    tx.put(k, &Lot { expiry: e.expiry, recalled: false })?;
                }
            }
        }
        Event::LotRecalled(e) => {
            let k = key(&[LOT, e.sku.as_str().as_bytes(), e.lot.as_str().as_bytes()]);
            let mut lot = tx.get::<Lot>(&k)?.unwrap_or(Lot { expiry: None, recalled: false });
            lot.recalled = true;
            tx.put(k, &lot)?;
        }
        _ => {}
    }
    Ok(())
}

/// The inventory projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inventory;

/// What the view keeps of a location.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationInfo {
    /// Allocation rank (lower first).
    pub rank: u32,
    /// Channels it ships for.
    pub channels: BTreeSet<ChannelId>,
}

/// The reorder point of a location × SKU: when its units available or in transit (summed over
/// lots) fall to or below the point, it needs the reorder quantity more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReorderPoint {
    /// Units at or below which to reorder (at least 1: a point of 0 clears it).
    pub point: u64,
    /// Units to order each time.
    pub reorder_qty: u64,
}

impl ReorderPoint {
    /// Whether `total` (the location × SKU summed over lots) is at or below the point.
    #[must_use]
    pub fn is_reached_by(&self, total: &Stock) -> bool {
        total.available.saturating_add(total.in_transit) <= self.point
    }
}

fn reorder_key(location: &str, sku: &str) -> Vec<u8> {
    key(&[REORDER, location.as_bytes(), sku.as_bytes()])
}

fn stock_key(k: &StockKey) -> Vec<u8> {
    key(&[
        STOCK,
        k.location.as_str().as_bytes(),
        k.sku.as_str().as_bytes(),
        lot_part(k.lot.as_ref()),
    ])
}

fn total_key(k: &StockKey) -> Vec<u8> {
    key(&[TOTAL, k.sku.as_str().as_bytes(), k.location.as_str().as_bytes()])
}

impl Projection for Inventory {
    fn name(&self) -> &'static str {
        "inventory"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, applied: &Applied<'_>) -> Result<(), ApplyError> {
        track_lots(tx, applied.event)?;
        match applied.event {
            Event::LocationDefined(l) => {
                let info = LocationInfo { rank: l.rank, channels: l.channels.clone() };
                tx.put(key(&[LOCATION, l.id.as_str().as_bytes()]), &info)?;
            }
            Event::ChannelDefined(c) => {
                tx.put(key(&[CHANNEL, c.id.as_str().as_bytes()]), &c.priority)?;
            }
            Event::SafetyStockSet(e) => {
                let k = key(&[SAFETY, e.location.as_str().as_bytes(), e.sku.as_str().as_bytes()]);
                if e.qty == 0 {
                    tx.delete(k);
                } else {
                    tx.put(k, &e.qty)?;
                }
            }
            Event::ReorderPointSet(e) => {
                let k = reorder_key(e.location.as_str(), e.sku.as_str());
                if e.point == 0 {
                    tx.delete(k);
                } else {
                    tx.put(k, &ReorderPoint { point: e.point, reorder_qty: e.reorder_qty })?;
                }
            }
            event => {
                for delta in movement::deltas(tx, ALLOC, &|_| true, event)? {
                    for k in [stock_key(&delta.key), total_key(&delta.key)] {
                        let mut stock: Stock = tx.get(&k)?.unwrap_or_default();
                        apply_delta(&mut stock, delta.state, delta.units).map_err(|e| {
                            ApplyError::new(format!("bucket {}: {e}", delta.key.stream()))
                        })?;
                        // Every stored row's on_hand fits in u64, so reads never overflow.
                        if stock.checked_on_hand().is_none() {
                            return Err(ApplyError::new(format!(
                                "bucket {}: on hand would pass {}",
                                delta.key.stream(),
                                u64::MAX
                            )));
                        }
                        tx.put(k, &stock)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The states of one bucket, or of a sum of buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "StockStates", complex)
)]
pub struct StockRow {
    /// The location.
    pub location: String,
    /// The SKU.
    pub sku: String,
    /// The lot; `None` for SKUs without lots and for sums over lots.
    pub lot: Option<String>,
    /// The states.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub stock: Stock,
    /// `available + reserved + picked + packed + quarantined + returned`.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub on_hand: u64,
    /// The reorder point of its location × SKU; null when none is set (and in a lot trace's
    /// rows, which come from the lots view).
    pub reorder_point: Option<ReorderPoint>,
    /// Whether its location × SKU, summed over lots, has available + in transit at or below
    /// the reorder point; false while none is set.
    pub below_reorder_point: bool,
}

impl StockRow {
    fn new(location: String, sku: String, lot: Option<String>, stock: Stock) -> Self {
        let on_hand = stock.on_hand();
        Self { location, sku, lot, stock, on_hand, reorder_point: None, below_reorder_point: false }
    }

    /// This row with the reorder point of its location × SKU, whose stock summed over lots is
    /// `total`.
    fn with_reorder(mut self, point: Option<ReorderPoint>, total: &Stock) -> Self {
        self.below_reorder_point = point.is_some_and(|p| p.is_reached_by(total));
        self.reorder_point = point;
        self
    }

    /// This row, a sum over lots, with the reorder point of its location × SKU.
    fn summed_with_reorder(mut self, point: Option<ReorderPoint>) -> Self {
        self.below_reorder_point = point.is_some_and(|p| p.is_reached_by(&self.stock));
        self.reorder_point = point;
        self
    }
}

/// Stock of a SKU at a location: the sum over lots and each lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockAt {
    /// Summed over lots.
    pub total: StockRow,
    /// One row per lot (one row with `lot: None` for SKUs without lots).
    pub lots: Vec<StockRow>,
}

/// Adds `s` into `into`; `Malformed` when a sum (or its on hand) would not fit in u64.
fn add_stock(into: &mut Stock, s: &Stock) -> Result<()> {
    let overflow = || crate::keys::malformed("inventory", "stock summed over lots overflows u64");
    let add = |a: &mut u64, b: u64| -> Result<()> {
        *a = a.checked_add(b).ok_or_else(overflow)?;
        Ok(())
    };
    add(&mut into.available, s.available)?;
    add(&mut into.reserved, s.reserved)?;
    add(&mut into.picked, s.picked)?;
    add(&mut into.packed, s.packed)?;
    for (reason, n) in &s.quarantined {
        add(into.quarantined.entry(*reason).or_insert(0), *n)?;
    }
    add(&mut into.returned, s.returned)?;
    add(&mut into.in_transit, s.in_transit)?;
    add(&mut into.incoming, s.incoming)?;
    add(&mut into.shipped, s.shipped)?;
    into.checked_on_hand().map(drop).ok_or_else(overflow)
}

fn none_if_empty(part: &[u8]) -> Option<String> {
    (!part.is_empty()).then(|| text(part))
}

/// Stock of `sku` at `location`, summed over lots and per lot.
pub fn stock(r: &ViewReader, location: &str, sku: &str) -> Result<StockAt> {
    let total =
        r.get::<Stock>(&key(&[TOTAL, sku.as_bytes(), location.as_bytes()]))?.unwrap_or_default();
    let point = reorder_point(r, location, sku)?;
    let p = prefix(&[STOCK, location.as_bytes(), sku.as_bytes()]);
    let lots: Vec<StockRow> = r
        .scan_typed::<Stock>(&p)?
        .into_iter()
        .map(|(lot, s)| {
            StockRow::new(location.to_owned(), sku.to_owned(), none_if_empty(&lot), s)
                .with_reorder(point, &total)
        })
        .collect();
    let total =
        StockRow::new(location.to_owned(), sku.to_owned(), None, total).summed_with_reorder(point);
    Ok(StockAt { total, lots })
}

/// The reorder point of `sku` at `location`, if one is set.
pub fn reorder_point(r: &ViewReader, location: &str, sku: &str) -> Result<Option<ReorderPoint>> {
    r.get(&reorder_key(location, sku))
}

/// Totals of `sku` per location (summed over lots), by location, without reorder points.
fn totals_by_sku(r: &ViewReader, sku: &str) -> Result<Vec<StockRow>> {
    Ok(r.scan_typed::<Stock>(&prefix(&[TOTAL, sku.as_bytes()]))?
        .into_iter()
        .map(|(loc, s)| StockRow::new(text(&loc), sku.to_owned(), None, s))
        .collect())
}

/// Stock of `sku` at every location holding or expecting it, summed over lots, by location.
pub fn by_sku(r: &ViewReader, sku: &str) -> Result<Vec<StockRow>> {
    let mut out = Vec::new();
    for row in totals_by_sku(r, sku)? {
        let point = reorder_point(r, &row.location, sku)?;
        out.push(row.summed_with_reorder(point));
    }
    Ok(out)
}

/// Stock of every SKU at `location`, summed over lots, by SKU.
pub fn by_location(r: &ViewReader, location: &str) -> Result<Vec<StockRow>> {
    let mut sums: BTreeMap<String, Stock> = BTreeMap::new();
    for (suffix, s) in r.scan_typed::<Stock>(&prefix(&[STOCK, location.as_bytes()]))? {
        let parts = split(&suffix);
        let sku = parts.first().map(|p| text(p)).unwrap_or_default();
        add_stock(sums.entry(sku).or_default(), &s)?;
    }
    let points: BTreeMap<String, ReorderPoint> = r
        .scan_typed::<ReorderPoint>(&prefix(&[REORDER, location.as_bytes()]))?
        .into_iter()
        .map(|(sku, p)| (text(&sku), p))
        .collect();
    Ok(sums
        .into_iter()
        .map(|(sku, s)| {
            let point = points.get(&sku).copied();
            StockRow::new(location.to_owned(), sku, None, s).summed_with_reorder(point)
        })
        .collect())
}

/// Every bucket (location × SKU × lot) at `location` and/or of `sku` (all buckets when both
/// are `None`), by location, SKU and lot. With only a SKU, the locations come from the totals
/// by SKU, so the read stays within that SKU's buckets.
pub fn buckets(r: &ViewReader, location: Option<&str>, sku: Option<&str>) -> Result<Vec<StockRow>> {
    let locations: Vec<Option<String>> = match (location, sku) {
        (Some(l), _) => vec![Some(l.to_owned())],
        (None, Some(s)) => totals_by_sku(r, s)?.into_iter().map(|row| Some(row.location)).collect(),
        (None, None) => vec![None],
    };
    let mut out = Vec::new();
    for location in locations {
        let mut parts: Vec<&[u8]> = vec![STOCK];
        if let Some(l) = &location {
            parts.push(l.as_bytes());
            if let Some(s) = sku {
                parts.push(s.as_bytes());
            }
        }
        let p = prefix(&parts);
        for (suffix, stock) in r.scan_typed::<Stock>(&p)? {
            let rest = split(&suffix);
            // The parts after the prefix: [location,] [sku,] lot.
            let (l, s, lot) = match (&location, sku) {
                (Some(l), Some(s)) => (l.clone(), s.to_owned(), rest.first().copied()),
                (Some(l), None) => (
                    l.clone(),
                    rest.first().map(|p| text(p)).unwrap_or_default(),
                    rest.get(1).copied(),
                ),
                (None, _) => (
                    rest.first().map(|p| text(p)).unwrap_or_default(),
                    rest.get(1).map(|p| text(p)).unwrap_or_default(),
                    rest.get(2).copied(),
                ),
            };
            if sku.is_some_and(|want| want != s) {
                continue;
            }
            out.push(StockRow::new(l, s, lot.and_then(none_if_empty), stock));
        }
    }
    with_reorder_points(r, out)
}

/// `rows` (in location × SKU order) with the reorder point of each row's location × SKU: one
/// read per location × SKU, and one more of its total when a point is set.
fn with_reorder_points(r: &ViewReader, rows: Vec<StockRow>) -> Result<Vec<StockRow>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut last: Option<(String, String, Option<ReorderPoint>, Stock)> = None;
    for row in rows {
        let same = last.as_ref().is_some_and(|(l, s, _, _)| *l == row.location && *s == row.sku);
        if !same {
            let point = reorder_point(r, &row.location, &row.sku)?;
            let total = match point {
                Some(_) => r
                    .get::<Stock>(&key(&[TOTAL, row.sku.as_bytes(), row.location.as_bytes()]))?
                    .unwrap_or_default(),
                None => Stock::default(),
            };
            last = Some((row.location.clone(), row.sku.clone(), point, total));
        }
        match &last {
            Some((_, _, point, total)) => out.push(row.with_reorder(*point, total)),
            None => out.push(row),
        }
    }
    Ok(out)
}

fn safety(r: &ViewReader, location: &str, sku: &str) -> Result<u64> {
    Ok(r.get::<u64>(&key(&[SAFETY, location.as_bytes(), sku.as_bytes()]))?.unwrap_or(0))
}

fn location_info(r: &ViewReader, location: &str) -> Result<Option<LocationInfo>> {
    r.get(&key(&[LOCATION, location.as_bytes()]))
}

/// Units of `sku` at `location` allocation may take on `today` (see the module doc).
fn allocatable(
    r: &ViewReader,
    location: &str,
    sku: &str,
    total: &Stock,
    today: Date,
) -> Result<u64> {
    let def = r.get::<SkuAllocation>(&key(&[SKUDEF, sku.as_bytes()]))?.unwrap_or_default();
    if !def.lot_tracked {
        return Ok(total.available);
    }
    let mut sum = 0_u64;
    for (suffix, s) in
        r.scan_typed::<Stock>(&prefix(&[STOCK, location.as_bytes(), sku.as_bytes()]))?
    {
        if s.available == 0 || suffix.is_empty() {
            continue;
        }
        let lot = r.get::<Lot>(&key(&[LOT, sku.as_bytes(), &suffix]))?;
        if lot.is_some_and(|l| l.allocatable_on(today, def.shelf_life_margin_days)) {
            sum = sum
                .checked_add(s.available)
                .ok_or_else(|| crate::keys::malformed("inventory", "ATS overflows u64"))?;
        }
    }
    Ok(sum)
}

/// Available-to-sell of `sku` for `channel` on `today`, or network-wide when `channel` is
/// `None`. An unknown channel is treated as `standard` (it may not take safety stock).
pub fn ats(r: &ViewReader, sku: &str, channel: Option<&str>, today: Date) -> Result<u64> {
    let class = match channel {
        Some(c) => r
            .get::<PriorityClass>(&key(&[CHANNEL, c.as_bytes()]))?
            .unwrap_or(PriorityClass::Standard),
        None => PriorityClass::Standard,
    };
    let mut sum = 0_u64;
    for row in totals_by_sku(r, sku)? {
        if let Some(c) = channel {
            let serves = location_info(r, &row.location)?
                .is_some_and(|info| info.channels.iter().any(|ch| ch.as_str() == c));
            if !serves {
                continue;
            }
        }
        let available = allocatable(r, &row.location, sku, &row.stock, today)?;
        let ats = match class {
            PriorityClass::Contract => available,
            PriorityClass::Standard => available.saturating_sub(safety(r, &row.location, sku)?),
        };
        sum = sum
            .checked_add(ats)
            .ok_or_else(|| crate::keys::malformed("inventory", "ATS overflows u64"))?;
    }
    Ok(sum)
}

/// ATS of a SKU network-wide and for every known channel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::SimpleObject),
    graphql(name = "Ats", complex)
)]
pub struct AtsView {
    /// Network ATS.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub network: u64,
    /// Per known channel, by channel id.
    pub channels: Vec<ChannelAts>,
}

/// ATS of a SKU for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject), graphql(complex))]
pub struct ChannelAts {
    /// The channel.
    pub channel: String,
    /// Units the channel may sell.
    #[cfg_attr(feature = "graphql", graphql(skip))]
    pub ats: u64,
}

/// ATS of `sku` network-wide and per channel.
pub fn ats_by_channel(r: &ViewReader, sku: &str, today: Date) -> Result<AtsView> {
    let network = ats(r, sku, None, today)?;
    let mut channels = Vec::new();
    for (suffix, _) in r.scan(&prefix(&[CHANNEL]))? {
        let channel = text(&suffix[prefix(&[CHANNEL]).len()..]);
        let value = ats(r, sku, Some(&channel), today)?;
        channels.push(ChannelAts { channel, ats: value });
    }
    Ok(AtsView { network, channels })
}

/// Master data of a location as the view knows it.
pub fn location(r: &ViewReader, location: &str) -> Result<Option<LocationInfo>> {
    location_info(r, location)
}
