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
