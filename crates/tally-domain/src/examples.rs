//! One example of every command, as a story the domain accepts in order from an empty ledger:
//! master data, stock, one web order from receipt to delivery, a return, a refund, a
//! cancellation, a settlement, a purchase order received, invoiced and paid, and a manual entry.
//!
//! The examples are part of a command's definition: the API's documentation shows them, its
//! tests submit them through every surface (typed mutation, `submit`, `submitMany`, NDJSON
//! import), and a test here checks that each command has exactly one and that all are accepted.

use crate::command::*;
use crate::ids::{
    ChannelId, CustomerId, LocationId, LotId, OrderId, PaymentId, PayoutId, RefundId, ReturnId,
    SettlementId, Sku, TransferId,
};
use crate::inventory::{AdjustReason, QuarantineReason};
use crate::journal::{Account, Posting};
use crate::master::{AbcClass, ChannelKind, LocationKind, PriorityClass};
use crate::money::{Currency, Money, Rate};
use crate::order::{Address, CancelReason, HoldReason};
use crate::returns::Disposition;
use crate::settlement::SettlementLineKind;
use crate::time::{Date, Timestamp};

/// Business time of the first example: 2026-03-01T00:00:00Z. Each further example is one
/// minute later (see [`time_of`]).
pub const START_MS: i64 = 1_772_323_200_000;

/// The business time at which the `index`-th example is decided.
#[must_use]
pub fn time_of(index: usize) -> Timestamp {
    let minutes = i64::try_from(index).unwrap_or(i64::MAX / 120_000);
    Timestamp::from_millis(START_MS.saturating_add(minutes.saturating_mul(60_000)))
}

/// Parses a literal id of the examples (all are valid).
fn id<T: crate::ids::Id>(text: &str) -> T {
    match T::parse_id(text.to_owned()) {
        Ok(id) => id,
        Err(e) => unreachable!("example id {text:?} is valid: {e}"),
    }
}

fn usd(text: &str) -> Money {
    match Money::parse(text, Currency::USD) {
        Ok(m) => m,
        Err(e) => unreachable!("example amount {text:?} is valid: {e}"),
    }
}

fn fraction(text: &str) -> Rate {
    match Rate::parse_fraction(text) {
        Ok(r) => r,
        Err(e) => unreachable!("example rate {text:?} is valid: {e}"),
    }
}

fn day(text: &str) -> Date {
    match Date::parse(text) {
        Ok(d) => d,
        Err(e) => unreachable!("example date {text:?} is valid: {e}"),
    }
}

fn at(text: &str) -> Timestamp {
    match Timestamp::parse_rfc3339(text) {
        Ok(t) => t,
        Err(e) => unreachable!("example time {text:?} is valid: {e}"),
    }
}

fn order_ref(order: &str) -> OrderRef {
    OrderRef { order: id::<OrderId>(order) }
}

