//! The fill-rate view (DOMAIN.md §5): unit, line and order fill rate, first-time and final,
//! per channel and per location, per UTC day of placement, as numerators and denominators.
//!
//! Key layout (parts joined by 0x00):
//! - `order/{order}` → [`FillOrder`] while the order can still change its counts;
//! - `agg/{channel|location}/{value}/{day}` → [`FillCounts`] (day: days since the epoch, 4
//!   order-preserving bytes).
//!
//! Each order contributes a pure function of its [`FillOrder`] to the aggregates; on every
//! event the old contribution is taken out and the new one put in, so counts never drift.
//!
//! **Policies.** *First-time filled*: the units the first allocation decision reserved for the
//! line (backorder fills later do not count); *final filled*: units shipped. A line is filled in
//! full when that reaches the ordered quantity; an order when every line is and none was
//! substituted. Customer cancellations before release (before the first allocation) leave the
//! denominators; every other cancellation (stockout, fraud, customer after release) stays in
//! them with nothing filled. *Location grouping*: a line belongs to the location of its first
//! reservation, or to the empty location when nothing was ever reserved for it; an order
//! counts once at every location one of its lines belongs to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::ids::{ChannelId, LocationId, OrderId};
use tally_domain::order::CancelReason;

use crate::keys::{day_from, day_part, prefix, split, text};
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::{Tx, key};

const ORDER: &[u8] = b"order";
const AGG: &[u8] = b"agg";

/// The fill-rate projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct FillRate;

/// One line as fill rates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillLine {
    /// Units ordered.
    pub ordered: u64,
    /// Units the first allocation decision reserved.
    pub first_reserved: u64,
    /// Whether the first allocation decision is over for this line.
    pub first_closed: bool,
    /// Units shipped.
    pub shipped: u64,
    /// Location of its first reservation.
    pub location: Option<LocationId>,
    /// Whether its SKU was substituted.
    pub substituted: bool,
}

/// An order as fill rates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillOrder {
    /// The channel.
    pub channel: ChannelId,
    /// UTC day of placement (days since the epoch).
    pub day: i32,
    /// Its lines.
    pub lines: Vec<FillLine>,
    /// Whether it was released (first allocation decision).
    pub released: bool,
    /// Why it was cancelled.
    pub cancelled: Option<CancelReason>,
}

/// Numerators and denominators of the three fill rates on both bases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillCounts {
    /// Orders (denominator of order fill rate).
    pub orders: i64,
    /// Lines (denominator of line fill rate).
    pub lines: i64,
    /// Units ordered (denominator of unit fill rate).
    pub units: i64,
    /// Orders filled in full at first allocation, without substitution.
    pub first_orders: i64,
    /// Lines reserved in full at first allocation.
    pub first_lines: i64,
    /// Units reserved at first allocation.
    pub first_units: i64,
    /// Orders shipped in full, without substitution.
    pub final_orders: i64,
    /// Lines shipped in full.
    pub final_lines: i64,
    /// Units shipped.
    pub final_units: i64,
}

impl FillCounts {
    /// Adds `other`'s counts to these (the counts of two disjoint sets of orders).
    pub fn add(&mut self, other: &FillCounts) {
        self.combine(other, 1);
    }

    fn combine(&mut self, o: &FillCounts, sign: i64) {
        self.orders += sign * o.orders;
        self.lines += sign * o.lines;
        self.units += sign * o.units;
        self.first_orders += sign * o.first_orders;
        self.first_lines += sign * o.first_lines;
        self.first_units += sign * o.first_units;
        self.final_orders += sign * o.final_orders;
        self.final_lines += sign * o.final_lines;
        self.final_units += sign * o.final_units;
    }

    fn is_zero(&self) -> bool {
        *self == FillCounts::default()
    }

