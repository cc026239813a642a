//! `decide`: the pure function from state, command and context to events or a rejection.
//! One submodule per family of commands; shared checks live here.

mod finance;
mod inventory;
mod master;
mod orders;
pub use orders::ORDER_LINES_MAX;
mod returns;

use crate::command::{Command, Context};
use crate::event::Event;
use crate::ids::{ChannelId, JournalEntryId, LocationId, LotId, OrderId, Sku};
use crate::inventory::{Lot, StockKey};
use crate::journal::{JournalEntry, JournalRef, Posting, check_balanced, compact};
use crate::master::{Channel, Location, SkuDef};
use crate::money::{Currency, Money};
use crate::order::Order;
use crate::quantity::Quantity;
use crate::rejection::Rejection;
use crate::state::State;

/// Decides what `command` means given `state`: the events to append, or why not.
/// The same state, command and context always give the same result.
pub fn decide(state: &State, command: &Command, ctx: &Context) -> Result<Vec<Event>, Rejection> {
    let d = Decision { state, ctx };
    match command {
        Command::DefineLocation(c) => master::define_location(&d, c),
        Command::DefineChannel(c) => master::define_channel(&d, c),
        Command::DefineSku(c) => master::define_sku(&d, c),
        Command::SetSafetyStock(c) => master::set_safety_stock(&d, c),
        Command::ReceiveOrder(c) => orders::receive(&d, c),
        Command::ValidateOrder(c) => orders::validate(&d, c),
        Command::HoldOrder(c) => orders::hold(&d, c),
        Command::ReleaseHold(c) => orders::release_hold(&d, c),
        Command::AllocateOrder(c) => orders::allocate(&d, c),
        Command::PickOrder(c) => orders::pick(&d, c),
        Command::PackOrder(c) => orders::pack(&d, c),
        Command::ShipOrder(c) => orders::ship(&d, c),
        Command::DeliverOrder(c) => orders::deliver(&d, c),
        Command::CancelOrder(c) => orders::cancel(&d, c),
        Command::SubstituteLine(c) => orders::substitute(&d, c),
        Command::ExpectInbound(c) => inventory::expect_inbound(&d, c),
        Command::ReceiveInventory(c) => inventory::receive(&d, c),
        Command::AdjustInventory(c) => inventory::adjust(&d, c),
        Command::CycleCount(c) => inventory::cycle_count(&d, c),
        Command::ShipTransfer(c) => inventory::ship_transfer(&d, c),
        Command::ReceiveTransfer(c) => inventory::receive_transfer(&d, c),
        Command::QuarantineStock(c) => inventory::quarantine(&d, c),
        Command::ReleaseQuarantine(c) => inventory::release_quarantine(&d, c),
        Command::ScrapStock(c) => inventory::scrap(&d, c),
        Command::RecallLot(c) => inventory::recall(&d, c),
        Command::AuthorizeReturn(c) => returns::authorize(&d, c),
        Command::ReceiveReturn(c) => returns::receive(&d, c),
        Command::InspectReturn(c) => returns::inspect(&d, c),
        Command::CloseReturn(c) => returns::close(&d, c),
        Command::CapturePayment(c) => finance::capture_payment(&d, c),
        Command::RecordProcessorFee(c) => finance::processor_fee(&d, c),
        Command::IssueRefund(c) => finance::refund(&d, c),
        Command::RefundDeposit(c) => finance::refund_deposit(&d, c),
        Command::RecordProcessorPayout(c) => finance::processor_payout(&d, c),
        Command::OpenSettlement(c) => finance::open_settlement(&d, c),
        Command::RecordSettlementLine(c) => finance::settlement_line(&d, c),
        Command::SettlePayout(c) => finance::settle_payout(&d, c),
        Command::PostJournalEntry(c) => finance::manual_entry(&d, c),
    }
}

/// What every decision reads.
pub(crate) struct Decision<'a> {
    pub(crate) state: &'a State,
    pub(crate) ctx: &'a Context,
}

