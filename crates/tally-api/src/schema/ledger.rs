//! General-ledger queries (the `ledger` view): the trial balance of a period with opening and
//! closing balances, and the postings of one account over a date range, paged. Periods are
//! UTC days of each entry's business time (`postedAt`), both ends inclusive.

use super::connection::{self, Connection, Direction, PageArgs, Window};
use super::values::day_window;
use super::views::{AsOf, ViewMeta, read_view, view_error};
use crate::auth::FieldGuard;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use async_graphql::{Context, Object, SimpleObject};
use tally_domain::graphql::UnsignedInt64;
use tally_domain::journal::Account;
use tally_domain::money::{Currency, Money};
use tally_domain::time::{Date, Timestamp};
use tally_projections::graphql::JournalReference;
use tally_projections::ledger::{self, PeriodBalance, PostingPos, PostingRow};

const VIEW: &str = "ledger";

/// One account in one currency over the period (debit positive).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "TrialBalanceRow")]
pub struct TrialBalanceRow {
    /// The account.
    pub account: Account,
    /// Its number in the chart.
    pub number: u16,
    /// Its name in the chart ("processor clearing").
    pub name: String,
    /// ISO 4217 currency.
    pub currency_code: Currency,
    /// Balance before the period's first day (zero without `from`).
    pub opening: Money,
    /// Σ debits posted in the period.
    pub debits: Money,
    /// Σ credits posted in the period (positive).
    pub credits: Money,
    /// Debits − credits of the period.
    pub net: Money,
    /// Balance at the end of the period's last day: opening + debits − credits.
    pub closing: Money,
}

impl TrialBalanceRow {
    fn new(b: PeriodBalance) -> Self {
        let m = |minor| Money::from_minor(minor, b.currency);
        Self {
            account: b.account,
            number: b.account.number(),
            name: b.account.name().to_owned(),
            currency_code: b.currency,
            opening: m(b.opening),
            debits: m(b.debits),
            credits: m(b.credits),
            net: m(b.debits - b.credits),
            closing: m(b.closing),
        }
    }
}

/// The trial balance's sums in one currency: debits equal credits, and opening and closing
/// balances each sum to zero, when the books balance.
#[derive(Debug, Clone, SimpleObject)]
pub struct CurrencyTotal {
    /// ISO 4217 currency.
    pub currency_code: Currency,
    /// Σ opening balances (zero when the books balance).
    pub opening: Money,
    /// Σ debits of the period.
    pub debits: Money,
    /// Σ credits of the period.
    pub credits: Money,
    /// Σ debits − Σ credits of the period (zero when the books balance).
    pub net: Money,
    /// Σ closing balances (zero when the books balance).
    pub closing: Money,
    /// Whether opening, net and closing are zero and the answer is `complete`: false
    /// whenever the ledger view quarantined an event, whose postings are then missing.
    pub balanced: bool,
}

/// The trial balance of a period.
#[derive(Debug, Clone, SimpleObject)]
pub struct TrialBalanceAnswer {
    /// What the answer reflects.
    pub meta: ViewMeta,
    /// First day of the period (null: from the first entry).
    pub from: Option<Date>,
    /// Last day of the period, inclusive (null: up to the last entry).
    pub to: Option<Date>,
    /// Every account and currency with postings on or before `to`, in chart order (at most
    /// the accounts of the chart × the currencies).
    pub rows: Vec<TrialBalanceRow>,
    /// Per currency.
    pub totals: Vec<CurrencyTotal>,
    /// Whether every journal entry up to `meta.seq` is in these sums (no quarantined event,
    /// views not stopped). When false, no total says `balanced`.
    pub complete: bool,
    /// Why the answer is not complete; null when it is.
    pub incomplete_reason: Option<String>,
}

/// One reference's share of an account's balance: a line of the account's subledger.
#[derive(Debug, Clone, SimpleObject)]
pub struct SubledgerLine {
    /// What holds the balance: `order`, `customer`, `settlement`, `payout`, `supplier`,
    /// `stock`, `return` or `manual` (as in the journal export).
    pub reference_type: String,
    /// Its id (`WEB-1001`; for stock `location/sku[/lot]`).
    pub reference_id: String,
    /// Its balance on the account, debit positive.
    pub balance: Money,
}

