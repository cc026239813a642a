//! Finance: payments, fees, refunds, payouts, settlements, manual entries.

use tally_domain::command::*;
use tally_domain::event::Event;
use tally_domain::ids::{PaymentId, PayoutId, RefundId, SettlementId};
use tally_domain::journal::{Account, Posting};
use tally_domain::master::{ChannelKind, PriorityClass};
use tally_domain::money::{Currency, Money, Rate};
use tally_domain::settlement::SettlementLineKind;

use crate::support::*;

fn capture(order: &str, minor: i64) -> Command {
    Command::CapturePayment(CapturePayment {
        order: oid(order),
        payment: PaymentId::parse("P1").unwrap(),
        amount: usd(minor),
        cumulative: false,
    })
}
fn fee_rate() -> Command {
    Command::RecordProcessorFee(RecordProcessorFee {
        order: oid("O1"),
        fee: FeeInput::Rate(FeeRate { rate: Rate::parse_percent("2.9").unwrap(), fixed: usd(30) }),
    })
}
fn refund(qty: i64) -> Command {
    Command::IssueRefund(IssueRefund {
        refund: RefundId::parse("F1").unwrap(),
        order: oid("O1"),
        lines: vec![RefundLine { line: 0, qty, amount: None, tax: None }],
        shipping: None,
        shipping_tax: None,
    })
}
fn payout(minor: i64) -> Command {
    Command::RecordProcessorPayout(RecordProcessorPayout {
        payout: PayoutId::parse("PO1").unwrap(),
        amount: usd(minor),
    })
}
fn sid() -> SettlementId {
    SettlementId::parse("S1").unwrap()
}
fn mkt() -> Vec<Command> {
    world_and([
        Command::DefineChannel(DefineChannel {
            channel: ch("amz"),
            priority: PriorityClass::Standard,
            kind: ChannelKind::Marketplace,
            currency: Currency::USD,
            facilitator_tax: false,
        }),
        Command::OpenSettlement(OpenSettlement {
            settlement: sid(),
            channel: ch("amz"),
            currency: Currency::USD,
            period_start: date("2026-03-01"),
            period_end: date("2026-03-14"),
        }),
    ])
}
fn line(kind: SettlementLineKind, minor: i64) -> Command {
    Command::RecordSettlementLine(RecordSettlementLine {
        settlement: sid(),
        kind,
        amount: usd(minor),
        order: None,
        sku: None,
        qty: 0,
        description: String::new(),
    })
}
fn settle(minor: i64) -> Command {
    Command::SettlePayout(SettlePayout {
        settlement: sid(),
        amount: usd(minor),
        deposit_date: date("2026-03-16"),
    })
}

#[test]
fn capture_payment_and_rejections() {
    let s = world_and([place("O1", "web", &[("A", 2, 5000)], 1000, 80_000)]);
    let (_, state) = Scenario::given(s.clone())
        .when(capture("O1", 11_880))
        .then_types(&["finance.payment_captured", "journal.entry_posted"]);
    assert_eq!(state.balance(Account::ProcessorClearing, Currency::USD).minor(), 11_880);
    assert_eq!(state.balance(Account::CustomerDeposits, Currency::USD).minor(), -11_880);
    Scenario::given(s.clone()).when(capture("O1", 0)).then_rejects("INVALID_AMOUNT");
    Scenario::given(s.clone()).when(capture("X", 1)).then_rejects("UNKNOWN_ORDER");
    Scenario::given(s)
        .when(Command::CapturePayment(CapturePayment {
            order: oid("O1"),
            payment: PaymentId::parse("P1").unwrap(),
            amount: Money::from_minor(1, Currency::EUR),
            cumulative: false,
        }))
        .then_rejects("CURRENCY_MISMATCH");
}

#[test]
fn processor_fee_is_rate_of_captured_plus_fixed() {
    let s = world_and([place("O1", "web", &[("A", 2, 5000)], 1000, 80_000), capture("O1", 11_880)]);
    let (events, _) = Scenario::given(s.clone())
        .when(fee_rate())
        .then_types(&["finance.processor_fee_recorded", "journal.entry_posted"]);
    let Event::ProcessorFeeRecorded(fee) = &events[0] else { panic!() };
    assert_eq!(fee.amount.to_decimal_string(), "3.75");
    Scenario::given(s.clone())
        .when(Command::RecordProcessorFee(RecordProcessorFee {
            order: oid("O1"),
            fee: FeeInput::Amount(FeeAmount { amount: usd(0) }),
        }))
        .then_rejects("INVALID_AMOUNT");
    Scenario::given(s)
        .when(Command::RecordProcessorFee(RecordProcessorFee {
            order: oid("O1"),
            fee: FeeInput::Amount(FeeAmount { amount: Money::from_minor(1, Currency::GBP) }),
        }))
        .then_rejects("CURRENCY_MISMATCH");
}

