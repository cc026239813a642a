//! The finance view: DOMAIN.md §4 to the cent, and a marketplace settlement with its export.

use std::collections::BTreeMap;

use tally_domain::command::*;
use tally_domain::ids::SettlementId;
use tally_domain::journal::{Account, JournalRef};
use tally_domain::master::{ChannelKind, PriorityClass};
use tally_domain::money::Currency;
use tally_domain::settlement::SettlementLineKind;
use tally_domain::{Command, Event};
use tally_projections::finance::{
    EntryTotal, ExportSelector, balance, export_rows, journal_entry, processor_payout, settlement,
    settlements, trial_balance, trial_balance_totals,
};

use crate::support::*;

#[test]
fn web_sale_to_payout_to_the_cent() {
    let mut l = Ledger::new();
    l.run_all(web_sale_to_payout());
    let r = l.reader("finance");
    let bal = |a| balance(&r, a, Currency::USD).unwrap();
    assert_eq!(bal(Account::ProcessorClearing), 0);
    assert_eq!(bal(Account::SalesTaxPayable), -480);
    assert_eq!(bal(Account::ProductRevenue) + bal(Account::SalesReturns), -5000);
    assert_eq!(bal(Account::CostOfGoodsSold), 2000);
    assert_eq!(bal(Account::Bank), 6105);
    assert_eq!(bal(Account::PaymentFees), 375);
    assert_eq!(bal(Account::ShippingRevenue), -1000);
    assert_eq!(bal(Account::CustomerDeposits), 0);
    let totals = trial_balance_totals(&r).unwrap();
    assert_eq!(totals.get(&Currency::USD), Some(&0));
    let tb = trial_balance(&r).unwrap();
    assert!(tb.windows(2).all(|w| w[0].number <= w[1].number), "chart order");
    let clearing = tb.iter().find(|row| row.account == Account::ProcessorClearing).unwrap();
    assert_eq!((clearing.debits, clearing.credits, clearing.net), (11_880, 11_880, 0));
    let payout = processor_payout(&r, "PO1").unwrap().unwrap();
    assert_eq!(payout.amount, 6105);
}

fn sid() -> SettlementId {
    SettlementId::parse("S1").unwrap()
}

fn line(kind: SettlementLineKind, minor: i64, order: Option<&str>, description: &str) -> Command {
    Command::RecordSettlementLine(RecordSettlementLine {
        settlement: sid(),
        kind,
        amount: usd(minor),
        order: order.map(oid),
        sku: order.map(|_| sku("A")),
        qty: u64::from(order.is_some()) * 2,
        description: description.to_owned(),
    })
}