/// One posting on an account: a line of a journal entry.
#[derive(Debug, Clone, SimpleObject)]
pub struct LedgerPosting {
    /// The journal entry (`node(id:)` of `JournalEntry` gives all its postings).
    pub entry_id: String,
    /// Business time of the entry.
    pub posted_at: Timestamp,
    /// Its UTC day: the day periods count it in.
    pub date: Date,
    /// The account.
    pub account: Account,
    /// Its number in the chart.
    pub number: u16,
    /// Its name in the chart.
    pub name: String,
    /// ISO 4217 currency.
    pub currency_code: Currency,
    /// The debit (zero for a credit).
    pub debit: Money,
    /// The credit, positive (zero for a debit).
    pub credit: Money,
    /// The entry's memo.
    pub memo: String,
    /// What the entry is about.
    pub reference: JournalReference,
    /// Seq of the entry's `journal.entry_posted` event.
    pub seq: UnsignedInt64,
    /// Position of the posting within its entry (from 0).
    pub index: UnsignedInt64,
}

impl LedgerPosting {
    fn new(r: &PostingRow) -> Self {
        let m = |minor| Money::from_minor(minor, r.currency);
        let (debit, credit) =
            if r.amount >= 0 { (r.amount, 0) } else { (0, r.amount.saturating_neg()) };
        Self {
            entry_id: r.entry.clone(),
            posted_at: Timestamp::from_millis(r.posted_at_ms),
            date: Date::from_days(r.day()),
            account: r.account,
            number: r.account.number(),
            name: r.account.name().to_owned(),
            currency_code: r.currency,
            debit: m(debit),
            credit: m(credit),
            memo: r.memo.clone(),
            reference: JournalReference::of(&r.reference),
            seq: UnsignedInt64(r.seq),
            index: UnsignedInt64(u64::from(r.index)),
        }
    }
}

fn wide(minor: i128, currency: Currency) -> ApiResult<Money> {
    let minor = i64::try_from(minor).map_err(|e| ApiError::internal("sum out of range", &e))?;
    Ok(Money::from_minor(minor, currency))
}

/// Cursor text of a posting: fixed-width (day, seq, index), so text order is list order.
fn position_text((day, seq, index): PostingPos) -> String {
    format!("{:011}.{seq:020}.{index:010}", i64::from(day) + i64::from(i32::MAX))
}

fn position_of(text: &str) -> ApiResult<PostingPos> {
    let bad = || ApiError::invalid(format!("cursor position '{text}' is not a posting's"));
    let mut parts = text.split('.');
    let mut next = || parts.next().ok_or_else(bad);
    let day = next()?.parse::<i64>().map_err(|_| bad())? - i64::from(i32::MAX);
    let day = i32::try_from(day).map_err(|_| bad())?;
    let seq = next()?.parse::<u64>().map_err(|_| bad())?;
    let index = next()?.parse::<u32>().map_err(|_| bad())?;
    Ok((day, seq, index))
}

