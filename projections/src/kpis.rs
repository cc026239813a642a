//! The KPI view (DOMAIN.md §5): order release time gross and net of holds, return cycle times
//! (customer and operations views) and inventory record accuracy, kept as integer sums and
//! counts so callers compute averages and ratios without floats.
//!
//! Key layout (parts joined by 0x00; day = days since the epoch, 4 order-preserving bytes):
//! - `pending/{order}` → [`PendingRelease`] while an order waits for its release;
//! - `release/{channel}/{day of placement}` → [`ReleaseSums`];
//! - `return/{return}` → [`ReturnTrack`] while a return's cycles are open;
//! - `refundable/{order}` → the order's returns still waiting for refunds, oldest first;
//! - `cycle/{day of completion}` → [`CycleSums`];
//! - `sku/{sku}` → [`AbcClass`] (master data the tolerance needs);
//! - `tolerance/{class}` → [`CountTolerance`] in force (absent: exact);
//! - `accuracy/{location}/{day of the count}` → [`AccuracyCounts`].
//!
//! **Policies.**
//! - *Release time*: received is the business time of `order.received`; released is the first
//!   allocation decision (first `order.line_allocated` or `order.line_backordered`), the policy
//!   of the orders view. Net = gross − time on hold between the two. Orders cancelled before
//!   release never count. Grouped by channel and UTC day of placement.
//! - *Return cycle time*: customer view = refunded − authorized, where refunded is the refund
//!   that covers the return's last unit. Refunds name an order and lines, not a return, so
//!   refunded units of a line go to that order's returns first-authorised first, up to each
//!   return's authorised units; refunded units beyond them (refunds without a return) are not
//!   return refunds. Once a return is closed it needs refunds only for the units received.
//!   Operations view = inspected − received, from the first receipt to the inspection that
//!   reaches the authorised units, or to the last inspection when the return is closed with
//!   fewer. Each view counts on the UTC day its cycle ends.
//! - *Record accuracy*: each cycle count is judged on its own against the tolerance of its
//!   SKU's ABC class (default exact), so a positive variance never offsets a negative one.
//!   The tolerance is the one in force when the count is applied (`set_count_tolerance`,
//!   event `inventory.count_tolerance_set`): a later change judges later counts only and
//!   never rewrites the accuracy of counts already taken, and a rebuild from the log gives the
//!   same answer. Grouped by location and UTC day of the count.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_domain::Event;
use tally_domain::ids::{ChannelId, OrderId, ReturnId};
use tally_domain::master::{AbcClass, CountTolerance};
use tally_domain::time::Timestamp;

use crate::keys::{day_from, day_part, prefix, split, text};
use crate::projection::{Applied, ApplyError, Projection};
use crate::store::{Result, ViewReader};
use crate::tx::{Tx, key};

const PENDING: &[u8] = b"pending";
const RELEASE: &[u8] = b"release";
const RETURN: &[u8] = b"return";
const REFUNDABLE: &[u8] = b"refundable";
const CYCLE: &[u8] = b"cycle";
const SKU: &[u8] = b"sku";
const ACCURACY: &[u8] = b"accuracy";
const TOLERANCE: &[u8] = b"tolerance";

/// The KPI projection. Cycle-count tolerances are master data in the log
/// (`inventory.count_tolerance_set`), so a rebuild judges every count as it was judged live.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kpis;

impl Kpis {
    /// The projection.
    #[must_use]
    pub fn new() -> Self {
        Self
    }
}

/// An order not yet released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRelease {
    /// The channel.
    pub channel: ChannelId,
    /// UTC day of placement.
    pub day: i32,
    /// Business time of `order.received`.
    pub received_at_ms: i64,
    /// Time on closed holds since receipt.
    pub hold_ms: i64,
    /// Start of the open hold, if any.
    pub held_since_ms: Option<i64>,
}

impl PendingRelease {
    /// Closes the open hold at `at_ms`, counting only time after receipt.
    fn close_hold(&mut self, at_ms: i64) -> Result<(), ApplyError> {
        if let Some(since) = self.held_since_ms.take() {
            let held = at_ms.saturating_sub(since.max(self.received_at_ms)).max(0);
            self.hold_ms = checked(self.hold_ms.checked_add(held), "hold time")?;
        }
        Ok(())
    }
}

