//! Decisions on master data: locations, channels, SKUs and safety stock.

use std::collections::BTreeSet;

use super::orders::fill;
use super::{Decision, non_negative};
use crate::allocation::Overlay;
use crate::command::{
    DefineChannel, DefineLocation, DefineSku, SetCountTolerance, SetReorderPoint, SetSafetyStock,
};
use crate::event::{CountToleranceSet, Event, ReorderPointSet, SafetyStockSet};
use crate::master::{Channel, CountTolerance, Location, SkuDef};
use crate::money::Rate;
use crate::rejection::Rejection;

pub(super) fn define_location(
    d: &Decision<'_>,
    c: &DefineLocation,
) -> Result<Vec<Event>, Rejection> {
    for channel in &c.channels {
        d.channel(channel)?;
    }
    if c.rank > crate::limits::RANK_MAX {
        return Err(Rejection::InvalidInput(format!(
            "rank {} is above {}",
            c.rank,
            crate::limits::RANK_MAX
        )));
    }
    let location = Location {
        id: c.location.clone(),
        kind: c.kind,
        rank: c.rank,
        channels: c.channels.iter().cloned().collect::<BTreeSet<_>>(),
    };
    if d.state.locations.get(&c.location) == Some(&location) {
        return Ok(Vec::new());
    }
    Ok(vec![Event::LocationDefined(location)])
}

pub(super) fn define_channel(d: &Decision<'_>, c: &DefineChannel) -> Result<Vec<Event>, Rejection> {
    let channel = Channel {
        id: c.channel.clone(),
        priority: c.priority,
        kind: c.kind,
        currency: c.currency,
        facilitator_tax: c.facilitator_tax,
    };
    if let Some(existing) = d.state.channels.get(&c.channel) {
        if existing == &channel {
            return Ok(Vec::new());
        }
        let open = d.state.orders.values().any(|o| o.channel == c.channel);
        if existing.currency != c.currency && open {
            return Err(Rejection::InvalidState {
                entity: "channel",
                id: c.channel.to_string(),
                state: "in use by open orders".to_owned(),
                action: "change its currency",
            });
        }
    }
    Ok(vec![Event::ChannelDefined(channel)])
}

pub(super) fn define_sku(d: &Decision<'_>, c: &DefineSku) -> Result<Vec<Event>, Rejection> {
    non_negative("unit cost", c.unit_cost, true)?;
    if c.shelf_life_margin_days > crate::limits::SHELF_LIFE_MARGIN_DAYS_MAX {
        return Err(Rejection::InvalidInput(format!(
            "shelf life margin of {} days is above {}",
            c.shelf_life_margin_days,
            crate::limits::SHELF_LIFE_MARGIN_DAYS_MAX
        )));
    }
    let def = SkuDef {
        sku: c.sku.clone(),
        lot_tracked: c.lot_tracked,
        shelf_life_margin_days: c.shelf_life_margin_days,
        unit_cost: c.unit_cost,
        abc: c.abc,
    };
    if let Some(existing) = d.state.skus.get(&c.sku) {
        if existing == &def {
            return Ok(Vec::new());
        }
        let stocked = d.state.stock.keys().any(|k| k.sku == c.sku);
        if existing.lot_tracked != c.lot_tracked && stocked {
            return Err(Rejection::InvalidState {
                entity: "sku",
                id: c.sku.to_string(),
                state: "stocked".to_owned(),
                action: "change lot tracking",
            });
        }
    }
    Ok(vec![Event::SkuDefined(def)])
}

pub(super) fn set_safety_stock(
    d: &Decision<'_>,
    c: &SetSafetyStock,
) -> Result<Vec<Event>, Rejection> {
    d.location(&c.location)?;
    d.sku(&c.sku)?;
    let qty = super::units(c.qty)?;
    let before = d.state.safety_stock(&c.location, &c.sku);
    if before == qty {
        return Ok(Vec::new());
    }
    let mut events = vec![Event::SafetyStockSet(SafetyStockSet {
        location: c.location.clone(),
        sku: c.sku.clone(),
        qty,
    })];
    if qty < before {
        // Lowered safety stock frees units for standard channels: fill what waits.
        let mut overlay = Overlay::new();
        overlay.set_safety(&c.location, &c.sku, qty);
        events.extend(fill(d, &mut overlay, &BTreeSet::from([c.sku.clone()])));
    }
    Ok(events)
}

/// Records a reorder point: location and SKU defined, point ≥ 0 and, when set, a reorder
/// quantity ≥ 1; clearing one that is not set, or setting the same values, is a no-op.
pub(super) fn set_reorder_point(
    d: &Decision<'_>,
    c: &SetReorderPoint,
) -> Result<Vec<Event>, Rejection> {
    d.location(&c.location)?;
    d.sku(&c.sku)?;
    let point = super::units(c.point)?;
    let (point, reorder_qty) = if point == 0 {
        (0, 0)
    } else {
        let qty = super::units(c.reorder_qty)?;
        if qty == 0 {
            return Err(Rejection::InvalidQuantity(c.reorder_qty));
        }
        (point, qty)
    };
    let before = d.state.reorder_point(&c.location, &c.sku).unwrap_or((0, 0));
    if before == (point, reorder_qty) {
        return Ok(Vec::new());
    }
    Ok(vec![Event::ReorderPointSet(ReorderPointSet {
        location: c.location.clone(),
        sku: c.sku.clone(),
        point,
        reorder_qty,
    })])
}

/// Records the cycle-count tolerance of an ABC class: units within
/// [`crate::limits::COUNT_TOLERANCE_UNITS_MAX`], a fraction from 0 to 1 (the `Rate` type's own
/// bound); setting the values in force is a no-op. Counts already taken keep their judgement.
pub(super) fn set_count_tolerance(
    d: &Decision<'_>,
    c: &SetCountTolerance,
) -> Result<Vec<Event>, Rejection> {
    let units = super::units(c.units)?;
    debug_assert!(units <= crate::limits::COUNT_TOLERANCE_UNITS_MAX);
    let tolerance = CountTolerance { units, fraction: c.fraction.unwrap_or(Rate::ZERO) };
    if d.state.count_tolerance(c.class) == tolerance {
        return Ok(Vec::new());
    }
    Ok(vec![Event::CountToleranceSet(CountToleranceSet { class: c.class, tolerance })])
}
