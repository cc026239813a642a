//! `decide`: the pure function from state, command and context to events or a rejection.
//! One submodule per family of commands; shared checks live here.

mod amend;
mod claims;
mod exceptions;
mod finance;
mod inventory;
pub use inventory::SNAPSHOT_AGE_MAX_MS;
mod master;
pub(crate) mod orders;
pub use orders::ORDER_LINES_MAX;
mod purchasing;
pub use purchasing::PAYMENT_TERMS_DAYS_MAX;
mod receivables;
pub use receivables::APPLICATIONS_MAX;
mod returns;
mod workflow;
pub(crate) use amend::apply as apply_amendment;
pub(crate) use receivables::{credit_fits, order_gross};

use crate::command::{Command, Context};
use crate::event::Event;
use crate::ids::{ChannelId, JournalEntryId, LocationId, LotId, OrderId, Sku};
use crate::inventory::{Lot, StockKey};
use crate::journal::{Account, JournalEntry, JournalRef, Posting, check_balanced, compact};
use crate::limits::{AMOUNT_MINOR_MAX, BALANCE_MINOR_MAX, QTY_MAX};
use crate::master::{Channel, Location, SkuDef};
use crate::money::{Currency, Money};
use crate::order::Order;
use crate::quantity::Quantity;
use crate::rejection::Rejection;
use crate::state::State;

/// Decides what `command` means given `state`: the events to append, or why not.
/// The same state, command and context always give the same result.
///
/// # Panics
/// On a state that keeps closed orders outside it (only the engine's does) when the command
/// reads one of those: use [`decide_or_load`] there.
pub fn decide(state: &State, command: &Command, ctx: &Context) -> Result<Vec<Event>, Rejection> {
    match decide_or_load(state, command, ctx) {
        Ok(decided) => decided,
        Err(missing) => panic!(
            "decide read closed orders {missing:?} kept outside the state: use `decide_or_load`"
        ),
    }
}

/// [`decide()`] for a state that may keep closed orders outside it (the engine's, bounded):
/// `Err(ids)` names the closed orders it read that the state does not hold. Load them
/// ([`crate::closed::ClosedOrders::load`]) and decide again; deciding is pure, so the
/// second answer is the one a state holding everything gives.
pub fn decide_or_load(
    state: &State,
    command: &Command,
    ctx: &Context,
) -> Result<Result<Vec<Event>, Rejection>, Vec<OrderId>> {
    let d = Decision { state, ctx, missing: std::cell::RefCell::new(Vec::new()) };
    let decided = decide_with(&d, command);
    let missing = d.missing.into_inner();
    if missing.is_empty() { Ok(decided) } else { Err(missing) }
}

fn decide_with(d: &Decision<'_>, command: &Command) -> Result<Vec<Event>, Rejection> {
    match command {
        Command::DefineLocation(c) => master::define_location(d, c),
        Command::DefineChannel(c) => master::define_channel(d, c),
        Command::DefineSku(c) => master::define_sku(d, c),
        Command::SetSafetyStock(c) => master::set_safety_stock(d, c),
        Command::SetReorderPoint(c) => master::set_reorder_point(d, c),
        Command::SetCountTolerance(c) => master::set_count_tolerance(d, c),
        Command::ReceiveOrder(c) => orders::receive(d, c),
        Command::AmendOrder(c) => amend::amend(d, c),
        Command::ValidateOrder(c) => orders::validate(d, c),
        Command::HoldOrder(c) => orders::hold(d, c),
        Command::ReleaseHold(c) => orders::release_hold(d, c),
        Command::RecordHoldSlaBreach(c) => orders::hold_sla_breach(d, c),
        Command::AllocateOrder(c) => orders::allocate(d, c),
        Command::PickOrder(c) => orders::pick(d, c),
        Command::PackOrder(c) => orders::pack(d, c),
        Command::ShipOrder(c) => orders::ship(d, c),
        Command::DeliverOrder(c) => orders::deliver(d, c),
        Command::CancelOrder(c) => orders::cancel(d, c),
        Command::SubstituteLine(c) => orders::substitute(d, c),
        Command::CancelBackorders(c) => orders::cancel_backorders(d, c),
        Command::ExpectInbound(c) => inventory::expect_inbound(d, c),
        Command::DefineSupplier(c) => purchasing::define_supplier(d, c),
        Command::CreatePurchaseOrder(c) => purchasing::create_purchase_order(d, c),
        Command::ReceiveInventory(c) => inventory::receive(d, c),
        Command::AdjustInventory(c) => inventory::adjust(d, c),
        Command::CycleCount(c) => inventory::cycle_count(d, c),
        Command::ReconcileStock(c) => inventory::reconcile_stock(d, c),
        Command::ShipTransfer(c) => inventory::ship_transfer(d, c),
        Command::ReceiveTransfer(c) => inventory::receive_transfer(d, c),
        Command::QuarantineStock(c) => inventory::quarantine(d, c),
        Command::ReleaseQuarantine(c) => inventory::release_quarantine(d, c),
        Command::ScrapStock(c) => inventory::scrap(d, c),
        Command::RecallLot(c) => inventory::recall(d, c),
        Command::ExpireLot(c) => inventory::expire(d, c),
        Command::AuthorizeReturn(c) => returns::authorize(d, c),
        Command::ReceiveReturn(c) => returns::receive(d, c),
        Command::InspectReturn(c) => returns::inspect(d, c),
        Command::CloseReturn(c) => returns::close(d, c),
        Command::CapturePayment(c) => finance::capture_payment(d, c),
        Command::RecordProcessorFee(c) => finance::processor_fee(d, c),
        Command::IssueRefund(c) => finance::refund(d, c),
        Command::RefundDeposit(c) => finance::refund_deposit(d, c),
        Command::RecordProcessorPayout(c) => finance::processor_payout(d, c),
        Command::OpenSettlement(c) => finance::open_settlement(d, c),
        Command::RecordSettlementLine(c) => finance::settlement_line(d, c),
        Command::SettlePayout(c) => finance::settle_payout(d, c),
        Command::RecordSupplierInvoice(c) => purchasing::record_invoice(d, c),
        Command::RecordSupplierPayment(c) => purchasing::record_payment(d, c),
        Command::PostJournalEntry(c) => finance::manual_entry(d, c),
        Command::DefineCustomer(c) => receivables::define_customer(d, c),
        Command::RecordCustomerPayment(c) => receivables::record_customer_payment(d, c),
        Command::ConfigureWorkflow(c) => workflow::configure(d, c),
        Command::AcknowledgeException(c) => exceptions::acknowledge(d, c),
        Command::ResolveException(c) => exceptions::resolve(d, c),
    }
}