/// Release times of the orders of one channel placed on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSums {
    /// Orders released.
    pub orders: u64,
    /// Σ (released − received), ms.
    pub gross_ms_sum: i64,
    /// Σ (released − received − time on hold), ms.
    pub net_ms_sum: i64,
}

/// Units of one order line in a return.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLineTrack {
    /// Units authorised.
    pub authorized: u64,
    /// Units received.
    pub received: u64,
    /// Refunded units matched to this return.
    pub refunded: u64,
}

/// A return whose cycles are not both over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnTrack {
    /// The order.
    pub order: OrderId,
    /// Business time of `return.authorized`.
    pub authorized_at_ms: i64,
    /// By order line.
    pub lines: BTreeMap<u32, ReturnLineTrack>,
    /// Units inspected.
    pub inspected: u64,
    /// First receipt.
    pub first_received_at_ms: Option<i64>,
    /// Last inspection.
    pub last_inspected_at_ms: Option<i64>,
    /// Last refund matched to it.
    pub last_refunded_at_ms: Option<i64>,
    /// Whether the return is closed.
    pub closed: bool,
    /// Whether the customer view is over (counted or not countable).
    pub customer_done: bool,
    /// Whether the operations view is over.
    pub operations_done: bool,
}

impl ReturnTrack {
    fn authorized(&self) -> u64 {
        self.lines.values().map(|l| l.authorized).sum()
    }

    /// Units of `line` that still wait for a refund.
    fn refund_outstanding(&self, line: &ReturnLineTrack) -> u64 {
        let target = if self.closed { line.received } else { line.authorized };
        target.saturating_sub(line.refunded)
    }

    fn fully_refunded(&self) -> bool {
        self.lines.values().all(|l| self.refund_outstanding(l) == 0)
    }
}

/// Return cycle times of the cycles ending on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleSums {
    /// Returns whose customer cycle ended.
    pub customer_returns: u64,
    /// Σ (refunded − authorized), ms.
    pub customer_ms_sum: i64,
    /// Returns whose operations cycle ended.
    pub operations_returns: u64,
    /// Σ (inspected − received), ms.
    pub operations_ms_sum: i64,
}

/// Cycle counts of one location on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccuracyCounts {
    /// Counts taken.
    pub counts: u64,
    /// Counts within tolerance.
    pub within: u64,
}

fn checked<T>(value: Option<T>, what: &str) -> Result<T, ApplyError> {
    value.ok_or_else(|| ApplyError::new(format!("{what} overflows")))
}

fn day_of(ms: i64) -> i32 {
    Timestamp::from_millis(ms).date().days()
}

fn pending_key(order: &OrderId) -> Vec<u8> {
    key(&[PENDING, order.as_str().as_bytes()])
}

fn return_key(id: &ReturnId) -> Vec<u8> {
    key(&[RETURN, id.as_str().as_bytes()])
}

fn refundable_key(order: &OrderId) -> Vec<u8> {
    key(&[REFUNDABLE, order.as_str().as_bytes()])
}

fn add_cycle(
    tx: &mut Tx<'_>,
    end_ms: i64,
    start_ms: i64,
    customer: bool,
) -> Result<(), ApplyError> {
    let ms = end_ms.saturating_sub(start_ms);
    let k = key(&[CYCLE, &day_part(day_of(end_ms))]);
    let mut sums: CycleSums = tx.get(&k)?.unwrap_or_default();
    if customer {
        sums.customer_returns += 1;
        sums.customer_ms_sum = checked(sums.customer_ms_sum.checked_add(ms), "cycle sum")?;
    } else {
        sums.operations_returns += 1;
        sums.operations_ms_sum = checked(sums.operations_ms_sum.checked_add(ms), "cycle sum")?;
    }
    tx.put(k, &sums)
}

