//! The general-ledger view: period trial balances from the bucketed sums, postings per account
//! and date range, the journal in date order, and processor settlements grouped by payout.

use tally_domain::journal::Account;
use tally_domain::money::Currency;
use tally_projections::ledger::{
    journal, postings_after, postings_before, processor_settlements, trial_balance,
};

use crate::support::*;

#[test]
fn web_sale_to_payout_all_time_and_processor_settlement() {
    let mut l = Ledger::new();
    l.run_all(web_sale_to_payout());
    let r = l.reader("ledger");
    let tb = trial_balance(&r, None, None).unwrap();
    let clearing = tb.iter().find(|b| b.account == Account::ProcessorClearing).unwrap();
    assert_eq!(
        (clearing.opening, clearing.debits, clearing.credits, clearing.closing),
        (0, 11_880, 11_880, 0)
    );
    assert_eq!(tb.iter().map(|b| i128::from(b.closing)).sum::<i128>(), 0);
    let days = (date("2000-01-01"), date("2100-01-01"));
    let s = processor_settlements(&r, days.0, days.1).unwrap();
    assert_eq!(s.len(), 1, "{s:#?}");
    // DOMAIN §4: capture 118.80, fee 3.75, refund 50.00 + 4.00 tax, payout 61.05.
    let rows: Vec<(&str, i64, i64, i64, i64)> =
        s[0].rows.iter().map(|r| (r.txn_type.as_str(), r.gross, r.fee, r.tax, r.net)).collect();
    assert_eq!(
        rows,
        [
            ("charge", 11_880, 0, 0, 11_880),
            ("fee", 0, -375, 0, -375),
            ("refund", -5000, 0, -400, -5400),
            ("payout", 0, 0, 0, -6105),
        ]
    );
    assert_eq!(s[0].payout.as_ref().map(|p| (p.payout.as_str(), p.amount)), Some(("PO1", 6105)));
    assert_eq!(s[0].rows[2].sku.as_deref(), Some("A"));
    assert_eq!(s[0].rows[2].qty, 1);
    assert!(journal(&r, days.0, days.1).unwrap().len() > 3);
    let p =
        postings_after(&r, Account::Bank, Currency::USD, (days.0.days(), days.1.days()), None, 10)
            .unwrap();
    assert_eq!(p.len(), 1);
    let p =
        postings_before(&r, Account::Bank, Currency::USD, (days.0.days(), days.1.days()), None, 10)
            .unwrap();
    assert_eq!(p.len(), 1);
}

/// A manual entry of `minor` on `day` (days from `T0`'s): Dr 1000 bank, Cr 5100 fees.
fn manual(minor: i64) -> tally_domain::Command {
    use tally_domain::command::PostJournalEntry;
    use tally_domain::journal::Posting;
    tally_domain::Command::PostJournalEntry(PostJournalEntry {
        memo: format!("manual {minor}"),
        postings: vec![
            Posting::debit(Account::Bank, usd(minor)),
            Posting::credit(Account::PaymentFees, usd(minor)),
        ],
    })
}

/// Period balances read from the day, 32-day and 1024-day sums equal a brute-force sum of the
/// postings, for periods starting and ending on every bucket boundary, with entries posted out
/// of date order (back-dated).
#[test]
fn period_balances_equal_brute_force_across_bucket_boundaries() {
    let base = T0.div_euclid(DAY_MS);
    let offsets: [i64; 17] =
        [3000, -2000, 0, -1025, 1025, -1024, 1024, -1023, 1023, -33, 33, -32, 32, -31, 31, -1, 1];
    let mut l = Ledger::new();
    l.run_all(world());
    let mut posted: Vec<(i64, i64)> = Vec::new();
    for (i, off) in offsets.iter().enumerate() {
        let minor = 100 + i64::try_from(i).unwrap();
        // Bucket 0 of each level is aligned on day 0 of the epoch: move to a boundary of them.
        let day = (base / 1024) * 1024 + off;
        l.at(day * DAY_MS + 5 * HOUR_MS).run(manual(minor));
        posted.push((day, minor));
    }
    let r = l.reader("ledger");
    let mut bounds: Vec<i64> = posted.iter().flat_map(|(d, _)| [d - 1, *d, d + 1]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let day = |d: i64| tally_domain::time::Date::from_days(i32::try_from(d).unwrap());
    let mut checked = 0;
    for from in &bounds {
        for to in bounds.iter().filter(|t| *t >= from) {
            let before: i64 = posted.iter().filter(|(d, _)| d < from).map(|(_, m)| m).sum();
            let within: i64 =
                posted.iter().filter(|(d, _)| d >= from && d <= to).map(|(_, m)| m).sum();
            let tb = trial_balance(&r, Some(day(*from)), Some(day(*to))).unwrap();
            let bank = tb.iter().find(|b| b.account == Account::Bank);
            if before + within == 0 {
                assert!(bank.is_none(), "{from}..{to}");
                continue;
            }
            let bank = bank.unwrap();
            assert_eq!(
                (bank.opening, bank.debits, bank.credits, bank.closing),
                (before, within, 0, before + within),
                "{from}..{to}"
            );
            let fees = tb.iter().find(|b| b.account == Account::PaymentFees).unwrap();
            assert_eq!(
                (fees.opening, fees.credits, fees.closing),
                (-before, within, -before - within)
            );
            checked += 1;
        }
    }
    assert!(checked > 400, "{checked}");
    // Postings of the bank in a range: exactly those days, in date order.
    let (lo, hi) = (bounds[3], bounds[bounds.len() - 4]);
    let expected: Vec<i64> = {
        let mut v: Vec<(i64, i64)> =
            posted.iter().copied().filter(|(d, _)| *d >= lo && *d <= hi).collect();
        v.sort_unstable();
        v.into_iter().map(|(_, m)| m).collect()
    };
    let range = (i32::try_from(lo).unwrap(), i32::try_from(hi).unwrap());
    let got: Vec<i64> = postings_after(&r, Account::Bank, Currency::USD, range, None, 100)
        .unwrap()
        .iter()
        .map(|p| p.amount)
        .collect();
    assert_eq!(got, expected);
    let mut back: Vec<i64> = postings_before(&r, Account::Bank, Currency::USD, range, None, 100)
        .unwrap()
        .iter()
        .map(|p| p.amount)
        .collect();
    back.reverse();
    assert_eq!(back, expected);
    // The journal in date order.
    let j = journal(&r, day(lo), day(hi)).unwrap();
    let days: Vec<i64> = j.iter().map(|e| e.posted_at_ms.div_euclid(DAY_MS)).collect();
    assert!(days.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(j.len(), expected.len());
}