/// General-ledger queries.
#[derive(Debug, Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// The trial balance of the UTC days `from..=to` (either end open when omitted: without
    /// both, every posting ever): per account and currency its opening balance, the period's
    /// debits and credits and its closing balance; per currency the sums (zero when the books
    /// balance). Days count by each entry's business time (`postedAt`).
    #[graphql(guard = "FieldGuard(\"Query.trialBalance\")")]
    async fn trial_balance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First UTC day of the period (default: the first entry's).")] from: Option<
            Date,
        >,
        #[graphql(desc = "Last UTC day of the period, inclusive (default: the last entry's).")]
        to: Option<Date>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<TrialBalanceAnswer> {
        if let (Some(f), Some(t)) = (from, to) {
            day_window(f, t).map_err(|_| ApiError::invalid(format!("from {f} is after to {t}")))?;
        }
        let view = read_view(ctx.data_unchecked::<AppState>(), VIEW, as_of).await?;
        let incomplete_reason = match (view.meta.quarantined.first_seq, &view.meta.views_stopped) {
            (Some(first), _) => Some(format!(
                "the ledger view could not apply {} event(s), the first at seq {first} (see \
                 quarantined(view: \"ledger\")); their postings are missing, so the books \
                 cannot be shown to balance",
                view.meta.quarantined.count
            )),
            (None, Some(stopped)) => Some(stopped.clone()),
            (None, None) => None,
        };
        let complete = incomplete_reason.is_none();
        let balances =
            ledger::trial_balance(&view.reader, from, to).map_err(|e| view_error(VIEW, &e))?;
        let mut sums: std::collections::BTreeMap<Currency, [i128; 4]> =
            std::collections::BTreeMap::new();
        for b in &balances {
            let s = sums.entry(b.currency).or_default();
            s[0] += i128::from(b.opening);
            s[1] += i128::from(b.debits);
            s[2] += i128::from(b.credits);
            s[3] += i128::from(b.closing);
        }
        let totals = sums
            .into_iter()
            .map(|(c, [opening, debits, credits, closing])| {
                Ok(CurrencyTotal {
                    currency_code: c,
                    opening: wide(opening, c)?,
                    debits: wide(debits, c)?,
                    credits: wide(credits, c)?,
                    net: wide(debits - credits, c)?,
                    closing: wide(closing, c)?,
                    balanced: complete && opening == 0 && debits == credits && closing == 0,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let rows = balances.into_iter().map(TrialBalanceRow::new).collect();
        Ok(TrialBalanceAnswer {
            meta: view.meta,
            from,
            to,
            rows,
            totals,
            complete,
            incomplete_reason,
        })
    }

    /// The account's subledger: the balance each journal reference (order, customer,
    /// settlement, supplier, …) holds on it, non-zero ones only, by type then id. The lines
    /// sum to the account's balance, so a clearing account is explained line by line: 2100 by
    /// the orders holding deposits and the customers holding credit, 1150 by the marketplace
    /// orders and settlements not yet paid out, 1300 by open invoices.
    #[graphql(
        guard = "FieldGuard(\"Query.accountSubledger\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn account_subledger(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account.")] account: Account,
        #[graphql(desc = "The currency.")] currency_code: Currency,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<Connection<SubledgerLine>> {
        const KIND: &str = "subledger";
        let state = ctx.data_unchecked::<AppState>();
        let window = Window::<Vec<String>>::new(
            state.config(),
            KIND,
            &PageArgs::new(first, after, last, before),
        )?;
        let view = read_view(state, VIEW, as_of).await?;
        let rows = ledger::subledger(&view.reader, account, currency_code)
            .map_err(|e| view_error(VIEW, &e))?;
        let items = rows
            .into_iter()
            .map(|r| {
                let line = SubledgerLine {
                    balance: Money::from_minor(r.balance, currency_code),
                    reference_type: r.reference_type,
                    reference_id: r.reference_id,
                };
                (vec![line.reference_type.clone(), line.reference_id.clone()], line)
            })
            .collect();
        Ok(connection::paginate_sorted(KIND, &window, view.meta, items)?)
    }

    /// The postings on one account over the UTC days `from..=to` (by business time), in date
    /// order then log order, paged. Without `currencyCode`, every currency of the account.
    #[graphql(
        guard = "FieldGuard(\"Query.journalEntries\")",
        complexity = "connection::complexity(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments, reason = "the Relay arguments")]
    async fn journal_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account.")] account: Account,
        #[graphql(desc = "First UTC day.")] from: Date,
        #[graphql(desc = "Last UTC day (inclusive).")] to: Date,
        #[graphql(desc = "Only postings in this currency (default: every currency).")]
        currency_code: Option<Currency>,
        #[graphql(
            desc = "Page size from the start or after `after` (default 50, at most the page size limit)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Cursor to start after.")] after: Option<String>,
        #[graphql(
            desc = "Page size from the end or before `before` (at most the page size limit)."
        )]
        last: Option<i32>,
        #[graphql(desc = "Cursor to end before.")] before: Option<String>,
        #[graphql(desc = "Read the view as of an earlier seq or time (default: now).")]
        as_of: Option<AsOf>,
    ) -> async_graphql::Result<Connection<LedgerPosting>> {
        const KIND: &str = "ledger-posting";
        let state = ctx.data_unchecked::<AppState>();
        let (from, to) = day_window(from, to)?;
        let window = Window::<String>::new(
            state.config(),
            KIND,
            &PageArgs::new(first, after, last, before),
        )?;
        if let Some(text) = &window.from {
            position_of(text)?;
        }
        let view = read_view(state, VIEW, as_of).await?;
        let currencies = match currency_code {
            Some(c) => vec![c],
            None => ledger::currencies(&view.reader, account).map_err(|e| view_error(VIEW, &e))?,
        };
        let reader = &view.reader;
        let fetch = |direction: Direction, cursor: Option<&String>, n: usize| {
            let at = cursor.map(|c| position_of(c)).transpose()?;
            let mut rows = Vec::new();
            for c in &currencies {
                let found = match direction {
                    Direction::Forward => {
                        ledger::postings_after(reader, account, *c, (from, to), at, n)
                    }
                    Direction::Backward => {
                        ledger::postings_before(reader, account, *c, (from, to), at, n)
                    }
                }
                .map_err(|e| view_error(VIEW, &e))?;
                rows.extend(found);
            }
            let mut items: Vec<(String, LedgerPosting)> = rows
                .iter()
                .map(|r| (position_text((r.day(), r.seq, r.index)), LedgerPosting::new(r)))
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            if direction == Direction::Backward {
                items.reverse();
            }
            items.truncate(n);
            Ok(items)
        };
        Ok(connection::paginate(KIND, &window, view.meta.clone(), None, fetch)?)
    }
}