#[test]
fn marketplace_settlement_net_equals_payout() {
    use SettlementLineKind as K;
    let mut l = Ledger::new();
    l.run_all(world());
    l.run(define_channel("amz", PriorityClass::Standard, ChannelKind::Marketplace));
    l.run(Command::OpenSettlement(OpenSettlement {
        settlement: sid(),
        channel: ch("amz"),
        currency: Currency::USD,
        period_start: date("2026-03-01"),
        period_end: date("2026-03-14"),
    }));
    l.run_all([
        line(K::Principal, 10_000, Some("M1"), "item price"),
        line(K::Tax, 800, Some("M1"), "tax"),
        line(K::FacilitatorTax, 500, Some("M1"), "mf tax collected"),
        line(K::FacilitatorTax, -500, Some("M1"), "mf tax remitted"),
        line(K::Commission, -1500, Some("M1"), "referral fee"),
        line(K::FulfillmentFee, -300, Some("M1"), "fba fee"),
        line(K::Refund, -2000, Some("M1"), "refund"),
        line(K::Reserve, -1000, None, "reserve held"),
    ]);
    l.run(Command::SettlePayout(SettlePayout {
        settlement: sid(),
        amount: usd(6000),
        deposit_date: date("2026-03-16"),
    }));
    let r = l.reader("finance");
    let detail = settlement(&r, "S1").unwrap().unwrap();
    let t = detail.settlement.totals;
    assert_eq!(
        (t.gross, t.tax, t.fees, t.refunds, t.reserve, t.net),
        (10_000, 800, -1800, -2000, -1000, 6000)
    );
    assert_eq!(t.line_count, 8);
    assert_eq!(detail.settlement.payout.as_ref().unwrap().amount, t.net);
    // Principal, tax and refund lines only confirm inside 1150 what the order side posts (no
    // order was shipped here): fees 18.00, reserve 10.00 and the payout 60.00 leave 1150 at
    // −88.00 for reconciliation (#14).
    assert_eq!(balance(&r, Account::MarketplaceClearing, Currency::USD).unwrap(), -8_800);
    assert_eq!(balance(&r, Account::Bank, Currency::USD).unwrap(), 6000);
    assert_eq!(balance(&r, Account::MarketplaceReserve, Currency::USD).unwrap(), 1000);
    assert_eq!(trial_balance_totals(&r).unwrap().get(&Currency::USD), Some(&0));

    let rows = export_rows(&r, ExportSelector::Settlement("S1")).unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(rows.iter().map(|x| x.net).sum::<i64>(), 6000);
    let first = &rows[0];
    assert_eq!(
        (first.txn_type, first.amount_type, first.gross, first.net),
        ("order", "principal", 10_000, 10_000)
    );
    // A principal line only confirms the invoice inside 1150 (#14): no counter account.
    assert_eq!(first.gl_account, None);
    assert_eq!(first.deposit_date, Some(date("2026-03-16")));
    assert_eq!(first.order_id.as_deref(), Some("M1"));
    assert!(first.journal_entry_id.is_some() && first.posted_at_ms == Some(T0));
    let log_event = l.log.get(first.event_seq).unwrap().unwrap();
    assert_eq!(log_event.event_type(), "settlement.line_recorded");
    assert_eq!(rows[4].fee, -1500);
    assert_eq!(rows[4].gl_account, Some(5200));
    assert_eq!(rows[7].txn_type, "reserve");
    assert!(rows.iter().all(|x| x.journal_entry_id.is_some()));

    let in_march = settlements(&r, "amz", T0, T0 + 40 * DAY_MS).unwrap();
    assert_eq!(in_march.len(), 1);
    assert!(settlements(&r, "amz", T0 + 20 * DAY_MS, T0 + 40 * DAY_MS).unwrap().is_empty());
    let by_channel = export_rows(
        &r,
        ExportSelector::Channel { channel: "amz", from_ms: T0, to_ms: T0 + DAY_MS },
    )
    .unwrap();
    assert_eq!(by_channel, rows);
}

#[test]
fn every_journal_entry_is_kept_by_id_with_its_event_and_sums_to_the_trial_balance() {
    let mut l = Ledger::new();
    let mut posted = Vec::new();
    for (i, command) in web_sale_to_payout().into_iter().enumerate() {
        l.at(T0 + i64::try_from(i).unwrap() * 60_000);
        let events = l.run(command);
        let first_seq = l.head() + 1 - u64::try_from(events.len()).unwrap();
        for (seq, event) in (first_seq..).zip(events) {
            if let Event::JournalEntryPosted(e) = event {
                posted.push((seq, l.now, e));
            }
        }
    }
    assert!(posted.len() > 5, "the story posts entries: {}", posted.len());
    let r = l.reader("finance");
    let mut by_account: BTreeMap<u16, i64> = BTreeMap::new();
    for (seq, now, e) in &posted {
        let view = journal_entry(&r, e.entry.as_str()).unwrap().unwrap();
        assert_eq!(view.id, e.entry);
        assert_eq!(
            (&view.memo, &view.reference, &view.postings),
            (&e.memo, &e.reference, &e.postings)
        );
        assert_eq!((view.seq, view.posted_at_ms), (*seq, *now));
        let debits: i64 = e.postings.iter().map(|p| p.amount.minor().max(0)).sum();
        assert_eq!(view.totals, [EntryTotal { currency: Currency::USD, debits, credits: debits }]);
        for p in &e.postings {
            *by_account.entry(p.account.number()).or_insert(0) += p.amount.minor();
        }
    }
    let tb: BTreeMap<u16, i64> =
        trial_balance(&r).unwrap().into_iter().map(|row| (row.number, row.net)).collect();
    assert_eq!(by_account, tb, "the entries are the trial balance");
    let first = journal_entry(&r, "je-1").unwrap().unwrap();
    assert_eq!(first.id.as_str(), "je-1");
    assert!(matches!(first.reference, JournalRef::Stock(_)), "the receipt: {first:?}");
    assert_eq!(journal_entry(&r, "je-999").unwrap(), None);
}
