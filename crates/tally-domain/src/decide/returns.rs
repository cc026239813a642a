//! Decisions on customer returns: authorise, receive into `returned`, inspect with a
//! disposition per unit (restocked units go back into inventory value), close.

use std::collections::{BTreeMap, BTreeSet};

use super::orders::fill;
use super::{Decision, Journal, positive};
use crate::allocation::Overlay;
use crate::command::{AuthorizeReturn, InspectReturn, ReceiveReturn, ReturnRef};
use crate::event::QuarantineMove;
use crate::event::{
    Event, ExceptionKind, ExceptionRaised, InspectedItem, ReturnAuthorized, ReturnClosed,
    ReturnInspected, ReturnItem, ReturnLineQty, ReturnReceived,
};
use crate::ids::{LotId, OrderId, ReturnId};
use crate::inventory::StockKey;
use crate::journal::{Account, JournalRef, Posting};
use crate::order::{Line, OrderStatus};
use crate::quantity::Quantity;
use crate::rejection::Rejection;
use crate::returns::{Disposition, Return};

/// The lines of a sold order, open or delivered.
pub(super) fn sold_lines<'a>(
    d: &'a Decision<'_>,
    order: &OrderId,
) -> Result<&'a [Line], Rejection> {
    if let Some(o) = d.state.orders.get(order) {
        return Ok(&o.lines);
    }
    match d.closed(order) {
        Some(closed) => match &closed.returnable {
            Some(r) => Ok(&r.lines),
            None => Err(Rejection::InvalidState {
                entity: "order",
                id: order.to_string(),
                state: OrderStatus::Cancelled.as_str().to_owned(),
                action: "return or refund",
            }),
        },
        None => Err(Rejection::UnknownOrder(order.clone())),
    }
}

pub(super) fn line_of<'a>(
    lines: &'a [Line],
    order: &OrderId,
    line: u32,
) -> Result<&'a Line, Rejection> {
    usize::try_from(line)
        .ok()
        .and_then(|i| lines.get(i))
        .ok_or_else(|| Rejection::UnknownLine { order: order.clone(), line })
}

fn open_return<'a>(d: &'a Decision<'_>, id: &ReturnId) -> Result<&'a Return, Rejection> {
    d.state.returns.get(id).ok_or_else(|| Rejection::UnknownReturn(id.clone()))
}

pub(super) fn authorize(d: &Decision<'_>, c: &AuthorizeReturn) -> Result<Vec<Event>, Rejection> {
    if d.state.returns.contains_key(&c.return_id) {
        return Err(Rejection::DuplicateId { kind: "return", id: c.return_id.to_string() });
    }
    let lines = sold_lines(d, &c.order)?;
    if c.lines.is_empty() {
        return Err(Rejection::InvalidInput(format!("return '{}' has no lines", c.return_id)));
    }
    let mut asked: BTreeMap<u32, u64> = BTreeMap::new();
    for l in &c.lines {
        line_of(lines, &c.order, l.line)?;
        *asked.entry(l.line).or_insert(0) += positive(l.qty)?.get();
    }
    let mut out = Vec::with_capacity(asked.len());
    for (n, qty) in asked {
        let line = line_of(lines, &c.order, n)?;
        let allowed = line.shipped.saturating_sub(line.after_sale.return_authorized);
        if qty > allowed {
            return Err(Rejection::ExceedsOutstanding { what: "return", requested: qty, allowed });
        }
        out.push(ReturnLineQty {
            line: n,
            sku: line.sku.clone(),
            qty: positive(i64::try_from(qty).unwrap_or(i64::MAX))?,
        });
    }
    Ok(vec![Event::ReturnAuthorized(ReturnAuthorized {
        return_id: c.return_id.clone(),
        order: c.order.clone(),
        lines: out,
    })])
}