/// What every decision reads.
pub(crate) struct Decision<'a> {
    pub(crate) state: &'a State,
    pub(crate) ctx: &'a Context,
    /// Closed orders read but kept outside the state ([`decide_or_load`]).
    pub(crate) missing: std::cell::RefCell<Vec<OrderId>>,
}

impl<'a> Decision<'a> {
    /// The closed (delivered or cancelled) order `id`, if it is one. One kept outside the
    /// state reads as absent here and is named to the caller, who loads it and decides again.
    pub(crate) fn closed(&self, id: &OrderId) -> Option<&'a crate::order::ClosedOrder> {
        match self.state.closed_orders.lookup(id) {
            crate::closed::Lookup::Closed(closed) => Some(closed),
            crate::closed::Lookup::NotClosed => None,
            crate::closed::Lookup::Unloaded => {
                self.missing.borrow_mut().push(id.clone());
                None
            }
        }
    }
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

/// A quantity of 1 to [`QTY_MAX`] units, or `INVALID_QUANTITY`.
pub(crate) fn positive(qty: i64) -> Result<Quantity, Rejection> {
    Quantity::new(qty).ok().filter(|q| q.get() <= QTY_MAX).ok_or(Rejection::InvalidQuantity(qty))
}

/// A count of 0 to [`QTY_MAX`] units (a cycle count, a safety stock), or `INVALID_QUANTITY`.
pub(crate) fn units(qty: i64) -> Result<u64, Rejection> {
    u64::try_from(qty).ok().filter(|q| *q <= QTY_MAX).ok_or(Rejection::InvalidQuantity(qty))
}

/// Free text of at most [`crate::limits::TEXT_BYTES_MAX`] bytes, or `INVALID_INPUT`.
pub(crate) fn text(what: &'static str, value: &str) -> Result<(), Rejection> {
    crate::limits::check_text(what, value).map_err(|e| Rejection::InvalidInput(e.to_string()))
}

/// `INVALID_AMOUNT` unless |amount| ≤ [`AMOUNT_MINOR_MAX`].
pub(crate) fn amount(what: &'static str, amount: Money) -> Result<(), Rejection> {
    if amount.minor().unsigned_abs() <= AMOUNT_MINOR_MAX.unsigned_abs() {
        Ok(())
    } else {
        Err(Rejection::InvalidAmount { what, value: amount.to_decimal_string() })
    }
}