impl Kpis {
    fn order_event(&self, tx: &mut Tx<'_>, event: &Event, at_ms: i64) -> Result<(), ApplyError> {
        let order = match event {
            Event::OrderHeld(e) => &e.order,
            Event::OrderHoldReleased(e) => &e.order,
            Event::LineAllocated(e) => &e.order,
            Event::LineBackordered(e) => &e.order,
            Event::OrderCancelled(e) | Event::OrderRemainderCancelled(e) => &e.order,
            _ => return Ok(()),
        };
        let k = pending_key(order);
        // Released (or cancelled) orders have no pending entry: later events do not matter.
        let Some(mut p) = tx.get::<PendingRelease>(&k)? else { return Ok(()) };
        match event {
            Event::OrderHeld(_) => {
                if p.held_since_ms.is_none() {
                    p.held_since_ms = Some(at_ms);
                }
                tx.put(k, &p)
            }
            Event::OrderHoldReleased(_) => {
                p.close_hold(at_ms)?;
                tx.put(k, &p)
            }
            Event::LineAllocated(_) | Event::LineBackordered(_) => {
                p.close_hold(at_ms)?;
                let gross = at_ms.saturating_sub(p.received_at_ms);
                let net = gross.saturating_sub(p.hold_ms);
                let agg = key(&[RELEASE, p.channel.as_str().as_bytes(), &day_part(p.day)]);
                let mut sums: ReleaseSums = tx.get(&agg)?.unwrap_or_default();
                sums.orders += 1;
                sums.gross_ms_sum = checked(sums.gross_ms_sum.checked_add(gross), "release sum")?;
                sums.net_ms_sum = checked(sums.net_ms_sum.checked_add(net), "release sum")?;
                tx.put(agg, &sums)?;
                tx.delete(k);
                Ok(())
            }
            _ => {
                tx.delete(k);
                Ok(())
            }
        }
    }

    fn return_event(&self, tx: &mut Tx<'_>, event: &Event, at_ms: i64) -> Result<(), ApplyError> {
        if let Event::ReturnAuthorized(e) = event {
            let k = return_key(&e.return_id);
            if tx.get_raw(&k)?.is_some() {
                return Err(ApplyError::new(format!("return '{}' authorized twice", e.return_id)));
            }
            let mut lines: BTreeMap<u32, ReturnLineTrack> = BTreeMap::new();
            for l in &e.lines {
                lines.entry(l.line).or_default().authorized += l.qty.get();
            }
            let track = ReturnTrack {
                order: e.order.clone(),
                authorized_at_ms: at_ms,
                lines,
                inspected: 0,
                first_received_at_ms: None,
                last_inspected_at_ms: None,
                last_refunded_at_ms: None,
                closed: false,
                customer_done: false,
                operations_done: false,
            };
            tx.update(refundable_key(&e.order), |ids: &mut Vec<ReturnId>| {
                ids.push(e.return_id.clone());
            })?;
            return tx.put(k, &track);
        }
        if let Event::RefundIssued(e) = event {
            return self.refund(tx, &e.order, e.lines.iter().map(|l| (l.line, l.qty.get())), at_ms);
        }
        let id = match event {
            Event::ReturnReceived(e) => &e.return_id,
            Event::ReturnInspected(e) => &e.return_id,
            Event::ReturnClosed(e) => &e.return_id,
            _ => return Ok(()),
        };
        // A return whose cycles are both over is forgotten; later events change nothing.
        let Some(mut t) = tx.get::<ReturnTrack>(&return_key(id))? else { return Ok(()) };
        match event {
            Event::ReturnReceived(e) => {
                t.first_received_at_ms.get_or_insert(at_ms);
                for item in &e.items {
                    t.lines.entry(item.line).or_default().received += item.qty.get();
                }
            }
            Event::ReturnInspected(e) => {
                t.inspected += e.items.iter().map(|i| i.qty.get()).sum::<u64>();
                t.last_inspected_at_ms = Some(at_ms);
                if !t.operations_done && t.inspected >= t.authorized() {
                    t.operations_done = true;
                    let start = t.first_received_at_ms.unwrap_or(at_ms);
                    add_cycle(tx, at_ms, start, false)?;
                }
            }
            Event::ReturnClosed(_) => {
                t.closed = true;
                if !t.operations_done {
                    t.operations_done = true;
                    if let (Some(start), Some(end)) =
                        (t.first_received_at_ms, t.last_inspected_at_ms)
                    {
                        add_cycle(tx, end, start, false)?;
                    }
                }
            }
            _ => {}
        }
        self.settle(tx, id, t)
    }