#[test]
fn refunds_are_bounded_by_shipped_units() {
    let s = world_and(
        [receive("WH1", "A", 5)]
            .into_iter()
            .chain(allocated_order("O1", "web", "A", 2))
            .chain([capture("O1", 11_880)]),
    );
    Scenario::given(s.clone()).when(refund(1)).then_rejects("EXCEEDS_OUTSTANDING");
    let shipped = Scenario::given(s).and(pick("O1")).and(pack("O1")).and(ship("O1"));
    let (events, state) =
        shipped.when(refund(1)).then_types(&["finance.refund_issued", "journal.entry_posted"]);
    let Event::RefundIssued(r) = &events[0] else { panic!() };
    assert_eq!(r.total.to_decimal_string(), "54.00");
    let again = Scenario { state, ctx: ctx_at(T0) };
    again.and(refund(1)).when(refund(1)).then_rejects("EXCEEDS_OUTSTANDING");
}

/// A payout is money the bank has: one above the clearing balance is recorded (1100 goes
/// negative by the difference) and raises a reconciliation exception naming both amounts.
#[test]
fn processor_payout_above_clearing_is_recorded_with_an_exception() {
    let s = world_and([place("O1", "web", &[("A", 2, 5000)], 1000, 80_000), capture("O1", 11_880)]);
    Scenario::given(s.clone())
        .when(payout(11_880))
        .then_types(&["finance.processor_payout_recorded", "journal.entry_posted"]);
    let (events, state) = Scenario::given(s.clone()).when(payout(11_881)).then_types(&[
        "finance.processor_payout_recorded",
        "journal.entry_posted",
        "exception.raised",
    ]);
    let Event::ExceptionRaised(e) = &events[2] else { panic!() };
    assert_eq!(e.kind, tally_domain::event::ExceptionKind::ReconciliationMismatch);
    assert_eq!(e.message, "payout PO1 118.81 exceeds the processor clearing balance 118.80");
    assert_eq!(state.balance(Account::ProcessorClearing, Currency::USD).minor(), -1);
    assert_eq!(state.balance(Account::Bank, Currency::USD).minor(), 11_881);
    Scenario::given(s).when(payout(-1)).then_rejects("INVALID_AMOUNT");
}

#[test]
fn settlement_lines_and_payout() {
    let s = Scenario::given(mkt())
        .and(line(SettlementLineKind::Principal, 10_000))
        .and(line(SettlementLineKind::Commission, -1_500))
        .and(line(SettlementLineKind::FacilitatorTax, 800))
        .and(line(SettlementLineKind::FacilitatorTax, -800));
    assert_eq!(s.state.settlement(&sid()).unwrap().net_minor, 8_500);
    let (_, state) =
        s.when(settle(8_500)).then_types(&["settlement.payout_settled", "journal.entry_posted"]);
    // Principal lines confirm what the invoice at shipment debited to 1150; with no shipment
    // behind this one, the 100.00 the marketplace paid stays in 1150 as a credit to reconcile
    // (commission −15.00 and the payout 85.00 clear against it).
    assert_eq!(state.balance(Account::MarketplaceClearing, Currency::USD).minor(), -10_000);
    assert_eq!(state.balance(Account::SalesTaxPayable, Currency::USD).minor(), 0);
    let paid = state.settlement(&sid()).unwrap();
    assert!(paid.reconciled());
    assert_eq!(state.exceptions().raised(), 0);
    // Paid out and reconciled: no more lines, no second payout, and the id is never reused.
    let again = |c: Command| Scenario { state: state.clone(), ctx: ctx_at(T0) }.when(c);
    again(line(SettlementLineKind::Principal, 100)).then_rejects("SETTLEMENT_PAID_OUT");
    again(settle(8_500)).then_rejects("SETTLEMENT_PAID_OUT");
    again(mkt().pop().unwrap()).then_rejects("DUPLICATE_ID");
}