pub(super) fn receive(d: &Decision<'_>, c: &ReceiveReturn) -> Result<Vec<Event>, Rejection> {
    let ret = open_return(d, &c.return_id)?;
    d.location(&c.location)?;
    if ret.location.as_ref().is_some_and(|l| l != &c.location) {
        return Err(Rejection::InvalidState {
            entity: "return",
            id: c.return_id.to_string(),
            state: format!("received at another location than '{}'", c.location),
            action: "receive",
        });
    }
    if c.items.is_empty() {
        return Err(Rejection::InvalidInput(format!(
            "return '{}' receipt has no items",
            c.return_id
        )));
    }
    let mut per_line: BTreeMap<u32, u64> = BTreeMap::new();
    let mut items = Vec::with_capacity(c.items.len());
    for item in &c.items {
        let line = ret
            .lines
            .get(&item.line)
            .ok_or_else(|| Rejection::UnknownLine { order: ret.order.clone(), line: item.line })?;
        let def = d.sku(&line.sku)?;
        d.check_lot_shape(def, item.lot.as_ref())?;
        if let Some(lot) = &item.lot {
            d.known_lot(&line.sku, lot)?;
        }
        let qty = positive(item.qty)?;
        let total = per_line.entry(item.line).or_insert(0);
        *total += qty.get();
        let allowed = line.authorized.saturating_sub(line.received);
        if *total > allowed {
            return Err(Rejection::ExceedsOutstanding {
                what: "return receipt",
                requested: *total,
                allowed,
            });
        }
        items.push(ReturnItem {
            line: item.line,
            sku: line.sku.clone(),
            lot: item.lot.clone(),
            qty,
        });
    }
    // Traceability (DOMAIN §7): a lot-tracked unit must come back as a lot that was shipped on
    // its order line. Units of another lot are a fact, still received, but go straight to
    // quarantine (an inspection by the ledger itself) with an exception for a person to check.
    let sold = sold_lines(d, &ret.order)?;
    let mut unverified: Vec<InspectedItem> = Vec::new();
    let mut claimed: BTreeMap<(u32, &LotId), u64> = BTreeMap::new();
    for item in &items {
        let Some(lot) = &item.lot else { continue };
        let shipped = line_of(sold, &ret.order, item.line)?.shipped_lots.get(lot).copied();
        let so_far = claimed.entry((item.line, lot)).or_insert(0);
        *so_far += item.qty.get();
        if shipped.is_none_or(|n| *so_far > n) {
            unverified.push(InspectedItem {
                line: item.line,
                sku: item.sku.clone(),
                lot: item.lot.clone(),
                qty: item.qty,
                disposition: Disposition::Quarantine,
            });
        }
    }
    let mut events = vec![Event::ReturnReceived(ReturnReceived {
        return_id: c.return_id.clone(),
        location: c.location.clone(),
        items: items.clone(),
    })];
    if unverified.is_empty() {
        return Ok(events);
    }
    let mut names = Vec::new();
    for u in &unverified {
        names.push(format!(
            "{} × {} lot {} on line {}",
            u.qty.get(),
            u.sku,
            u.lot.as_ref().map_or("", LotId::as_str),
            u.line
        ));
    }
    let inspected = Event::ReturnInspected(ReturnInspected {
        return_id: c.return_id.clone(),
        location: c.location.clone(),
        items: unverified,
    });
    // Kept units come back into inventory value at the moving average, as in an inspection.
    let mut postings = Vec::new();
    for value in crate::valuation::Scratch::new(d.state).event(&inspected) {
        super::amount("restock value", value)?;
        postings.push(Posting::debit(Account::Inventory, value));
        postings.push(Posting::credit(Account::CostOfGoodsSold, value));
    }
    events.push(inspected);
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Return(c.return_id.clone()),
        "return quarantined",
        postings,
    )?);
    events.push(Event::ExceptionRaised(ExceptionRaised {
        kind: ExceptionKind::ReturnLotMismatch,
        subject: JournalRef::Return(c.return_id.clone()),
        message: format!(
            "return {} of order {}: {} not shipped on that line; received into quarantine",
            c.return_id,
            ret.order,
            names.join(", ")
        ),
    }));
    Ok(events)
}