    /// `numerator / denominator` in basis points (integer, rounded down); `None` when the
    /// denominator is zero.
    #[must_use]
    pub fn bps(numerator: i64, denominator: i64) -> Option<i64> {
        (denominator > 0).then(|| numerator.saturating_mul(10_000) / denominator)
    }
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn counts_of<'a>(lines: impl Iterator<Item = &'a FillLine>, unfilled: bool) -> FillCounts {
    let mut c = FillCounts { orders: 1, ..FillCounts::default() };
    let (mut all_first, mut all_final, mut substituted) = (true, true, false);
    // A line an amendment removed (0 units) is no line of the order.
    for l in lines.filter(|l| l.ordered > 0) {
        c.lines += 1;
        c.units += signed(l.ordered);
        substituted |= l.substituted;
        let first = l.first_reserved.min(l.ordered);
        let fin = l.shipped.min(l.ordered);
        let first_full = l.first_closed && first >= l.ordered;
        let final_full = fin >= l.ordered;
        all_first &= first_full;
        all_final &= final_full;
        if !unfilled {
            c.first_units += signed(first);
            c.final_units += signed(fin);
            c.first_lines += i64::from(first_full);
            c.final_lines += i64::from(final_full);
        }
    }
    if !unfilled && !substituted {
        c.first_orders = i64::from(all_first);
        c.final_orders = i64::from(all_final);
    }
    c
}

/// The aggregate keys and counts an order contributes.
fn contribution(o: &FillOrder) -> BTreeMap<Vec<u8>, FillCounts> {
    let mut out = BTreeMap::new();
    if o.cancelled == Some(CancelReason::Customer) && !o.released {
        return out;
    }
    let unfilled = o.cancelled.is_some();
    let day = day_part(o.day);
    out.insert(
        key(&[AGG, b"channel", o.channel.as_str().as_bytes(), &day]),
        counts_of(o.lines.iter(), unfilled),
    );
    let mut by_location: BTreeMap<&[u8], Vec<&FillLine>> = BTreeMap::new();
    for l in &o.lines {
        let at = l.location.as_ref().map_or(&[][..], |x| x.as_str().as_bytes());
        by_location.entry(at).or_default().push(l);
    }
    for (at, lines) in by_location {
        out.insert(key(&[AGG, b"location", at, &day]), counts_of(lines.into_iter(), unfilled));
    }
    out
}

fn order_of(event: &Event) -> Option<&OrderId> {
    match event {
        Event::OrderAmended(e) => Some(&e.order),
        Event::LineAllocated(e) => Some(&e.order),
        Event::LineBackordered(e) => Some(&e.order),
        Event::LineSubstituted(e) => Some(&e.order),
        Event::OrderShipped(e) => Some(&e.order),
        Event::OrderCancelled(e) => Some(&e.order),
        Event::BackordersCancelled(e) => Some(&e.order),
        Event::OrderDelivered(e) => Some(&e.order),
        _ => None,
    }
}

fn line_mut(o: &mut FillOrder, line: u32) -> Result<&mut FillLine, ApplyError> {
    usize::try_from(line)
        .ok()
        .and_then(|i| o.lines.get_mut(i))
        .ok_or_else(|| ApplyError::new(format!("no line {line}")))
}

fn change(o: &mut FillOrder, event: &Event) -> Result<(), ApplyError> {
    match event {
        // The order as amended: units are counted as they are now; a line whose first
        // allocation already reserved all its units now is filled first time.
        Event::OrderAmended(e) => {
            for (n, new) in e.lines.iter().enumerate() {
                if let Some(l) = o.lines.get_mut(n) {
                    l.ordered = new.qty;
                    if o.released && !l.first_closed {
                        l.first_closed = l.first_reserved >= l.ordered;
                    }
                } else {
                    o.lines.push(FillLine {
                        ordered: new.qty,
                        first_reserved: 0,
                        first_closed: false,
                        shipped: 0,
                        location: None,
                        substituted: false,
                    });
                }
            }
        }
        Event::LineAllocated(e) => {
            o.released = true;
            let l = line_mut(o, e.line)?;
            if l.location.is_none() {
                l.location = Some(e.location.clone());
            }
            if e.backorder_fill {
                l.first_closed = true;
            } else if !l.first_closed {
                l.first_reserved += e.qty.get();
                l.first_closed = l.first_reserved >= l.ordered;
            }
        }
        Event::LineBackordered(e) => {
            o.released = true;
            line_mut(o, e.line)?.first_closed = true;
        }
        Event::LineSubstituted(e) => line_mut(o, e.line)?.substituted = true,
        Event::OrderShipped(e) => {
            for item in &e.items {
                line_mut(o, item.line)?.shipped += item.qty.get();
            }
        }
        Event::OrderCancelled(e) => o.cancelled = Some(e.reason),
        // Waiting units cancelled: the order was not filled in full (stockout policy, §5).
        Event::BackordersCancelled(e) => o.cancelled = Some(e.reason),
        _ => {}
    }
    Ok(())
}