/// A deposit that differs from the settlement's lines is a fact: it is recorded (Dr 1000 /
/// Cr 1150 by what the bank got), the difference stays in 1150, and a reconciliation
/// exception names both amounts. Lines that arrive later and explain the difference (a
/// re-import of lines once refused) clear the exception when the two agree.
#[test]
fn a_deposit_that_differs_is_recorded_with_an_exception_until_lines_explain_it() {
    let s = Scenario::given(mkt())
        .and(line(SettlementLineKind::Principal, 10_000))
        .and(line(SettlementLineKind::Commission, -1_500));
    let (events, state) = s.when(settle(8_350)).then_types(&[
        "settlement.payout_settled",
        "journal.entry_posted",
        "exception.raised",
    ]);
    let Event::ExceptionRaised(x) = &events[2] else { panic!() };
    assert_eq!(x.kind, tally_domain::event::ExceptionKind::ReconciliationMismatch);
    assert_eq!(
        x.message,
        "deposit 83.50 of settlement 'S1' differs from the net 85.00 of its 2 lines by -1.50"
    );
    assert_eq!(state.balance(Account::Bank, Currency::USD).minor(), 8_350);
    assert_eq!(state.exceptions().raised(), 1);
    assert_eq!(state.exceptions().open_count(), 1);
    // A second deposit for the same settlement is refused even while it is unreconciled.
    Scenario { state: state.clone(), ctx: ctx_at(T0) }
        .when(settle(8_350))
        .then_rejects("SETTLEMENT_PAID_OUT");
    let s = Scenario { state, ctx: ctx_at(T0) };
    // A late line that does not close the gap is taken; the exception stays open.
    let (events, state) = s
        .when(line(SettlementLineKind::StorageFee, -100))
        .then_types(&["settlement.line_recorded", "journal.entry_posted"]);
    assert_eq!(events.len(), 2);
    assert_eq!(state.exceptions().open_count(), 1);
    // The line that makes the lines equal the deposit clears it, as the same decision.
    let (events, state) = Scenario { state, ctx: ctx_at(T0) }
        .when(line(SettlementLineKind::FulfillmentFee, -50))
        .then_types(&["settlement.line_recorded", "journal.entry_posted", "exception.resolved"]);
    let Event::ExceptionResolved(r) = &events[2] else { panic!() };
    assert_eq!(
        (r.exception, r.resolution, r.note.as_str()),
        (
            1,
            tally_domain::event::ExceptionResolution::Cleared,
            "the lines of settlement 'S1' now equal its deposit"
        )
    );
    assert_eq!(state.exceptions().open_count(), 0);
    assert!(state.settlement(&sid()).unwrap().reconciled());
    // 1150 nets to the principal the invoice side never debited, as in the reconciled case.
    assert_eq!(state.balance(Account::MarketplaceClearing, Currency::USD).minor(), -10_000);
    Scenario { state, ctx: ctx_at(T0) }
        .when(line(SettlementLineKind::Principal, 1))
        .then_rejects("SETTLEMENT_PAID_OUT");
}

#[test]
fn open_settlement() {
    let (_, state) = Scenario::given(mkt()[..mkt().len() - 1].to_vec())
        .when(mkt().pop().unwrap())
        .then_types(&["settlement.opened"]);
    let s = state.settlement(&sid()).unwrap();
    assert_eq!(
        (s.period_start, s.period_end, s.line_count),
        (date("2026-03-01"), date("2026-03-14"), 0)
    );
}

#[test]
fn settlement_rejections() {
    Scenario::given(mkt())
        .and(line(SettlementLineKind::FacilitatorTax, 800))
        .when(settle(800))
        .then_rejects("FACILITATOR_TAX_NOT_NETTED");
    Scenario::given(mkt())
        .when(line(SettlementLineKind::Principal, 0))
        .then_rejects("INVALID_AMOUNT");
    Scenario::given(world())
        .when(line(SettlementLineKind::Principal, 1))
        .then_rejects("UNKNOWN_SETTLEMENT");
    Scenario::given(mkt())
        .when(Command::RecordSettlementLine(RecordSettlementLine {
            settlement: sid(),
            kind: SettlementLineKind::Principal,
            amount: Money::from_minor(1, Currency::EUR),
            order: None,
            sku: None,
            qty: 0,
            description: String::new(),
        }))
        .then_rejects("CURRENCY_MISMATCH");
    let open = |channel: &str, start: &str| {
        Command::OpenSettlement(OpenSettlement {
            settlement: sid(),
            channel: ch(channel),
            currency: Currency::USD,
            period_start: date(start),
            period_end: date("2026-03-14"),
        })
    };
    Scenario::given(mkt()).when(open("amz", "2026-03-01")).then_rejects("DUPLICATE_ID");
    Scenario::given(world()).when(open("nope", "2026-03-01")).then_rejects("UNKNOWN_CHANNEL");
    Scenario::given(mkt()[..mkt().len() - 1].to_vec())
        .when(open("amz", "2026-03-20"))
        .then_rejects("INVALID_INPUT");
}