pub(super) fn inspect(d: &Decision<'_>, c: &InspectReturn) -> Result<Vec<Event>, Rejection> {
    let ret = open_return(d, &c.return_id)?;
    let Some(location) = ret.location.clone() else {
        return Err(Rejection::InvalidState {
            entity: "return",
            id: c.return_id.to_string(),
            state: ret.state_name().to_owned(),
            action: "inspect before receipt",
        });
    };
    if c.items.is_empty() {
        return Err(Rejection::InvalidInput(format!(
            "return '{}' inspection has no items",
            c.return_id
        )));
    }
    let mut taken: BTreeMap<(u32, Option<LotId>), u64> = BTreeMap::new();
    let mut items = Vec::with_capacity(c.items.len());
    let mut restocked = Vec::new();
    for item in &c.items {
        let line = ret
            .lines
            .get(&item.line)
            .ok_or_else(|| Rejection::UnknownLine { order: ret.order.clone(), line: item.line })?;
        let qty = positive(item.qty)?;
        let pk = (item.line, item.lot.clone());
        let allowed = ret.pending.get(&pk).copied().unwrap_or(0);
        let total = taken.entry(pk).or_insert(0);
        *total += qty.get();
        if *total > allowed {
            return Err(Rejection::ExceedsOutstanding {
                what: "inspection",
                requested: *total,
                allowed,
            });
        }
        let key = StockKey::new(location.clone(), line.sku.clone(), item.lot.clone());
        if item.disposition == Disposition::Restock {
            restocked.push((key.clone(), qty.get()));
        }
        items.push(InspectedItem {
            line: item.line,
            sku: line.sku.clone(),
            lot: item.lot.clone(),
            qty,
            disposition: item.disposition,
        });
    }
    let inspected =
        Event::ReturnInspected(ReturnInspected { return_id: c.return_id.clone(), location, items });
    // Units kept (restocked or quarantined) go back into inventory value at the SKU's moving
    // average now (its standard cost when none is on hand): crate::valuation.
    let mut postings = Vec::new();
    for value in crate::valuation::Scratch::new(d.state).event(&inspected) {
        super::amount("restock value", value)?;
        postings.push(Posting::debit(Account::Inventory, value));
        postings.push(Posting::credit(Account::CostOfGoodsSold, value));
    }
    let mut events = vec![inspected];
    let mut journal = Journal::new(d);
    events.extend(journal.post(
        JournalRef::Return(c.return_id.clone()),
        "return restocked",
        postings,
    )?);
    let mut overlay = Overlay::new();
    let mut skus = BTreeSet::new();
    for (key, qty) in restocked {
        // A recalled or expired lot is never restocked to available: it goes to quarantine.
        let def = d.sku(&key.sku)?;
        if let Some(reason) = super::inventory::held_back(d, def, &key, None) {
            let qty = Quantity::from_u64(qty).map_err(|_| Rejection::InvalidQuantity(0))?;
            events.push(Event::StockQuarantined(QuarantineMove { key, qty, reason }));
            continue;
        }
        overlay.add(&key, i64::try_from(qty).unwrap_or(i64::MAX));
        skus.insert(key.sku);
    }
    events.extend(fill(d, &mut overlay, &skus));
    Ok(events)
}

pub(super) fn close(d: &Decision<'_>, c: &ReturnRef) -> Result<Vec<Event>, Rejection> {
    let ret = open_return(d, &c.return_id)?;
    if ret.pending.values().any(|n| *n > 0) {
        return Err(Rejection::InvalidState {
            entity: "return",
            id: c.return_id.to_string(),
            state: ret.state_name().to_owned(),
            action: "close with units awaiting inspection",
        });
    }
    Ok(vec![Event::ReturnClosed(ReturnClosed { return_id: c.return_id.clone() })])
}