impl Decision<'_> {
    pub(crate) fn location(&self, id: &LocationId) -> Result<&Location, Rejection> {
        self.state.locations.get(id).ok_or_else(|| Rejection::UnknownLocation(id.clone()))
    }

    pub(crate) fn channel(&self, id: &ChannelId) -> Result<&Channel, Rejection> {
        self.state.channels.get(id).ok_or_else(|| Rejection::UnknownChannel(id.clone()))
    }

    pub(crate) fn sku(&self, sku: &Sku) -> Result<&SkuDef, Rejection> {
        self.state.skus.get(sku).ok_or_else(|| Rejection::UnknownSku(sku.clone()))
    }

    pub(crate) fn order(&self, id: &OrderId) -> Result<&Order, Rejection> {
        self.state.orders.get(id).ok_or_else(|| Rejection::UnknownOrder(id.clone()))
    }

    pub(crate) fn today(&self) -> crate::time::Date {
        self.ctx.now.date()
    }

    /// Checks the lot against the SKU's tracking: required for lot-tracked SKUs, forbidden
    /// otherwise.
    pub(crate) fn check_lot_shape(
        &self,
        sku: &SkuDef,
        lot: Option<&LotId>,
    ) -> Result<(), Rejection> {
        match (sku.lot_tracked, lot) {
            (true, None) => Err(Rejection::LotRequired(sku.sku.clone())),
            (false, Some(_)) => Err(Rejection::LotNotTracked(sku.sku.clone())),
            _ => Ok(()),
        }
    }

    /// Checks location, SKU and lot shape, and for lots that the lot exists.
    pub(crate) fn stock_key(
        &self,
        location: &LocationId,
        sku: &Sku,
        lot: Option<&LotId>,
    ) -> Result<(StockKey, &SkuDef), Rejection> {
        self.location(location)?;
        let def = self.sku(sku)?;
        self.check_lot_shape(def, lot)?;
        if let Some(lot) = lot {
            self.known_lot(sku, lot)?;
        }
        Ok((StockKey::new(location.clone(), sku.clone(), lot.cloned()), def))
    }

    pub(crate) fn known_lot(&self, sku: &Sku, lot: &LotId) -> Result<&Lot, Rejection> {
        self.state
            .lots
            .get(&(sku.clone(), lot.clone()))
            .ok_or_else(|| Rejection::UnknownLot { sku: sku.clone(), lot: lot.clone() })
    }
}

/// A strictly positive quantity, or `INVALID_QUANTITY`.
pub(crate) fn positive(qty: i64) -> Result<Quantity, Rejection> {
    Quantity::new(qty).map_err(|_| Rejection::InvalidQuantity(qty))
}

/// `INSUFFICIENT_STOCK` unless `present ≥ requested`.
pub(crate) fn ensure_stock(
    key: &StockKey,
    state_name: &'static str,
    present: u64,
    requested: u64,
) -> Result<(), Rejection> {
    if present < requested {
        return Err(Rejection::InsufficientStock {
            sku: key.sku.clone(),
            location: key.location.clone(),
            state: state_name,
            present,
            requested,
        });
    }
    Ok(())
}

/// `CURRENCY_MISMATCH` unless `found == expected`.
pub(crate) fn same_currency(expected: Currency, found: Currency) -> Result<(), Rejection> {
    if expected == found { Ok(()) } else { Err(Rejection::CurrencyMismatch { expected, found }) }
}

/// `INVALID_AMOUNT` unless `amount > 0` (or `≥ 0` when `zero_ok`).
pub(crate) fn non_negative(
    what: &'static str,
    amount: Money,
    zero_ok: bool,
) -> Result<(), Rejection> {
    if amount.minor() > 0 || (zero_ok && amount.minor() == 0) {
        Ok(())
    } else {
        Err(Rejection::InvalidAmount { what, value: amount.to_decimal_string() })
    }
}

/// Mints journal entries for one decision with ids that follow the state's entry count.
pub(crate) struct Journal<'a> {
    d: &'a Decision<'a>,
    posted: u64,
}

impl<'a> Journal<'a> {
    pub(crate) fn new(d: &'a Decision<'a>) -> Self {
        Self { d, posted: 0 }
    }

    /// A balanced `JournalEntryPosted`, or `None` when every posting is zero.
    pub(crate) fn post(
        &mut self,
        reference: JournalRef,
        memo: &str,
        postings: Vec<Posting>,
    ) -> Result<Option<Event>, Rejection> {
        let postings = compact(postings);
        if postings.is_empty() {
            return Ok(None);
        }
        check_balanced(&postings)?;
        self.posted += 1;
        let n = self.d.state.journal_entry_count + self.posted;
        let entry = JournalEntryId::parse(format!("je-{n}"))
            .map_err(|e| Rejection::InvalidInput(e.to_string()))?;
        Ok(Some(Event::JournalEntryPosted(JournalEntry {
            entry,
            posted_at: self.d.ctx.now,
            reference,
            memo: memo.to_owned(),
            postings,
        })))
    }
}

/// Money × units, or `INVALID_AMOUNT` on overflow.
pub(crate) fn times(amount: Money, qty: u64) -> Result<Money, Rejection> {
    amount.checked_mul(qty).ok_or_else(|| Rejection::InvalidAmount {
        what: "extended amount",
        value: amount.to_decimal_string(),
    })
}

/// Sum of two amounts, or `CURRENCY_MISMATCH`/`INVALID_AMOUNT`.
pub(crate) fn plus(a: Money, b: Money) -> Result<Money, Rejection> {
    same_currency(a.currency(), b.currency())?;
    a.checked_add(b)
        .ok_or_else(|| Rejection::InvalidAmount { what: "sum", value: a.to_decimal_string() })
}