fn write(tx: &mut Tx<'_>, before: Option<&FillOrder>, after: &FillOrder) -> Result<(), ApplyError> {
    let mut net: BTreeMap<Vec<u8>, FillCounts> = BTreeMap::new();
    if let Some(b) = before {
        for (k, c) in contribution(b) {
            net.entry(k).or_default().combine(&c, -1);
        }
    }
    for (k, c) in contribution(after) {
        net.entry(k).or_default().combine(&c, 1);
    }
    for (k, delta) in net {
        if delta.is_zero() {
            continue;
        }
        let mut total: FillCounts = tx.get(&k)?.unwrap_or_default();
        total.combine(&delta, 1);
        if total.is_zero() {
            tx.delete(k);
        } else {
            tx.put(k, &total)?;
        }
    }
    Ok(())
}

impl Projection for FillRate {
    fn name(&self) -> &'static str {
        "fill_rate"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        if let Event::OrderReceived(e) = a.event {
            let o = FillOrder {
                channel: e.channel.clone(),
                day: e.placed_at.date().days(),
                lines: e
                    .lines
                    .iter()
                    .map(|l| FillLine {
                        ordered: l.qty.get(),
                        first_reserved: 0,
                        first_closed: false,
                        shipped: 0,
                        location: None,
                        substituted: false,
                    })
                    .collect(),
                released: false,
                cancelled: None,
            };
            write(tx, None, &o)?;
            return tx.put(key(&[ORDER, e.order.as_str().as_bytes()]), &o);
        }
        let Some(id) = order_of(a.event) else { return Ok(()) };
        let k = key(&[ORDER, id.as_str().as_bytes()]);
        let before: FillOrder =
            tx.get(&k)?.ok_or_else(|| ApplyError::new(format!("unknown order '{id}'")))?;
        let mut after = before.clone();
        change(&mut after, a.event).map_err(|e| ApplyError::new(format!("order '{id}': {e}")))?;
        write(tx, Some(&before), &after)?;
        // Delivered and cancelled orders cannot change their counts any more.
        if matches!(a.event, Event::OrderDelivered(_) | Event::OrderCancelled(_)) {
            tx.delete(k);
        } else {
            tx.put(k, &after)?;
        }
        Ok(())
    }
}

/// How to group fill rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// By channel.
    Channel,
    /// By location (the empty location holds lines nothing was reserved for).
    Location,
}

/// Fill counts of one group over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillRateRow {
    /// The channel or location.
    pub group: String,
    /// Summed over the days of the window.
    pub counts: FillCounts,
}

/// Fill counts per group for orders placed on UTC days `from_day..=to_day` (days since the
/// epoch), by group.
pub fn fill_rates(
    r: &ViewReader,
    grouping: Grouping,
    from_day: i32,
    to_day: i32,
) -> Result<Vec<FillRateRow>> {
    let dim: &[u8] = match grouping {
        Grouping::Channel => b"channel",
        Grouping::Location => b"location",
    };
    let mut sums: BTreeMap<String, FillCounts> = BTreeMap::new();
    for (suffix, c) in r.scan_typed::<FillCounts>(&prefix(&[AGG, dim]))? {
        // `{group}\0{day: 4 bytes}`: the group is text, the day is the last 4 bytes.
        let Some(cut) = suffix.len().checked_sub(5) else { continue };
        let Some(day) = suffix.get(cut + 1..).and_then(day_from) else { continue };
        if day < from_day || day > to_day {
            continue;
        }
        let group = split(&suffix[..cut]).first().map(|g| text(g)).unwrap_or_default();
        sums.entry(group).or_default().combine(&c, 1);
    }
    Ok(sums.into_iter().map(|(group, counts)| FillRateRow { group, counts }).collect())
}