    /// Matches refunded units of `order` to its returns, oldest first.
    fn refund(
        &self,
        tx: &mut Tx<'_>,
        order: &OrderId,
        lines: impl Iterator<Item = (u32, u64)>,
        at_ms: i64,
    ) -> Result<(), ApplyError> {
        let ids: Vec<ReturnId> = tx.get(&refundable_key(order))?.unwrap_or_default();
        if ids.is_empty() {
            return Ok(());
        }
        let mut tracks = Vec::with_capacity(ids.len());
        for id in ids {
            let t: ReturnTrack = tx
                .get(&return_key(&id))?
                .ok_or_else(|| ApplyError::new(format!("refundable return '{id}' is unknown")))?;
            tracks.push((id, t, false));
        }
        for (line, mut qty) in lines {
            for (_, t, touched) in &mut tracks {
                if qty == 0 {
                    break;
                }
                let Some(l) = t.lines.get(&line).copied() else { continue };
                let take = t.refund_outstanding(&l).min(qty);
                if take > 0 {
                    qty -= take;
                    if let Some(l) = t.lines.get_mut(&line) {
                        l.refunded += take;
                    }
                    t.last_refunded_at_ms = Some(at_ms);
                    *touched = true;
                }
            }
        }
        for (id, t, touched) in tracks {
            if touched {
                self.settle(tx, &id, t)?;
            }
        }
        Ok(())
    }

    /// Ends the customer view when it can, stores the track or forgets it when both views are
    /// over.
    fn settle(&self, tx: &mut Tx<'_>, id: &ReturnId, mut t: ReturnTrack) -> Result<(), ApplyError> {
        if !t.customer_done && t.fully_refunded() {
            t.customer_done = true;
            if let Some(end) = t.last_refunded_at_ms {
                add_cycle(tx, end, t.authorized_at_ms, true)?;
            }
            let rk = refundable_key(&t.order);
            let mut ids: Vec<ReturnId> = tx.get(&rk)?.unwrap_or_default();
            ids.retain(|x| x != id);
            if ids.is_empty() {
                tx.delete(rk);
            } else {
                tx.put(rk, &ids)?;
            }
        }
        if t.customer_done && t.operations_done {
            tx.delete(return_key(id));
            Ok(())
        } else {
            tx.put(return_key(id), &t)
        }
    }
}

impl Projection for Kpis {
    fn name(&self) -> &'static str {
        "kpis"
    }

    fn version(&self) -> u32 {
        1
    }

    fn apply(&self, tx: &mut Tx<'_>, a: &Applied<'_>) -> Result<(), ApplyError> {
        let at_ms = a.occurred_at_ms;
        match a.event {
            Event::SkuDefined(s) => tx.put(key(&[SKU, s.sku.as_str().as_bytes()]), &s.abc),
            Event::OrderReceived(e) => {
                let k = pending_key(&e.order);
                if tx.get_raw(&k)?.is_some() {
                    return Err(ApplyError::new(format!("order '{}' received twice", e.order)));
                }
                let p = PendingRelease {
                    channel: e.channel.clone(),
                    day: e.placed_at.date().days(),
                    received_at_ms: at_ms,
                    hold_ms: 0,
                    held_since_ms: None,
                };
                tx.put(k, &p)
            }
            Event::CountToleranceSet(e) => {
                let k = key(&[TOLERANCE, e.class.as_str().as_bytes()]);
                if e.tolerance.is_exact() {
                    tx.delete(k);
                    Ok(())
                } else {
                    tx.put(k, &e.tolerance)
                }
            }
            Event::CycleCounted(e) => {
                let class: Option<AbcClass> =
                    tx.get(&key(&[SKU, e.key.sku.as_str().as_bytes()]))?;
                let tolerance = match class {
                    Some(class) => tx
                        .get::<CountTolerance>(&key(&[TOLERANCE, class.as_str().as_bytes()]))?
                        .unwrap_or(CountTolerance::EXACT),
                    None => CountTolerance::EXACT,
                };
                let within = tolerance.allows(e.expected, e.counted);
                let k =
                    key(&[ACCURACY, e.key.location.as_str().as_bytes(), &day_part(day_of(at_ms))]);
                tx.update(k, |c: &mut AccuracyCounts| {
                    c.counts += 1;
                    c.within += u64::from(within);
                })?;
                Ok(())
            }
            event @ (Event::OrderHeld(_)
            | Event::OrderHoldReleased(_)
            | Event::LineAllocated(_)
            | Event::LineBackordered(_)
            | Event::OrderCancelled(_)
            | Event::OrderRemainderCancelled(_)) => self.order_event(tx, event, at_ms),
            event @ (Event::ReturnAuthorized(_)
            | Event::ReturnReceived(_)
            | Event::ReturnInspected(_)
            | Event::ReturnClosed(_)
            | Event::RefundIssued(_)) => self.return_event(tx, event, at_ms),
            _ => Ok(()),
        }
    }
}