/// Every command once (some twice, where the story needs it), in an order the domain accepts
/// from an empty ledger when the `i`-th is decided at [`time_of`]`(i)`.
#[must_use]
#[expect(clippy::too_many_lines, reason = "one literal per command: a list, read top to bottom")]
pub fn commands() -> Vec<Command> {
    let sku_a = || id::<Sku>("SKU-A");
    let wh1 = || id::<LocationId>("WH1");
    let web = || id::<ChannelId>("web");
    vec![
        Command::DefineChannel(DefineChannel {
            channel: web(),
            priority: PriorityClass::Standard,
            kind: ChannelKind::Direct,
            currency: Currency::USD,
            facilitator_tax: false,
        }),
        Command::DefineChannel(DefineChannel {
            channel: id("amazon"),
            priority: PriorityClass::Standard,
            kind: ChannelKind::Marketplace,
            currency: Currency::USD,
            facilitator_tax: true,
        }),
        Command::DefineLocation(DefineLocation {
            location: wh1(),
            kind: LocationKind::Warehouse,
            rank: 1,
            channels: vec![web(), id("amazon")],
        }),
        Command::DefineLocation(DefineLocation {
            location: id("WH2"),
            kind: LocationKind::ThirdParty,
            rank: 2,
            channels: vec![web()],
        }),
        Command::DefineSku(DefineSku {
            sku: sku_a(),
            lot_tracked: false,
            shelf_life_margin_days: 0,
            unit_cost: usd("20.00"),
            abc: AbcClass::A,
        }),
        Command::DefineSku(DefineSku {
            sku: id("SKU-B"),
            lot_tracked: false,
            shelf_life_margin_days: 0,
            unit_cost: usd("22.00"),
            abc: AbcClass::B,
        }),
        Command::DefineSku(DefineSku {
            sku: id("SKU-L"),
            lot_tracked: true,
            shelf_life_margin_days: 30,
            unit_cost: usd("4.50"),
            abc: AbcClass::C,
        }),
        Command::SetSafetyStock(SetSafetyStock { location: wh1(), sku: sku_a(), qty: 2 }),
        Command::SetReorderPoint(SetReorderPoint {
            location: wh1(),
            sku: sku_a(),
            point: 10,
            reorder_qty: 48,
        }),
        Command::ExpectInbound(ExpectInbound {
            location: wh1(),
            sku: sku_a(),
            qty: 100,
            eta: at("2026-03-05T09:00:00Z"),
        }),
        Command::DefineSupplier(DefineSupplier {
            supplier: id("ACME"),
            name: "Acme Supply Co".to_owned(),
            currency: Currency::USD,
            payment_terms_days: 30,
            qty_tolerance: 0,
            price_tolerance: Some(fraction("0.02")),
        }),
        Command::CreatePurchaseOrder(CreatePurchaseOrder {
            purchase_order: id("PO-1001"),
            supplier: id("ACME"),
            lines: vec![PurchaseOrderLineInput {
                sku: sku_a(),
                qty: 100,
                unit_cost: usd("19.50"),
                location: None,
                eta: None,
            }],
        }),
        Command::ReceiveInventory(ReceiveInventory {
            location: wh1(),
            sku: sku_a(),
            lot: None,
            expiry: None,
            qty: 50,
            unit_cost: None,
            purchase_order: Some(id("PO-1001")),
            po_line: Some(0),
        }),
        Command::ReceiveInventory(ReceiveInventory {
            location: wh1(),
            sku: id("SKU-B"),
            lot: None,
            expiry: None,
            qty: 10,
            unit_cost: None,
            purchase_order: None,
            po_line: None,
        }),
        Command::ReceiveInventory(ReceiveInventory {
            location: wh1(),
            sku: id("SKU-L"),
            lot: Some(id::<LotId>("L1")),
            expiry: Some(day("2026-12-31")),
            qty: 20,
            unit_cost: None,
            purchase_order: None,
            po_line: None,
        }),
        Command::AdjustInventory(AdjustInventory {
            location: wh1(),
            sku: sku_a(),
            lot: None,
            delta: -1,
            reason: AdjustReason::Damage,
        }),
        Command::CycleCount(CycleCount { location: wh1(), sku: sku_a(), lot: None, counted: 48 }),
        Command::ReconcileStock(ReconcileStock {
            location: wh1(),
            sku: sku_a(),
            lot: None,
            expiry: None,
            counted: 48,
            // As of the cycle count just before it (example 16).
            as_of: time_of(16),
        }),
        Command::ShipTransfer(ShipTransfer {
            transfer: id::<TransferId>("T1"),
            from: wh1(),
            to: id("WH2"),
            sku: sku_a(),
            lot: None,
            qty: 5,
        }),
        Command::ReceiveTransfer(ReceiveTransfer { transfer: id("T1"), qty: 5 }),
        Command::QuarantineStock(QuarantineStock {
            location: wh1(),
            sku: sku_a(),
            lot: None,
            qty: 2,
            reason: QuarantineReason::QualityHold,
        }),
        Command::ReleaseQuarantine(ReleaseQuarantine {
            location: wh1(),
            sku: sku_a(),
            lot: None,
            qty: 1,
            reason: QuarantineReason::QualityHold,
        }),
        Command::ScrapStock(ScrapStock {
            location: wh1(),
            sku: sku_a(),
            lot: None,
            qty: 1,
            from: Some(QuarantineReason::QualityHold),
        }),
        Command::RecallLot(RecallLot { sku: id("SKU-L"), lot: id("L1") }),
        // A lot received past its removal date lands in quarantine; expiring it later finds
        // nothing left to move (the engine's timer sends this when units are still available).
        Command::ReceiveInventory(ReceiveInventory {
            location: wh1(),
            sku: id("SKU-L"),
            lot: Some(id::<LotId>("L0")),
            expiry: Some(day("2026-03-02")),
            qty: 4,
            unit_cost: None,
            purchase_order: None,
            po_line: None,
        }),
        Command::ExpireLot(LotRef { sku: id("SKU-L"), lot: id("L0") }),
        Command::ReceiveOrder(ReceiveOrder {
            order: id("W1001"),
            channel: web(),
            placed_at: at("2026-03-01T08:00:00Z"),
            currency: Currency::USD,
            lines: vec![OrderLineInput::new(sku_a(), 2, usd("59.40"))],
            shipping: usd("5.00"),
            tax_rate: fraction("0.08"),
            taxes_included: false,
            shipping_lines: Vec::new(),
            number: Some("#1001".to_owned()),
            total_tax: None,
            total: Some(usd("133.70")),
            customer: None,
            ship_to: Some(Box::new(Address {
                name: "Ana Müller".to_owned(),
                line1: "1 Market St".to_owned(),
                line2: "Apt 4".to_owned(),
                city: "San Francisco".to_owned(),
                region: "CA".to_owned(),
                postal_code: "94105".to_owned(),
                country: "US".to_owned(),
            })),
            buyer: Some(id("shopify-customer-7001")),
            fraud_score: Some(12),
            payments: Vec::new(),
            revision: None,
        }),
        Command::CapturePayment(CapturePayment {
            order: id("W1001"),
            payment: id::<PaymentId>("pay-1"),
            amount: usd("133.70"),
            cumulative: false,
        }),
        Command::RecordProcessorFee(RecordProcessorFee {
            order: id("W1001"),
            fee: FeeInput::Rate(FeeRate { rate: fraction("0.029"), fixed: usd("0.30") }),
        }),
        Command::ValidateOrder(order_ref("W1001")),
        Command::HoldOrder(HoldOrder {
            order: id("W1001"),
            reason: HoldReason::Payment,
            due_at: at("2026-03-02T08:00:00Z"),
            note: "waiting for capture".to_owned(),
        }),
        Command::ReleaseHold(order_ref("W1001")),
        Command::AllocateOrder(order_ref("W1001")),
        // Nothing of W1001 waits for stock: accepted, nothing to cancel.
        Command::CancelBackorders(CancelOrder {
            order: id("W1001"),
            reason: CancelReason::Stockout,
        }),
        Command::PickOrder(FulfilOrder { order: id("W1001"), location: None, short: Vec::new() }),
        Command::PackOrder(FulfilOrder {
            order: id("W1001"),
            location: Some(wh1()),
            short: Vec::new(),
        }),
        Command::ShipOrder(ShipOrder {
            order: id("W1001"),
            location: None,
            carrier: "UPS".to_owned(),
            tracking: "1Z999AA10123456784".to_owned(),
            serials: Vec::new(),
        }),
        Command::DeliverOrder(order_ref("W1001")),
        Command::AuthorizeReturn(AuthorizeReturn {
            return_id: id::<ReturnId>("R1"),
            order: id("W1001"),
            lines: vec![LineQty { line: 0, qty: 1 }],
        }),
        Command::ReceiveReturn(ReceiveReturn {
            return_id: id("R1"),
            location: wh1(),
            items: vec![ReturnItemInput { line: 0, lot: None, qty: 1 }],
        }),
        Command::InspectReturn(InspectReturn {
            return_id: id("R1"),
            items: vec![InspectionInput {
                line: 0,
                lot: None,
                qty: 1,
                disposition: Disposition::Restock,
            }],
        }),
        Command::CloseReturn(ReturnRef { return_id: id("R1") }),
        Command::IssueRefund(IssueRefund {
            refund: id::<RefundId>("RF1"),
            order: id("W1001"),
            lines: vec![RefundLine { line: 0, qty: 1, amount: None, tax: None }],
            shipping: None,
            shipping_tax: None,
        }),
        Command::ReceiveOrder(ReceiveOrder {
            order: id("W1002"),
            channel: web(),
            placed_at: at("2026-03-01T09:00:00Z"),
            currency: Currency::USD,
            lines: vec![OrderLineInput {
                sku: sku_a(),
                qty: 1,
                unit_price: usd("59.40"),
                discount: Some(usd("0.00")),
                tax_lines: Some(vec![
                    TaxLineInput {
                        title: "CA State Tax".to_owned(),
                        rate: fraction("0.06"),
                        amount: Some(usd("3.56")),
                    },
                    TaxLineInput {
                        title: "San Francisco County Tax".to_owned(),
                        rate: fraction("0.02"),
                        amount: None,
                    },
                ]),
            }],
            shipping: usd("0.00"),
            tax_rate: fraction("0.08"),
            taxes_included: false,
            shipping_lines: Vec::new(),
            number: None,
            total_tax: Some(usd("4.75")),
            total: None,
            customer: None,
            ship_to: None,
            buyer: None,
            fraud_score: None,
            payments: Vec::new(),
            revision: None,
        }),
        // The channel edits W1002 before it ships: two units instead of one, a new ship-to.
        Command::AmendOrder(AmendOrder {
            order: id("W1002"),
            revision: Some(at("2026-03-01T09:30:00Z")),
            lines: vec![OrderLineInput::new(sku_a(), 2, usd("59.40"))],
            shipping: usd("0.00"),
            tax_rate: fraction("0.08"),
            shipping_lines: Vec::new(),
            total_tax: None,
            total: Some(usd("128.30")),
            ship_to: Some(Box::new(Address {
                name: "Ana Müller".to_owned(),
                line1: "500 Howard St".to_owned(),
                line2: String::new(),
                city: "San Francisco".to_owned(),
                region: "CA".to_owned(),
                postal_code: "94105".to_owned(),
                country: "US".to_owned(),
            })),
        }),
        Command::SubstituteLine(SubstituteLine { order: id("W1002"), line: 0, sku: id("SKU-B") }),
        Command::CapturePayment(CapturePayment {
            order: id("W1002"),
            payment: id("pay-2"),
            amount: usd("64.15"),
            cumulative: false,
        }),
        Command::HoldOrder(HoldOrder {
            order: id("W1002"),
            reason: HoldReason::Fraud,
            // Placed with its SLA already passed (the review queue was full), so the breach
            // can be recorded at once.
            due_at: at("2026-02-28T08:30:00Z"),
            note: "score 91".to_owned(),
        }),
        Command::RecordHoldSlaBreach(order_ref("W1002")),
        Command::CancelOrder(CancelOrder { order: id("W1002"), reason: CancelReason::Customer }),
        Command::RefundDeposit(RefundDeposit {
            refund: id("RF2"),
            order: id("W1002"),
            amount: usd("64.15"),
        }),
        Command::RecordProcessorPayout(RecordProcessorPayout {
            payout: id::<PayoutId>("PO1"),
            amount: usd("50.00"),
        }),
        Command::OpenSettlement(OpenSettlement {
            settlement: id::<SettlementId>("S1"),
            channel: id("amazon"),
            currency: Currency::USD,
            period_start: day("2026-03-01"),
            period_end: day("2026-03-14"),
        }),
        Command::RecordSettlementLine(RecordSettlementLine {
            settlement: id("S1"),
            kind: SettlementLineKind::Reserve,
            amount: usd("25.00"),
            order: None,
            sku: None,
            qty: 0,
            description: "reserve released".to_owned(),
        }),
        Command::RecordSettlementLine(RecordSettlementLine {
            settlement: id("S1"),
            kind: SettlementLineKind::StorageFee,
            amount: usd("-4.10"),
            order: None,
            sku: Some(sku_a()),
            qty: 3,
            description: "monthly storage".to_owned(),
        }),
        Command::RecordSettlementLine(RecordSettlementLine {
            settlement: id("S1"),
            kind: SettlementLineKind::Suspense,
            amount: usd("-1.50"),
            order: None,
            sku: None,
            qty: 0,
            description: "Inbound Defect Fee".to_owned(),
        }),
        Command::SettlePayout(SettlePayout {
            settlement: id("S1"),
            amount: usd("19.40"),
            deposit_date: day("2026-03-16"),
        }),
        Command::RecordSupplierInvoice(RecordSupplierInvoice {
            invoice: id("ACME-INV-77"),
            supplier: id("ACME"),
            purchase_order: Some(id("PO-1001")),
            lines: vec![SupplierInvoiceLineInput {
                po_line: Some(0),
                sku: None,
                qty: 50,
                unit_price: usd("19.60"),
            }],
        }),
        Command::RecordSupplierPayment(RecordSupplierPayment {
            payment: id("SP-1"),
            supplier: id("ACME"),
            amount: usd("980.00"),
            applications: vec![PaymentApplicationInput {
                invoice: id("ACME-INV-77"),
                amount: usd("980.00"),
            }],
        }),
        Command::PostJournalEntry(PostJournalEntry {
            memo: "bank fee".to_owned(),
            postings: vec![
                Posting::debit(Account::PaymentFees, usd("1.50")),
                Posting::credit(Account::Bank, usd("1.50")),
            ],
        }),
        // Counts of B-class SKUs from now on may be 1 unit or 5 % of the expected on-hand off.
        Command::SetCountTolerance(SetCountTolerance {
            class: AbcClass::B,
            units: 1,
            fraction: Some(fraction("0.05")),
        }),
        Command::DefineCustomer(DefineCustomer {
            customer: id::<CustomerId>("ACME"),
            name: "Acme Clinics".to_owned(),
            currency: Currency::USD,
            terms_days: 30,
            credit_limit: usd("5000.00"),
        }),
        Command::RecordCustomerPayment(RecordCustomerPayment {
            payment: id("ach-1"),
            customer: id("ACME"),
            amount: usd("100.00"),
            applications: Vec::new(),
        }),
        Command::ConfigureWorkflow(ConfigureWorkflow {
            channels: vec![crate::workflow::ChannelWorkflow {
                channel: web(),
                validate: true,
                require_address: true,
                validation_sla_minutes: 1_440,
                holds: vec![
                    crate::workflow::HoldRule {
                        name: "unpaid".to_owned(),
                        when: crate::workflow::HoldCondition::PaymentNotCaptured,
                        reason: HoldReason::Payment,
                        sla_minutes: 1_440,
                        fraud_score: None,
                        amount: None,
                    },
                    crate::workflow::HoldRule {
                        name: "risky".to_owned(),
                        when: crate::workflow::HoldCondition::FraudScoreAtLeast,
                        reason: HoldReason::Fraud,
                        sla_minutes: 240,
                        fraud_score: Some(75),
                        amount: None,
                    },
                ],
                auto_release: true,
                auto_allocate: true,
                backorder: crate::workflow::BackorderPolicy::CancelAfter,
                backorder_days: Some(14),
                substitutes: Vec::new(),
            }],
        }),
        Command::AcknowledgeException(AcknowledgeException {
            exception: crate::exceptions::ExceptionNo(2),
            note: "finance: checking the fee against the seller central report".to_owned(),
        }),
        Command::ResolveException(ResolveException {
            exception: crate::exceptions::ExceptionNo(2),
            resolution: ManualResolution::Resolved,
            note: "an inbound defect fee: reclassified to 5300 by manual entry".to_owned(),
        }),
    ]
}