#[test]
fn manual_entries_must_balance() {
    let entry = |a: i64, b: i64| {
        Command::PostJournalEntry(PostJournalEntry {
            memo: "accrual".to_owned(),
            postings: vec![
                Posting::debit(Account::StorageFees, usd(a)),
                Posting::credit(Account::Bank, usd(b)),
            ],
        })
    };
    Scenario::given([]).when(entry(100, 100)).then_types(&["journal.entry_posted"]);
    let r = Scenario::given([]).when(entry(100, 99)).then_rejects("UNBALANCED_ENTRY");
    assert_eq!(r.to_string(), "unbalanced entry: postings in USD sum to 0.01");
    Scenario::given([]).when(entry(0, 0)).then_rejects("INVALID_AMOUNT");
}

#[test]
fn deposits_of_a_cancelled_order_are_refunded() {
    let refund = |minor: i64| {
        Command::RefundDeposit(RefundDeposit {
            refund: RefundId::parse("D1").unwrap(),
            order: oid("O1"),
            amount: usd(minor),
        })
    };
    let s = world_and([
        place("O1", "web", &[("A", 2, 5000)], 1000, 80_000),
        capture("O1", 11_880),
        Command::CancelOrder(CancelOrder {
            order: oid("O1"),
            reason: tally_domain::order::CancelReason::Customer,
        }),
    ]);
    let (_, state) = Scenario::given(s.clone())
        .when(refund(11_880))
        .then_types(&["finance.deposit_refunded", "journal.entry_posted"]);
    assert_eq!(state.balance(Account::CustomerDeposits, Currency::USD).minor(), 0);
    assert_eq!(state.balance(Account::ProcessorClearing, Currency::USD).minor(), 0);
    let r = Scenario::given(s.clone()).when(refund(11_881)).then_rejects("REFUND_EXCEEDS_DEPOSIT");
    assert_eq!(r.to_string(), "refund 118.81 exceeds the deposit 118.80 held for order 'O1'");
    Scenario::given(s.clone())
        .and(refund(10_000))
        .when(refund(1_881))
        .then_rejects("REFUND_EXCEEDS_DEPOSIT");
    Scenario::given(s).when(refund(0)).then_rejects("INVALID_AMOUNT");
    // Once invoiced at shipment, the deposit has become revenue: nothing is left to refund.
    let shipped =
        world_and(
            [receive("WH1", "A", 2)]
                .into_iter()
                .chain(allocated_order("O1", "web", "A", 2))
                .chain([capture("O1", 11_880), pick("O1"), pack("O1"), ship("O1")]),
        );
    Scenario::given(shipped).when(refund(1)).then_rejects("REFUND_EXCEEDS_DEPOSIT");
    Scenario::given(world()).when(refund(1)).then_rejects("UNKNOWN_ORDER");
}

fn described(kind: SettlementLineKind, minor: i64, description: &str) -> Command {
    Command::RecordSettlementLine(RecordSettlementLine {
        settlement: sid(),
        kind,
        amount: usd(minor),
        order: None,
        sku: Some(tally_domain::ids::Sku::parse("A").unwrap()),
        qty: 2,
        description: description.to_owned(),
    })
}

#[test]
fn an_unknown_settlement_line_goes_to_suspense_and_raises_an_exception() {
    let (events, state) = Scenario::given(mkt())
        .when(described(SettlementLineKind::Suspense, -123, "Order/ItemFees/NewMysteryFee"))
        .then_types(&["settlement.line_recorded", "journal.entry_posted", "exception.raised"]);
    let Event::SettlementLineRecorded(line) = &events[0] else { panic!() };
    assert_eq!((line.sku.as_ref().map(|s| s.as_str()), line.qty), (Some("A"), 2));
    let Event::ExceptionRaised(e) = &events[2] else { panic!() };
    assert_eq!(e.kind, tally_domain::event::ExceptionKind::SuspenseLine);
    assert!(e.message.contains("Order/ItemFees/NewMysteryFee"), "{}", e.message);
    assert!(e.message.contains("-1.23"), "{}", e.message);
    assert_eq!(state.balance(Account::Suspense, Currency::USD).minor(), 123);
    assert_eq!(state.balance(Account::MarketplaceClearing, Currency::USD).minor(), -123);
}