/// Splits `{text}\0{day: 4 bytes}` (the day is binary, so cut by width).
fn text_and_day(suffix: &[u8]) -> Option<(String, i32)> {
    let cut = suffix.len().checked_sub(5)?;
    let day = day_from(suffix.get(cut + 1..)?)?;
    let group = split(&suffix[..cut]).first().map(|g| text(g)).unwrap_or_default();
    Some((group, day))
}

/// Release times of one channel and day of placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTimeRow {
    /// The channel.
    pub channel: String,
    /// UTC day of placement (days since the epoch).
    pub day: i32,
    /// Orders released.
    pub orders: u64,
    /// Σ (released − received), ms.
    pub gross_ms_sum: i64,
    /// Σ (released − received − time on hold), ms.
    pub net_ms_sum: i64,
}

/// Release times of orders placed on UTC days `from_day..=to_day`, of `channel` or of every
/// channel, by channel then day.
pub fn release_times(
    r: &ViewReader,
    channel: Option<&str>,
    from_day: i32,
    to_day: i32,
) -> Result<Vec<ReleaseTimeRow>> {
    let p = prefix(&[RELEASE]);
    let scan = match channel {
        Some(c) => prefix(&[RELEASE, c.as_bytes()]),
        None => p.clone(),
    };
    let mut out = Vec::new();
    for (k, v) in r.scan(&scan)? {
        let Some((channel, day)) = text_and_day(&k[p.len()..]) else { continue };
        if day < from_day || day > to_day {
            continue;
        }
        let s: ReleaseSums = r.decode(&v)?;
        out.push(ReleaseTimeRow {
            channel,
            day,
            orders: s.orders,
            gross_ms_sum: s.gross_ms_sum,
            net_ms_sum: s.net_ms_sum,
        });
    }
    Ok(out)
}

/// Return cycle times of the cycles ending on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnCycleRow {
    /// UTC day the cycles ended (days since the epoch).
    pub day: i32,
    /// Sums and counts of both views.
    pub sums: CycleSums,
}

/// Return cycle times of cycles ending on UTC days `from_day..=to_day`, by day.
pub fn return_cycle_times(
    r: &ViewReader,
    from_day: i32,
    to_day: i32,
) -> Result<Vec<ReturnCycleRow>> {
    let p = prefix(&[CYCLE]);
    let mut out = Vec::new();
    for (suffix, sums) in r.scan_typed::<CycleSums>(&p)? {
        let Some(day) = day_from(&suffix) else { continue };
        if day < from_day || day > to_day {
            continue;
        }
        out.push(ReturnCycleRow { day, sums });
    }
    Ok(out)
}

/// Cycle counts of one location and day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccuracyRow {
    /// The location.
    pub location: String,
    /// UTC day of the counts (days since the epoch).
    pub day: i32,
    /// Counts taken.
    pub counts: u64,
    /// Counts within tolerance.
    pub within: u64,
}

/// Inventory record accuracy of counts taken on UTC days `from_day..=to_day`, at `location`
/// or everywhere, by location then day. Accuracy = Σ within / Σ counts.
pub fn record_accuracy(
    r: &ViewReader,
    location: Option<&str>,
    from_day: i32,
    to_day: i32,
) -> Result<Vec<AccuracyRow>> {
    let p = prefix(&[ACCURACY]);
    let scan = match location {
        Some(l) => prefix(&[ACCURACY, l.as_bytes()]),
        None => p.clone(),
    };
    let mut out = Vec::new();
    for (k, v) in r.scan(&scan)? {
        let Some((location, day)) = text_and_day(&k[p.len()..]) else { continue };
        if day < from_day || day > to_day {
            continue;
        }
        let c: AccuracyCounts = r.decode(&v)?;
        out.push(AccuracyRow { location, day, counts: c.counts, within: c.within });
    }
    Ok(out)
}

/// The cycle-count tolerance in force for each ABC class (exact for a class never set).
pub fn count_tolerances(r: &ViewReader) -> Result<Vec<(AbcClass, CountTolerance)>> {
    AbcClass::ALL
        .into_iter()
        .map(|class| {
            let t = r.get::<CountTolerance>(&key(&[TOLERANCE, class.as_str().as_bytes()]))?;
            Ok((class, t.unwrap_or(CountTolerance::EXACT)))
        })
        .collect()
}