/// `INVALID_QUANTITY` unless the bucket `key` can take `extra` more units and stay within
/// [`crate::limits::BUCKET_UNITS_MAX`] over on hand, in transit and incoming.
pub(crate) fn ensure_room(state: &State, key: &StockKey, extra: u64) -> Result<(), Rejection> {
    let s = state.stock(key);
    let held = u128::from(s.on_hand()) + u128::from(s.in_transit) + u128::from(s.incoming);
    if held + u128::from(extra) > u128::from(crate::limits::BUCKET_UNITS_MAX) {
        return Err(Rejection::InvalidQuantity(i64::try_from(extra).unwrap_or(i64::MAX)));
    }
    Ok(())
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

/// `INVALID_AMOUNT` unless `0 < amount ≤` [`AMOUNT_MINOR_MAX`] (or `0 ≤` when `zero_ok`).
pub(crate) fn non_negative(
    what: &'static str,
    amount: Money,
    zero_ok: bool,
) -> Result<(), Rejection> {
    if (amount.minor() > 0 || (zero_ok && amount.minor() == 0))
        && amount.minor() <= AMOUNT_MINOR_MAX
    {
        Ok(())
    } else {
        Err(Rejection::InvalidAmount { what, value: amount.to_decimal_string() })
    }
}

/// Mints journal entries for one decision with ids that follow the state's entry count, and
/// keeps every posting and every account balance within the bounds of [`crate::limits`].
pub(crate) struct Journal<'a> {
    d: &'a Decision<'a>,
    posted: u64,
    /// Balances as this decision's entries so far leave them.
    balances: std::collections::BTreeMap<(Account, Currency), i64>,
}

impl<'a> Journal<'a> {
    pub(crate) fn new(d: &'a Decision<'a>) -> Self {
        Self { d, posted: 0, balances: std::collections::BTreeMap::new() }
    }

    /// The state the decision reads.
    pub(crate) fn state(&self) -> &'a State {
        self.d.state
    }

    /// A balanced `JournalEntryPosted`, or `None` when every posting is zero. `INVALID_AMOUNT`
    /// when a posting is past [`AMOUNT_MINOR_MAX`] or an account balance would go past
    /// ±[`BALANCE_MINOR_MAX`].
    pub(crate) fn post(
        &mut self,
        reference: JournalRef,
        memo: &str,
        postings: Vec<Posting>,
    ) -> Result<Option<Event>, Rejection> {
        text("journal memo", memo)?;
        for p in &postings {
            amount("posting", p.amount)?;
        }
        let too_big = || Rejection::InvalidAmount {
            what: "posting",
            value: format!("more than {AMOUNT_MINOR_MAX} minor units on one account"),
        };
        let postings = compact(postings).ok_or_else(too_big)?;
        for p in &postings {
            amount("posting", p.amount)?;
        }
        if postings.is_empty() {
            return Ok(None);
        }
        check_balanced(&postings)?;
        let mut balances = self.balances.clone();
        for p in &postings {
            let key = (p.account, p.amount.currency());
            let before = match balances.get(&key) {
                Some(b) => *b,
                None => self.d.state.balance(p.account, p.amount.currency()).minor(),
            };
            let after = before
                .checked_add(p.amount.minor())
                .filter(|b| b.unsigned_abs() <= BALANCE_MINOR_MAX.unsigned_abs())
                .ok_or_else(|| Rejection::InvalidAmount {
                    what: "account balance",
                    value: format!(
                        "{:?} {} would pass ±{BALANCE_MINOR_MAX} minor units",
                        p.account,
                        p.amount.currency()
                    ),
                })?;
            balances.insert(key, after);
        }
        self.balances = balances;
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

/// Money × units, or `INVALID_AMOUNT` past [`AMOUNT_MINOR_MAX`].
pub(crate) fn times(amount: Money, qty: u64) -> Result<Money, Rejection> {
    let product = amount.checked_mul(qty).ok_or_else(|| Rejection::InvalidAmount {
        what: "extended amount",
        value: amount.to_decimal_string(),
    })?;
    self::amount("extended amount", product)?;
    Ok(product)
}

/// `INVALID_AMOUNT` unless the running total `total + add` stays within
/// ±[`BALANCE_MINOR_MAX`] (an order's captured money, a settlement's net).
pub(crate) fn within_total(what: &'static str, total: i64, add: Money) -> Result<(), Rejection> {
    let after = i128::from(total) + i128::from(add.minor());
    if after.unsigned_abs() > BALANCE_MINOR_MAX.unsigned_abs().into() {
        return Err(Rejection::InvalidAmount {
            what,
            value: format!(
                "{} would pass ±{BALANCE_MINOR_MAX} minor units",
                add.to_decimal_string()
            ),
        });
    }
    Ok(())
}

/// Sum of two amounts, or `CURRENCY_MISMATCH`/`INVALID_AMOUNT`.
pub(crate) fn plus(a: Money, b: Money) -> Result<Money, Rejection> {
    same_currency(a.currency(), b.currency())?;
    a.checked_add(b)
        .ok_or_else(|| Rejection::InvalidAmount { what: "sum", value: a.to_decimal_string() })
}