#[test]
fn each_new_settlement_kind_posts_against_its_account() {
    let cases = [
        (SettlementLineKind::Promotion, -500, Account::Discounts),
        (SettlementLineKind::RefundCommission, -100, Account::MarketplaceCommissions),
        (SettlementLineKind::Subscription, -3999, Account::MarketplaceCommissions),
        (SettlementLineKind::Advertising, -2500, Account::Advertising),
        (SettlementLineKind::Reimbursement, 1800, Account::InventoryWriteOff),
    ];
    for (kind, minor, account) in cases {
        let (_, state) = Scenario::given(mkt())
            .when(line(kind, minor))
            .then_types(&["settlement.line_recorded", "journal.entry_posted"]);
        assert_eq!(state.balance(account, Currency::USD).minor(), -minor, "{kind:?}");
        assert_eq!(state.balance(Account::MarketplaceClearing, Currency::USD).minor(), minor);
    }
}

#[test]
fn tax_on_a_facilitator_channel_is_recorded_as_facilitator_tax_and_pairs_with_the_withheld_line() {
    let mut history = mkt();
    if let Some(Command::DefineChannel(c)) = history
        .iter_mut()
        .find(|c| matches!(c, Command::DefineChannel(d) if d.channel.as_str() == "amz"))
    {
        c.facilitator_tax = true;
    }
    let (events, state) = Scenario::given(history.clone())
        .when(line(SettlementLineKind::Tax, 800))
        .then_types(&["settlement.line_recorded", "journal.entry_posted"]);
    let Event::SettlementLineRecorded(l) = &events[0] else { panic!() };
    assert_eq!(l.kind, SettlementLineKind::FacilitatorTax);
    assert_eq!(state.settlement(&sid()).unwrap().facilitator_tax_minor, 800);
    let s = Scenario::given(history)
        .and(line(SettlementLineKind::Principal, 10_000))
        .and(line(SettlementLineKind::Tax, 800))
        .and(line(SettlementLineKind::FacilitatorTax, -800));
    let (_, state) =
        s.when(settle(10_000)).then_types(&["settlement.payout_settled", "journal.entry_posted"]);
    assert_eq!(state.balance(Account::SalesTaxPayable, Currency::USD).minor(), 0);
    // Without the flag the same tax line stays `tax` (the seller remits it).
    let (events, _) = Scenario::given(mkt())
        .when(line(SettlementLineKind::Tax, 800))
        .then_types(&["settlement.line_recorded", "journal.entry_posted"]);
    let Event::SettlementLineRecorded(l) = &events[0] else { panic!() };
    assert_eq!(l.kind, SettlementLineKind::Tax);
}

/// A cumulative capture records only what the order's captures do not add up to yet: a
/// channel's "paid so far" 40.00, then 100.00, then 100.00 again is 40.00, then 60.00, then
/// nothing (Shopify's `partially_paid` then `paid`, delivered twice).
#[test]
fn a_cumulative_capture_records_only_the_new_money() {
    let s = world_and([place("O1", "web", &[("A", 1, 10_000)], 0, 0)]);
    let up_to = |payment: &str, minor: i64| {
        Command::CapturePayment(CapturePayment {
            order: oid("O1"),
            payment: PaymentId::parse(payment).unwrap(),
            amount: usd(minor),
            cumulative: true,
        })
    };
    let (events, s) = Scenario::given(s)
        .when(up_to("P-4000", 4_000))
        .then_types(&["finance.payment_captured", "journal.entry_posted"]);
    let Event::PaymentCaptured(p) = &events[0] else { panic!() };
    assert_eq!(p.amount, usd(4_000));
    let (events, s) = Scenario { state: s, ctx: ctx_at(T0) }
        .when(up_to("P-10000", 10_000))
        .then_types(&["finance.payment_captured", "journal.entry_posted"]);
    let Event::PaymentCaptured(p) = &events[0] else { panic!() };
    assert_eq!((p.amount, p.payment.as_str()), (usd(6_000), "P-10000"));
    assert_eq!(s.order(&oid("O1")).unwrap().captured_minor, 10_000);
    Scenario { state: s.clone(), ctx: ctx_at(T0) }.when(up_to("P-10000", 10_000)).then_types(&[]);
    Scenario { state: s, ctx: ctx_at(T0) }.when(up_to("P-5000", 5_000)).then_types(&[]);
}
